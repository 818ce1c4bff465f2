// common/x509: parsing, identities (RFC 4945 §3.1) and chain verification with X509_STORE,
// against certificates made at test time (tests/common/x509_fixture.h).
#include <catch2/catch.hpp>

#include <ctime>

#include "common/x509.h"
#include "tests/common/x509_fixture.h"

using common::Errc;
using common::x509::Certificate;
using common::x509::TrustStore;
using x509_test::Pki;

namespace {
Pki& pki() {
  static Pki p;
  return p;
}
}  // namespace

TEST_CASE("x509: DER round trip; truncated, trailing and oversized input refused", "[x509]") {
  auto leaf = pki().issue("C=CH, O=swanless test, CN=moon", {"DNS:moon.test"});
  common::Bytes der = leaf.cert.der();
  auto again = Certificate::from_der(der);
  REQUIRE(again.ok());
  CHECK(*again == leaf.cert);
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{10}, der.size() / 2, der.size() - 1}) {
    auto cut = Certificate::from_der(common::ByteSpan(der).first(n));
    CHECK_FALSE(cut.ok());
  }
  common::Bytes longer = der;
  longer.push_back(std::byte{0});
  auto trailing = Certificate::from_der(longer);
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().code == Errc::malformed);
  common::Bytes big(common::x509::kMaxCertBytes + 1, std::byte{0x30});
  CHECK_FALSE(Certificate::from_der(big).ok());
}

TEST_CASE("x509: subject text, DN parsing and canonical comparison", "[x509]") {
  auto leaf = pki().issue("C=CH, O=swanless test, CN=moon");
  CHECK(leaf.cert.subject_text() == "C=CH, O=swanless test, CN=moon");
  CHECK(leaf.cert.issuer_text() == "C=CH, O=swanless test, CN=Test CA");
  auto dn = common::x509::dn_from_string("C=CH,  O=Swanless Test,CN=MOON");
  REQUIRE(dn.ok());
  CHECK(common::x509::dn_equal(*dn, leaf.cert.subject_der()));  // case and blanks folded
  auto slash = common::x509::dn_from_string("/C=CH/O=swanless test/CN=moon");
  REQUIRE(slash.ok());
  CHECK(common::x509::dn_equal(*slash, leaf.cert.subject_der()));
  CHECK_FALSE(common::x509::dn_equal(*common::x509::dn_from_string("C=CH, O=swanless test, CN=sun"),
                                     leaf.cert.subject_der()));
  CHECK(common::x509::dn_to_string(leaf.cert.subject_der()) == "C=CH, O=swanless test, CN=moon");
  CHECK_FALSE(common::x509::dn_from_string("CN").ok());
  CHECK_FALSE(common::x509::dn_from_string("XYZ=1").ok());
  CHECK_FALSE(common::x509::dn_from_string("CN=").ok());
  CHECK(common::x509::looks_like_dn("C=CH, CN=x"));
  CHECK_FALSE(common::x509::looks_like_dn("moon.test"));
  CHECK_FALSE(common::x509::looks_like_dn("@a=b"));
  CHECK_FALSE(common::x509::dn_to_string(common::as_bytes("not a DN")).has_value());
}

TEST_CASE("x509: subjectAltName identities, never the CN, no wildcards", "[x509]") {
  auto leaf = pki().issue("C=CH, CN=moon.test", {"DNS:gw.test", "DNS:*.wild.test", "IP:192.0.2.1", "email:ops@test"});
  CHECK(leaf.cert.has_dns("gw.test"));
  CHECK(leaf.cert.has_dns("GW.test"));
  CHECK_FALSE(leaf.cert.has_dns("moon.test"));  // only in the CN
  CHECK_FALSE(leaf.cert.has_dns("a.wild.test"));
  const std::byte ip[] = {std::byte{192}, std::byte{0}, std::byte{2}, std::byte{1}};
  const std::byte other[] = {std::byte{192}, std::byte{0}, std::byte{2}, std::byte{2}};
  CHECK(leaf.cert.has_ip(ip));
  CHECK_FALSE(leaf.cert.has_ip(other));
  CHECK(leaf.cert.has_email("ops@test"));
  CHECK_FALSE(leaf.cert.has_email("root@test"));
}

