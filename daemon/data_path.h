// The data path: the UDP sockets (500 and 4500 per local address), the raw ESP socket, the
// IPsec TUN device swanless0 and what moves packets between them and the CHILD_SAs. This
// header holds its state and its set-up (data_path.cpp: opening, Asio watchers, flush); the
// stages are in inbound.cpp (receive) and outbound.cpp (send), in the order packets meet
// them. No allocation or logging per packet: drops are counted by reason (DaemonDrop).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "config/model.h"
#include "common/bytes.h"
#include "common/net.h"
#include "common/log_limit.h"
#include "daemon/child_table.h"
#include "daemon/drops.h"
#include "daemon/raw_esp.h"
#include "daemon/udp.h"
#include "esp/sa.h"
#include "esp/transport.h"
#include "ike/engine.h"
#include "tun/device.h"
#include "tun/offload.h"

namespace swld {

class Overlay;

// A trapped conn as status shows it (auto=route, or hold once it has been up).
struct TrapStatus {
  std::string conn;
  std::vector<common::TrafficSelector> local_ts, remote_ts;
  bool armed = false;  // false: hold, not up yet
  std::size_t queued = 0;
  std::uint64_t acquires = 0;  // initiations its packets started
};

// What status shows of the data path (daemon/status.cpp).
struct DataPathStats {
  DaemonDrops drops{};
  std::uint64_t nat_keepalives_rx = 0;
  std::uint64_t raw_received = 0, raw_sent = 0, raw_send_errors = 0;  // 0 without a raw socket
  bool tun_offload = false;
  bool tun_uso = false;
  std::uint64_t gso_segmented = 0;  // not a drop: segments cut from TUN super-packets
  tun::offload::Coalescer::Stats gro{};
  std::vector<TrapStatus> traps;
};

class DataPath {
 public:
  using Now = ike::TimePoint;

  DataPath(boost::asio::io_context& io, const config::Config& cfg, ChildTable& children, ike::Engine& engine)
      : io_(io), cfg_(cfg), children_(children), engine_(engine) {}
  DataPath(const DataPath&) = delete;
  DataPath& operator=(const DataPath&) = delete;

  // Set-up (data_path.cpp). Each watcher is armed as its socket or device opens. A reload
  // calls them again with the new or changed peers: open_sockets opens only the IKE
  // sockets not open yet, open_ipsec_tun adds addresses and routes to the device.
  bool open_sockets(const std::vector<ike::PeerConfig>& peers);
  void open_raw_esp(const std::vector<ike::PeerConfig>& peers);
  bool open_ipsec_tun(const std::vector<ike::PeerConfig>& peers);
  // Why the last open_ipsec_tun failed (its first error, as logged); empty after success.
  const std::string& device_error() const { return device_error_; }
  bool has_raw_socket() const { return raw_esp_ != nullptr; }
  // Trap policies (ike::ChildConfig::Trap) of these peers' conns, replacing the ones
  // before (start, reload). A packet that no SA takes and that falls in an armed trap's
  // selectors initiates the conn (at most once per kTrapRetry) and waits in a bounded queue.
  void set_traps(const std::vector<ike::PeerConfig>& peers);
  // A CHILD_SA of `conn` was installed: a hold trap is armed from now on, and the packets
  // queued for the conn are sent through it (the caller flushes).
  void on_child_up(const std::string& conn);
  // Drops queued packets older than kTrapHold (the daemon's 1 s timer).
  void expire_traps(Now t);
  // The overlay gets the GRE packets out of ESP and is flushed with the sockets.
  void set_overlay(Overlay* overlay) { overlay_ = overlay; }
  // Called after a receive round that handed IKE messages to the engine (it drains the
  // engine's outbox and events, and flushes).
  void set_on_ike(std::function<void()> f) { on_ike_ = std::move(f); }
  // How a trap initiates its conn (called from the event loop, after the packet's round);
  // unset: Engine::initiate directly.
  void set_on_acquire(std::function<void(const std::string& conn)> f) { on_acquire_ = std::move(f); }
  // Shutting down: the watchers are not armed again.
  void stop() { stopping_ = true; }

  // The UDP socket bound to `local` (or to 0.0.0.0 on its port); null when none is.
  UdpSocket* socket_for(const common::Endpoint& local);
  // Sends what the overlay and every socket have queued.
  void flush();
  DataPathStats stats() const;
  // Writes the "N more dropped" lines of the per-packet drop log whose period has ended
  // (the daemon's timer calls it every second; shutdown once more).
  void flush_drop_log(Now t, bool all = false);

  // One receive round of UDP datagrams as UdpSocket::recv_batch gives them (inbound.cpp;
  // on_udp_readable calls it for each round, tests hand a batch in): classified by the
  // local port each came in on and RFC 3948, IKE to the engine at `t`, ESP decapsulated and
  // delivered, the round's TUN and overlay writes flushed. Every datagram's data has
  // UdpSocket::kRxHeadroom writable bytes in front (transport mode rebuilds an IPv4 header
  // there). True when IKE went to the engine: the caller drains it (on_ike).
  bool on_udp_batch(std::span<const Datagram> batch, Now t);

  // An IPv4 packet at buf[offset, offset+len) with ESP headroom/tailroom → its outbound SA
  // (outbound.cpp; the overlay's way into ESP). False when no SA takes it (dropped and
  // counted: nothing leaves unencrypted). zero_copy: buf stays unchanged until the sockets
  // are flushed, so a UDP send batch may refer to the ESP packet where it was built.
  // vti: the packet came from that route-based conn's device (its SA only).
  bool send_ipv4(common::MutByteSpan buf, std::size_t offset, std::size_t len, bool zero_copy = false,
                 std::optional<std::size_t> vti = std::nullopt);

