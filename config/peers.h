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

// The address swanless puts on its TUN device for a tunnel-mode child's local selector:
// the selector's address when it is a single host, else nullopt.
std::optional<common::IpAddr> tun_address_for(const common::TrafficSelector& ts);

}  // namespace config
