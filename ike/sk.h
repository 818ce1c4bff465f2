// The Encrypted and Authenticated payload (RFC 7296 §3.14) and its AEAD variants
// (RFC 5282 AES-GCM, RFC 7634 ChaCha20-Poly1305).
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// ~                    Encrypted IKE Payloads                     ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// ~                    Integrity Checksum Data                    ~
//
// CBC + HMAC (§3.14): IV = one random cipher block; plaintext = inner payloads | padding |
// pad length, a multiple of the block size; ICV = truncated HMAC over the whole message
// from the first byte of the IKE header to the last byte of the ciphertext (pad length).
// AEAD (RFC 5282 §3, §5.1; RFC 7634 §3, §4): IV = 8 random bytes, nonce = 4-byte salt (the
// tail of SK_e) | IV; AAD = IKE header through the SK generic payload header (any
// unprotected payloads before SK included); ICV = the 16-byte tag. We send no padding
// beyond the pad length byte (block size 1 for the AEADs).
#pragma once

#include <memory>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/result.h"
#include "ike/message.h"

namespace ike::sk {

// Keyed contexts for ONE direction (SK_ei/SK_ai or SK_er/SK_ar). Movable, not copyable.
class SkKeys {
 public:
  // encr_key = SK_e (for AEADs: key proper | 4-byte salt, as prf+ hands it out);
  // integ = IntegId::none and integ_key empty for AEADs.
  static common::Result<SkKeys> create(common::crypto::EncrId encr, common::ByteSpan encr_key,
                                       common::crypto::IntegId integ, common::ByteSpan integ_key);
  SkKeys(SkKeys&&) noexcept;
  SkKeys& operator=(SkKeys&&) noexcept;
  ~SkKeys();

  bool aead() const { return aead_ != nullptr; }
  std::size_t iv_size() const;
  std::size_t icv_size() const;
  std::size_t block_size() const;  // padding alignment (1 for AEADs)

 private:
  SkKeys() = default;
  friend common::Status seal_body(common::Bytes&, common::ByteSpan, SkKeys&, common::crypto::Random&);
  friend common::Result<common::Bytes> open_body(common::ByteSpan, std::size_t, SkKeys&, ParseDiag*);
  std::unique_ptr<common::crypto::Cipher> cipher_;
  std::unique_ptr<common::crypto::Integ> integ_;
  std::unique_ptr<common::crypto::Aead> aead_;
};

// Builds the whole datagram: header (next payload SK, length computed) | SK payload whose
// Next Payload is first_inner and whose plaintext is inner (an already chained payload
// list, e.g. from serialize_payload_chain).
common::Result<common::Bytes> build_encrypted(const Header& h, PayloadType first_inner,
                                              common::ByteSpan inner, SkKeys& keys,
                                              common::crypto::Random& rng);
// Convenience: serializes the payloads then encrypts them.
common::Result<common::Bytes> build_encrypted(const Header& h, std::span<const Payload> inner,
                                              SkKeys& keys, common::crypto::Random& rng);

// Parses the datagram (parse_message), verifies the ICV / tag, decrypts and parses the
// inner chain. The result has encrypted = true, payloads = the inner payloads and
// unprotected = those before SK. Failures: ParseReason::integrity (Errc::integrity; drop
// silently and count), sk_missing, sk_malformed, or any parse_message reason.
// check_rules() is still the caller's job.
common::Result<Message> decrypt(common::ByteSpan datagram, SkKeys& keys,
                                ParseDiag* diag = nullptr);

// The protected body of SK (build_encrypted, decrypt) and SKF (RFC 7383 §2.5, fragment.h),
// for callers that lay out the payload's fixed fields themselves. body_size: IV | ciphertext | ICV for inner_len bytes.
// seal_body: `out` holds the authenticated prefix (IKE header through the payload's fixed
// fields, every length already final); appends the sealed body of `inner`.
std::size_t body_size(const SkKeys& keys, std::size_t inner_len);
common::Status seal_body(common::Bytes& out, common::ByteSpan inner, SkKeys& keys,
                         common::crypto::Random& rng);
// open_body: datagram[body_at..] is IV | ciphertext | ICV and everything before it is
// authenticated; verifies, decrypts and strips the padding. Failures as decrypt().
common::Result<common::Bytes> open_body(common::ByteSpan datagram, std::size_t body_at,
                                        SkKeys& keys, ParseDiag* diag = nullptr);

}  // namespace ike::sk
