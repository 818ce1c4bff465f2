#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "esp/ip.h"
#include "esp/sad.h"
#include "esp/udp_encap.h"
#include "esp_test_util.h"

using namespace esp_test;
using common::TrafficSelector;

namespace {

std::unique_ptr<esp::Sa> make_sa(esp::Direction dir, std::uint32_t spi, std::vector<TrafficSelector> local = {},
                                 std::vector<TrafficSelector> remote = {}) {
  static CounterRandom rng;
  static const Keys k = keys_for(suites()[2]);
  auto c = config_for(suites()[2], k, dir, esp::Mode::tunnel, false, spi);
  c.local_ts = std::move(local);
  c.remote_ts = std::move(remote);
  auto sa = esp::Sa::create(c, rng);
  REQUIRE(sa);
  return std::move(sa.value());
}

TrafficSelector ts(const char* prefix, std::uint8_t proto = 0, std::uint16_t lo = 0, std::uint16_t hi = 65535) {
  return TrafficSelector::from_prefix(*common::Prefix::parse(prefix), proto, lo, hi);
}

}  // namespace

TEST_CASE("SAD: inbound SPI table insert, find, remove, grow", "[esp][sad]") {
  esp::Sad sad;
  std::mt19937 rng(7);
  std::set<std::uint32_t> spis;
  while (spis.size() < 500) {
    std::uint32_t s = rng();
    if (s) spis.insert(s);
  }
  // Sequential SPIs too: peers may allocate them that way.
  for (std::uint32_t s = 0xc0000000; s < 0xc0000000 + 200; ++s) spis.insert(s);
  for (auto s : spis) REQUIRE(sad.add_inbound(make_sa(esp::Direction::inbound, s)));
  CHECK(sad.inbound_count() == spis.size());
  for (auto s : spis) {
    esp::Sa* sa = sad.find_inbound(s);
    REQUIRE(sa);
    CHECK(sa->spi() == s);
  }
  CHECK_FALSE(sad.find_inbound(1));
  // Duplicate SPI and wrong direction refused.
  CHECK_FALSE(sad.add_inbound(make_sa(esp::Direction::inbound, *spis.begin())));
  CHECK_FALSE(sad.add_inbound(make_sa(esp::Direction::outbound, 77)));
  // Remove half, the rest stay findable (tombstones keep probe chains intact).
  std::size_t i = 0;
  for (auto s : spis)
    if (i++ % 2 == 0) REQUIRE(sad.remove_inbound(s));
  i = 0;
  for (auto s : spis) {
    if (i++ % 2 == 0) CHECK_FALSE(sad.find_inbound(s));
    else CHECK(sad.find_inbound(s));
  }
  CHECK_FALSE(sad.remove_inbound(*spis.begin()));
  // Churn: many add/remove cycles (tombstone clean-up).
  for (std::uint32_t r = 0; r < 3000; ++r) {
    REQUIRE(sad.add_inbound(make_sa(esp::Direction::inbound, 0x10000 + r)));
    REQUIRE(sad.remove_inbound(0x10000 + r));
  }
  CHECK(sad.inbound_count() == spis.size() / 2);
}

TEST_CASE("SAD: decap dispatches by SPI and counts unknown SPIs", "[esp][sad]") {
  esp::Sad sad;
  Pair p = make_pair(suites()[4], esp::Mode::tunnel, false);
  const std::uint32_t spi = p.in->spi();
  REQUIRE(sad.add_inbound(std::move(p.in)));
  Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 6, 1, 2, 30);
  Framed f = frame(*p.out, inner);
  auto e = p.out->encap(f.buf, f.offset, f.length, t(1));
  REQUIRE(e.ok());
  Bytes wire(e.packet.begin(), e.packet.end());
  Bytes rx = wire;
  auto d = sad.decap(rx, t(1));
  REQUIRE(d.ok());
  CHECK(Bytes(d.inner.begin(), d.inner.end()) == inner);
  rx = wire;
  rx[3] ^= std::byte{1};
  CHECK(sad.decap(rx, t(1)).drop == esp::Drop::bad_spi);
  CHECK(sad.unknown_spi_drops() == 1);
  for (std::size_t n = 0; n < 8; ++n) {
    Bytes s(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(sad.decap(s, t(1)).drop == esp::Drop::truncated);
  }
  CHECK(sad.truncated_drops() == 8);
  CHECK(sad.find_inbound(spi)->counters().packets == 1);
}

TEST_CASE("SAD: a route-based conn's outbound SA is found by SPI, never chosen by selectors", "[esp][sad]") {
  esp::Sad sad;
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 7, {ts("0.0.0.0/0")}, {ts("0.0.0.0/0")}), false));
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 8, {}, {ts("10.2.0.0/16")})));
  CHECK(sad.find_outbound(7) != nullptr);
  CHECK(sad.select_outbound(*common::IpAddr::parse("192.0.2.9"), 17, 53) == nullptr);
  CHECK(sad.select_outbound(*common::IpAddr::parse("10.2.0.1"), 17, 53)->spi() == 8);
  esp::ip::Flow f;
  f.src = *common::IpAddr::parse("10.0.0.1");
  f.dst = *common::IpAddr::parse("192.0.2.9");
  f.protocol = 1;
  CHECK(sad.select_outbound(f) == nullptr);
  CHECK(sad.remove_outbound(7));
}

