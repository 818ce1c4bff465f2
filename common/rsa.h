// RSA keys and signatures for IKEv2 authentication, on OpenSSL 3 EVP (nothing hand-rolled).
//
// Key formats:
// - private key: PEM, PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") or traditional
//   ("RSA PRIVATE KEY", optionally encrypted); a passphrase may be given, never prompted.
// - public key: PEM SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY");
//   libreswan's `leftrsasigkey=0s...` form, which is base64 ("0s") or hex ("0x") of the
//   RFC 3110 §2 RSA public key encoding:
//
//     +----------------+-----------------------+---------------------------+----------+
//     | exp len (1)    | exponent (exp len)    | modulus (the rest)                   |
//     +----------------+-----------------------+---------------------------+----------+
//   or, when the exponent is longer than 255 bytes:
//     | 0 (1) | exp len (2, big-endian) | exponent | modulus |
//
//   Both integers are unsigned big-endian. We require the minimal encoding (no leading
//   zero byte in exponent or modulus, the 1-byte length form when it fits) so that decode
//   followed by encode gives back the same bytes.
//
// Signatures: RSASSA-PKCS1-v1_5 with SHA-1/256/384/512, and RSASSA-PSS with SHA-256/384/512,
// MGF1 with the same hash and a salt as long as the hash (RFC 8247 §3.2, RFC 7427 App. A.4.3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace common::crypto {

enum class SigHash : std::uint8_t { sha1, sha256, sha384, sha512 };
enum class RsaPadding : std::uint8_t { pkcs1_v15, pss };

std::string_view to_string(SigHash h);
std::size_t sig_hash_size(SigHash h);  // digest bytes: 20, 32, 48, 64

// Limits on keys we accept. Verification accepts older 1024-bit peers' keys only down to
// kMinPublicBits; keygen refuses anything under kMinKeygenBits.
inline constexpr unsigned kMinPublicBits = 1024;
inline constexpr unsigned kMaxPublicBits = 16384;
inline constexpr unsigned kMinKeygenBits = 2048;
inline constexpr unsigned kDefaultKeygenBits = 3072;
inline constexpr std::size_t kMaxExponentBytes = 8;  // OpenSSL caps e at 64 bits for big n

class RsaPublicKey {
 public:
  // PEM text, "PUBLIC KEY" or "RSA PUBLIC KEY".
  static Result<RsaPublicKey> from_pem(std::string_view pem);
  static Result<RsaPublicKey> load_pem_file(const std::string& path);
  // DER SubjectPublicKeyInfo (a certificate's key).
  static Result<RsaPublicKey> from_spki_der(ByteSpan der);
  // RFC 3110 bytes (see the diagram above).
  static Result<RsaPublicKey> from_rfc3110(ByteSpan raw);
  // libreswan text: "0s<base64>" or "0x<hex>" of the RFC 3110 bytes. Surrounding blanks
  // and quotes are not stripped here: the config parser hands over the value.
  static Result<RsaPublicKey> from_libreswan(std::string_view text);
  // From big-endian modulus and exponent (minimal or not).
  static Result<RsaPublicKey> from_components(ByteSpan modulus, ByteSpan exponent);

  Bytes to_rfc3110() const;
  std::string to_libreswan() const;  // "0s" + base64, no line breaks
  std::string to_pem() const;        // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo)
  Bytes spki_der() const;            // DER SubjectPublicKeyInfo
  Bytes modulus() const;             // big-endian, minimal
  Bytes exponent() const;
  unsigned bits() const;
  std::size_t size() const;  // modulus bytes == signature bytes

  // Errc::auth when the signature does not verify; Errc::unsupported for SHA-1 with PSS.
  Status verify(RsaPadding padding, SigHash hash, ByteSpan message, ByteSpan signature) const;

  bool operator==(const RsaPublicKey& o) const;
  EVP_PKEY* native() const { return pkey_.get(); }

 private:
  explicit RsaPublicKey(std::shared_ptr<EVP_PKEY> k) : pkey_(std::move(k)) {}
  std::shared_ptr<EVP_PKEY> pkey_;  // immutable once built, so sharing is safe
};

class RsaPrivateKey {
 public:
  // PEM text; passphrase used only if the key is encrypted (an encrypted key without one
  // is Errc::config, never a terminal prompt).
  static Result<RsaPrivateKey> from_pem(std::string_view pem, std::string_view passphrase = {});
  static Result<RsaPrivateKey> load_pem_file(const std::string& path,
                                             std::string_view passphrase = {});
  // New key with e = 65537. bits < kMinKeygenBits or > kMaxPublicBits: Errc::config.
  static Result<RsaPrivateKey> generate(unsigned bits = kDefaultKeygenBits);

  std::string to_pem() const;  // unencrypted PKCS#8 "PRIVATE KEY"
  // Creates path with mode 0600; refuses to overwrite an existing file (Errc::io).
  Status write_pem_file(const std::string& path) const;

  RsaPublicKey public_key() const;
  unsigned bits() const;
  Result<Bytes> sign(RsaPadding padding, SigHash hash, ByteSpan message) const;

  EVP_PKEY* native() const { return pkey_.get(); }

 private:
  explicit RsaPrivateKey(std::shared_ptr<EVP_PKEY> k) : pkey_(std::move(k)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
};

// Base64 (RFC 4648, with padding, no line breaks) helpers used by the 0s form.
std::string base64_encode(ByteSpan data);
// Rejects bad characters, bad padding and trailing garbage; ignores no whitespace.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace common::crypto
