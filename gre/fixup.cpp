#include "gre/fixup.h"

#include <algorithm>
#include <cstring>

#include "gre/ipv4.h"

namespace gre {

namespace {

// A TCP segment inside an IPv4 packet: where its header starts and how long the header is.
struct TcpSegment {
  std::size_t start = 0;       // offset of the TCP header in the IPv4 packet
  std::size_t header_len = 0;  // data offset * 4
  std::uint8_t flags = 0;
};

bool is_ipv4_proto(common::ByteSpan pkt, std::uint8_t proto) {
  const std::uint8_t* b = common::u8(pkt);
  return pkt.size() >= kIpv4HeaderSize && (b[0] >> 4) == 4 && b[9] == proto;
}

// Reads the TCP header of a first-fragment IPv4 TCP packet. not_tcp_syn / malformed as
// described by MssClamp; `clamped` means "a SYN with a sane header" here.
MssClamp tcp_syn_of(common::ByteSpan pkt, TcpSegment& seg) {
  if (!is_ipv4_proto(pkt, kIpProtoTcp)) return MssClamp::not_tcp_syn;
  // Fast path for the data packets of a transfer: a first fragment whose flags byte is
  // there and has no SYN is left alone before the header checksum is summed.
  const std::uint8_t* b = common::u8(pkt);
  const std::size_t ihl = std::size_t(b[0] & 0x0f) * 4;
  const bool first_fragment = ((b[6] << 8 | b[7]) & kIpv4OffsetMask) == 0;
  if (first_fragment && ihl >= kIpv4HeaderSize && pkt.size() >= ihl + kTcpHeaderSize && (b[ihl + 13] & kTcpFlagSyn) == 0)
    return MssClamp::not_tcp_syn;
  auto v = parse_ipv4(pkt);
  if (!v) return MssClamp::malformed;
  if ((v->header.flags_fragment & kIpv4OffsetMask) != 0) return MssClamp::not_tcp_syn;
  const common::ByteSpan tcp = v->payload;
  if (tcp.size() < kTcpHeaderSize) return MssClamp::malformed;
  const std::uint8_t* t = common::u8(tcp);
  seg.flags = t[13];
  if ((seg.flags & kTcpFlagSyn) == 0) return MssClamp::not_tcp_syn;
  seg.start = v->header.header_length;
  seg.header_len = std::size_t(t[12] >> 4) * 4;
  if (seg.header_len < kTcpHeaderSize || seg.header_len > tcp.size()) return MssClamp::malformed;
  return MssClamp::clamped;
}

// Writes `value` big-endian at tcp[at] and keeps the checksum at tcp[16..18) right by
// updating it for each 16-bit word (aligned to the TCP header, as the sum is) that the two
// bytes touch: one word at an even offset, two at an odd one.
void patch_u16_checksummed(std::uint8_t* tcp, std::size_t at, std::uint16_t value) {
  std::uint16_t csum = static_cast<std::uint16_t>((tcp[16] << 8) | tcp[17]);
  const std::size_t first = at & ~std::size_t(1);
  const std::size_t last = (at + 1) & ~std::size_t(1);
  std::uint16_t before[2];
  for (std::size_t w = first, k = 0; w <= last; w += 2, ++k) before[k] = static_cast<std::uint16_t>((tcp[w] << 8) | tcp[w + 1]);
  tcp[at] = static_cast<std::uint8_t>(value >> 8);
  tcp[at + 1] = static_cast<std::uint8_t>(value);
  for (std::size_t w = first, k = 0; w <= last; w += 2, ++k) {
    const auto after = static_cast<std::uint16_t>((tcp[w] << 8) | tcp[w + 1]);
    // An unchanged word would turn a checksum of 0x0000 into 0xffff (RFC 1624 erratum 4782).
    if (after != before[k]) csum = checksum_update(csum, before[k], after);
  }
  tcp[16] = static_cast<std::uint8_t>(csum >> 8);
  tcp[17] = static_cast<std::uint8_t>(csum);
}

bool is_unicast_host(std::uint32_t a) {
  const std::uint8_t first = static_cast<std::uint8_t>(a >> 24);
  return a != 0 && first != 0 && first != 127 && first < 224;
}

// RFC 1122 §3.2.2 / RFC 1812 §4.3.2.7: no ICMP error about these.
bool icmp_error_allowed(const Ipv4View& v) {
  const auto& h = v.header;
  if ((h.flags_fragment & kIpv4OffsetMask) != 0) return false;
  if (!is_unicast_host(h.src) || h.dst >= ipv4(224, 0, 0, 0)) return false;
  if (h.protocol == kIpProtoIcmp) {
    if (v.payload.empty()) return false;
    const std::uint8_t type = common::u8(v.payload)[0];
    // Errors (3 unreachable, 4 source quench, 5 redirect, 11 time exceeded, 12 parameter
    // problem) and types we do not know are treated as errors.
    if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12 || type > 18) return false;
  }
  return true;
}

}  // namespace