TEST_CASE("SAD: outbound selection, most specific first, newest first", "[esp][sad]") {
  esp::Sad sad;
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 1, {}, {ts("10.0.0.0/8")})));
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 2, {}, {ts("10.2.0.0/16")})));
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 3, {}, {ts("10.2.3.4/32", 47)})));
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 4, {}, {ts("10.2.5.0/24", 6, 443, 443)})));
  CHECK_FALSE(sad.add_outbound(make_sa(esp::Direction::outbound, 4, {}, {})));
  CHECK_FALSE(sad.add_outbound(make_sa(esp::Direction::inbound, 9, {}, {})));
  auto spi_of = [&](const char* dst, std::uint8_t proto, std::uint16_t port) -> std::uint32_t {
    esp::Sa* sa = sad.select_outbound(*common::IpAddr::parse(dst), proto, port);
    return sa ? sa->spi() : 0;
  };
  CHECK(spi_of("10.9.9.9", 17, 53) == 1);
  CHECK(spi_of("10.2.9.9", 17, 53) == 2);
  CHECK(spi_of("10.2.3.4", 47, 0) == 3);
  CHECK(spi_of("10.2.3.4", 6, 80) == 2);
  CHECK(spi_of("10.2.5.1", 6, 443) == 4);
  CHECK(spi_of("10.2.5.1", 6, 444) == 2);
  CHECK(spi_of("192.0.2.1", 6, 443) == 0);

  // Rekey: a new SA with the same selectors wins; removing the old changes nothing.
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 33, {}, {ts("10.2.3.4/32", 47)})));
  CHECK(spi_of("10.2.3.4", 47, 0) == 33);
  CHECK(sad.remove_outbound(3));
  CHECK(spi_of("10.2.3.4", 47, 0) == 33);
  CHECK(sad.remove_outbound(33));
  CHECK(spi_of("10.2.3.4", 47, 0) == 2);
  CHECK_FALSE(sad.remove_outbound(33));
  CHECK(sad.outbound_count() == 3);

  // Flow-based selection also checks the source against the local TS.
  REQUIRE(sad.add_outbound(make_sa(esp::Direction::outbound, 5, {ts("10.44.6.1/32")}, {ts("198.51.100.0/24")})));
  esp::ip::Flow f;
  f.src = *common::IpAddr::parse("10.44.6.1");
  f.dst = *common::IpAddr::parse("198.51.100.7");
  f.protocol = 17;
  REQUIRE(sad.select_outbound(f));
  CHECK(sad.select_outbound(f)->spi() == 5);
  f.src = *common::IpAddr::parse("10.44.6.2");
  CHECK_FALSE(sad.select_outbound(f));
  std::size_t n = 0;
  sad.for_each([&](const esp::Sa&) { ++n; });
  CHECK(n == 4);
}

TEST_CASE("IPv4 parse: bounds, version, IHL, lengths, ports, fragments", "[esp][ip]") {
  Bytes pkt = ipv4_packet(v4("198.51.100.1"), v4("203.0.113.9"), 17, 4500, 53, 4);
  auto h = esp::ip::parse_ipv4(pkt);
  REQUIRE(h);
  CHECK(h->protocol == 17);
  CHECK(h->total_length == pkt.size());
  auto f = esp::ip::flow_of(*h, pkt);
  CHECK(f.src.to_string() == "198.51.100.1");
  CHECK(f.dst.to_string() == "203.0.113.9");
  CHECK(f.ports_known);
  CHECK(f.src_port == 4500);
  CHECK(f.dst_port == 53);
  for (std::size_t n = 0; n < pkt.size(); ++n) {
    Bytes s(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_FALSE(esp::ip::parse_ipv4(s));
  }
  Bytes v6 = pkt;
  v6[0] = std::byte{0x65};
  CHECK_FALSE(esp::ip::parse_ipv4(v6));
  Bytes ihl4 = pkt;
  ihl4[0] = std::byte{0x44};
  CHECK_FALSE(esp::ip::parse_ipv4(ihl4));
  Bytes ihl_big = pkt;
  ihl_big[0] = std::byte{0x4f};  // 60-byte header > total length 32
  CHECK_FALSE(esp::ip::parse_ipv4(ihl_big));
  // Non-first fragment: ports unknown.
  Bytes frag = pkt;
  frag[6] = std::byte{0x00};
  frag[7] = std::byte{0x10};
  auto hf = esp::ip::parse_ipv4(frag);
  REQUIRE(hf);
  CHECK(hf->is_fragment());
  CHECK_FALSE(esp::ip::flow_of(*hf, frag).ports_known);
  // ICMP: no ports.
  Bytes icmp = ipv4_packet(v4("10.0.0.1"), v4("10.0.0.2"), 1, 0x0800, 0, 4);
  auto hi = esp::ip::parse_ipv4(icmp);
  REQUIRE(hi);
  CHECK_FALSE(esp::ip::flow_of(*hi, icmp).ports_known);
}

TEST_CASE("UDP/4500 payload classification (RFC 3948)", "[esp][udp_encap]") {
  using esp::udp_encap::classify;
  using esp::udp_encap::Kind;
  CHECK(classify(from_hex_bytes("ff")) == Kind::keepalive);
  CHECK(classify(from_hex_bytes("fe")) == Kind::invalid);
  CHECK(classify(from_hex_bytes("")) == Kind::invalid);
  CHECK(classify(from_hex_bytes("00000000")) == Kind::invalid);
  const Bytes ike = common::from_hex("00000000 0102030405060708 0000000000000000 2120220800000000 0000001c");
  CHECK(classify(ike) == Kind::ike);
  CHECK(esp::udp_encap::ike_message(ike).size() == ike.size() - 4);
  CHECK(esp::udp_encap::is_non_esp_marker(ike));
  CHECK(classify(from_hex_bytes("c0ffee0100000001")) == Kind::esp);
  CHECK(classify(from_hex_bytes("c0ffee01000000")) == Kind::invalid);
  CHECK(classify(from_hex_bytes("00000001 00000001")) == Kind::esp);
  CHECK(esp::udp_encap::ike_message(from_hex_bytes("c0ffee0100000001")).empty());
}
