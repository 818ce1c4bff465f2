// The driver: one Asio event loop around the sans-I/O cores.
//
// Data path, stage by stage:
//   inbound:  UDP/4500 recvmmsg batch → RFC 3948 classify (keepalive | IKE | ESP)
//             → SAD lookup by SPI → replay check → ICV/AEAD verify → replay commit
//             → decrypt → inner policy check (esp::Sa::decap) → TUN write
//             (TUN offload: → GRO-like coalescing of in-order TCP segments per flow, and
//             of same-sized UDP datagrams per flow where the kernel has USO →
//             one writev per super-packet with a virtio GSO header)
//   outbound: TUN read batch (into buffers with ESP headroom) → flow of the inner packet
//             → outbound SA selection by selectors → in-place ESP encap
//             → per-socket sendmmsg batch to the SA's peer (referencing the TUN buffer)
//             (TUN offload: a TCP or UDP_SEGMENT super-packet → one SA lookup → each
//             MTU-sized segment written into the socket's send buffer and encrypted in
//             place there, the run of ESP packets sent as one UDP GSO send)
//   transport mode (GRE between the gateways): the overlay's outer IPv4/GRE packet → SA by
//             selectors → ESP inserted after the IPv4 header (esp::transport); inbound the
//             IPv4 header is rebuilt in front of the payload and handed to the overlay
//   plain ESP (no NAT, forceencaps=no): the same stages over one raw IPPROTO_ESP socket
//             (apps/raw_esp.h) instead of UDP/4500
// IKE messages (UDP/500, or UDP/4500 behind the non-ESP marker) go to ike::Engine; its
// outbox and events are drained after every call. No allocation or logging per packet:
// drops are counted by reason and shown in `swanless status`.
#include "daemon/daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <unordered_map>

#include "apps/config.h"
#include "daemon/keylog.h"
#include "daemon/overlay.h"
#include "apps/peers.h"
#include "daemon/raw_esp.h"
#include "apps/secrets.h"
#include "apps/status_view.h"
#include "daemon/udp.h"
#include "common/log.h"
#include "esp/ip.h"
#include "esp/sad.h"
#include "esp/transport.h"
#include "esp/udp_encap.h"
#include "esp/volume.h"
#include "ike/engine.h"
#include "tun/device.h"
#include "tun/netlink.h"
#include "tun/offload.h"
#include "tun/sysctl.h"

