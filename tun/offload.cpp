#include "tun/offload.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tun::offload {

using common::Errc;
using common::make_error;

namespace {

constexpr std::uint8_t kProtoTcp = 6, kProtoUdp = 17;
constexpr std::uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10,
                       kTcpUrg = 0x20, kTcpCwr = 0x80;
constexpr std::size_t kIpMin = 20, kTcpMin = 20, kUdpHdr = 8;
constexpr std::size_t kUdpLen = 4, kUdpCsum = 6;
constexpr std::size_t kTcpSeq = 4, kTcpFlags = 13, kTcpCsum = 16;

std::uint16_t load16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) << 8 | std::to_integer<unsigned>(p[1]));
}
std::uint32_t load32(const std::byte* p) { return std::uint32_t(load16(p)) << 16 | load16(p + 2); }
void store16(std::byte* p, std::uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
void store32(std::byte* p, std::uint32_t v) {
  store16(p, static_cast<std::uint16_t>(v >> 16));
  store16(p + 2, static_cast<std::uint16_t>(v & 0xffff));
}
std::uint16_t le16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) | std::to_integer<unsigned>(p[1]) << 8);
}
void store_le16(std::byte* p, std::uint16_t v) {
  p[0] = std::byte(v & 0xff);
  p[1] = std::byte(v >> 8);
}

std::size_t ihl_of(ByteSpan ip) { return std::size_t(std::to_integer<unsigned>(ip[0]) & 0x0f) * 4; }
std::size_t thl_of(ByteSpan tcp) { return std::size_t(std::to_integer<unsigned>(tcp[12]) >> 4) * 4; }
std::uint8_t tcp_flags(ByteSpan tcp) { return std::to_integer<std::uint8_t>(tcp[kTcpFlags]); }

// The TCP or UDP checksum of ip (IPv4 header + segment) verifies.
bool l4_checksum_ok(ByteSpan ip, std::size_t ihl, std::uint8_t proto) {
  const std::size_t l4_len = ip.size() - ihl;
  std::uint32_t s = pseudo_header_sum(ip.subspan(12, 4), ip.subspan(16, 4), proto,
                                      static_cast<std::uint16_t>(l4_len));
  return csum_fold(csum_add(s, ip.subspan(ihl))) == 0xffff;
}

}  // namespace

// ---------------------------------------------------------------------------- virtio header

Result<VnetHdr> parse_vnet_hdr(ByteSpan in) {
  if (in.size() < kVnetHdrSize) return make_error(Errc::truncated, "virtio_net_hdr: shorter than 10 bytes");
  VnetHdr h;
  h.flags = std::to_integer<std::uint8_t>(in[0]);
  h.gso_type = std::to_integer<std::uint8_t>(in[1]);
  h.hdr_len = le16(in.data() + 2);
  h.gso_size = le16(in.data() + 4);
  h.csum_start = le16(in.data() + 6);
  h.csum_offset = le16(in.data() + 8);
  return h;
}

void serialize_vnet_hdr(const VnetHdr& h, std::span<std::byte, kVnetHdrSize> out) {
  out[0] = std::byte(h.flags);
  out[1] = std::byte(h.gso_type);
  store_le16(out.data() + 2, h.hdr_len);
  store_le16(out.data() + 4, h.gso_size);
  store_le16(out.data() + 6, h.csum_start);
  store_le16(out.data() + 8, h.csum_offset);
}

// ---------------------------------------------------------------------------- checksums

std::uint32_t csum_add(std::uint32_t sum, ByteSpan data) {
  // Native-order 32-bit loads into a 64-bit accumulator; the ones' complement sum does
  // not depend on byte order except for a final swap (RFC 1071 §2(B)).
  const std::byte* p = data.data();
  std::size_t n = data.size();
  std::uint64_t acc = 0;
  while (n >= 16) {
    std::uint32_t w[4];
    std::memcpy(w, p, 16);
    acc += std::uint64_t(w[0]) + w[1] + w[2] + w[3];
    p += 16;
    n -= 16;
  }
  while (n >= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    std::uint16_t w;
    std::memcpy(&w, p, 2);
    acc += w;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    // The odd last byte is the high byte of a big-endian word padded with zero.
    std::uint16_t w = 0;
    std::memcpy(&w, p, 1);
    acc += w;
  }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  std::uint16_t folded = static_cast<std::uint16_t>(acc);
  if constexpr (std::endian::native == std::endian::little)
    folded = static_cast<std::uint16_t>(folded << 8 | folded >> 8);
  std::uint64_t total = std::uint64_t(sum) + folded;
  while (total >> 32) total = (total & 0xffffffff) + (total >> 32);
  return static_cast<std::uint32_t>(total);
}

