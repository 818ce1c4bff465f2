// TUN offloads (Linux IFF_VNET_HDR + TUNSETOFFLOAD): the codecs between the kernel's TCP
// "super-packets" and the MTU-sized IPv4 packets that go through ESP. Pure functions and
// small fixed-size state: no I/O, no allocation, no logging.
//
// virtio_net_hdr (virtio 1.x §5.1.6 "struct virtio_net_hdr", without num_buffers; the
// TUN device prefixes every packet with it once IFF_VNET_HDR is set). Fields are
// little-endian (the legacy layout on little-endian hosts, and what TUNSETVNETLE asks for):
//    0               1               2               3
//   +---------------+---------------+-------------------------------+
//   |     flags     |   gso_type    |            hdr_len            |
//   +---------------+---------------+-------------------------------+
//   |           gso_size            |          csum_start           |
//   +-------------------------------+-------------------------------+
//   |          csum_offset          |
//   +-------------------------------+
// flags: NEEDS_CSUM (1) — the checksum at csum_start + csum_offset holds only the
// pseudo-header sum; the sum over [csum_start, end) must still be folded into it.
// gso_type: NONE (0), TCPV4 (1), UDP (3, the old UFO), TCPV6 (4), UDP_L4 (5, virtio 1.2:
// UDP segmentation, Linux's USO), | ECN (0x80). gso_size is the payload size of every
// segment but the last; hdr_len the length of the IP + TCP (or UDP) headers.
//
// Segmentation (kernel → us): TSO by Linux's tcp_gso_segment rules. Every segment carries a
// copy of the IPv4 and TCP headers; IPv4 total length, identification (+1 per segment)
// and header checksum are rewritten; TCP sequence advances by the payload of the
// segments before; CWR only on the first segment, FIN and PSH only on the last; the TCP
// checksum (RFC 793 §3.1, pseudo header RFC 793/RFC 9293 §3.1) is computed in full.
// USO (an application's UDP_SEGMENT send routed into the device): the same IPv4 rules;
// every datagram gets its own UDP length and a full UDP checksum (RFC 768; a computed 0
// is sent as 0xffff).
//
// Coalescing (us → kernel, like GRO): in-order TCP segments of one flow with identical
// IPv4 and TCP headers apart from total length, identification, checksum, sequence
// number and PSH are joined into one super-packet written with a TCPV4 GSO header and a
// partial checksum (NEEDS_CSUM). With UDP enabled (the device took USO), consecutive UDP
// datagrams of one flow (addresses, ports) with the same TOS, DF and TTL and the same
// payload size (a shorter one ends the run) are joined into a UDP_L4 super-packet the
// kernel cuts back into those datagrams. Anything else goes out as it came.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.h"
#include "common/result.h"

namespace tun::offload {

using common::ByteSpan;
using common::MutByteSpan;
using common::Result;

inline constexpr std::size_t kVnetHdrSize = 10;

inline constexpr std::uint8_t kFlagNeedsCsum = 1;
inline constexpr std::uint8_t kFlagDataValid = 2;
inline constexpr std::uint8_t kGsoNone = 0;
inline constexpr std::uint8_t kGsoTcpV4 = 1;
inline constexpr std::uint8_t kGsoUdp = 3;
inline constexpr std::uint8_t kGsoTcpV6 = 4;
inline constexpr std::uint8_t kGsoUdpL4 = 5;
inline constexpr std::uint8_t kGsoEcn = 0x80;

struct VnetHdr {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;  // including the ECN bit
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;

  std::uint8_t gso_kind() const { return gso_type & static_cast<std::uint8_t>(~kGsoEcn); }
  bool needs_csum() const { return (flags & kFlagNeedsCsum) != 0; }
};

// Errc::truncated below 10 bytes; any flags/gso_type values are returned as read (the
// users below reject what they do not handle).
Result<VnetHdr> parse_vnet_hdr(ByteSpan in);
void serialize_vnet_hdr(const VnetHdr& h, std::span<std::byte, kVnetHdrSize> out);

// ---- Internet checksum (RFC 1071) ----
// Ones' complement sum of `data` as big-endian 16-bit words (an odd last byte is padded
// with zero), added to `sum`; not folded, not complemented. Chunks are summed
// separately only at even offsets.
std::uint32_t csum_add(std::uint32_t sum, ByteSpan data);
// Folds to 16 bits (no complement).
std::uint16_t csum_fold(std::uint32_t sum);
// The IPv4 pseudo header sum (RFC 793 §3.1): addresses as read from the packet (network
// order bytes), protocol, upper-layer length.
std::uint32_t pseudo_header_sum(ByteSpan src4, ByteSpan dst4, std::uint8_t protocol, std::uint16_t length);
// Recomputes the IPv4 header checksum of the header at the front of `ip` (IHL bytes).
void fix_ipv4_checksum(MutByteSpan ip);

// Finishes a NEEDS_CSUM packet without GSO in place: sums [csum_start, end) (the field
// holds the pseudo-header sum) and stores the complemented result at csum_start +
// csum_offset. Errc::malformed when the offsets do not fit the packet.
common::Status complete_checksum(MutByteSpan pkt, const VnetHdr& h);

// ---- Segmentation (TSO / USO: one IPv4 + TCP or UDP super-packet → segments) ----
class Segmenter {
 public:
  // pkt: the super-packet after the virtio header. Accepts gso_kind() == TCPV4 or UDP_L4
  // with gso_size > 0, version 4 with IHL 5..15, total length == pkt.size(), not a
  // fragment, protocol TCP (TCPV4; TCP data offset 5..15 within the packet) or UDP
  // (UDP_L4). Errc::malformed otherwise (Errc::truncated when shorter than the headers;
  // Errc::unsupported for other GSO kinds, IPv6 included).
  static Result<Segmenter> create(ByteSpan pkt, const VnetHdr& h);

