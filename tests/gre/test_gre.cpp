#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/bytes.h"
#include "gre/header.h"
#include "gre/ipv4.h"
#include "gre/pcap_util.h"
#include "gre/tunnel.h"

using common::Bytes;
using common::ByteSpan;
using common::from_hex;
using common::to_hex;
using namespace gre;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kLocal = ipv4(10, 44, 6, 1);   // our underlay address (seed)
constexpr std::uint32_t kRemote = ipv4(10, 44, 7, 1);  // the data centre's GRE source

// The keepalive from the seed write-up's tcpdump, rebuilt byte by byte:
//   IP (tos 0xc0, ttl 255, id 38364, proto GRE, length 48) 10.44.7.1 > 10.44.6.1:
//     GREv0, Flags [none], proto 0x0800
//     IP (tos 0xc0, ttl 255, id 34625, proto GRE, length 24) 10.44.6.1 > 10.44.7.1:
//       GREv0, Flags [none], proto 0
// Header checksums computed independently (Python) for these fields.
const char* kSeedKeepaliveHex =
    "45c0003095dc0000ff2f03a90a2c07010a2c0601"  // outer IPv4
    "00000800"                                  // GRE, no flags, IPv4
    "45c0001887410000ff2f125c0a2c06010a2c0701"  // inner IPv4 10.44.6.1 > 10.44.7.1
    "00000000";                                 // GRE, no flags, protocol 0

TimePoint t0() { return TimePoint{} + 1000s; }

TunnelConfig cfg_local() {
  TunnelConfig c;
  c.local = kLocal;
  c.remote = kRemote;
  return c;
}

TunnelConfig mirrored(TunnelConfig c) {
  std::swap(c.local, c.remote);
  return c;
}

// An IPv4 packet with the given addresses/protocol and payload.
Bytes make_ip(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, ByteSpan payload, std::uint8_t ttl = 64) {
  Ipv4Header h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.ttl = ttl;
  return build_ipv4(h, payload);
}

// Outer packet from `src` to `dst` carrying GRE(proto) + inner.
Bytes make_outer(std::uint32_t src, std::uint32_t dst, GreHeader gh, ByteSpan inner) {
  return make_ip(src, dst, kIpProtoGre, build_gre(gh, inner), 255);
}

Bytes keepalive_inner(std::uint32_t src, std::uint32_t dst, std::uint8_t proto = kIpProtoGre) {
  GreHeader g;
  g.protocol = kGreProtoKeepalive;
  return make_ip(src, dst, proto, build_gre(g, {}), 255);
}

Bytes udp_payload_packet() {
  // 10.44.4.5 > 239.1.2.3 UDP 5000 > 6000, "hello", checksum 0 (none)
  Bytes udp = from_hex("1388 1770 000d 0000 68656c6c6f");
  return make_ip(ipv4(10, 44, 4, 5), ipv4(239, 1, 2, 3), kIpProtoUdp, udp);
}

}  // namespace

TEST_CASE("ipv4: seed keepalive headers parse with valid checksums", "[gre][ipv4]") {
  Bytes pkt = from_hex(kSeedKeepaliveHex);
  auto v = parse_ipv4(pkt);
  REQUIRE(v.ok());
  CHECK(v->header.tos == 0xc0);
  CHECK(v->header.ttl == 255);
  CHECK(v->header.id == 38364);
  CHECK(v->header.total_length == 48);
  CHECK(v->header.protocol == kIpProtoGre);
  CHECK(v->header.src == kRemote);
  CHECK(v->header.dst == kLocal);
  CHECK(v->header.checksum == 0x03a9);
  CHECK(v->payload.size() == 28);

  // Rebuilding the same fields gives the same bytes (checksum included).
  Ipv4Header h = v->header;
  Bytes again = build_ipv4(h, v->payload);
  CHECK(to_hex(again) == to_hex(pkt));
}

