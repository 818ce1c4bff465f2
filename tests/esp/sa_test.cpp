#include <catch2/catch.hpp>

#include <algorithm>

#include "esp/ip.h"
#include "esp/sa.h"
#include "esp_test_util.h"

using namespace esp_test;
using esp::Drop;
using esp::Mode;

namespace {

const char* mode_name(Mode m) { return m == Mode::tunnel ? "tunnel" : "transport"; }

Bytes inner_for(Mode m, std::size_t n) {
  if (m == Mode::tunnel) return ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1000, 2000, n);
  return pattern(n, 0x33);
}

// Encapsulates `inner` and returns the wire bytes (copied out of the frame buffer).
Bytes seal(esp::Sa& out, Mode m, const Bytes& inner, std::uint8_t nh = 47) {
  Framed f = frame(out, inner);
  auto r = m == Mode::tunnel ? out.encap(f.buf, f.offset, f.length, t(1))
                             : out.encap(f.buf, f.offset, f.length, nh, t(1));
  REQUIRE(r.ok());
  return Bytes(r.packet.begin(), r.packet.end());
}

bool contains(const Bytes& hay, const Bytes& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

}  // namespace

TEST_CASE("ESP round trips for every suite, tunnel and transport, with and without ESN", "[esp][sa]") {
  for (const auto& suite : suites()) {
    for (Mode mode : {Mode::tunnel, Mode::transport}) {
      for (bool esn : {false, true}) {
        INFO(suite.name << " " << mode_name(mode) << (esn ? " esn" : ""));
        Pair p = make_pair(suite, mode, esn);
        REQUIRE(p.out);
        REQUIRE(p.in);
        std::uint64_t expected_seq = 0;
        for (std::size_t n : {0, 1, 2, 3, 13, 14, 15, 16, 17, 100, 1372}) {
          if (mode == Mode::tunnel && n > 0 && n < 2) continue;
          const Bytes inner = inner_for(mode, n);
          Framed f = frame(*p.out, inner);
          auto e = mode == Mode::tunnel ? p.out->encap(f.buf, f.offset, f.length, t(1))
                                        : p.out->encap(f.buf, f.offset, f.length, 47, t(1));
          REQUIRE(e.ok());
          ++expected_seq;
          CHECK(e.seq == expected_seq);
          CHECK(e.packet.size() == p.out->encap_size(inner.size()));
          CHECK(e.packet.data() == f.buf.data());  // built in place: header in the headroom
          const Bytes wire(e.packet.begin(), e.packet.end());
          CHECK(common::to_hex(common::ByteSpan(wire).first(4)) == "c0ffee01");
          // Ciphertext and plaintext must differ (inner long enough to be meaningful).
          if (inner.size() >= 16) CHECK_FALSE(contains(wire, inner));
          // Ciphertext is block aligned for CBC, the trailer 4-byte aligned for all.
          CHECK((wire.size() - p.out->header_size() - p.out->icv_size()) % p.out->block_size() == 0);

          Bytes rx = wire;
          auto d = p.in->decap(rx, t(2));
          REQUIRE(d.ok());
          CHECK(d.seq == expected_seq);
          CHECK(d.next_header == (mode == Mode::tunnel ? 4 : 47));
          CHECK(Bytes(d.inner.begin(), d.inner.end()) == inner);
        }
        CHECK(p.in->counters().packets == p.out->counters().packets);
        CHECK(p.in->counters().bytes == p.out->counters().bytes);
        CHECK(p.in->counters().last_use == t(2));
        CHECK(p.in->counters().total_drops() == 0);
      }
    }
  }
}