std::uint16_t csum_fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::uint32_t pseudo_header_sum(ByteSpan src4, ByteSpan dst4, std::uint8_t protocol, std::uint16_t length) {
  return std::uint32_t(load16(src4.data())) + load16(src4.data() + 2) + load16(dst4.data()) +
         load16(dst4.data() + 2) + protocol + length;
}

void fix_ipv4_checksum(MutByteSpan ip) {
  const std::size_t ihl = ihl_of(ip);
  store16(ip.data() + 10, 0);
  store16(ip.data() + 10, static_cast<std::uint16_t>(~csum_fold(csum_add(0, ip.first(ihl)))));
}

common::Status complete_checksum(MutByteSpan pkt, const VnetHdr& h) {
  const std::size_t start = h.csum_start, field = std::size_t(h.csum_start) + h.csum_offset;
  if (start >= pkt.size() || field + 2 > pkt.size())
    return make_error(Errc::malformed, "virtio_net_hdr: checksum offsets outside the packet");
  const std::uint16_t c = static_cast<std::uint16_t>(~csum_fold(csum_add(0, pkt.subspan(start))));
  store16(pkt.data() + field, c);
  return {};
}

// ---------------------------------------------------------------------------- Segmenter

Result<Segmenter> Segmenter::create(ByteSpan pkt, const VnetHdr& h) {
  const bool udp = h.gso_kind() == kGsoUdpL4;
  if (h.gso_kind() != kGsoTcpV4 && !udp)
    return make_error(Errc::unsupported, "GSO: only IPv4 TCP and UDP super-packets are segmented");
  if (h.gso_size == 0) return make_error(Errc::malformed, "GSO: gso_size is 0");
  if (pkt.size() < kIpMin) return make_error(Errc::truncated, "GSO: shorter than an IPv4 header");
  if ((std::to_integer<unsigned>(pkt[0]) >> 4) != 4) return make_error(Errc::unsupported, "GSO: not IPv4");
  const std::size_t ihl = ihl_of(pkt);
  if (ihl < kIpMin) return make_error(Errc::malformed, "GSO: IPv4 IHL below 5");
  if (pkt.size() < ihl + (udp ? kUdpHdr : kTcpMin))
    return make_error(Errc::truncated, "GSO: shorter than the IPv4 + TCP/UDP headers");
  if (load16(pkt.data() + 2) != pkt.size())
    return make_error(Errc::malformed, "GSO: IPv4 total length is not the packet length");
  if ((load16(pkt.data() + 6) & 0x3fff) != 0) return make_error(Errc::malformed, "GSO: IPv4 fragment");
  const std::uint8_t proto = std::to_integer<std::uint8_t>(pkt[9]);
  if (proto != (udp ? kProtoUdp : kProtoTcp)) return make_error(Errc::malformed, "GSO: protocol does not match gso_type");
  std::size_t thl = kUdpHdr;
  if (!udp) {
    thl = thl_of(pkt.subspan(ihl));
    if (thl < kTcpMin) return make_error(Errc::malformed, "GSO: TCP data offset below 5");
    if (pkt.size() < ihl + thl) return make_error(Errc::truncated, "GSO: shorter than the TCP header with options");
  }
  Segmenter s;
  s.pkt_ = pkt;
  s.udp_ = udp;
  s.ip_hlen_ = ihl;
  s.tcp_hlen_ = thl;
  s.payload_ = pkt.size() - ihl - thl;
  s.mss_ = h.gso_size;
  s.count_ = s.payload_ == 0 ? 1 : (s.payload_ + s.mss_ - 1) / s.mss_;
  return s;
}

