// Packet fix-ups for IPv4 traffic crossing a GRE tunnel whose inner MTU is below the
// 1500 bytes hosts assume: TCP MSS clamping and ICMP "fragmentation needed". Sans I/O,
// in place, no allocation: the overlay calls these on every packet read from or written
// to a tunnel's TUN device.
//
// TCP MSS clamping. A SYN (or SYN-ACK) carries the sender's Maximum Segment Size option
// (RFC 9293 §3.1, §3.7.1). If it is above what fits the tunnel, it is lowered and the TCP
// checksum is updated incrementally, HC' = ~(~HC + ~m + m') (RFC 1624 §3, eqn. 3).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options (MSS: kind 2, length 4, 16-bit value)
//
// Options are a sequence of kind 0 (end of list), kind 1 (no-op) and TLVs whose length
// byte counts kind and length (>= 2). The walker stops at end of list and rejects a TLV
// without its length byte, with length < 2, reaching past the options, or an MSS option
// whose length is not 4: such a packet is left as it is (the receiver decides what to make
// of it) and counted.
//
// ICMP fragmentation needed (RFC 792 "Destination Unreachable", code 4, with RFC 1191 §4's
// Next-Hop MTU in the low half of the unused word):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Type = 3    |   Code = 4    |           Checksum            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           unused = 0          |         Next-Hop MTU          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      Internet Header + 64 bits of Original Data Datagram      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// No ICMP error is sent about an ICMP error, a non-first fragment, or a packet from an
// address that is not a unicast host (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7); such oversized
// DF packets are dropped and counted. Oversized packets without DF are passed on: the
// kernel fragments the outer ESP packet on the underlay and the far end reassembles it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace gre {

inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kTcpOptEnd = 0;
inline constexpr std::uint8_t kTcpOptNop = 1;
inline constexpr std::uint8_t kTcpOptMss = 2;
inline constexpr std::uint8_t kTcpFlagSyn = 0x02;
inline constexpr std::size_t kTcpHeaderSize = 20;  // without options
inline constexpr std::uint8_t kIcmpDestUnreachable = 3;
inline constexpr std::uint8_t kIcmpCodeFragNeeded = 4;
// IPv4 header (20) + ICMP header (8) + quoted header with the largest options (60) + 8.
inline constexpr std::size_t kFragNeededMaxSize = 20 + 8 + 60 + 8;
// IPv4 + TCP headers without options: MSS = MTU - 40 (RFC 9293 §3.7.1, RFC 6691).
inline constexpr std::size_t kTcpIpv4Overhead = 40;

// RFC 1624 eqn. 3: the checksum `hc` after a 16-bit word of the summed data changed from
// `old_word` to `new_word`.
std::uint16_t checksum_update(std::uint16_t hc, std::uint16_t old_word, std::uint16_t new_word);

// One TCP option as the walker sees it: its kind and where it sits in `options`.
struct TcpOption {
  std::uint8_t kind = 0;
  std::size_t offset = 0;  // of the kind byte, within the options
  std::size_t length = 1;  // kind + length + data (1 for end of list and no-op)
};

// Walks `options` (the bytes between the 20-byte TCP header and the data offset) and calls
// visit(const TcpOption&) for each option up to end of list. False (after visiting the
// well-formed options before it) when an option is malformed as described above.
template <typename Visit>
bool walk_tcp_options(common::ByteSpan options, Visit&& visit) {
  const std::uint8_t* p = common::u8(options);
  const std::size_t n = options.size();
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t kind = p[i];
    if (kind == kTcpOptEnd || kind == kTcpOptNop) {
      visit(TcpOption{kind, i, 1});
      if (kind == kTcpOptEnd) return true;
      ++i;
      continue;
    }
    if (n - i < 2) return false;  // no room for the length byte
    const std::size_t len = p[i + 1];
    if (len < 2 || len > n - i) return false;
    if (kind == kTcpOptMss && len != 4) return false;
    visit(TcpOption{kind, i, len});
    i += len;
  }
  return true;
}

