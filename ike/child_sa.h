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

// installed → rekeying (our CREATE_CHILD_SA with REKEY_SA outstanding) → rekeyed (a
// successor is installed; this one still receives until its DELETE exchange completes)
// → deleting → gone.
enum class ChildSaState : std::uint8_t { created, installing, installed, rekeying, rekeyed, deleting, destroyed };
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
  TimePoint rekey_at{};   // soft: start a rekey (lifetime - margin - random fuzz)
  TimePoint expire_at{};  // hard: delete (lifetime)
  bool outbound_pending = false;  // rekey responder: outbound not live until the old SA goes

  ChildSaStatus status(TimePoint now) const;
};

}  // namespace ike
