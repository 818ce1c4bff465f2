// ESP transport mode over IPv4 (esp/transport.h): the GRE packet of a site-to-site tunnel
// goes in with its IPv4 header in front of the ESP header and comes back out the same.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "esp/sad.h"
#include "esp/transport.h"
#include "esp_test_util.h"
#include "gre/pcap_util.h"

using namespace esp_test;
using esp::Drop;
using esp::Mode;

namespace {

constexpr std::uint8_t kGre = 47;

std::uint16_t rd16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8) | std::to_integer<unsigned>(b[at + 1]));
}
std::uint32_t rd32(const Bytes& b, std::size_t at) { return (std::uint32_t(rd16(b, at)) << 16) | rd16(b, at + 2); }

// The overlay's buffer layout: room for the ESP header in front, the trailer behind.
struct Out {
  Bytes buf;
  std::size_t offset;
};
Out place(const Bytes& pkt) {
  Out o{Bytes(esp::Sa::kMaxHeader + pkt.size() + esp::Sa::kMaxTrailer, std::byte{0xee}), esp::Sa::kMaxHeader};
  std::copy(pkt.begin(), pkt.end(), o.buf.begin() + static_cast<std::ptrdiff_t>(o.offset));
  return o;
}

common::TrafficSelector host(const char* a, std::uint8_t proto) {
  return common::TrafficSelector::from_prefix(common::Prefix{*common::IpAddr::parse(a), 32}, proto);
}

// What a receiver gets: the packet in a buffer with some headroom (a raw socket's slot).
struct In {
  Bytes buf;
  std::size_t at;
};
In receive(common::ByteSpan wire, std::size_t headroom = 32) {
  In in{Bytes(headroom), headroom};
  common::append(in.buf, wire);
  return in;
}

// Seals pkt with sa_out (transport mode), then has sa_in open the ESP part as ESP-in-UDP
// arrives: in a buffer with headroom, no outer header. `d.inner` points into `rx.buf`.
struct Opened {
  In rx;
  esp::DecapResult d;
  common::MutByteSpan room() { return common::MutByteSpan(rx.buf); }
};
Opened seal_open(esp::Sa& sa_out, esp::Sa& sa_in, const Bytes& pkt) {
  Out o = place(pkt);
  auto e = esp::transport::encap_ipv4(sa_out, o.buf, o.offset, pkt.size(), t(1));
  REQUIRE(e.ok());
  Opened r{receive(e.esp.packet), {}};
  r.d = sa_in.decap(r.room().subspan(r.rx.at, e.esp.packet.size()), t(1));
  REQUIRE(r.d.ok());
  return r;
}

}  // namespace

