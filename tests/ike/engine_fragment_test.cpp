// RFC 7383 between two in-memory engines: both announce IKEV2_FRAGMENTATION_SUPPORTED; an
// IKE_AUTH too large for 1280-byte paths (many traffic selectors) goes as SKF fragments in
// both directions, is reassembled, and the CHILD_SA comes up; a lost fragment is healed
// by the retransmission of all fragments. ESN negotiated when both configure it.
#include <catch2/catch.hpp>

#include <functional>

#include "ike/engine.h"
#include "ike/fragment.h"
#include "ike/message.h"

using namespace ike;
using common::IpAddr;

namespace {

const IpAddr kA = IpAddr::v4(0xc0000201);
const IpAddr kB = IpAddr::v4(0xc0000202);

std::vector<Proposal> props(const char* text, Protocol proto) {
  auto s = parse_proposals(text, proto);
  REQUIRE(s.ok());
  return s->proposals;
}

PeerConfig peer(bool a_side, int n_ts, const char* esp) {
  PeerConfig c;
  c.name = "big";
  c.local_addr = a_side ? kA : kB;
  c.remote_addr = a_side ? kB : kA;
  c.local_id = Identity::from_string(a_side ? "192.0.2.1" : "192.0.2.2");
  c.remote_id = Identity::from_string(a_side ? "192.0.2.2" : "192.0.2.1");
  c.psk = common::to_bytes(common::as_bytes("fragment test secret"));
  c.ike_proposals = props("aes256gcm16-prfsha256-x25519", Protocol::ike);
  ChildConfig ch;
  ch.name = "big-net";
  for (int i = 0; i < n_ts; ++i) {
    std::string l = "10." + std::to_string(a_side ? 1 : 2) + "." + std::to_string(i) + ".0/24";
    std::string r = "10." + std::to_string(a_side ? 2 : 1) + "." + std::to_string(i) + ".0/24";
    ch.local_ts.push_back(common::TrafficSelector::from_prefix(*common::Prefix::parse(l)));
    ch.remote_ts.push_back(common::TrafficSelector::from_prefix(*common::Prefix::parse(r)));
  }
  ch.esp_proposals = props(esp, Protocol::esp);
  c.children = {ch};
  return c;
}

bool is_skf(const OutDatagram& d) { return d.data.size() > 16 && d.data[16] == std::byte{53}; }

struct Pair {
  common::crypto::SystemRandom ra, rb;
  Engine a{ra}, b{rb};
  std::vector<ChildSaInstall> ia, ib;
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::function<bool(bool, const OutDatagram&)> drop = [](bool, const OutDatagram&) { return false; };
  std::size_t skf_a = 0, skf_b = 0, max_size = 0;
  void pump() {
    for (int i = 0; i < 100; ++i) {
      for (auto& ev : a.events())
        if (auto* x = std::get_if<ChildSaInstall>(&ev)) ia.push_back(*x);
      for (auto& ev : b.events())
        if (auto* x = std::get_if<ChildSaInstall>(&ev)) ib.push_back(*x);
      a.events().clear();
      b.events().clear();
      auto oa = std::move(a.outbox());
      a.outbox().clear();
      auto ob = std::move(b.outbox());
      b.outbox().clear();
      if (oa.empty() && ob.empty()) return;
      for (auto& d : oa) {
        skf_a += is_skf(d);
        max_size = std::max(max_size, d.data.size());
        if (!drop(true, d)) b.on_datagram(d.remote, d.local, d.data, now);
      }
      for (auto& d : ob) {
        skf_b += is_skf(d);
        max_size = std::max(max_size, d.data.size());
        if (!drop(false, d)) a.on_datagram(d.remote, d.local, d.data, now);
      }
    }
  }
  void tick() {
    auto ea = a.next_expiry(), eb = b.next_expiry();
    std::optional<TimePoint> t = ea;
    if (eb && (!t || *eb < *t)) t = eb;
    if (t && *t > now) now = *t;
    a.on_expiry(now);
    b.on_expiry(now);
    pump();
  }
};

}  // namespace

