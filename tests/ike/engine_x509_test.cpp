// Two Engines back to back authenticating with X.509 certificates (RFC 7296 §3.6/§3.7
// CERT/CERTREQ, RFC 4945 identities, RFC 7427 signatures), certificates made at test time.
#include <catch2/catch.hpp>

#include <memory>

#include "common/ecdsa.h"
#include "common/rsa.h"
#include "common/x509.h"
#include "ike/cert.h"
#include "ike/engine.h"
#include "ike/message.h"
#include "tests/common/x509_fixture.h"
#include "tests/ike/two_peers.h"

using namespace ike_test;
using common::x509::Certificate;
using common::x509::TrustStore;
using x509_test::Issued;
using x509_test::Pki;

namespace {

const std::string kDnA = "C=CH, O=swanless test, CN=a.test";
const std::string kDnB = "C=CH, O=swanless test, CN=b.test";

struct World {
  Pki ca;
  Pki other{"C=CH, O=other, CN=Other CA"};
  Issued a = ca.issue(kDnA, {"DNS:a.test", "IP:192.0.2.1"});
  Issued b = ca.issue(kDnB, {"DNS:b.test", "IP:192.0.2.2"});
  Issued revoked = ca.issue("C=CH, O=swanless test, CN=revoked", {"DNS:b.test"});
  Issued expired = ca.issue("C=CH, O=swanless test, CN=expired", {"DNS:b.test"}, nullptr, -30, -2);
  Issued stranger = other.issue(kDnB, {"DNS:b.test"});
};
World& world() {
  static World w;
  return w;
}

std::shared_ptr<const TrustStore> trust_of(const Pki& p, std::vector<long> revoked = {}) {
  auto t = std::make_shared<TrustStore>(p.trust());
  if (!revoked.empty()) t->add_crl(p.crl(revoked));
  return t;
}

std::shared_ptr<const common::crypto::EcPrivateKey> ec_private(const x509_test::Pkey& k) {
  auto r = common::crypto::EcPrivateKey::from_pem(x509_test::private_pem(k));
  REQUIRE(r.ok());
  return std::make_shared<const common::crypto::EcPrivateKey>(std::move(*r));
}

// The dc-tun pair with one CHILD_SA, each end signing with `mine` (RSA or ECDSA), trusting `ca`'s CA,
// identities the certificates' DNs (what leftid=%fromcert gives).
PeerConfig peer(bool a_side, const Issued& mine, std::shared_ptr<const TrustStore> trust) {
  PeerConfig c = signing_peer(a_side, "x509", "x509-net");
  if (EVP_PKEY_is_a(mine.key.get(), "EC"))
    c.ec_private_key = ec_private(mine.key);
  else
    c.private_key = std::make_shared<const common::crypto::RsaPrivateKey>(x509_test::rsa_private(mine.key));
  c.local_cert = std::make_shared<const Certificate>(mine.cert);
  c.local_id = Identity{Identity::Type::der_asn1_dn, mine.cert.subject_der()};
  c.remote_id.reset();
  c.trust = std::move(trust);
  return c;
}

void start(Wire& w, PeerConfig a, PeerConfig b) { start_child(w, std::move(a), std::move(b), "x509-net"); }

// How many payloads of type T the IKE_SA_INIT message in `sent` carries.
template <typename T>
std::size_t in_init(const std::vector<OutDatagram>& sent) {
  for (const auto& d : sent) {
    auto m = parse_message(d.data);
    if (m && m->header.exchange == ExchangeType::ike_sa_init) return m->find_all<T>().size();
  }
  return 0;
}

}  // namespace