TEST_CASE("ipv4: every truncation and a flipped bit are rejected", "[gre][ipv4]") {
  Bytes pkt = from_hex(kSeedKeepaliveHex);
  for (std::size_t n = 0; n < pkt.size(); ++n) {
    INFO("length " << n);
    CHECK_FALSE(parse_ipv4(ByteSpan(pkt).first(n)).ok());
  }
  Bytes bad = pkt;
  bad[8] ^= std::byte{1};  // TTL
  auto r = parse_ipv4(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == common::Errc::integrity);
  Bytes v6 = pkt;
  v6[0] = std::byte{0x65};
  CHECK(parse_ipv4(v6).error().code == common::Errc::malformed);
  // Trailing bytes beyond total length (link padding) are not part of the payload.
  Bytes padded = pkt;
  padded.push_back(std::byte{0xee});
  auto p = parse_ipv4(padded);
  REQUIRE(p.ok());
  CHECK(p->payload.size() == 28);
}

TEST_CASE("gre header: every C/K/S combination round-trips", "[gre][header]") {
  const Bytes payload = from_hex("45000014 0000 0000 4001 0000 0a000001 0a000002 abcdef");
  for (int mask = 0; mask < 8; ++mask) {
    GreHeader h;
    h.checksum_present = mask & 1;
    if (mask & 2) h.key = 0xdeadbeef;
    if (mask & 4) h.sequence = 0x01020304;
    INFO("mask " << mask);
    Bytes pkt = build_gre(h, payload);
    REQUIRE(pkt.size() == 4 + 4 * ((mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1)) + payload.size());
    auto v = parse_gre(pkt);
    REQUIRE(v.ok());
    CHECK(v->header == h);
    CHECK(to_hex(v->payload) == to_hex(payload));
    // Flags word exactly as RFC 2784/2890 place the bits.
    const unsigned flags = (std::to_integer<unsigned>(pkt[0]) << 8) | std::to_integer<unsigned>(pkt[1]);
    CHECK(flags == ((mask & 1 ? 0x8000u : 0) | (mask & 2 ? 0x2000u : 0) | (mask & 4 ? 0x1000u : 0)));
    for (std::size_t n = 0; n < h.size(); ++n) {
      INFO("truncated to " << n);
      auto t = parse_gre(ByteSpan(pkt).first(n));
      REQUIRE_FALSE(t.ok());
      CHECK(t.error().code == common::Errc::truncated);
    }
  }
}

TEST_CASE("gre header: known bytes with checksum, key and sequence", "[gre][header]") {
  GreHeader h;
  h.checksum_present = true;
  h.key = 0x00000064;
  h.sequence = 7;
  Bytes pkt = build_gre(h, from_hex("0102"));
  // C|K|S = 0xb000, proto 0x0800; checksum = ~(0xb000 + 0x0800 + 0x0064 + 0x0007 + 0x0102)
  //  = ~0xb96d = 0x4692
  CHECK(to_hex(pkt) == "b000080046920000000000640000000701" "02");
  auto v = parse_gre(pkt);
  REQUIRE(v.ok());
  CHECK(v->header.checksum == 0x4692);
}

TEST_CASE("gre header: checksum mismatch, version and RFC 1701 bits rejected", "[gre][header]") {
  GreHeader h;
  h.checksum_present = true;
  Bytes pkt = build_gre(h, from_hex("45000014aabbccdd"));
  REQUIRE(parse_gre(pkt).ok());
  for (std::size_t i = 0; i < pkt.size(); ++i) {
    if (i < 2) continue;  // flipping flag bits changes the layout, tested below
    Bytes bad = pkt;
    bad[i] ^= std::byte{0x10};
    INFO("byte " << i);
    auto r = parse_gre(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == common::Errc::integrity);
  }
  Bytes ver = from_hex("00010800");
  CHECK(parse_gre(ver).error().code == common::Errc::unsupported);
  Bytes routing = from_hex("40000800");
  CHECK(parse_gre(routing).error().code == common::Errc::unsupported);
  Bytes strict = from_hex("08000800");
  CHECK(parse_gre(strict).error().code == common::Errc::unsupported);
  // Bits 5-12 are ignored on receipt (RFC 2784 §2.3).
  Bytes ignored = from_hex("07f80800");
  CHECK(parse_gre(ignored).ok());
}

