// The daemon's life cycle: one Asio event loop around the sans-I/O cores. It opens the
// control socket, the sockets and TUN devices (DataPath, Overlay), hands the conns to the
// IKE engine, and then runs: one timer armed at the earliest expiry of the engine, the
// overlay and the volume check; after every input the engine's outbox (datagrams) and
// events (CHILD_SA install/remove via the ChildTable, deferred outbound release, keylog,
// log lines, NAT keepalives) are drained. SIGHUP reloads; SIGINT/SIGTERM shut down (PIM
// prunes first, then the IKE DELETEs).
//
// Where the rest is: the packets in data_path.h (receive stages inbound.cpp, send stages
// outbound.cpp), the SAs in child_table.h, status in status.cpp, the control protocol in
// control.h, what rides inside the SAs in overlay.h.
#include "daemon/daemon.h"

#include <signal.h>
#include <unistd.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>

#include "common/log.h"
#include "common/secure_heap.h"
#include "config/config.h"
#include "config/peers.h"
#include "config/secrets.h"
#include "config/capabilities.h"
#include "daemon/child_table.h"
#include "daemon/control.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/privilege.h"
#include "daemon/data_path.h"
#include "daemon/keylog.h"
#include "daemon/overlay.h"
#include "daemon/status.h"
#include "ike/engine.h"

namespace swld {

namespace asio = boost::asio;
using config::build_peers;
using config::capabilities_needed;
using config::Config;
using config::fingerprint;
using config::ike_fingerprint;
using config::load_file;
using config::load_secrets;
using config::Secrets;

namespace {

// How often the daemon looks at the CHILD_SAs' counters against their volume limits and
// the sequence space (esp/volume.h); nothing is checked per packet.
constexpr std::chrono::seconds kVolumeCheckInterval{1};
constexpr std::chrono::seconds kResolveInterval{60};

class Daemon {
 public:
  Daemon(Config cfg, Secrets secrets)
      : cfg_(std::move(cfg)), secrets_(std::move(secrets)), engine_(rng_), keylog_(cfg_.setup.keylog),
        timer_(io_), signals_(io_, SIGINT, SIGTERM, SIGHUP), started_(std::chrono::steady_clock::now()),
        children_(rng_), data_(io_, cfg_, children_, engine_), control_(io_, control_commands()),
        notify_(ServiceNotifier::from_environment()), watchdog_timer_(io_), resolve_timer_(io_), resolver_(io_) {}

  int run();

 private:
  using Now = ike::TimePoint;
  Now now() const { return ike::Clock::now(); }

  ControlCommands control_commands();
  void arm_timer();
  void arm_signals();
  void drain_engine();
  void install_child(const ike::ChildSaInstall& c);
  // Volume limits crossed since the last look are reported to the engine, once each.
  void check_volumes(Now t);
  void shutdown();
  void reload();
  // WATCHDOG=1 to systemd at half its WatchdogSec, from this loop: a stuck loop stops it.
  void arm_watchdog();
  // Peers written as right=NAME: resolved again every kResolveInterval, off the event loop
  // (Asio's resolver thread); a new address goes to the engine for the next IKE_SAs.
  void arm_resolve();
  // `swanless up` and traps: initiates conn or IKE_SA `name`. When its peer is written as
  // right=NAME, the name is resolved first (off the event loop) and the IKE_SA goes to the
  // address it has now; if that fails, to the last one.
  common::Status initiate(const std::string& name);
  // user=: everything that needs root is open; become that user with only the config's
  // capabilities. False (logged) when it cannot.
  bool drop_to_user();
  // After user=: why something a reload asks for cannot be done ("" if cap was kept).
  std::string restart_hint(const char* cap) const;
  // Sets up each conn's device (swanless0's addresses and routes, or its vti= device) on
  // its own. A conn whose device cannot be set up is taken out of p and recorded in
  // conns_down_ with why; the others go on. `when` is for the log ("", "reload: ").
  void open_devices(ike::PeerConfig& p, const char* when);

  asio::io_context io_;
  Config cfg_;
  Secrets secrets_;
  common::crypto::SystemRandom rng_;
  ike::Engine engine_;
  Keylog keylog_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::chrono::steady_clock::time_point started_;
  ChildTable children_;
  DataPath data_;
  ControlServer control_;
  std::unique_ptr<Overlay> overlay_;
  ServiceNotifier notify_;
  asio::steady_timer watchdog_timer_;
  std::unique_ptr<MetricsServer> metrics_;

