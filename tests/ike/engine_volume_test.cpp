// Rekey by volume (lifebytes/lifepackets) between two in-memory Engines: the limits the
// engine hands to the data path, a soft-limit report starting a CHILD_SA rekey from either
// side (make-before-break, once however often it is reported), a hard-limit report
// deleting just that CHILD_SA; lost and duplicated messages on the way.
#include <catch2/catch.hpp>

#include "ike/engine.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using namespace ike_test;

namespace {

void volume_limits(PeerConfig& c, unsigned fuzz) {
  for (auto& ch : c.children) {
    ch.life_bytes = 1000000;
    ch.margin_bytes = 100000;
    ch.life_packets = 5000;
    ch.margin_packets = 1000;
    ch.rekey_fuzz_percent = fuzz;
  }
}

}  // namespace

TEST_CASE("volume: the install event carries soft and hard limits (rekeyfuzz on the margin)") {
  unsigned fuzz = GENERATE(0u, 100u);
  Wire w;
  auto [pa, pb] = peers();
  volume_limits(pa, fuzz);
  bring_up(w, pa, pb);
  for (const auto& i : w.a.installs) {
    CHECK(i.hard_bytes == 1000000);
    CHECK(i.hard_packets == 5000);
    if (fuzz == 0) {
      CHECK(i.soft_bytes == 900000);
      CHECK(i.soft_packets == 4000);
    } else {
      CHECK(i.soft_bytes >= 800000);
      CHECK(i.soft_bytes <= 900000);
      CHECK(i.soft_packets >= 3000);
      CHECK(i.soft_packets <= 4000);
    }
  }
  // B has no limits configured: nothing for its data path to watch.
  for (const auto& i : w.b.installs) {
    CHECK(i.hard_bytes == 0);
    CHECK(i.soft_bytes == 0);
    CHECK(i.hard_packets == 0);
    CHECK(i.soft_packets == 0);
  }
}

TEST_CASE("volume: the soft limit rekeys just that CHILD_SA, from either side, once") {
  bool a_reports = GENERATE(true, false);
  bool lossy = GENERATE(false, true);
  INFO((a_reports ? "A" : "B") << " reports" << (lossy ? ", lossy wire" : ""));
  Wire w;
  auto [pa, pb] = peers();
  volume_limits(pa, 0);
  volume_limits(pb, 0);
  bring_up(w, pa, pb);
  std::set<std::pair<int, bool>> dropped;  // (exchange, response) whose first copy was lost
  if (lossy)
    w.filter = [&dropped](bool, const OutDatagram& d) {
      auto h = Header::parse(d.data);
      if (!h) return 1;
      // The first request and the first response of each exchange type are lost; every
      // other datagram arrives twice.
      return dropped.insert({static_cast<int>(h->exchange), h->response}).second ? 0 : 2;
    };
  Side& s = a_reports ? w.a : w.b;
  auto before = live(s);
  std::uint32_t gre_in = 0, tcp_in = 0;
  for (const auto& [spi, i] : before) (i.child_name == "dc-tun-gre" ? gre_in : tcp_in) = spi;
  w.now += Seconds{10};
  s.e.child_volume_reached(gre_in, false, "bytes", w.now);
  s.e.child_volume_reached(gre_in, false, "bytes", w.now);  // a second report changes nothing
  w.pump();
  run_until(w, w.now + Seconds{180});  // long enough for the retransmissions on a lossy wire
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(s.logged("soft bytes limit reached, rekeying"));
  CHECK(w.a.e.counters().child_rekeys == 1);  // both ends count the one rekey
  CHECK(w.b.e.counters().child_rekeys == 1);
  check_one_pair_each(w);
  auto after = live(s);
  CHECK(after.count(gre_in) == 0);  // replaced
  CHECK(after.count(tcp_in) == 1);  // the other CHILD_SA is untouched
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  CHECK(established(w.a.e, w.now));
}

TEST_CASE("volume: the hard limit deletes the CHILD_SA on both sides") {
  Wire w;
  auto [pa, pb] = peers();
  volume_limits(pa, 0);
  bring_up(w, pa, pb);
  std::uint32_t gre_in = 0;
  for (const auto& [spi, i] : live(w.a))
    if (i.child_name == "dc-tun-gre") gre_in = spi;
  w.a.e.child_volume_reached(gre_in, true, "packets", w.now);
  w.pump();
  INFO(w.a.all_logs());
  CHECK(w.a.logged("hard packets limit reached, deleting it"));
  REQUIRE(live(w.a).size() == 1);
  REQUIRE(live(w.b).size() == 1);
  CHECK(live(w.a).begin()->second.child_name == "dc-tun-tcp");
  CHECK(live(w.b).begin()->second.child_name == "dc-tun-tcp");
  CHECK(established(w.a.e, w.now));
  // An unknown SPI is ignored.
  w.a.e.child_volume_reached(0x12345678, true, "bytes", w.now);
  w.pump();
  CHECK(live(w.a).size() == 1);
}
