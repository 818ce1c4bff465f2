// The overlay that rides inside the CHILD_SAs: GRE tunnels (gre sections), PIM upstream
// instances (pim sections) and multicast delivery, with their optional TUN devices and
// the pcap tap. The data path hands it every inner packet that came out of ESP and gives it
// a function that sends an IPv4 packet into ESP.
//
// Inbound, per packet (where each goes: gre/dispatch.h): ESP inner IPv4 → GRE tunnel by
//   outer endpoints → gre::Tunnel::decap
//   → keepalive: reflect through ESP | PIM (proto 103): pim::Upstream::on_packet
//   | multicast UDP to a joined group: pim::DeliveryPolicy → udp:HOST:PORT and/or the TUN
//   | anything else: the tunnel's TUN device (when tun=yes)
//   (packets for the TUN: TCP MSS clamped in place, gre::Fixup::inbound)
// Outbound: TUN read → gre::Fixup::outbound: too big with DF → ICMP frag-needed back to the
//   TUN | MSS clamped in place → gre::Tunnel::encap (in place) → ESP; PIM and keepalives the
//   same way.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/model.h"
#include "common/bytes.h"
#include "common/crypto.h"

namespace boost::asio {
class io_context;
}

namespace swld {

class Overlay {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  // Sends an IPv4 packet through the ESP SA its addresses select. `buf` holds the packet
  // at [offset, offset+len) with ESP headroom before and tailroom after (in-place encap).
  // False when no SA takes it: the packet is dropped (never sent in the clear) and the
  // tunnel counts it as `no_sa`.
  using SendFn = std::function<bool(common::MutByteSpan buf, std::size_t offset, std::size_t len)>;

  Overlay(boost::asio::io_context& io, const config::Config& cfg, common::crypto::Random& rng, SendFn send);
  ~Overlay();
  Overlay(const Overlay&) = delete;
  Overlay& operator=(const Overlay&) = delete;

  // Creates TUN devices, delivery sockets, pcap files. False (logged) on failure.
  bool open();
  void start(TimePoint now);
  // The CHILD_SA of conn `conn` was installed: PIM on tunnels it carries says Hello and
  // joins at once instead of waiting for the next interval.
  void on_child_up(const std::string& conn, TimePoint now);
  // The last CHILD_SA of conn `conn` is gone: a pim section with two upstreams moves its
  // joins to the other tunnel (active-standby).
  void on_child_down(const std::string& conn, TimePoint now);
  // An inner packet out of ESP; true when it was a GRE packet of one of our tunnels.
  // Mutable: TCP SYNs going to the TUN get their MSS clamped in place.
  bool on_inner(common::MutByteSpan ipv4, TimePoint now);
  std::optional<TimePoint> next_expiry() const;
  void on_expiry(TimePoint now);
  // Prune for every group and a Hello with holdtime 0 (CONFIG.md shutdown order).
  void shutdown(TimePoint now);
  // After a batch: flush queued delivery datagrams, TUN writes and pcap files.
  void flush();
  // Called when the overlay has expiries that moved (the daemon re-arms its timer).
  void set_rearm(std::function<void()> f);

  nlohmann::json gre_status(TimePoint now) const;
  nlohmann::json pim_status(TimePoint now) const;
  bool empty() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace swld
