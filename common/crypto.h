// Crypto interfaces used by ike/ and esp/, with the one implementation on OpenSSL 3 EVP
// (crypto_openssl.cpp). Nothing here is hand-rolled.
//
// Identifiers are the IANA IKEv2 transform IDs (RFC 7296 §3.3.2 and its registries), so a
// negotiated transform maps straight to an implementation.
//
// Keyed objects (Integ, Cipher, Aead) hold a ready OpenSSL context for one key: the data
// path creates them once per SA and calls them per packet with no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "common/secret.h"

namespace common::crypto {

enum class EncrId : std::uint16_t {
  des3_cbc = 3,            // RFC 2451; 192-bit key, no Key Length attribute (legacy peers)
  aes_cbc = 12,            // RFC 3602; key 128/192/256 bits (Key Length attribute)
  aes_gcm_16 = 20,         // RFC 4106 / RFC 5282; key + 4-byte salt
  chacha20_poly1305 = 28,  // RFC 7634; 256-bit key + 4-byte salt
};
enum class PrfId : std::uint16_t {
  hmac_md5 = 1,  // RFC 2104 (legacy peers)
  hmac_sha1 = 2,
  hmac_sha256 = 5,
  hmac_sha384 = 6,
  hmac_sha512 = 7,
};
enum class IntegId : std::uint16_t {
  none = 0,
  hmac_md5_96 = 1,  // RFC 2403 (legacy peers)
  hmac_sha1_96 = 2,
  hmac_sha256_128 = 12,
  hmac_sha384_192 = 13,
  hmac_sha512_256 = 14,
};
enum class DhId : std::uint16_t {
  none = 0,
  modp1024 = 2,  // RFC 2409 §6.2 (legacy peers)
  modp1536 = 5,  // RFC 3526 §2 (legacy peers)
  modp2048 = 14,
  modp3072 = 15,
  modp4096 = 16,
  modp8192 = 18,
  ecp256 = 19,
  ecp384 = 20,
  ecp521 = 21,
  curve25519 = 31,
};

bool encr_is_aead(EncrId id);
// Bytes of keying material the SA takes for this cipher: the key proper plus, for AEADs,
// the 4-byte salt (RFC 4106 §8.1, RFC 5282 §7.1, RFC 7634 §2). key_bits is the Key Length
// attribute (ChaCha20-Poly1305 has none: pass 0 or 256). Returns 0 when not valid.
std::size_t encr_keymat_size(EncrId id, unsigned key_bits);
std::size_t encr_iv_size(EncrId id);     // per-packet IV carried on the wire
std::size_t encr_block_size(EncrId id);  // padding alignment (4 for stream/AEAD ciphers' ESP)
std::size_t aead_icv_size(EncrId id);    // 16 for the AEADs above, 0 otherwise
std::size_t integ_key_size(IntegId id);
std::size_t integ_icv_size(IntegId id);
std::size_t prf_output_size(PrfId id);
std::size_t dh_public_size(DhId id);     // KE payload data length (RFC 7296 §3.4, RFC 5903 §7)
bool dh_supported(DhId id);

// Source of randomness: injected so tests and fuzzers can be deterministic.
class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(MutByteSpan out) = 0;
};
// OpenSSL RAND_bytes.
class SystemRandom final : public Random {
 public:
  void fill(MutByteSpan out) override;
};

// Keyless PRF: IKE calls it with many keys (SKEYSEED, prf+, AUTH).
class Prf {
 public:
  virtual ~Prf() = default;
  static std::unique_ptr<Prf> create(PrfId id);  // nullptr if unsupported
  virtual PrfId id() const = 0;
  virtual std::size_t size() const = 0;
  // out.size() must be size().
  virtual void compute(ByteSpan key, ByteSpan data, MutByteSpan out) const = 0;
  Bytes compute(ByteSpan key, ByteSpan data) const;
};
// prf+ (RFC 7296 §2.13): T1 | T2 | ... truncated to len.
SecretBytes prf_plus(const Prf& prf, ByteSpan key, ByteSpan seed, std::size_t len);

// Keyed truncated HMAC (integrity transform).
class Integ {
 public:
  virtual ~Integ() = default;
  static std::unique_ptr<Integ> create(IntegId id, ByteSpan key);  // nullptr if bad
  virtual std::size_t icv_size() const = 0;
  // ICV over a || b (b may be empty: ESP appends the ESN high bits there).
  virtual void compute(ByteSpan a, ByteSpan b, MutByteSpan icv) = 0;
  // Constant-time check.
  bool verify(ByteSpan a, ByteSpan b, ByteSpan icv);
};

// Keyed block cipher in CBC mode, no padding handling (callers pad per their RFC).
class Cipher {
 public:
  virtual ~Cipher() = default;
  static std::unique_ptr<Cipher> create(EncrId id, ByteSpan key);  // nullptr if bad
  virtual std::size_t block_size() const = 0;
  virtual std::size_t iv_size() const = 0;
  // inout.size() must be a multiple of block_size().
  virtual Status encrypt(ByteSpan iv, MutByteSpan inout) = 0;
  virtual Status decrypt(ByteSpan iv, MutByteSpan inout) = 0;
};

// Keyed AEAD. key = key proper || 4-byte salt; nonce = salt || iv (8 bytes on the wire),
// as ESP (RFC 4106, RFC 7634) and IKEv2 SK (RFC 5282, RFC 7634) both use it.
class Aead {
 public:
  virtual ~Aead() = default;
  static std::unique_ptr<Aead> create(EncrId id, ByteSpan key_and_salt);  // nullptr if bad
  virtual std::size_t iv_size() const = 0;   // 8
  virtual std::size_t icv_size() const = 0;  // 16
  virtual Status seal(ByteSpan iv, ByteSpan aad, MutByteSpan inout, MutByteSpan tag) = 0;
  // Errc::integrity when the tag does not verify; inout is then unspecified.
  virtual Status open(ByteSpan iv, ByteSpan aad, MutByteSpan inout, ByteSpan tag) = 0;
};

// One ephemeral Diffie-Hellman key pair.
class Dh {
 public:
  virtual ~Dh() = default;
  static Result<std::unique_ptr<Dh>> generate(DhId id);
  // For published test vectors: a fixed private value (big-endian scalar; X25519: 32 bytes).
  static Result<std::unique_ptr<Dh>> from_private(DhId id, ByteSpan priv);
  virtual DhId id() const = 0;
  // KE payload encoding: MODP g^x padded to the prime's length; ECP x||y, each padded
  // (RFC 5903 §7); Curve25519 the 32-byte u-coordinate (RFC 8031).
  virtual ByteSpan public_value() const = 0;
  // Validates the peer's value (length, range/point on curve) and returns the shared
  // secret: MODP padded to the prime's length; ECP the x-coordinate (RFC 5903 §7);
  // X25519 32 bytes (all-zero result rejected, RFC 7748 §6.1).
  virtual Result<SecretBytes> shared_secret(ByteSpan peer_public) const = 0;
};

}  // namespace common::crypto