TEST_CASE("tunnel: the seed's keepalive is reflected as its inner packet", "[gre][keepalive]") {
  Tunnel t(cfg_local(), t0());
  Bytes pkt = from_hex(kSeedKeepaliveHex);
  Decap d = t.decap(pkt, t0());
  REQUIRE(d.kind == DecapKind::reflect);
  CHECK(to_hex(d.packet) == to_hex(ByteSpan(pkt).subspan(24)));
  CHECK(t.status().counters.keepalives_answered == 1);
  CHECK(t.status().counters.drops_total() == 0);
  CHECK(t.status().counters.packets_in == 0);
  // The reflected packet is what the far end expects back: 10.44.6.1 > 10.44.7.1, GRE.
  auto back = parse_ipv4(d.packet);
  REQUIRE(back.ok());
  CHECK(back->header.src == kLocal);
  CHECK(back->header.dst == kRemote);
}

TEST_CASE("tunnel: keepalive-shaped packets with wrong endpoints or protocol are not reflected", "[gre][keepalive]") {
  Tunnel t(cfg_local(), t0());
  GreHeader gh;
  struct Case {
    std::uint32_t src, dst;
    std::uint8_t proto;
    DropReason why;
  } cases[] = {
      {ipv4(198, 51, 100, 7), kRemote, kIpProtoGre, DropReason::keepalive_wrong_src},
      {kLocal, ipv4(203, 0, 113, 9), kIpProtoGre, DropReason::keepalive_wrong_dst},
      {ipv4(198, 51, 100, 7), ipv4(203, 0, 113, 9), kIpProtoGre, DropReason::keepalive_wrong_src},
      {kLocal, kRemote, kIpProtoUdp, DropReason::keepalive_wrong_protocol},
      {kRemote, kLocal, kIpProtoGre, DropReason::keepalive_wrong_src},  // reversed
  };
  std::uint64_t total = 0;
  for (const auto& c : cases) {
    Bytes outer = make_outer(kRemote, kLocal, gh, keepalive_inner(c.src, c.dst, c.proto));
    Decap d = t.decap(outer, t0());
    INFO(to_string(c.why));
    CHECK(d.kind == DecapKind::drop);
    CHECK(d.reason == c.why);
    CHECK(d.packet.empty());
    ++total;
  }
  CHECK(t.status().counters.keepalives_answered == 0);
  CHECK(t.status().counters.drops_total() == total);
  CHECK(t.status().counters.drop(DropReason::keepalive_wrong_src) == 3);
  CHECK(t.status().counters.drop(DropReason::keepalive_wrong_dst) == 1);
  CHECK(t.status().counters.drop(DropReason::keepalive_wrong_protocol) == 1);

  // Right endpoints but the inner GRE header is garbage.
  Bytes junk_inner = make_ip(kLocal, kRemote, kIpProtoGre, from_hex("0001"));
  CHECK(t.decap(make_outer(kRemote, kLocal, gh, junk_inner), t0()).reason == DropReason::keepalive_malformed);
}

TEST_CASE("tunnel: keepalive=off drops keepalives, counted", "[gre][keepalive]") {
  TunnelConfig c = cfg_local();
  c.keepalive = KeepaliveMode::off;
  Tunnel t(c, t0());
  Decap d = t.decap(from_hex(kSeedKeepaliveHex), t0());
  CHECK(d.kind == DecapKind::drop);
  CHECK(d.reason == DropReason::keepalive_disabled);
  CHECK(t.status().counters.drop(DropReason::keepalive_disabled) == 1);
}