namespace swld {

namespace asio = boost::asio;
using apps::build_peers;
using apps::Config;
using apps::ConnConfig;
using apps::fingerprint;
using apps::ike_fingerprint;
using apps::load_file;
using apps::load_secrets;
using apps::Secrets;
using common::Endpoint;
using common::IpAddr;

namespace {

constexpr const char* kIpsecTunName = "swanless0";
constexpr std::size_t kTunBatch = 64;
constexpr std::size_t kTunSlot = 2048;  // inner MTU is at most 1500 here
// Packets the kernel may queue on the TUN device for us while the loop is busy.
constexpr unsigned kTunTxQueue = 2048;
// With TUN offload a read returns a virtio header and up to a 64 KiB TCP super-packet.
constexpr std::size_t kTunBatchOffload = 64;
constexpr std::size_t kTunSlotOffload = esp::Sa::kMaxHeader + tun::kMaxPacket + esp::Sa::kMaxTrailer + 1;

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
std::string hex64(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

// What the driver keeps next to each installed outbound SA.
struct OutRoute {
  Endpoint local, remote;
  bool udp_encap = false;
};

// A child SA pair as the data path knows it (status needs both directions' counters).
struct InstalledChild {
  ike::ChildSaInstall info;  // keys cleared after the SAs are built
  std::chrono::steady_clock::time_point installed;
  esp::VolumeLimits limits{};                        // lifebytes/lifepackets as soft/hard
  esp::VolumeState reported = esp::VolumeState::ok;  // last limit told to the engine
};

// How often the driver looks at the CHILD_SAs' counters against their volume limits and
// the sequence space (esp/volume.h); nothing is checked per packet.
constexpr std::chrono::seconds kVolumeCheckInterval{1};

class Daemon {
 public:
  Daemon(Config cfg, Secrets secrets)
      : cfg_(std::move(cfg)), secrets_(std::move(secrets)), engine_(rng_), keylog_(cfg_.setup.keylog),
        timer_(io_), signals_(io_, SIGINT, SIGTERM, SIGHUP), started_(std::chrono::steady_clock::now()) {}

  int run();

 private:
  using Now = ike::TimePoint;
  Now now() const { return ike::Clock::now(); }

  bool open_sockets(const std::vector<ike::PeerConfig>& peers);
  void open_raw_esp(const std::vector<ike::PeerConfig>& peers);
  bool open_ipsec_tun(const std::vector<ike::PeerConfig>& peers);
  bool open_control();
  void arm_udp(UdpSocket* s, std::shared_ptr<asio::posix::stream_descriptor> d);
  void arm_tun();
  void arm_raw();
  void arm_timer();
  void arm_signals();
  void accept_control();

  void on_udp_readable(UdpSocket& s);
  void on_esp(common::MutByteSpan room, std::size_t off, std::size_t len, const esp::transport::InnerFields& outer);
  void on_raw_readable();
  void write_tun_batch();
  bool send_ipv4(common::MutByteSpan buf, std::size_t offset, std::size_t len, bool zero_copy = false);
  void send_esp(const OutRoute& route, common::ByteSpan esp);
  void send_offloaded(std::byte* base, std::size_t len);
  void write_tun(const tun::offload::TunWrite& w);
  void on_tun_readable();
  void drain_engine();
  void install_child(const ike::ChildSaInstall& c);
  void remove_child(const ike::ChildSaRemove& c);
  void release_outbound(const ike::ChildSaOutbound& c);
  // Volume limits crossed since the last look are reported to the engine, once each.
  void check_volumes(Now t);
  UdpSocket* socket_for(const Endpoint& local);
  void flush_sockets();
  nlohmann::json status_json();
  nlohmann::json handle_control(const nlohmann::json& req);
  void shutdown();
  void reload();

  asio::io_context io_;
  Config cfg_;
  Secrets secrets_;
  common::crypto::SystemRandom rng_;
  ike::Engine engine_;
  Keylog keylog_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::chrono::steady_clock::time_point started_;

  std::vector<std::unique_ptr<UdpSocket>> sockets_;
  std::vector<std::shared_ptr<asio::posix::stream_descriptor>> socket_watch_;
  std::vector<Datagram> rx_batch_;
  std::unique_ptr<RawEspSocket> raw_esp_;  // plain ESP; null without CAP_NET_RAW or when no conn needs it
  std::unique_ptr<asio::posix::stream_descriptor> raw_watch_;
  std::vector<RawPacket> raw_batch_;

  esp::Sad sad_;
  std::unordered_map<std::uint32_t, OutRoute> out_routes_;  // by outbound SPI
  // Outbound SAs of a rekey we answered, held back until the peer can receive on them
  // (ChildSaInstall::outbound_deferred, released by ChildSaOutbound).
  std::unordered_map<std::uint32_t, std::unique_ptr<esp::Sa>> pending_out_;
  std::map<std::uint32_t, InstalledChild> children_;      // by inbound SPI

  std::unique_ptr<tun::Device> tun_;
  std::unique_ptr<asio::posix::stream_descriptor> tun_watch_;
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
  std::uint64_t gso_segmented_ = 0, drop_gso_bad_ = 0;
  std::vector<std::byte> seg_scratch_buf_;  // one segment with ESP room, when GSO cannot be used
  common::MutByteSpan seg_scratch_;

  std::unique_ptr<asio::local::stream_protocol::acceptor> control_;
  std::unique_ptr<Overlay> overlay_;

  // Drops the driver decides (before/after the ESP core), by reason.
  std::uint64_t drop_no_sa_out_ = 0, drop_bad_inner_out_ = 0, drop_tun_write_ = 0, drop_esp_invalid_ = 0;
  std::uint64_t nat_keepalives_rx_ = 0;
  std::uint64_t drop_raw_malformed_ = 0, drop_no_raw_socket_ = 0, drop_transport_not_gre_ = 0;
  bool stopping_ = false;
  std::map<std::string, std::string> peer_fingerprints_;  // what is running, for reload
  std::map<std::string, std::string> peer_ike_fingerprints_;  // its IKE-level part
  Now next_volume_check_{};
};

bool Daemon::open_sockets(const std::vector<ike::PeerConfig>& peers) {
  std::vector<Endpoint> want;
  for (const auto& p : peers) {
    for (std::uint16_t port : {p.local_port, std::uint16_t(4500)}) {
      Endpoint e{p.local_addr, port};
      if (std::find(want.begin(), want.end(), e) == want.end()) want.push_back(e);
    }
  }
  for (const auto& e : want) {
    auto s = std::make_unique<UdpSocket>();
    auto st = s->open(e, false, cfg_.setup.offload);
    if (!st) {
      LOG_ERROR("cannot open IKE socket %s: %s", e.to_string().c_str(), st.error().detail);
      return false;
    }
    LOG_INFO("listening on UDP %s", e.to_string().c_str());
    auto d = std::make_shared<asio::posix::stream_descriptor>(io_, ::dup(s->fd()));
    socket_watch_.push_back(d);
    arm_udp(s.get(), d);
    sockets_.push_back(std::move(s));
  }
  return true;
}

// Plain ESP needs a raw socket (CAP_NET_RAW). Only conns with forceencaps=no can use it, and
// only when IKE finds no NAT; without the capability those conns still work through a NAT
// or with forceencaps=yes, so a failure here is a warning, and an error at the CHILD_SA
// that would need it (install_child).
void Daemon::open_raw_esp(const std::vector<ike::PeerConfig>& peers) {
  if (std::none_of(peers.begin(), peers.end(), [](const ike::PeerConfig& p) { return !p.force_encaps; })) return;
  auto s = std::make_unique<RawEspSocket>();
  if (auto st = s->open(); !st) {
    LOG_WARN("%s; conns without a NAT between the peers need forceencaps=yes", st.error().detail);
    return;
  }
  LOG_INFO("plain ESP (IP protocol 50) on a raw socket");
  raw_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(s->fd()));
  raw_esp_ = std::move(s);
  arm_raw();
}

// Tunnel-mode children get their local selector's host address on one TUN device, and a
// route for their remote selectors through it with that address as the preferred source:
// the address selection the reference write-up does with iptables SNAT.
bool Daemon::open_ipsec_tun(const std::vector<ike::PeerConfig>& peers) {
  struct Plan {
    std::vector<common::Prefix> addrs;
    std::vector<std::pair<common::Prefix, std::optional<IpAddr>>> routes;
  } plan;
  for (const auto& p : peers) {
    for (const auto& c : p.children) {
      if (c.transport) continue;
      bool gre_carried = false;
      for (const auto& g : cfg_.gres)
        if (g.conn == c.name) gre_carried = true;
      if (gre_carried) continue;  // its traffic is GRE built in-process
      // The inner addresses are the ones written in leftsubnet (10.45.8.17/28 → 10.45.8.17),
      // each put on the device as a host address (a network address alone gives none);
      // the first is the source of the routes, so the kernel picks it by default.
      std::optional<IpAddr> src;
      const ConnConfig* cc = cfg_.find_conn(c.name);
      std::vector<common::Prefix> written = cc ? cc->left.prefixes : std::vector<common::Prefix>{};
      for (const auto& w : written) {
        if (w.len < 32 && w.addr == w.first()) continue;  // a network, not a host of it
        if (!src) src = w.addr;
        common::Prefix pf{w.addr, 32};
        if (std::find(plan.addrs.begin(), plan.addrs.end(), pf) == plan.addrs.end()) plan.addrs.push_back(pf);
      }
      for (const auto& ts : c.remote_ts) {
        // A route per prefix-aligned selector; ranges that are not a prefix are skipped.
        for (std::uint8_t len = 0; len <= 32; ++len) {
          common::Prefix pf{ts.start, len};
          if (pf.first() == ts.start && pf.last() == ts.end) {
            plan.routes.push_back({pf, src});
            break;
          }
        }
      }
    }
  }
  if (plan.addrs.empty() && plan.routes.empty()) return true;
  const bool created = !tun_;
  if (created) {
    auto dev = tun::LinuxTun::open({kIpsecTunName, false, cfg_.setup.offload});
    if (!dev) {
      LOG_ERROR("cannot create TUN device %s: %s", kIpsecTunName, dev.error().detail);
      return false;
    }
    tun_offload_ = (*dev)->offload();
    tun_uso_ = (*dev)->uso();
    coalescer_.set_udp(tun_uso_);
    if (tun_offload_ && !tun_uso_)
      LOG_INFO("TUN %s: no UDP segmentation offload in this kernel (6.2+); UDP goes one datagram per read and write",
               kIpsecTunName);
    if (auto q = (*dev)->set_tx_queue_len(kTunTxQueue); !q)
      LOG_WARN("TUN %s: %s (keeping the default queue)", kIpsecTunName, q.error().detail);
    // IPv4 only: without this the kernel gives the device an IPv6 link-local address and
    // writes router solicitations and MLD reports into it, which no SA takes (they would
    // show as out_bad_inner). Before link up, so none is sent.
    if (auto v6 = tun::set_ipv6_conf(kIpsecTunName, "disable_ipv6", "1"); !v6)
      LOG_INFO("TUN %s: IPv6 stays on (%s); the kernel's IPv6 packets into it are dropped and counted",
               kIpsecTunName, v6.error().detail);
    if (!tun_offload_ && cfg_.setup.offload)
      LOG_WARN("TUN %s: kernel refused offloads (%s); one packet per read and write", kIpsecTunName,
               (*dev)->offload_refused().c_str());
    tun_ = std::move(dev.value());
  }
  auto nl = tun::Netlink::open();
  if (!nl) {
    LOG_ERROR("netlink: %s", nl.error().detail);
    return false;
  }
  auto check = [](common::Status s, const std::string& what) {
    if (!s) LOG_ERROR("%s: %s", what.c_str(), s.error().detail);
    return s.ok();
  };
  bool ok = check(nl->set_mtu(kIpsecTunName, 1400), "set MTU") && check(nl->set_link_up(kIpsecTunName), "link up");
  for (const auto& a : plan.addrs)
    ok = ok && check(nl->add_address(kIpsecTunName, {a, std::nullopt}, true), "address " + a.to_string());
  for (const auto& [dst, src] : plan.routes) {
    tun::RouteSpec r;
    r.dst = dst;
    r.dev = kIpsecTunName;
    r.src = src;
    ok = ok && check(nl->add_route(r, true), "route " + dst.to_string());
  }
  if (!ok) return false;
  LOG_INFO("TUN %s up: %zu address(es), %zu route(s)", kIpsecTunName, plan.addrs.size(), plan.routes.size());
  if (!created) return true;

  const std::size_t batch = tun_offload_ ? kTunBatchOffload : kTunBatch;
  tun_slot_ = tun_offload_ ? kTunSlotOffload : kTunSlot;
  const std::size_t vnet = tun_offload_ ? tun::offload::kVnetHdrSize : 0;
  tun_buf_.resize(batch * tun_slot_);
  seg_scratch_buf_.resize(tun_offload_ ? kTunSlotOffload : 0);
  seg_scratch_ = seg_scratch_buf_;
  for (std::size_t i = 0; i < batch; ++i) {
    std::byte* base = tun_buf_.data() + i * tun_slot_;
    tun_base_.push_back(base);
    // Leave ESP headroom in front and tailroom behind every slot: encap happens in place.
    // A virtio header is read into the end of the headroom, so the packet starts at
    // kMaxHeader either way.
    tun_slots_.push_back({common::MutByteSpan(base + esp::Sa::kMaxHeader - vnet,
                                              tun_slot_ - esp::Sa::kMaxHeader - esp::Sa::kMaxTrailer + vnet),
                          0});
  }
  tun_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(tun_->fd()));
  arm_tun();
  return true;
}

bool Daemon::open_control() {
  const std::string& path = cfg_.setup.socket;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(path.c_str());
  try {
    control_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_, asio::local::stream_protocol::endpoint(path));
  } catch (const std::exception& e) {
    LOG_ERROR("cannot open control socket %s: %s", path.c_str(), e.what());
    return false;
  }
  ::chmod(path.c_str(), 0660);
  accept_control();
  return true;
}

