// One GRE tunnel (RFC 2784/2890 over IPv4), sans I/O: the driver hands in outer IPv4
// packets and the time; the tunnel says what each one is, encapsulates inner packets, and
// produces its own keepalives. No sockets, clocks, logging or per-packet allocation.
//
// Receive pipeline (decap):
//   outer IPv4 parse/check → proto 47, src == remote, dst == local, not a fragment
//   → GRE header parse (+checksum) → key check → sequence check (when enabled)
//   → protocol 0x0800: inner IPv4 parse
//        keepalive-shaped (inner proto GRE, or inner dst == remote, or inner src == local)?
//          exactly src == local, dst == remote, proto GRE, valid inner GRE → reflect
//          otherwise → drop (counted by which of the three is wrong)
//        else → deliver (inner packet to the TUN / PIM / multicast stages)
//   → protocol 0 (the far end sent our own keepalive back) → keepalive_reply, tunnel up
//   → anything else → drop (unsupported protocol)
//
// Cisco keepalive format (as the seed write-up's tcpdump shows it): the far end sends
//   outer 10.44.7.1 > 10.44.6.1 GRE(0x0800) { IP 10.44.6.1 > 10.44.7.1 proto 47 GRE(proto 0) }
// and expects the inner packet back, unchanged, as if routed. Reflecting only packets whose
// inner addresses are exactly this tunnel's endpoints keeps the tunnel from being used as
// an open reflector (the write-up's 'reply-only' approach).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"
#include "gre/header.h"
#include "gre/ipv4.h"

namespace gre {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

enum class KeepaliveMode : std::uint8_t {
  reply,  // answer the far end's keepalives only (default)
  off,    // neither answer nor send
  send,   // answer, and send our own every interval; down after `retries` misses
};
std::string_view to_string(KeepaliveMode m);

struct TunnelConfig {
  std::uint32_t local = 0;   // outer source, host order (common::IpAddr::v4_host())
  std::uint32_t remote = 0;  // outer destination
  std::optional<std::uint32_t> key;  // RFC 2890 key, sent and required on receive
  bool checksum = false;             // send checksums (received ones are always verified)
  bool sequence = false;             // send sequence numbers and drop received reordered ones
  std::uint8_t ttl = 255;
  std::uint8_t tos = 0;
  KeepaliveMode keepalive = KeepaliveMode::reply;
  Duration keepalive_interval = std::chrono::seconds(10);
  unsigned keepalive_retries = 3;

  static TunnelConfig from(const common::IpAddr& local, const common::IpAddr& remote) {
    TunnelConfig c;
    c.local = local.v4_host();
    c.remote = remote.v4_host();
    return c;
  }
};

enum class DropReason : std::uint8_t {
  outer_malformed,          // outer IPv4 header bad (truncated, version, length, checksum)
  outer_not_gre,            // outer protocol is not 47
  outer_fragment,           // no reassembly: fragments are dropped
  outer_wrong_src,          // not from the configured remote endpoint
  outer_wrong_dst,          // not to the configured local endpoint
  gre_truncated,
  gre_unsupported,          // version != 0 or RFC 1701 routing bits
  gre_bad_checksum,
  gre_key_mismatch,         // key missing, unexpected, or different
  gre_out_of_order,         // sequence number not newer than the last one (when enabled)
  gre_unknown_protocol,     // neither IPv4 (0x0800) nor a keepalive reply (0)
  inner_malformed,          // inner IPv4 header bad
  keepalive_wrong_src,      // keepalive-shaped, inner src is not our local endpoint
  keepalive_wrong_dst,      // keepalive-shaped, inner dst is not the remote endpoint
  keepalive_wrong_protocol, // inner dst/src are the endpoints but the protocol is not GRE
  keepalive_malformed,      // inner GRE header of a keepalive does not parse
  keepalive_disabled,       // keepalive=off
  encap_too_big,            // encap: result would exceed 65535 bytes
  encap_no_headroom,        // encap: buffer has less headroom than overhead()
  encap_not_ipv4,           // encap: the inner packet is not IPv4 (this GRE carries 0x0800 only)
  count_
};
inline constexpr std::size_t kDropReasonCount = static_cast<std::size_t>(DropReason::count_);
std::string_view to_string(DropReason r);

struct Counters {
  std::uint64_t packets_in = 0;   // delivered inner packets
  std::uint64_t bytes_in = 0;     // their inner bytes
  std::uint64_t packets_out = 0;  // encapsulated packets
  std::uint64_t bytes_out = 0;    // their inner bytes
  std::uint64_t keepalives_answered = 0;  // far end's keepalives reflected
  std::uint64_t keepalives_sent = 0;      // our own keepalives
  std::uint64_t keepalives_received = 0;  // our own keepalives come back
  std::array<std::uint64_t, kDropReasonCount> drops{};

