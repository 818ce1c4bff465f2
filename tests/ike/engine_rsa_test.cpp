// Two Engines back to back in memory, authenticating with RSA signatures against raw
// public keys (RFC 7296 §2.15 method 1, RFC 7427 method 14 and SIGNATURE_HASH_ALGORITHMS).
#include <catch2/catch.hpp>

#include <memory>

#include "common/rsa.h"
#include "ike/auth_sig.h"
#include "ike/engine.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike_test;
using common::crypto::RsaPrivateKey;
using common::crypto::RsaPublicKey;

namespace {

// Generated once per test run (2048-bit keygen takes a moment): A's, B's and a stranger's.
struct Keys {
  std::shared_ptr<const RsaPrivateKey> a, b, stranger;
};
const Keys& keys() {
  static const Keys k = [] {
    auto gen = [] {
      auto r = RsaPrivateKey::generate(2048);
      REQUIRE(r.ok());
      return std::make_shared<const RsaPrivateKey>(std::move(*r));
    };
    return Keys{gen(), gen(), gen()};
  }();
  return k;
}
std::shared_ptr<const RsaPublicKey> pub(const std::shared_ptr<const RsaPrivateKey>& k) {
  return std::make_shared<const RsaPublicKey>(k->public_key());
}

// The two-peer harness's dc-tun pair, signing with RSA keys instead of the PSK, with one
// CHILD_SA ("rsa-net"). Identities are the addresses (ID_IPV4_ADDR), as config/peers.cpp sets them.
PeerConfig peer(bool a_side) {
  PeerConfig c = signing_peer(a_side, "rsa", "rsa-net");
  c.private_key = a_side ? keys().a : keys().b;
  c.peer_key = pub(a_side ? keys().b : keys().a);
  return c;
}

// Both peers added, A initiates "rsa-net", the wire runs until quiet.
void start(Wire& w, PeerConfig a, PeerConfig b) { start_child(w, std::move(a), std::move(b), "rsa-net"); }

// The SIGNATURE_HASH_ALGORITHMS notify of the (plaintext) IKE_SA_INIT message in d, if any.
std::optional<std::vector<std::uint16_t>> sig_hashes_in(const std::vector<OutDatagram>& sent) {
  for (const auto& d : sent) {
    auto m = parse_message(d.data);
    if (!m || m->header.exchange != ExchangeType::ike_sa_init) continue;
    const auto* n = m->find_notify(NotifyType::signature_hash_algorithms);
    if (!n) return std::nullopt;
    auto ids = parse_signature_hash_algorithms(n->data);
    REQUIRE(ids.ok());
    return *ids;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("RSA pubkey: both ends sign with RFC 7427 method 14 (PKCS#1 v1.5 SHA-256)") {
  Wire w;
  start(w, peer(true), peer(false));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  REQUIRE(w.a.installs.size() == 1);
  REQUIRE(w.b.installs.size() == 1);
  CHECK(w.a.installs[0].spi_in == w.b.installs[0].spi_out);
  CHECK(w.a.installs[0].encr_key_in == w.b.installs[0].encr_key_out);
  // Both IKE_SA_INIT messages announced SHA2-256/384/512.
  auto ha = sig_hashes_in(w.sent_a), hb = sig_hashes_in(w.sent_b);
  REQUIRE(ha);
  REQUIRE(hb);
  CHECK(*ha == std::vector<std::uint16_t>{2, 3, 4});
  CHECK(*hb == std::vector<std::uint16_t>{2, 3, 4});
  CHECK(w.a.logged("AUTH method 14 sha256WithRSAEncryption"));
  CHECK(w.b.logged("AUTH method 14 sha256WithRSAEncryption"));
  CHECK(w.a.logged("authentication of '192.0.2.2' with RSA signature successful"));
  CHECK(w.b.logged("authentication of '192.0.2.1' with RSA signature successful"));
  CHECK(w.a.e.status(w.now)[0].auth == "public key");
  CHECK(w.a.e.counters().auth_failures == 0);
}

TEST_CASE("RSA pubkey: method 1 (SHA-1) when neither end announces RFC 7427 hashes") {
  Wire w;
  auto pa = peer(true);
  pa.rfc7427 = false;  // initiator does not announce, so the responder does not either
  start(w, pa, peer(false));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK_FALSE(sig_hashes_in(w.sent_a));
  CHECK_FALSE(sig_hashes_in(w.sent_b));
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.logged("AUTH method 1 rsa-pkcs1-sha1"));
  CHECK(w.b.logged("AUTH method 1 rsa-pkcs1-sha1"));
  CHECK(w.a.installs.size() == 1);
  CHECK(w.b.installs.size() == 1);
}

TEST_CASE("RSA pubkey: an initiator whose peer announces no hashes falls back to method 1") {
  Wire w;
  auto pb = peer(false);
  pb.rfc7427 = false;  // the responder announces no RFC 7427 hashes
  start(w, peer(true), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(sig_hashes_in(w.sent_a));
  CHECK_FALSE(sig_hashes_in(w.sent_b));
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  // A announced and would use method 14, but B listed no hash: A signs with method 1.
  CHECK(w.a.logged("AUTH method 1 rsa-pkcs1-sha1"));
  CHECK_FALSE(w.a.logged("AUTH method 14"));
  CHECK(w.b.logged("AUTH method 1 rsa-pkcs1-sha1"));
}

TEST_CASE("RSA pubkey: the responder has a wrong key for the initiator: AUTHENTICATION_FAILED") {
  Wire w;
  auto pb = peer(false);
  pb.peer_key = pub(keys().stranger);
  start(w, peer(true), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.b.logged("authentication of '192.0.2.1' with RSA signature failed: RSA signature does not verify"));
  CHECK(w.a.logged("AUTHENTICATION_FAILED"));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.a.e.counters().auth_failures == 1);
  CHECK(w.b.e.counters().auth_failures == 1);
  CHECK(w.a.e.status(w.now).empty());
  CHECK(w.b.e.status(w.now).empty());
}

TEST_CASE("RSA pubkey: the initiator has a wrong key for the responder: refused, nothing installed") {
  Wire w;
  auto pa = peer(true);
  pa.peer_key = pub(keys().stranger);
  start(w, pa, peer(false));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("authentication of '192.0.2.2' with RSA signature failed: RSA signature does not verify"));
  CHECK(w.a.installs.empty());
  CHECK(w.a.e.counters().auth_failures == 1);
  CHECK(w.a.e.status(w.now).empty());
}

TEST_CASE("RSA pubkey: method mismatch with a PSK peer fails both ways") {
  SECTION("signing initiator, PSK responder") {
    Wire w;
    auto pb = peer(false);
    pb.auth = PeerConfig::Auth::psk;
    pb.psk = common::to_bytes(common::as_bytes("secret"));
    start(w, peer(true), pb);
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.a.logged("AUTHENTICATION_FAILED"));
    CHECK(w.b.e.counters().auth_failures == 1);
    CHECK(w.a.e.status(w.now).empty());
  }
  SECTION("PSK initiator, signing responder") {
    Wire w;
    auto pa = peer(true);
    pa.auth = PeerConfig::Auth::psk;
    pa.psk = common::to_bytes(common::as_bytes("secret"));
    start(w, pa, peer(false));
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.a.logged("AUTHENTICATION_FAILED"));
    CHECK(w.b.e.counters().auth_failures == 1);
    CHECK(w.b.e.status(w.now).empty());
  }
}

