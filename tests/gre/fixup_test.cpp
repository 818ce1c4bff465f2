#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "common/bytes.h"
#include "gre/fixup.h"
#include "gre/ipv4.h"
#include "gre/pcap_util.h"

using common::Bytes;
using common::ByteSpan;
using namespace gre;

namespace {

constexpr std::uint32_t kHostA = ipv4(10, 0, 0, 2);
constexpr std::uint32_t kHostB = ipv4(10, 0, 1, 2);
constexpr std::uint32_t kTunnelPeer = ipv4(172, 16, 0, 2);

// The reference checksum: a plain byte loop, deliberately not gre::ones_sum, so the
// incremental update is checked against a computation it shares no code with.
std::uint16_t ref_checksum(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) sum += (i % 2 == 0) ? std::uint32_t(bytes[i]) << 8 : bytes[i];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint8_t at(const Bytes& b, std::size_t i) { return std::to_integer<std::uint8_t>(b[i]); }
std::uint16_t be16(const Bytes& b, std::size_t i) { return static_cast<std::uint16_t>((at(b, i) << 8) | at(b, i + 1)); }

// TCP checksum of an IPv4 TCP packet (20-byte IP header), recomputed from scratch with the
// checksum field taken as zero: pseudo-header (RFC 9293 §3.1) + segment.
std::uint16_t tcp_checksum_recomputed(const Bytes& pkt) {
  const std::size_t ihl = std::size_t(at(pkt, 0) & 0x0f) * 4;
  const std::size_t total = be16(pkt, 2);
  const std::size_t len = total - ihl;
  std::vector<std::uint8_t> v;
  for (std::size_t i = 12; i < 20; ++i) v.push_back(at(pkt, i));  // src, dst
  v.push_back(0);
  v.push_back(6);
  v.push_back(static_cast<std::uint8_t>(len >> 8));
  v.push_back(static_cast<std::uint8_t>(len));
  for (std::size_t i = ihl; i < total; ++i) v.push_back((i == ihl + 16 || i == ihl + 17) ? 0 : at(pkt, i));
  return ref_checksum(v);
}
std::uint16_t tcp_checksum_stored(const Bytes& pkt) {
  const std::size_t ihl = std::size_t(at(pkt, 0) & 0x0f) * 4;
  return be16(pkt, ihl + 16);
}

struct Tcp {
  std::uint8_t flags = kTcpFlagSyn;
  std::vector<std::uint8_t> options;  // padded with EOL to a multiple of 4
  std::vector<std::uint8_t> data;
  std::uint16_t frag = kIpv4FlagDf;
  std::uint32_t src = kHostA, dst = kHostB;
};

// An IPv4 TCP packet with a correct TCP checksum.
Bytes make_tcp(Tcp t) {
  while (t.options.size() % 4) t.options.push_back(0);
  Bytes seg;
  common::Writer w(seg);
  w.u16(40000);
  w.u16(5201);
  w.u32(0x01020304);
  w.u32((t.flags & 0x10) ? 0x0a0b0c0d : 0);
  w.u8(static_cast<std::uint8_t>(((kTcpHeaderSize + t.options.size()) / 4) << 4));
  w.u8(t.flags);
  w.u16(64240);
  w.u16(0);  // checksum
  w.u16(0);
  for (auto b : t.options) w.u8(b);
  for (auto b : t.data) w.u8(b);
  Ipv4Header h;
  h.src = t.src;
  h.dst = t.dst;
  h.protocol = kIpProtoTcp;
  h.flags_fragment = t.frag;
  h.id = 0x1234;
  Bytes pkt = build_ipv4(h, seg);
  const std::uint16_t c = tcp_checksum_recomputed(pkt);
  pkt[20 + 16] = std::byte(c >> 8);
  pkt[20 + 17] = std::byte(c & 0xff);
  return pkt;
}

std::vector<std::uint8_t> mss_opt(std::uint16_t mss) { return {kTcpOptMss, 4, std::uint8_t(mss >> 8), std::uint8_t(mss)}; }

// Linux's SYN options: MSS, SACK permitted, timestamps, NOP, window scale.
std::vector<std::uint8_t> linux_syn_options(std::uint16_t mss) {
  auto o = mss_opt(mss);
  for (std::uint8_t b : {4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 1, 3, 3, 7}) o.push_back(b);
  return o;
}

bool checksum_consistent(const Bytes& pkt) { return tcp_checksum_stored(pkt) == tcp_checksum_recomputed(pkt); }

common::MutByteSpan mut(Bytes& b) { return common::MutByteSpan(b.data(), b.size()); }

}  // namespace

