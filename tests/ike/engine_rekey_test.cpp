// Rekeying between two in-memory Engines with a fake clock (RFC 7296 §1.3.2, §1.3.3,
// §2.8, §2.8.1, §2.18): CHILD_SA and IKE_SA rekeys from either side, make-before-break
// ordering of install/remove events, collisions at both interleavings, lost and duplicated
// messages, a PFS mismatch that shows only at the first rekey.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "ike/engine.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using common::Endpoint;
using common::IpAddr;

using namespace ike_test;

TEST_CASE("CHILD_SA rekey initiated by either side, PFS, make-before-break, keys mirrored") {
  bool a_rekeys = GENERATE(true, false);
  INFO("rekey initiator: " << (a_rekeys ? "A (IKE initiator)" : "B (IKE responder)"));
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  short_lifetimes(a_rekeys ? pa : pb, Seconds{20}, Seconds{3600});
  short_lifetimes(a_rekeys ? pb : pa, Seconds{60}, Seconds{3600});
  bring_up(w, pa, pb);
  TimePoint t0 = w.now;
  auto gre_uid_a = unique_id_of(w.a, "dc-tun-gre");
  run_until(w, t0 + Seconds{13});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  Side& ini = a_rekeys ? w.a : w.b;
  Side& rsp = a_rekeys ? w.b : w.a;
  CHECK(ini.logged("rekeying CHILD_SA dc-tun-gre"));
  CHECK(ini.logged("with PFS MODP_2048"));
  REQUIRE(ini.installs.size() == 4);
  REQUIRE(rsp.installs.size() == 4);
  REQUIRE(ini.removes.size() == 2);
  REQUIRE(rsp.removes.size() == 2);
  check_one_pair_each(w);
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  // unique ids stay across rekeys
  for (const auto& i : w.a.installs)
    if (i.child_name == "dc-tun-gre") CHECK(i.unique_id == gre_uid_a);
  // the responder's outbound SA goes live only when the old SA is removed
  for (std::size_t k = 2; k < 4; ++k) {
    const auto& n = rsp.installs[k];
    CHECK(n.outbound_deferred);
    CHECK_FALSE(ini.installs[k].outbound_deferred);
    long o = rsp.pos('O', n.spi_in);
    CHECK(o > rsp.pos('I', n.spi_in));
    bool old_removed_before = false;
    for (const auto& r : rsp.removes)
      if (r.child_name == n.child_name && rsp.pos('R', r.spi_in) < o) old_removed_before = true;
    CHECK(old_removed_before);
  }
  // the new keys differ from the old (new nonces and DH)
  CHECK(w.a.installs[2].encr_key_in != w.a.installs[0].encr_key_in);
  CHECK(w.a.e.counters().child_rekeys + w.b.e.counters().child_rekeys == 4);
  auto st = w.a.e.status(w.now);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].children.size() == 2);
  CHECK(st[0].children[0].state == "INSTALLED");
  // and it goes on: the successors rekey again
  run_until(w, t0 + Seconds{26});
  CHECK(ini.installs.size() == 6);
  check_one_pair_each(w);
}

TEST_CASE("rekeyfuzz spreads the rekey time within the margin") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256!");
  short_lifetimes(pa, Seconds{100}, Seconds{3600}, 100);
  short_lifetimes(pb, Seconds{1000}, Seconds{3600});
  bring_up(w, pa, pb);
  auto st = w.a.e.status(w.now);
  REQUIRE(st[0].children.size() == 2);
  for (const auto& c : st[0].children) {
    REQUIRE(c.rekey_in);
    CHECK(c.rekey_in->count() <= 92);
    CHECK(c.rekey_in->count() >= 83);
  }
}