  bool stopping_ = false;
  bool dropped_ = false;                // user= done: no way back to root
  std::vector<std::string> kept_caps_;  // what the drop kept
  std::map<std::string, std::string> peer_fingerprints_;      // what is running, for reload
  std::map<std::string, std::string> peer_ike_fingerprints_;  // its IKE-level part
  Now next_volume_check_{};
  asio::steady_timer resolve_timer_;
  asio::ip::udp::resolver resolver_;
  // Conns that are down because their device could not be set up: conn -> why. Shown in
  // status; a reload tries them again.
  std::map<std::string, ConnDown> conns_down_;
};

ControlCommands Daemon::control_commands() {
  ControlCommands c;
  c.status = [this] {
    const DataPathStats data = data_.stats();
    return status_json({now(), started_, engine_, children_, data, overlay_.get(), &conns_down_});
  };
  c.up = [this](const std::string& name) { return initiate(name); };
  c.down = [this](const std::string& name) {
    auto st = engine_.terminate(name, now());
    drain_engine();
    return st;
  };
  return c;
}

int Daemon::run() {
  auto built = build_peers(cfg_, secrets_);
  for (const auto& e : built.errors) LOG_ERROR("%s", e.c_str());
  if (!built.errors.empty()) return 1;
  if (!cfg_.setup.keylog.empty())
    LOG_WARN("keylog is on: IKE and ESP keys are written to %s; anyone who can read it can decrypt the traffic",
             cfg_.setup.keylog.c_str());
  if (!control_.open(cfg_.setup.socket, cfg_.setup.socket_group)) return 1;
  if (cfg_.setup.metrics) {
    auto status = control_commands().status;
    metrics_ = std::make_unique<MetricsServer>(io_, std::move(status));
    if (!metrics_->open(*cfg_.setup.metrics)) return 1;
  }
  data_.set_on_ike([this] { drain_engine(); });
  data_.set_on_acquire([this](const std::string& conn) { (void)initiate(conn); });
  if (!data_.open_sockets(built.peers)) return 1;
  data_.open_raw_esp(built.peers);
  for (auto& p : built.peers) open_devices(p, "");
  std::erase_if(built.peers, [](const ike::PeerConfig& p) { return p.children.empty(); });
  data_.set_traps(built.peers);
  if (!cfg_.gres.empty()) {
    overlay_ = std::make_unique<Overlay>(io_, cfg_, rng_, [this](common::MutByteSpan b, std::size_t o, std::size_t l) {
      return data_.send_ipv4(b, o, l);
    });
    data_.set_overlay(overlay_.get());
    overlay_->set_rearm([this] {
      data_.flush();
      if (!stopping_) arm_timer();
    });
    if (!overlay_->open()) return 1;
  }
  if (!cfg_.setup.user.empty() && !drop_to_user()) return 1;
  // The secrets are loaded and keys are about to exist: no core dumps from here (after the
  // drop, which would reset the flag), unless asked for.
  if (auto st = set_dumpable(cfg_.setup.dumpable); !st) LOG_WARN("%s", st.error().detail);
  else if (cfg_.setup.dumpable) LOG_WARN("dumpable=yes: core dumps of this process hold its keys");
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
  // Everything is open: a Type=notify unit counts as started from here.
  notify_.send(ServiceNotifier::ready(std::to_string(built.peers.size()) + " IKE_SA configs, " +
                                      std::to_string(cfg_.gres.size()) + " gre, " + std::to_string(cfg_.pims.size()) +
                                      " pim; control socket " + cfg_.setup.socket));
  arm_watchdog();
  arm_resolve();
  io_.run();
  ::unlink(cfg_.setup.socket.c_str());
  LOG_INFO("stopped");
  return 0;
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
      notify_.send(ServiceNotifier::reloading());
      reload();
      notify_.send(ServiceNotifier::ready("reloaded " + cfg_.path));
      arm_signals();
      return;
    }
    LOG_INFO("signal %d: deleting SAs and exiting", sig);
    shutdown();
  });
}

