// The data path's set-up: the sockets and the IPsec TUN device opened for the conns, their
// Asio watchers, the socket lookup and flush the stages use. The stages themselves are in
// inbound.cpp and outbound.cpp.
#include "daemon/data_path.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "common/log.h"
#include "config/peers.h"
#include "daemon/overlay.h"
#include "tun/netlink.h"
#include "tun/sysctl.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::net;
}  // namespace

namespace asio = boost::asio;
using common::Endpoint;
using common::IpAddr;

namespace {

constexpr const char* kIpsecTunName = "swanless0";
constexpr std::size_t kTunBatch = 64;
// Packets the kernel may queue on the TUN device for us while the loop is busy.
constexpr unsigned kTunTxQueue = 2048;
// With TUN offload a read returns a virtio header and up to a 64 KiB TCP super-packet.
constexpr std::size_t kTunBatchOffload = 64;
constexpr std::size_t kTunSlotOffload = esp::Sa::kMaxHeader + tun::kMaxPacket + esp::Sa::kMaxTrailer + 1;

}  // namespace

bool DataPath::open_sockets(const std::vector<ike::PeerConfig>& peers) {
  std::vector<Endpoint> want;
  for (const auto& p : peers) {
    for (std::uint16_t port : {p.local_port, std::uint16_t(4500)}) {
      Endpoint e{p.local_addr, port};
      const bool open_already = std::any_of(sockets_.begin(), sockets_.end(),
                                            [&](const std::unique_ptr<UdpSocket>& s) { return s->bound() == e; });
      if (!open_already && std::find(want.begin(), want.end(), e) == want.end()) want.push_back(e);
    }
  }
  for (const auto& e : want) {
    auto s = std::make_unique<UdpSocket>();
    auto st = s->open(e, false, cfg_.setup.offload);
    if (!st) {
      LOG_ERROR("cannot open IKE socket %s: %s", e.to_string().c_str(), st.error().detail);
      return false;
    }
    s->set_buffers(cfg_.setup.rcvbuf, cfg_.setup.sndbuf);
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
void DataPath::open_raw_esp(const std::vector<ike::PeerConfig>& peers) {
  if (std::none_of(peers.begin(), peers.end(), [](const ike::PeerConfig& p) { return !p.force_encaps; })) return;
  auto s = std::make_unique<RawEspSocket>();
  if (auto st = s->open(); !st) {
    LOG_WARN("%s; conns without a NAT between the peers need forceencaps=yes", st.error().detail);
    return;
  }
  LOG_INFO("plain ESP (IP protocol 50) on a raw socket");
  if (auto w = set_socket_buffers(s->fd(), cfg_.setup.rcvbuf, cfg_.setup.sndbuf); !w.empty())
    LOG_WARN("raw ESP socket: %s; a burst larger than the buffer is lost", w.c_str());
  raw_watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(s->fd()));
  raw_esp_ = std::move(s);
  arm_raw();
}

// Tunnel-mode children get their local selector's host address on one TUN device, and a
// route for their remote selectors through it with that address as the preferred source:
// the address selection the reference write-up does with iptables SNAT.
bool DataPath::device_failed(std::string why) {
  LOG_ERROR("%s", why.c_str());
  if (device_error_.empty()) device_error_ = std::move(why);
  return false;
}

bool DataPath::open_ipsec_tun(const std::vector<ike::PeerConfig>& peers) {
  device_error_.clear();
  if (!open_vtis(peers)) return false;
  std::vector<std::string> conns;
  for (const auto& p : peers)
    for (const auto& c : p.children) conns.push_back(c.name);
  const config::TunPlan plan = config::ipsec_tun_plan(cfg_, conns);
  for (const auto& u : plan.unrouted)
    LOG_WARN("TUN %s: no route for %s", kIpsecTunName, u.c_str());
  if (plan.addrs.empty() && plan.routes.empty()) return true;
  const bool created = !tun_;
  if (created) {
    auto dev = tun::LinuxTun::open({kIpsecTunName, false, cfg_.setup.offload});
    if (!dev) {
      return device_failed(std::string("cannot create TUN device ") + kIpsecTunName + ": " + dev.error().detail);
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
  if (!nl) return device_failed(std::string("netlink: ") + nl.error().detail);
  auto check = [this](common::Status s, const std::string& what) {
    if (!s) device_failed(std::string("TUN ") + kIpsecTunName + ": " + what + ": " + s.error().detail);
    return s.ok();
  };
  bool ok = check(nl->set_mtu(kIpsecTunName, 1400), "set MTU") && check(nl->set_link_up(kIpsecTunName), "link up");
  for (const auto& a : plan.addrs)
    ok = ok && check(nl->add_address(kIpsecTunName, {a, std::nullopt}, true), "address " + a.to_string());
  for (const auto& route : plan.routes) {
    tun::RouteSpec r;
    r.dst = route.dst;
    r.dev = kIpsecTunName;
    r.src = route.src;
    ok = ok && check(nl->add_route(r, true), "route " + route.dst.to_string());
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

// Each route-based conn (vti=) gets its own TUN device: leftvti's address, no routes
// unless vti-routing=yes (config::vti_plan), no offloads (one packet per read and write).
bool DataPath::open_vtis(const std::vector<ike::PeerConfig>& peers) {
  bool added = false;
  for (const auto& p : peers)
    for (const auto& ch : p.children) {
      const config::ConnConfig* c = cfg_.find_conn(ch.name);
      if (!c || c->vti.empty()) continue;
      if (std::any_of(vtis_.begin(), vtis_.end(), [&](const auto& v) { return v->conn == c->name; })) continue;
      const config::TunPlan plan = config::vti_plan(*c);
      for (const auto& u : plan.unrouted) LOG_WARN("TUN %s: no route for %s", plan.dev.c_str(), u.c_str());
      auto dev = tun::LinuxTun::open({plan.dev, false, false});
      if (!dev) {
        return device_failed("cannot create TUN device " + plan.dev + ": " + dev.error().detail);
      }
      if (auto v6 = tun::set_ipv6_conf(plan.dev, "disable_ipv6", "1"); !v6)
        LOG_INFO("TUN %s: IPv6 stays on (%s); its IPv6 packets are dropped and counted", plan.dev.c_str(),
                 v6.error().detail);
      auto nl = tun::Netlink::open();
      if (!nl) return device_failed(std::string("netlink: ") + nl.error().detail);
      bool ok = true;
      auto check = [&](common::Status s, const std::string& what) {
        if (!s) device_failed("TUN " + plan.dev + ": " + what + ": " + s.error().detail);
        ok = ok && s.ok();
      };
      check(nl->set_mtu(plan.dev, 1400), "set MTU");
      for (const auto& a : plan.addrs) check(nl->add_address(plan.dev, {a, std::nullopt}, true), "address " + a.to_string());
      check(nl->set_link_up(plan.dev), "link up");
      for (const auto& route : plan.routes) {
        tun::RouteSpec r;
        r.dst = route.dst;
        r.dev = plan.dev;
        r.src = route.src;
        check(nl->add_route(r, true), "route " + route.dst.to_string());
      }
      if (!ok) return false;
      auto v = std::make_unique<VtiPort>();
      v->conn = c->name;
      v->name = plan.dev;
      v->dev = std::move(dev.value());
      v->buf.resize(esp::Sa::kMaxHeader + kTunSlot + esp::Sa::kMaxTrailer);
      v->watch = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(v->dev->fd()));
      LOG_INFO("TUN %s up for route-based conn %s: %zu address(es), %zu route(s)", plan.dev.c_str(), c->name.c_str(),
               plan.addrs.size(), plan.routes.size());
      vtis_.push_back(std::move(v));
      arm_vti(vtis_.size() - 1);
      added = true;
    }
  if (added) {
    std::map<std::string, std::size_t, std::less<>> index;
    for (std::size_t i = 0; i < vtis_.size(); ++i) index[vtis_[i]->conn] = i;
    children_.set_route_based(std::move(index));
  }
  return true;
}

void DataPath::arm_vti(std::size_t idx) {
  vtis_[idx]->watch->async_wait(asio::posix::stream_descriptor::wait_read, [this, idx](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_vti_readable(idx);
    arm_vti(idx);
  });
}

void DataPath::on_vti_readable(std::size_t idx) {
  VtiPort& v = *vtis_[idx];
  const std::size_t room = v.buf.size() - esp::Sa::kMaxHeader - esp::Sa::kMaxTrailer;
  for (int i = 0; i < 64; ++i) {
    auto n = v.dev->read(common::MutByteSpan(v.buf.data() + esp::Sa::kMaxHeader, room));
    if (!n || *n == 0) break;
    send_ipv4(v.buf, esp::Sa::kMaxHeader, *n, false, idx);  // copied into the socket's batch
  }
  flush();
}

void DataPath::arm_udp(UdpSocket* s, std::shared_ptr<asio::posix::stream_descriptor> d) {
  d->async_wait(asio::posix::stream_descriptor::wait_read, [this, s, d](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_udp_readable(*s);
    arm_udp(s, d);
  });
}

void DataPath::arm_tun() {
  tun_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_tun_readable();
    arm_tun();
  });
}

void DataPath::arm_raw() {
  raw_watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_raw_readable();
    arm_raw();
  });
}

UdpSocket* DataPath::socket_for(const Endpoint& local) {
  UdpSocket* fallback = nullptr;
  for (auto& s : sockets_) {
    if (s->bound().port != local.port) continue;
    if (s->bound().addr == local.addr) return s.get();
    if (s->bound().addr.is_unspecified()) fallback = s.get();
  }
  return fallback;
}

void DataPath::flush() {
  if (overlay_) overlay_->flush();
  for (auto& s : sockets_) s->flush();
  if (raw_esp_) raw_esp_->flush();
}

DataPathStats DataPath::stats() const {
  DataPathStats s;
  s.drops = drops_;
  s.nat_keepalives_rx = nat_keepalives_rx_;
  if (raw_esp_) {
    s.raw_received = raw_esp_->received();
    s.raw_sent = raw_esp_->sent();
    s.raw_send_errors = raw_esp_->send_errors();
  }
  s.tun_offload = tun_offload_;
  s.tun_uso = tun_uso_;
  s.gso_segmented = gso_segmented_;
  s.gro = coalescer_.stats();
  for (const auto& t : traps_) s.traps.push_back({t.conn, t.local, t.remote, t.armed, t.queue.size(), t.acquires});
  return s;
}

}  // namespace swld