TEST_CASE("transport mode: ESP goes after the IPv4 header and comes off again, every suite", "[esp][transport]") {
  const std::uint32_t a = v4("192.0.2.1"), b = v4("198.51.100.2");
  for (const auto& suite : suites()) {
    for (std::size_t payload : {0u, 1u, 57u, 1400u}) {
      DYNAMIC_SECTION(suite.name << ", " << payload << " bytes") {
        Pair p = make_pair(suite, Mode::transport, false, 64, {host("198.51.100.2", kGre)}, {host("192.0.2.1", kGre)});
        REQUIRE(p.out);
        REQUIRE(p.in);
        const Bytes gre = ipv4_packet(a, b, kGre, 0, 0x0800, payload);
        Out o = place(gre);
        auto e = esp::transport::encap_ipv4(*p.out, o.buf, o.offset, gre.size(), t(1));
        REQUIRE(e.ok());
        const Bytes wire(e.ipv4.begin(), e.ipv4.end());
        // The header: same addresses and TTL, protocol 50, length and checksum rewritten.
        CHECK(wire.size() == 20 + p.out->encap_size(gre.size() - 20));
        CHECK(std::to_integer<int>(wire[0]) == 0x45);
        CHECK(rd16(wire, 2) == wire.size());
        CHECK(std::to_integer<int>(wire[8]) == 64);
        CHECK(std::to_integer<int>(wire[9]) == 50);
        CHECK(rd32(wire, 12) == a);
        CHECK(rd32(wire, 16) == b);
        CHECK(esp::transport::ipv4_header_checksum(common::ByteSpan(wire.data(), 20)) == 0);
        CHECK(rd32(wire, 20) == p.out->spi());
        CHECK(e.esp.packet.data() == e.ipv4.data() + 20);

        auto outer = esp::transport::parse_outer(wire);
        REQUIRE(outer.ok);
        CHECK(outer.outer.esp_offset == 20);
        CHECK(outer.outer.esp_length == wire.size() - 20);

        In in = receive(wire);
        common::MutByteSpan room(in.buf);
        auto d = p.in->decap(room.subspan(in.at + 20, wire.size() - 20), t(1));
        REQUIRE(d.ok());
        CHECK(d.next_header == kGre);
        auto pkt = esp::transport::prepend_ipv4(*p.in, room, d.inner, d.next_header, {a, b, 63, 0});
        REQUIRE(pkt.size() == gre.size());
        const Bytes back(pkt.begin(), pkt.end());
        // Rebuilt header: addresses, protocol, length, TTL from the outer packet, valid checksum.
        CHECK(rd32(back, 12) == a);
        CHECK(rd32(back, 16) == b);
        CHECK(std::to_integer<int>(back[9]) == kGre);
        CHECK(rd16(back, 2) == gre.size());
        CHECK(std::to_integer<int>(back[8]) == 63);
        CHECK(esp::transport::ipv4_header_checksum(common::ByteSpan(back.data(), 20)) == 0);
        CHECK(std::equal(back.begin() + 20, back.end(), gre.begin() + 20));
      }
    }
  }
}

TEST_CASE("transport mode behind a NAT: the rebuilt header carries the selector addresses", "[esp][transport]") {
  // The peer 192.0.2.2 sits behind a NAT that shows it as 203.0.113.9 (RFC 7296 §2.23.1):
  // the outer source is the NAT's, the GRE tunnel expects the peer's own address.
  const auto& suite = suites()[2];
  Pair p = make_pair(suite, Mode::transport, false, 64, {host("198.51.100.1", kGre)}, {host("192.0.2.2", kGre)});
  const Bytes gre = ipv4_packet(v4("192.0.2.2"), v4("198.51.100.1"), kGre, 0, 0x0800, 100);
  // ESP in UDP carries only the ESP part; the receiver knows the outer (NAT) address only.
  Opened op = seal_open(*p.out, *p.in, gre);
  auto pkt = esp::transport::prepend_ipv4(*p.in, op.room(), op.d.inner, op.d.next_header,
                                          {v4("203.0.113.9"), v4("198.51.100.1"), 64, 0});
  REQUIRE(!pkt.empty());
  const Bytes back(pkt.begin(), pkt.end());
  CHECK(rd32(back, 12) == v4("192.0.2.2"));
  CHECK(rd32(back, 16) == v4("198.51.100.1"));
  CHECK(std::equal(back.begin(), back.begin() + 20, gre.begin()) == false);  // id/TTL differ
  CHECK(std::equal(back.begin() + 20, back.end(), gre.begin() + 20));
}

