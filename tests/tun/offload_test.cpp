#include "tun/offload.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::MutByteSpan;
namespace off = tun::offload;

namespace {

// An independent RFC 1071 checksum: byte pairs, big-endian, one at a time.
std::uint16_t ref_checksum(const std::vector<std::uint8_t>& pseudo, ByteSpan data) {
  std::uint32_t sum = 0;
  std::vector<std::uint8_t> all(pseudo);
  for (auto b : data) all.push_back(std::to_integer<std::uint8_t>(b));
  if (all.size() % 2) all.push_back(0);
  for (std::size_t i = 0; i < all.size(); i += 2) sum += std::uint32_t(all[i]) << 8 | all[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

unsigned u8(ByteSpan p, std::size_t i) { return std::to_integer<unsigned>(p[i]); }
unsigned be16(ByteSpan p, std::size_t i) { return u8(p, i) << 8 | u8(p, i + 1); }
std::uint32_t be32(ByteSpan p, std::size_t i) { return std::uint32_t(be16(p, i)) << 16 | be16(p, i + 2); }

bool ip_checksum_ok(ByteSpan ip) {
  const std::size_t ihl = (u8(ip, 0) & 15) * 4;
  return ref_checksum({}, ip.first(ihl)) == 0;
}

// The TCP (6) or UDP (17) checksum of an IPv4 packet verifies, by the reference sum.
bool l4_checksum_ok(ByteSpan ip, std::uint8_t proto) {
  const std::size_t ihl = (u8(ip, 0) & 15) * 4;
  const std::size_t len = ip.size() - ihl;
  std::vector<std::uint8_t> pseudo;
  for (std::size_t i = 12; i < 20; ++i) pseudo.push_back(static_cast<std::uint8_t>(u8(ip, i)));
  pseudo.insert(pseudo.end(), {0, proto, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len & 0xff)});
  return ref_checksum(pseudo, ip.subspan(ihl)) == 0;
}
bool tcp_checksum_ok(ByteSpan ip) { return l4_checksum_ok(ip, 6); }
bool udp_checksum_ok(ByteSpan ip) { return l4_checksum_ok(ip, 17); }

void put16(Bytes& b, std::size_t i, unsigned v) {
  b[i] = std::byte(v >> 8);
  b[i + 1] = std::byte(v & 0xff);
}
void put32(Bytes& b, std::size_t i, std::uint32_t v) {
  put16(b, i, v >> 16);
  put16(b, i + 2, v & 0xffff);
}

// IPv4 10.99.0.1 -> 10.99.0.2, TCP 40000 -> 5201 with a 12-byte timestamp option.
// flags: TCP flags byte. Checksums: the IPv4 one correct; the TCP one as `full`
// says (a complete checksum, or the pseudo-header sum a NEEDS_CSUM packet carries).
Bytes tcp_packet(std::size_t payload, std::uint32_t seq, std::uint8_t flags, bool full, std::uint32_t salt = 7,
                 std::uint16_t sport = 40000) {
  const std::size_t ihl = 20, thl = 32;
  Bytes p(ihl + thl + payload);
  p[0] = std::byte(0x45);
  p[1] = std::byte(0);
  put16(p, 2, static_cast<unsigned>(p.size()));
  put16(p, 4, 0x1234);
  put16(p, 6, 0x4000);  // DF
  p[8] = std::byte(64);
  p[9] = std::byte(6);
  put32(p, 12, 0x0a630001);
  put32(p, 16, 0x0a630002);
  put16(p, 20, sport);
  put16(p, 22, 5201);
  put32(p, 24, seq);
  put32(p, 28, 0xabcdef01);
  p[32] = std::byte((thl / 4) << 4);
  p[33] = std::byte(flags);
  put16(p, 34, 502);
  const std::uint8_t opt[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  std::memcpy(p.data() + 40, opt, sizeof opt);
  std::mt19937 rng(salt);
  for (std::size_t i = 0; i < payload; ++i) p[ihl + thl + i] = std::byte(rng() & 0xff);
  off::fix_ipv4_checksum(MutByteSpan(p));
  const std::uint32_t ps =
      off::pseudo_header_sum(ByteSpan(p).subspan(12, 4), ByteSpan(p).subspan(16, 4), 6, static_cast<std::uint16_t>(thl + payload));
  if (full) put16(p, 36, static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(ps, ByteSpan(p).subspan(ihl)))));
  else put16(p, 36, off::csum_fold(ps));
  return p;
}

// A GSO virtio header as the kernel gives it: partial checksum from the L4 header on.
off::VnetHdr gso_hdr(std::uint8_t type, std::uint16_t hdr_len, std::uint16_t size, std::uint16_t csum_offset) {
  off::VnetHdr h;
  h.flags = off::kFlagNeedsCsum;
  h.gso_type = type;
  h.hdr_len = hdr_len;
  h.gso_size = size;
  h.csum_start = 20;
  h.csum_offset = csum_offset;
  return h;
}
off::VnetHdr tso_hdr(std::uint16_t mss) { return gso_hdr(off::kGsoTcpV4, 52, mss, 16); }
off::VnetHdr uso_hdr(std::uint16_t size) { return gso_hdr(off::kGsoUdpL4, 28, size, 6); }

struct Collected {
  off::VnetHdr hdr;
  Bytes bytes;  // the parts joined
  std::size_t nparts = 0;
};

std::vector<Collected> coalesce(std::vector<Bytes>& pkts, bool udp = false, off::Coalescer::Stats* stats = nullptr) {
  off::Coalescer c;
  c.set_udp(udp);
  std::vector<Collected> out;
  auto emit = [&](const off::TunWrite& w) {
    Collected col{w.hdr, {}, w.parts.size()};
    for (auto p : w.parts) col.bytes.insert(col.bytes.end(), p.begin(), p.end());
    out.push_back(std::move(col));
  };
  for (auto& p : pkts) c.add(MutByteSpan(p), emit);
  c.flush(emit);
  if (stats) *stats = c.stats();
  return out;
}

std::vector<Bytes> segment_all(const Bytes& super, const off::VnetHdr& h) {
  auto seg = off::Segmenter::create(super, h);
  REQUIRE(seg.ok());
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < seg->count(); ++i) {
    Bytes b(seg->segment_size(i));
    auto n = seg->write(i, MutByteSpan(b));
    REQUIRE(n.ok());
    REQUIRE(*n == b.size());
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

TEST_CASE("offload: virtio_net_hdr round trip and every truncated length") {
  off::VnetHdr h = tso_hdr(1360);
  h.gso_type |= off::kGsoEcn;
  std::array<std::byte, off::kVnetHdrSize> wire{};
  off::serialize_vnet_hdr(h, wire);
  // little-endian on the wire: gso_size 1360 = 0x0550
  CHECK(u8(wire, 4) == 0x50);
  CHECK(u8(wire, 5) == 0x05);
  auto back = off::parse_vnet_hdr(wire);
  REQUIRE(back.ok());
  CHECK(back->flags == h.flags);
  CHECK(back->gso_type == h.gso_type);
  CHECK(back->gso_kind() == off::kGsoTcpV4);
  CHECK(back->hdr_len == 52);
  CHECK(back->gso_size == 1360);
  CHECK(back->csum_start == 20);
  CHECK(back->csum_offset == 16);
  CHECK(back->needs_csum());
  for (std::size_t n = 0; n < off::kVnetHdrSize; ++n) {
    auto r = off::parse_vnet_hdr(ByteSpan(wire).first(n));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::truncated);
  }
}

TEST_CASE("offload: csum_add matches a byte-pair reference for every length and split") {
  std::mt19937 rng(42);
  Bytes data(300);
  for (auto& b : data) b = std::byte(rng() & 0xff);
  for (std::size_t len = 0; len <= data.size(); ++len) {
    ByteSpan d = ByteSpan(data).first(len);
    const std::uint16_t want = ref_checksum({}, d);
    CHECK(static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(0, d))) == want);
    // summing in two chunks at an even offset gives the same
    const std::size_t cut = (len / 3) & ~std::size_t{1};
    std::uint32_t s = off::csum_add(off::csum_add(0, d.first(cut)), d.subspan(cut));
    CHECK(static_cast<std::uint16_t>(~off::csum_fold(s)) == want);
  }
  // carries: all 0xff
  Bytes ff(1001, std::byte(0xff));
  CHECK(static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(0, ff))) == ref_checksum({}, ff));
}