std::size_t Segmenter::segment_size(std::size_t i) const {
  const std::size_t off = i * mss_;
  return header_size() + (off >= payload_ ? 0 : std::min(mss_, payload_ - off));
}

Result<std::size_t> Segmenter::write(std::size_t i, MutByteSpan out) const {
  if (i >= count_) return make_error(Errc::state, "GSO: segment index out of range");
  const std::size_t len = segment_size(i);
  if (out.size() < len) return make_error(Errc::truncated, "GSO: output buffer too small for the segment");
  const std::size_t hlen = header_size(), off = i * mss_, data = len - hlen;
  std::memcpy(out.data(), pkt_.data(), hlen);
  if (data) std::memcpy(out.data() + hlen, pkt_.data() + hlen + off, data);

  std::byte* ip = out.data();
  store16(ip + 2, static_cast<std::uint16_t>(len));
  store16(ip + 4, static_cast<std::uint16_t>(load16(pkt_.data() + 4) + i));
  fix_ipv4_checksum(out.first(ip_hlen_));
  if (udp_) finish_udp(ip, len);
  else finish_tcp(ip, i, len, off);
  return len;
}

void Segmenter::finish_tcp(std::byte* ip, std::size_t i, std::size_t len, std::size_t off) const {
  std::byte* tcp = ip + ip_hlen_;
  store32(tcp + kTcpSeq, static_cast<std::uint32_t>(load32(tcp + kTcpSeq) + off));
  std::uint8_t flags = std::to_integer<std::uint8_t>(tcp[kTcpFlags]);
  if (i != 0) flags &= static_cast<std::uint8_t>(~kTcpCwr);
  if (i + 1 != count_) flags &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh));
  tcp[kTcpFlags] = std::byte(flags);
  store16(tcp + kTcpCsum, 0);
  const std::size_t tcp_len = len - ip_hlen_;
  std::uint32_t s = pseudo_header_sum(ByteSpan(ip + 12, 4), ByteSpan(ip + 16, 4), kProtoTcp,
                                      static_cast<std::uint16_t>(tcp_len));
  store16(tcp + kTcpCsum, static_cast<std::uint16_t>(~csum_fold(csum_add(s, ByteSpan(tcp, tcp_len)))));
}

void Segmenter::finish_udp(std::byte* ip, std::size_t len) const {
  std::byte* udp = ip + ip_hlen_;
  const auto udp_len = static_cast<std::uint16_t>(len - ip_hlen_);
  store16(udp + kUdpLen, udp_len);
  store16(udp + kUdpCsum, 0);
  std::uint32_t s = pseudo_header_sum(ByteSpan(ip + 12, 4), ByteSpan(ip + 16, 4), kProtoUdp, udp_len);
  const auto c = static_cast<std::uint16_t>(~csum_fold(csum_add(s, ByteSpan(udp, udp_len))));
  store16(udp + kUdpCsum, c == 0 ? 0xffff : c);  // RFC 768: 0 means "no checksum"
}

// ---------------------------------------------------------------------------- Coalescer

Coalescer::Run* Coalescer::find_run(const Key& key) {
  for (auto& r : runs_)
    if (r.open && r.key == key) return &r;
  return nullptr;
}

Coalescer::Run* Coalescer::free_run() {
  for (auto& r : runs_)
    if (!r.open) return &r;
  Run* victim = &runs_[next_victim_];
  next_victim_ = (next_victim_ + 1) % kMaxFlows;
  return victim;
}

Coalescer::Decision Coalescer::offer(MutByteSpan pkt) {
  // Could a run hold it? IPv4 without options, not a fragment, total length == packet,
  // TCP (or UDP when enabled).
  if (pkt.size() < kIpMin + kUdpHdr || (std::to_integer<unsigned>(pkt[0]) != 0x45) ||
      load16(pkt.data() + 2) != pkt.size() || (load16(pkt.data() + 6) & 0x3fff) != 0)
    return {};
  const std::uint8_t proto = std::to_integer<std::uint8_t>(pkt[9]);
  if (proto == kProtoTcp) return offer_tcp(pkt);
  if (proto == kProtoUdp && udp_) return offer_udp(pkt);
  return {};
}

