#include "ike/child_sa.h"

namespace ike {

std::string_view to_string(ChildSaState s) {
  switch (s) {
    case ChildSaState::created: return "CREATED";
    case ChildSaState::installing: return "INSTALLING";
    case ChildSaState::installed: return "INSTALLED";
    case ChildSaState::rekeying: return "REKEYING";
    case ChildSaState::rekeyed: return "REKEYED";
    case ChildSaState::deleting: return "DELETING";
    case ChildSaState::destroyed: return "DESTROYED";
  }
  return "?";
}

ChildSaStatus ChildSa::status(TimePoint now) const {
  ChildSaStatus s;
  s.name = name;
  s.unique_id = unique_id;
  s.state = std::string(to_string(state));
  s.transport = transport;
  s.udp_encap = udp_encap;
  s.spi_in = spi_in;
  s.spi_out = spi_out;
  s.proposal = ike::to_string(proposal);
  s.local_ts = local_ts;
  s.remote_ts = remote_ts;
  if (state == ChildSaState::installed) {
    auto due = rekey_at;
    auto left = std::chrono::duration_cast<Seconds>(due - now);
    s.rekey_in = left.count() > 0 ? left : Seconds{0};
  }
  return s;
}

}  // namespace ike