TEST_CASE("IKE_SA rekey by either side: children survive, new keys, old IKE_SA deleted") {
  bool a_rekeys = GENERATE(true, false);
  INFO("rekey initiator: " << (a_rekeys ? "A" : "B"));
  Wire w;
  auto pa = peer(true, "aes256gcm16-prfsha384-ecp384!", "aes256gcm16-ecp384!");
  auto pb = peer(false, "aes256gcm16-prfsha384-ecp384!", "aes256gcm16-ecp384!");
  short_lifetimes(a_rekeys ? pa : pb, Seconds{3600}, Seconds{40});
  short_lifetimes(a_rekeys ? pb : pa, Seconds{3600}, Seconds{400});
  bring_up(w, pa, pb);
  auto old = w.a.e.status(w.now).at(0);
  run_until(w, w.now + Seconds{33});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  Side& ini = a_rekeys ? w.a : w.b;
  CHECK(ini.logged("rekeying IKE_SA"));
  auto sa = w.a.e.status(w.now);
  auto sb = w.b.e.status(w.now);
  REQUIRE(sa.size() == 1);
  REQUIRE(sb.size() == 1);
  CHECK(sa[0].state == "ESTABLISHED");
  CHECK(sa[0].spi_i != old.spi_i);
  CHECK(sa[0].spi_r != old.spi_r);
  CHECK(sa[0].spi_i == sb[0].spi_i);
  CHECK(sa[0].spi_r == sb[0].spi_r);
  CHECK(sa[0].initiator == a_rekeys);
  CHECK(sa[0].unique_id != old.unique_id);
  CHECK(sa[0].children.size() == 2);
  CHECK(sb[0].children.size() == 2);
  CHECK(w.a.removes.empty());
  CHECK(w.b.removes.empty());
  // keylog: new keys for the new SA, identical on both sides, different from the old
  REQUIRE(w.a.keys.size() == 2);
  REQUIRE(w.b.keys.size() == 2);
  CHECK(w.a.keys[1].spi_i == sa[0].spi_i);
  CHECK(w.a.keys[1].sk_ei == w.b.keys[1].sk_ei);
  CHECK(w.a.keys[1].sk_er == w.b.keys[1].sk_er);
  CHECK(w.a.keys[1].sk_ei != w.a.keys[0].sk_ei);
  CHECK(w.a.e.counters().ike_rekeys == 1);
  CHECK(w.b.e.counters().ike_rekeys == 1);
  // the new IKE_SA works: CHILD_SA rekey and DELETE over it
  REQUIRE(w.a.e.terminate("dc-tun-gre", w.now).ok());
  w.pump();
  CHECK(w.a.removes.size() == 1);
  CHECK(w.b.removes.size() == 1);
  // and it rekeys again (the successor is scheduled too)
  run_until(w, w.now + Seconds{40});
  CHECK(w.a.keys.size() == 3);
  REQUIRE(w.a.e.status(w.now).size() == 1);
  CHECK(w.a.e.status(w.now)[0].children.size() == 1);
}

TEST_CASE("CHILD_SA rekey collision: both ends at once, and one request delayed") {
  bool delayed = GENERATE(false, true);
  INFO((delayed ? "A's request lost once (B's rekey completes first)" : "simultaneous"));
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  short_lifetimes(pa, Seconds{20}, Seconds{3600});
  short_lifetimes(pb, Seconds{20}, Seconds{3600});
  pa.children.pop_back();
  pb.children.pop_back();
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  REQUIRE(w.a.installs.size() == 1);
  int dropped = 0;
  if (delayed)
    w.filter = [&](bool from_a, const OutDatagram& d) {
      auto h = Header::parse(d.data);
      if (from_a && h && h->exchange == ExchangeType::create_child_sa && !h->response && dropped == 0) {
        ++dropped;
        return 0;
      }
      return 1;
    };
  run_until(w, w.now + Seconds{delayed ? 19 : 13});  // one rekey round, retransmission included
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("rekeying CHILD_SA"));
  CHECK(w.b.logged("rekeying CHILD_SA"));
  auto la = live(w.a), lb = live(w.b);
  REQUIRE(la.size() == 1);
  REQUIRE(lb.size() == 1);
  const auto& x = la.begin()->second;
  REQUIRE(lb.count(x.spi_out) == 1);
  check_mirror(x, lb.at(x.spi_out));
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  if (!delayed) {
    CHECK(w.a.e.counters().rekey_collisions == 1);
    CHECK(w.b.e.counters().rekey_collisions == 1);
    CHECK((w.a.logged("collision lost") != w.b.logged("collision lost")));
  }
  auto st = w.a.e.status(w.now);
  REQUIRE(st.size() == 1);
  REQUIRE(st[0].children.size() == 1);
  CHECK(st[0].children[0].state == "INSTALLED");
}

TEST_CASE("IKE_SA rekey collision: one IKE_SA with all children survives on both sides") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256!");
  short_lifetimes(pa, Seconds{3600}, Seconds{40});
  short_lifetimes(pb, Seconds{3600}, Seconds{40});
  bring_up(w, pa, pb);
  run_until(w, w.now + Seconds{33});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.e.counters().rekey_collisions == 1);
  CHECK(w.b.e.counters().rekey_collisions == 1);
  auto sa = w.a.e.status(w.now);
  auto sb = w.b.e.status(w.now);
  REQUIRE(sa.size() == 1);
  REQUIRE(sb.size() == 1);
  CHECK(sa[0].spi_i == sb[0].spi_i);
  CHECK(sa[0].spi_r == sb[0].spi_r);
  CHECK(sa[0].children.size() == 2);
  CHECK(sb[0].children.size() == 2);
  CHECK(w.a.removes.empty());
  // the survivor works
  REQUIRE(w.b.e.terminate("dc-tun-tcp", w.now).ok());
  w.pump();
  CHECK(w.a.removes.size() == 1);
  CHECK(w.b.removes.size() == 1);
}

