// Parsers for single config values. See values.h.
#include "config/values.h"

#include <algorithm>
#include <utility>

#include "config/text.h"

namespace config {

using common::IpAddr;
using common::Prefix;
using common::TrafficSelector;

namespace {

constexpr long long kMaxDurationSeconds = 10LL * 365 * 24 * 3600;

}  // namespace

std::optional<unsigned long long> parse_uint(std::string_view s, unsigned long long max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

std::optional<IpAddr> parse_ip(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  return IpAddr::parse(s);
}

std::optional<common::Endpoint> parse_host_port(std::string_view s) {
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto a = parse_ip(s.substr(0, colon));
  auto port = parse_uint(s.substr(colon + 1), 65535);
  if (!a || !port || *port == 0) return std::nullopt;
  return common::Endpoint{*a, static_cast<std::uint16_t>(*port)};
}

// "a.b.c.d/n" with an explicit or implicit length.
std::optional<Prefix> parse_prefix(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  return Prefix::parse(s);
}

std::optional<std::uint8_t> parse_protocol(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint8_t> kNames[] = {
      {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50},
      {"ah", 51},  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"%any", 0},
  };
  for (const auto& [n, v] : kNames)
    if (s == n) return v;
  if (auto v = parse_uint(s, 255)) return static_cast<std::uint8_t>(*v);
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port_number(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint16_t> kNames[] = {
      {"http", 80}, {"https", 443}, {"domain", 53}, {"ssh", 22}, {"isakmp", 500},
      {"ipsec-nat-t", 4500}, {"bgp", 179},
  };
  for (const auto& [n, v] : kNames)
    if (s == n) return v;
  if (auto v = parse_uint(s, 65535)) return static_cast<std::uint16_t>(*v);
  return std::nullopt;
}

std::optional<ProtoPort> parse_protoport(std::string_view s) {
  ProtoPort pp;
  std::size_t slash = s.find('/');
  std::string_view proto = s.substr(0, slash);
  if (!proto.empty()) {
    auto p = parse_protocol(proto);
    if (!p) return std::nullopt;
    pp.proto = *p;
  } else if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  if (slash == std::string_view::npos) return pp;
  std::string_view port = s.substr(slash + 1);
  if (port == "%any" || port.empty()) return port.empty() ? std::nullopt : std::optional(pp);
  std::size_t dash = port.find('-');
  if (dash == std::string_view::npos) {
    auto v = parse_port_number(port);
    if (!v) return std::nullopt;
    pp.lo = pp.hi = *v;
  } else {
    auto a = parse_port_number(port.substr(0, dash));
    auto b = parse_port_number(port.substr(dash + 1));
    if (!a || !b || *a > *b) return std::nullopt;
    pp.lo = *a;
    pp.hi = *b;
  }
  // Ports only mean something for protocols that have them (or for "any").
  if (!(pp.proto == 0 || pp.proto == 6 || pp.proto == 17 || pp.proto == 132) &&
      !(pp.lo == 0 && pp.hi == 65535))
    return std::nullopt;
  return pp;
}

std::optional<TrafficSelector> parse_subnet_item(std::string_view s, const ProtoPort& deflt,
                                                 std::optional<Prefix>* written) {
  ProtoPort pp = deflt;
  std::size_t br = s.find('[');
  if (br != std::string_view::npos) {
    if (s.back() != ']') return std::nullopt;
    auto p = parse_protoport(s.substr(br + 1, s.size() - br - 2));
    if (!p) return std::nullopt;
    pp = *p;
    s = trim(s.substr(0, br));
  }
  std::size_t dash = s.find('-');
  if (dash != std::string_view::npos && s.find('/') == std::string_view::npos) {
    auto a = parse_ip(s.substr(0, dash));
    auto b = parse_ip(s.substr(dash + 1));
    if (!a || !b || a->family != b->family || *b < *a) return std::nullopt;
    TrafficSelector ts;
    ts.start = *a;
    ts.end = *b;
    ts.protocol = pp.proto;
    ts.start_port = pp.lo;
    ts.end_port = pp.hi;
    return ts;
  }
  auto pfx = parse_prefix(s);
  if (!pfx) return std::nullopt;
  if (written) *written = pfx;
  return TrafficSelector::from_prefix(*pfx, pp.proto, pp.lo, pp.hi);
}

std::optional<Seconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long mult = 1;
  switch (s.back()) {
    case 's': mult = 1; s.remove_suffix(1); break;
    case 'm': mult = 60; s.remove_suffix(1); break;
    case 'h': mult = 3600; s.remove_suffix(1); break;
    case 'd': mult = 86400; s.remove_suffix(1); break;
    default: break;
  }
  auto v = parse_uint(s, static_cast<unsigned long long>(kMaxDurationSeconds));
  if (!v) return std::nullopt;
  long long total = static_cast<long long>(*v) * mult;
  if (total > kMaxDurationSeconds) return std::nullopt;
  return Seconds{total};
}

std::optional<std::chrono::milliseconds> parse_duration_ms(std::string_view s) {
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    auto v = parse_uint(s.substr(0, s.size() - 2), 1000ULL * kMaxDurationSeconds);
    if (!v) return std::nullopt;
    return std::chrono::milliseconds{static_cast<long long>(*v)};
  }
  auto d = parse_duration(s);
  if (!d) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::optional<bool> parse_yes_no(std::string_view s) {
  if (s == "yes") return true;
  if (s == "no") return false;
  return std::nullopt;
}

std::optional<AuthSpec> parse_auth(std::string_view v, std::string& why) {
  AuthSpec a;
  if (v.substr(0, 4) == "ike:") v.remove_prefix(4);
  std::size_t dash = v.find('-');
  std::string_view head = v.substr(0, dash);
  if (head == "psk" || head == "secret") {
    a.method = AuthMethod::psk;
  } else if (head == "pubkey" || head == "rsa" || head == "rsasig") {
    a.method = AuthMethod::pubkey;
  } else if (head == "rsa/pss") {
    a.method = AuthMethod::pubkey;
    a.scheme.pss = true;
  } else {
    why = "expected psk, secret, pubkey, rsa, rsasig or rsa/pss (optionally -sha256/-sha384/-sha512), not '" +
          std::string(v) + "'";
    return std::nullopt;
  }
  while (dash != std::string_view::npos) {
    std::size_t next = v.find('-', dash + 1);
    std::string_view h = v.substr(dash + 1, next == std::string_view::npos ? next : next - dash - 1);
    dash = next;
    using common::crypto::SigHash;
    std::optional<SigHash> hash;
    if (h == "sha256" || h == "sha2_256") hash = SigHash::sha256;
    else if (h == "sha384" || h == "sha2_384") hash = SigHash::sha384;
    else if (h == "sha512" || h == "sha2_512") hash = SigHash::sha512;
    if (!hash || a.method == AuthMethod::psk) {
      why = a.method == AuthMethod::psk ? "psk takes no suffix"
                                        : "unsupported '-" + std::string(h) +
                                              "': only -sha256, -sha384, -sha512 (RFC 8247 §3.2: no SHA-1, no key-strength constraints)";
      return std::nullopt;
    }
    if (std::find(a.scheme.hashes.begin(), a.scheme.hashes.end(), *hash) == a.scheme.hashes.end())
      a.scheme.hashes.push_back(*hash);
  }
  return a;
}

bool is_multicast(const IpAddr& a) { return a.is_v4() ? (a.b[0] & 0xf0) == 0xe0 : a.b[0] == 0xff; }

}  // namespace config
