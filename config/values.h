// Parsers for single config values: numbers, addresses, prefixes, protocols and ports,
// leftsubnet items, durations, yes/no and leftauth=/rightauth=. They only say whether the
// text is well formed (nullopt when not); the stages that call them word the diagnostics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.h"
#include "config/model.h"

namespace config {

std::optional<unsigned long long> parse_uint(std::string_view s, unsigned long long max);
std::optional<common::IpAddr> parse_ip(std::string_view s);
// "HOST:PORT" with an IPv4 HOST and a port 1..65535.
std::optional<common::Endpoint> parse_host_port(std::string_view s);
// "a.b.c.d/n" with an explicit or implicit length.
std::optional<common::Prefix> parse_prefix(std::string_view s);

struct ProtoPort {
  std::uint8_t proto = 0;
  std::uint16_t lo = 0, hi = 65535;
};

// A protocol name (tcp, udp, gre, ..., %any) or number 0..255.
std::optional<std::uint8_t> parse_protocol(std::string_view s);
// A port name (http, isakmp, ...) or number 0..65535.
std::optional<std::uint16_t> parse_port_number(std::string_view s);
// strongSwan/libreswan protoport: "gre", "47", "tcp/80", "udp/%any", "tcp/1024-2048", "/53".
std::optional<ProtoPort> parse_protoport(std::string_view s);
// One leftsubnet item: "10.0.0.0/24", "10.0.0.1", "10.0.0.1-10.0.0.9", each optionally
// followed by strongSwan's "[proto/port]". `written` gets the CIDR as written (host bits
// kept) when the item is one.
std::optional<common::TrafficSelector> parse_subnet_item(std::string_view s, const ProtoPort& deflt,
                                                         std::optional<common::Prefix>* written = nullptr);

std::optional<Seconds> parse_duration(std::string_view s);  // 3h 9m 30s 10 1d
std::optional<std::chrono::milliseconds> parse_duration_ms(std::string_view s);  // 500ms 1s 2
std::optional<bool> parse_yes_no(std::string_view s);

// leftauth=/rightauth= as strongSwan's ipsec.conf(5) writes them: psk | secret | pubkey |
// rsa | rsasig | rsa/pss, an optional "ike:" prefix (constraints for IKEv2 signatures are
// what swanless has anyway), and -sha256/-sha384/-sha512 suffixes for the RFC 7427 hashes
// in order of preference. Key-strength (rsa-2048), ECDSA, EAP and XAuth forms are refused,
// with the reason in `why`.
struct AuthSpec {
  AuthMethod method = AuthMethod::pubkey;
  ConnConfig::SigScheme scheme;
};
std::optional<AuthSpec> parse_auth(std::string_view v, std::string& why);

bool is_multicast(const common::IpAddr& a);

}  // namespace config