TEST_CASE("checksum_update: RFC 1624 section 4 example and its -0 case", "[gre][fixup]") {
  // Words 0xCD7A, 0x5555 sum to 0x22D0: checksum 0xDD2F. Changing 0x5555 to 0x3285 makes
  // the sum 0xFFFF, whose checksum is 0x0000 (eqn. 3); RFC 1141's eqn. 2 gave 0xFFFF.
  CHECK(ref_checksum({0xcd, 0x7a, 0x55, 0x55}) == 0xdd2f);
  CHECK(checksum_update(0xdd2f, 0x5555, 0x3285) == 0x0000);
  CHECK(ref_checksum({0xcd, 0x7a, 0x32, 0x85}) == 0x0000);
  // And a change back.
  CHECK(checksum_update(0x0000, 0x3285, 0x5555) == 0xdd2f);
}

TEST_CASE("mss clamp: a Linux SYN's MSS is lowered, checksum matches a full recomputation", "[gre][fixup]") {
  Bytes pkt = make_tcp({kTcpFlagSyn, linux_syn_options(1460), {}});
  REQUIRE(checksum_consistent(pkt));
  const Bytes before = pkt;
  REQUIRE(clamp_mss(mut(pkt), 1360) == MssClamp::clamped);
  CHECK(be16(pkt, 40 + 2) == 1360);
  CHECK(tcp_checksum_stored(pkt) != tcp_checksum_stored(before));
  CHECK(checksum_consistent(pkt));
  // Nothing but the MSS value and the TCP checksum changed.
  for (std::size_t i = 0; i < pkt.size(); ++i)
    if (i != 42 && i != 43 && i != 36 && i != 37) CHECK(pkt[i] == before[i]);
  std::uint16_t mss = 0;
  REQUIRE(read_mss(pkt, mss));
  CHECK(mss == 1360);
  // The IPv4 header is untouched and still valid.
  CHECK(parse_ipv4(pkt).ok());
}

TEST_CASE("mss clamp: SYN-ACK is clamped too, and payload after the header is covered", "[gre][fixup]") {
  Bytes pkt = make_tcp({kTcpFlagSyn | 0x10, mss_opt(8960), {1, 2, 3}});
  REQUIRE(clamp_mss(mut(pkt), 1436) == MssClamp::clamped);
  CHECK(be16(pkt, 42) == 1436);
  CHECK(checksum_consistent(pkt));
}

TEST_CASE("mss clamp: MSS at an odd offset updates the two checksum words it straddles", "[gre][fixup]") {
  // NOP, MSS: the MSS value sits at TCP offset 23 (odd).
  std::vector<std::uint8_t> o = {kTcpOptNop};
  for (auto b : mss_opt(1460)) o.push_back(b);
  Bytes pkt = make_tcp({kTcpFlagSyn, o, {}});
  REQUIRE(clamp_mss(mut(pkt), 1300) == MssClamp::clamped);
  CHECK(be16(pkt, 20 + 23) == 1300);
  CHECK(checksum_consistent(pkt));
}