  std::size_t count() const { return count_; }
  std::size_t header_size() const { return ip_hlen_ + tcp_hlen_; }
  // Total IPv4 length of segment i (i < count()).
  std::size_t segment_size(std::size_t i) const;
  // Writes segment i into out (out.size() >= segment_size(i)); returns its length.
  // Errc::truncated when out is too small, Errc::state when i is out of range.
  Result<std::size_t> write(std::size_t i, MutByteSpan out) const;

 private:
  Segmenter() = default;
  void finish_tcp(std::byte* ip, std::size_t i, std::size_t len, std::size_t off) const;
  void finish_udp(std::byte* ip, std::size_t len) const;
  ByteSpan pkt_;
  bool udp_ = false;
  std::size_t ip_hlen_ = 0, tcp_hlen_ = 0, payload_ = 0, mss_ = 0, count_ = 0;  // tcp_hlen_: 8 for UDP
};

// ---- Coalescing (GRO-like: TCP segments of one flow → one GSO super-packet) ----
// One write for the TUN device: a virtio header and the packet as parts to gather
// (writev): parts[0] is a whole IPv4 packet (its header rewritten for the super-packet),
// parts[1..] the TCP payloads of the segments joined to it.
struct TunWrite {
  VnetHdr hdr;
  std::span<const ByteSpan> parts;
};

class Coalescer {
 public:
  static constexpr std::size_t kMaxFlows = 8;      // runs open at once
  static constexpr std::size_t kMaxSegments = 64;  // segments per super-packet
  static constexpr std::size_t kMaxTotal = 65535;  // IPv4 total length limit

  // UDP datagrams are joined only when asked for: the device must take UDP_L4 writes
  // (TUN_F_USO4, Linux 6.2 and later). TCP is always joined.
  void set_udp(bool on) { udp_ = on; }

  // Offers one inner IPv4 packet (writable: the first segment of a run gets its headers
  // rewritten when the run is emitted). The packet memory must stay valid and unchanged
  // until flush(). Packets that cannot be joined, and runs that close, lead to
  // emit(const TunWrite&) calls, in an order that keeps every flow's packets in sequence.
  template <class Emit>
  void add(MutByteSpan pkt, Emit&& emit);
  // Emits every open run. After it, the Coalescer holds no reference to packet memory.
  template <class Emit>
  void flush(Emit&& emit);

  // What happened to the packets offered so far (for status and tests).
  struct Stats {
    std::uint64_t packets = 0;   // offered
    std::uint64_t joined = 0;    // appended to a run as a payload part
    std::uint64_t super = 0;     // super-packets emitted (runs of >= 2 segments)
    std::uint64_t udp_super = 0; // of which UDP_L4
    std::uint64_t bad_csum = 0;  // TCP or UDP checksum did not verify: passed on unjoined
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Key {
    std::array<std::byte, 12> addr_ports{};  // src, dst, sport, dport as on the wire
    std::uint8_t proto = 0;
    bool operator==(const Key&) const = default;
  };
  struct Run {
    bool open = false;
    Key key;
    MutByteSpan first;           // the first segment, whole
    std::size_t hlen = 0;        // IP + TCP header length
    std::size_t mss = 0;         // payload of the first segment
    std::size_t total = 0;       // IP total length so far
    std::uint32_t next_seq = 0;  // sequence number the next segment must carry
    bool closed = false;         // PSH, a short segment or the limits: nothing more joins
    bool psh = false;            // the last joined segment had PSH
    std::size_t nparts = 0;
    std::array<ByteSpan, kMaxSegments> parts;
  };
  // The decision for one packet: emit `close` (if set) first, then either the packet was
  // joined, goes out alone, or starts a run in `start` (emitting what it held first).
  struct Decision {
    Run* close = nullptr;
    Run* start = nullptr;
    bool joined = false;
  };
  struct Segment {  // a coalescable TCP segment, parsed
    Key key;
    std::size_t hlen = 0, payload = 0;
    std::uint32_t seq = 0;
    bool psh = false;
  };
  Decision offer(MutByteSpan pkt);
  Decision offer_tcp(MutByteSpan pkt);
  Decision offer_udp(MutByteSpan pkt);
  Run* find_run(const Key& key);
  // Where a new run goes: a free slot, else the next victim (emitted first by add()).
  Run* free_run();
  void begin(Run& r, MutByteSpan pkt);
  TunWrite finish(Run& r);
  TunWrite plain(MutByteSpan pkt);

  std::array<Run, kMaxFlows> runs_;
  std::size_t next_victim_ = 0;
  bool udp_ = false;
  Stats stats_;
  Segment seg_;     // the packet being offered, when coalescable
  ByteSpan alone_;  // storage behind the single part of a plain TunWrite
};

template <class Emit>
void Coalescer::add(MutByteSpan pkt, Emit&& emit) {
  ++stats_.packets;
  Decision d = offer(pkt);
  if (d.close) emit(finish(*d.close));
  if (d.joined) return;
  if (!d.start) {
    emit(plain(pkt));
    return;
  }
  if (d.start->open) emit(finish(*d.start));  // evicted to make room
  begin(*d.start, pkt);
}

template <class Emit>
void Coalescer::flush(Emit&& emit) {
  for (auto& r : runs_)
    if (r.open) emit(finish(r));
}

}  // namespace tun::offload