TEST_CASE("ESP: AES-CBC IVs differ per packet and are not the sequence number", "[esp][sa]") {
  Pair p = make_pair(suites()[0], Mode::transport, false);
  const Bytes inner = pattern(32, 1);
  Bytes a = seal(*p.out, Mode::transport, inner);
  Bytes b = seal(*p.out, Mode::transport, inner);
  Bytes iv_a(a.begin() + 8, a.begin() + 24), iv_b(b.begin() + 8, b.begin() + 24);
  CHECK(iv_a != iv_b);
  CHECK(common::to_hex(iv_a).substr(0, 16) != "0000000000000001");
  CHECK(Bytes(a.begin() + 24, a.end()) != Bytes(b.begin() + 24, b.end()));
}

TEST_CASE("ESP: replayed packet dropped and counted", "[esp][sa]") {
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, Mode::tunnel, false);
    const Bytes wire = seal(*p.out, Mode::tunnel, inner_for(Mode::tunnel, 40));
    Bytes rx = wire;
    REQUIRE(p.in->decap(rx, t(1)).ok());
    rx = wire;
    auto d = p.in->decap(rx, t(1));
    CHECK(d.drop == Drop::replay);
    CHECK(p.in->counters().drop(Drop::replay) == 1);
    CHECK(p.in->counters().packets == 1);
  }
}

TEST_CASE("ESP: every truncation is rejected, the replay window untouched", "[esp][sa]") {
  for (const auto& suite : suites()) {
    for (Mode mode : {Mode::tunnel, Mode::transport}) {
      INFO(suite.name << " " << mode_name(mode));
      Pair p = make_pair(suite, mode, true);
      const Bytes wire = seal(*p.out, mode, inner_for(mode, 37));
      for (std::size_t len = 0; len < wire.size(); ++len) {
        Bytes rx(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(len));
        auto d = p.in->decap(rx, t(1));
        REQUIRE_FALSE(d.ok());
        CHECK(d.inner.empty());
      }
      CHECK(p.in->replay().highest() == 0);
      CHECK(p.in->counters().packets == 0);
      CHECK(p.in->counters().drop(Drop::truncated) > 0);
      Bytes rx = wire;
      CHECK(p.in->decap(rx, t(1)).ok());
    }
  }
}

TEST_CASE("ESP: every single-bit flip is rejected; integrity counted, window untouched", "[esp][sa]") {
  for (const auto& suite : suites()) {
    for (bool esn : {false, true}) {
      INFO(suite.name << (esn ? " esn" : ""));
      Pair p = make_pair(suite, Mode::tunnel, esn);
      const Bytes wire = seal(*p.out, Mode::tunnel, inner_for(Mode::tunnel, 29));
      std::uint64_t integrity = 0;
      for (std::size_t byte = 0; byte < wire.size(); ++byte) {
        for (int bit : {0, 7}) {
          Bytes rx = wire;
          rx[byte] ^= std::byte(1 << bit);
          auto d = p.in->decap(rx, t(1));
          REQUIRE_FALSE(d.ok());
          if (byte < 4) {
            CHECK(d.drop == Drop::bad_spi);
          } else if (byte >= 8) {
            CHECK(d.drop == Drop::integrity);
            ++integrity;
          } else {
            // A flipped sequence number is either rejected by the window or by the ICV.
            CHECK((d.drop == Drop::integrity || d.drop == Drop::replay));
            if (d.drop == Drop::integrity) ++integrity;
          }
        }
      }
      CHECK(p.in->counters().drop(Drop::integrity) == integrity);
      CHECK(integrity >= 2 * (wire.size() - 8));
      CHECK(p.in->replay().highest() == 0);
      Bytes rx = wire;
      CHECK(p.in->decap(rx, t(1)).ok());
    }
  }
}