 private:
  static constexpr std::size_t kTunSlot = 2048;  // inner MTU is at most 1500 here
  static constexpr std::chrono::seconds kDropLogPeriod{10};
  // Trap queue: per conn at most kTrapQueue packets, each for at most kTrapHold (an SA
  // that takes longer is not coming soon: the sender retransmits). Initiations it starts
  // are kTrapRetry apart at least (a refused peer is not asked at the packet rate).
  static constexpr std::size_t kTrapQueue = 64;
  static constexpr std::chrono::seconds kTrapHold{15};
  static constexpr std::chrono::seconds kTrapRetry{5};

  // Route-based conns' devices (vti=), one per conn, in ChildTable's device index order.
  struct VtiPort {
    std::string conn, name;
    std::unique_ptr<tun::Device> dev;
    std::unique_ptr<boost::asio::posix::stream_descriptor> watch;
    std::vector<std::byte> buf;  // one packet behind ESP headroom, with tailroom
  };
  bool open_vtis(const std::vector<ike::PeerConfig>& peers);
  void arm_vti(std::size_t idx);
  void on_vti_readable(std::size_t idx);

  bool device_failed(std::string why);  // logs, keeps the first reason, returns false
  std::string device_error_;

  void arm_udp(UdpSocket* s, std::shared_ptr<boost::asio::posix::stream_descriptor> d);
  void arm_raw();
  void arm_tun();

  // inbound.cpp, in packet order
  void on_udp_readable(UdpSocket& s);
  void on_raw_readable();
  void on_esp(common::MutByteSpan room, std::size_t off, std::size_t len, const esp::transport::InnerFields& outer);
  void write_tun(const tun::offload::TunWrite& w);
  void write_tun_batch();
  void log_esp_drop(esp::Drop d, common::ByteSpan pkt, std::uint32_t outer_src);

  // outbound.cpp, in packet order (send_ipv4 above sits between these two)
  void on_tun_readable();
  void send_offloaded(std::byte* base, std::size_t len);
  void send_esp(const OutRoute& route, common::ByteSpan esp);
  // A packet no SA takes: true when a trap took it (queued or counted as a trap drop).
  // vti: the device it came from (only that conn's trap), nullopt: swanless0 or the overlay.
  bool trap_packet(const esp::ip::Flow& flow, common::ByteSpan pkt, std::optional<std::size_t> vti = std::nullopt);

  void count(DaemonDrop d, std::uint64_t n = 1) { drops_[static_cast<std::size_t>(d)] += n; }
  Now now() const { return ike::Clock::now(); }

  boost::asio::io_context& io_;
  const config::Config& cfg_;
  ChildTable& children_;
  ike::Engine& engine_;
  Overlay* overlay_ = nullptr;
  std::function<void()> on_ike_;
  std::function<void(const std::string&)> on_acquire_;
  bool stopping_ = false;

  std::vector<std::unique_ptr<UdpSocket>> sockets_;
  std::vector<std::shared_ptr<boost::asio::posix::stream_descriptor>> socket_watch_;
  std::vector<Datagram> rx_batch_;
  std::unique_ptr<RawEspSocket> raw_esp_;  // plain ESP; null without CAP_NET_RAW or when no conn needs it
  std::unique_ptr<boost::asio::posix::stream_descriptor> raw_watch_;
  std::vector<RawPacket> raw_batch_;

  std::unique_ptr<tun::Device> tun_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> tun_watch_;
  std::vector<std::byte> tun_buf_;
  std::vector<tun::PacketSlot> tun_slots_;
  std::vector<std::byte*> tun_base_;
  std::vector<common::ByteSpan> tun_out_;  // packets decapsulated in this batch, for write_batch
  // TUN offload (virtio header on every read/write); see tun/offload.h.
  bool tun_offload_ = false;
  bool tun_uso_ = false;  // the device also takes UDP_L4 super-packets (TUN_F_USO4)
  std::size_t tun_slot_ = kTunSlot;
  tun::offload::Coalescer coalescer_;
  std::array<std::byte, tun::offload::kVnetHdrSize> vnet_out_{};
  std::array<common::ByteSpan, tun::offload::Coalescer::kMaxSegments + 1> tun_iov_;
  std::uint64_t gso_segmented_ = 0;
  std::vector<std::byte> seg_scratch_buf_;  // one segment with ESP room, when GSO cannot be used
  common::MutByteSpan seg_scratch_;

  struct Trap {
    std::string conn;
    std::vector<common::TrafficSelector> local, remote;
    bool armed = false;
    std::deque<std::pair<Now, std::vector<std::byte>>> queue;  // the IPv4 packets, oldest first
    std::optional<Now> last_acquire;
    std::uint64_t acquires = 0;
    std::optional<std::size_t> vti;  // a route-based conn's trap: its device's packets only
  };
  std::vector<Trap> traps_;
  std::vector<std::unique_ptr<VtiPort>> vtis_;

  DaemonDrops drops_{};  // the drops the daemon decides, before/after the ESP core
  // One warning per inbound ESP drop, at most 5 per reason every 10 s (common/log_limit.h):
  // the counters count every packet, the log stays readable under a flood.
  common::LogLimiter esp_drop_log_{esp::kDropReasons, kDropLogPeriod, 5};
  std::uint64_t nat_keepalives_rx_ = 0;
};

}  // namespace swld