TEST_CASE("tunnel: outer checks", "[gre][decap]") {
  Tunnel t(cfg_local(), t0());
  GreHeader gh;
  Bytes inner = udp_payload_packet();
  CHECK(t.decap(make_outer(ipv4(10, 9, 9, 9), kLocal, gh, inner), t0()).reason == DropReason::outer_wrong_src);
  CHECK(t.decap(make_outer(kRemote, ipv4(10, 9, 9, 9), gh, inner), t0()).reason == DropReason::outer_wrong_dst);
  CHECK(t.decap(make_ip(kRemote, kLocal, kIpProtoUdp, inner), t0()).reason == DropReason::outer_not_gre);
  Bytes frag = make_outer(kRemote, kLocal, gh, inner);
  {
    Ipv4Header h = parse_ipv4(frag)->header;
    h.flags_fragment = kIpv4FlagMf;
    Bytes payload(frag.begin() + 20, frag.end());
    frag = build_ipv4(h, payload);
  }
  CHECK(t.decap(frag, t0()).reason == DropReason::outer_fragment);
  Bytes short_pkt = from_hex("4500");
  CHECK(t.decap(short_pkt, t0()).reason == DropReason::outer_malformed);
  GreHeader v6;
  v6.protocol = 0x86dd;
  CHECK(t.decap(make_outer(kRemote, kLocal, v6, inner), t0()).reason == DropReason::gre_unknown_protocol);
  CHECK(t.decap(make_outer(kRemote, kLocal, gh, from_hex("4500")), t0()).reason == DropReason::inner_malformed);
  Bytes bad_csum = make_outer(kRemote, kLocal, GreHeader{true, {}, {}, kGreProtoIpv4, 0}, inner);
  bad_csum.back() ^= std::byte{0xff};  // inner payload byte: GRE checksum no longer matches
  CHECK(t.decap(bad_csum, t0()).reason == DropReason::gre_bad_checksum);
  CHECK(t.status().counters.drops_total() == 8);
  CHECK(t.status().counters.packets_in == 0);
}

TEST_CASE("tunnel: ordinary inner packets are delivered", "[gre][decap]") {
  Tunnel t(cfg_local(), t0());
  Bytes inner = udp_payload_packet();
  Bytes outer = make_outer(kRemote, kLocal, GreHeader{}, inner);
  Decap d = t.decap(outer, t0());  // d.packet is a view into outer
  REQUIRE(d.kind == DecapKind::deliver);
  CHECK(to_hex(d.packet) == to_hex(inner));
  CHECK(t.status().counters.packets_in == 1);
  CHECK(t.status().counters.bytes_in == inner.size());
}

TEST_CASE("tunnel: keys must match both ways", "[gre][key]") {
  TunnelConfig c = cfg_local();
  c.key = 42;
  Tunnel keyed(c, t0());
  Tunnel plain(cfg_local(), t0());
  Bytes inner = udp_payload_packet();
  GreHeader k42;
  k42.key = 42;
  GreHeader k43;
  k43.key = 43;
  CHECK(keyed.decap(make_outer(kRemote, kLocal, k42, inner), t0()).kind == DecapKind::deliver);
  CHECK(keyed.decap(make_outer(kRemote, kLocal, k43, inner), t0()).reason == DropReason::gre_key_mismatch);
  CHECK(keyed.decap(make_outer(kRemote, kLocal, GreHeader{}, inner), t0()).reason == DropReason::gre_key_mismatch);
  CHECK(plain.decap(make_outer(kRemote, kLocal, k42, inner), t0()).reason == DropReason::gre_key_mismatch);
}

