// libFuzzer target for gre/fixup: the TCP option walker, MSS clamping, the size check and
// the ICMP frag-needed builder. Input byte 0..1 pick the clamp limit, the rest is an IPv4
// packet (and, separately, a bare option list). Contracts checked:
// - the walker's options lie inside the input and follow each other without gaps;
// - clamping changes nothing but MSS values and the TCP checksum, never raises an MSS,
//   leaves every MSS <= limit when it says clamped, and keeps a correct TCP checksum
//   correct (full recomputation);
// - whatever is not `clamped` is left byte for byte as it was;
// - a frag-needed message parses as IPv4, has a good ICMP checksum and quotes the original.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/bytes.h"
#include "gre/fixup.h"
#include "gre/ipv4.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Sum of the TCP pseudo-header and segment of a packet parse_ipv4 accepted; 0xffff when
// the stored checksum is right.
std::uint32_t tcp_sum(const gre::Ipv4View& v) {
  std::uint8_t pseudo[12];
  const auto& h = v.header;
  for (int i = 0; i < 4; ++i) pseudo[i] = static_cast<std::uint8_t>(h.src >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) pseudo[4 + i] = static_cast<std::uint8_t>(h.dst >> (24 - 8 * i));
  pseudo[8] = 0;
  pseudo[9] = gre::kIpProtoTcp;
  pseudo[10] = static_cast<std::uint8_t>(v.payload.size() >> 8);
  pseudo[11] = static_cast<std::uint8_t>(v.payload.size());
  return gre::ones_sum(v.payload, gre::ones_sum(common::as_bytes(pseudo, sizeof pseudo)));
}

// The largest MSS option of an IPv4 TCP segment (0 when none or not walkable), found
// independently of clamp_mss's own header checks.
std::uint16_t max_mss(common::ByteSpan pkt) {
  auto v = gre::parse_ipv4(pkt);
  if (!v || v->payload.size() < gre::kTcpHeaderSize) return 0;
  const auto* t = common::u8(v->payload);
  const std::size_t doff = std::size_t(t[12] >> 4) * 4;
  if (doff < gre::kTcpHeaderSize || doff > v->payload.size()) return 0;
  std::uint16_t best = 0;
  (void)gre::walk_tcp_options(v->payload.subspan(gre::kTcpHeaderSize, doff - gre::kTcpHeaderSize),
                              [&](const gre::TcpOption& o) {
                                if (o.kind != gre::kTcpOptMss) return;
                                const std::size_t at = gre::kTcpHeaderSize + o.offset + 2;
                                best = std::max<std::uint16_t>(best, static_cast<std::uint16_t>((t[at] << 8) | t[at + 1]));
                              });
  return best;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto limit = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
  const common::ByteSpan in = common::as_bytes(data + 2, size - 2);

  // The walker over the raw bytes, as if they were an option list.
  std::size_t next = 0;
  (void)gre::walk_tcp_options(in.first(std::min<std::size_t>(in.size(), 40)), [&](const gre::TcpOption& o) {
    check(o.offset == next);
    check(o.length >= 1 && o.offset + o.length <= std::min<std::size_t>(in.size(), 40));
    check(o.kind != gre::kTcpOptMss || o.length == 4);
    next = o.offset + o.length;
  });

  // Clamping in place on a copy.
  common::Bytes pkt(in.begin(), in.end());
  std::uint16_t mss_before = 0;
  const bool had_mss = gre::read_mss(in, mss_before);
  const auto parsed = gre::parse_ipv4(in);
  const bool sum_ok_before = parsed.ok() && parsed->header.protocol == gre::kIpProtoTcp && tcp_sum(*parsed) == 0xffff;
  const gre::MssClamp r = gre::clamp_mss(common::MutByteSpan(pkt.data(), pkt.size()), limit);
  if (r != gre::MssClamp::clamped) {
    check(std::equal(pkt.begin(), pkt.end(), in.begin(), in.end()));
  } else {
    check(had_mss && max_mss(in) > limit);
    std::uint16_t mss_after = 0;
    check(gre::read_mss(pkt, mss_after) && mss_after <= limit && max_mss(pkt) <= limit);
    auto after = gre::parse_ipv4(pkt);
    check(after.ok());
    if (sum_ok_before) check(tcp_sum(*after) == 0xffff);
    // Only bytes of the TCP header may differ (MSS values and the checksum).
    const std::size_t tcp_start = after->header.header_length;
    for (std::size_t i = 0; i < tcp_start; ++i) check(pkt[i] == in[i]);
  }
  if (r == gre::MssClamp::within_limit) check(had_mss && mss_before <= limit && max_mss(in) <= limit);

  // Size check and frag-needed.
  const std::size_t mtu = 68 + limit % 1500;
  const gre::SizeVerdict sv = gre::check_size(in, mtu);
  std::byte out[gre::kFragNeededMaxSize];
  const std::size_t n = gre::build_frag_needed(out, in, static_cast<std::uint16_t>(mtu), gre::ipv4(172, 16, 0, 2));
  check(n == 0 || parsed.ok());
  if (sv == gre::SizeVerdict::frag_needed) check(n != 0);
  if (n != 0) {
    const common::ByteSpan msg(out, n);
    auto ip = gre::parse_ipv4(msg);
    check(ip.ok() && ip->header.protocol == gre::kIpProtoIcmp && ip->header.dst == parsed->header.src);
    check(gre::ones_sum(ip->payload) == 0xffff);
    const std::size_t quoted = ip->payload.size() - 8;
    check(quoted >= parsed->header.header_length && quoted <= parsed->header.header_length + 8u);
    check(std::memcmp(ip->payload.data() + 8, in.data(), quoted) == 0);
  }
  return 0;
}
