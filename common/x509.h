// X.509 certificates, CRLs and chain verification for IKEv2 (RFC 7296 §3.6/§3.7, RFC 4945),
// on OpenSSL 3: parsing is d2i/PEM, path validation is X509_STORE/X509_verify_cert with
// X509_V_FLAG_CRL_CHECK(_ALL) when CRLs are loaded. Nothing here validates a path by hand.
//
// Identities (RFC 4945 §3.1): a certificate "holds" an IKE identity when
//   ID_DER_ASN1_DN  equals its subject (OpenSSL's canonical comparison: case and
//                   whitespace folded, string types ignored, as X509_NAME_cmp does);
//   ID_FQDN         is one of its subjectAltName dNSNames (no wildcards, never the CN);
//   ID_RFC822_ADDR  is one of its subjectAltName rfc822Names;
//   ID_IPV4/6_ADDR  is one of its subjectAltName iPAddresses.
//
// Time: verification checks validity periods against the wall clock (OpenSSL's time(),
// the only clock read behind this interface) unless a time is given, as tests do.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

typedef struct x509_st X509;
typedef struct X509_crl_st X509_CRL;
typedef struct evp_pkey_st EVP_PKEY;

namespace common::x509 {

// Largest certificate we parse from the wire or a file (a 4096-bit RSA certificate with
// many subjectAltNames is under 4 KiB).
inline constexpr std::size_t kMaxCertBytes = 16384;

class Certificate {
 public:
  // Exactly one DER certificate: trailing bytes are Errc::malformed.
  static Result<Certificate> from_der(ByteSpan der);
  // Every "CERTIFICATE" in the PEM text (at least one).
  static Result<std::vector<Certificate>> from_pem_all(std::string_view pem);
  // A file (at most 1 MiB) holding PEM certificates (all of them) or one DER certificate.
  static Result<std::vector<Certificate>> load_file_all(const std::string& path);
  // The first certificate of load_file_all.
  static Result<Certificate> load_file(const std::string& path);

  Bytes der() const;
  Bytes subject_der() const;
  std::string subject_text() const;  // "C=CH, O=Example, CN=moon"
  std::string issuer_text() const;
  Bytes spki_der() const;        // SubjectPublicKeyInfo
  Bytes spki_sha1() const;       // RFC 7296 §3.7 CERTREQ Certification Authority entry
  std::string key_type() const;  // "RSA", "EC", ...
  bool is_ca() const;

  bool has_dns(std::string_view name) const;
  bool has_email(std::string_view addr) const;
  bool has_ip(ByteSpan addr) const;  // 4 or 16 bytes

  bool operator==(const Certificate& o) const;
  X509* native() const { return x_.get(); }
  // The certificate's public key (owned by the certificate).
  EVP_PKEY* public_key() const;

 private:
  friend class TrustStore;
  explicit Certificate(std::shared_ptr<X509> x) : x_(std::move(x)) {}
  std::shared_ptr<X509> x_;
};

class Crl {
 public:
  static Result<std::vector<Crl>> load_file_all(const std::string& path);  // PEM (all) or DER
  static Result<Crl> from_der(ByteSpan der);
  std::string issuer_text() const;
  X509_CRL* native() const { return c_.get(); }

 private:
  explicit Crl(std::shared_ptr<X509_CRL> c) : c_(std::move(c)) {}
  std::shared_ptr<X509_CRL> c_;
};

// DN text "C=CH, O=Example Org, CN=moon" (also "/"-separated, "E=" for emailAddress) to its
// DER encoding. Errc::malformed when a part is not KEY=VALUE or the key is unknown.
Result<Bytes> dn_from_string(std::string_view text);
// DER DN to text as subject_text() prints it; nullopt when not a DN.
std::optional<std::string> dn_to_string(ByteSpan der);
// Canonical equality of two DER DNs (false when either does not parse).
bool dn_equal(ByteSpan a, ByteSpan b);
// strongSwan's DN wildcards: pattern and dn have the same attributes in the same order, and
// each value is equal (canonically) or "*" in the pattern ("C=CH, O=Example, CN=*").
bool dn_matches(ByteSpan pattern, ByteSpan dn);
bool dn_has_wildcard(ByteSpan dn);
// Does text look like a DN (strongSwan's rule: KEY=VALUE parts that parse)?
bool looks_like_dn(std::string_view text);

// The CAs (trust anchors) and CRLs a peer's certificate is checked against. Immutable
// once built by the config; shared by every IKE_SA of a peer config.
class TrustStore {
 public:
  void add_ca(Certificate c) { cas_.push_back(std::move(c)); }
  void add_crl(Crl c) { crls_.push_back(std::move(c)); }
  // strictcrlpolicy=yes: a certificate whose issuer has no CRL here is refused. Otherwise
  // (strongSwan's default) a missing CRL is no reason to refuse, a listed serial is.
  void set_strict_crl(bool s) { strict_crl_ = s; }
  bool strict_crl() const { return strict_crl_; }

  const std::vector<Certificate>& cas() const { return cas_; }
  std::size_t crl_count() const { return crls_.size(); }
  bool empty() const { return cas_.empty(); }
  // SHA-1 of each CA's SubjectPublicKeyInfo, concatenated: a CERTREQ's data.
  Bytes certreq_data() const;
  // SHA-256 over every CA certificate and CRL (DER), for telling a changed store on reload.
  Bytes digest() const;
  // Is hash (20 bytes) one of our CAs' key hashes?
  bool has_ca_hash(ByteSpan hash) const;

  // Chain end → (untrusted intermediates) → one of our CAs, CRLs checked when loaded.
  // at: seconds since the epoch to verify at (tests); nullopt: now. On success the chain,
  // end first, anchor last. The error detail is OpenSSL's reason ("certificate revoked",
  // "unable to get local issuer certificate", "certificate has expired", ...).
  Result<std::vector<Certificate>> verify(const Certificate& end, std::span<const Certificate> untrusted = {},
                                          std::optional<std::int64_t> at = std::nullopt) const;

 private:
  std::vector<Certificate> cas_;
  std::vector<Crl> crls_;
  bool strict_crl_ = false;
};

}  // namespace common::x509