TEST_CASE("tunnel: encap in place and decap at the far end", "[gre][encap]") {
  for (int mask = 0; mask < 8; ++mask) {
    TunnelConfig c = cfg_local();
    c.checksum = mask & 1;
    if (mask & 2) c.key = 0x0a0b0c0d;
    c.sequence = mask & 4;
    c.ttl = 200;
    c.tos = 0x10;
    Tunnel us(c, t0());
    Tunnel peer(mirrored(c), t0());
    INFO("mask " << mask);
    Bytes inner = udp_payload_packet();
    const std::size_t headroom = 64;
    Bytes buf(headroom + inner.size() + 16);
    std::copy(inner.begin(), inner.end(), buf.begin() + headroom);
    auto out = us.encap(buf, headroom, inner.size());
    REQUIRE(out.size() == us.overhead() + inner.size());
    CHECK(out.data() + out.size() == buf.data() + headroom + inner.size());  // no copy of the inner bytes
    auto ip = parse_ipv4(out);
    REQUIRE(ip.ok());
    CHECK(ip->header.src == kLocal);
    CHECK(ip->header.dst == kRemote);
    CHECK(ip->header.ttl == 200);
    CHECK(ip->header.tos == 0x10);
    CHECK(ip->header.protocol == kIpProtoGre);
    auto g = parse_gre(ip->payload);
    REQUIRE(g.ok());
    CHECK(g->header.checksum_present == c.checksum);
    CHECK(g->header.key == c.key);
    CHECK(g->header.sequence.has_value() == c.sequence);
    Decap d = peer.decap(out, t0());
    REQUIRE(d.kind == DecapKind::deliver);
    CHECK(to_hex(d.packet) == to_hex(inner));
    CHECK(us.status().counters.packets_out == 1);
    CHECK(us.status().counters.bytes_out == inner.size());
  }
  Tunnel t(cfg_local(), t0());
  Bytes small(10);
  CHECK(t.encap(small, 4, 6).empty());
  CHECK(t.status().counters.drop(DropReason::encap_no_headroom) == 1);
}

TEST_CASE("tunnel: only IPv4 goes in (the GRE protocol type says 0x0800)", "[gre]") {
  Tunnel t(cfg_local(), t0());
  Bytes v4 = udp_payload_packet();
  Bytes v6 = v4;
  v6[0] = std::byte(0x60);  // an IPv6 header's first byte (version 6)
  Bytes junk = v4;
  junk[0] = std::byte(0x05);
  const std::size_t head = t.overhead();
  for (Bytes* p : {&v6, &junk}) {
    Bytes buf(head + p->size());
    std::copy(p->begin(), p->end(), buf.begin() + static_cast<std::ptrdiff_t>(head));
    CHECK(t.encap(buf, head, p->size()).empty());
  }
  Bytes empty(head);
  CHECK(t.encap(empty, head, 0).empty());
  CHECK(t.status().counters.drop(DropReason::encap_not_ipv4) == 3);
  CHECK(t.status().counters.packets_out == 0);
  CHECK(to_string(DropReason::encap_not_ipv4) == "encap_not_ipv4");
  CHECK_FALSE(t.encap_copy(v4).empty());
  CHECK(t.status().counters.packets_out == 1);
}

TEST_CASE("tunnel: sequence numbers drop replays and reordering when enabled", "[gre][seq]") {
  TunnelConfig c = cfg_local();
  c.sequence = true;
  Tunnel us(c, t0());
  Tunnel peer(mirrored(c), t0());
  Bytes inner = udp_payload_packet();
  Bytes p0 = peer.encap_copy(inner);
  Bytes p1 = peer.encap_copy(inner);
  Bytes p2 = peer.encap_copy(inner);
  CHECK(us.decap(p0, t0()).kind == DecapKind::deliver);
  CHECK(us.decap(p2, t0()).kind == DecapKind::deliver);
  CHECK(us.decap(p1, t0()).reason == DropReason::gre_out_of_order);
  CHECK(us.decap(p2, t0()).reason == DropReason::gre_out_of_order);
}