TEST_CASE("X.509: both ends authenticate with RSA certificates of one CA, DN identities") {
  auto& W = world();
  Wire w;
  start(w, peer(true, W.a, trust_of(W.ca)), peer(false, W.b, trust_of(W.ca)));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.installs.size() == 1);
  CHECK(in_init<CertReqPayload>(w.sent_b) == 1);  // the responder asks in IKE_SA_INIT
  CHECK(w.b.logged("certificate '" + kDnA + "' issued by 'C=CH, O=swanless test, CN=Test CA', chain of 2 verified"));
  CHECK(w.a.logged("certificate '" + kDnB + "' issued by 'C=CH, O=swanless test, CN=Test CA', chain of 2 verified"));
  CHECK(w.b.logged("authentication of '" + kDnA + "' with signature (certificate) successful"));
  CHECK(w.a.logged("authentication of '" + kDnB + "' with signature (certificate) successful"));
  CHECK(w.a.logged("peer requested certificates from 1 CA(s), 1 of them ours"));
  CHECK(w.a.e.status(w.now)[0].auth == "certificate");
}

TEST_CASE("X.509: FQDN and address identities are matched against subjectAltName") {
  auto& W = world();
  Wire w;
  auto pa = peer(true, W.a, trust_of(W.ca));
  auto pb = peer(false, W.b, trust_of(W.ca));
  pa.local_id = Identity::from_string("@a.test");
  pa.remote_id = Identity::from_string("192.0.2.2");
  pb.local_id = Identity::from_string("192.0.2.2");
  pb.remote_id = Identity::from_string("@a.test");
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  CHECK(w.b.logged("authentication of 'a.test' with signature (certificate) successful"));
  CHECK(w.a.logged("authentication of '192.0.2.2' with signature (certificate) successful"));
}

TEST_CASE("X.509: a configured DN identity matches the certificate's canonically") {
  auto& W = world();
  Wire w;
  auto pb = peer(false, W.b, trust_of(W.ca));
  pb.remote_id = Identity::from_string("c=ch,o=SWANLESS TEST, cn=a.test");
  REQUIRE(pb.remote_id->type == Identity::Type::der_asn1_dn);
  start(w, peer(true, W.a, trust_of(W.ca)), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.b.e, w.now));
}

// The responder (B) refuses A's certificate: AUTHENTICATION_FAILED, counted, logged with why.
void refused_by_responder(PeerConfig pa, PeerConfig pb, const std::string& why, bool malformed = false) {
  Wire w;
  start(w, std::move(pa), std::move(pb));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.b.logged(why));
  CHECK(w.a.logged("AUTHENTICATION_FAILED"));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.b.e.counters().auth_failures == 1);
  CHECK((malformed ? w.b.e.counters().cert_malformed : w.b.e.counters().cert_refused) == 1);
  CHECK(w.b.e.status(w.now).empty());
}

TEST_CASE("X.509: refusals") {
  auto& W = world();
  SECTION("wrong CA") {
    refused_by_responder(peer(true, W.a, trust_of(W.ca)), peer(false, W.b, trust_of(W.other)),
                         "certificate '" + kDnA + "' refused: unable to get local issuer certificate");
  }
  SECTION("revoked by a CRL") {
    auto pa = peer(true, W.revoked, trust_of(W.ca));
    pa.local_id = Identity::from_string("@b.test");
    refused_by_responder(pa, peer(false, W.b, trust_of(W.ca, {W.revoked.serial})),
                         "refused: certificate revoked");
  }
  SECTION("expired") {
    auto pa = peer(true, W.expired, trust_of(W.ca));
    refused_by_responder(pa, peer(false, W.b, trust_of(W.ca)), "refused: certificate has expired");
  }
  SECTION("identity not in the certificate") {
    auto pa = peer(true, W.a, trust_of(W.ca));
    pa.local_id = Identity::from_string("@other.test");
    refused_by_responder(pa, peer(false, W.b, trust_of(W.ca)),
                         "identity 'other.test' is neither the subject nor a subjectAltName of certificate '" + kDnA +
                             "'");
  }
  SECTION("a DN identity that is another subject") {
    auto pa = peer(true, W.a, trust_of(W.ca));
    pa.local_id = Identity::from_string(kDnB);
    refused_by_responder(pa, peer(false, W.b, trust_of(W.ca)), "is neither the subject nor a subjectAltName");
  }
  SECTION("no certificate sent (send_cert=never) and none pinned") {
    auto pa = peer(true, W.a, trust_of(W.ca));
    pa.send_cert = PeerConfig::SendCert::never;
    refused_by_responder(pa, peer(false, W.b, trust_of(W.ca)), "the peer sent no certificate");
  }
  SECTION("rightca DN that is not in the chain") {
    auto pb = peer(false, W.b, trust_of(W.ca));
    pb.peer_ca_dn = *common::x509::dn_from_string("C=CH, O=other, CN=Other CA");
    refused_by_responder(peer(true, W.a, trust_of(W.ca)), pb, "is not issued by rightca 'C=CH, O=other, CN=Other CA'");
  }
  SECTION("a certificate for another key than the one that signs") {
    auto pa = peer(true, W.a, trust_of(W.ca));
    pa.private_key = std::make_shared<const common::crypto::RsaPrivateKey>(x509_test::rsa_private(W.b.key));
    Wire w;
    start(w, pa, peer(false, W.b, trust_of(W.ca)));
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.b.logged("RSA signature does not verify with the certificate's key"));
    CHECK(w.a.installs.empty());
  }
}