void Daemon::arm_udp(UdpSocket* s, std::shared_ptr<asio::posix::stream_descriptor> d) {
  d->async_wait(asio::posix::stream_descriptor::wait_read, [this, s, d](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_udp_readable(*s);
    arm_udp(s, d);
  });
}

void Daemon::arm_tun() {
  tun_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_tun_readable();
    arm_tun();
  });
}

void Daemon::arm_raw() {
  raw_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_raw_readable();
    arm_raw();
  });
}

void Daemon::arm_timer() {
  auto next = engine_.next_expiry();
  if (overlay_) {
    auto o = overlay_->next_expiry();
    if (o && (!next || *o < *next)) next = o;
  }
  if (!children_.empty() && (!next || next_volume_check_ < *next)) next = next_volume_check_;
  timer_.cancel();
  if (!next) return;
  timer_.expires_at(*next);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    Now t = now();
    if (t >= next_volume_check_) check_volumes(t);
    if (auto e = engine_.next_expiry(); e && *e <= t) engine_.on_expiry(t);
    if (overlay_) overlay_->on_expiry(t);
    drain_engine();
  });
}

void Daemon::arm_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
      arm_signals();
      return;
    }
    LOG_INFO("signal %d: deleting SAs and exiting", sig);
    shutdown();
  });
}

void Daemon::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  timer_.cancel();
  auto finish = [this] {
    engine_.shutdown(now());
    drain_engine();
    // Give the DELETEs a moment to leave, then stop the loop.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
    t->async_wait([this, t](boost::system::error_code) { io_.stop(); });
  };
  if (!overlay_ || overlay_->empty()) {
    finish();
    return;
  }
  // Prune + Hello holdtime 0 first, while the CHILD_SA still carries them; the peer's ESP
  // may be handled on another thread than its IKE, so the DELETEs wait a little.
  overlay_->shutdown(now());
  flush_sockets();
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(150));
  t->async_wait([t, finish](boost::system::error_code) { finish(); });
}

