#include "common/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace common {

namespace {

unsigned family_bits(const IpAddr& a) { return a.is_v4() ? 32 : 128; }

// a with every bit at index >= len cleared (set, when ones) within its family's width.
IpAddr with_host_bits(const IpAddr& a, unsigned len, bool ones) {
  IpAddr r = a;
  const unsigned bits = family_bits(a);
  for (unsigned i = len; i < bits; ++i) {
    const auto mask = static_cast<std::uint8_t>(0x80u >> (i % 8));
    if (ones) {
      r.b[i / 8] = static_cast<std::uint8_t>(r.b[i / 8] | mask);
    } else {
      r.b[i / 8] = static_cast<std::uint8_t>(r.b[i / 8] & ~mask);
    }
  }
  return r;
}

// Names as /etc/protocols (and so strongSwan's selectors) spell them; a fixed table keeps
// the output independent of the host's files.
const char* proto_name(std::uint8_t p) {
  switch (p) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 4: return "ipencap";
    case 6: return "tcp";
    case 17: return "udp";
    case 41: return "ipv6";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 58: return "ipv6-icmp";
    case 103: return "pim";
    case 132: return "sctp";
    default: return nullptr;
  }
}

}  // namespace

IpAddr IpAddr::v4_bytes(ByteSpan four) {
  IpAddr a;
  a.family = Family::v4;
  for (std::size_t i = 0; i < 4 && i < four.size(); ++i) a.b[i] = std::to_integer<std::uint8_t>(four[i]);
  return a;
}

IpAddr IpAddr::v6_bytes(ByteSpan sixteen) {
  IpAddr a;
  a.family = Family::v6;
  for (std::size_t i = 0; i < 16 && i < sixteen.size(); ++i) a.b[i] = std::to_integer<std::uint8_t>(sixteen[i]);
  return a;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.empty() || text.size() > 63) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr a;
  if (text.find(':') != std::string_view::npos) {
    a.family = Family::v6;
    if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
  } else {
    a.family = Family::v4;
    if (inet_pton(AF_INET, buf, a.b.data()) != 1) return std::nullopt;
  }
  return a;
}

bool IpAddr::is_unspecified() const {
  return std::all_of(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(size()), [](std::uint8_t x) { return x == 0; });
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(is_v4() ? AF_INET : AF_INET6, b.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string Endpoint::to_string() const {
  // Appended piece by piece: g++ 12 -O3 flags `"[" + std::string&&` (an insert at the
  // front) with a false -Wrestrict (GCC bug 105329).
  std::string out;
  if (!addr.is_v4()) out += '[';
  out += addr.to_string();
  out += addr.is_v4() ? ":" : "]:";
  out += std::to_string(port);
  return out;
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const unsigned bits = family_bits(*addr);
  unsigned len = bits;
  if (slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3) return std::nullopt;
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || end != l.data() + l.size() || len > bits) return std::nullopt;
  }
  return Prefix{*addr, static_cast<std::uint8_t>(len)};
}

bool Prefix::contains(const IpAddr& a) const {
  return a.family == addr.family && first() <= a && a <= last();
}

IpAddr Prefix::first() const { return with_host_bits(addr, len, false); }
IpAddr Prefix::last() const { return with_host_bits(addr, len, true); }

std::string Prefix::to_string() const { return addr.to_string() + "/" + std::to_string(len); }

TrafficSelector TrafficSelector::from_prefix(const Prefix& p, std::uint8_t proto, std::uint16_t port_lo,
                                             std::uint16_t port_hi) {
  TrafficSelector ts;
  ts.start = p.first();
  ts.end = p.last();
  ts.protocol = proto;
  ts.start_port = port_lo;
  ts.end_port = port_hi;
  return ts;
}

bool TrafficSelector::contains_addr(const IpAddr& a) const {
  return a.family == start.family && start <= a && a <= end;
}

bool TrafficSelector::matches(const IpAddr& a, std::uint8_t proto, std::uint16_t port) const {
  if (!contains_addr(a)) return false;
  if (protocol != 0 && protocol != proto) return false;
  return start_port <= port && port <= end_port;
}

std::optional<TrafficSelector> TrafficSelector::intersect(const TrafficSelector& o) const {
  if (start.family != o.start.family) return std::nullopt;
  if (protocol != 0 && o.protocol != 0 && protocol != o.protocol) return std::nullopt;
  TrafficSelector r;
  r.start = std::max(start, o.start);
  r.end = std::min(end, o.end);
  if (r.end < r.start) return std::nullopt;
  r.protocol = protocol != 0 ? protocol : o.protocol;
  r.start_port = std::max(start_port, o.start_port);
  r.end_port = std::min(end_port, o.end_port);
  if (r.end_port < r.start_port) return std::nullopt;
  return r;
}

std::string TrafficSelector::to_string() const {
  std::string s;
  const unsigned bits = family_bits(start);
  bool prefix = false;
  if (start.family == end.family) {
    for (unsigned len = 0; len <= bits; ++len) {
      if (with_host_bits(start, len, false) == start && with_host_bits(start, len, true) == end) {
        s = start.to_string() + "/" + std::to_string(len);
        prefix = true;
        break;
      }
    }
  }
  if (!prefix) s = start.to_string() + ".." + end.to_string();
  const bool any_port = start_port == 0 && end_port == 65535;
  if (protocol != 0 || !any_port) {
    s += "[";
    if (const char* n = proto_name(protocol)) {
      s += n;
    } else {
      s += std::to_string(protocol);
    }
    if (!any_port) {
      s += "/";
      if (start_port == end_port) {
        s += std::to_string(start_port);
      } else if (start_port == 65535 && end_port == 0) {
        s += "OPAQUE";  // RFC 7296 §3.13.1: the port is not available (fragments)
      } else {
        s += std::to_string(start_port) + "-" + std::to_string(end_port);
      }
    }
    s += "]";
  }
  return s;
}

}  // namespace common
