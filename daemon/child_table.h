// The CHILD_SAs as the data path knows them, in one place: the SAD (esp::Sad) with both
// directions' SAs, where each outbound SA sends from and to, outbound SAs held back during a
// rekey we answered, and what status and the volume check need about each pair. The engine's
// ChildSaInstall / ChildSaRemove / ChildSaOutbound events change it; the data path and the
// status JSON read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/crypto.h"
#include "common/net.h"
#include "esp/ip.h"
#include "esp/sad.h"
#include "esp/volume.h"
#include "ike/engine.h"

namespace swld {

// Where an installed outbound SA's packets go.
struct OutRoute {
  common::Endpoint local, remote;
  bool udp_encap = false;  // ESP in UDP from the IKE_SA's port-4500 socket, else plain ESP
};

// A child SA pair (status needs both directions' counters).
struct InstalledChild {
  ike::ChildSaInstall info;  // keys cleared after the SAs are built
  std::chrono::steady_clock::time_point installed;
  esp::VolumeLimits limits{};                        // lifebytes/lifepackets as soft/hard
  esp::VolumeState reported = esp::VolumeState::ok;  // last limit told to the engine
};

// A volume limit crossed since the last look (esp/volume.h), for the engine.
struct VolumeCrossing {
  std::uint32_t spi_in = 0;
  bool hard = false;
  std::string_view what;
};

class ChildTable {
 public:
  explicit ChildTable(common::crypto::Random& rng) : rng_(rng) {}

  // Builds both ESP SAs and installs them (the outbound one held back when
  // c.outbound_deferred). False, logged, when an SA cannot be built or installed.
  bool install(const ike::ChildSaInstall& c);
  // The peer can now receive on the held-back outbound SA: it starts carrying traffic.
  void release_outbound(const ike::ChildSaOutbound& c);
  void remove(const ike::ChildSaRemove& c);
  // Whether conn `name` still has an installed CHILD_SA (after a rekey's remove it does).
  bool has_child(std::string_view name) const;

  // Limits crossed since the last call, each reported once (nothing is checked per packet).
  std::vector<VolumeCrossing> volumes_crossed();
  bool empty() const { return children_.empty(); }

  // Data path: the SAD for inbound decap, and the outbound SA for a flow with its route
  // (both null when none takes it).
  esp::Sad& sad() { return sad_; }
  const esp::Sad& sad() const { return sad_; }
  struct Outbound {
    esp::Sa* sa = nullptr;
    const OutRoute* route = nullptr;
  };
  Outbound select_outbound(const esp::ip::Flow& flow) const;

  // Route-based conns (vti=): conn name -> index of its device in the data path. Their
  // outbound SAs are never chosen by selectors; the device's packets take the conn's newest
  // one (vti_outbound), and what their inbound SAs decrypt goes to that device (vti_of).
  void set_route_based(std::map<std::string, std::size_t, std::less<>> conn_dev) { vti_conn_ = std::move(conn_dev); }
  Outbound vti_outbound(std::size_t dev) const;
  // The device index of an inbound SA's conn; nullopt for a policy-based one.
  std::optional<std::size_t> vti_of(std::uint32_t spi_in) const {
    if (vti_in_.empty()) return std::nullopt;
    auto it = vti_in_.find(spi_in);
    return it == vti_in_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }

 private:
  common::crypto::Random& rng_;
  esp::Sad sad_;
  std::unordered_map<std::uint32_t, OutRoute> out_routes_;  // by outbound SPI
  // Outbound SAs of a rekey we answered, held back until the peer can receive on them
  // (ChildSaInstall::outbound_deferred, released by ChildSaOutbound).
  std::unordered_map<std::uint32_t, std::unique_ptr<esp::Sa>> pending_out_;
  std::map<std::uint32_t, InstalledChild> children_;  // by inbound SPI
  std::map<std::string, std::size_t, std::less<>> vti_conn_;
  std::unordered_map<std::uint32_t, std::size_t> vti_in_;  // inbound SPI -> device
  std::unordered_map<std::size_t, std::uint32_t> vti_out_;  // device -> newest live outbound SPI
  std::optional<std::size_t> vti_dev(std::string_view conn) const {
    auto it = vti_conn_.find(conn);
    return it == vti_conn_.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }
  // After a route-based SA went: the conn's newest remaining live outbound SA, if any.
  void vti_reselect(std::string_view conn);
};

}  // namespace swld