TEST_CASE("ESP: wrong key, wrong SPI, wrong direction, wrong ESN setting", "[esp][sa]") {
  CounterRandom rng;
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, Mode::transport, false);
    const Bytes wire = seal(*p.out, Mode::transport, pattern(50, 9));

    Keys other = keys_for(suite, 0x41);
    auto cfg = config_for(suite, other, esp::Direction::inbound, Mode::transport, false);
    auto wrong = esp::Sa::create(cfg, rng);
    REQUIRE(wrong);
    Bytes rx = wire;
    CHECK(wrong.value()->decap(rx, t(1)).drop == Drop::integrity);

    Keys same = keys_for(suite);
    auto cfg2 = config_for(suite, same, esp::Direction::inbound, Mode::transport, false, 0x1234);
    auto other_spi = esp::Sa::create(cfg2, rng);
    REQUIRE(other_spi);
    rx = wire;
    CHECK(other_spi.value()->decap(rx, t(1)).drop == Drop::bad_spi);

    rx = wire;
    CHECK(p.out->decap(rx, t(1)).drop == Drop::wrong_direction);
    Framed f = frame(*p.in, pattern(10, 1));
    CHECK(p.in->encap(f.buf, f.offset, f.length, 47, t(1)).drop == Drop::wrong_direction);

    // The ESN high bits are authenticated even though they are not sent.
    auto cfg3 = config_for(suite, same, esp::Direction::inbound, Mode::transport, true);
    auto esn_in = esp::Sa::create(cfg3, rng);
    REQUIRE(esn_in);
    esn_in.value()->replay().reset(0x1FFFFFF00ull);  // expects high half 1 next to seq 1
    rx = wire;
    auto d = esn_in.value()->decap(rx, t(1));
    CHECK(d.drop == Drop::integrity);
  }
}

TEST_CASE("ESP: ESN sequence numbers across 2^32 round trip", "[esp][sa][esn]") {
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, Mode::tunnel, true, 128);
    p.out->set_seq_out(0xFFFFFFF0ull);
    p.in->replay().reset(0xFFFFFFF0ull);
    std::vector<Bytes> wires;
    for (int i = 0; i < 40; ++i) wires.push_back(seal(*p.out, Mode::tunnel, inner_for(Mode::tunnel, 20)));
    // Deliver slightly out of order.
    std::swap(wires[10], wires[20]);
    std::swap(wires[15], wires[16]);
    for (auto& w : wires) {
      auto d = p.in->decap(w, t(3));
      REQUIRE(d.ok());
    }
    CHECK(p.in->replay().highest() == 0xFFFFFFF0ull + 40);
  }
}

TEST_CASE("ESP: outbound sequence number never cycles", "[esp][sa]") {
  for (bool esn : {false, true}) {
    Pair p = make_pair(suites()[2], Mode::transport, esn);
    p.out->set_seq_out(esn ? UINT64_MAX - 1 : UINT32_MAX - 1);
    Framed f = frame(*p.out, pattern(10, 1));
    auto a = p.out->encap(f.buf, f.offset, f.length, 47, t(1));
    REQUIRE(a.ok());
    CHECK(a.seq == (esn ? UINT64_MAX : UINT32_MAX));
    Framed g = frame(*p.out, pattern(10, 1));
    CHECK(p.out->encap(g.buf, g.offset, g.length, 47, t(1)).drop == Drop::seq_exhausted);
    CHECK(p.out->counters().drop(Drop::seq_exhausted) == 1);
  }
}

TEST_CASE("ESP: encap refuses buffers without head- or tailroom", "[esp][sa]") {
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, Mode::transport, false);
    const Bytes inner = pattern(33, 2);
    Framed f = frame(*p.out, inner);
    // Headroom one byte short.
    CHECK(p.out->encap(f.buf, f.offset - 1, f.length, 47, t(1)).drop == Drop::no_room);
    // Tailroom one byte short of what this length needs.
    const std::size_t need = p.out->encap_size(inner.size()) - p.out->header_size() - inner.size();
    Bytes small(f.offset + inner.size() + need - 1);
    CHECK(p.out->encap(small, f.offset, inner.size(), 47, t(1)).drop == Drop::no_room);
    Bytes exact(f.offset + inner.size() + need);
    CHECK(p.out->encap(exact, f.offset, inner.size(), 47, t(1)).ok());
    // Length past the end.
    CHECK(p.out->encap(exact, f.offset, exact.size(), 47, t(1)).drop == Drop::no_room);
    CHECK(p.out->seq_out() == 1);  // failed attempts consume no sequence number
  }
}