TEST_CASE("X.509: the initiator refuses the responder's certificate from another CA") {
  auto& W = world();
  Wire w;
  auto pb = peer(false, W.stranger, trust_of(W.ca));
  start(w, peer(true, W.a, trust_of(W.ca)), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("refused: unable to get local issuer certificate"));
  CHECK(w.a.installs.empty());
  CHECK(w.a.e.counters().cert_refused == 1);
}

TEST_CASE("X.509: a pinned rightcert needs no CA and no CERT; another certificate is refused") {
  auto& W = world();
  SECTION("pinned, the peer sends nothing") {
    Wire w;
    auto pa = peer(true, W.a, nullptr);
    pa.send_cert = PeerConfig::SendCert::never;
    auto pb = peer(false, W.b, nullptr);
    pb.peer_cert = std::make_shared<const Certificate>(W.a.cert);
    pa.peer_cert = std::make_shared<const Certificate>(W.b.cert);
    start(w, pa, pb);
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    REQUIRE(established(w.b.e, w.now));
    CHECK(w.b.logged("(rightcert)"));
  }
  SECTION("pinned, the peer sends another certificate") {
    auto pa = peer(true, W.a, nullptr);
    pa.send_cert = PeerConfig::SendCert::always;
    pa.peer_cert = std::make_shared<const Certificate>(W.b.cert);
    auto pb = peer(false, W.b, nullptr);
    pb.peer_cert = std::make_shared<const Certificate>(W.b.cert);
    refused_by_responder(pa, pb, "is not the configured rightcert");
  }
}

TEST_CASE("X.509: send_cert=ifasked sends no CERT to a peer that sent no CERTREQ") {
  auto& W = world();
  Wire w;
  auto pa = peer(true, W.a, nullptr);  // A has no CA: no CERTREQ from A
  pa.peer_cert = std::make_shared<const Certificate>(W.b.cert);
  start(w, pa, peer(false, W.b, trust_of(W.ca)));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  CHECK(w.b.logged("not sending our certificate (the peer asked for none)"));
  CHECK(w.a.logged("(rightcert)"));
}

TEST_CASE("X.509: malformed CERT payloads are refused with a counted reason") {
  auto& W = world();
  PeerConfig cfg = peer(false, W.b, trust_of(W.ca));
  Identity id{Identity::Type::der_asn1_dn, W.a.cert.subject_der()};
  auto check = [&](std::vector<CertPayload> ps, const std::string& why, CertCheck::Fail f) {
    std::vector<const CertPayload*> ptrs;
    for (const auto& p : ps) ptrs.push_back(&p);
    CertCheck c = check_peer_cert(cfg, id, ptrs);
    CHECK(c.fail == f);
    CHECK(c.why.find(why) != std::string::npos);
    CHECK_FALSE(c.end.has_value());
  };
  common::Bytes der = W.a.cert.der();
  check({CertPayload{kCertEncodingX509, common::Bytes(der.begin(), der.begin() + 40)}},
        "malformed CERT payload: not a DER X.509 certificate", CertCheck::Fail::malformed);
  common::Bytes trailing = der;
  trailing.push_back(std::byte{0});
  check({CertPayload{kCertEncodingX509, trailing}}, "bytes after the DER certificate", CertCheck::Fail::malformed);
  check({CertPayload{kCertEncodingX509, {}}}, "empty certificate", CertCheck::Fail::malformed);
  std::vector<CertPayload> many(5, CertPayload{kCertEncodingX509, der});
  check(many, "more than 4 X.509 CERT payloads", CertCheck::Fail::malformed);
  // other encodings are skipped: none left is "no certificate"
  check({CertPayload{12, der}}, "the peer sent no certificate", CertCheck::Fail::refused);
  // and a good one passes
  std::vector<const CertPayload*> one;
  CertPayload good{kCertEncodingX509, der};
  one.push_back(&good);
  CHECK(check_peer_cert(cfg, id, one).fail == CertCheck::Fail::none);
}