// SIGHUP: re-read config and secrets; start new conns, delete removed ones, restart changed
// ones, leave unchanged IKE_SAs and CHILD_SAs untouched. A broken file changes nothing.
void Daemon::reload() {
  LOG_INFO("SIGHUP: reloading %s", cfg_.path.c_str());
  auto loaded = load_file(cfg_.path);
  for (const auto& w : loaded.warnings) LOG_WARN("reload: %s", w.to_string().c_str());
  for (const auto& e : loaded.errors) LOG_ERROR("reload: %s", e.to_string().c_str());
  if (!loaded.ok()) {
    LOG_ERROR("reload: the configuration has errors; keeping the running one");
    return;
  }
  Config next = std::move(*loaded.config);
  auto secrets = load_secrets(next.setup.secrets);
  for (const auto& e : secrets.errors) LOG_ERROR("reload: %s", e.to_string().c_str());
  if (!secrets.ok()) {
    LOG_ERROR("reload: the secrets file has errors; keeping the running configuration");
    return;
  }
  auto built = build_peers(next, *secrets.secrets);
  for (const auto& e : built.errors) LOG_ERROR("reload: %s", e.c_str());
  if (!built.errors.empty()) {
    LOG_ERROR("reload: keeping the running configuration");
    return;
  }
  if (next.gres.size() != cfg_.gres.size() || next.pims.size() != cfg_.pims.size())
    LOG_WARN("reload: gre/pim sections changed; they take effect at the next start");
  if (next.setup.socket != cfg_.setup.socket || next.setup.keylog != cfg_.setup.keylog)
    LOG_WARN("reload: config setup changes take effect at the next start");
  Now t = now();
  std::map<std::string, std::string> fps, ike_fps;
  for (const auto& p : built.peers) {
    fps[p.name] = fingerprint(p);
    ike_fps[p.name] = ike_fingerprint(p);
  }
  // Same IKE settings, other conns: the running IKE_SA stays, its CHILD_SAs are updated.
  auto conns_only = [&](const std::string& name) {
    auto o = peer_ike_fingerprints_.find(name);
    return o != peer_ike_fingerprints_.end() && ike_fps.count(name) && ike_fps[name] == o->second;
  };
  unsigned removed = 0, added = 0, kept = 0, updated = 0;
  for (const auto& [name, fp] : peer_fingerprints_) {
    auto it = fps.find(name);
    if (it != fps.end() && (it->second == fp || conns_only(name))) continue;
    LOG_INFO("reload: %s %s", name.c_str(), it == fps.end() ? "removed: deleting its SAs" : "changed: restarting it");
    engine_.remove_peer(name, t);
    ++removed;
  }
  // Keep the routes of the running conns; add what new conns need.
  cfg_.conns = next.conns;
  if (!open_ipsec_tun(built.peers)) LOG_ERROR("reload: TUN set-up for new conns failed");
  if (!raw_esp_) open_raw_esp(built.peers);  // a new conn may need plain ESP
  for (auto& p : built.peers) {
    auto old = peer_fingerprints_.find(p.name);
    if (old != peer_fingerprints_.end() && old->second == fps[p.name]) {
      ++kept;
      continue;
    }
    std::string name = p.name;
    if (old != peer_fingerprints_.end() && conns_only(name)) {
      LOG_INFO("reload: %s: only conns changed, updating its CHILD_SAs (per conn)", name.c_str());
      if (auto st = engine_.update_peer(std::move(p), t); !st) LOG_ERROR("reload: %s: %s", name.c_str(), st.error().detail);
      ++updated;
      continue;
    }
    std::vector<std::string> starts;
    for (const auto& c : p.children)
      if (c.start) starts.push_back(c.name);
    auto st = engine_.add_peer(std::move(p));
    if (!st) {
      LOG_ERROR("reload: %s: %s", name.c_str(), st.error().detail);
      fps.erase(name);
      continue;
    }
    ++added;
    for (const auto& c : starts) (void)engine_.initiate(c, t);
  }
  peer_fingerprints_ = std::move(fps);
  peer_ike_fingerprints_ = std::move(ike_fps);
  LOG_INFO("reload: %u IKE_SA configuration(s) unchanged, %u with conns updated, %u removed or changed, %u added or "
           "restarted",
           kept, updated, removed, added);
  drain_engine();
}

UdpSocket* Daemon::socket_for(const Endpoint& local) {
  UdpSocket* fallback = nullptr;
  for (auto& s : sockets_) {
    if (s->bound().port != local.port) continue;
    if (s->bound().addr == local.addr) return s.get();
    if (s->bound().addr.is_unspecified()) fallback = s.get();
  }
  return fallback;
}

void Daemon::flush_sockets() {
  if (overlay_) overlay_->flush();
  for (auto& s : sockets_) s->flush();
  if (raw_esp_) raw_esp_->flush();
}

void Daemon::drain_engine() {
  for (auto& d : engine_.outbox()) {
    UdpSocket* s = socket_for(d.local);
    if (!s) {
      LOG_WARN("no socket bound to %s; IKE message to %s dropped", d.local.to_string().c_str(),
               d.remote.to_string().c_str());
      continue;
    }
    if (d.local.port == 4500) {
      static const std::byte marker[4] = {};
      s->queue2(d.remote, common::ByteSpan(marker, 4), d.data);
    } else {
      s->queue(d.remote, d.data);
    }
  }
  engine_.outbox().clear();
  for (auto& ev : engine_.events()) {
    if (auto* c = std::get_if<ike::ChildSaInstall>(&ev)) {
      install_child(*c);
    } else if (auto* r = std::get_if<ike::ChildSaRemove>(&ev)) {
      remove_child(*r);
    } else if (auto* o = std::get_if<ike::ChildSaOutbound>(&ev)) {
      release_outbound(*o);
    } else if (auto* k = std::get_if<ike::IkeSaKeys>(&ev)) {
      keylog_.on_ike_sa(*k);
    } else if (auto* ka = std::get_if<ike::NatKeepalive>(&ev)) {
      // RFC 3948 §2.3: one 0xFF byte keeps the NAT mapping alive.
      if (UdpSocket* s = socket_for(ka->local)) {
        static const std::byte ff[1] = {std::byte{0xff}};
        s->queue(ka->remote, common::ByteSpan(ff, 1));
      }
    } else if (auto* l = std::get_if<ike::LogEvent>(&ev)) {
      common::log_line(l->level, l->text);
    }
  }
  engine_.events().clear();
  flush_sockets();
  if (!stopping_) arm_timer();
}

void Daemon::install_child(const ike::ChildSaInstall& c) {
  keylog_.on_child_sa(c);
  esp::SaConfig in;
  in.spi = c.spi_in;
  in.direction = esp::Direction::inbound;
  in.mode = c.transport ? esp::Mode::transport : esp::Mode::tunnel;
  in.encr = c.encr;
  in.encr_key = c.encr_key_in;
  in.integ = c.integ;
  in.integ_key = c.integ_key_in;
  in.esn = c.esn;
  in.replay_window = c.replay_window;
  in.local_ts = c.local_ts;
  in.remote_ts = c.remote_ts;
  esp::SaConfig out = in;
  out.spi = c.spi_out;
  out.direction = esp::Direction::outbound;
  out.encr_key = c.encr_key_out;
  out.integ_key = c.integ_key_out;
  auto sin = esp::Sa::create(in, rng_);
  auto sout = esp::Sa::create(out, rng_);
  if (!sin || !sout) {
    LOG_ERROR("%s: cannot create ESP SA: %s", c.child_name.c_str(), (!sin ? sin.error() : sout.error()).detail);
    return;
  }
  auto s1 = sad_.add_inbound(std::move(sin.value()));
  common::Status s2;
  if (c.outbound_deferred) pending_out_[c.spi_out] = std::move(sout.value());
  else s2 = sad_.add_outbound(std::move(sout.value()));
  if (!s1 || !s2) {
    LOG_ERROR("%s: cannot install ESP SA: %s", c.child_name.c_str(), (!s1 ? s1.error() : s2.error()).detail);
    return;
  }
  out_routes_[c.spi_out] = OutRoute{c.local, c.remote, c.udp_encap};
  InstalledChild ic{c, std::chrono::steady_clock::now()};
  ic.limits = esp::VolumeLimits{c.soft_bytes, c.hard_bytes, c.soft_packets, c.hard_packets};
  ic.info.encr_key_in.clear();
  ic.info.encr_key_out.clear();
  ic.info.integ_key_in.clear();
  ic.info.integ_key_out.clear();
  children_[c.spi_in] = std::move(ic);
  LOG_INFO("%s: CHILD_SA installed, %s%s, SPIs %08x_i %08x_o, %s", c.child_name.c_str(),
           c.transport ? "transport mode, " : "", c.udp_encap ? "ESP in UDP" : "plain ESP", c.spi_in, c.spi_out,
           c.proposal.c_str());
  if (!c.udp_encap && !raw_esp_)
    LOG_ERROR("%s: no NAT between the peers, so ESP goes without UDP (IP protocol 50), but the raw ESP socket "
              "could not be opened (needs CAP_NET_RAW): its packets are dropped; set forceencaps=yes or grant the "
              "capability", c.child_name.c_str());
  if (overlay_) overlay_->on_child_up(c.child_name, now());
}

