// Certificates, CAs and CRLs made at test time with OpenSSL's API, for the X.509 tests of
// tests/common and tests/ike (no checked-in PEMs: every run makes fresh ones).
//   Pki pki;                                  // a CA "C=CH, O=swanless test, CN=Test CA"
//   auto leaf = pki.issue("CN=moon", {"DNS:moon.test", "IP:192.0.2.1"});
//   auto crl  = pki.crl({leaf.serial});
#pragma once

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "common/rsa.h"
#include "common/x509.h"

namespace x509_test {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::shared_ptr<EVP_PKEY>;

inline Pkey rsa_key(unsigned bits = 2048) {
  EVP_PKEY* k = EVP_RSA_gen(bits);
  REQUIRE(k);
  return Pkey(k, PkeyFree{});
}

inline Pkey ec_key(const char* curve) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  REQUIRE(k);
  return Pkey(k, PkeyFree{});
}

// PKCS#8 PEM, or with traditional the key type's own form ("EC PRIVATE KEY", what pki writes).
inline std::string private_pem(const Pkey& k, bool traditional = false) {
  BIO* b = BIO_new(BIO_s_mem());
  REQUIRE((traditional ? PEM_write_bio_PrivateKey_traditional : PEM_write_bio_PrivateKey)(b, k.get(), nullptr, nullptr,
                                                                                           0, nullptr, nullptr));
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

inline common::crypto::RsaPrivateKey rsa_private(const Pkey& k) {
  auto r = common::crypto::RsaPrivateKey::from_pem(private_pem(k));
  REQUIRE(r.ok());
  return std::move(*r);
}

inline X509_NAME* name_of(const std::string& dn) {
  auto der = common::x509::dn_from_string(dn);
  REQUIRE(der.ok());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_NAME* n = d2i_X509_NAME(nullptr, &p, static_cast<long>(der->size()));
  REQUIRE(n);
  return n;
}

inline void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(e);
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

inline common::x509::Certificate to_cert(X509* x) {
  int n = i2d_X509(x, nullptr);
  common::Bytes der(static_cast<std::size_t>(n));
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(x, &p);
  X509_free(x);
  auto c = common::x509::Certificate::from_der(der);
  REQUIRE(c.ok());
  return std::move(*c);
}

struct Issued {
  common::x509::Certificate cert;
  Pkey key;
  long serial = 0;
};

// A CA with its key; issue() makes end certificates (or sub-CAs) signed by it.
class Pki {
 public:
  explicit Pki(std::string dn = "C=CH, O=swanless test, CN=Test CA", Pkey key = rsa_key())
      : dn_(std::move(dn)), key_(std::move(key)), ca_(make(dn_, key_, nullptr, nullptr, {}, true, 0, 3650, 1)) {}

  // A sub-CA issued by another Pki (issue(..., ca = true)), issuing in turn.
  explicit Pki(const Issued& sub) : dn_(sub.cert.subject_text()), key_(sub.key), ca_(sub.cert), next_serial_(1000) {}

  const common::x509::Certificate& ca() const { return ca_; }
  const Pkey& key() const { return key_; }

  // sans: "DNS:x", "IP:1.2.3.4", "email:a@b". Validity in days from now (may be negative).
  Issued issue(const std::string& dn, const std::vector<std::string>& sans = {}, Pkey key = nullptr,
               long from_days = -1, long to_days = 365, bool ca = false) {
    if (!key) key = rsa_key();
    long serial = next_serial_++;
    auto c = make(dn, key, ca_.native(), key_.get(), sans, ca, from_days, to_days, serial);
    return Issued{std::move(c), key, serial};
  }

  // A CRL of this CA revoking the serials.
  common::x509::Crl crl(const std::vector<long>& serials) const {
    X509_CRL* c = X509_CRL_new();
    X509_CRL_set_version(c, 1);
    X509_CRL_set_issuer_name(c, X509_get_subject_name(ca_.native()));
    ASN1_TIME* t = ASN1_TIME_adj(nullptr, std::time(nullptr), -1, 0);
    ASN1_TIME* next = ASN1_TIME_adj(nullptr, std::time(nullptr), 30, 0);
    X509_CRL_set1_lastUpdate(c, t);
    X509_CRL_set1_nextUpdate(c, next);
    for (long s : serials) {
      X509_REVOKED* r = X509_REVOKED_new();
      ASN1_INTEGER* i = ASN1_INTEGER_new();
      ASN1_INTEGER_set(i, s);
      X509_REVOKED_set_serialNumber(r, i);
      X509_REVOKED_set_revocationDate(r, t);
      X509_CRL_add0_revoked(c, r);
      ASN1_INTEGER_free(i);
    }
    ASN1_TIME_free(t);
    ASN1_TIME_free(next);
    X509_CRL_sort(c);
    REQUIRE(X509_CRL_sign(c, key_.get(), EVP_sha256()) > 0);
    int n = i2d_X509_CRL(c, nullptr);
    common::Bytes der(static_cast<std::size_t>(n));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_CRL(c, &p);
    X509_CRL_free(c);
    auto crl = common::x509::Crl::from_der(der);
    REQUIRE(crl.ok());
    return std::move(*crl);
  }

  common::x509::TrustStore trust() const {
    common::x509::TrustStore t;
    t.add_ca(ca_);
    return t;
  }

 private:
  static common::x509::Certificate make(const std::string& dn, const Pkey& key, X509* issuer, EVP_PKEY* issuer_key,
                                        const std::vector<std::string>& sans, bool ca, long from_days, long to_days,
                                        long serial) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME* n = name_of(dn);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_NAME_free(n);
    X509_time_adj_ex(X509_getm_notBefore(x), static_cast<int>(from_days), 0, nullptr);
    X509_time_adj_ex(X509_getm_notAfter(x), static_cast<int>(to_days), 0, nullptr);
    X509_set_pubkey(x, key.get());
    X509* iss = issuer ? issuer : x;
    add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer) add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    if (!sans.empty()) {
      std::string v;
      for (const auto& s : sans) v += (v.empty() ? "" : ",") + s;
      add_ext(x, iss, NID_subject_alt_name, v.c_str());
    }
    REQUIRE(X509_sign(x, issuer_key ? issuer_key : key.get(), EVP_sha256()) > 0);
    return to_cert(x);
  }

  std::string dn_;
  Pkey key_;
  common::x509::Certificate ca_;
  long next_serial_ = 100;
};

}  // namespace x509_test