TEST_CASE("offload: a TSO super-packet is cut into valid MSS segments") {
  const std::uint16_t mss = 1348;
  const std::size_t payload = 5 * mss + 123;
  const std::uint8_t flags = 0x10 | 0x08 | 0x80;  // ACK PSH CWR
  Bytes super = tcp_packet(payload, 1000, flags, false);
  auto segs = segment_all(super, tso_hdr(mss));
  REQUIRE(segs.size() == 6);
  Bytes joined;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    ByteSpan s = segs[i];
    const std::size_t data = i + 1 < segs.size() ? mss : 123;
    CHECK(s.size() == 52 + data);
    CHECK(be16(s, 2) == s.size());
    CHECK(be16(s, 4) == 0x1234 + i);
    CHECK(be16(s, 6) == 0x4000);
    CHECK(ip_checksum_ok(s));
    CHECK(tcp_checksum_ok(s));
    CHECK(be32(s, 24) == 1000 + i * mss);
    CHECK(be32(s, 28) == 0xabcdef01);
    const unsigned f = u8(s, 33);
    CHECK((f & 0x10) != 0);                          // ACK everywhere
    CHECK(((f & 0x80) != 0) == (i == 0));            // CWR on the first only
    CHECK(((f & 0x08) != 0) == (i + 1 == segs.size()));  // PSH on the last only
    CHECK(std::memcmp(s.data() + 40, super.data() + 40, 12) == 0);  // options copied
    joined.insert(joined.end(), s.begin() + 52, s.end());
  }
  CHECK(joined == Bytes(super.begin() + 52, super.end()));
}