TEST_CASE("x509: chain verification with X509_STORE", "[x509]") {
  TrustStore t = pki().trust();
  auto leaf = pki().issue("C=CH, CN=moon");

  SECTION("chain OK") {
    auto chain = t.verify(leaf.cert);
    REQUIRE(chain.ok());
    REQUIRE(chain->size() == 2);
    CHECK(chain->back() == pki().ca());
  }
  SECTION("wrong CA") {
    Pki other("C=CH, O=other, CN=Other CA");
    auto r = other.trust().verify(leaf.cert);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::auth);
    CHECK(std::string(r.error().detail) == "unable to get local issuer certificate");
  }
  SECTION("revoked by a CRL, others still fine") {
    auto revoked = pki().issue("C=CH, CN=revoked");
    t.add_crl(pki().crl({revoked.serial}));
    auto r = t.verify(revoked.cert);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.error().detail) == "certificate revoked");
    CHECK(t.verify(leaf.cert).ok());
  }
  SECTION("expired and not yet valid") {
    auto old = pki().issue("C=CH, CN=old", {}, nullptr, -30, -1);
    auto r = t.verify(old.cert);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.error().detail) == "certificate has expired");
    auto future = pki().issue("C=CH, CN=future", {}, nullptr, 10, 20);
    auto f = t.verify(future.cert);
    REQUIRE_FALSE(f.ok());
    CHECK(std::string(f.error().detail) == "certificate is not yet valid");
    // at a time inside its validity it verifies
    CHECK(t.verify(future.cert, {}, static_cast<std::int64_t>(std::time(nullptr)) + 15 * 86400).ok());
  }
  SECTION("strictcrlpolicy: no CRL for the issuer is a failure; lenient is not") {
    t.set_strict_crl(true);
    auto r = t.verify(leaf.cert);
    REQUIRE_FALSE(r.ok());
    CHECK(std::string(r.error().detail) == "unable to get certificate CRL");
    t.set_strict_crl(false);
    CHECK(t.verify(leaf.cert).ok());
  }
  SECTION("through an intermediate the peer sends") {
    auto sub = pki().issue("C=CH, CN=Sub CA", {}, nullptr, -1, 365, true);
    Pki sub_pki(sub);
    auto leaf2 = sub_pki.issue("C=CH, CN=leaf of sub").cert;
    CHECK_FALSE(t.verify(leaf2).ok());  // without the intermediate
    std::vector<Certificate> mids{sub.cert};
    auto chain = t.verify(leaf2, mids);
    REQUIRE(chain.ok());
    CHECK(chain->size() == 3);
  }
}

TEST_CASE("x509: CERTREQ data is the SHA-1 of each CA's SubjectPublicKeyInfo", "[x509]") {
  TrustStore t = pki().trust();
  common::Bytes d = t.certreq_data();
  REQUIRE(d.size() == 20);
  CHECK(t.has_ca_hash(d));
  CHECK(d == pki().ca().spki_sha1());
  common::Bytes wrong(20, std::byte{1});
  CHECK_FALSE(t.has_ca_hash(wrong));
}

TEST_CASE("x509: RSA key from a certificate's SubjectPublicKeyInfo", "[x509]") {
  auto leaf = pki().issue("C=CH, CN=moon");
  auto k = common::crypto::RsaPublicKey::from_spki_der(leaf.cert.spki_der());
  REQUIRE(k.ok());
  CHECK(k->spki_der() == leaf.cert.spki_der());
  CHECK(leaf.cert.key_type() == "RSA");
  auto ec = pki().issue("C=CH, CN=ec", {}, x509_test::ec_key("P-256"));
  CHECK(ec.cert.key_type() == "EC");
  CHECK_FALSE(common::crypto::RsaPublicKey::from_spki_der(ec.cert.spki_der()).ok());
}

TEST_CASE("x509: strongSwan's DN wildcards", "[x509]") {
  auto dn = [](const char* t) { return *common::x509::dn_from_string(t); };
  auto cert = dn("C=CH, O=swanless test, CN=moon");
  CHECK(common::x509::dn_matches(dn("C=CH, O=swanless test, CN=*"), cert));
  CHECK(common::x509::dn_matches(dn("C=CH, O=*, CN=*"), cert));
  CHECK(common::x509::dn_matches(dn("c=ch, o=SWANLESS TEST, cn=moon"), cert));
  CHECK_FALSE(common::x509::dn_matches(dn("C=DE, O=swanless test, CN=*"), cert));
  CHECK_FALSE(common::x509::dn_matches(dn("C=CH, CN=*"), cert));                   // fewer RDNs
  CHECK_FALSE(common::x509::dn_matches(dn("C=CH, OU=swanless test, CN=*"), cert)); // other attribute
  CHECK(common::x509::dn_has_wildcard(dn("C=CH, CN=*")));
  CHECK_FALSE(common::x509::dn_has_wildcard(cert));
}