void Daemon::drain_engine() {
  for (auto& d : engine_.outbox()) {
    UdpSocket* s = data_.socket_for(d.local);
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
      children_.remove(*r);
      if (overlay_ && !children_.has_child(r->child_name)) overlay_->on_child_down(r->child_name, now());
    } else if (auto* o = std::get_if<ike::ChildSaOutbound>(&ev)) {
      children_.release_outbound(*o);
    } else if (auto* k = std::get_if<ike::IkeSaKeys>(&ev)) {
      keylog_.on_ike_sa(*k);
    } else if (auto* ka = std::get_if<ike::NatKeepalive>(&ev)) {
      // RFC 3948 §2.3: one 0xFF byte keeps the NAT mapping alive.
      if (UdpSocket* s = data_.socket_for(ka->local)) {
        static const std::byte ff[1] = {std::byte{0xff}};
        s->queue(ka->remote, common::ByteSpan(ff, 1));
      }
    } else if (auto* l = std::get_if<ike::LogEvent>(&ev)) {
      if (common::log_enabled(common::Subsys::ike, l->level)) common::log_line(common::Subsys::ike, l->level, l->text);
    }
  }
  engine_.events().clear();
  data_.flush();
  if (!stopping_) arm_timer();
}

void Daemon::install_child(const ike::ChildSaInstall& c) {
  keylog_.on_child_sa(c);
  if (!children_.install(c)) return;
  if (!c.udp_encap && !data_.has_raw_socket())
    LOG_ERROR("%s: no NAT between the peers, so ESP goes without UDP (IP protocol 50), but the raw ESP socket "
              "could not be opened (needs CAP_NET_RAW): its packets are dropped; set forceencaps=yes or grant the "
              "capability", c.child_name.c_str());
  if (overlay_) overlay_->on_child_up(c.child_name, now());
  data_.on_child_up(c.child_name);
}

void Daemon::check_volumes(Now t) {
  next_volume_check_ = t + kVolumeCheckInterval;
  data_.flush_drop_log(t);
  data_.expire_traps(t);
  for (const auto& v : children_.volumes_crossed()) engine_.child_volume_reached(v.spi_in, v.hard, v.what, t);
}

bool Daemon::drop_to_user() {
  std::vector<std::string> names;
  std::string list;
  for (const auto& need : capabilities_needed(cfg_)) {
    names.push_back(need.name);
    list += (list.empty() ? "" : " ") + need.name;
  }
  auto keep = capability_numbers(names);
  if (!keep) {
    LOG_ERROR("user=%s: %s", cfg_.setup.user.c_str(), keep.error().detail);
    return false;
  }
  // The control socket stays usable by the user swanless becomes (and by socket_group).
  const gid_t sock_gid = cfg_.setup.socket_group ? *cfg_.setup.socket_group : cfg_.setup.user_gid;
  if (::chown(cfg_.setup.socket.c_str(), cfg_.setup.user_uid, sock_gid) != 0)
    LOG_WARN("user=%s: cannot hand the control socket %s over: %s", cfg_.setup.user.c_str(), cfg_.setup.socket.c_str(),
             std::strerror(errno));
  if (auto st = drop_privileges(cfg_.setup.user_uid, cfg_.setup.user_gid, *keep); !st) {
    LOG_ERROR("user=%s: cannot drop privileges: %s", cfg_.setup.user.c_str(), st.error().detail);
    return false;
  }
  control_.set_owner(cfg_.setup.user_uid);
  dropped_ = true;
  kept_caps_ = names;
  LOG_INFO("running as %s (uid %u, gid %u%s%s), capabilities kept: %s", cfg_.setup.user.c_str(),
           static_cast<unsigned>(cfg_.setup.user_uid), static_cast<unsigned>(cfg_.setup.user_gid),
           cfg_.setup.group.empty() ? "" : " ", cfg_.setup.group.c_str(), list.empty() ? "none" : list.c_str());
  return true;
}

std::string Daemon::restart_hint(const char* cap) const {
  if (!dropped_ || std::find(kept_caps_.begin(), kept_caps_.end(), cap) != kept_caps_.end()) return "";
  std::string kept;
  for (const auto& c : kept_caps_) kept += (kept.empty() ? "" : " ") + c;
  return std::string("; it needs ") + cap + ", which swanless gave up when it became " + cfg_.setup.user +
         " (it kept only what the configuration at start needed: " + (kept.empty() ? "none" : kept) +
         "); restart swanless to apply it";
}

void Daemon::open_devices(ike::PeerConfig& p, const char* when) {
  std::vector<ike::ChildConfig> kept;
  for (auto& ch : p.children) {
    ike::PeerConfig one = p;
    one.children = {ch};
    if (data_.open_ipsec_tun({one})) {
      conns_down_.erase(ch.name);
      kept.push_back(std::move(ch));
      continue;
    }
    const std::string why = data_.device_error();
    // After user=, a missing capability stays missing: only a restart brings the conn back.
    const std::string hint = restart_hint("CAP_NET_ADMIN");
    const std::string retry = hint.empty() ? "a reload (SIGHUP) tries it again" : hint.substr(2);
    LOG_ERROR("%sconn %s stays down: %s; the other conns go on; %s", when, ch.name.c_str(), why.c_str(), retry.c_str());
    conns_down_[ch.name] = {why, retry};
  }
  p.children = std::move(kept);
}