  std::uint64_t drop(DropReason r) const { return drops[static_cast<std::size_t>(r)]; }
  std::uint64_t drops_total() const;
};

struct TunnelStatus {
  bool up = true;  // send mode: false until the first keepalive comes back
  unsigned missed = 0;  // our keepalives not answered in a row
  std::optional<TimePoint> last_keepalive_rx;  // last reply to ours or keepalive answered
  Counters counters;
};

enum class DecapKind : std::uint8_t {
  deliver,          // `packet` is the inner IPv4 packet (GRE protocol 0x0800)
  reflect,          // `packet` is a keepalive: send it back out as it is (an IPv4 packet)
  keepalive_reply,  // one of our own keepalives came back; nothing to send
  drop,             // see `reason`
};

struct Decap {
  DecapKind kind = DecapKind::drop;
  common::ByteSpan packet;  // a view into the input buffer
  DropReason reason = DropReason::outer_malformed;
};

class Tunnel {
 public:
  explicit Tunnel(const TunnelConfig& cfg, TimePoint now);

  const TunnelConfig& config() const { return cfg_; }
  const TunnelStatus& status() const { return status_; }

  // Classifies one outer IPv4 packet (as it came out of ESP or a raw socket).
  Decap decap(common::ByteSpan outer, TimePoint now);

  // Bytes needed in front of an inner packet: outer IPv4 + GRE header.
  std::size_t overhead() const { return kIpv4HeaderSize + gre_template_.size(); }

  // In place: the inner packet is buf[headroom, headroom + inner_len); the GRE header
  // and outer IPv4 header are written just in front of it. Returns the outer packet
  // (a subspan of buf), or an empty span when headroom < overhead() (counted).
  common::MutByteSpan encap(common::MutByteSpan buf, std::size_t headroom, std::size_t inner_len);
  // Copying variant for control-plane packets (PIM) and tests.
  common::Bytes encap_copy(common::ByteSpan inner);

  // Keepalive timer (send mode only; otherwise never expires).
  std::optional<TimePoint> next_expiry() const;
  void on_expiry(TimePoint now);
  // Outer packets produced by on_expiry (our keepalives), ready to send.
  std::vector<common::Bytes> take_outbox();

  // Our keepalive as an outer packet: local>remote GRE{ IP remote>local GRE{proto 0} }.
  common::Bytes build_keepalive();

 private:
  Decap drop(DropReason r) {
    ++status_.counters.drops[static_cast<std::size_t>(r)];
    return Decap{DecapKind::drop, {}, r};
  }
  Decap classify_inner(common::ByteSpan inner, TimePoint now);
  GreHeader next_gre_header();

  TunnelConfig cfg_;
  TunnelStatus status_;
  GreHeader gre_template_;
  std::uint16_t ip_id_ = 0;
  std::uint32_t tx_seq_ = 0;
  std::optional<std::uint32_t> rx_seq_;
  std::optional<TimePoint> next_keepalive_;
  bool awaiting_reply_ = false;
  std::vector<common::Bytes> outbox_;
};

}  // namespace gre
