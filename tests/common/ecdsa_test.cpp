// common/ecdsa: P-256/P-384/P-521 keys, DER and r|s signatures (RFC 7427 / RFC 4754 forms).
#include <catch2/catch.hpp>

#include "common/ecdsa.h"
#include "tests/common/x509_fixture.h"

using common::Errc;
using common::crypto::EcCurve;
using common::crypto::EcPrivateKey;
using common::crypto::EcPublicKey;
using common::crypto::EcSigForm;
using common::crypto::SigHash;

TEST_CASE("ecdsa: sign and verify round trips on P-256, P-384, P-521, both forms", "[ecdsa]") {
  const auto msg = common::to_bytes(common::as_bytes("signed octets"));
  const auto other = common::to_bytes(common::as_bytes("other octets"));
  for (EcCurve c : {EcCurve::p256, EcCurve::p384, EcCurve::p521}) {
    INFO(common::crypto::to_string(c));
    auto k = EcPrivateKey::generate(c);
    REQUIRE(k.ok());
    CHECK(k->curve() == c);
    EcPublicKey pub = k->public_key();
    SigHash h = common::crypto::ec_curve_hash(c);
    auto raw = k->sign(EcSigForm::raw, h, msg);
    REQUIRE(raw.ok());
    CHECK(raw->size() == 2 * common::crypto::ec_scalar_size(c));
    CHECK(pub.verify(EcSigForm::raw, h, msg, *raw).ok());
    CHECK(pub.verify(EcSigForm::raw, h, other, *raw).error().code == Errc::auth);
    common::Bytes cut(raw->begin(), raw->end() - 1);
    CHECK(pub.verify(EcSigForm::raw, h, msg, cut).error().code == Errc::auth);
    auto der = k->sign(EcSigForm::der, SigHash::sha256, msg);
    REQUIRE(der.ok());
    CHECK(pub.verify(EcSigForm::der, SigHash::sha256, msg, *der).ok());
    CHECK_FALSE(pub.verify(EcSigForm::der, SigHash::sha384, msg, *der).ok());
    CHECK_FALSE(pub.verify(EcSigForm::der, SigHash::sha256, msg, *raw).ok());
    CHECK_FALSE(k->sign(EcSigForm::der, SigHash::sha1, msg).ok());
  }
}

TEST_CASE("ecdsa: PEM and SubjectPublicKeyInfo forms; RSA keys and other curves refused", "[ecdsa]") {
  auto pkey = x509_test::ec_key("P-384");
  auto k = EcPrivateKey::from_pem(x509_test::private_pem(pkey));
  REQUIRE(k.ok());
  CHECK(k->curve() == EcCurve::p384);
  EcPublicKey pub = k->public_key();
  auto again = EcPublicKey::from_pem(pub.to_pem());
  REQUIRE(again.ok());
  CHECK(*again == pub);
  auto spki = EcPublicKey::from_spki_der(pub.spki_der());
  REQUIRE(spki.ok());
  CHECK(*spki == pub);
  // SEC 1 "EC PRIVATE KEY", what strongSwan's pki writes
  std::string sec1 = x509_test::private_pem(pkey, true);
  REQUIRE(sec1.find("BEGIN EC PRIVATE KEY") != std::string::npos);
  CHECK(EcPrivateKey::from_pem(sec1).ok());
  auto rsa = x509_test::rsa_key();
  CHECK(EcPrivateKey::from_pem(x509_test::private_pem(rsa)).error().code == Errc::unsupported);
  CHECK_FALSE(EcPrivateKey::from_pem(x509_test::private_pem(x509_test::ec_key("secp256k1"))).ok());
  CHECK_FALSE(EcPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  common::Bytes der = pub.spki_der();
  der.push_back(std::byte{0});
  CHECK_FALSE(EcPublicKey::from_spki_der(der).ok());
}