TEST_CASE("offload: FIN stays on the last segment; a payload of exactly n*MSS gives n segments") {
  Bytes super = tcp_packet(4 * 1000, 7, 0x10 | 0x01, false);
  auto segs = segment_all(super, tso_hdr(1000));
  REQUIRE(segs.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(segs[i].size() == 1052);
    CHECK(((u8(segs[i], 33) & 0x01) != 0) == (i == 3));
    CHECK(tcp_checksum_ok(segs[i]));
  }
}

TEST_CASE("offload: Segmenter rejects every truncated length and malformed super-packets") {
  Bytes super = tcp_packet(3000, 1, 0x10, false);
  for (std::size_t n = 0; n < super.size(); ++n) {
    auto r = off::Segmenter::create(ByteSpan(super).first(n), tso_hdr(1000));
    CHECK_FALSE(r.ok());
  }
  CHECK(off::Segmenter::create(super, tso_hdr(1000)).ok());
  auto bad = [&](auto mutate, off::VnetHdr h = tso_hdr(1000)) {
    Bytes p = super;
    mutate(p);
    return !off::Segmenter::create(p, h).ok();
  };
  CHECK(bad([](Bytes& p) { p[0] = std::byte(0x65); }));           // version 6
  CHECK(bad([](Bytes& p) { p[0] = std::byte(0x44); }));           // IHL 4
  CHECK(bad([](Bytes& p) { p[9] = std::byte(17); }));             // UDP
  CHECK(bad([](Bytes& p) { put16(p, 6, 0x2000); }));              // more fragments
  CHECK(bad([](Bytes& p) { put16(p, 6, 0x0010); }));              // fragment offset
  CHECK(bad([](Bytes& p) { put16(p, 2, 100); }));                 // total length != size
  CHECK(bad([](Bytes& p) { p[32] = std::byte(0x40); }));          // TCP data offset 4
  CHECK(bad([](Bytes& p) { p[32] = std::byte(0xf0); }, tso_hdr(1000)) == false);  // 60-byte header still fits
  off::VnetHdr h = tso_hdr(0);
  CHECK(bad([](Bytes&) {}, h));  // gso_size 0
  h = tso_hdr(1000);
  h.gso_type = off::kGsoTcpV6;
  CHECK(bad([](Bytes&) {}, h));
  h.gso_type = off::kGsoNone;
  CHECK(bad([](Bytes&) {}, h));
  // write: index out of range, output too small
  auto seg = off::Segmenter::create(super, tso_hdr(1000));
  REQUIRE(seg.ok());
  Bytes out(2000);
  CHECK(seg->write(seg->count(), MutByteSpan(out)).error().code == Errc::state);
  CHECK(seg->write(0, MutByteSpan(out).first(seg->segment_size(0) - 1)).error().code == Errc::truncated);
}

