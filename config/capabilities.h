// Which Linux capabilities a config needs, and why: what `swanless check` prints so that a
// systemd unit's CapabilityBoundingSet=/AmbientCapabilities= (or a container's cap_add) can
// grant exactly those. Derived from the model the same way the daemon decides what to open
// (daemon/data_path.cpp, daemon/overlay.cpp):
//   CAP_NET_ADMIN         a TUN device: swanless0 for tunnel-mode conns not carried by a gre
//                         section, one per gre section with tun=yes (addresses, routes, the
//                         rp_filter sysctl)
//   CAP_NET_BIND_SERVICE  an IKE port below 1024 (leftikeport, 500 by default); 4500 is not
//   CAP_NET_RAW           plain ESP (IP protocol 50) for conns with forceencaps=no when no NAT
//                         is found; without it those conns need a NAT or forceencaps=yes
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace config {

struct CapabilityNeed {
  std::string name;                  // "CAP_NET_ADMIN"
  std::vector<std::string> reasons;  // one per conn or section that needs it
  bool optional = false;             // without it swanless still runs, in a narrower way
};

// In a fixed order (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_NET_RAW); only those needed.
std::vector<CapabilityNeed> capabilities_needed(const Config& cfg);

}  // namespace config