TEST_CASE("ESP: SA creation validates its configuration", "[esp][sa]") {
  CounterRandom rng;
  Keys k = keys_for(suites()[0]);
  auto c = config_for(suites()[0], k, esp::Direction::inbound, Mode::tunnel, false);
  c.spi = 0;
  CHECK_FALSE(esp::Sa::create(c, rng));
  c = config_for(suites()[0], k, esp::Direction::inbound, Mode::tunnel, false);
  c.integ = common::crypto::IntegId::none;
  CHECK_FALSE(esp::Sa::create(c, rng));
  Bytes short_key = pattern(15, 1);
  c = config_for(suites()[0], k, esp::Direction::inbound, Mode::tunnel, false);
  c.encr_key = short_key;
  CHECK_FALSE(esp::Sa::create(c, rng));
  Keys g = keys_for(suites()[2]);
  c = config_for(suites()[2], g, esp::Direction::inbound, Mode::tunnel, false);
  c.integ = common::crypto::IntegId::hmac_sha256_128;
  c.integ_key = k.integ;
  CHECK_FALSE(esp::Sa::create(c, rng));
}

TEST_CASE("ESP tunnel mode: inbound traffic selector policy", "[esp][sa][policy]") {
  using common::TrafficSelector;
  const auto local = TrafficSelector::from_prefix(*common::Prefix::parse("10.1.0.0/16"));
  const auto remote_tcp80 = TrafficSelector::from_prefix(*common::Prefix::parse("10.2.0.0/24"), 6, 80, 80);
  const auto remote_gre = TrafficSelector::from_prefix(*common::Prefix::parse("10.3.0.7/32"), 47);
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, Mode::tunnel, false, 64, {local}, {remote_tcp80, remote_gre});
    struct Case {
      const char* what;
      Bytes pkt;
      bool allowed;
    };
    const Case cases[] = {
        {"tcp from port 80", ipv4_packet(v4("10.2.0.9"), v4("10.1.2.3"), 6, 80, 5555, 10), true},
        {"tcp from port 81", ipv4_packet(v4("10.2.0.9"), v4("10.1.2.3"), 6, 81, 5555, 10), false},
        {"udp from port 80", ipv4_packet(v4("10.2.0.9"), v4("10.1.2.3"), 17, 80, 5555, 10), false},
        {"source outside", ipv4_packet(v4("10.2.1.9"), v4("10.1.2.3"), 6, 80, 5555, 10), false},
        {"destination outside", ipv4_packet(v4("10.2.0.9"), v4("10.9.2.3"), 6, 80, 5555, 10), false},
        {"gre from the /32", ipv4_packet(v4("10.3.0.7"), v4("10.1.0.1"), 47, 0, 0, 10), true},
        {"gre from next door", ipv4_packet(v4("10.3.0.8"), v4("10.1.0.1"), 47, 0, 0, 10), false},
    };
    std::uint64_t policy_drops = 0;
    for (const auto& c : cases) {
      INFO(c.what);
      Bytes wire = seal(*p.out, Mode::tunnel, c.pkt);
      auto d = p.in->decap(wire, t(1));
      CHECK(d.ok() == c.allowed);
      if (!c.allowed) {
        CHECK(d.drop == Drop::policy);
        ++policy_drops;
      }
    }
    CHECK(p.in->counters().drop(Drop::policy) == policy_drops);
  }
}