TEST_CASE("RSA pubkey: a responder signing with another key than the configured one is refused") {
  Wire w;
  auto pb = peer(false);
  pb.private_key = keys().stranger;
  start(w, peer(true), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.b.logged("AUTH method 14"));
  CHECK(w.a.logged("with RSA signature failed"));
  CHECK(w.a.installs.empty());
}

TEST_CASE("RSA pubkey: configured FQDN identities are sent and checked") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  pa.local_id = pb.remote_id.emplace(Identity::from_string("@s.swl.test"));
  pb.local_id = pa.remote_id.emplace(Identity::from_string("@c.swl.test"));
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.logged("authentication of 'c.swl.test' with RSA signature successful"));
  CHECK(w.b.logged("authentication of 's.swl.test' with RSA signature successful"));
  CHECK(w.b.e.status(w.now)[0].remote_id == "s.swl.test");
}

// ---- RSASSA-PSS (RFC 7427 method 14, RFC 8247 §3.2), leftauth=/rightauth=rsa/pss ----

using common::crypto::SigHash;

TEST_CASE("RSA-PSS: both ends sign with RSASSA-PSS SHA-256 and require it of the peer") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  for (auto* p : {&pa, &pb}) p->sign_pss = p->require_pss = true;
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.logged("AUTH method 14 RSASSA-PSS-SHA256"));
  CHECK(w.b.logged("AUTH method 14 RSASSA-PSS-SHA256"));
  CHECK(w.a.logged("authentication of '192.0.2.2' with RSA signature successful"));
  CHECK(w.b.logged("authentication of '192.0.2.1' with RSA signature successful"));
  CHECK(w.a.installs.size() == 1);
  CHECK(w.b.installs.size() == 1);
}

