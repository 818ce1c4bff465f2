// One call that brings a TUN interface to the state a config section describes, in the
// order the kernel needs: MTU and multicast flag first, link up, addresses, then routes
// (a route's preferred `src` must already be a local address), then rp_filter.
//
// Addresses and routes are installed with NLM_F_REPLACE, so applying the same config
// again (a restart, a reload) succeeds and changes nothing. The first failing step stops
// the sequence and its error is returned; steps already done are left in place (closing
// the TUN removes the interface and everything on it).
//
// A `gre NAME` section maps as: dev=NAME, mtu, multicast=true, addresses={address peer
// PEER}, routes = each of `routes` via dev with src = address.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tun/netlink.h"
#include "tun/sysctl.h"

namespace tun {

struct InterfaceConfig {
  std::string dev;
  std::optional<std::uint32_t> mtu;
  std::optional<bool> multicast;
  bool up = true;
  std::vector<AddressSpec> addresses;
  std::vector<RouteSpec> routes;  // an empty RouteSpec::dev means `dev`
  std::optional<RpFilter> rp_filter;
};

Status apply_interface(Netlink& nl, const InterfaceConfig& cfg);

// Deletes cfg's routes (for a reload that drops some); a route already gone is not an
// error. Returns the first other failure after trying them all.
Status remove_routes(Netlink& nl, const InterfaceConfig& cfg);

}  // namespace tun