void Daemon::check_volumes(Now t) {
  next_volume_check_ = t + kVolumeCheckInterval;
  // The engine may remove children while we report: collect first.
  std::vector<std::tuple<std::uint32_t, bool, std::string_view>> crossed;
  for (auto& [spi_in, ch] : children_) {
    auto c = esp::check_volume(ch.limits, sad_.find_inbound(spi_in), sad_.find_outbound(ch.info.spi_out));
    if (static_cast<int>(c.state) <= static_cast<int>(ch.reported)) continue;
    ch.reported = c.state;
    crossed.emplace_back(spi_in, c.state == esp::VolumeState::hard, c.what);
  }
  for (const auto& [spi_in, hard, what] : crossed) engine_.child_volume_reached(spi_in, hard, what, t);
}

void Daemon::release_outbound(const ike::ChildSaOutbound& c) {
  auto it = pending_out_.find(c.spi_out);
  if (it == pending_out_.end()) return;
  auto st = sad_.add_outbound(std::move(it->second));
  pending_out_.erase(it);
  if (!st) LOG_ERROR("%s: cannot install outbound SA %08x: %s", c.child_name.c_str(), c.spi_out, st.error().detail);
  else LOG_DEBUG("%s: outbound SA %08x now carries traffic", c.child_name.c_str(), c.spi_out);
}

void Daemon::remove_child(const ike::ChildSaRemove& c) {
  pending_out_.erase(c.spi_out);
  sad_.remove_inbound(c.spi_in);
  sad_.remove_outbound(c.spi_out);
  out_routes_.erase(c.spi_out);
  children_.erase(c.spi_in);
  LOG_INFO("%s: CHILD_SA removed, SPIs %08x_i %08x_o", c.child_name.c_str(), c.spi_in, c.spi_out);
}

void Daemon::on_udp_readable(UdpSocket& s) {
  Now t = now();
  bool ike_seen = false;
  for (int round = 0; round < 8; ++round) {
    // Decapsulated packets point into the socket's receive buffers, which the next
    // recv_batch reuses: everything of a round is written out before the next one.
    std::size_t n = s.recv_batch(rx_batch_);
    if (n == 0) break;
    for (const auto& whole : rx_batch_) {
     // UDP GRO: one buffer may hold several datagrams of gso_size bytes, cut here. The
     // headroom in front of a later one is the end of the one before: its ESP trailer
     // and ICV (18 bytes at least, dead once decrypted), so a transport-mode IPv4 header
     // rebuilt there never touches a delivered payload.
     const std::size_t step = whole.gso_size ? whole.gso_size : whole.len;
     for (std::size_t at = 0; at < whole.len; at += step) {
      Datagram d = whole;
      d.data = whole.data + at;
      d.len = std::min(step, whole.len - at);
      common::ByteSpan payload(d.data, d.len);
      if (s.bound().port == 4500) {
        switch (esp::udp_encap::classify(payload)) {
          case esp::udp_encap::Kind::keepalive:
            ++nat_keepalives_rx_;
            continue;
          case esp::udp_encap::Kind::ike:
            engine_.on_datagram(d.local, d.remote, payload.subspan(esp::udp_encap::kNonEspMarkerSize), t);
            ike_seen = true;
            continue;
          case esp::udp_encap::Kind::esp:
            on_esp(common::MutByteSpan(d.data - UdpSocket::kRxHeadroom, d.len + UdpSocket::kRxHeadroom),
                   UdpSocket::kRxHeadroom, d.len, {d.remote.addr.v4_host(), d.local.addr.v4_host(), 64, 0});
            continue;
          default:
            ++drop_esp_invalid_;
            continue;
        }
      }
      engine_.on_datagram(d.local, d.remote, payload, t);
      ike_seen = true;
     }
    }
    write_tun_batch();
    if (n < UdpSocket::kBatch) break;
  }
  if (ike_seen) drain_engine();
  else flush_sockets();
}

// Everything decapsulated in one receive round, before the next round reuses the buffers.
void Daemon::write_tun_batch() {
  if (tun_offload_) coalescer_.flush([this](const tun::offload::TunWrite& w) { write_tun(w); });
  if (!tun_out_.empty() && tun_) {
    auto w = tun_->write_batch(tun_out_);
    if (!w) drop_tun_write_ += tun_out_.size();
    else if (*w < tun_out_.size()) drop_tun_write_ += tun_out_.size() - *w;
  }
  tun_out_.clear();
  if (overlay_) overlay_->flush();
}

void Daemon::on_raw_readable() {
  for (int round = 0; round < 8; ++round) {
    std::size_t n = raw_esp_->recv_batch(raw_batch_);
    if (n == 0) break;
    drop_raw_malformed_ += n - raw_batch_.size();  // cut by the buffer size
    for (auto& p : raw_batch_) {
      auto o = esp::transport::parse_outer(common::ByteSpan(p.data, p.len));
      if (!o.ok) {
        ++drop_raw_malformed_;
        continue;
      }
      const auto& h = o.outer.header;
      on_esp(common::MutByteSpan(p.data - p.headroom, p.len + p.headroom), p.headroom + o.outer.esp_offset,
             o.outer.esp_length, {h.src, h.dst, h.ttl, 0});
    }
    write_tun_batch();
    if (n < RawEspSocket::kBatch) break;
  }
  flush_sockets();
}