common::Status Daemon::initiate(const std::string& name) {
  const config::ConnConfig* named = nullptr;
  for (const auto& c : cfg_.conns)
    if ((c.name == name || c.ike_sa == name) && !c.right.dns_name.empty()) named = &c;
  if (!named) {
    auto st = engine_.initiate(name, now());
    drain_engine();
    return st;
  }
  resolver_.async_resolve(
      asio::ip::udp::v4(), named->right.dns_name, "",
      [this, name, peer = named->ike_sa, host = named->right.dns_name](boost::system::error_code ec, auto results) {
        if (stopping_) return;
        if (ec || results.empty())
          LOG_WARN("%s: cannot resolve %s (%s): initiating to the last address", peer.c_str(), host.c_str(),
                   ec ? ec.message().c_str() : "no IPv4 address");
        else if (auto st = engine_.set_peer_address(
                     peer, common::IpAddr::v4(results.begin()->endpoint().address().to_v4().to_uint()));
                 !st)
          LOG_WARN("%s: %s", peer.c_str(), st.error().detail);
        if (auto st = engine_.initiate(name, now()); !st) LOG_WARN("%s: cannot initiate: %s", name.c_str(), st.error().detail);
        drain_engine();
      });
  return {};
}

void Daemon::arm_resolve() {
  if (std::none_of(cfg_.conns.begin(), cfg_.conns.end(), [](const auto& c) { return !c.right.dns_name.empty(); }))
    return;
  resolve_timer_.expires_after(kResolveInterval);
  resolve_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    std::map<std::string, std::string> names;  // IKE_SA (engine peer) -> host name
    for (const auto& c : cfg_.conns)
      if (!c.right.dns_name.empty()) names[c.ike_sa] = c.right.dns_name;
    for (const auto& [peer, name] : names)
      resolver_.async_resolve(asio::ip::udp::v4(), name, "", [this, peer = peer, name = name](
                                                                 boost::system::error_code rec, auto results) {
        if (rec || results.empty()) {
          LOG_WARN("%s: cannot resolve %s again (%s); IKE_SAs keep going to the last address", peer.c_str(),
                   name.c_str(), rec ? rec.message().c_str() : "no IPv4 address");
          return;
        }
        const auto a = common::IpAddr::v4(results.begin()->endpoint().address().to_v4().to_uint());
        if (auto st = engine_.set_peer_address(peer, a); !st) LOG_WARN("%s: %s", peer.c_str(), st.error().detail);
        drain_engine();
      });
    arm_resolve();
  });
}

void Daemon::arm_watchdog() {
  const auto interval = notify_.watchdog();
  if (!interval || stopping_) return;
  notify_.send(ServiceNotifier::watchdog_ping());
  watchdog_timer_.expires_after(*interval / 2);
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) arm_watchdog();
  });
}