TEST_CASE("X.509: CERTREQ data is 20-byte hashes") {
  CHECK(parse_certreq(CertReqPayload{kCertEncodingX509, {}})->empty());
  CHECK(parse_certreq(CertReqPayload{kCertEncodingX509, common::Bytes(40)})->size() == 2);
  CHECK(parse_certreq(CertReqPayload{kCertEncodingX509, common::Bytes(21)}).error().code == common::Errc::truncated);
  CHECK(parse_certreq(CertReqPayload{1, common::Bytes(20)}).error().code == common::Errc::unsupported);
}

TEST_CASE("X.509: identity matching") {
  auto& W = world();
  CHECK(cert_holds_id(W.a.cert, Identity::from_string(kDnA)));
  CHECK(cert_holds_id(W.a.cert, Identity::from_string("@a.test")));
  CHECK(cert_holds_id(W.a.cert, Identity::from_string("192.0.2.1")));
  CHECK_FALSE(cert_holds_id(W.a.cert, Identity::from_string("192.0.2.2")));
  CHECK_FALSE(cert_holds_id(W.a.cert, Identity::from_string("@#0102")));
  CHECK(id_matches(Identity::from_string("C=CH, CN=x"), Identity::from_string("c=ch,cn=X")));
  CHECK_FALSE(id_matches(Identity::from_string("C=CH, CN=x"), Identity::from_string("C=CH, CN=y")));
  CHECK(Identity::from_string(kDnA).to_string() == kDnA);
}

TEST_CASE("X.509: ECDSA certificates, P-256 on one end and P-384 on the other (RFC 7427 method 14)") {
  auto& W = world();
  auto a = W.ca.issue(kDnA, {"DNS:a.test"}, x509_test::ec_key("P-256"));
  auto b = W.ca.issue(kDnB, {"DNS:b.test"}, x509_test::ec_key("P-384"));
  Wire w;
  start(w, peer(true, a, trust_of(W.ca)), peer(false, b, trust_of(W.ca)));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.logged("authenticating with ECDSA P-256 signature, AUTH method 14 ecdsa-with-SHA256"));
  CHECK(w.b.logged("authenticating with ECDSA P-384 signature, AUTH method 14 ecdsa-with-SHA384"));
  CHECK(w.b.logged("chain of 2 verified, ECDSA P-256 key"));
  CHECK(w.a.logged("chain of 2 verified, ECDSA P-384 key"));
}

TEST_CASE("X.509: ECDSA without RFC 7427 uses RFC 4754 methods 9 and 10") {
  auto& W = world();
  auto a = W.ca.issue(kDnA, {"DNS:a.test"}, x509_test::ec_key("P-256"));
  auto b = W.ca.issue(kDnB, {"DNS:b.test"}, x509_test::ec_key("P-384"));
  auto pa = peer(true, a, trust_of(W.ca));
  pa.rfc7427 = false;
  Wire w;
  start(w, pa, peer(false, b, trust_of(W.ca)));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  CHECK(w.a.logged("AUTH method 9 ecdsa-with-SHA256"));
  CHECK(w.b.logged("AUTH method 10 ecdsa-with-SHA384"));
}

