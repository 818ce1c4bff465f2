// leftcert=, rightcert=, rightca=, leftsendcert=, cadir=/crldir= and strongSwan's ipsec.d
// layout, read into the IKE engine's peer configs (config/x509_load.h, config/peers.cpp).
// Certificates are made at test time (tests/common/x509_fixture.h) and written as files.
#include <catch2/catch.hpp>

#include <openssl/pem.h>

#include <filesystem>
#include <fstream>

#include "common/ecdsa.h"
#include "common/x509.h"
#include "config/keys.h"
#include "config/peers.h"
#include "config/secrets.h"
#include "tests/common/x509_fixture.h"
#include "tests/config/config_test_util.h"

using namespace config_test;
using x509_test::Pki;

namespace {

struct Files {
  Pki pki;
  x509_test::Issued moon = pki.issue("C=CH, O=swanless test, CN=moon", {"DNS:moon.test"});
  x509_test::Issued sun = pki.issue("C=CH, O=swanless test, CN=sun", {"DNS:sun.test"});
};
Files& files() {
  static Files f;
  return f;
}

void write_bytes(const std::string& path, common::ByteSpan b) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                               static_cast<std::streamsize>(b.size()));
}

std::string pem_of(const common::x509::Certificate& c) {
  BIO* b = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_X509(b, c.native()));
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

