// ECDSA keys and signatures for IKEv2 authentication (P-256, P-384, P-521), on OpenSSL 3 EVP.
//
// Key formats: private key PEM, PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY", what strongSwan's `pki --gen --type ecdsa` writes); public key PEM
// SubjectPublicKeyInfo ("PUBLIC KEY") or its DER (a certificate's key). Named curves only.
//
// Signatures come in the two forms IKEv2 uses:
//   DER   Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }   (RFC 7427 method 14)
//   raw   r | s, each as long as the curve's order (32/48/66 bytes)  (RFC 4754 methods 9-11)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "common/rsa.h"

namespace common::crypto {

enum class EcCurve : std::uint8_t { p256, p384, p521 };
std::string_view to_string(EcCurve c);
std::size_t ec_scalar_size(EcCurve c);  // 32, 48, 66
// The hash RFC 4754 ties to the curve: SHA-256, SHA-384, SHA-512.
SigHash ec_curve_hash(EcCurve c);
enum class EcSigForm : std::uint8_t { der, raw };

class EcPublicKey {
 public:
  static Result<EcPublicKey> from_pem(std::string_view pem);
  static Result<EcPublicKey> load_pem_file(const std::string& path);
  static Result<EcPublicKey> from_spki_der(ByteSpan der);

  EcCurve curve() const { return curve_; }
  Bytes spki_der() const;
  std::string to_pem() const;
  // Errc::auth when the signature does not verify or is not of the form's shape.
  Status verify(EcSigForm form, SigHash hash, ByteSpan message, ByteSpan signature) const;
  bool operator==(const EcPublicKey& o) const;

 private:
  EcPublicKey(std::shared_ptr<EVP_PKEY> k, EcCurve c) : pkey_(std::move(k)), curve_(c) {}
  friend class EcPrivateKey;
  std::shared_ptr<EVP_PKEY> pkey_;
  EcCurve curve_;
};

class EcPrivateKey {
 public:
  static Result<EcPrivateKey> from_pem(std::string_view pem, std::string_view passphrase = {});
  static Result<EcPrivateKey> load_pem_file(const std::string& path, std::string_view passphrase = {});
  static Result<EcPrivateKey> generate(EcCurve c);

  EcCurve curve() const { return curve_; }
  EcPublicKey public_key() const;
  std::string to_pem() const;  // unencrypted PKCS#8
  Result<Bytes> sign(EcSigForm form, SigHash hash, ByteSpan message) const;

 private:
  EcPrivateKey(std::shared_ptr<EVP_PKEY> k, EcCurve c) : pkey_(std::move(k)), curve_(c) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  EcCurve curve_;
};

}  // namespace common::crypto
