// Two Engines wired back to back in memory with a fake clock: full IKEv2 exchanges,
// failures, loss/duplication, DELETE, NAT-T (force_encaps).
#include <catch2/catch.hpp>

#include <functional>

#include "ike/engine.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using common::Endpoint;
using common::IpAddr;
using namespace ike_test;


TEST_CASE("IKE_SA, first CHILD_SA and a second CHILD_SA with PFS, for each suite (legacy ones too)") {
  struct Suite {
    const char *ike, *esp;
    common::crypto::EncrId encr;
  };
  auto suite = GENERATE(Suite{"aes256-sha256-modp2048!", "aes256-sha256-modp2048!", common::crypto::EncrId::aes_cbc},
                        Suite{"aes256gcm16-prfsha384-ecp384!", "aes256gcm16-ecp384!", common::crypto::EncrId::aes_gcm_16},
                        Suite{"chacha20poly1305-prfsha256-curve25519!", "chacha20poly1305-curve25519!",
                              common::crypto::EncrId::chacha20_poly1305},
                        // What vendor boxes still propose (issue 13).
                        Suite{"3des-md5-modp1024!", "3des-md5-modp1024!", common::crypto::EncrId::des3_cbc},
                        Suite{"aes128-sha1-ecp521!", "3des-sha1-modp1536!", common::crypto::EncrId::des3_cbc});
  INFO(suite.ike);
  Wire w;
  REQUIRE(w.a.e.add_peer(peer(true, suite.ike, suite.esp)).ok());
  REQUIRE(w.b.e.add_peer(peer(false, suite.ike, suite.esp)).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  REQUIRE(w.a.installs.size() == 2);
  REQUIRE(w.b.installs.size() == 2);
  for (int i = 0; i < 2; ++i) {
    const auto& x = w.a.installs[static_cast<std::size_t>(i)];
    const ChildSaInstall* y = nullptr;
    for (const auto& c : w.b.installs)
      if (c.spi_out == x.spi_in) y = &c;
    REQUIRE(y);
    check_mirror(x, *y);
    CHECK(x.encr == suite.encr);
    CHECK_FALSE(x.udp_encap);
  }
  CHECK(w.a.installs[0].child_name == "dc-tun-gre");
  CHECK(w.a.installs[1].child_name == "dc-tun-tcp");
  CHECK(w.a.logged("IKE_SA dc-tun[1] established"));
  CHECK(w.a.logged("(PFS"));
  REQUIRE(w.a.keys.size() == 1);
  REQUIRE(w.b.keys.size() == 1);
  CHECK(w.a.keys[0].sk_ei == w.b.keys[0].sk_ei);
  CHECK(w.a.keys[0].spi_r == w.b.keys[0].spi_r);
  // The CREATE_CHILD_SA exchange carried KE payloads (PFS).
  bool saw_ccsa = false;
  for (const auto& d : w.sent_a) {
    auto h = Header::parse(d.data);
    if (h && h->exchange == ExchangeType::create_child_sa) saw_ccsa = true;
  }
  CHECK(saw_ccsa);
  auto st = w.a.e.status(w.now);
  REQUIRE(st.size() == 1);
  CHECK(st[0].children.size() == 2);
  CHECK(st[0].initiator);
  CHECK(st[0].auth == "pre-shared key");
  CHECK(st[0].children[0].state == "INSTALLED");
}

TEST_CASE("wrong PSK: AUTHENTICATION_FAILED on both sides, nothing installed") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.psk = common::to_bytes(common::as_bytes("wrong"));
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.b.logged("authentication of '192.0.2.1' with pre-shared key failed"));
  CHECK(w.a.logged("AUTHENTICATION_FAILED"));
  CHECK(w.a.e.counters().auth_failures == 1);
  CHECK(w.b.e.counters().auth_failures == 1);
  CHECK(w.a.e.status(w.now).empty());
  CHECK(w.b.e.status(w.now).empty());
}

