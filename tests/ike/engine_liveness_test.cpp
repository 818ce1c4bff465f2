// Contact and liveness between two in-memory Engines with a fake clock: INITIAL_CONTACT
// only on a first contact (RFC 7296 §2.4), and DPD's dpdtimeout (a silent peer declared
// dead after dpddelay + dpdtimeout, not after the whole retransmission schedule).
#include <catch2/catch.hpp>

#include <algorithm>

#include "ike/engine.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using namespace ike_test;

namespace {

// A's two conns as two IKE_SA configs towards the same peer (same addresses and ids);
// B keeps them as one config with two conns.
std::pair<PeerConfig, PeerConfig> split_on_a(PeerConfig a) {
  PeerConfig a2 = a;
  a.children.resize(1);  // dc-tun-gre
  a2.name = "dc-tun-b";
  a2.children.erase(a2.children.begin());  // dc-tun-tcp
  return {a, a2};
}

}  // namespace

TEST_CASE("INITIAL_CONTACT is sent on a first contact only") {
  Wire w;
  auto [pa, pb] = peers();
  auto [a1, a2] = split_on_a(pa);
  REQUIRE(w.a.e.add_peer(a1).ok());
  REQUIRE(w.a.e.add_peer(a2).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());

  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(w.b.e.status(w.now).size() == 1);
  // No IKE_SA with B existed: the first IKE_AUTH carries INITIAL_CONTACT.
  CHECK(w.b.count_logged("peer sent INITIAL_CONTACT") == 1);
  CHECK_FALSE(w.a.logged("no INITIAL_CONTACT"));

  SECTION("a second IKE_SA to the same peer does not send it, and the first one survives") {
    w.now += Seconds{5};
    REQUIRE(w.a.e.initiate("dc-tun-b", w.now).ok());
    w.pump();
    CHECK(w.b.count_logged("peer sent INITIAL_CONTACT") == 1);
    CHECK(w.a.logged("an IKE_SA with this peer exists: no INITIAL_CONTACT"));
    auto sb = w.b.e.status(w.now);
    REQUIRE(sb.size() == 2);
    for (const auto& s : sb) {
      CHECK(s.state == "ESTABLISHED");
      CHECK(s.children.size() == 1);
    }
    CHECK(w.b.removes.empty());
    CHECK(w.a.removes.empty());
    CHECK(live(w.a).size() == 2);
    CHECK(live(w.b).size() == 2);
  }

  SECTION("after the IKE_SA is gone, the next one is a first contact again") {
    REQUIRE(w.a.e.terminate("dc-tun", w.now).ok());
    w.pump();
    REQUIRE(w.a.e.status(w.now).empty());
    REQUIRE(w.b.e.status(w.now).empty());
    w.now += Seconds{5};
    REQUIRE(w.a.e.initiate("dc-tun-b", w.now).ok());
    w.pump();
    CHECK(w.b.count_logged("peer sent INITIAL_CONTACT") == 2);
    CHECK(established(w.b.e, w.now));
  }
}

TEST_CASE("dpdtimeout: a silent peer is dead after dpddelay + dpdtimeout, not before") {
  auto action = GENERATE(DpdAction::clear, DpdAction::restart);
  Wire w;
  auto [pa, pb] = peers();
  pa.dpd_action = action;
  pa.dpd_delay = Seconds{30};
  pa.dpd_timeout = Seconds{60};
  bring_up(w, pa, pb);
  const TimePoint t0 = w.now;  // the last message A received
  bool cut = true;
  w.filter = [&](bool, const OutDatagram&) { return cut ? 0 : 1; };
  run_until(w, t0 + Seconds{89});
  INFO(w.a.all_logs());
  CHECK(w.a.logged("retransmitting request"));  // the DPD went out and was retried
  CHECK(w.a.removes.empty());
  CHECK(established(w.a.e, w.now));
  run_until(w, t0 + Seconds{90});
  CHECK(w.a.logged("for dpdtimeout 60 s, peer considered dead"));
  CHECK(w.a.e.counters().peers_dead == 1);
  CHECK(w.a.e.counters().dpd_checks >= 1);
  CHECK_FALSE(w.a.logged("giving up after"));
  CHECK(w.a.removes.size() == 2);
  if (action == DpdAction::clear) {
    CHECK(w.a.e.status(w.now).empty());
  } else {
    CHECK(w.a.logged("initiating again (dpdaction=restart)"));
    cut = false;  // the peer is back: the new IKE_SA comes up with both children
    run_until(w, w.now + Seconds{30});
    CHECK(w.a.installs.size() == 4);
    CHECK(live(w.a).size() == 2);
  }
}

TEST_CASE("dpdtimeout: answered liveness checks keep the IKE_SA; a long dpdtimeout leaves it to retransmission") {
  Wire w;
  auto [pa, pb] = peers();
  pa.dpd_action = DpdAction::clear;
  pa.dpd_delay = Seconds{30};
  pa.dpd_timeout = Seconds{600};
  bring_up(w, pa, pb);
  run_until(w, w.now + Seconds{400});
  INFO(w.a.all_logs());
  CHECK(established(w.a.e, w.now));
  CHECK(w.a.removes.empty());
  const TimePoint t0 = w.now;
  w.filter = [](bool, const OutDatagram&) { return 0; };
  run_until(w, t0 + Seconds{400});
  // The whole retransmission schedule (about 165 s after the DPD) ends it before 600 s.
  CHECK(w.a.logged("giving up after"));
  CHECK_FALSE(w.a.logged("peer considered dead"));
  CHECK(w.a.e.status(w.now).empty());
}