TEST_CASE("mss clamp: random option layouts and values keep the checksum right", "[gre][fixup]") {
  std::mt19937 rng(1624);
  int clamped = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::uint8_t> o;
    const int nops = int(rng() % 4);
    for (int i = 0; i < nops; ++i) o.push_back(kTcpOptNop);
    if (rng() % 2) o.insert(o.end(), {4, 2});  // SACK permitted before MSS
    const auto mss = static_cast<std::uint16_t>(rng() % 65536);
    for (auto b : mss_opt(mss)) o.push_back(b);
    if (rng() % 2) o.insert(o.end(), {3, 3, std::uint8_t(rng() % 15)});
    std::vector<std::uint8_t> data(rng() % 7);
    for (auto& b : data) b = std::uint8_t(rng());
    Bytes pkt = make_tcp({kTcpFlagSyn, o, data});
    const auto limit = static_cast<std::uint16_t>(rng() % 65536);
    const MssClamp r = clamp_mss(mut(pkt), limit);
    std::uint16_t now = 0;
    REQUIRE(read_mss(pkt, now));
    if (mss > limit) {
      REQUIRE(r == MssClamp::clamped);
      REQUIRE(now == limit);
      ++clamped;
    } else {
      REQUIRE(r == MssClamp::within_limit);
      REQUIRE(now == mss);
    }
    REQUIRE(checksum_consistent(pkt));
  }
  CHECK(clamped > 500);
}

TEST_CASE("mss clamp: packets left alone", "[gre][fixup]") {
  SECTION("SYN without MSS") {
    Bytes pkt = make_tcp({kTcpFlagSyn, {4, 2, 1, 1, 3, 3, 7}, {}});
    const Bytes before = pkt;
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::no_mss);
    CHECK(pkt == before);
    std::uint16_t mss = 99;
    CHECK(read_mss(pkt, mss));
    CHECK(mss == 0);
  }
  SECTION("SYN with no options at all") {
    Bytes pkt = make_tcp({kTcpFlagSyn, {}, {}});
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::no_mss);
  }
  SECTION("MSS already small, and exactly at the limit") {
    for (std::uint16_t m : {536, 1360}) {
      Bytes pkt = make_tcp({kTcpFlagSyn, linux_syn_options(m), {}});
      const Bytes before = pkt;
      CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::within_limit);
      CHECK(pkt == before);
    }
  }
  SECTION("not a SYN (ACK carrying an MSS-shaped option)") {
    Bytes pkt = make_tcp({0x10, mss_opt(1460), {9, 9}});
    const Bytes before = pkt;
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::not_tcp_syn);
    CHECK(pkt == before);
  }
  SECTION("an MSS option after end of list is not an option") {
    std::vector<std::uint8_t> o = {kTcpOptEnd, 0, 0, 0};
    for (auto b : mss_opt(1460)) o.push_back(b);
    Bytes pkt = make_tcp({kTcpFlagSyn, o, {}});
    const Bytes before = pkt;
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::no_mss);
    CHECK(pkt == before);
  }
  SECTION("UDP, non-first fragment, not IPv4") {
    Ipv4Header h;
    h.src = kHostA;
    h.dst = kHostB;
    h.protocol = 17;
    std::vector<std::byte> udp(28, std::byte{0x02});
    Bytes u = build_ipv4(h, udp);
    CHECK(clamp_mss(mut(u), 1360) == MssClamp::not_tcp_syn);
    Bytes frag = make_tcp({kTcpFlagSyn, mss_opt(1460), {}, std::uint16_t(kIpv4FlagMf | 100)});
    const Bytes before = frag;
    CHECK(clamp_mss(mut(frag), 1360) == MssClamp::not_tcp_syn);
    CHECK(frag == before);
    Bytes v6(60, std::byte{0});
    v6[0] = std::byte{0x60};
    CHECK(clamp_mss(mut(v6), 1360) == MssClamp::not_tcp_syn);
  }
  SECTION("first fragment of a SYN with data is still clamped") {
    Bytes pkt = make_tcp({kTcpFlagSyn, mss_opt(1460), {1, 2, 3, 4}, std::uint16_t(kIpv4FlagMf)});
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::clamped);
    CHECK(checksum_consistent(pkt));
  }
}