TEST_CASE("offload: complete_checksum finishes a NEEDS_CSUM packet") {
  Bytes p = tcp_packet(777, 5, 0x18, false);
  CHECK_FALSE(tcp_checksum_ok(p));
  off::VnetHdr h = tso_hdr(0);
  h.gso_type = off::kGsoNone;
  REQUIRE(off::complete_checksum(MutByteSpan(p), h).ok());
  CHECK(tcp_checksum_ok(p));
  h.csum_offset = static_cast<std::uint16_t>(p.size() - 20 - 1);
  CHECK_FALSE(off::complete_checksum(MutByteSpan(p), h).ok());
  h.csum_start = static_cast<std::uint16_t>(p.size());
  h.csum_offset = 0;
  CHECK_FALSE(off::complete_checksum(MutByteSpan(p), h).ok());
}

TEST_CASE("offload: segment then coalesce gives the super-packet back") {
  const std::uint16_t mss = 1360;
  for (std::size_t payload : {std::size_t(2 * mss), std::size_t(47 * mss + 1), std::size_t(mss + 1)}) {
    Bytes super = tcp_packet(payload, 0xfffff000u, 0x18, false);  // sequence numbers wrap
    auto segs = segment_all(super, tso_hdr(mss));
    auto out = coalesce(segs);
    REQUIRE(out.size() == 1);
    const auto& w = out[0];
    CHECK(w.nparts == segs.size());
    CHECK(w.hdr.gso_kind() == off::kGsoTcpV4);
    CHECK(w.hdr.gso_size == mss);
    CHECK(w.hdr.hdr_len == 52);
    CHECK(w.hdr.needs_csum());
    CHECK(w.hdr.csum_start == 20);
    CHECK(w.hdr.csum_offset == 16);
    // What the kernel does with NEEDS_CSUM gives the original packet, checksums complete.
    Bytes got = w.bytes;
    REQUIRE(off::complete_checksum(MutByteSpan(got), w.hdr).ok());
    Bytes want = super;
    REQUIRE(off::complete_checksum(MutByteSpan(want), w.hdr).ok());
    CHECK(ip_checksum_ok(got));
    CHECK(tcp_checksum_ok(got));
    CHECK(got == want);
  }
}

