#include "tun/interface_setup.h"

#include <cstring>

namespace tun {

namespace {
RouteSpec with_dev(RouteSpec r, const std::string& dev) {
  if (r.dev.empty()) r.dev = dev;
  return r;
}
}  // namespace

Status apply_interface(Netlink& nl, const InterfaceConfig& cfg) {
  if (cfg.mtu)
    if (Status s = nl.set_mtu(cfg.dev, *cfg.mtu); !s) return s;
  if (cfg.multicast)
    if (Status s = nl.set_multicast(cfg.dev, *cfg.multicast); !s) return s;
  if (Status s = nl.set_link_up(cfg.dev, cfg.up); !s) return s;
  for (const AddressSpec& a : cfg.addresses)
    if (Status s = nl.add_address(cfg.dev, a, /*replace=*/true); !s) return s;
  for (const RouteSpec& r : cfg.routes)
    if (Status s = nl.add_route(with_dev(r, cfg.dev), /*replace=*/true); !s) return s;
  if (cfg.rp_filter)
    if (Status s = set_rp_filter(cfg.dev, *cfg.rp_filter); !s) return s;
  return {};
}

Status remove_routes(Netlink& nl, const InterfaceConfig& cfg) {
  Status first;
  for (const RouteSpec& r : cfg.routes) {
    Status s = nl.del_route(with_dev(r, cfg.dev));
    // ESRCH ("No such process") is the kernel's answer for a route that is not there.
    if (!s && !std::strstr(s.error().detail, "No such process") && first) first = s;
  }
  return first;
}

}  // namespace tun