std::uint16_t checksum_update(std::uint16_t hc, std::uint16_t old_word, std::uint16_t new_word) {
  std::uint32_t sum = std::uint32_t(static_cast<std::uint16_t>(~hc)) + static_cast<std::uint16_t>(~old_word) + new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::string_view to_string(MssClamp c) {
  switch (c) {
    case MssClamp::not_tcp_syn: return "not_tcp_syn";
    case MssClamp::no_mss: return "no_mss";
    case MssClamp::within_limit: return "within_limit";
    case MssClamp::clamped: return "clamped";
    case MssClamp::malformed: return "malformed";
  }
  return "?";
}

std::string_view to_string(SizeVerdict v) {
  switch (v) {
    case SizeVerdict::fits: return "fits";
    case SizeVerdict::frag_needed: return "frag_needed";
    case SizeVerdict::no_icmp_drop: return "no_icmp_drop";
    case SizeVerdict::forward_no_df: return "forward_no_df";
    case SizeVerdict::malformed: return "malformed";
  }
  return "?";
}

MssClamp clamp_mss(common::MutByteSpan ipv4, std::uint16_t limit) {
  TcpSegment seg;
  if (auto r = tcp_syn_of(ipv4, seg); r != MssClamp::clamped) return r;
  std::uint8_t* tcp = common::u8(ipv4) + seg.start;
  const common::ByteSpan options(ipv4.data() + seg.start + kTcpHeaderSize, seg.header_len - kTcpHeaderSize);
  // Find first, change after: a malformed option later in the list leaves the packet as is.
  std::size_t at[10];  // 40 option bytes hold at most ten 4-byte MSS options
  std::size_t found = 0;
  const bool ok = walk_tcp_options(options, [&](const TcpOption& o) {
    if (o.kind == kTcpOptMss && found < std::size(at)) at[found++] = kTcpHeaderSize + o.offset + 2;
  });
  if (!ok) return MssClamp::malformed;
  if (found == 0) return MssClamp::no_mss;
  bool changed = false;
  for (std::size_t i = 0; i < found; ++i) {
    const std::uint16_t mss = static_cast<std::uint16_t>((tcp[at[i]] << 8) | tcp[at[i] + 1]);
    if (mss <= limit) continue;
    patch_u16_checksummed(tcp, at[i], limit);
    changed = true;
  }
  return changed ? MssClamp::clamped : MssClamp::within_limit;
}

bool read_mss(common::ByteSpan ipv4, std::uint16_t& mss) {
  TcpSegment seg;
  if (tcp_syn_of(ipv4, seg) != MssClamp::clamped) return false;
  const std::uint8_t* tcp = common::u8(ipv4) + seg.start;
  const common::ByteSpan options(ipv4.data() + seg.start + kTcpHeaderSize, seg.header_len - kTcpHeaderSize);
  std::uint16_t last = 0;
  const bool ok = walk_tcp_options(options, [&](const TcpOption& o) {
    if (o.kind != kTcpOptMss) return;
    const std::size_t at = kTcpHeaderSize + o.offset + 2;
    last = static_cast<std::uint16_t>((tcp[at] << 8) | tcp[at + 1]);
  });
  if (!ok) return false;
  mss = last;
  return true;
}

SizeVerdict check_size(common::ByteSpan ipv4, std::size_t mtu) {
  auto v = parse_ipv4(ipv4);
  if (!v) return SizeVerdict::malformed;
  if (v->header.total_length <= mtu) return SizeVerdict::fits;
  if ((v->header.flags_fragment & kIpv4FlagDf) == 0) return SizeVerdict::forward_no_df;
  return icmp_error_allowed(*v) ? SizeVerdict::frag_needed : SizeVerdict::no_icmp_drop;
}

std::size_t build_frag_needed(common::MutByteSpan out, common::ByteSpan original, std::uint16_t next_hop_mtu,
                              std::uint32_t src) {
  auto v = parse_ipv4(original);
  if (!v) return 0;
  const std::size_t hlen = v->header.header_length;
  const std::size_t quote = hlen + std::min<std::size_t>(8, v->payload.size());
  const std::size_t icmp_len = 8 + quote;
  if (out.size() < kIpv4HeaderSize + icmp_len) return 0;
  common::MutByteSpan icmp = out.subspan(kIpv4HeaderSize, icmp_len);
  common::Writer w(icmp);
  w.u8(kIcmpDestUnreachable);
  w.u8(kIcmpCodeFragNeeded);
  w.u16(0);  // checksum, below
  w.u16(0);  // unused
  w.u16(next_hop_mtu);
  w.bytes(original.first(quote));
  if (!w.ok()) return 0;
  w.patch_u16(2, inet_checksum(icmp));
  Ipv4Header h;
  h.tos = 0xc0;  // internetwork control, as routers send their ICMP (RFC 1812 §4.3.2.5)
  h.ttl = 64;
  h.protocol = kIpProtoIcmp;
  h.src = src;
  h.dst = v->header.src;
  if (!write_ipv4_header(out, h, icmp_len)) return 0;
  return kIpv4HeaderSize + icmp_len;
}

void Fixup::count(MssClamp c, std::uint64_t& clamped) {
  if (c == MssClamp::clamped) ++clamped;
  else if (c == MssClamp::malformed) ++counters_.mss_malformed;
}

Fixup::Out Fixup::outbound(common::MutByteSpan ipv4, common::MutByteSpan reply, std::size_t& reply_len) {
  reply_len = 0;
  if (cfg_.mtu != 0) {
    switch (check_size(ipv4, cfg_.mtu)) {
      case SizeVerdict::fits:
      case SizeVerdict::malformed:
        break;
      case SizeVerdict::forward_no_df:
        ++counters_.too_big_forwarded;
        break;
      case SizeVerdict::frag_needed:
        reply_len = build_frag_needed(reply, ipv4, cfg_.mtu, cfg_.icmp_src);
        if (reply_len == 0) {
          ++counters_.too_big_dropped;
          return Out::drop;
        }
        ++counters_.frag_needed_sent;
        return Out::reply;
      case SizeVerdict::no_icmp_drop:
        ++counters_.too_big_dropped;
        return Out::drop;
    }
  }
  if (cfg_.mss != 0) count(clamp_mss(ipv4, cfg_.mss), counters_.mss_clamped_out);
  return Out::send;
}

void Fixup::inbound(common::MutByteSpan ipv4) {
  if (cfg_.mss != 0) count(clamp_mss(ipv4, cfg_.mss), counters_.mss_clamped_in);
}

}  // namespace gre