Coalescer::Decision Coalescer::offer_tcp(MutByteSpan pkt) {
  Decision d;
  // A TCP header within the packet, only ACK (and PSH) set, some payload.
  if (pkt.size() < kIpMin + kTcpMin) return d;
  ByteSpan tcp = ByteSpan(pkt).subspan(kIpMin);
  const std::size_t thl = thl_of(tcp);
  if (thl < kTcpMin || tcp.size() < thl) return d;
  Key key;
  std::memcpy(key.addr_ports.data(), pkt.data() + 12, 8);
  std::memcpy(key.addr_ports.data() + 8, tcp.data(), 4);
  key.proto = kProtoTcp;
  Run* same = find_run(key);

  const std::uint8_t flags = tcp_flags(tcp);
  const std::size_t payload = tcp.size() - thl;
  const bool plain_ack = (flags & kTcpAck) && !(flags & (kTcpFin | kTcpSyn | kTcpRst | kTcpUrg | 0xc0));
  if (!plain_ack || payload == 0) {
    d.close = same;  // keep the flow in order: what was held goes first
    return d;
  }
  if (!l4_checksum_ok(pkt, kIpMin, kProtoTcp)) {
    ++stats_.bad_csum;
    d.close = same;
    return d;
  }
  seg_.key = key;
  seg_.hlen = kIpMin + thl;
  seg_.payload = payload;
  seg_.seq = load32(tcp.data() + kTcpSeq);
  seg_.psh = (flags & kTcpPsh) != 0;

  if (same) {
    Run& r = *same;
    ByteSpan f = r.first;
    const bool fits = !r.closed && r.nparts < kMaxSegments && seg_.hlen == r.hlen && payload <= r.mss &&
                      r.total + payload <= kMaxTotal && seg_.seq == r.next_seq;
    // IPv4: TOS, flags/fragment, TTL (protocol and addresses are in the key); TCP:
    // ack, data offset, flags but PSH, window, urgent pointer, options.
    const bool same_headers =
        fits && f[1] == pkt[1] && std::memcmp(f.data() + 6, pkt.data() + 6, 3) == 0 &&
        std::memcmp(f.data() + kIpMin + 8, tcp.data() + 8, 5) == 0 &&
        ((std::to_integer<unsigned>(f[kIpMin + kTcpFlags]) | kTcpPsh) == (flags | kTcpPsh)) &&
        std::memcmp(f.data() + kIpMin + 14, tcp.data() + 14, 2) == 0 &&
        std::memcmp(f.data() + kIpMin + 18, tcp.data() + 18, thl - 18) == 0;
    if (same_headers) {
      r.parts[r.nparts++] = ByteSpan(pkt).subspan(seg_.hlen);
      r.total += payload;
      r.next_seq += static_cast<std::uint32_t>(payload);
      r.psh = seg_.psh;
      if (seg_.psh || payload < r.mss || r.nparts == kMaxSegments || r.total + r.mss > kMaxTotal) r.closed = true;
      ++stats_.joined;
      d.joined = true;
      return d;
    }
    d.close = same;
    if (seg_.psh) return d;  // nothing could join it: alone
    d.start = same;          // finished (closed) first, then reused
    return d;
  }
  if (seg_.psh) return d;
  d.start = free_run();
  return d;
}

