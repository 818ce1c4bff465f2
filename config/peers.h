// Turns the resolved configuration (config::Config + secrets) into the IKE engine's
// PeerConfigs: one per IKE_SA group, one ChildConfig per conn of the group.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "config/secrets.h"
#include "ike/engine.h"

namespace config {

struct PeersResult {
  std::vector<ike::PeerConfig> peers;
  std::vector<std::string> errors;  // e.g. "dc-tun: no PSK in FILE for 'a' <-> 'b'"
};

PeersResult build_peers(const Config& cfg, const Secrets& secrets);

// Everything of a PeerConfig that matters to its SAs, as one string: equal fingerprints
// mean a reload leaves that IKE_SA alone.
std::string fingerprint(const ike::PeerConfig& p);
// Its IKE-level part (no conns). When only the conns differ, a reload updates the running
// IKE_SA's CHILD_SAs one by one (ike::Engine::update_peer) instead of restarting it.
std::string ike_fingerprint(const ike::PeerConfig& p);

// What swanless puts on its IPsec TUN device (swanless0) for the tunnel-mode conns among
// `conns` that no gre section carries: each address written in leftsubnet as a host
// address (10.45.8.17/28 gives 10.45.8.17/32; a network address such as 10.45.8.16/28
// gives none), and a route through the device for each remote selector that is a prefix,
// with the first of those addresses as the preferred source. Selectors that are ranges,
// not prefixes, and selectors holding the peer's own outer address (a route for those
// would loop swanless's own packets into the device) get no route and are listed, with why. The daemon applies it (daemon/data_path.cpp)
// and `swanless check` prints it, so the two cannot disagree.
struct TunRoute {
  common::Prefix dst;
  std::optional<common::IpAddr> src;
};
struct TunPlan {
  std::string dev;  // vti_plan: the conn's device (ipsec_tun_plan: swanless0)
  std::vector<common::Prefix> addrs;
  std::vector<TunRoute> routes;
  std::vector<std::string> unrouted;  // "conn: 10.0.0.1..10.0.0.7 (a range, not a prefix)"
  bool empty() const { return addrs.empty() && routes.empty(); }
};
TunPlan ipsec_tun_plan(const Config& cfg, const std::vector<std::string>& conns);
// A route-based conn's (vti=) device: leftvti's address with its prefix (the link to the
// peer's inside address), and routes only with vti-routing=yes, never 0.0.0.0/0.
TunPlan vti_plan(const ConnConfig& c);

}  // namespace config