enum class MssClamp : std::uint8_t {
  not_tcp_syn,   // not IPv4 TCP with SYN set, or not a first fragment: untouched
  no_mss,        // a SYN without an MSS option (the peer assumes 536): untouched
  within_limit,  // every MSS option already <= the limit: untouched
  clamped,       // lowered to the limit, checksum updated
  malformed,     // IPv4/TCP header or options malformed: untouched
};
std::string_view to_string(MssClamp c);

// Clamps the MSS option(s) of an IPv4 TCP SYN in `ipv4` (a whole packet, in place) to
// `limit`. Every MSS option is lowered (receivers differ on which of several they use).
MssClamp clamp_mss(common::MutByteSpan ipv4, std::uint16_t limit);

// The MSS value(s) in a SYN, for tests and tools: the last MSS option, 0 when none.
// Returns false when the packet is not a parseable IPv4 TCP SYN with sane options.
bool read_mss(common::ByteSpan ipv4, std::uint16_t& mss);

enum class SizeVerdict : std::uint8_t {
  fits,            // total length <= mtu
  frag_needed,     // DF set and too big: answer with build_frag_needed, do not send
  no_icmp_drop,    // DF set and too big, but no ICMP error may be sent about it: drop
  forward_no_df,   // too big without DF: sent on, fragmented outside the tunnel
  malformed,       // not a parseable IPv4 packet: left to the caller's other checks
};
std::string_view to_string(SizeVerdict v);

SizeVerdict check_size(common::ByteSpan ipv4, std::size_t mtu);

// Writes into `out` the ICMP fragmentation-needed packet for `original` (an oversized
// IPv4 packet), from `src` (host order) to original's source, carrying `next_hop_mtu`,
// the original IP header (with options) and its first 8 payload bytes (fewer if it has
// fewer). Returns the size written; 0 when original does not parse or out is smaller than
// the result (kFragNeededMaxSize is always enough).
std::size_t build_frag_needed(common::MutByteSpan out, common::ByteSpan original, std::uint16_t next_hop_mtu,
                              std::uint32_t src);

// What a tunnel does to the packets crossing it, with its counters. `mss` is the clamp
// limit (0: no clamping), `mtu` the largest inner packet the tunnel carries.
struct FixupConfig {
  std::uint16_t mss = 0;
  std::uint16_t mtu = 0;
  std::uint32_t icmp_src = 0;  // source of our frag-needed messages (host order)

  // MSS that fills `mtu` exactly with IPv4 and TCP headers without options.
  static std::uint16_t mss_for(std::uint16_t mtu) {
    return mtu > kTcpIpv4Overhead ? static_cast<std::uint16_t>(mtu - kTcpIpv4Overhead) : 0;
  }
};

struct FixupCounters {
  std::uint64_t mss_clamped_out = 0;  // SYNs read from the TUN, MSS lowered
  std::uint64_t mss_clamped_in = 0;   // SYNs out of the tunnel, MSS lowered
  std::uint64_t mss_malformed = 0;    // TCP SYNs with malformed headers/options, untouched
  std::uint64_t frag_needed_sent = 0;
  std::uint64_t too_big_dropped = 0;  // DF, too big, and no ICMP error allowed
  std::uint64_t too_big_forwarded = 0;  // no DF, too big: fragmented on the underlay
};

class Fixup {
 public:
  explicit Fixup(const FixupConfig& cfg) : cfg_(cfg) {}
  const FixupConfig& config() const { return cfg_; }
  const FixupCounters& counters() const { return counters_; }

  enum class Out : std::uint8_t { send, reply, drop };
  // A packet read from the TUN, about to enter the tunnel. send: pass it on (its MSS may
  // have been clamped in place); reply: do not send it, write the `reply_len` bytes of
  // `reply` (a frag-needed message, reply.size() >= kFragNeededMaxSize) back to the TUN;
  // drop: neither.
  Out outbound(common::MutByteSpan ipv4, common::MutByteSpan reply, std::size_t& reply_len);
  // A packet out of the tunnel, about to be written to the TUN: clamps its MSS in place.
  void inbound(common::MutByteSpan ipv4);

 private:
  void count(MssClamp c, std::uint64_t& clamped);

  FixupConfig cfg_;
  FixupCounters counters_;
};

}  // namespace gre
