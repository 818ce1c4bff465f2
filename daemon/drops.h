// The daemon's own drops (the ones it decides around the cores: no socket, no SA, a TUN
// that refused a write, ...), and the one way any component's per-reason counters become
// JSON for `swanless status --json`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swld {

// Each is shown under `counters` by its to_string name, zero or not (scripts read them).
enum class DaemonDrop : std::uint8_t {
  esp_invalid_udp,       // UDP/4500 payload that is neither keepalive, IKE nor ESP
  out_no_sa,             // outbound packet no SA takes, or no socket for its SA (fail closed)
  out_bad_inner,         // outbound packet from the TUN that is not IPv4
  tun_write_failed,      // decapsulated packet the TUN did not take (or no TUN for it)
  esp_raw_malformed,     // raw ESP socket: cut by the buffer, or not IPv4 carrying ESP
  out_no_raw_socket,     // plain ESP SA but no raw socket (no CAP_NET_RAW)
  in_transport_not_gre,  // transport-mode payload that is no GRE of a gre section
  tun_gso_bad,           // TUN offload: bad virtio header, checksum or segment
  trap_queue_full,       // trapped conn (auto=route, hold): packet beyond the queue while the SA comes up
  trap_expired,          // trapped conn: queued packet whose SA did not come up in time
  count_
};
inline constexpr std::size_t kDaemonDropCount = static_cast<std::size_t>(DaemonDrop::count_);
std::string_view to_string(DaemonDrop d);
using DaemonDrops = std::array<std::uint64_t, kDaemonDropCount>;

struct DropsJson {
  std::string_view prefix;  // put in front of every name ("in_", "rx_")
  std::size_t first = 0;    // the first reason shown (1 skips a "none"/"deliver" at 0)
  bool zeros = false;       // also the reasons that counted nothing
};

// Adds `counts`, indexed by Reason, to the JSON object `into` as
// "<prefix><to_string(reason)>": count; reasons that counted nothing are left out unless
// opts.zeros.
template <typename Reason, std::size_t N>
void drops_json(nlohmann::json& into, const std::array<std::uint64_t, N>& counts, DropsJson opts = {}) {
  for (std::size_t r = opts.first; r < N; ++r) {
    if (!counts[r] && !opts.zeros) continue;
    std::string name(opts.prefix);
    name += to_string(static_cast<Reason>(r));
    into[name] = counts[r];
  }
}

}  // namespace swld
