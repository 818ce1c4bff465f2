// Minimal, bounds-checked IPv4 header parsing for the ESP policy check (RFC 4301 §5.2:
// a packet leaving a tunnel-mode SA must match the SA's traffic selectors) and for
// outbound SA selection. Only what selectors look at is read: addresses, protocol, and
// the ports of TCP/UDP/SCTP/UDP-Lite on first fragments.
//
// RFC 791 §3.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |Type of Service|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"

namespace esp::ip {

// IANA protocol numbers used on the ESP path.
inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoIpv4 = 4;  // IP-in-IP: ESP Next Header of tunnel mode
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIpv6 = 41;
inline constexpr std::uint8_t kProtoGre = 47;
inline constexpr std::uint8_t kProtoEsp = 50;
inline constexpr std::uint8_t kProtoNone = 59;  // "No Next Header": ESP dummy packet (RFC 4303 §2.6)
inline constexpr std::uint8_t kProtoPim = 103;
inline constexpr std::uint8_t kProtoSctp = 132;
inline constexpr std::uint8_t kProtoUdpLite = 136;

inline constexpr std::size_t kIpv4MinHeader = 20;

struct Ipv4Header {
  std::uint8_t header_length = 0;  // bytes (IHL * 4)
  std::uint16_t total_length = 0;  // bytes, header included
  std::uint16_t flags_fragment = 0;
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::uint32_t src = 0;  // host byte order
  std::uint32_t dst = 0;

  std::uint16_t fragment_offset() const { return flags_fragment & 0x1fff; }  // 8-byte units
  bool more_fragments() const { return (flags_fragment & 0x2000) != 0; }
  bool is_fragment() const { return fragment_offset() != 0 || more_fragments(); }
};

// Checks version 4, IHL >= 5, total length within [IHL*4, packet.size()]. Bytes past the
// total length (e.g. ESP TFC padding) are allowed and ignored.
common::Result<Ipv4Header> parse_ipv4(common::ByteSpan packet);

// What traffic selectors compare (RFC 4301 §4.4.1.1).
struct Flow {
  common::IpAddr src;
  common::IpAddr dst;
  std::uint8_t protocol = 0;
  // Ports are known for TCP/UDP/SCTP/UDP-Lite when the packet holds the transport header
  // (first fragment only); otherwise 0 ("OPAQUE" in RFC 4301 terms).
  bool ports_known = false;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
};

bool protocol_has_ports(std::uint8_t protocol);
// Reads the ports of an upper-layer header (l4 = the bytes after the IP header).
// Returns false when the protocol has no ports or l4 is too short.
bool read_ports(std::uint8_t protocol, common::ByteSpan l4, std::uint16_t& src_port, std::uint16_t& dst_port);
// Flow of a parsed IPv4 packet (packet: the same bytes given to parse_ipv4).
Flow flow_of(const Ipv4Header& h, common::ByteSpan packet);

}  // namespace esp::ip