TEST_CASE("X.509: raw ECDSA keys, no certificates") {
  auto pa = signing_peer(true, "ec", "ec-net");
  auto pb = signing_peer(false, "ec", "ec-net");
  auto ka = x509_test::ec_key("P-256"), kb = x509_test::ec_key("P-384");
  pa.ec_private_key = ec_private(ka);
  pb.ec_private_key = ec_private(kb);
  pa.ec_peer_key = std::make_shared<const common::crypto::EcPublicKey>(pb.ec_private_key->public_key());
  pb.ec_peer_key = std::make_shared<const common::crypto::EcPublicKey>(pa.ec_private_key->public_key());
  SECTION("both verify") {
    Wire w;
    start_child(w, pa, pb, "ec-net");
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    REQUIRE(established(w.a.e, w.now));
    CHECK(w.b.logged("authentication of '192.0.2.1' with ECDSA signature successful"));
  }
  SECTION("a wrong key is refused") {
    auto stranger = ec_private(x509_test::ec_key("P-256"));
    pb.ec_peer_key = std::make_shared<const common::crypto::EcPublicKey>(stranger->public_key());
    Wire w;
    start_child(w, pa, pb, "ec-net");
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.b.logged("ECDSA signature does not verify with the configured public key"));
    CHECK(w.a.installs.empty());
  }
  SECTION("an RSA signer against an ECDSA key is refused") {
    pa.ec_private_key.reset();
    pa.private_key = std::make_shared<const common::crypto::RsaPrivateKey>(x509_test::rsa_private(x509_test::rsa_key()));
    Wire w;
    start_child(w, pa, pb, "ec-net");
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.b.logged("ECDSA signature refused: AUTH: an RSA signature, but the peer's key is ECDSA"));
  }
}

TEST_CASE("X.509: an intermediate CA sent after our certificate completes the chain") {
  auto& W = world();
  Pki sub(W.ca.issue("C=CH, O=swanless test, CN=Sub CA", {}, nullptr, -1, 365, true));
  auto a = sub.issue(kDnA, {"DNS:a.test"});
  SECTION("sent: verified through it") {
    auto pa = peer(true, a, trust_of(W.ca));
    pa.local_chain.push_back(std::make_shared<const Certificate>(sub.ca()));
    Wire w;
    start(w, pa, peer(false, W.b, trust_of(W.ca)));
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    REQUIRE(established(w.b.e, w.now));
    CHECK(w.a.logged("sending intermediate certificate 'C=CH, O=swanless test, CN=Sub CA'"));
    CHECK(w.b.logged("issued by 'C=CH, O=swanless test, CN=Sub CA', chain of 3 verified"));
  }
  SECTION("not sent: refused") {
    refused_by_responder(peer(true, a, trust_of(W.ca)), peer(false, W.b, trust_of(W.ca)),
                         "refused: unable to get local issuer certificate");
  }
}

TEST_CASE("X.509: a wildcard DN rightid accepts any matching subject and is not sent as IDr") {
  auto& W = world();
  auto pa = peer(true, W.a, trust_of(W.ca));
  auto pb = peer(false, W.b, trust_of(W.ca));
  pa.remote_id = Identity::from_string("C=CH, O=swanless test, CN=*");
  pb.remote_id = Identity::from_string("C=CH, O=swanless test, CN=*");
  Wire w;
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  SECTION("another O= does not match") {
    auto pb2 = peer(false, W.b, trust_of(W.ca));
    pb2.remote_id = Identity::from_string("C=CH, O=other, CN=*");
    Wire w2;
    start(w2, peer(true, W.a, trust_of(W.ca)), pb2);
    CHECK(w2.b.logged("no peer config found for '" + kDnA + "'"));
    CHECK(w2.a.installs.empty());
  }
}

TEST_CASE("X.509: the responder picks the config whose CA verifies the peer's certificate") {
  auto& W = world();
  Wire w;
  auto other = peer(false, W.b, trust_of(W.other));
  other.name = "x509-other";
  other.children[0].name = "x509-other-net";
  REQUIRE(w.b.e.add_peer(other).ok());
  start(w, peer(true, W.a, trust_of(W.ca)), peer(false, W.b, trust_of(W.ca)));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.b.installs.at(0).child_name == "x509-net");
  CHECK(w.b.e.counters().cert_refused == 0);
}