TEST_CASE("IKE_AUTH larger than the path limit goes as SKF fragments both ways") {
  Pair p;
  REQUIRE(p.a.add_peer(peer(true, 80, "aes256gcm16")).ok());
  REQUIRE(p.b.add_peer(peer(false, 80, "aes256gcm16")).ok());
  REQUIRE(p.a.initiate("big-net", p.now).ok());
  p.pump();
  REQUIRE(p.ia.size() == 1);
  REQUIRE(p.ib.size() == 1);
  CHECK(p.ia[0].local_ts.size() == 80);
  CHECK(p.skf_a >= 2);  // the IKE_AUTH request
  CHECK(p.skf_b >= 2);  // the IKE_AUTH response
  CHECK(p.max_size <= frag::kDefaultLimit);
  CHECK(p.a.counters().rx_malformed == 0);
  CHECK(p.b.counters().rx_malformed == 0);
}

TEST_CASE("small IKE_AUTH is not fragmented") {
  Pair p;
  REQUIRE(p.a.add_peer(peer(true, 2, "aes256gcm16")).ok());
  REQUIRE(p.b.add_peer(peer(false, 2, "aes256gcm16")).ok());
  REQUIRE(p.a.initiate("big-net", p.now).ok());
  p.pump();
  REQUIRE(p.ia.size() == 1);
  CHECK(p.skf_a == 0);
  CHECK(p.skf_b == 0);
}

TEST_CASE("a lost fragment: the whole fragmented request is retransmitted") {
  Pair p;
  REQUIRE(p.a.add_peer(peer(true, 80, "aes256gcm16")).ok());
  REQUIRE(p.b.add_peer(peer(false, 80, "aes256gcm16")).ok());
  int dropped = 0;
  p.drop = [&](bool from_a, const OutDatagram& d) {
    // The second fragment of the first IKE_AUTH request, and fragment 1 of the response once.
    if (!is_skf(d) || dropped >= 2) return false;
    common::Reader r(std::span(d.data).subspan(Header::kSize + 4));
    std::uint16_t num = r.u16();
    if ((from_a && num == 2 && dropped == 0) || (!from_a && num == 1 && dropped == 1)) {
      ++dropped;
      return true;
    }
    return false;
  };
  REQUIRE(p.a.initiate("big-net", p.now).ok());
  p.pump();
  CHECK(p.ia.empty());
  for (int i = 0; i < 4 && p.ia.empty(); ++i) p.tick();
  CHECK(dropped == 2);
  REQUIRE(p.ia.size() == 1);
  REQUIRE(p.ib.size() == 1);
  CHECK(p.a.counters().retransmits >= 1);
}

TEST_CASE("ESN: negotiated when both sides configure it, passed in ChildSaInstall") {
  SECTION("both esn") {
    Pair p;
    REQUIRE(p.a.add_peer(peer(true, 1, "aes256gcm16-esn!")).ok());
    REQUIRE(p.b.add_peer(peer(false, 1, "aes256gcm16-esn-noesn")).ok());
    REQUIRE(p.a.initiate("big-net", p.now).ok());
    p.pump();
    REQUIRE(p.ia.size() == 1);
    REQUIRE(p.ib.size() == 1);
    CHECK(p.ia[0].esn);
    CHECK(p.ib[0].esn);
  }
  SECTION("one side noesn only") {
    Pair p;
    REQUIRE(p.a.add_peer(peer(true, 1, "aes256gcm16-esn-noesn")).ok());
    REQUIRE(p.b.add_peer(peer(false, 1, "aes256gcm16")).ok());
    REQUIRE(p.a.initiate("big-net", p.now).ok());
    p.pump();
    REQUIRE(p.ia.size() == 1);
    CHECK_FALSE(p.ia[0].esn);
    CHECK_FALSE(p.ib[0].esn);
  }
  SECTION("esn against noesn: no CHILD_SA") {
    Pair p;
    REQUIRE(p.a.add_peer(peer(true, 1, "aes256gcm16-esn!")).ok());
    REQUIRE(p.b.add_peer(peer(false, 1, "aes256gcm16-noesn!")).ok());
    REQUIRE(p.a.initiate("big-net", p.now).ok());
    p.pump();
    CHECK(p.ia.empty());
    CHECK(p.ib.empty());
  }
}