TEST_CASE("mss clamp: every MSS option is lowered", "[gre][fixup]") {
  auto o = mss_opt(1460);
  for (auto b : mss_opt(9000)) o.push_back(b);
  for (auto b : mss_opt(500)) o.push_back(b);
  Bytes pkt = make_tcp({kTcpFlagSyn, o, {}});
  CHECK(clamp_mss(mut(pkt), 1400) == MssClamp::clamped);
  CHECK(be16(pkt, 42) == 1400);
  CHECK(be16(pkt, 46) == 1400);
  CHECK(be16(pkt, 50) == 500);
  CHECK(checksum_consistent(pkt));
}

TEST_CASE("tcp option walker: every truncation of a Linux SYN's options", "[gre][fixup]") {
  const auto o = linux_syn_options(1460);  // MSS(4) SACKP(2) TS(10) NOP(1) WS(3) = 20
  const std::vector<std::size_t> boundaries = {0, 4, 6, 16, 17, 20};
  for (std::size_t k = 0; k <= o.size(); ++k) {
    std::vector<std::byte> cut(k);
    for (std::size_t i = 0; i < k; ++i) cut[i] = std::byte(o[i]);
    std::size_t seen = 0;
    const bool ok = walk_tcp_options(cut, [&](const TcpOption& opt) {
      CHECK(opt.offset + opt.length <= k);
      ++seen;
    });
    const bool at_boundary = std::find(boundaries.begin(), boundaries.end(), k) != boundaries.end();
    INFO("options cut to " << k << " bytes");
    CHECK(ok == at_boundary);
    // Options wholly before the cut are visited either way.
    std::size_t whole = 0;
    for (std::size_t b = 1; b < boundaries.size(); ++b)
      if (boundaries[b] <= k) ++whole;
    CHECK(seen == whole);
  }
}

TEST_CASE("mss clamp: malformed options leave the packet untouched", "[gre][fixup]") {
  const std::vector<std::vector<std::uint8_t>> bad = {
      {kTcpOptMss, 4, 0x05, 0xb4, 8, 0, 1, 1},         // length 0 after a good MSS
      {kTcpOptMss, 4, 0x05, 0xb4, 8, 1, 1, 1},         // length 1
      {kTcpOptMss, 4, 0x05, 0xb4, 8, 10, 0, 0},        // timestamps reach past the options
      {kTcpOptMss, 3, 0x05, 0xb4},                      // MSS with length 3
      {kTcpOptMss, 5, 0x05, 0xb4, 0, 0, 0, 0},          // MSS with length 5
      {kTcpOptNop, kTcpOptNop, kTcpOptNop, kTcpOptMss}, // MSS kind with no length byte
      {kTcpOptNop, kTcpOptNop, kTcpOptMss, 4},          // MSS without its value
  };
  Fixup fx(FixupConfig{1360, 1400, kTunnelPeer});
  for (const auto& o : bad) {
    Bytes pkt = make_tcp({kTcpFlagSyn, o, {}});
    // make_tcp pads to 4 with EOL; the cases above are exactly 4 or 8 bytes.
    REQUIRE(o.size() % 4 == 0);
    const Bytes before = pkt;
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::malformed);
    CHECK(pkt == before);
    fx.inbound(mut(pkt));
    CHECK(pkt == before);
  }
  CHECK(fx.counters().mss_malformed == bad.size());
  CHECK(fx.counters().mss_clamped_in == 0);
}

