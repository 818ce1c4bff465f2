#include "config/capabilities.h"

#include <algorithm>

namespace config {

std::vector<CapabilityNeed> capabilities_needed(const Config& cfg) {
  CapabilityNeed admin{"CAP_NET_ADMIN", {}, false};
  CapabilityNeed bind{"CAP_NET_BIND_SERVICE", {}, false};
  CapabilityNeed raw{"CAP_NET_RAW", {}, true};
  for (const auto& group : cfg.ike_sas) {
    bool first = true;
    for (const auto& name : group.conns) {
      const ConnConfig* c = cfg.find_conn(name);
      if (!c) continue;
      // The IKE_SA's sockets come from its first conn (config/peers.cpp).
      if (first && c->left.ike_port < 1024)
        bind.reasons.push_back("UDP port " + std::to_string(c->left.ike_port) + " for IKE_SA " + group.name +
                               " (leftikeport; 4500 needs nothing)");
      first = false;
      if (!c->force_encaps)
        raw.reasons.push_back("plain ESP for conn " + c->name +
                              " when no NAT is found (forceencaps=no); without it that conn needs a NAT or "
                              "forceencaps=yes");
      const bool gre_carried =
          std::any_of(cfg.gres.begin(), cfg.gres.end(), [&](const GreConfig& g) { return g.conn == c->name; });
      if (!c->vti.empty())
        admin.reasons.push_back("TUN device " + c->vti + " and its address, for route-based conn " + c->name + " (vti=)");
      else if (c->mode == Mode::tunnel && !gre_carried)
        admin.reasons.push_back("TUN device swanless0, its addresses and routes, for conn " + c->name +
                                " (tunnel mode)");
    }
  }
  for (const auto& g : cfg.gres)
    if (g.tun) admin.reasons.push_back("TUN device " + g.name + " and its rp_filter for gre " + g.name + " (tun=yes)");
  std::vector<CapabilityNeed> out;
  for (auto* n : {&admin, &bind, &raw})
    if (!n->reasons.empty()) out.push_back(std::move(*n));
  return out;
}

}  // namespace config
