// A CHILD_SA as the IKE core sees it: SPIs, negotiated ESP transform, selectors, keys.
// The data path gets its copy through the ChildSaInstall event.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ike/engine.h"

namespace ike {

enum class ChildSaState : std::uint8_t { created, installing, installed, rekeying, deleting, destroyed };
std::string_view to_string(ChildSaState s);

struct ChildSa {
  std::string name;  // the conn (ChildConfig) name
  std::uint32_t unique_id = 0;
  ChildSaState state = ChildSaState::created;
  std::uint32_t spi_in = 0, spi_out = 0;
  Proposal proposal;  // the ESP proposal chosen (one transform of each type)
  bool transport = false;
  bool udp_encap = false;
  std::vector<common::TrafficSelector> local_ts, remote_ts;
  TimePoint installed_at{};
  Seconds lifetime{3600};
  Seconds rekey_margin{540};

  ChildSaStatus status(TimePoint now) const;
};

}  // namespace ike