// room[off, off + len) is the ESP packet (SPI..ICV); room has writable bytes in front of it
// for the IPv4 header a transport-mode SA's payload gets back (esp::transport).
void Daemon::on_esp(common::MutByteSpan room, std::size_t off, std::size_t len,
                    const esp::transport::InnerFields& outer) {
  common::MutByteSpan pkt = room.subspan(off, len);
  auto r = sad_.decap(pkt, now());
  if (!r.ok()) return;  // counted per SA (or by the SAD for unknown SPIs)
  common::MutByteSpan inner = r.inner;
  const std::uint32_t spi = (std::to_integer<std::uint32_t>(pkt[0]) << 24) | (std::to_integer<std::uint32_t>(pkt[1]) << 16) |
                            (std::to_integer<std::uint32_t>(pkt[2]) << 8) | std::to_integer<std::uint32_t>(pkt[3]);
  if (esp::Sa* sa = sad_.find_inbound(spi); sa && sa->mode() == esp::Mode::transport) {
    inner = esp::transport::prepend_ipv4(*sa, room, r.inner, r.next_header, outer);
    if (inner.empty()) return;  // counted on the SA (policy, no_room)
    // Transport mode carries the gre sections' packets; nothing else goes to the host.
    if (!overlay_ || !overlay_->on_inner(inner, now())) ++drop_transport_not_gre_;
    return;
  }
  if (overlay_ && overlay_->on_inner(inner, now())) return;
  if (!tun_) {
    ++drop_tun_write_;
    return;
  }
  if (tun_offload_) coalescer_.add(inner, [this](const tun::offload::TunWrite& w) { write_tun(w); });
  else tun_out_.push_back(inner);
}

void Daemon::write_tun(const tun::offload::TunWrite& w) {
  tun::offload::serialize_vnet_hdr(w.hdr, vnet_out_);
  tun_iov_[0] = vnet_out_;
  std::copy(w.parts.begin(), w.parts.end(), tun_iov_.begin() + 1);
  if (!tun_->write_gather(std::span<const common::ByteSpan>(tun_iov_.data(), w.parts.size() + 1)))
    drop_tun_write_ += w.parts.size();
}

// An IPv4 packet at buf[offset, offset+len) with ESP headroom/tailroom → its outbound SA.
// False when no SA takes it (dropped and counted: nothing leaves unencrypted).
// zero_copy: buf stays unchanged until the sockets are flushed, so a UDP send batch may
// refer to the ESP packet where it was built.
bool Daemon::send_ipv4(common::MutByteSpan buf, std::size_t offset, std::size_t len, bool zero_copy) {
  common::ByteSpan pkt(buf.data() + offset, len);
  auto hdr = esp::ip::parse_ipv4(pkt);
  if (!hdr) {
    ++drop_bad_inner_out_;
    return false;
  }
  esp::Sa* sa = sad_.select_outbound(esp::ip::flow_of(*hdr, pkt));
  auto route = sa ? out_routes_.find(sa->spi()) : out_routes_.end();
  if (route == out_routes_.end()) {
    ++drop_no_sa_out_;  // fail closed: nothing leaves unencrypted
    return false;
  }
  if (sa->mode() == esp::Mode::transport) {
    auto e = esp::transport::encap_ipv4(*sa, buf, offset, len, now());
    if (e.ok()) send_esp(route->second, e.esp.packet);
  } else {
    auto e = sa->encap(buf, offset, len, now());
    UdpSocket* s = zero_copy && route->second.udp_encap ? socket_for(route->second.local) : nullptr;
    if (e.ok() && s) s->commit_send(e.packet, route->second.remote);
    else if (e.ok()) send_esp(route->second, e.packet);
  }
  return true;  // sent, or dropped and counted by the SA
}

// ESP in UDP from the IKE_SA's port-4500 socket, or plain ESP on the raw socket.
void Daemon::send_esp(const OutRoute& route, common::ByteSpan esp) {
  if (route.udp_encap) {
    if (UdpSocket* s = socket_for(route.local)) s->queue(route.remote, esp);
    else ++drop_no_sa_out_;
  } else if (raw_esp_) {
    raw_esp_->queue(route.local.addr, route.remote.addr, esp);
  } else {
    ++drop_no_raw_socket_;
  }
}

// One read of the offloading TUN at base + kMaxHeader - 10: virtio header, then the
// packet. A TCP super-packet is cut into segments, each built in a socket send buffer
// behind ESP headroom and encrypted there; all segments share the first one's SA.
void Daemon::send_offloaded(std::byte* base, std::size_t len) {
  namespace off = tun::offload;
  constexpr std::size_t kHead = esp::Sa::kMaxHeader;
  auto h = off::parse_vnet_hdr(common::ByteSpan(base + kHead - off::kVnetHdrSize, len));
  if (!h) {
    ++drop_gso_bad_;
    return;
  }
  common::MutByteSpan pkt(base + kHead, len - off::kVnetHdrSize);
  if (h->gso_kind() == off::kGsoNone) {
    if (h->needs_csum() && !off::complete_checksum(pkt, *h)) {
      ++drop_gso_bad_;
      return;
    }
    send_ipv4(common::MutByteSpan(base, tun_slot_), kHead, pkt.size(), true);
    return;
  }
  auto seg = off::Segmenter::create(pkt, *h);
  auto hdr = seg ? esp::ip::parse_ipv4(pkt) : common::Result<esp::ip::Ipv4Header>(seg.error());
  if (!hdr) {
    ++drop_gso_bad_;
    return;
  }
  esp::Sa* sa = sad_.select_outbound(esp::ip::flow_of(*hdr, pkt));
  auto route = sa ? out_routes_.find(sa->spi()) : out_routes_.end();
  if (route == out_routes_.end()) {
    drop_no_sa_out_ += seg->count();  // fail closed: nothing leaves unencrypted
    return;
  }
  UdpSocket* s = route->second.udp_encap && sa->mode() == esp::Mode::tunnel ? socket_for(route->second.local) : nullptr;
  if (!s) {
    // Plain ESP or a transport-mode SA: each segment through the ordinary path (a copy).
    for (std::size_t i = 0; i < seg->count(); ++i) {
      auto n = seg->write(i, seg_scratch_.subspan(kHead, seg_scratch_.size() - kHead - esp::Sa::kMaxTrailer));
      if (!n) {
        ++drop_gso_bad_;
        continue;
      }
      if (send_ipv4(seg_scratch_, kHead, *n)) ++gso_segmented_;
    }
    return;
  }
  const Now t = now();
  const Endpoint& to = route->second.remote;
  if (!s->gso()) {
    for (std::size_t i = 0; i < seg->count(); ++i) {
      common::MutByteSpan buf = s->next_send_buffer();
      auto n = seg->write(i, buf.subspan(kHead, buf.size() - kHead - esp::Sa::kMaxTrailer));
      if (!n) {
        ++drop_gso_bad_;
        continue;
      }
      auto e = sa->encap(buf, kHead, *n, t);
      if (!e.ok()) continue;  // counted by the SA
      s->commit_send(e.packet, to);
      ++gso_segmented_;
    }
    return;
  }
  // UDP GSO: the ESP packets of the segments back to back in one send buffer, all of the
  // first one's size but the last; the kernel cuts them into datagrams.
  const std::size_t hs = sa->header_size();
  std::size_t i = 0;
  while (i < seg->count()) {
    common::MutByteSpan buf = s->next_send_buffer();
    std::size_t used = 0, nseg = 0, seg_size = 0;
    while (i < seg->count() && nseg < UdpSocket::kMaxGsoSegments) {
      const std::size_t inner = seg->segment_size(i);
      const std::size_t esp_len = sa->encap_size(inner);
      if (!nseg && esp_len > UdpSocket::kMaxGsoBytes) {  // cannot happen below a 64 KiB MTU
        ++drop_gso_bad_;
        ++i;
        continue;
      }
      if (used + esp_len > UdpSocket::kMaxGsoBytes || (nseg && esp_len > seg_size)) break;
      auto n = seg->write(i, buf.subspan(used + hs, inner));
      ++i;
      if (!n) {
        ++drop_gso_bad_;
        continue;
      }
      auto e = sa->encap(buf.first(used + esp_len), used + hs, *n, t);
      if (!e.ok()) continue;  // counted by the SA
      if (!nseg) seg_size = e.packet.size();
      used += e.packet.size();
      ++nseg;
      ++gso_segmented_;
      if (e.packet.size() < seg_size) break;  // a shorter one ends the run
    }
    if (used) s->commit_gso(common::ByteSpan(buf.data(), used), seg_size, to);
  }
}

