// Addresses, endpoints and traffic selectors shared by ike/, esp/, gre/, pim/, apps/ and daemon/.
// IPv4 is what the data path carries today; IpAddr keeps room for IPv6 so the IKE codec
// can parse and answer IPv6 selectors and identities correctly.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace common {

struct IpAddr {
  enum class Family : std::uint8_t { v4 = 4, v6 = 6 };
  Family family = Family::v4;
  std::array<std::uint8_t, 16> b{};  // v4 uses b[0..3], network order

  static IpAddr v4(std::uint32_t host_order) {
    IpAddr a;
    a.b[0] = static_cast<std::uint8_t>(host_order >> 24);
    a.b[1] = static_cast<std::uint8_t>(host_order >> 16);
    a.b[2] = static_cast<std::uint8_t>(host_order >> 8);
    a.b[3] = static_cast<std::uint8_t>(host_order);
    return a;
  }
  static IpAddr v4_bytes(ByteSpan four);  // four.size() must be 4
  static IpAddr v6_bytes(ByteSpan sixteen);
  static std::optional<IpAddr> parse(std::string_view text);  // dotted quad or IPv6 text
  bool is_v4() const { return family == Family::v4; }
  std::size_t size() const { return is_v4() ? 4 : 16; }
  ByteSpan bytes() const { return {reinterpret_cast<const std::byte*>(b.data()), size()}; }
  std::uint32_t v4_host() const {
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
  }
  bool is_unspecified() const;
  std::string to_string() const;
  auto operator<=>(const IpAddr&) const = default;
};

struct Endpoint {
  IpAddr addr;
  std::uint16_t port = 0;
  std::string to_string() const;  // "1.2.3.4:500"
  auto operator<=>(const Endpoint&) const = default;
};

// A prefix such as 10.44.6.1/32.
struct Prefix {
  IpAddr addr;
  std::uint8_t len = 32;
  static std::optional<Prefix> parse(std::string_view text);  // "a.b.c.d[/n]"
  bool contains(const IpAddr& a) const;
  IpAddr first() const;
  IpAddr last() const;
  std::string to_string() const;
  auto operator<=>(const Prefix&) const = default;
};

// RFC 7296 §3.13.1 traffic selector: an address range, an IP protocol (0 = any) and a
// port range (0..65535 = any).
struct TrafficSelector {
  IpAddr start;
  IpAddr end;
  std::uint8_t protocol = 0;
  std::uint16_t start_port = 0;
  std::uint16_t end_port = 65535;

  static TrafficSelector from_prefix(const Prefix& p, std::uint8_t proto = 0,
                                     std::uint16_t port_lo = 0, std::uint16_t port_hi = 65535);
  bool contains_addr(const IpAddr& a) const;
  // Does a packet with this protocol and port (0 when the protocol has no ports) match?
  bool matches(const IpAddr& a, std::uint8_t proto, std::uint16_t port) const;
  // Intersection (RFC 7296 §2.9 narrowing); nullopt when empty.
  std::optional<TrafficSelector> intersect(const TrafficSelector& o) const;
  // "10.44.6.1/32" when the range is a prefix, else "a-b"; "[gre]"/"[tcp/80]" suffixes
  // as strongSwan prints them.
  std::string to_string() const;
  auto operator<=>(const TrafficSelector&) const = default;
};

}  // namespace common