TEST_CASE("mss clamp: every truncated packet and bad data offsets are rejected", "[gre][fixup]") {
  const Bytes good = make_tcp({kTcpFlagSyn, linux_syn_options(1460), {}});
  for (std::size_t k = 0; k < good.size(); ++k) {
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(k));
    const Bytes before = cut;
    const MssClamp r = clamp_mss(mut(cut), 1360);
    INFO("cut to " << k);
    // Too short to tell it is IPv4 TCP, or announces more than it holds.
    CHECK((r == MssClamp::not_tcp_syn || r == MssClamp::malformed));
    CHECK((k < 20 ? r == MssClamp::not_tcp_syn : r == MssClamp::malformed));
    CHECK(cut == before);
  }
  // Data offset below 5 and beyond the segment; the IPv4 total length is consistent.
  for (std::uint8_t doff : {0, 4, 11, 15}) {
    Bytes pkt = good;
    pkt[32] = std::byte(doff << 4);
    const Bytes before = pkt;
    CHECK(clamp_mss(mut(pkt), 1360) == MssClamp::malformed);
    CHECK(pkt == before);
  }
  // A bad IPv4 header checksum: not trusted, not touched.
  Bytes bad_ip = good;
  bad_ip[10] ^= std::byte{1};
  CHECK(clamp_mss(mut(bad_ip), 1360) == MssClamp::malformed);
}

