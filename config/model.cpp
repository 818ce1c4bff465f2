// The small methods of the config model: names of the enums, durations as text, a host's
// identity and address text, lookups by name. See model.h.
#include "config/model.h"

namespace config {

std::string_view to_string(AuthMethod a) { return a == AuthMethod::psk ? "psk" : "pubkey"; }

std::string ConnConfig::SigScheme::to_string() const {
  std::string s = pss ? "rsa/pss" : "pubkey";
  for (auto h : hashes) {
    s += '-';  // two appends: `"-" + std::string&&` trips g++ 12's false -Wrestrict at -O3
    s += common::crypto::to_string(h);
  }
  return s;
}
std::string_view to_string(Mode m) { return m == Mode::tunnel ? "tunnel" : "transport"; }
std::string_view to_string(AutoAction a) {
  switch (a) {
    case AutoAction::ignore: return "ignore";
    case AutoAction::add: return "add";
    case AutoAction::start: return "start";
    case AutoAction::route: return "route";
  }
  return "?";
}
std::string_view to_string(DpdAction a) {
  switch (a) {
    case DpdAction::none: return "none";
    case DpdAction::clear: return "clear";
    case DpdAction::hold: return "hold";
    case DpdAction::restart: return "restart";
  }
  return "?";
}

std::string format_duration(Seconds s) {
  long long v = s.count();
  if (v == 0) return "0s";
  std::string out;
  const std::pair<long long, char> units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [n, c] : units) {
    if (v >= n) {
      out += std::to_string(v / n) + c;
      v %= n;
    }
  }
  return out;
}

std::string HostConfig::effective_id() const {
  if (!id.empty()) return id;
  return kind == Kind::address ? addr.to_string() : std::string();
}

std::string HostConfig::address_text() const {
  switch (kind) {
    case Kind::address: return addr.to_string();
    case Kind::any: return "%any";
    case Kind::defaultroute: return "%defaultroute";
  }
  return "?";
}

const ConnConfig* Config::find_conn(std::string_view name) const {
  for (const auto& c : conns)
    if (c.name == name) return &c;
  return nullptr;
}
const GreConfig* Config::find_gre(std::string_view name) const {
  for (const auto& g : gres)
    if (g.name == name) return &g;
  return nullptr;
}
const IkeSaGroup* Config::find_ike_sa(std::string_view name) const {
  for (const auto& g : ike_sas)
    if (g.name == name) return &g;
  return nullptr;
}

}  // namespace config