TEST_CASE("RSA-PSS: a PSS signer and a default peer (accepts any scheme, signs PKCS#1)") {
  Wire w;
  auto pa = peer(true);
  pa.sign_pss = true;
  start(w, pa, peer(false));
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  CHECK(w.a.logged("AUTH method 14 RSASSA-PSS-SHA256"));
  CHECK(w.b.logged("AUTH method 14 sha256WithRSAEncryption"));
}

TEST_CASE("RSA-PSS: the configured hash order picks SHA-512, then SHA-384") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  pa.sign_pss = true;
  pa.sign_hashes = {SigHash::sha512, SigHash::sha256};
  pb.sign_pss = true;
  pb.sign_hashes = {SigHash::sha384};
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  CHECK(w.a.logged("AUTH method 14 RSASSA-PSS-SHA512"));
  CHECK(w.b.logged("AUTH method 14 RSASSA-PSS-SHA384"));
}

TEST_CASE("RSA-PSS: rightauth=rsa/pss refuses a PKCS#1 v1.5 signature: AUTHENTICATION_FAILED") {
  Wire w;
  auto pb = peer(false);
  pb.require_pss = true;
  start(w, peer(true), pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("AUTH method 14 sha256WithRSAEncryption"));
  CHECK(w.b.logged("with RSA signature failed: RSA signature refused: AUTH: not an RSASSA-PSS signature"));
  CHECK(w.a.logged("AUTHENTICATION_FAILED"));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.b.e.counters().auth_failures == 1);
}

TEST_CASE("RSA-PSS: rightauth=rsa/pss refuses a method-1 (SHA-1) signer") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  pa.rfc7427 = false;  // A announces nothing and signs with method 1
  pb.require_pss = true;
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("AUTH method 1 rsa-pkcs1-sha1"));
  CHECK(w.b.logged("peer signed with AUTH method 1 (PKCS#1 v1.5, SHA-1), the configuration requires RFC 7427 RSASSA-PSS"));
  CHECK(w.a.installs.empty());
  CHECK(w.b.e.counters().auth_failures == 1);
}

TEST_CASE("RSA-PSS: leftauth=rsa/pss never degrades to method 1 when the peer announces no hash") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  pa.sign_pss = true;
  pb.rfc7427 = false;
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("RSASSA-PSS needs RFC 7427 signature authentication, and the peer announced no hash we may use"));
  CHECK_FALSE(w.a.logged("AUTH method 1"));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
}

TEST_CASE("RSA-PSS: rightauth hashes are what we announce and all we accept") {
  Wire w;
  auto pa = peer(true), pb = peer(false);
  pb.accept_hashes = {SigHash::sha384};
  start(w, pa, pb);
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  auto hb = sig_hashes_in(w.sent_b);
  REQUIRE(hb);
  CHECK(*hb == std::vector<std::uint16_t>{3});
  CHECK(w.a.logged("AUTH method 14 sha384WithRSAEncryption"));

  SECTION("a peer that signs SHA-256 anyway is refused") {
    Wire w2;
    auto qa = peer(true), qb = peer(false);
    qa.sign_hashes = {SigHash::sha256};  // A only signs SHA-256, B only accepts SHA-384
    qb.accept_hashes = {SigHash::sha384};
    start(w2, qa, qb);
    INFO(w2.a.all_logs() << "---\n" << w2.b.all_logs());
    CHECK(w2.a.logged("signing with the configured hashes needs RFC 7427"));
    CHECK(w2.a.installs.empty());
  }
}