void Daemon::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  notify_.send(ServiceNotifier::stopping());
  watchdog_timer_.cancel();
  resolve_timer_.cancel();
  resolver_.cancel();
  if (metrics_) metrics_->stop();
  data_.stop();
  data_.flush_drop_log(now(), true);
  control_.stop();
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
  data_.flush();
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
  for (const auto& n : next.notes) LOG_INFO("reload: %s", n.c_str());
  auto secrets = load_secrets(next.setup.secrets);
  for (const auto& w : secrets.warnings) LOG_WARN("reload: %s", w.to_string().c_str());
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
  {
    // What config setup decides is set up once, at start (and some of it needs the root
    // that user= gave up): name what changed instead of pretending to apply it.
    std::string changed;
    auto note = [&](bool differs, const char* key) {
      if (differs) changed += (changed.empty() ? "" : ", ") + std::string(key);
    };
    const auto &a = cfg_.setup, &b = next.setup;
    note(a.socket != b.socket, "socket");
    note(a.socket_group != b.socket_group, "socket_group");
    note(a.user != b.user, "user");
    note(a.user_gid != b.user_gid, "group");
    note(a.dumpable != b.dumpable, "dumpable");
    note(a.metrics != b.metrics, "metrics");
    note(a.keylog != b.keylog, "keylog");
    note(a.pcap != b.pcap, "pcap");
    note(a.offload != b.offload, "offload");
    note(a.rcvbuf != b.rcvbuf, "rcvbuf");
    note(a.sndbuf != b.sndbuf, "sndbuf");
    if (!changed.empty())
      LOG_WARN("reload: config setup %s changed: the running values stay until swanless restarts", changed.c_str());
  }
  Now t = now();
  conns_down_.clear();  // what is still down is found again below
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
  // Keep the sockets and routes of the running conns; add what new ones need, per IKE_SA,
  // so that one that cannot get its socket or device (a privilege given up at start, an
  // address not on this host) is refused by name and the others still start.
  cfg_.conns = next.conns;
  data_.set_traps(built.peers);
  if (!data_.has_raw_socket()) {
    data_.open_raw_esp(built.peers);  // a new conn may need plain ESP
    const bool wants_raw = std::any_of(built.peers.begin(), built.peers.end(),
                                       [](const ike::PeerConfig& p) { return !p.force_encaps; });
    if (const std::string hint = restart_hint("CAP_NET_RAW"); wants_raw && !data_.has_raw_socket() && !hint.empty())
      LOG_WARN("reload: plain ESP (forceencaps=no) works only through a NAT until restart%s", hint.c_str());
  }
  unsigned refused = 0;
  for (auto& p : built.peers) {
    auto old = peer_fingerprints_.find(p.name);
    if (old != peer_fingerprints_.end() && old->second == fps[p.name]) {
      ++kept;
      continue;
    }
    std::string name = p.name;
    // Refused: a peer still running with its old conns keeps its old fingerprint, so the
    // next reload tries the update again; one already removed is simply not running.
    auto refuse = [&] {
      if (old != peer_fingerprints_.end() && conns_only(name)) {
        fps[name] = old->second;
      } else {
        fps.erase(name);
        ike_fps.erase(name);
      }
      ++refused;
    };
    const char* outcome = old != peer_fingerprints_.end() && conns_only(name)
                              ? "its changed conns are not applied (it runs as before)"
                              : "not started";
    if (!data_.open_sockets({p})) {
      LOG_ERROR("reload: %s: %s: no IKE socket on %s:%u%s", name.c_str(), outcome, p.local_addr.to_string().c_str(),
                p.local_port, p.local_port < 1024 ? restart_hint("CAP_NET_BIND_SERVICE").c_str() : "");
      refuse();
      continue;
    }
    open_devices(p, "reload: ");
    if (p.children.empty()) {
      LOG_ERROR("reload: %s: %s: none of its conns could get its TUN device, addresses or routes%s", name.c_str(),
                outcome, restart_hint("CAP_NET_ADMIN").c_str());
      refuse();
      continue;
    }
    // Without the conns that stay down, so that the next reload tries them again.
    fps[name] = fingerprint(p);
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
           "restarted, %u refused",
           kept, updated, removed, added, refused);
  drain_engine();
}

}  // namespace

int run_daemon(const std::string& config_path) {
  auto loaded = load_file(config_path);
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w.to_string() << "\n";
  for (const auto& e : loaded.errors) std::cerr << "error: " << e.to_string() << "\n";
  if (!loaded.ok()) return 1;
  Config cfg = std::move(*loaded.config);
  common::set_log_level(cfg.setup.loglevel);
  for (std::size_t i = 0; i < common::kSubsystems; ++i)
    if (cfg.setup.subsys_levels[i]) common::set_log_level(static_cast<common::Subsys>(i), *cfg.setup.subsys_levels[i]);
  common::set_log_sink(cfg.setup.log ? *cfg.setup.log : common::detect_log_sink());
  for (const auto& n : cfg.notes) LOG_INFO("%s", n.c_str());
  // Key material goes to OpenSSL's secure heap from here on (common/secret.h), set up while
  // swanless may still lock memory (before the privilege drop).
  const auto heap = common::secure_heap_init();
  if (!heap.enabled) LOG_WARN("secure heap: %s", heap.problem.c_str());
  else if (!heap.locked) LOG_WARN("secure heap of %zu KiB: %s", heap.size / 1024, heap.problem.c_str());
  else LOG_INFO("key material in a locked secure heap of %zu KiB", heap.size / 1024);
  auto secrets = load_secrets(cfg.setup.secrets);
  for (const auto& w : secrets.warnings) std::cerr << "warning: " << w.to_string() << "\n";
  for (const auto& e : secrets.errors) std::cerr << "error: " << e.to_string() << "\n";
  if (!secrets.ok()) return 1;
  ::signal(SIGPIPE, SIG_IGN);
  Daemon d(std::move(cfg), std::move(*secrets.secrets));
  return d.run();
}

}  // namespace swld