TEST_CASE("offload: the coalescer keeps flows in order and passes on what it cannot join") {
  const std::uint16_t mss = 1000;
  Bytes a = tcp_packet(3 * mss, 100, 0x10, false, 1, 40000);
  Bytes b = tcp_packet(2 * mss, 900, 0x10, false, 2, 40001);
  auto sa = segment_all(a, tso_hdr(mss)), sb = segment_all(b, tso_hdr(mss));
  SECTION("two interleaved flows each become one super-packet") {
    std::vector<Bytes> in{sa[0], sb[0], sa[1], sb[1], sa[2]};
    auto out = coalesce(in);
    REQUIRE(out.size() == 2);
    CHECK(out[0].nparts + out[1].nparts == 5);
  }
  SECTION("a gap in the sequence closes the run; order within the flow is kept") {
    std::vector<Bytes> in{sa[0], sa[2], sa[1]};
    auto out = coalesce(in);
    REQUIRE(out.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(out[i].hdr.gso_type == off::kGsoNone);
      CHECK(out[i].bytes == in[i]);
    }
  }
  SECTION("a bad TCP checksum is not joined and is counted") {
    std::vector<Bytes> in{sa[0], sa[1], sa[2]};
    in[1][60] ^= std::byte(1);
    off::Coalescer c;
    std::vector<Bytes> got;
    auto emit = [&](const off::TunWrite& w) {
      Bytes x;
      for (auto p : w.parts) x.insert(x.end(), p.begin(), p.end());
      got.push_back(x);
    };
    for (auto& p : in) c.add(MutByteSpan(p), emit);
    c.flush(emit);
    CHECK(c.stats().bad_csum == 1);
    CHECK(c.stats().joined == 0);
    REQUIRE(got.size() == 3);
    CHECK(got[1] == in[1]);
  }
  SECTION("SYN, FIN, RST, pure ACKs and non-TCP go out alone and unchanged") {
    std::vector<Bytes> in{tcp_packet(0, 5, 0x10, true), tcp_packet(10, 5, 0x02, true), tcp_packet(10, 5, 0x11, true),
                          tcp_packet(10, 5, 0x14, true)};
    Bytes udp = tcp_packet(20, 5, 0x10, true);
    udp[9] = std::byte(17);
    in.push_back(udp);
    auto keep = in;
    auto out = coalesce(in);
    REQUIRE(out.size() == keep.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      CHECK(out[i].hdr.gso_type == off::kGsoNone);
      CHECK(out[i].bytes == keep[i]);
    }
  }
  SECTION("a longer segment after the first closes the run; a shorter one ends it") {
    Bytes small = tcp_packet(500, 100, 0x10, true, 3);
    Bytes next = tcp_packet(1000, 600, 0x10, true, 4);
    std::vector<Bytes> in{small, next};
    auto out = coalesce(in);
    CHECK(out.size() == 2);
    std::vector<Bytes> in2{sa[0], tcp_packet(10, 1100, 0x10, true, 5), tcp_packet(10, 1110, 0x10, true, 6)};
    auto out2 = coalesce(in2);
    REQUIRE(out2.size() == 2);
    CHECK(out2[0].nparts == 2);
    CHECK(out2[0].hdr.gso_size == mss);
  }
  SECTION("a different ack number or window is not joined") {
    std::vector<Bytes> in{sa[0], sa[1]};
    put32(in[1], 28, 0x11111111);
    off::fix_ipv4_checksum(MutByteSpan(in[1]));
    put16(in[1], 36, 0);
    put16(in[1], 36,
          static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(
              off::pseudo_header_sum(ByteSpan(in[1]).subspan(12, 4), ByteSpan(in[1]).subspan(16, 4), 6,
                                     static_cast<std::uint16_t>(in[1].size() - 20)),
              ByteSpan(in[1]).subspan(20)))));
    REQUIRE(tcp_checksum_ok(in[1]));
    auto out = coalesce(in);
    CHECK(out.size() == 2);
  }
  SECTION("more flows than runs: the oldest is emitted, nothing is lost") {
    std::vector<Bytes> in;
    for (std::uint16_t f = 0; f < off::Coalescer::kMaxFlows + 3; ++f)
      for (auto& s : segment_all(tcp_packet(2 * mss, 1, 0x10, false, f, static_cast<std::uint16_t>(30000 + f)), tso_hdr(mss)))
        in.push_back(s);
    std::size_t total = 0;
    for (auto& p : in) total += p.size() - 52;
    auto out = coalesce(in);
    std::size_t got = 0;
    for (auto& o : out) got += o.bytes.size() - 52;
    CHECK(got == total);
    CHECK(out.size() == off::Coalescer::kMaxFlows + 3);
  }
}