TEST_CASE("IKE proposal mismatch: NO_PROPOSAL_CHOSEN") {
  Wire w;
  REQUIRE(w.a.e.add_peer(peer(true, "aes128-sha1-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.b.logged("no acceptable proposal: received AES_CBC_128"));
  CHECK(w.a.logged("NO_PROPOSAL_CHOSEN"));
  CHECK(w.a.e.counters().no_proposal == 1);
  CHECK(w.b.e.counters().no_proposal == 1);
  CHECK(w.a.e.status(w.now).empty());
  CHECK(w.b.e.status(w.now).empty());
}

TEST_CASE("ESP proposal mismatch: IKE_SA up, CHILD_SA refused with NO_PROPOSAL_CHOSEN") {
  Wire w;
  REQUIRE(w.a.e.add_peer(peer(true, "aes256-sha256-modp2048!", "aes128-sha1!")).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(established(w.a.e, w.now));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.a.logged("NO_PROPOSAL_CHOSEN"));
}

TEST_CASE("INVALID_KE_PAYLOAD: the initiator retries with the group the responder asks for") {
  Wire w;
  REQUIRE(w.a.e.add_peer(peer(true, "aes256-sha256-ecp256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("it requested MODP_2048"));
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  REQUIRE(w.a.installs.size() == 1);
  REQUIRE(w.b.installs.size() == 1);
  check_mirror(w.a.installs[0], w.b.installs[0]);
}

TEST_CASE("TS narrowing: responder narrows to its config") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.children[1].remote_ts = {net("100.15.0.0/16")};  // wider than B's local
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-tcp", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(w.a.installs.size() == 1);
  CHECK(w.a.installs[0].remote_ts == std::vector<common::TrafficSelector>{net("100.15.30.0/24")});
  CHECK(w.b.installs[0].local_ts == std::vector<common::TrafficSelector>{net("100.15.30.0/24")});
}

TEST_CASE("TS_UNACCEPTABLE when the selectors do not intersect") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.children[0].remote_ts = {net("10.99.0.0/16")};
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(established(w.a.e, w.now));
  CHECK(w.a.installs.empty());
  CHECK(w.b.installs.empty());
  CHECK(w.a.logged("TS_UNACCEPTABLE"));
  CHECK(w.b.e.counters().ts_unacceptable == 1);
}

TEST_CASE("transport mode is negotiated with USE_TRANSPORT_MODE") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.children[0].transport = pb.children[0].transport = true;
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  REQUIRE(w.a.installs.size() == 1);
  CHECK(w.a.installs[0].transport);
  CHECK(w.b.installs[0].transport);
}

TEST_CASE("loss and duplication: retransmission, cached responses, no second SA") {
  auto mode = GENERATE(0, 1, 2, 3);  // 0 lose first request, 1 duplicate every request, 2 lose first AUTH response, 3 lose first INIT response
  INFO("mode " << mode);
  Wire w;
  int a_sent = 0, b_sent = 0;
  w.filter = [&](bool from_a, const OutDatagram&) {
    int n = from_a ? a_sent++ : b_sent++;
    if (mode == 0 && from_a && n == 0) return 0;
    if (mode == 1 && from_a) return 2;
    if (mode == 2 && !from_a && n == 1) return 0;
    if (mode == 3 && !from_a && n == 0) return 0;
    return 1;
  };
  REQUIRE(w.a.e.add_peer(peer(true, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  for (int i = 0; i < 5 && !(established(w.a.e, w.now) && w.a.installs.size() == 1); ++i) w.tick();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  CHECK(w.a.installs.size() == 1);
  CHECK(w.b.installs.size() == 1);
  check_mirror(w.a.installs[0], w.b.installs[0]);
  if (mode != 1) CHECK(w.a.e.counters().retransmits >= 1);
  if (mode == 1 || mode == 2) CHECK(w.b.e.counters().retransmits >= 1);  // answered from cache
}

TEST_CASE("an unanswered request is retransmitted with backoff, then the SA is given up") {
  Wire w;
  w.filter = [](bool, const OutDatagram&) { return 0; };
  auto p = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  p.keying_tries = 1;
  REQUIRE(w.a.e.add_peer(std::move(p)).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  auto t0 = w.now;
  w.pump();
  int ticks = 0;
  while (w.tick() && ticks < 20) ++ticks;
  CHECK(w.a.e.counters().retransmits == 5);
  CHECK(w.a.e.status(w.now).empty());
  CHECK(w.a.logged("giving up after 5 retransmissions"));
  auto total = std::chrono::duration_cast<std::chrono::seconds>(w.now - t0).count();
  CHECK(total >= 160);
  CHECK(total <= 170);
  CHECK(w.a.logged("giving up after attempt 1 of 1"));
}

TEST_CASE("keyingtries: an unanswered initiation is tried again, N times in all or for ever") {
  const unsigned tries = GENERATE(3u, 0u);  // strongSwan's default, and %forever
  Wire w;
  w.filter = [](bool, const OutDatagram&) { return 0; };
  auto p = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  p.keying_tries = tries;
  REQUIRE(w.a.e.add_peer(std::move(p)).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  auto t0 = w.now;
  w.pump();
  int ticks = 0;
  while (w.tick() && ticks < 100) ++ticks;
  const auto total = std::chrono::duration_cast<std::chrono::seconds>(w.now - t0).count();
  if (tries == 3) {
    // Three attempts of 5 retransmissions each, back to back, then nothing more.
    CHECK(w.a.e.counters().retransmits == 15);
    CHECK(w.a.e.status(w.now).empty());
    CHECK(w.a.logged("initiating again (attempt 2 of 3)"));
    CHECK(w.a.logged("initiating again (attempt 3 of 3)"));
    CHECK(w.a.logged("giving up after attempt 3 of 3"));
    CHECK_FALSE(w.a.logged("attempt 4"));
    CHECK(total >= 3 * 160);
    CHECK(total <= 3 * 170);
  } else {
    // %forever: still connecting when the test stops looking (100 timer steps).
    CHECK(w.a.logged("initiating again (attempt 2 (keyingtries=%forever))"));
    CHECK_FALSE(w.a.logged("giving up after attempt"));
    REQUIRE(w.a.e.status(w.now).size() == 1);
    CHECK(w.a.e.status(w.now)[0].state == "CONNECTING");
  }
}

TEST_CASE("set_peer_address: a peer known by name re-resolved: new IKE_SAs go to its new address") {
  Wire w;
  w.filter = [](bool, const OutDatagram&) { return 0; };
  REQUIRE(w.a.e.add_peer(peer(true, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  const auto moved = *common::IpAddr::parse("192.0.2.9");
  REQUIRE(w.a.e.set_peer_address("dc-tun", moved).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  CHECK(w.a.logged("dc-tun: peer address 192.0.2.2 -> 192.0.2.9 for IKE_SAs from now on"));
  REQUIRE_FALSE(w.sent_a.empty());
  CHECK(w.sent_a.back().remote.addr == moved);
  CHECK_FALSE(w.a.e.set_peer_address("nobody", moved).ok());
}

TEST_CASE("DELETE of a CHILD_SA and of the IKE_SA, both directions") {
  auto who = GENERATE(0, 1);  // 0: initiator deletes, 1: responder deletes
  Wire w;
  REQUIRE(w.a.e.add_peer(peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!")).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  REQUIRE(w.a.installs.size() == 2);
  Engine& del = who == 0 ? w.a.e : w.b.e;
  REQUIRE(del.terminate("dc-tun-tcp", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(w.a.removes.size() == 1);
  REQUIRE(w.b.removes.size() == 1);
  CHECK(w.a.removes[0].child_name == "dc-tun-tcp");
  CHECK(w.a.removes[0].spi_in == w.b.removes[0].spi_out);
  CHECK(w.a.e.status(w.now).at(0).children.size() == 1);
  CHECK(w.b.e.status(w.now).at(0).children.size() == 1);
  REQUIRE(del.terminate("dc-tun", w.now).ok());
  w.pump();
  CHECK(w.a.removes.size() == 2);
  CHECK(w.b.removes.size() == 2);
  CHECK(w.a.e.status(w.now).empty());
  CHECK(w.b.e.status(w.now).empty());
}

TEST_CASE("force_encaps moves IKE to 4500 and CHILD_SAs to ESP-in-UDP") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.force_encaps = true;
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(w.a.installs.size() == 2);
  REQUIRE(w.b.installs.size() == 2);
  for (const auto& i : w.a.installs) {
    CHECK(i.udp_encap);
    CHECK(i.local.port == 4500);
    CHECK(i.remote.port == 4500);
  }
  for (const auto& i : w.b.installs) {
    CHECK(i.udp_encap);
    CHECK(i.remote.port == 4500);
  }
  CHECK(w.b.logged("remote host is behind NAT"));
  REQUIRE(w.sent_a.size() >= 2);
  CHECK(w.sent_a[0].local.port == 500);
  CHECK(w.sent_a[1].local.port == 4500);
  CHECK(w.sent_a[1].remote.port == 4500);
  // Keepalives from the side that forces encapsulation.
  auto t0 = w.now;
  while (w.now < t0 + std::chrono::seconds(45) && w.tick()) {
  }
  CHECK_FALSE(w.a.keepalives.empty());
}

TEST_CASE("DPD: an idle IKE_SA sends empty INFORMATIONALs, answered") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  pa.dpd_action = DpdAction::restart;
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(peer(false, "aes256-sha256-modp2048!", "aes256-sha256!")).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
  auto before = w.sent_a.size();
  auto t0 = w.now;
  while (w.now < t0 + std::chrono::seconds(65) && w.tick()) {
  }
  CHECK(w.sent_a.size() >= before + 2);
  CHECK(established(w.a.e, w.now));
  CHECK(w.a.e.counters().retransmits == 0);
  CHECK(w.a.e.counters().dpd_checks >= 2);  // counted for status and metrics
  CHECK(w.a.e.counters().peers_dead == 0);
}