void Daemon::on_tun_readable() {
  for (int round = 0; round < 8; ++round) {
    auto n = tun_->read_batch(tun_slots_);
    if (!n || *n == 0) break;
    for (std::size_t i = 0; i < *n; ++i) {
      if (tun_offload_) send_offloaded(tun_base_[i], tun_slots_[i].len);
      else send_ipv4(common::MutByteSpan(tun_base_[i], tun_slot_), esp::Sa::kMaxHeader, tun_slots_[i].len, true);
    }
    // The batch refers to the TUN slots, which the next read reuses.
    flush_sockets();
    if (*n < tun_slots_.size()) break;
  }
}

nlohmann::json Daemon::status_json() {
  using nlohmann::json;
  Now t = now();
  json doc;
  doc["daemon"] = {{"version", "0.1.0"},
                   {"pid", ::getpid()},
                   {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(t - started_).count()}};
  auto ago = [&](std::chrono::steady_clock::time_point tp) -> json {
    if (tp == std::chrono::steady_clock::time_point{}) return nullptr;
    return std::chrono::duration_cast<std::chrono::seconds>(t - tp).count();
  };
  json sas = json::array();
  for (const auto& sa : engine_.status(t)) {
    json j;
    j["name"] = sa.name;
    j["unique_id"] = sa.unique_id;
    j["state"] = sa.state;
    j["age_s"] = sa.age ? json(sa.age->count()) : json(nullptr);
    j["local"] = {{"addr", sa.local.addr.to_string()}, {"port", sa.local.port}};
    j["remote"] = {{"addr", sa.remote.addr.to_string()}, {"port", sa.remote.port}};
    j["local_id"] = sa.local_id;
    j["remote_id"] = sa.remote_id;
    j["spi_i"] = hex64(sa.spi_i);
    j["spi_r"] = hex64(sa.spi_r);
    j["initiator"] = sa.initiator;
    j["proposal"] = sa.proposal;
    j["auth"] = sa.auth;
    j["rekey_in_s"] = sa.rekey_in ? json(sa.rekey_in->count()) : json(nullptr);
    j["reauth_in_s"] = sa.reauth_in ? json(sa.reauth_in->count()) : json(nullptr);
    json kids = json::array();
    for (const auto& c : sa.children) {
      json k;
      k["name"] = c.name;
      k["unique_id"] = c.unique_id;
      k["state"] = c.state;
      k["mode"] = c.transport ? "TRANSPORT" : "TUNNEL";
      k["encap"] = c.udp_encap;
      k["spi_in"] = hex32(c.spi_in);
      k["spi_out"] = hex32(c.spi_out);
      k["proposal"] = c.proposal;
      json lts = json::array(), rts = json::array();
      for (const auto& ts : c.local_ts) lts.push_back(ts.to_string());
      for (const auto& ts : c.remote_ts) rts.push_back(ts.to_string());
      k["local_ts"] = lts;
      k["remote_ts"] = rts;
      k["rekey_in_s"] = c.rekey_in ? json(c.rekey_in->count()) : json(nullptr);
      json drops = json::object();
      if (const esp::Sa* in = sad_.find_inbound(c.spi_in)) {
        const auto& ct = in->counters();
        k["bytes_in"] = ct.bytes;
        k["packets_in"] = ct.packets;
        k["last_in_s"] = ago(ct.last_use);
        for (std::size_t r = 1; r < esp::kDropReasons; ++r)
          if (ct.drops[r]) drops[std::string("in_") + std::string(esp::to_string(static_cast<esp::Drop>(r)))] = ct.drops[r];
      }
      if (const esp::Sa* out = sad_.find_outbound(c.spi_out)) {
        const auto& ct = out->counters();
        k["bytes_out"] = ct.bytes;
        k["packets_out"] = ct.packets;
        k["last_out_s"] = ago(ct.last_use);
        for (std::size_t r = 1; r < esp::kDropReasons; ++r)
          if (ct.drops[r]) drops[std::string("out_") + std::string(esp::to_string(static_cast<esp::Drop>(r)))] = ct.drops[r];
      }
      k["drops"] = drops;
      kids.push_back(k);
    }
    j["children"] = kids;
    sas.push_back(j);
  }
  doc["ike_sas"] = sas;
  doc["gre"] = overlay_ ? overlay_->gre_status(t) : json::array();
  doc["pim"] = overlay_ ? overlay_->pim_status(t) : json::array();
  const auto& ec = engine_.counters();
  doc["counters"] = {{"ike_rx", ec.rx_messages},
                     {"ike_tx", ec.tx_messages},
                     {"ike_retransmits", ec.retransmits},
                     {"ike_malformed", ec.rx_malformed},
                     {"ike_unknown_spi", ec.rx_unknown_spi},
                     {"ike_bad_integrity", ec.rx_bad_integrity},
                     {"ike_auth_failures", ec.auth_failures},
                     {"ike_no_proposal", ec.no_proposal},
                     {"ike_ts_unacceptable", ec.ts_unacceptable},
                     {"child_rekeys", ec.child_rekeys},
                     {"ike_rekeys", ec.ike_rekeys},
                     {"rekey_failures", ec.rekey_failures},
                     {"rekey_collisions", ec.rekey_collisions},
                     {"ike_cookies_sent", ec.cookies_sent},
                     {"ike_cookies_rejected", ec.cookies_rejected},
                     {"ike_half_open_refused", ec.half_open_refused},
                     {"ike_half_open", ec.half_open},

                     {"esp_unknown_spi", sad_.unknown_spi_drops()},
                     {"esp_truncated", sad_.truncated_drops()},
                     {"esp_invalid_udp", drop_esp_invalid_},
                     {"out_no_sa", drop_no_sa_out_},
                     {"out_bad_inner", drop_bad_inner_out_},
                     {"tun_write_failed", drop_tun_write_},
                     {"nat_keepalives_received", nat_keepalives_rx_},
                     {"esp_raw_received", raw_esp_ ? raw_esp_->received() : 0},
                     {"esp_raw_sent", raw_esp_ ? raw_esp_->sent() : 0},
                     {"esp_raw_malformed", drop_raw_malformed_},
                     {"esp_raw_send_errors", raw_esp_ ? raw_esp_->send_errors() : 0},
                     {"out_no_raw_socket", drop_no_raw_socket_},
                     {"in_transport_not_gre", drop_transport_not_gre_},
                     {"tun_gso_bad", drop_gso_bad_}};
  // Not drops: how much the TUN offloads did (tun/offload.h).
  doc["tun_offload"] = {{"enabled", tun_offload_},
                        {"udp", tun_uso_},
                        {"gso_segments_out", gso_segmented_},
                        {"gro_super_packets", coalescer_.stats().super},
                        {"gro_segments_joined", coalescer_.stats().joined},
                        {"gro_udp_super_packets", coalescer_.stats().udp_super},
                        {"gro_bad_checksum", coalescer_.stats().bad_csum}};
  return doc;
}

