// SIGHUP reload at CHILD_SA granularity between two in-memory Engines (Engine::update_peer):
// a conn added under the running IKE_SA gets just its CHILD_SA, a removed one loses just
// its CHILD_SA (the other CHILD_SA and the IKE_SA keep their SPIs); a conn whose CHILD
// parameters changed has the whole IKE_SA re-established (the safe way: both ends reload).
#include <catch2/catch.hpp>

#include "ike/engine.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using namespace ike_test;

namespace {

// A third conn between the same hosts.
ChildConfig extra(bool a_side) {
  ChildConfig c;
  c.name = "dc-tun-extra";
  c.local_ts = {net(a_side ? "10.46.0.0/24" : "10.47.0.0/24")};
  c.remote_ts = {net(a_side ? "10.47.0.0/24" : "10.46.0.0/24")};
  c.esp_proposals = props("aes256-sha256-modp2048!", Protocol::esp);
  c.start = a_side;
  return c;
}

std::uint32_t spi_of(const Side& s, const std::string& name) {
  for (const auto& [spi, i] : live(s))
    if (i.child_name == name) return spi;
  return 0;
}

}  // namespace

TEST_CASE("reload per CHILD_SA: add, remove and change a conn under a running IKE_SA") {
  Wire w;
  auto [pa, pb] = peers();
  bring_up(w, pa, pb);
  const auto ike_spi = w.a.e.status(w.now).at(0).spi_i;
  const std::uint32_t gre_a = spi_of(w.a, "dc-tun-gre"), gre_b = spi_of(w.b, "dc-tun-gre");
  REQUIRE(gre_a != 0);
  auto same_ike_sa = [&] {
    auto sa = w.a.e.status(w.now), sb = w.b.e.status(w.now);
    REQUIRE(sa.size() == 1);
    REQUIRE(sb.size() == 1);
    CHECK(sa[0].spi_i == ike_spi);
    CHECK(sb[0].spi_i == ike_spi);
  };
  auto gre_untouched = [&] {
    CHECK(spi_of(w.a, "dc-tun-gre") == gre_a);
    CHECK(spi_of(w.b, "dc-tun-gre") == gre_b);
  };

  SECTION("a conn added: just its CHILD_SA is created") {
    pa.children.push_back(extra(true));
    pb.children.push_back(extra(false));
    REQUIRE(w.b.e.update_peer(pb, w.now).ok());
    REQUIRE(w.a.e.update_peer(pa, w.now).ok());
    w.pump();
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.a.logged("reload: conn dc-tun-extra added"));
    CHECK(live(w.a).size() == 3);
    CHECK(live(w.b).size() == 3);
    CHECK(spi_of(w.a, "dc-tun-extra") != 0);
    CHECK(w.a.removes.empty());
    CHECK(w.b.removes.empty());
    same_ike_sa();
    gre_untouched();
  }
  SECTION("a conn removed: just its CHILD_SA is deleted") {
    pa.children.pop_back();  // dc-tun-tcp
    REQUIRE(w.a.e.update_peer(pa, w.now).ok());
    w.pump();
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.a.logged("reload: conn dc-tun-tcp removed"));
    REQUIRE(live(w.a).size() == 1);
    REQUIRE(live(w.b).size() == 1);
    CHECK(w.a.removes.size() == 1);
    CHECK(w.a.removes.at(0).child_name == "dc-tun-tcp");
    same_ike_sa();
    gre_untouched();
    // It stays gone: initiating the peer again creates nothing for the removed conn.
    REQUIRE_FALSE(w.a.e.initiate("dc-tun-tcp", w.now).ok());
  }
  SECTION("a conn's child parameters changed: the IKE_SA is re-established, as a whole") {
    const std::uint32_t tcp_a = spi_of(w.a, "dc-tun-tcp");
    for (auto& c : pa.children) c.start = true;  // A initiates again, as auto=start would
    pa.children.back().lifetime = Seconds{1800};
    pa.children.back().remote_ts = {net("100.15.31.0/24")};
    pb.children.back().local_ts = {net("100.15.31.0/24")};
    REQUIRE(w.b.e.update_peer(pb, w.now).ok());
    REQUIRE(w.a.e.update_peer(pa, w.now).ok());
    w.pump();
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    CHECK(w.a.logged("reload: conn dc-tun-tcp changed its CHILD_SA parameters: re-establishing IKE_SA dc-tun"));
    CHECK(w.b.logged("reload: conn dc-tun-tcp changed its CHILD_SA parameters: re-establishing IKE_SA dc-tun"));
    CHECK_FALSE(w.a.logged("changed: replacing"));
    // One new IKE_SA with one new pair per conn; the old CHILD_SAs are gone on both sides.
    auto sa = w.a.e.status(w.now), sb = w.b.e.status(w.now);
    REQUIRE(sa.size() == 1);
    REQUIRE(sb.size() == 1);
    CHECK(sa[0].state == "ESTABLISHED");
    CHECK(sa[0].spi_i != ike_spi);
    CHECK(sa[0].spi_i == sb[0].spi_i);
    check_one_pair_each(w);
    CHECK(live(w.a).size() == 2);
    CHECK(live(w.b).size() == 2);
    const std::uint32_t tcp_new = spi_of(w.a, "dc-tun-tcp");
    REQUIRE(tcp_new != 0);
    CHECK(tcp_new != tcp_a);
    CHECK(live(w.a).at(tcp_new).remote_ts.at(0).to_string() == "100.15.31.0/24");
    CHECK(live(w.a).count(gre_a) == 0);
    CHECK(live(w.b).count(gre_b) == 0);
    CHECK(spi_of(w.a, "dc-tun-gre") != 0);
  }
  SECTION("only auto= changed: nothing happens") {
    for (auto& c : pa.children) c.start = !c.start;
    REQUIRE(w.a.e.update_peer(pa, w.now).ok());
    w.pump();
    CHECK(w.a.removes.empty());
    CHECK(live(w.a).size() == 2);
    same_ike_sa();
    gre_untouched();
  }
}