TEST_CASE("transport mode: the inbound policy check refuses what the selectors do not allow", "[esp][transport]") {
  const auto& suite = suites()[0];
  // Selectors: GRE only, between two ranges (so the outer addresses are used).
  auto range = [](const char* net, std::uint8_t proto) {
    return common::TrafficSelector::from_prefix(common::Prefix{*common::IpAddr::parse(net), 24}, proto);
  };
  Pair p = make_pair(suite, Mode::transport, false, 64, {range("198.51.100.0", kGre)}, {range("192.0.2.0", kGre)});
  SECTION("a UDP payload under a GRE-only SA") {
    const Bytes udp = ipv4_packet(v4("192.0.2.1"), v4("198.51.100.1"), 17, 1000, 2000, 20);
    Opened op = seal_open(*p.out, *p.in, udp);
    CHECK(esp::transport::prepend_ipv4(*p.in, op.room(), op.d.inner, op.d.next_header,
                                       {v4("192.0.2.1"), v4("198.51.100.1"), 64, 0})
              .empty());
    CHECK(p.in->counters().drop(Drop::policy) == 1);
  }
  SECTION("GRE from an address outside the peer's selector") {
    const Bytes gre = ipv4_packet(v4("192.0.2.1"), v4("198.51.100.1"), kGre, 0, 0x0800, 20);
    Opened op = seal_open(*p.out, *p.in, gre);
    CHECK(esp::transport::prepend_ipv4(*p.in, op.room(), op.d.inner, op.d.next_header,
                                       {v4("203.0.113.1"), v4("198.51.100.1"), 64, 0})
              .empty());
    CHECK(!esp::transport::prepend_ipv4(*p.in, op.room(), op.d.inner, op.d.next_header,
                                        {v4("192.0.2.77"), v4("198.51.100.1"), 64, 0})
               .empty());
    CHECK(p.in->counters().drop(Drop::policy) == 1);
  }
  SECTION("no room in front of the payload") {
    const Bytes gre = ipv4_packet(v4("192.0.2.1"), v4("198.51.100.1"), kGre, 0, 0x0800, 20);
    Out o = place(gre);
    auto e = esp::transport::encap_ipv4(*p.out, o.buf, o.offset, gre.size(), t(1));
    REQUIRE(e.ok());
    Bytes wire(e.esp.packet.begin(), e.esp.packet.end());
    auto d = p.in->decap(wire, t(1));
    REQUIRE(d.ok());
    // CBC: 8 + 16 bytes of ESP header and IV in front: enough. A buffer starting 4 bytes
    // before the payload is not.
    common::MutByteSpan tight(d.inner.data() - 4, d.inner.size() + 4);
    CHECK(esp::transport::prepend_ipv4(*p.in, tight, d.inner, d.next_header, {v4("192.0.2.1"), v4("198.51.100.1"), 64, 0}).empty());
    CHECK(p.in->counters().drop(Drop::no_room) == 1);
    common::MutByteSpan whole(wire);
    CHECK(esp::transport::prepend_ipv4(*p.in, whole, d.inner, d.next_header, {v4("192.0.2.1"), v4("198.51.100.1"), 64, 0}).size() == gre.size());
  }
}

TEST_CASE("transport mode encap refuses what it cannot protect", "[esp][transport]") {
  Pair p = make_pair(suites()[2], Mode::transport, false);
  const Bytes gre = ipv4_packet(v4("192.0.2.1"), v4("198.51.100.1"), kGre, 0, 0x0800, 40);
  SECTION("a fragment") {
    Bytes frag = gre;
    frag[6] = std::byte{0x20};  // MF
    Out o = place(frag);
    CHECK(esp::transport::encap_ipv4(*p.out, o.buf, o.offset, frag.size(), t(1)).esp.drop == Drop::bad_inner);
  }
  SECTION("no headroom") {
    Bytes buf(gre.size() + 100);
    std::copy(gre.begin(), gre.end(), buf.begin() + 4);
    CHECK(esp::transport::encap_ipv4(*p.out, buf, 4, gre.size(), t(1)).esp.drop == Drop::no_room);
  }
  SECTION("every truncated length") {
    for (std::size_t n = 0; n < gre.size(); ++n) {
      Out o = place(gre);
      auto e = esp::transport::encap_ipv4(*p.out, o.buf, o.offset, n, t(1));
      CHECK(e.esp.drop == Drop::bad_inner);
    }
  }
  SECTION("protocol 59: the peer would take it for a dummy packet") {
    Bytes none = gre;
    none[9] = std::byte{59};
    Out o = place(none);
    CHECK(esp::transport::encap_ipv4(*p.out, o.buf, o.offset, none.size(), t(1)).esp.drop == Drop::bad_inner);
  }
  SECTION("not IPv4") {
    Bytes v6 = gre;
    v6[0] = std::byte{0x60};
    Out o = place(v6);
    CHECK(esp::transport::encap_ipv4(*p.out, o.buf, o.offset, v6.size(), t(1)).esp.drop == Drop::bad_inner);
  }
  CHECK(p.out->seq_out() == 0);  // nothing consumed a sequence number
}