TEST_CASE("lost and duplicated messages during CHILD_SA and IKE_SA rekeys") {
  int mode = GENERATE(0, 1, 2);  // 0: drop the first answer, 1: duplicate everything, 2: drop the DELETE
  INFO("mode " << mode);
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  short_lifetimes(pa, Seconds{20}, Seconds{30});
  short_lifetimes(pb, Seconds{600}, Seconds{600});
  bring_up(w, pa, pb);
  int drops = 0;
  w.filter = [&](bool from_a, const OutDatagram& d) {
    auto h = Header::parse(d.data);
    if (!h) return 1;
    if (mode == 0 && !from_a && h->response && h->exchange == ExchangeType::create_child_sa && drops < 1) {
      ++drops;
      return 0;
    }
    if (mode == 1) return 2;
    if (mode == 2 && from_a && !h->response && h->exchange == ExchangeType::informational && drops < 1) {
      ++drops;
      return 0;
    }
    return 1;
  };
  run_until(w, w.now + Seconds{40});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.e.counters().child_rekeys >= 2);
  CHECK(w.a.e.counters().ike_rekeys == 1);
  check_one_pair_each(w);
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  CHECK(w.a.e.status(w.now).size() == 1);
  CHECK(w.b.e.status(w.now).size() == 1);
}

TEST_CASE("PFS mismatch shows at the first rekey: reported, retried, old SA kept until hard expiry") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256!");  // no PFS
  short_lifetimes(pa, Seconds{60}, Seconds{3600});
  short_lifetimes(pb, Seconds{3600}, Seconds{3600});
  pa.rekey_retry = Seconds{10};
  pa.children.pop_back();  // a second child would use CREATE_CHILD_SA with KE at once
  pb.children.pop_back();
  pa.children[0].rekey_margin = Seconds{30};  // rekey at 30 s, retries at 40 s and 50 s
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();  // IKE_AUTH's child has no KE: the mismatch is invisible here
  REQUIRE(w.a.installs.size() == 1);
  TimePoint t0 = w.now;
  run_until(w, t0 + Seconds{55});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("rekey failed: received NO_PROPOSAL_CHOSEN notify"));
  CHECK(w.a.logged("PFS group mismatch"));
  CHECK(w.a.logged("retrying in 10 s"));
  CHECK(w.a.e.counters().rekey_failures >= 2);
  CHECK(w.a.removes.empty());
  CHECK(w.b.removes.empty());
  CHECK(live(w.a).size() == 1);
  // at the hard lifetime the SAs are deleted
  run_until(w, t0 + Seconds{61});
  CHECK(w.a.logged("hard lifetime reached"));
  CHECK(live(w.a).empty());
  CHECK(live(w.b).empty());
}

TEST_CASE("peer restart: DPD gives up, dpdaction=restart brings IKE_SA and children back") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  pa.dpd_action = DpdAction::restart;
  pa.dpd_delay = Seconds{10};
  bring_up(w, pa, pb);
  w.b.restart(pb);  // B loses everything; A's SAs are stale now
  run_until(w, w.now + Seconds{240});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("peer considered dead"));  // dpdtimeout (150 s) before the retransmissions end
  CHECK(w.a.logged("initiating again (dpdaction=restart)"));
  CHECK(w.a.removes.size() == 2);   // the stale pair went
  CHECK(w.a.installs.size() == 4);  // and came back
  CHECK(w.b.installs.size() == 2);
  check_one_pair_each(w);
  CHECK(established(w.a.e, w.now));
  CHECK(established(w.b.e, w.now));
}

TEST_CASE("INITIAL_CONTACT from a restarted initiator removes the old IKE_SA and CHILD_SAs") {
  Wire w;
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  bring_up(w, pa, pb);
  w.a.restart(pa);
  w.now += Seconds{5};
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.b.logged("INITIAL_CONTACT"));
  auto st = w.b.e.status(w.now);
  REQUIRE(st.size() == 1);
  CHECK(st[0].children.size() == 2);
  CHECK(w.b.removes.size() == 2);
  check_one_pair_each(w);
}