TEST_CASE("frag-needed: built for an oversized DF packet", "[gre][fixup]") {
  std::vector<std::uint8_t> data(1500 - 40 - 12, 0x5a);
  Bytes big = make_tcp({0x10, {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, data});
  REQUIRE(big.size() == 1500);
  REQUIRE(check_size(big, 1400) == SizeVerdict::frag_needed);
  REQUIRE(check_size(big, 1500) == SizeVerdict::fits);

  Bytes out(kFragNeededMaxSize);
  const std::size_t n = build_frag_needed(mut(out), big, 1400, kTunnelPeer);
  REQUIRE(n == 20 + 8 + 20 + 8);
  out.resize(n);
  auto ip = parse_ipv4(out);
  REQUIRE(ip.ok());
  CHECK(ip->header.src == kTunnelPeer);
  CHECK(ip->header.dst == kHostA);
  CHECK(ip->header.protocol == kIpProtoIcmp);
  CHECK(ip->header.total_length == n);
  CHECK((ip->header.flags_fragment & kIpv4FlagDf) == 0);
  std::vector<std::uint8_t> icmp;
  for (std::size_t i = 20; i < n; ++i) icmp.push_back(at(out, i));
  CHECK(icmp[0] == 3);
  CHECK(icmp[1] == 4);
  CHECK(ref_checksum(icmp) == 0);  // a correct checksum makes the sum all ones
  CHECK(icmp[4] == 0);
  CHECK(icmp[5] == 0);
  CHECK(((icmp[6] << 8) | icmp[7]) == 1400);
  // The original header and its first 8 bytes of TCP (ports and sequence number).
  for (std::size_t i = 0; i < 28; ++i) CHECK(icmp[8 + i] == at(big, i));
  // Truncated outputs fail cleanly.
  for (std::size_t k = 0; k < n; ++k) {
    Bytes small(k);
    CHECK(build_frag_needed(mut(small), big, 1400, kTunnelPeer) == 0);
  }
}

TEST_CASE("frag-needed: quoted header keeps its options; short payloads are quoted whole", "[gre][fixup]") {
  // IHL 6 (a 4-byte NOP option block) and a 3-byte payload.
  Bytes pkt = {std::byte{0x46}, std::byte{0}, std::byte{0}, std::byte{27}, std::byte{0}, std::byte{1},
               std::byte{0x40}, std::byte{0}, std::byte{64}, std::byte{17}, std::byte{0}, std::byte{0},
               std::byte{10},   std::byte{0}, std::byte{0}, std::byte{2},  std::byte{10}, std::byte{0},
               std::byte{1},    std::byte{2}, std::byte{1}, std::byte{1},  std::byte{1},  std::byte{0},
               std::byte{7},    std::byte{8}, std::byte{9}};
  const std::uint16_t c = inet_checksum(ByteSpan(pkt).first(24));
  pkt[10] = std::byte(c >> 8);
  pkt[11] = std::byte(c & 0xff);
  REQUIRE(parse_ipv4(pkt).ok());
  REQUIRE(check_size(pkt, 26) == SizeVerdict::frag_needed);
  Bytes out(kFragNeededMaxSize);
  const std::size_t n = build_frag_needed(mut(out), pkt, 26, kTunnelPeer);
  REQUIRE(n == 20 + 8 + 24 + 3);
  for (std::size_t i = 0; i < pkt.size(); ++i) CHECK(out[28 + i] == pkt[i]);
  CHECK(build_frag_needed(mut(out), ByteSpan(pkt).first(10), 26, kTunnelPeer) == 0);
}

TEST_CASE("check_size: who gets an ICMP error and who does not", "[gre][fixup]") {
  std::vector<std::uint8_t> data(1400, 1);
  auto sized = [&](std::uint16_t frag, std::uint32_t src, std::uint32_t dst) {
    return make_tcp({0x10, {}, data, frag, src, dst});
  };
  CHECK(check_size(sized(kIpv4FlagDf, kHostA, kHostB), 1400) == SizeVerdict::frag_needed);
  CHECK(check_size(sized(0, kHostA, kHostB), 1400) == SizeVerdict::forward_no_df);
  CHECK(check_size(sized(kIpv4FlagDf, 0, kHostB), 1400) == SizeVerdict::no_icmp_drop);
  CHECK(check_size(sized(kIpv4FlagDf, ipv4(127, 0, 0, 1), kHostB), 1400) == SizeVerdict::no_icmp_drop);
  CHECK(check_size(sized(kIpv4FlagDf, kHostA, ipv4(239, 1, 1, 1)), 1400) == SizeVerdict::no_icmp_drop);
  CHECK(check_size(sized(kIpv4FlagDf, kHostA, ipv4(255, 255, 255, 255)), 1400) == SizeVerdict::no_icmp_drop);
  CHECK(check_size(sized(kIpv4FlagDf | 8, kHostA, kHostB), 1400) == SizeVerdict::no_icmp_drop);

  auto icmp = [&](std::uint8_t type) {
    std::vector<std::byte> body(1400, std::byte{0});
    body[0] = std::byte(type);
    Ipv4Header h;
    h.src = kHostA;
    h.dst = kHostB;
    h.protocol = kIpProtoIcmp;
    h.flags_fragment = kIpv4FlagDf;
    return build_ipv4(h, body);
  };
  CHECK(check_size(icmp(8), 1400) == SizeVerdict::frag_needed);  // echo request: a ping -M do
  for (std::uint8_t t : {3, 4, 5, 11, 12, 42}) CHECK(check_size(icmp(t), 1400) == SizeVerdict::no_icmp_drop);
  CHECK(check_size(ByteSpan(), 1400) == SizeVerdict::malformed);
}

TEST_CASE("Fixup: outbound and inbound, with counters", "[gre][fixup]") {
  Fixup fx(FixupConfig{FixupConfig::mss_for(1400), 1400, kTunnelPeer});
  CHECK(fx.config().mss == 1360);
  Bytes reply(kFragNeededMaxSize);
  std::size_t reply_len = 99;

  Bytes syn = make_tcp({kTcpFlagSyn, linux_syn_options(1460), {}});
  CHECK(fx.outbound(mut(syn), mut(reply), reply_len) == Fixup::Out::send);
  CHECK(reply_len == 0);
  CHECK(be16(syn, 42) == 1360);
  CHECK(checksum_consistent(syn));

  Bytes synack = make_tcp({kTcpFlagSyn | 0x10, mss_opt(1460), {}, kIpv4FlagDf, kHostB, kHostA});
  fx.inbound(mut(synack));
  CHECK(be16(synack, 42) == 1360);
  CHECK(checksum_consistent(synack));

  std::vector<std::uint8_t> data(1500 - 40, 7);
  Bytes big = make_tcp({0x10, {}, data});
  const Bytes big_before = big;
  CHECK(fx.outbound(mut(big), mut(reply), reply_len) == Fixup::Out::reply);
  REQUIRE(reply_len == 56);
  CHECK(be16(reply, 20 + 6) == 1400);
  CHECK(big == big_before);

  Bytes big_no_df = make_tcp({0x10, {}, data, 0});
  CHECK(fx.outbound(mut(big_no_df), mut(reply), reply_len) == Fixup::Out::send);
  Bytes big_to_group = make_tcp({0x10, {}, data, kIpv4FlagDf, kHostA, ipv4(239, 1, 2, 3)});
  CHECK(fx.outbound(mut(big_to_group), mut(reply), reply_len) == Fixup::Out::drop);

  const auto& c = fx.counters();
  CHECK(c.mss_clamped_out == 1);
  CHECK(c.mss_clamped_in == 1);
  CHECK(c.frag_needed_sent == 1);
  CHECK(c.too_big_forwarded == 1);
  CHECK(c.too_big_dropped == 1);
  CHECK(c.mss_malformed == 0);

  // mss=0 turns clamping off; mtu=0 turns the size check off.
  Fixup off(FixupConfig{0, 0, kTunnelPeer});
  Bytes syn2 = make_tcp({kTcpFlagSyn, linux_syn_options(1460), {}});
  CHECK(off.outbound(mut(syn2), mut(reply), reply_len) == Fixup::Out::send);
  CHECK(be16(syn2, 42) == 1460);
  Bytes big2 = big_before;
  CHECK(off.outbound(mut(big2), mut(reply), reply_len) == Fixup::Out::send);
  CHECK(off.counters().frag_needed_sent == 0);
}

TEST_CASE("tshark decodes the clamped SYN and the frag-needed message with good checksums", "[gre][fixup][tshark]") {
  if (!testutil::have_tshark()) {
    WARN("tshark not installed: skipped");
    return;
  }
  Bytes syn = make_tcp({kTcpFlagSyn, linux_syn_options(1460), {}});
  REQUIRE(clamp_mss(mut(syn), 1360) == MssClamp::clamped);
  // An odd-offset MSS too, the case the straddling update exists for.
  std::vector<std::uint8_t> o = {kTcpOptNop};
  for (auto b : mss_opt(1460)) o.push_back(b);
  Bytes odd = make_tcp({kTcpFlagSyn | 0x10, o, {}, kIpv4FlagDf, kHostB, kHostA});
  REQUIRE(clamp_mss(mut(odd), 1337) == MssClamp::clamped);
  std::vector<std::uint8_t> data(1500 - 40, 7);
  Bytes big = make_tcp({0x10, {}, data});
  Bytes icmp(kFragNeededMaxSize);
  icmp.resize(build_frag_needed(mut(icmp), big, 1400, kTunnelPeer));
  REQUIRE(!icmp.empty());

  const std::string path = testutil::temp_pcap("fixup");
  REQUIRE(testutil::write_pcap(path, {syn, odd, icmp}));
  const std::string cmd = "/usr/bin/tshark -n -r '" + path +
                          "' -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -V 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  std::remove(path.c_str());
  INFO(out);
  CHECK(out.find("Maximum segment size: 1360 bytes") != std::string::npos);
  CHECK(out.find("Maximum segment size: 1337 bytes") != std::string::npos);
  CHECK(out.find("Fragmentation needed") != std::string::npos);
  CHECK(out.find("MTU of next hop: 1400") != std::string::npos);
  CHECK(out.find("[Checksum Status: Good]") != std::string::npos);
  CHECK(out.find("Bad") == std::string::npos);
  CHECK(out.find("Malformed") == std::string::npos);
}