TEST_CASE("parse_outer: raw-socket packets", "[esp][transport]") {
  Pair p = make_pair(suites()[2], Mode::transport, false);
  const Bytes gre = ipv4_packet(v4("192.0.2.1"), v4("198.51.100.1"), kGre, 0, 0x0800, 40);
  Out o = place(gre);
  auto e = esp::transport::encap_ipv4(*p.out, o.buf, o.offset, gre.size(), t(1));
  REQUIRE(e.ok());
  const Bytes wire(e.ipv4.begin(), e.ipv4.end());
  for (std::size_t n = 0; n < 20; ++n) {
    auto r = esp::transport::parse_outer(common::ByteSpan(wire.data(), n));
    CHECK_FALSE(r.ok);
    CHECK(r.error == esp::transport::OuterError::malformed);
  }
  // Shorter than its Total Length: malformed; longer (link padding): the ESP part stops there.
  CHECK_FALSE(esp::transport::parse_outer(common::ByteSpan(wire.data(), wire.size() - 1)).ok);
  Bytes padded = wire;
  padded.resize(wire.size() + 6);
  auto r = esp::transport::parse_outer(padded);
  REQUIRE(r.ok);
  CHECK(r.outer.esp_length == wire.size() - 20);
  Bytes gre_only = gre;
  CHECK(esp::transport::parse_outer(gre_only).error == esp::transport::OuterError::not_esp);
  Bytes frag = wire;
  frag[7] = std::byte{0x10};  // fragment offset 16
  CHECK(esp::transport::parse_outer(frag).error == esp::transport::OuterError::fragment);
  Bytes opts = wire;  // IHL 6: a header with 4 bytes of options
  opts.insert(opts.begin() + 20, 4, std::byte{1});
  opts[0] = std::byte{0x46};
  opts[2] = std::byte(std::uint8_t((opts.size() >> 8) & 0xff));
  opts[3] = std::byte(std::uint8_t(opts.size() & 0xff));
  auto ro = esp::transport::parse_outer(opts);
  REQUIRE(ro.ok);
  CHECK(ro.outer.esp_offset == 24);
}

