// RFC 7383 between two in-memory engines: both announce IKEV2_FRAGMENTATION_SUPPORTED; an
// IKE_AUTH too large for 1280-byte paths (many traffic selectors) goes as SKF fragments in
// both directions, is reassembled, and the CHILD_SA comes up; a lost fragment is healed
// by the retransmission of all fragments. ESN negotiated when both configure it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "ike/engine.h"
#include "ike/fragment.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike_test;

namespace {

// The two-peer harness's dc-tun pair with one CHILD_SA ("big-net") of n_ts /24 selectors
// per side: 80 of them make an IKE_AUTH too large for a 1280-byte path.
PeerConfig peer(bool a_side, int n_ts, const char* esp) {
  PeerConfig c = ike_test::peer(a_side, "aes256gcm16-prfsha256-x25519", esp);
  c.name = "big";
  c.psk = common::to_bytes(common::as_bytes("fragment test secret"));
  c.children.resize(1);
  ChildConfig& ch = c.children[0];
  ch.name = "big-net";
  ch.local_ts.clear();
  ch.remote_ts.clear();
  for (int i = 0; i < n_ts; ++i) {
    std::string l = "10." + std::to_string(a_side ? 1 : 2) + "." + std::to_string(i) + ".0/24";
    std::string r = "10." + std::to_string(a_side ? 2 : 1) + "." + std::to_string(i) + ".0/24";
    ch.local_ts.push_back(net(l.c_str()));
    ch.remote_ts.push_back(net(r.c_str()));
  }
  return c;
}

bool is_skf(const OutDatagram& d) { return d.data.size() > 16 && d.data[16] == std::byte{53}; }
bool is_init(const OutDatagram& d) { return d.data.size() > 18 && d.data[18] == std::byte{34}; }

std::size_t skf_count(const std::vector<OutDatagram>& sent) {
  return static_cast<std::size_t>(std::count_if(sent.begin(), sent.end(), is_skf));
}

// The largest datagram either side sent (protected_only: leaving out IKE_SA_INIT, which
// is never fragmented).
std::size_t max_size(const Wire& w, bool protected_only = false) {
  std::size_t m = 0;
  for (const auto* v : {&w.sent_a, &w.sent_b})
    for (const auto& d : *v)
      if (!protected_only || !is_init(d)) m = std::max(m, d.data.size());
  return m;
}

// Both peers added, A initiates the one CHILD_SA, the wire runs until quiet.
void start(Wire& w, PeerConfig a, PeerConfig b) {
  REQUIRE(w.a.e.add_peer(std::move(a)).ok());
  REQUIRE(w.b.e.add_peer(std::move(b)).ok());
  REQUIRE(w.a.e.initiate("big-net", w.now).ok());
  w.pump(100);
}

}  // namespace

TEST_CASE("IKE_AUTH larger than the path limit goes as SKF fragments both ways") {
  Wire w;
  start(w, peer(true, 80, "aes256gcm16"), peer(false, 80, "aes256gcm16"));
  REQUIRE(w.a.installs.size() == 1);
  REQUIRE(w.b.installs.size() == 1);
  CHECK(w.a.installs[0].local_ts.size() == 80);
  CHECK(skf_count(w.sent_a) >= 2);  // the IKE_AUTH request
  CHECK(skf_count(w.sent_b) >= 2);  // the IKE_AUTH response
  CHECK(max_size(w) <= frag::kDefaultLimit);
  CHECK(w.a.e.counters().rx_malformed == 0);
  CHECK(w.b.e.counters().rx_malformed == 0);
}

TEST_CASE("small IKE_AUTH is not fragmented") {
  Wire w;
  start(w, peer(true, 2, "aes256gcm16"), peer(false, 2, "aes256gcm16"));
  REQUIRE(w.a.installs.size() == 1);
  CHECK(skf_count(w.sent_a) == 0);
  CHECK(skf_count(w.sent_b) == 0);
}

TEST_CASE("a lost fragment: the whole fragmented request is retransmitted") {
  Wire w;
  int dropped = 0;
  w.filter = [&](bool from_a, const OutDatagram& d) {
    // The second fragment of the first IKE_AUTH request, and fragment 1 of the response once.
    if (!is_skf(d) || dropped >= 2) return 1;
    common::Reader r(std::span(d.data).subspan(Header::kSize + 4));
    std::uint16_t num = r.u16();
    if ((from_a && num == 2 && dropped == 0) || (!from_a && num == 1 && dropped == 1)) {
      ++dropped;
      return 0;
    }
    return 1;
  };
  start(w, peer(true, 80, "aes256gcm16"), peer(false, 80, "aes256gcm16"));
  CHECK(w.a.installs.empty());
  for (int i = 0; i < 4 && w.a.installs.empty(); ++i) w.tick();
  CHECK(dropped == 2);
  REQUIRE(w.a.installs.size() == 1);
  REQUIRE(w.b.installs.size() == 1);
  CHECK(w.a.e.counters().retransmits >= 1);
}

TEST_CASE("ESN: negotiated when both sides configure it, passed in ChildSaInstall") {
  SECTION("both esn") {
    Wire w;
    start(w, peer(true, 1, "aes256gcm16-esn!"), peer(false, 1, "aes256gcm16-esn-noesn"));
    REQUIRE(w.a.installs.size() == 1);
    REQUIRE(w.b.installs.size() == 1);
    CHECK(w.a.installs[0].esn);
    CHECK(w.b.installs[0].esn);
  }
  SECTION("one side noesn only") {
    Wire w;
    start(w, peer(true, 1, "aes256gcm16-esn-noesn"), peer(false, 1, "aes256gcm16"));
    REQUIRE(w.a.installs.size() == 1);
    CHECK_FALSE(w.a.installs[0].esn);
    CHECK_FALSE(w.b.installs[0].esn);
  }
  SECTION("esn against noesn: no CHILD_SA") {
    Wire w;
    start(w, peer(true, 1, "aes256gcm16-esn!"), peer(false, 1, "aes256gcm16-noesn!"));
    CHECK(w.a.installs.empty());
    CHECK(w.b.installs.empty());
  }
}

TEST_CASE("fragment_size lowers the fragmentation threshold (IP datagram size)") {
  Wire w;
  w.a.e.set_fragment_size(300);
  w.b.e.set_fragment_size(300);
  start(w, peer(true, 8, "aes256gcm16"), peer(false, 8, "aes256gcm16"));
  REQUIRE(w.a.installs.size() == 1);
  REQUIRE(w.b.installs.size() == 1);
  CHECK(skf_count(w.sent_a) >= 2);
  CHECK(skf_count(w.sent_b) >= 2);
  // 300 bytes of IPv4 datagram: IKE message <= 300 - 20 (IP) - 8 (UDP) - 4 (marker).
  CHECK(max_size(w, true) <= 268);
  CHECK(w.a.e.counters().rx_malformed == 0);
  CHECK(w.b.e.counters().rx_malformed == 0);
}

TEST_CASE("fragmentation=no on either side: not announced, messages go whole") {
  bool a_off = GENERATE(true, false);
  Wire w;
  auto pa = peer(true, 80, "aes256gcm16");
  auto pb = peer(false, 80, "aes256gcm16");
  (a_off ? pa : pb).fragmentation = false;
  start(w, pa, pb);
  REQUIRE(w.a.installs.size() == 1);
  CHECK(skf_count(w.sent_a) == 0);
  CHECK(skf_count(w.sent_b) == 0);
  CHECK(max_size(w, true) > frag::kDefaultLimit);  // the big IKE_AUTH went as one datagram
}