TEST_CASE("offload: a run stops below 64 KiB and at 64 segments") {
  const std::uint16_t mss = 1400;
  // 60 full segments: more than 65535 bytes once joined.
  std::vector<Bytes> segs;
  for (std::size_t i = 0; i < 60; ++i) segs.push_back(tcp_packet(mss, 1 + static_cast<std::uint32_t>(i) * mss, 0x10, true, 9));
  auto out = coalesce(segs);
  REQUIRE(out.size() >= 2);
  std::size_t n = 0;
  for (auto& o : out) {
    CHECK(o.bytes.size() <= 65535);
    n += o.nparts;
  }
  CHECK(n == 60);

  std::vector<Bytes> tiny;
  for (std::size_t i = 0; i < 70; ++i) tiny.push_back(tcp_packet(10, 1 + static_cast<std::uint32_t>(i) * 10, 0x10, true, 9));
  auto out2 = coalesce(tiny);
  REQUIRE(out2.size() == 2);
  CHECK(out2[0].nparts == off::Coalescer::kMaxSegments);
  CHECK(out2[1].nparts == 70 - off::Coalescer::kMaxSegments);
}

// ---------------------------------------------------------------------------- UDP (USO)
namespace {

// IPv4 10.99.0.1 -> 10.99.0.2 (identification `id`, DF, TTL 64), UDP 40000 -> 5201, a
// payload of `payload` bytes from `salt`. The UDP checksum complete (full), the
// pseudo-header sum only (partial: what a NEEDS_CSUM super-packet carries), or 0 (none).
enum class Csum { full, partial, none };
Bytes udp_packet(std::size_t payload, std::uint32_t salt, Csum csum = Csum::full, std::uint16_t id = 0x4321,
                 std::uint16_t sport = 40000) {
  Bytes p(28 + payload);
  p[0] = std::byte(0x45);
  put16(p, 2, static_cast<unsigned>(p.size()));
  put16(p, 4, id);
  put16(p, 6, 0x4000);
  p[8] = std::byte(64);
  p[9] = std::byte(17);
  put32(p, 12, 0x0a630001);
  put32(p, 16, 0x0a630002);
  put16(p, 20, sport);
  put16(p, 22, 5201);
  put16(p, 24, static_cast<unsigned>(8 + payload));
  std::mt19937 rng(salt);
  for (std::size_t i = 0; i < payload; ++i) p[28 + i] = std::byte(rng() & 0xff);
  off::fix_ipv4_checksum(MutByteSpan(p));
  const std::uint32_t ps = off::pseudo_header_sum(ByteSpan(p).subspan(12, 4), ByteSpan(p).subspan(16, 4), 17,
                                                  static_cast<std::uint16_t>(8 + payload));
  if (csum == Csum::full) {
    auto c = static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(ps, ByteSpan(p).subspan(20))));
    put16(p, 26, c == 0 ? 0xffff : c);
  } else if (csum == Csum::partial) {
    put16(p, 26, off::csum_fold(ps));
  }
  return p;
}

}  // namespace

TEST_CASE("offload: a USO super-packet is cut into datagrams with their own length and checksum") {
  const std::uint16_t size = 1372;
  for (std::size_t payload : {std::size_t(size), std::size_t(3 * size), std::size_t(30 * size + 17), std::size_t(5)}) {
    Bytes super = udp_packet(payload, 9, Csum::partial, 0xfffe);  // identification wraps
    auto segs = segment_all(super, uso_hdr(size));
    CHECK(segs.size() == (payload + size - 1) / size);
    Bytes joined;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const Bytes& s = segs[i];
      CHECK(ip_checksum_ok(s));
      CHECK(be16(s, 2) == s.size());
      CHECK(be16(s, 4) == ((0xfffe + i) & 0xffff));
      CHECK(be16(s, 24) == s.size() - 20);  // UDP length
      CHECK(udp_checksum_ok(s));
      CHECK(be16(s, 26) != 0);
      CHECK(std::memcmp(s.data() + 12, super.data() + 12, 12) == 0);  // addresses, ports
      CHECK(s.size() - 28 == (i + 1 < segs.size() ? size : payload - i * size));
      joined.insert(joined.end(), s.begin() + 28, s.end());
    }
    CHECK(joined == Bytes(super.begin() + 28, super.end()));
  }
}

