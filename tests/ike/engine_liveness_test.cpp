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

std::size_t count_logged(const Side& s, std::string_view what) {
  return static_cast<std::size_t>(
      std::count_if(s.logs.begin(), s.logs.end(), [&](const std::string& l) { return l.find(what) != std::string::npos; }));
}

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
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256-modp2048!");
  auto [a1, a2] = split_on_a(pa);
  REQUIRE(w.a.e.add_peer(a1).ok());
  REQUIRE(w.a.e.add_peer(a2).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());

  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  REQUIRE(w.b.e.status(w.now).size() == 1);
  // No IKE_SA with B existed: the first IKE_AUTH carries INITIAL_CONTACT.
  CHECK(count_logged(w.b, "peer sent INITIAL_CONTACT") == 1);
  CHECK_FALSE(w.a.logged("no INITIAL_CONTACT"));

  SECTION("a second IKE_SA to the same peer does not send it, and the first one survives") {
    w.now += Seconds{5};
    REQUIRE(w.a.e.initiate("dc-tun-b", w.now).ok());
    w.pump();
    CHECK(count_logged(w.b, "peer sent INITIAL_CONTACT") == 1);
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
    CHECK(count_logged(w.b, "peer sent INITIAL_CONTACT") == 2);
    CHECK(established(w.b.e, w.now));
  }
}