nlohmann::json Daemon::handle_control(const nlohmann::json& req) {
  std::string cmd = req.value("cmd", "");
  if (cmd == "status") return {{"ok", true}, {"status", status_json()}};
  if (cmd == "up" || cmd == "down") {
    std::string name = req.value("name", "");
    auto st = cmd == "up" ? engine_.initiate(name, now()) : engine_.terminate(name, now());
    drain_engine();
    if (!st) return {{"ok", false}, {"error", std::string(cmd) + " " + name + ": " + st.error().detail}};
    return {{"ok", true}, {"message", cmd == "up" ? "initiating " + name : "deleting " + name}};
  }
  return {{"ok", false}, {"error", "unknown command '" + cmd + "'"}};
}

void Daemon::accept_control() {
  control_->async_accept([this](boost::system::error_code ec, asio::local::stream_protocol::socket sock) {
    if (ec) return;
    auto s = std::make_shared<asio::local::stream_protocol::socket>(std::move(sock));
    auto buf = std::make_shared<asio::streambuf>(65536);
    asio::async_read_until(*s, *buf, '\n', [this, s, buf](boost::system::error_code ec2, std::size_t) {
      nlohmann::json reply;
      if (ec2) {
        reply = {{"ok", false}, {"error", "request too long or connection closed"}};
      } else {
        std::istream is(buf.get());
        std::string line;
        std::getline(is, line);
        auto req = nlohmann::json::parse(line, nullptr, false);
        reply = req.is_object() ? handle_control(req) : nlohmann::json{{"ok", false}, {"error", "malformed request"}};
      }
      auto out = std::make_shared<std::string>(reply.dump() + "\n");
      asio::async_write(*s, asio::buffer(*out), [s, out](boost::system::error_code, std::size_t) {
        boost::system::error_code ignored;
        s->shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
      });
    });
    if (!stopping_) accept_control();
  });
}

int Daemon::run() {
  auto built = build_peers(cfg_, secrets_);
  for (const auto& e : built.errors) LOG_ERROR("%s", e.c_str());
  if (!built.errors.empty()) return 1;
  if (!cfg_.setup.keylog.empty())
    LOG_WARN("keylog is on: IKE and ESP keys are written to %s; anyone who can read it can decrypt the traffic",
             cfg_.setup.keylog.c_str());
  if (!open_control()) return 1;
  if (!open_sockets(built.peers)) return 1;
  open_raw_esp(built.peers);
  if (!open_ipsec_tun(built.peers)) return 1;
  if (!cfg_.gres.empty()) {
    overlay_ = std::make_unique<Overlay>(io_, cfg_, rng_, [this](common::MutByteSpan b, std::size_t o, std::size_t l) {
      return send_ipv4(b, o, l);
    });
    overlay_->set_rearm([this] {
      flush_sockets();
      if (!stopping_) arm_timer();
    });
    if (!overlay_->open()) return 1;
  }
  engine_.set_fragment_size(cfg_.setup.fragment_size);
  for (auto& p : built.peers) {
    std::string name = p.name;
    peer_fingerprints_[name] = fingerprint(p);
    peer_ike_fingerprints_[name] = ike_fingerprint(p);
    auto st = engine_.add_peer(std::move(p));
    if (!st) {
      LOG_ERROR("%s: %s", name.c_str(), st.error().detail);
      return 1;
    }
  }
  arm_signals();
  engine_.start(now());
  if (overlay_) overlay_->start(now());
  drain_engine();
  io_.run();
  ::unlink(cfg_.setup.socket.c_str());
  LOG_INFO("stopped");
  return 0;
}

}  // namespace

int run_daemon(const std::string& config_path) {
  auto loaded = load_file(config_path);
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w.to_string() << "\n";
  for (const auto& e : loaded.errors) std::cerr << "error: " << e.to_string() << "\n";
  if (!loaded.ok()) return 1;
  Config cfg = std::move(*loaded.config);
  common::set_log_level(cfg.setup.loglevel);
  auto secrets = load_secrets(cfg.setup.secrets);
  for (const auto& e : secrets.errors) std::cerr << "error: " << e.to_string() << "\n";
  if (!secrets.ok()) return 1;
  ::signal(SIGPIPE, SIG_IGN);
  Daemon d(std::move(cfg), std::move(*secrets.secrets));
  return d.run();
}

}  // namespace swld