TEST_CASE("offload: USO Segmenter rejects truncated and mismatched super-packets") {
  Bytes super = udp_packet(3000, 1, Csum::partial);
  for (std::size_t n = 0; n < super.size(); ++n) CHECK_FALSE(off::Segmenter::create(ByteSpan(super).first(n), uso_hdr(1000)).ok());
  CHECK(off::Segmenter::create(super, uso_hdr(1000)).ok());
  Bytes tcp = super;
  tcp[9] = std::byte(6);
  CHECK(off::Segmenter::create(tcp, uso_hdr(1000)).error().code == Errc::malformed);  // UDP_L4 over TCP
  CHECK_FALSE(off::Segmenter::create(super, tso_hdr(1000)).ok());                      // TCPV4 over UDP
  CHECK(off::Segmenter::create(super, uso_hdr(0)).error().code == Errc::malformed);
  Bytes v6 = super;
  v6[0] = std::byte(0x60);
  CHECK(off::Segmenter::create(v6, uso_hdr(1000)).error().code == Errc::unsupported);
  Bytes frag = super;
  put16(frag, 6, 0x2000);
  CHECK_FALSE(off::Segmenter::create(frag, uso_hdr(1000)).ok());
}

TEST_CASE("offload: same-sized UDP datagrams of a flow are joined into one UDP_L4 super-packet") {
  const std::size_t size = 1000;
  std::vector<Bytes> in;
  for (std::uint16_t i = 0; i < 5; ++i) in.push_back(udp_packet(size, 100 + i, Csum::full, static_cast<std::uint16_t>(7 + i)));
  in.push_back(udp_packet(300, 200, Csum::full, 12));  // a shorter last one still joins
  const std::vector<Bytes> orig = in;
  off::Coalescer::Stats st;
  auto out = coalesce(in, true, &st);
  REQUIRE(out.size() == 1);
  const auto& w = out[0];
  CHECK(w.nparts == 6);
  CHECK(w.hdr.gso_kind() == off::kGsoUdpL4);
  CHECK(w.hdr.gso_size == size);
  CHECK(w.hdr.hdr_len == 28);
  CHECK(w.hdr.needs_csum());
  CHECK(w.hdr.csum_start == 20);
  CHECK(w.hdr.csum_offset == 6);
  CHECK(w.bytes.size() == 28 + 5 * size + 300);
  CHECK(ip_checksum_ok(w.bytes));
  CHECK(be16(w.bytes, 2) == w.bytes.size());
  CHECK(be16(w.bytes, 24) == w.bytes.size() - 20);
  CHECK(st.udp_super == 1);
  CHECK(st.joined == 5);
  // The partial checksum is the pseudo-header sum over the super-packet's length: once
  // completed (what NEEDS_CSUM asks of the kernel) it verifies as one big datagram.
  Bytes done = w.bytes;
  REQUIRE(off::complete_checksum(MutByteSpan(done), w.hdr).ok());
  CHECK(udp_checksum_ok(done));
  // Cut again the way the kernel does for the receiving socket: the original datagrams,
  // byte for byte (the identification of the first one counts up, as the originals did).
  auto back = segment_all(w.bytes, w.hdr);
  REQUIRE(back.size() == orig.size());
  for (std::size_t i = 0; i < orig.size(); ++i) CHECK(back[i] == orig[i]);
}