Coalescer::Decision Coalescer::offer_udp(MutByteSpan pkt) {
  Decision d;
  ByteSpan udp = ByteSpan(pkt).subspan(kIpMin);
  if (load16(udp.data() + kUdpLen) != udp.size()) return d;  // UDP length must be the packet's
  Key key;
  std::memcpy(key.addr_ports.data(), pkt.data() + 12, 8);
  std::memcpy(key.addr_ports.data() + 8, udp.data(), 4);
  key.proto = kProtoUdp;
  Run* same = find_run(key);
  const std::size_t payload = udp.size() - kUdpHdr;
  // The super-packet goes to the kernel with a partial checksum, which it trusts: only
  // datagrams whose checksum verifies (or that carry none) are joined.
  const bool csum_ok = load16(udp.data() + kUdpCsum) == 0 || l4_checksum_ok(pkt, kIpMin, kProtoUdp);
  if (!csum_ok) ++stats_.bad_csum;
  if (payload == 0 || !csum_ok) {
    d.close = same;  // keep the flow in order
    return d;
  }
  seg_.key = key;
  seg_.hlen = kIpMin + kUdpHdr;
  seg_.payload = payload;
  seg_.seq = 0;
  seg_.psh = false;
  if (same) {
    Run& r = *same;
    ByteSpan f = r.first;
    // IPv4: TOS, flags/fragment, TTL must match; a datagram larger than the run's size
    // cannot follow (only the last segment may be shorter).
    const bool joins = !r.closed && r.nparts < kMaxSegments && payload <= r.mss && r.total + payload <= kMaxTotal &&
                       f[1] == pkt[1] && std::memcmp(f.data() + 6, pkt.data() + 6, 3) == 0;
    if (joins) {
      r.parts[r.nparts++] = udp.subspan(kUdpHdr);
      r.total += payload;
      if (payload < r.mss || r.nparts == kMaxSegments || r.total + r.mss > kMaxTotal) r.closed = true;
      ++stats_.joined;
      d.joined = true;
      return d;
    }
    d.close = same;
    d.start = same;
    return d;
  }
  d.start = free_run();
  return d;
}

void Coalescer::begin(Run& r, MutByteSpan pkt) {
  r.open = true;
  r.closed = false;
  r.key = seg_.key;
  r.first = pkt;
  r.hlen = seg_.hlen;
  r.mss = seg_.payload;
  r.total = pkt.size();
  r.next_seq = static_cast<std::uint32_t>(seg_.seq + seg_.payload);
  r.psh = seg_.psh;
  r.parts[0] = pkt;
  r.nparts = 1;
}

TunWrite Coalescer::plain(MutByteSpan pkt) {
  alone_ = pkt;
  return TunWrite{VnetHdr{}, std::span<const ByteSpan>(&alone_, 1)};
}

TunWrite Coalescer::finish(Run& r) {
  r.open = false;
  if (r.nparts == 1) return TunWrite{VnetHdr{}, std::span<const ByteSpan>(r.parts.data(), 1)};
  ++stats_.super;
  const bool udp = r.key.proto == kProtoUdp;
  if (udp) ++stats_.udp_super;
  std::byte* ip = r.first.data();
  store16(ip + 2, static_cast<std::uint16_t>(r.total));
  fix_ipv4_checksum(r.first.first(kIpMin));
  std::byte* l4 = ip + kIpMin;
  const auto l4_len = static_cast<std::uint16_t>(r.total - kIpMin);
  if (udp) {
    store16(l4 + kUdpLen, l4_len);
  } else {
    std::uint8_t flags = std::to_integer<std::uint8_t>(l4[kTcpFlags]);
    l4[kTcpFlags] = std::byte(r.psh ? (flags | kTcpPsh) : (flags & ~kTcpPsh));
  }
  // CHECKSUM_PARTIAL: the field holds the pseudo-header sum over the whole super-packet's
  // length; the kernel adjusts it per segment and never needs the full sum for a packet it
  // delivers locally (the segments were verified on the way in).
  const std::size_t csum_at = udp ? kUdpCsum : kTcpCsum;
  store16(l4 + csum_at, csum_fold(pseudo_header_sum(ByteSpan(ip + 12, 4), ByteSpan(ip + 16, 4),
                                                    udp ? kProtoUdp : kProtoTcp, l4_len)));
  VnetHdr h;
  h.flags = kFlagNeedsCsum;
  h.gso_type = udp ? kGsoUdpL4 : kGsoTcpV4;
  h.hdr_len = static_cast<std::uint16_t>(r.hlen);
  h.gso_size = static_cast<std::uint16_t>(r.mss);
  h.csum_start = static_cast<std::uint16_t>(kIpMin);
  h.csum_offset = static_cast<std::uint16_t>(csum_at);
  return TunWrite{h, std::span<const ByteSpan>(r.parts.data(), r.nparts)};
}

}  // namespace tun::offload