// A config folder with strongSwan's layout: ipsec.d/cacerts/ca.pem (PEM), ipsec.d/certs/
// moon.der and sun.der (DER), our key in the secrets file; `crl` puts a CRL revoking sun in
// ipsec.d/crls. Returns the peers built from `conn_lines` (added to a base conn).
config::PeersResult build(TempDir& d, const std::string& conn_lines, bool crl = false,
                          const std::string& setup_lines = "") {
  auto& F = files();
  write_bytes(d.path + "/ipsec.d/cacerts/ca.pem", common::as_bytes(pem_of(F.pki.ca())));
  write_bytes(d.path + "/ipsec.d/certs/moon.der", F.moon.cert.der());
  write_bytes(d.path + "/ipsec.d/certs/sun.der", F.sun.cert.der());
  if (crl) {
    std::filesystem::create_directories(d.path + "/ipsec.d/crls");
    // the fixture's CRL as DER, through the same loader the config uses
    auto c = F.pki.crl({F.sun.serial});
    int n = i2d_X509_CRL(c.native(), nullptr);
    common::Bytes der(static_cast<std::size_t>(n));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_CRL(c.native(), &p);
    write_bytes(d.path + "/ipsec.d/crls/ca.crl", der);
  }
  d.write("moon.key", x509_test::private_pem(F.moon.key), 0600);
  d.write("test.secrets", ": RSA moon.key\n", 0600);
  std::string text = "config setup\n" + setup_lines +
                     "conn net\n"
                     "    left=192.0.2.1\n"
                     "    right=198.51.100.1\n"
                     "    authby=pubkey\n"
                     "    leftsubnet=10.1.0.0/24\n"
                     "    rightsubnet=10.2.0.0/24\n"
                     "    auto=add\n" +
                     conn_lines;
  auto r = config::parse_string(text, d.path + "/test.conf");
  std::string errs;
  for (const auto& e : r.errors) errs += e.to_string() + "\n";
  INFO(errs);
  REQUIRE(r.ok());
  auto s = config::load_secrets(d.path + "/test.secrets");
  REQUIRE(s.ok());
  return config::build_peers(*r.config, *s.secrets);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST_CASE("config x509: leftcert from ipsec.d/certs, CAs from ipsec.d/cacerts, id from the certificate") {
  TempDir d;
  auto r = build(d, "    leftcert=moon.der\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.empty());
  REQUIRE(r.peers.size() == 1);
  const auto& p = r.peers[0];
  REQUIRE(p.local_cert);
  CHECK(p.local_cert->subject_text() == "C=CH, O=swanless test, CN=moon");
  CHECK(p.local_id.type == ike::Identity::Type::der_asn1_dn);
  CHECK(p.local_id.data == files().moon.cert.subject_der());
  CHECK_FALSE(p.remote_id.has_value());  // any identity the peer's certificate holds
  REQUIRE(p.trust);
  CHECK(p.trust->cas().size() == 1);
  CHECK(p.trust->crl_count() == 0);
  CHECK(p.send_cert == ike::PeerConfig::SendCert::ifasked);
  CHECK(p.private_key);
  CHECK_FALSE(p.peer_key);
}

TEST_CASE("config x509: %fromcert, rightcert, rightca DN, leftsendcert, CRLs") {
  TempDir d;
  auto r = build(d,
                 "    leftcert=moon.der\n"
                 "    leftid=%fromcert\n"
                 "    rightcert=sun.der\n"
                 "    rightid=%fromcert\n"
                 "    rightca=\"C=CH, O=swanless test, CN=Test CA\"\n"
                 "    leftsendcert=always\n",
                 true);
  INFO(joined(r.errors));
  REQUIRE(r.errors.empty());
  const auto& p = r.peers.at(0);
  CHECK(p.local_id.data == files().moon.cert.subject_der());
  REQUIRE(p.remote_id);
  CHECK(p.remote_id->type == ike::Identity::Type::der_asn1_dn);
  CHECK(common::x509::dn_equal(p.remote_id->data, files().sun.cert.subject_der()));
  REQUIRE(p.peer_cert);
  CHECK(*p.peer_cert == files().sun.cert);
  CHECK(common::x509::dn_equal(p.peer_ca_dn, files().pki.ca().subject_der()));
  CHECK(p.send_cert == ike::PeerConfig::SendCert::always);
  REQUIRE(p.trust);
  CHECK(p.trust->crl_count() == 1);
  // the CRL revokes sun: the trust store built from the folder refuses it
  auto v = p.trust->verify(files().sun.cert);
  REQUIRE_FALSE(v.ok());
  CHECK(std::string(v.error().detail) == "certificate revoked");
  CHECK(p.trust->verify(files().moon.cert).ok());
}

TEST_CASE("config x509: rightca=FILE, cadir= and crldir= elsewhere") {
  TempDir d;
  write_bytes(d.path + "/elsewhere/ca.der", files().pki.ca().der());
  auto r = build(d, "    leftcert=moon.der\n    rightca=elsewhere/ca.der\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.empty());
  REQUIRE(r.peers.at(0).trust);
  CHECK(r.peers.at(0).trust->cas().size() == 1);
  CHECK(r.peers.at(0).peer_ca_dn.empty());

  TempDir e;
  write_bytes(e.path + "/cas/ca.der", files().pki.ca().der());
  auto r2 = build(e, "    leftcert=moon.der\n", false, "    cadir=cas\n    strictcrlpolicy=yes\n");
  INFO(joined(r2.errors));
  REQUIRE(r2.errors.empty());
  CHECK(r2.peers.at(0).trust->cas().size() == 1);
  // strict: no CRL for the CA, so every check fails
  CHECK_FALSE(r2.peers.at(0).trust->verify(files().moon.cert).ok());
}

TEST_CASE("config x509: errors name the file and the problem") {
  SECTION("missing leftcert") {
    TempDir d;
    auto r = build(d, "    leftcert=nope.pem\n");
    CHECK(joined(r.errors).find("cannot load leftcert " + d.path + "/nope.pem") != std::string::npos);
    CHECK(r.peers.empty());
  }
  SECTION("leftcert of another key than the secrets file's") {
    TempDir d;
    auto r = build(d, "    leftcert=sun.der\n");
    CHECK(joined(r.errors).find("does not hold the public half of the private key") != std::string::npos);
  }
  SECTION("not a certificate") {
    TempDir d;
    d.write("junk.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0644);
    auto r = build(d, "    leftcert=junk.pem\n");
    CHECK(joined(r.errors).find("cannot load leftcert") != std::string::npos);
  }
  SECTION("rightca that is neither a file nor a DN is a config error") {
    auto text = std::string(
        "conn net\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=pubkey\n    leftcert=/x.pem\n"
        "    rightca=nonsense\n    auto=add\n");
    CHECK(errors_of(text).find("expected a CA certificate file or the CA's distinguished name") != std::string::npos);
  }
  SECTION("leftsendcert value") {
    auto text = std::string(
        "conn net\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=pubkey\n    leftcert=/x.pem\n"
        "    leftsendcert=sometimes\n    auto=add\n");
    CHECK(errors_of(text).find("expected always, ifasked or never") != std::string::npos);
  }
}

TEST_CASE("config x509: the keys are honoured in the key table") {
  for (const char* k : {"leftcert", "rightcert", "rightca", "leftsendcert"}) {
    const auto* row = config::find_key(config::SectionType::conn, k);
    REQUIRE(row);
    CHECK(row->disposition == config::Disposition::honoured);
  }
  for (const char* k : {"cadir", "crldir", "strictcrlpolicy"}) {
    const auto* row = config::find_key(config::SectionType::setup, k);
    REQUIRE(row);
    CHECK(row->disposition == config::Disposition::honoured);
  }
}

TEST_CASE("config x509: ': ECDSA key.pem' in secrets, an ECDSA leftcert, an ECDSA rightpubkey") {
  auto& F = files();
  auto eckey = x509_test::ec_key("P-384");
  auto ec = F.pki.issue("C=CH, O=swanless test, CN=ec", {}, eckey);
  TempDir d;
  write_bytes(d.path + "/ipsec.d/cacerts/ca.der", F.pki.ca().der());
  write_bytes(d.path + "/ec.der", ec.cert.der());
  d.write("ec.key", x509_test::private_pem(eckey), 0600);
  d.write("test.secrets", ": ECDSA ec.key\n", 0600);
  auto peer_ec = x509_test::ec_key("P-256");
  auto pub = common::crypto::EcPrivateKey::from_pem(x509_test::private_pem(peer_ec))->public_key();
  d.write("peer.pub", pub.to_pem(), 0644);
  auto build_one = [&](const std::string& lines) {
    std::string text =
        "conn net\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=pubkey\n    auto=add\n" + lines;
    auto r = config::parse_string(text, d.path + "/test.conf");
    REQUIRE(r.ok());
    auto s = config::load_secrets(d.path + "/test.secrets");
    REQUIRE(s.ok());
    REQUIRE(s.secrets->entries.at(0).type == config::SecretEntry::Type::ecdsa);
    return config::build_peers(*r.config, *s.secrets);
  };
  SECTION("certificate") {
    auto r = build_one("    leftcert=ec.der\n");
    INFO(joined(r.errors));
    REQUIRE(r.errors.empty());
    CHECK(r.peers.at(0).ec_private_key);
    CHECK_FALSE(r.peers.at(0).private_key);
    CHECK(r.peers.at(0).local_cert->key_type() == "EC");
  }
  SECTION("raw public key") {
    auto r = build_one("    rightpubkey=peer.pub\n");
    INFO(joined(r.errors));
    REQUIRE(r.errors.empty());
    REQUIRE(r.peers.at(0).ec_peer_key);
    CHECK(*r.peers.at(0).ec_peer_key == pub);
    CHECK_FALSE(r.peers.at(0).peer_key);
  }
  SECTION("a leftcert of another key") {
    write_bytes(d.path + "/moon.der", F.moon.cert.der());
    auto r = build_one("    leftcert=moon.der\n");
    CHECK(joined(r.errors).find("does not hold the public half of the private key") != std::string::npos);
  }
}

TEST_CASE("config x509: a changed CRL or certificate changes the IKE fingerprint (reload re-authenticates)") {
  TempDir d;
  auto plain = build(d, "    leftcert=moon.der\n");
  REQUIRE(plain.errors.empty());
  auto same = build(d, "    leftcert=moon.der\n");
  CHECK(config::ike_fingerprint(plain.peers.at(0)) == config::ike_fingerprint(same.peers.at(0)));
  TempDir e;
  auto with_crl = build(e, "    leftcert=moon.der\n", true);
  REQUIRE(with_crl.errors.empty());
  CHECK(config::ike_fingerprint(plain.peers.at(0)) != config::ike_fingerprint(with_crl.peers.at(0)));
}

TEST_CASE("config x509: a leftcert PEM bundle is our certificate and the intermediates to send") {
  auto& F = files();
  TempDir d;
  d.write("bundle.pem", pem_of(F.moon.cert) + pem_of(F.pki.ca()), 0644);
  auto r = build(d, "    leftcert=bundle.pem\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.empty());
  const auto& p = r.peers.at(0);
  REQUIRE(p.local_cert);
  CHECK(*p.local_cert == F.moon.cert);
  REQUIRE(p.local_chain.size() == 1);
  CHECK(*p.local_chain[0] == F.pki.ca());
}