TEST_CASE("offload: UDP coalescing keeps each flow's order and joins only what matches") {
  const std::size_t size = 800;
  SECTION("off by default: every datagram goes out alone") {
    std::vector<Bytes> in{udp_packet(size, 1), udp_packet(size, 2)};
    auto out = coalesce(in);  // a Coalescer without set_udp
    REQUIRE(out.size() == 2);
    CHECK(out[0].hdr.gso_type == off::kGsoNone);
    CHECK(out[0].bytes == udp_packet(size, 1));
  }
  SECTION("two interleaved flows, and TCP on the same ports, stay apart") {
    std::vector<Bytes> in{udp_packet(size, 1, Csum::full, 1, 40000), udp_packet(size, 2, Csum::full, 1, 40001),
                          udp_packet(size, 3, Csum::full, 2, 40000), udp_packet(size, 4, Csum::full, 2, 40001),
                          tcp_packet(size, 5, 0x10, true, 5, 40000)};
    auto out = coalesce(in, true);
    std::size_t udp_super = 0, alone = 0;
    for (auto& w : out) {
      if (w.hdr.gso_kind() == off::kGsoUdpL4) {
        ++udp_super;
        CHECK(w.nparts == 2);
      } else {
        ++alone;
      }
    }
    CHECK(udp_super == 2);
    CHECK(alone == 1);
  }
  SECTION("a larger datagram ends the run and starts the next; a shorter one closes it") {
    std::vector<Bytes> in{udp_packet(size, 1), udp_packet(size, 2), udp_packet(size + 1, 3), udp_packet(size + 1, 4),
                          udp_packet(10, 5), udp_packet(size + 1, 6)};
    auto out = coalesce(in, true);
    REQUIRE(out.size() == 3);
    CHECK(out[0].nparts == 2);
    CHECK(out[0].hdr.gso_size == size);
    CHECK(out[1].nparts == 3);  // size+1, size+1, 10
    CHECK(out[1].hdr.gso_size == size + 1);
    CHECK(out[2].nparts == 1);
    CHECK(out[2].bytes == udp_packet(size + 1, 6));
  }
  SECTION("different TTL, TOS or DF do not join") {
    for (auto [field, bit] : {std::pair{1, 0x20u}, std::pair{6, 0x40u}, std::pair{8, 0x20u}}) {  // TOS, DF, TTL
      Bytes b = udp_packet(size, 2);
      b[field] = std::byte(std::to_integer<unsigned>(b[field]) ^ bit);
      off::fix_ipv4_checksum(MutByteSpan(b));
      std::vector<Bytes> in{udp_packet(size, 1), b};
      auto out = coalesce(in, true);
      CHECK(out.size() == 2);
    }
  }
  SECTION("a bad checksum is passed on alone and counted; no checksum joins") {
    Bytes bad = udp_packet(size, 2);
    bad[40] ^= std::byte(1);
    std::vector<Bytes> in{udp_packet(size, 1), bad, udp_packet(size, 3, Csum::none), udp_packet(size, 4, Csum::none)};
    off::Coalescer::Stats st;
    auto out = coalesce(in, true, &st);
    REQUIRE(out.size() == 3);
    CHECK(st.bad_csum == 1);
    CHECK(out[1].bytes == bad);
    CHECK(out[2].nparts == 2);
  }
  SECTION("UDP length other than the packet's, fragments and empty datagrams go alone") {
    Bytes len = udp_packet(size, 2);
    put16(len, 24, 100);
    Bytes frag = udp_packet(size, 3);
    put16(frag, 6, 0x2000);
    off::fix_ipv4_checksum(MutByteSpan(frag));
    std::vector<Bytes> in{udp_packet(size, 1), len, frag, udp_packet(0, 4), udp_packet(size, 5)};
    auto out = coalesce(in, true);
    CHECK(out.size() == 5);
  }
  SECTION("a run stops at 64 datagrams and below 64 KiB") {
    std::vector<Bytes> small, big;
    for (std::uint32_t i = 0; i < 70; ++i) small.push_back(udp_packet(100, i));
    auto out = coalesce(small, true);
    REQUIRE(out.size() == 2);
    CHECK(out[0].nparts == 64);
    for (std::uint32_t i = 0; i < 60; ++i) big.push_back(udp_packet(1400, i));
    out = coalesce(big, true);
    for (auto& w : out) CHECK(w.bytes.size() <= off::Coalescer::kMaxTotal);
    CHECK(out[0].nparts == (65535 - 28) / 1400);
  }
}
