// ESP transport mode over IPv4 (RFC 4303 §3.1.1): the ESP header goes between the IPv4
// header and the upper-layer payload (for swanless: the GRE packet of a `gre` section).
//
//   before:  [ IPv4 hdr (proto 47) ][ GRE ... ]
//   after:   [ IPv4 hdr (proto 50) ][ ESP hdr | IV ][ GRE ... | pad | pl | nh=47 ][ ICV ]
//                                     \__________ what Sa::encap produces __________/
//
// Outbound (encap_ipv4): in place. The caller leaves Sa::kMaxHeader bytes of headroom in
// front of the IPv4 packet and Sa::kMaxTrailer behind it; the IPv4 header moves forward by
// Sa::header_size(), the payload is encrypted where it lies, Protocol becomes 50, Total
// Length and Header Checksum are rewritten. Fragments are refused (RFC 4301 §7: transport
// mode protects whole upper-layer packets only).
//
// Inbound, plain ESP from a raw socket (parse_outer): the received IPv4 packet is checked
// (version, IHL, lengths, protocol 50, not a fragment) and the ESP part is located.
//
// Inbound, after Sa::decap of a transport-mode SA (prepend_ipv4): an IPv4 header is
// written in front of the upper-layer payload so the next stage (the GRE tunnel) sees the
// packet as it was sent. Its addresses are the peer's and ours as the SA's traffic
// selectors name them when each side is one address (the addresses behind a NAT, RFC 7296
// §2.23.1), else the outer packet's; the inbound policy check (RFC 4301 §5.2) runs on
// that flow. Sans-I/O: no sockets, clock or logging; drops are counted on the SA.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "esp/ip.h"
#include "esp/sa.h"

namespace esp::transport {

struct [[nodiscard]] Encap {
  EncapResult esp;            // the ESP part (SPI..ICV), what ESP-in-UDP carries
  common::MutByteSpan ipv4;   // the whole packet: IPv4 header (proto 50) + ESP part
  bool ok() const { return esp.ok(); }
};

// buf[offset, offset + length) is an IPv4 packet; sa is an outbound transport-mode SA.
// Drops (counted on sa): bad_inner (not IPv4, a fragment, header only, protocol 59 which
// the receiver would take for a dummy packet), no_room.
Encap encap_ipv4(Sa& sa, common::MutByteSpan buf, std::size_t offset, std::size_t length, TimePoint now);

// Why a raw-socket packet was not handed to ESP.
enum class OuterError : std::uint8_t { malformed, not_esp, fragment };
std::string_view to_string(OuterError e);

struct Outer {
  ip::Ipv4Header header;
  std::size_t esp_offset = 0;  // into the packet given to parse_outer
  std::size_t esp_length = 0;  // up to the IPv4 Total Length (link padding excluded)
};
struct [[nodiscard]] OuterResult {
  bool ok = false;
  OuterError error = OuterError::malformed;
  Outer outer;
};
OuterResult parse_outer(common::ByteSpan ipv4);

// What the rebuilt header carries besides the addresses.
struct InnerFields {
  std::uint32_t outer_src = 0;  // host order; used when the SA's selectors are not one address
  std::uint32_t outer_dst = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
};

// `payload` is the upper-layer payload Sa::decap returned (next_header = its protocol);
// it must lie inside `buf` with at least 20 bytes of buf in front of it. Writes the IPv4
// header there and returns the whole packet; an empty span when there is no room (counted
// as no_room) or the policy check fails (counted as policy).
common::MutByteSpan prepend_ipv4(Sa& sa, common::MutByteSpan buf, common::MutByteSpan payload,
                                 std::uint8_t next_header, const InnerFields& fields);

// RFC 1071 checksum of an IPv4 header whose checksum field is zero.
std::uint16_t ipv4_header_checksum(common::ByteSpan header);

}  // namespace esp::transport