TEST_CASE("tunnel: our keepalives go out, come back, and misses take the tunnel down", "[gre][keepalive]") {
  TunnelConfig c = cfg_local();
  c.keepalive = KeepaliveMode::send;
  c.keepalive_interval = 10s;
  c.keepalive_retries = 3;
  Tunnel us(c, t0());
  Tunnel peer(mirrored(cfg_local()), t0());  // answers in reply mode
  CHECK_FALSE(us.status().up);
  REQUIRE(us.next_expiry() == t0());

  us.on_expiry(t0());
  auto out = us.take_outbox();
  REQUIRE(out.size() == 1);
  CHECK(us.status().counters.keepalives_sent == 1);
  CHECK(us.next_expiry() == t0() + 10s);
  // Same shape as the seed's keepalive, mirrored: outer local>remote, inner remote>local.
  auto oip = parse_ipv4(out[0]);
  REQUIRE(oip.ok());
  CHECK(oip->header.src == kLocal);
  CHECK(oip->header.dst == kRemote);
  CHECK(oip->header.total_length == 48);

  Decap at_peer = peer.decap(out[0], t0());
  REQUIRE(at_peer.kind == DecapKind::reflect);
  Bytes reply(at_peer.packet.begin(), at_peer.packet.end());
  Decap back = us.decap(reply, t0() + 1s);
  CHECK(back.kind == DecapKind::keepalive_reply);
  CHECK(us.status().up);
  CHECK(us.status().counters.keepalives_received == 1);

  // Nothing answers from now on: down after the third unanswered keepalive.
  TimePoint now = t0() + 10s;
  us.on_expiry(now);  // keepalive 2 (1 was answered)
  CHECK(us.status().up);
  now += 10s;
  us.on_expiry(now);  // miss 1
  CHECK(us.status().missed == 1);
  now += 10s;
  us.on_expiry(now);  // miss 2
  CHECK(us.status().up);
  now += 10s;
  us.on_expiry(now);  // miss 3
  CHECK_FALSE(us.status().up);
  CHECK(us.status().missed == 3);
  CHECK(us.take_outbox().size() == 4);
  // Early calls do nothing.
  us.on_expiry(now + 1s);
  CHECK(us.take_outbox().empty());
  // A reply brings it back.
  CHECK(us.decap(reply, now + 2s).kind == DecapKind::keepalive_reply);
  CHECK(us.status().up);
  CHECK(us.status().missed == 0);

  Tunnel reply_only(cfg_local(), t0());
  CHECK_FALSE(reply_only.next_expiry().has_value());
  CHECK(reply_only.status().up);
}

TEST_CASE("tshark dissects the seed keepalive, our keepalive and an encapsulated packet cleanly", "[gre][tshark]") {
  if (!testutil::have_tshark()) {
    WARN("tshark not installed: skipped");
    return;
  }
  TunnelConfig c = cfg_local();
  c.keepalive = KeepaliveMode::send;
  Tunnel us(c, t0());
  us.on_expiry(t0());
  auto ka = us.take_outbox();
  REQUIRE(ka.size() == 1);
  TunnelConfig ck = cfg_local();
  ck.checksum = true;
  ck.key = 100;
  ck.sequence = true;
  Tunnel keyed(ck, t0());
  Bytes enc = keyed.encap_copy(udp_payload_packet());
  const std::string path = testutil::temp_pcap("gre");
  REQUIRE(testutil::write_pcap(path, {from_hex(kSeedKeepaliveHex), ka[0], enc}));
  const std::string out = testutil::tshark_verbose(path);
  if (!std::getenv("SWANLESS_KEEP_PCAP")) std::remove(path.c_str());
  REQUIRE_FALSE(out.empty());
  CHECK(out.find("Malformed") == std::string::npos);
  CHECK(out.find("incorrect") == std::string::npos);
  CHECK(out.find("Bad") == std::string::npos);
  CHECK(out.find("Generic Routing Encapsulation (IP)") != std::string::npos);
  CHECK(out.find("Key: 0x00000064") != std::string::npos);
  CHECK(out.find("Sequence Number: 0") != std::string::npos);
  CHECK(out.find("Checksum Status: Good") != std::string::npos);
  CHECK(out.find("Src: 10.44.6.1, Dst: 10.44.7.1") != std::string::npos);
  CHECK(out.find("Possible GRE keepalive packet") != std::string::npos);
  CHECK(out.find("[correct]") != std::string::npos);
}
