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
// CHILD_SA ("rsa-net"). Identities are the addresses (ID_IPV4_ADDR), as apps/peers.cpp sets them.
PeerConfig peer(bool a_side) {
  PeerConfig c = ike_test::peer(a_side, "aes256-sha256-modp2048!", "aes256-sha256!");
  c.name = "rsa";
  c.auth = PeerConfig::Auth::pubkey;
  c.psk.clear();
  c.private_key = a_side ? keys().a : keys().b;
  c.peer_key = pub(a_side ? keys().b : keys().a);
  c.children.resize(1);
  c.children[0].name = "rsa-net";
  c.children[0].local_ts = {net(a_side ? "10.99.0.1/32" : "10.99.0.2/32")};
  c.children[0].remote_ts = {net(a_side ? "10.99.0.2/32" : "10.99.0.1/32")};
  return c;
}

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
  REQUIRE(w.a.e.add_peer(peer(true)).ok());
  REQUIRE(w.b.e.add_peer(peer(false)).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false)).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
  REQUIRE(w.a.e.add_peer(peer(true)).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
  REQUIRE(w.a.e.add_peer(peer(true)).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false)).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
    REQUIRE(w.a.e.add_peer(peer(true)).ok());
    REQUIRE(w.b.e.add_peer(pb).ok());
    REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
    w.pump();
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
    REQUIRE(w.a.e.add_peer(pa).ok());
    REQUIRE(w.b.e.add_peer(peer(false)).ok());
    REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
    w.pump();
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
  REQUIRE(w.a.e.add_peer(peer(true)).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
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
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("rsa-net", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.logged("authentication of 'c.swl.test' with RSA signature successful"));
  CHECK(w.b.logged("authentication of 's.swl.test' with RSA signature successful"));
  CHECK(w.b.e.status(w.now)[0].remote_id == "s.swl.test");
}