TEST_CASE("transport mode on the wire, decrypted by tshark", "[esp][transport][tshark]") {
  if (!testutil::have_tshark()) {
    WARN("tshark not installed: skipped");
    return;
  }
  // AES-CBC-256/HMAC-SHA-256-128 and AES-GCM-256 are what tshark 4.0 decrypts.
  const char* enc_names[] = {"AES-CBC [RFC3602]", "AES-GCM with 16 octet ICV [RFC4106]"};
  const char* auth_names[] = {"HMAC-SHA-256-128 [RFC4868]", "NULL"};
  const esp_test::Suite* chosen[] = {&suites()[0], &suites()[3]};
  for (int i = 0; i < 2; ++i) {
    const auto& suite = *chosen[i];
    DYNAMIC_SECTION(suite.name) {
      Pair p = make_pair(suite, Mode::transport, false);
      // A GRE packet (RFC 2784, protocol 0x0800) carrying an inner ICMP-ish IPv4 packet.
      Bytes inner = ipv4_packet(v4("10.0.0.2"), v4("10.0.1.2"), 1, 0x0800, 0, 12);
      Bytes gre;
      common::Writer w(gre);
      w.u8(0x45);
      w.u8(0);
      w.u16(static_cast<std::uint16_t>(20 + 4 + inner.size()));
      w.u32(0);
      w.u8(255);
      w.u8(kGre);
      w.u16(0);
      w.u32(v4("192.0.2.1"));
      w.u32(v4("198.51.100.1"));
      w.u16(0);
      w.u16(0x0800);
      common::append(gre, inner);
      Out o = place(gre);
      auto e = esp::transport::encap_ipv4(*p.out, o.buf, o.offset, gre.size(), t(1));
      REQUIRE(e.ok());
      const std::string dir = "/tmp/swanless-test-" + std::to_string(::getpid()) + "-wsconf";
      std::filesystem::create_directories(dir);
      Keys k = keys_for(suite);
      std::ofstream(dir + "/esp_sa") << "\"IPv4\",\"*\",\"*\",\"0xc0ffee01\",\"" << enc_names[i] << "\",\"0x"
                                     << common::to_hex(k.encr) << "\",\"" << auth_names[i] << "\",\""
                                     << (k.integ.empty() ? "" : "0x" + common::to_hex(k.integ)) << "\"\n";
      const std::string pcap = testutil::temp_pcap("transport");
      REQUIRE(testutil::write_pcap(pcap, {Bytes(e.ipv4.begin(), e.ipv4.end())}));
      const std::string cmd = "WIRESHARK_CONFIG_DIR=" + dir + " /usr/bin/tshark -n -r '" + pcap +
                              "' -o ip.check_checksum:TRUE -o esp.enable_encryption_decode:TRUE"
                              " -o esp.enable_authentication_check:TRUE -V 2>&1";
      std::string out;
      if (FILE* f = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
        ::pclose(f);
      }
      std::filesystem::remove_all(dir);
      std::remove(pcap.c_str());
      INFO(out);
      CHECK(out.find("Protocol: Encap Security Payload (50)") != std::string::npos);
      CHECK(out.find("[Header checksum status: Good]") != std::string::npos);
      CHECK(out.find("ESP SPI: 0xc0ffee01") != std::string::npos);
      CHECK(out.find("Generic Routing Encapsulation (IP)") != std::string::npos);
      CHECK(out.find("Src: 10.0.0.2, Dst: 10.0.1.2") != std::string::npos);
      CHECK(out.find("Good: True") != std::string::npos);  // ICV / tag checked
    }
  }
}

TEST_CASE("transport SA with GRE selectors: only GRE between the two gateways selects it", "[esp][transport]") {
  esp::Sad sad;
  CounterRandom rng;
  Keys k = keys_for(suites()[2]);
  auto cfg = config_for(suites()[2], k, esp::Direction::outbound, Mode::transport, false, 0x1001);
  cfg.local_ts = {host("198.51.100.1", kGre)};
  cfg.remote_ts = {host("192.0.2.2", kGre)};
  auto sa = esp::Sa::create(cfg, rng);
  REQUIRE(sa);
  REQUIRE(sad.add_outbound(std::move(sa.value())));
  auto select = [&](const char* src, const char* dst, std::uint8_t proto) {
    const Bytes pkt = ipv4_packet(v4(src), v4(dst), proto, 1000, 2000, 8);
    auto h = esp::ip::parse_ipv4(pkt);
    REQUIRE(h);
    return sad.select_outbound(esp::ip::flow_of(*h, pkt));
  };
  CHECK(select("198.51.100.1", "192.0.2.2", kGre) != nullptr);
  CHECK(select("198.51.100.1", "192.0.2.2", 17) == nullptr);   // other traffic of the gateways
  CHECK(select("198.51.100.1", "192.0.2.2", 50) == nullptr);
  CHECK(select("198.51.100.1", "192.0.2.3", kGre) == nullptr);  // GRE to someone else
  CHECK(select("198.51.100.9", "192.0.2.2", kGre) == nullptr);  // GRE from another address
}