TEST_CASE("ESP tunnel mode: inner packet trimmed to its IPv4 length, bad inner dropped", "[esp][sa]") {
  Pair p = make_pair(suites()[3], Mode::tunnel, false);
  // TFC padding after the inner packet (RFC 4303 §2.7) is removed.
  Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1, 2, 12);
  Bytes padded = inner;
  common::append(padded, pattern(23, 0));
  Bytes wire = seal(*p.out, Mode::tunnel, padded);
  auto d = p.in->decap(wire, t(1));
  REQUIRE(d.ok());
  CHECK(Bytes(d.inner.begin(), d.inner.end()) == inner);

  // Announced length beyond the data, bad IHL, not IPv4.
  Bytes longer = inner;
  longer[3] = std::byte(0xff);
  Bytes bad_ihl = inner;
  bad_ihl[0] = std::byte(0x44);
  for (const Bytes* b : {&longer, &bad_ihl}) {
    Bytes w = seal(*p.out, Mode::tunnel, *b);
    CHECK(p.in->decap(w, t(1)).drop == Drop::bad_inner);
  }
  // IPv6 inner (Next Header 41) is not carried.
  Bytes v6 = pattern(60, 3);
  v6[0] = std::byte(0x60);
  Bytes w6 = seal(*p.out, Mode::tunnel, v6);
  CHECK(p.in->decap(w6, t(1)).drop == Drop::bad_next_header);
}

// Packets an honest key holder could send but a receiver must refuse: sealed directly
// with the AEAD so the trailer can be anything.
TEST_CASE("ESP: authenticated packets with bad trailers are refused", "[esp][sa]") {
  const Suite& suite = suites()[2];  // AES-GCM-128
  Keys k = keys_for(suite);
  auto aead = common::crypto::Aead::create(suite.encr, k.encr);
  REQUIRE(aead);
  std::uint32_t seq = 0;
  auto build = [&](Bytes plaintext) {
    ++seq;
    Bytes pkt;
    common::Writer w(pkt);
    w.u32(0xc0ffee01);
    w.u32(seq);
    w.u64(seq);
    std::array<std::byte, 16> tag{};
    Bytes aad(pkt.begin(), pkt.begin() + 8);
    Bytes iv(pkt.begin() + 8, pkt.begin() + 16);
    REQUIRE(aead->seal(iv, aad, plaintext, tag));
    common::append(pkt, plaintext);
    common::append(pkt, tag);
    return pkt;
  };
  for (Mode mode : {Mode::tunnel, Mode::transport}) {
    INFO(mode_name(mode));
    Pair p = make_pair(suite, mode, false);
    seq = 0;
    const Bytes ip = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1, 2, 2);  // 30 bytes
    auto with_trailer = [&](std::initializer_list<std::uint8_t> tail) {
      Bytes b = ip;
      for (auto x : tail) b.push_back(std::byte(x));
      return b;
    };
    struct Case {
      const char* what;
      Bytes plaintext;
      Drop want;
    };
    const Case cases[] = {
        {"good", with_trailer({0, 4}), Drop::none},
        {"pad bytes not 1,2,..", with_trailer({1, 3, 2, 4}), Drop::bad_padding},
        {"pad length beyond payload", with_trailer({200, 4}), Drop::bad_padding},
        {"dummy packet", with_trailer({0, 59}), Drop::dummy},
        {"good with padding", with_trailer({1, 2, 3, 4, 5, 6, 6, 4}), Drop::none},
        {"only a trailer", Bytes{std::byte{0}, std::byte{4}}, mode == Mode::tunnel ? Drop::bad_inner : Drop::none},
        {"next header tcp", with_trailer({0, 6}), mode == Mode::tunnel ? Drop::bad_next_header : Drop::none},
    };
    for (const auto& c : cases) {
      INFO(c.what);
      Bytes pkt = build(c.plaintext);
      auto d = p.in->decap(pkt, t(1));
      CHECK(d.drop == c.want);
      // Authenticated: the window moved even when the trailer was refused.
      CHECK(p.in->replay().highest() == seq);
    }
  }
}
