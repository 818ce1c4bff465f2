#include "daemon/overlay.h"

#include <unistd.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
#include <bit>
#include <cstring>

#include "daemon/drops.h"
#include "daemon/pcap_tap.h"
#include "daemon/udp.h"
#include "common/log.h"
#include "esp/ip.h"
#include "esp/sa.h"
#include "gre/dispatch.h"
#include "gre/fixup.h"
#include "gre/tunnel.h"
#include "pim/dedup.h"
#include "pim/delivery.h"
#include "pim/igmp_querier.h"
#include "pim/upstream.h"
#include "tun/device.h"
#include "tun/interface_setup.h"
#include "tun/netlink.h"
#include "tun/sysctl.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::gre;
}  // namespace

namespace asio = boost::asio;
using config::Config;
using config::GreConfig;
using config::PimConfig;

namespace {

// Room in front of an overlay packet for the outer IPv4+GRE (24 with key/seq/csum ≤ 36)
// and the ESP header; behind it for the ESP trailer.
constexpr std::size_t kGreRoom = 20 + 16;
constexpr std::size_t kHeadroom = esp::Sa::kMaxHeader + kGreRoom;
constexpr std::size_t kSlot = 2048;
constexpr std::size_t kBatch = 32;

std::string ip4(std::uint32_t v) { return common::IpAddr::v4(v).to_string(); }

// MSS clamp and frag-needed for a gre section (CONFIG.md `mtu`, `mss`). Frag-needed comes
// from the tunnel's far end (`peer`): the kernel would drop a packet arriving on the TUN
// with one of its own addresses as source.
gre::FixupConfig fixup_config(const GreConfig& gc) {
  gre::FixupConfig f;
  f.mtu = static_cast<std::uint16_t>(gc.mtu);
  f.mss = gc.mss ? static_cast<std::uint16_t>(*gc.mss) : gre::FixupConfig::mss_for(f.mtu);
  f.icmp_src = gc.peer.v4_host();
  return f;
}

}  // namespace

struct Gre {
  GreConfig cfg;
  std::unique_ptr<gre::Tunnel> tunnel;
  std::unique_ptr<tun::Device> dev;
  std::unique_ptr<asio::posix::stream_descriptor> watch;
  std::vector<common::ByteSpan> tun_out;  // inner packets for the TUN, written per batch
  std::unique_ptr<gre::Fixup> fixup;      // MSS clamping and frag-needed (gre/fixup.h)
  std::uint64_t fixup_logged = 0;         // malformed + dropped counts at the last log line
  PcapTap pcap;
  struct Pim* pim = nullptr;
  std::size_t path = 0;  // which of the pim section's upstreams rides this tunnel
  std::uint64_t tun_write_drops = 0;
  std::uint64_t no_sa_drops = 0;  // GRE packets with no CHILD_SA to carry them (fail closed)
};

// One upstream of a pim section: its tunnel, its PIM neighbor machine, and whether the
// CHILD_SA that carries the tunnel is up.
struct Path {
  Gre* gre = nullptr;
  std::unique_ptr<pim::Upstream> up;
  bool child_up = false;
};

struct Pim {
  PimConfig cfg;
  Gre* gre = nullptr;                // the preferred tunnel (paths[0]): TUN delivery, IGMP
  pim::Upstream* upstream = nullptr;  // its upstream (paths[0].up)
  std::vector<Path> paths;            // one, or two with interface=gre1,gre2
  std::size_t active = 0;             // active-standby: the path that carries the joins
  std::optional<Overlay::TimePoint> switch_back_at;  // preferred path healthy since, + holddown
  std::uint64_t failovers = 0;
  struct Failover {
    std::size_t from = 0, to = 0;
    std::string reason;
    Overlay::TimePoint at{};
  };
  std::optional<Failover> last_failover;
  std::unique_ptr<pim::Deduplicator> dedup;  // dedup=: A/B copies delivered once
  std::uint64_t standby_drops = 0;  // active-standby without dedup: datagrams off the active path
  std::unique_ptr<pim::DeliveryPolicy> policy;
  // groups=auto: the IGMP querier on the gre's TUN device, whose membership edges change
  // the upstream's join set (and the delivery policy with it).
  std::unique_ptr<pim::igmp::Querier> querier;
  std::uint64_t query_write_drops = 0;
  std::uint64_t udp_send_drops = 0;
};

pim::igmp::Prefix igmp_prefix(const common::Prefix& p) { return {p.addr.v4_host(), p.len}; }

pim::igmp::QuerierConfig querier_config(const PimConfig& pc, const GreConfig& gc) {
  pim::igmp::QuerierConfig q;
  // Queries come from the far end of the tunnel, as a router there would send them: the
  // kernel drops a packet arriving on the TUN with one of its own addresses as source.
  q.local = gc.peer.v4_host();
  q.query_interval = pc.query_interval;
  q.robustness = pc.robustness;
  q.last_member_query_interval = pc.last_member_query_interval;
  q.ssm.clear();
  for (const auto& x : pc.ssm) q.ssm.push_back(igmp_prefix(x));
  for (const auto& x : pc.allow) q.allow.push_back(igmp_prefix(x));
  for (const auto& x : pc.deny) q.deny.push_back(igmp_prefix(x));
  q.max_groups = pc.max_groups;
  return q;
}

// IGMP (protocol 2) in an IPv4 packet read from a TUN device.
bool is_igmp(common::ByteSpan pkt) {
  return pkt.size() >= 20 && (static_cast<std::uint8_t>(pkt[0]) >> 4) == 4 &&
         static_cast<std::uint8_t>(pkt[9]) == pim::igmp::kIpProtoIgmp;
}

struct Overlay::Impl {
  asio::io_context& io;
  const Config& cfg;
  common::crypto::Random& rng;
  SendFn send;
  std::function<void()> rearm;
  std::vector<std::unique_ptr<Gre>> gres;
  std::vector<std::unique_ptr<Pim>> pims;
  std::unique_ptr<UdpSocket> deliver;  // unbound-port socket for deliver=udp:HOST:PORT
  std::vector<std::byte> scratch = std::vector<std::byte>(kSlot);
  std::vector<std::byte> tun_buf = std::vector<std::byte>(kBatch * kSlot);
  std::vector<tun::PacketSlot> slots;
  std::vector<std::byte> icmp_buf = std::vector<std::byte>(kBatch * gre::kFragNeededMaxSize);
  std::vector<common::ByteSpan> replies;  // frag-needed messages for the TUN, per batch

  Impl(asio::io_context& i, const Config& c, common::crypto::Random& r, SendFn s)
      : io(i), cfg(c), rng(r), send(std::move(s)) {}

  // Sends an inner packet into the tunnel: GRE encap in place, then ESP.
  void send_through(Gre& g, common::MutByteSpan buf, std::size_t offset, std::size_t len) {
    auto outer = g.tunnel->encap(buf, offset, len);
    if (outer.empty()) return;  // counted by the tunnel
    std::size_t outer_off = static_cast<std::size_t>(outer.data() - buf.data());
    if (!send(buf, outer_off, outer.size())) ++g.no_sa_drops;
  }
  void send_copy(Gre& g, common::ByteSpan inner) {
    if (inner.size() + kHeadroom + esp::Sa::kMaxTrailer > scratch.size()) return;
    std::memcpy(scratch.data() + kHeadroom, inner.data(), inner.size());
    if (g.pcap.is_open()) g.pcap.write(inner);
    send_through(g, scratch, kHeadroom, inner.size());
  }
  // Reflected keepalives and our own keepalives are already complete outer packets.
  void send_outer(Gre& g, common::ByteSpan outer) {
    if (outer.size() + esp::Sa::kMaxHeader + esp::Sa::kMaxTrailer > scratch.size()) return;
    std::memcpy(scratch.data() + esp::Sa::kMaxHeader, outer.data(), outer.size());
    if (!send(scratch, esp::Sa::kMaxHeader, outer.size())) ++g.no_sa_drops;
  }
  void drain(Gre& g) {
    for (auto& p : g.tunnel->take_outbox()) send_outer(g, p);
  }
  void drain(Pim& p, TimePoint now) {
    if (p.querier) {
      if (auto ch = p.querier->take_changes(); !ch.empty()) member_changes(p, ch, now);
      auto queries = p.querier->take_outbox();
      if (!queries.empty() && p.gre->dev) {
        std::vector<common::ByteSpan> spans(queries.begin(), queries.end());
        auto w = p.gre->dev->write_batch(spans);
        if (!w) p.query_write_drops += spans.size();
        else if (*w < spans.size()) p.query_write_drops += spans.size() - *w;
      }
    }
    for (auto& path : p.paths)
      for (auto& pkt : path.up->take_outbox()) send_copy(*path.gre, pkt);
  }
  // Why a path cannot carry the joins now; empty when it can.
  static std::string unhealthy(const Path& x) {
    if (!x.child_up) return "CHILD_SA " + x.gre->cfg.conn + " down";
    if (!x.gre->tunnel->status().up) return "GRE keepalives of " + x.gre->cfg.name + " unanswered";
    if (!x.up->status().neighbor_up) return "PIM neighbor " + ip4(x.up->config().neighbor) + " on " + x.gre->cfg.name + " down";
    return {};
  }
  // active-standby: the joins move to the other path as soon as the active one cannot
  // carry them and the other can (join there first, then prune here: make before break);
  // back to the preferred path once it has been healthy for holddown.
  void select_path(Pim& p, TimePoint now) {
    if (p.cfg.upstream != PimConfig::Upstream::active_standby || p.paths.size() < 2) return;
    const std::string why = unhealthy(p.paths[p.active]);
    if (!why.empty()) {
      for (std::size_t j = 0; j < p.paths.size(); ++j)
        if (j != p.active && unhealthy(p.paths[j]).empty()) {
          switch_path(p, j, why, now);
          return;
        }
      return;  // nowhere better to go
    }
    if (p.active == 0) {
      p.switch_back_at.reset();
      return;
    }
    if (!unhealthy(p.paths[0]).empty()) {
      p.switch_back_at.reset();
      return;
    }
    if (!p.switch_back_at) {
      p.switch_back_at = now + p.cfg.holddown;
      if (rearm) rearm();
    }
    if (now >= *p.switch_back_at)
      switch_path(p, 0, p.paths[0].gre->cfg.name + " healthy again for the hold-down", now);
  }
  void switch_path(Pim& p, std::size_t to, const std::string& why, TimePoint now) {
    const std::size_t from = p.active;
    p.paths[to].up->set_active(true, now);
    p.paths[from].up->set_active(false, now);
    p.active = to;
    p.switch_back_at.reset();
    ++p.failovers;
    p.last_failover = Pim::Failover{from, to, why, now};
    LOG_AT(common::Subsys::pim, warn, "pim %s: joins move from %s to %s: %s", p.cfg.name.c_str(),
           p.paths[from].gre->cfg.name.c_str(), p.paths[to].gre->cfg.name.c_str(), why.c_str());
    drain(p, now);
    if (rearm) rearm();
  }
  // Membership edges from the querier: into the join set (Joins/Prunes go up at once) and
  // the delivery policy. Logged one line per entry, or a summary for a large batch.
  void member_changes(Pim& p, const std::vector<pim::igmp::Change>& ch, TimePoint now) {
    std::vector<pim::MembershipChange> mc;
    mc.reserve(ch.size());
    for (const auto& c : ch) mc.push_back({c.source, c.group, c.join});
    for (auto& path : p.paths) path.up->update_members(mc, now);
    p.policy->set(p.upstream->wants());
    constexpr std::size_t kLogEach = 8;
    if (ch.size() <= kLogEach) {
      for (const auto& c : ch)
        LOG_AT(common::Subsys::pim, info, "pim %s: %s (%s,%s) for members on %s", p.cfg.name.c_str(),
               c.join ? "join" : "prune", c.source ? ip4(c.source).c_str() : "*", ip4(c.group).c_str(),
               p.gre->cfg.name.c_str());
      return;
    }
    std::size_t joins = 0;
    for (const auto& c : ch) joins += c.join;
    LOG_AT(common::Subsys::pim, info, "pim %s: %zu joins and %zu prunes for members on %s (now %zu groups)",
           p.cfg.name.c_str(), joins, ch.size() - joins, p.gre->cfg.name.c_str(), p.upstream->wants().size());
  }

  // Fix-ups on a packet read from the TUN (gre/fixup.h): true to send it on (its MSS may
  // have been clamped in place); false when it is answered with frag-needed (queued in
  // replies for write_replies) or dropped.
  bool fix_outbound(Gre& g, common::MutByteSpan pkt, std::size_t slot) {
    common::MutByteSpan reply(icmp_buf.data() + slot * gre::kFragNeededMaxSize, gre::kFragNeededMaxSize);
    std::size_t len = 0;
    switch (g.fixup->outbound(pkt, reply, len)) {
      case gre::Fixup::Out::send: return true;
      case gre::Fixup::Out::reply: replies.push_back(reply.first(len)); return false;
      case gre::Fixup::Out::drop: return false;
    }
    return false;
  }
  // Logs SYNs with malformed options and oversized packets that got no ICMP, after a
  // batch, when their total reaches a power of two: the first is always seen, a flood
  // does not flood the log (status has the exact counts).
  void log_fixup(Gre& g) {
    const auto& c = g.fixup->counters();
    const std::uint64_t n = c.mss_malformed + c.too_big_dropped;
    if (n == g.fixup_logged) return;
    const bool log = std::bit_width(n) > std::bit_width(g.fixup_logged);  // crossed a power of two
    g.fixup_logged = n;
    if (log)
      LOG_WARN("gre %s: %llu TCP SYNs with malformed options passed unclamped, %llu oversized DF packets dropped "
               "without ICMP (ICMP errors, fragments, non-unicast)",
               g.cfg.name.c_str(), static_cast<unsigned long long>(c.mss_malformed),
               static_cast<unsigned long long>(c.too_big_dropped));
  }
  void write_replies(Gre& g) {
    if (replies.empty()) return;
    auto w = g.dev->write_batch(replies);
    if (!w) g.tun_write_drops += replies.size();
    else if (*w < replies.size()) g.tun_write_drops += replies.size() - *w;
    replies.clear();
  }

  void arm(Gre& g) {
    g.watch->async_wait(asio::posix::stream_descriptor::wait_read, [this, &g](boost::system::error_code ec) {
      if (ec) return;
      on_tun(g);
      arm(g);
    });
  }
  void on_tun(Gre& g) {
    const TimePoint now = std::chrono::steady_clock::now();
    bool igmp = false;
    for (int round = 0; round < 4; ++round) {
      auto n = g.dev->read_batch(slots);
      if (!n || *n == 0) break;
      for (std::size_t i = 0; i < *n; ++i) {
        common::MutByteSpan whole(tun_buf.data() + i * kSlot, kSlot);
        // The kernel's membership reports on this device are for our querier: a router
        // does not pass its hosts' IGMP upstream.
        if (g.pim && g.path == 0 && g.pim->querier && is_igmp(slots[i].buf.first(slots[i].len))) {
          g.pim->querier->on_packet(slots[i].buf.first(slots[i].len), now);
          igmp = true;
          continue;
        }
        if (!fix_outbound(g, slots[i].buf.first(slots[i].len), i)) continue;
        if (g.pcap.is_open()) g.pcap.write(common::ByteSpan(slots[i].buf.data(), slots[i].len));
        send_through(g, whole, kHeadroom, slots[i].len);
      }
      write_replies(g);
      log_fixup(g);
      if (*n < slots.size()) break;
    }
    if (igmp) drain(*g.pim, now);
    if (rearm) rearm();  // sends were queued: the daemon flushes its sockets there
  }
};

Overlay::Overlay(asio::io_context& io, const Config& cfg, common::crypto::Random& rng, SendFn send)
    : impl_(std::make_unique<Impl>(io, cfg, rng, std::move(send))) {}
Overlay::~Overlay() = default;

void Overlay::set_rearm(std::function<void()> f) { impl_->rearm = std::move(f); }
bool Overlay::empty() const { return impl_->gres.empty(); }

bool Overlay::open() {
  auto& I = *impl_;
  for (std::size_t i = 0; i < kBatch; ++i)
    I.slots.push_back({common::MutByteSpan(I.tun_buf.data() + i * kSlot + kHeadroom,
                                           kSlot - kHeadroom - esp::Sa::kMaxTrailer),
                       0});
  auto now = std::chrono::steady_clock::now();
  for (const auto& gc : I.cfg.gres) {
    auto g = std::make_unique<Gre>();
    g->cfg = gc;
    auto tc = gre::TunnelConfig::from(gc.local, gc.remote);
    tc.key = gc.key;
    tc.ttl = static_cast<std::uint8_t>(gc.ttl);
    switch (gc.keepalive) {
      case GreConfig::Keepalive::reply: tc.keepalive = gre::KeepaliveMode::reply; break;
      case GreConfig::Keepalive::off: tc.keepalive = gre::KeepaliveMode::off; break;
      case GreConfig::Keepalive::send:
        tc.keepalive = gre::KeepaliveMode::send;
        tc.keepalive_interval = gc.keepalive_interval;
        tc.keepalive_retries = gc.keepalive_retries;
        break;
    }
    g->tunnel = std::make_unique<gre::Tunnel>(tc, now);
    g->fixup = std::make_unique<gre::Fixup>(fixup_config(gc));
    if (!I.cfg.setup.pcap.empty()) g->pcap.open(I.cfg.setup.pcap, gc.name);
    if (gc.tun) {
      auto dev = tun::LinuxTun::open({gc.name, false});
      if (!dev) {
        LOG_ERROR("gre %s: cannot create TUN device: %s (use tun=no to run without a device)", gc.name.c_str(),
                  dev.error().detail);
        return false;
      }
      g->dev = std::move(dev.value());
      // The tunnel carries IPv4 only: no IPv6 link-local address, router solicitations or
      // MLD reports from the kernel into it (they would be dropped as encap_not_ipv4).
      if (auto v6 = tun::set_ipv6_conf(gc.name, "disable_ipv6", "1"); !v6)
        LOG_INFO("gre %s: IPv6 stays on (%s); IPv6 packets into it are dropped and counted", gc.name.c_str(),
                 v6.error().detail);
      auto nl = tun::Netlink::open();
      if (!nl) {
        LOG_ERROR("gre %s: netlink: %s", gc.name.c_str(), nl.error().detail);
        return false;
      }
      tun::InterfaceConfig ic;
      ic.dev = gc.name;
      ic.mtu = gc.mtu;
      ic.multicast = true;
      ic.addresses.push_back({gc.address, common::Prefix{gc.peer, 32}});
      for (const auto& r : gc.routes) {
        tun::RouteSpec rs;
        rs.dst = r;
        rs.src = gc.address.addr;
        ic.routes.push_back(rs);
      }
      auto st = tun::apply_interface(*nl, ic);
      if (!st) {
        LOG_ERROR("gre %s: %s", gc.name.c_str(), st.error().detail);
        return false;
      }
      // Multicast from a source we have no route to would fail the reverse-path check.
      if (auto s = tun::set_rp_filter(gc.name, tun::RpFilter::off); !s)
        LOG_WARN("gre %s: cannot turn rp_filter off: %s", gc.name.c_str(), s.error().detail);
      if (auto all = tun::get_ipv4_conf("all", "rp_filter"); all && *all != "0")
        LOG_WARN("gre %s: net.ipv4.conf.all.rp_filter=%s: multicast from sources without a route via %s "
                 "is dropped by the kernel; add the source prefix to routes= or set it to 0",
                 gc.name.c_str(), all->c_str(), gc.name.c_str());
      // Forwarding between the site's network and the tunnel is the operator's switch, as
      // with a kernel GRE tunnel: swanless does not flip a host-wide sysctl.
      if (auto fwd = tun::get_ipv4_conf("all", "forwarding"); !gc.routes.empty() && fwd && *fwd != "1")
        LOG_WARN("gre %s: routes= is set but net.ipv4.ip_forward is 0: only this host's own traffic uses the "
                 "tunnel; set net.ipv4.ip_forward=1 to route a network through it",
                 gc.name.c_str());
      g->watch = std::make_unique<asio::posix::stream_descriptor>(I.io, ::dup(g->dev->fd()));
      LOG_INFO("gre %s: TUN up, %s peer %s, mtu %u", gc.name.c_str(), gc.address.to_string().c_str(),
               gc.peer.to_string().c_str(), gc.mtu);
    }
    I.gres.push_back(std::move(g));
  }
  bool need_udp = false;
  for (const auto& pc : I.cfg.pims) {
    auto p = std::make_unique<Pim>();
    p->cfg = pc;
    const std::vector<std::string> names = pc.interfaces.empty() ? std::vector<std::string>{pc.interface} : pc.interfaces;
    for (std::size_t i = 0; i < names.size(); ++i) {
      Gre* found = nullptr;
      for (auto& g : I.gres)
        if (g->cfg.name == names[i]) found = g.get();
      if (!found) {
        LOG_AT(common::Subsys::pim, error, "pim %s: interface %s is not a gre section", pc.name.c_str(), names[i].c_str());
        return false;
      }
      found->pim = p.get();
      found->path = i;
      p->paths.push_back(Path{found, nullptr, false});
    }
    p->gre = p->paths[0].gre;
    pim::UpstreamConfig uc;
    uc.rp = pc.rp.v4_host();
    for (const auto& g : pc.groups) uc.groups.push_back(g.v4_host());
    for (const auto& sg : pc.sources) uc.sources.push_back({sg.source.v4_host(), sg.group.v4_host()});
    uc.hello_interval = pc.hello;
    uc.join_interval = pc.join;
    uc.holdtime = pc.holdtime;
    p->policy = std::make_unique<pim::DeliveryPolicy>(pim::DeliveryPolicy::from(uc));
    for (std::size_t i = 0; i < p->paths.size(); ++i) {
      Path& path = p->paths[i];
      uc.local = path.gre->cfg.address.addr.v4_host();
      uc.neighbor = (i < pc.neighbors.size() ? pc.neighbors[i] : pc.neighbor).v4_host();
      std::uint32_t genid = 0;
      I.rng.fill(common::MutByteSpan(reinterpret_cast<std::byte*>(&genid), sizeof genid));
      path.up = std::make_unique<pim::Upstream>(uc, genid);
      // active-standby: the preferred path joins first; the other says Hello only
      if (i > 0 && pc.upstream == PimConfig::Upstream::active_standby) path.up->set_active(false, {});
    }
    p->upstream = p->paths[0].up.get();
    if (pc.dedup) {
      pim::DedupConfig dc;
      dc.key = pc.dedup->hash ? pim::DedupKey::hash : pim::DedupKey::sequence;
      dc.offset = pc.dedup->offset;
      dc.width = pc.dedup->width;
      dc.little_endian = pc.dedup->little_endian;
      dc.window = pc.dedup->window;
      dc.hash_window = pc.dedup->hash_window;
      p->dedup = std::make_unique<pim::Deduplicator>(dc);
    }
    if (p->paths.size() > 1)
      LOG_AT(common::Subsys::pim, info, "pim %s: two upstreams, %s (preferred) and %s, %s%s", pc.name.c_str(),
             p->paths[0].gre->cfg.name.c_str(), p->paths[1].gre->cfg.name.c_str(),
             pc.upstream == PimConfig::Upstream::both ? "joined on both" : "active-standby",
             p->dedup ? ", A/B copies delivered once" : "");
    if (pc.igmp) {
      if (!p->gre->dev) {  // config refuses it; a TUN that did not open would have failed above
        LOG_AT(common::Subsys::pim, error, "pim %s: groups=auto needs gre %s's TUN device", pc.name.c_str(),
               pc.interface.c_str());
        return false;
      }
      p->querier = std::make_unique<pim::igmp::Querier>(querier_config(pc, p->gre->cfg));
      LOG_AT(common::Subsys::pim, info, "pim %s: IGMP querier on %s (query every %llds, last member query %lldms x %u)",
             pc.name.c_str(), pc.interface.c_str(), static_cast<long long>(pc.query_interval.count()),
             static_cast<long long>(pc.last_member_query_interval.count()), pc.robustness);
    }
    if (pc.deliver_tun && !p->gre->dev)
      LOG_AT(common::Subsys::pim, warn, "pim %s: deliver=tun but gre %s has tun=no; only udp delivery", pc.name.c_str(), pc.interface.c_str());
    if (!pc.deliver_udp.empty()) need_udp = true;
    I.pims.push_back(std::move(p));
  }
  if (need_udp) {
    I.deliver = std::make_unique<UdpSocket>();
    // offload: runs of equal-sized datagrams to one target go as one UDP_SEGMENT send
    // (UdpSocket::queue_joined), which takes most of the kernel's per-datagram send cost
    if (auto st = I.deliver->open(common::Endpoint{common::IpAddr::v4(0), 0}, false, I.cfg.setup.offload); !st) {
      LOG_ERROR("multicast delivery socket: %s", st.error().detail);
      return false;
    }
    I.deliver->set_buffers(0, I.cfg.setup.sndbuf);
  }
  for (auto& g : I.gres)
    if (g->watch) I.arm(*g);
  return true;
}

void Overlay::start(TimePoint now) {
  for (auto& p : impl_->pims) {
    for (auto& path : p->paths) path.up->start(now);
    if (p->querier) p->querier->start(now);  // the kernel answers with its current memberships
    impl_->drain(*p, now);
  }
}

void Overlay::on_child_up(const std::string& conn, TimePoint now) {
  for (auto& p : impl_->pims) {
    bool ours = false;
    for (auto& path : p->paths) {
      if (path.gre->cfg.conn != conn) continue;
      ours = true;
      path.child_up = true;
      path.up->refresh(now);
    }
    if (!ours) continue;
    impl_->select_path(*p, now);
    impl_->drain(*p, now);
  }
}

void Overlay::on_child_down(const std::string& conn, TimePoint now) {
  for (auto& p : impl_->pims) {
    bool ours = false;
    for (auto& path : p->paths)
      if (path.gre->cfg.conn == conn) {
        path.child_up = false;
        ours = true;
      }
    if (!ours) continue;
    impl_->select_path(*p, now);
    impl_->drain(*p, now);
  }
}

bool Overlay::on_inner(common::MutByteSpan ipv4, TimePoint now) {
  auto& I = *impl_;
  if (I.gres.empty()) return false;
  const auto outer = gre::dispatch_outer(ipv4);
  if (outer.verdict != gre::OuterVerdict::gre) return false;
  for (auto& gp : I.gres) {
    Gre& g = *gp;
    if (g.tunnel->config().local != outer.dst || g.tunnel->config().remote != outer.src) continue;
    auto d = g.tunnel->decap(ipv4, now);
    switch (d.kind) {
      case gre::DecapKind::reflect:
        I.send_outer(g, d.packet);
        return true;
      case gre::DecapKind::keepalive_reply:
      case gre::DecapKind::drop:
        return true;
      case gre::DecapKind::deliver:
        break;
    }
    // d.packet lies inside ipv4: clamp the SYNs coming out of the tunnel in place.
    g.fixup->inbound(common::MutByteSpan(ipv4.data() + (d.packet.data() - ipv4.data()), d.packet.size()));
    if (g.pcap.is_open()) g.pcap.write(d.packet);
    switch (gre::dispatch_inner(d.packet, {g.pim != nullptr, g.dev != nullptr})) {
      case gre::InnerVerdict::pim:
        g.pim->paths[g.path].up->on_packet(d.packet, now);
        I.select_path(*g.pim, now);
        I.drain(*g.pim, now);
        if (I.rearm) I.rearm();
        return true;
      case gre::InnerVerdict::multicast: {
        Pim& p = *g.pim;
        auto dg = p.policy->classify(d.packet);
        if (dg.verdict != pim::Verdict::deliver) return true;  // counted by the policy
        if (p.dedup) {
          // First copy wins (counted by the de-duplicator). A flow is (group, port): the
          // A and B copies usually come from different sources, one per provider path.
          if (!pim::delivers(p.dedup->check(0, dg.group, dg.dest_port, dg.payload,
                                            static_cast<std::uint8_t>(g.path), now)))
            return true;
        } else if (g.path != p.active && p.cfg.upstream == PimConfig::Upstream::active_standby) {
          ++p.standby_drops;  // what the path we left still sends, until its Prune lands
          return true;
        }
        for (const auto& ep : p.cfg.deliver_udp) I.deliver->queue_joined(ep, dg.payload);
        // every path delivers into the preferred tunnel's device, where programs joined
        if (p.gre->dev && p.cfg.deliver_tun) p.gre->tun_out.push_back(d.packet);
        return true;
      }
      case gre::InnerVerdict::device:
        g.tun_out.push_back(d.packet);
        return true;
      case gre::InnerVerdict::discard:
      case gre::InnerVerdict::count_:
        return true;
    }
    return true;
  }
  return false;
}

void Overlay::flush() {
  auto& I = *impl_;
  if (I.deliver) I.deliver->flush();
  for (auto& g : I.gres) {
    if (!g->tun_out.empty()) {
      auto w = g->dev->write_batch(g->tun_out);
      if (!w) g->tun_write_drops += g->tun_out.size();
      else if (*w < g->tun_out.size()) g->tun_write_drops += g->tun_out.size() - *w;
      g->tun_out.clear();
    }
    I.log_fixup(*g);
    g->pcap.flush();
  }
}

std::optional<Overlay::TimePoint> Overlay::next_expiry() const {
  std::optional<TimePoint> t;
  auto take = [&](std::optional<TimePoint> x) {
    if (x && (!t || *x < *t)) t = x;
  };
  for (const auto& g : impl_->gres) take(g->tunnel->next_expiry());
  for (const auto& p : impl_->pims) {
    for (const auto& path : p->paths) take(path.up->next_expiry());
    take(p->switch_back_at);
    if (p->querier) take(p->querier->next_expiry());
  }
  return t;
}

void Overlay::on_expiry(TimePoint now) {
  for (auto& g : impl_->gres) {
    if (auto t = g->tunnel->next_expiry(); t && *t <= now) g->tunnel->on_expiry(now);
    impl_->drain(*g);
  }
  for (auto& p : impl_->pims) {
    for (auto& path : p->paths)
      if (auto t = path.up->next_expiry(); t && *t <= now) path.up->on_expiry(now);
    impl_->select_path(*p, now);  // a neighbor expired, keepalives stopped, the hold-down ran out
    if (p->querier)
      if (auto t = p->querier->next_expiry(); t && *t <= now) p->querier->on_expiry(now);
    impl_->drain(*p, now);
  }
}

void Overlay::shutdown(TimePoint now) {
  for (auto& p : impl_->pims) {
    // The upstream's shutdown prunes every entry, members' included; the querier only
    // stops asking.
    if (p->querier) {
      p->querier->stop();
      p->querier->take_changes();
    }
    for (auto& path : p->paths) path.up->shutdown(now);
    impl_->drain(*p, now);
  }
}

nlohmann::json Overlay::gre_status(TimePoint now) const {
  (void)now;
  auto arr = nlohmann::json::array();
  for (const auto& g : impl_->gres) {
    const auto& st = g->tunnel->status();
    const auto& c = st.counters;
    nlohmann::json drops = nlohmann::json::object();
    drops_json<gre::DropReason>(drops, c.drops);
    if (g->tun_write_drops) drops["tun_write_failed"] = g->tun_write_drops;
    const auto& fx = g->fixup->counters();
    if (fx.too_big_dropped) drops["too_big_no_icmp"] = fx.too_big_dropped;
    if (g->no_sa_drops) drops["no_sa"] = g->no_sa_drops;
    arr.push_back({{"name", g->cfg.name},
                   {"local", g->cfg.local.to_string()},
                   {"remote", g->cfg.remote.to_string()},
                   {"conn", g->cfg.conn},
                   {"device", g->dev ? g->cfg.name : std::string()},
                   {"state", st.up ? "UP" : "DOWN"},
                   {"keepalive", std::string(gre::to_string(g->tunnel->config().keepalive))},
                   {"keepalives_answered", c.keepalives_answered},
                   {"keepalives_sent", c.keepalives_sent},
                   {"keepalives_received", c.keepalives_received},
                   {"keepalives_missed", st.missed},
                   {"packets_in", c.packets_in},
                   {"bytes_in", c.bytes_in},
                   {"packets_out", c.packets_out},
                   {"bytes_out", c.bytes_out},
                   {"mtu", g->cfg.mtu},
                   {"mss", g->fixup->config().mss},
                   {"mss_clamped_out", fx.mss_clamped_out},
                   {"mss_clamped_in", fx.mss_clamped_in},
                   {"mss_malformed", fx.mss_malformed},
                   {"frag_needed_sent", fx.frag_needed_sent},
                   {"too_big_forwarded", fx.too_big_forwarded},
                   {"drops", drops}});
  }
  return arr;
}

namespace {

double seconds_of(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The querier's view for `status --json`: its settings and counters, and per group with
// members its filter mode, compatibility version, sources and timers.
nlohmann::json igmp_status(const Pim& p, Overlay::TimePoint now) {
  const auto st = p.querier->status(now);
  const auto& c = st.counters;
  nlohmann::json members = nlohmann::json::array();
  for (const auto& g : st.groups) {
    nlohmann::json sources = nlohmann::json::array();
    for (const auto& src : g.sources)
      sources.push_back({{"source", ip4(src.source)},
                         {"expires_s", src.remaining ? nlohmann::json(seconds_of(*src.remaining)) : nlohmann::json(nullptr)},
                         {"joined", src.joined}});
    members.push_back({{"group", ip4(g.group)},
                       {"mode", std::string(pim::igmp::to_string(g.mode))},
                       {"version", g.compat_version},
                       {"sources", sources},
                       {"expires_s", g.group_timer ? nlohmann::json(seconds_of(*g.group_timer)) : nlohmann::json(nullptr)},
                       {"last_reporter", ip4(g.last_reporter)},
                       {"uptime_s", seconds_of(g.uptime)}});
  }
  nlohmann::json drops = nlohmann::json::object();
  drops_json<pim::igmp::Drop>(drops, c.drops);
  if (p.query_write_drops) drops["query_write_failed"] = p.query_write_drops;
  const auto& cfg = p.querier->config();
  return {{"querier", ip4(cfg.local)},
          {"query_interval_s", seconds_of(cfg.query_interval)},
          {"last_member_query_interval_ms",
           std::chrono::duration_cast<std::chrono::milliseconds>(cfg.last_member_query_interval).count()},
          {"robustness", cfg.robustness},
          {"max_groups", cfg.max_groups},
          {"groups", p.querier->group_count()},
          {"members", members},
          {"reports_v1", c.reports_v1},
          {"reports_v2", c.reports_v2},
          {"reports_v3", c.reports_v3},
          {"leaves", c.leaves},
          {"general_queries_sent", c.general_queries_sent},
          {"group_queries_sent", c.group_queries_sent},
          {"group_source_queries_sent", c.group_source_queries_sent},
          {"groups_expired", c.groups_expired},
          {"drops", drops}};
}

}  // namespace

nlohmann::json Overlay::pim_status(TimePoint now) const {
  auto arr = nlohmann::json::array();
  for (const auto& p : impl_->pims) {
    const auto& st = p->upstream->status();
    const auto& dc = p->policy->counters();
    nlohmann::json groups = nlohmann::json::array();
    for (auto g : st.groups) groups.push_back(ip4(g));
    nlohmann::json drops = nlohmann::json::object();
    drops_json<pim::RxDrop>(drops, st.counters.drops, {.prefix = "rx_"});
    drops_json<pim::Verdict>(drops, dc.verdicts, {.first = 1});  // 0 is Verdict::deliver
    nlohmann::json last_join = nullptr;
    if (st.last_join_sent) last_join = std::chrono::duration_cast<std::chrono::seconds>(now - *st.last_join_sent).count();
    nlohmann::json by_group = nlohmann::json::array();
    for (const auto& g : dc.per_group)
      by_group.push_back({{"group", ip4(g.group)}, {"datagrams", g.datagrams}, {"bytes", g.bytes}});
    // Each entry of the join set and who wants it.
    nlohmann::json joins = nlohmann::json::array();
    auto origin = [](std::uint8_t o) {
      return std::string(o == (pim::kOriginConfig | pim::kOriginMembers) ? "config+igmp"
                         : o == pim::kOriginConfig                       ? "config"
                                                                         : "igmp");
    };
    for (const auto& w : p->upstream->wants()) {
      if (w.star) joins.push_back({{"group", ip4(w.group)}, {"source", "*"}, {"origin", origin(w.star)}});
      for (const auto& src : w.sources)
        joins.push_back({{"group", ip4(w.group)}, {"source", ip4(src.address)}, {"origin", origin(src.origin)}});
    }
    nlohmann::json igmp = nullptr;
    if (p->querier) igmp = igmp_status(*p, now);
    if (p->standby_drops) drops["standby_path"] = p->standby_drops;
    // Two upstreams: each path's state, which one carries the joins, the last fail-over.
    nlohmann::json paths = nlohmann::json::array();
    for (std::size_t i = 0; i < p->paths.size(); ++i) {
      const Path& x = p->paths[i];
      const auto& xs = x.up->status();
      const std::string why = Impl::unhealthy(x);
      paths.push_back({{"interface", x.gre->cfg.name},
                       {"conn", x.gre->cfg.conn},
                       {"neighbor", ip4(x.up->config().neighbor)},
                       {"neighbor_up", xs.neighbor_up},
                       {"child_up", x.child_up},
                       {"gre_up", x.gre->tunnel->status().up},
                       {"healthy", why.empty()},
                       {"problem", why},
                       {"joined", x.up->active() && xs.joined},
                       {"hellos_sent", xs.counters.hellos_sent},
                       {"hellos_received", xs.counters.hellos_received},
                       {"joins_sent", xs.counters.joins_sent},
                       {"prunes_sent", xs.counters.prunes_sent},
                       {"neighbor_expiries", xs.counters.neighbor_expiries}});
    }
    nlohmann::json last_failover = nullptr;
    if (p->last_failover)
      last_failover = {{"from", p->paths[p->last_failover->from].gre->cfg.name},
                       {"to", p->paths[p->last_failover->to].gre->cfg.name},
                       {"reason", p->last_failover->reason},
                       {"ago_s", seconds_of(now - p->last_failover->at)}};
    nlohmann::json dedup = nullptr;
    if (p->dedup) {
      const auto& c = p->dedup->counters();
      dedup = {{"key", p->dedup->config().key == pim::DedupKey::hash ? "hash" : "sequence"},
               {"flows", p->dedup->flow_count()},
               {"delivered", c.delivered},
               {"delivered_by_path", {c.delivered_by_path[0], c.delivered_by_path[1]}},
               {"duplicates", c.duplicates},
               {"too_old", c.too_old},
               {"unkeyed", c.unkeyed},
               {"gaps", c.gaps},
               {"gap_sequences", c.gap_sequences},
               {"resets", c.resets},
               {"flow_limit", c.flow_limit}};
    }
    const char* mode = p->cfg.upstream == PimConfig::Upstream::both             ? "both"
                       : p->cfg.upstream == PimConfig::Upstream::active_standby ? "active-standby"
                                                                                : "single";
    nlohmann::json deliver = nlohmann::json::array();
    if (p->cfg.deliver_tun) deliver.push_back("tun");
    for (const auto& e : p->cfg.deliver_udp) deliver.push_back("udp:" + e.to_string());
    arr.push_back({{"name", p->cfg.name},
                   {"interface", p->cfg.interface},
                   {"neighbor", p->cfg.neighbor.to_string()},
                   {"neighbor_up", st.neighbor_up},
                   {"rp", p->cfg.rp.to_string()},
                   {"groups", groups},
                   {"joins", joins},
                   {"member_joins", st.counters.member_joins},
                   {"member_prunes", st.counters.member_prunes},
                   {"igmp", igmp},
                   {"joined", st.joined},
                   {"last_join_s", last_join},
                   {"hellos_sent", st.counters.hellos_sent},
                   {"hellos_received", st.counters.hellos_received},
                   {"joins_sent", st.counters.joins_sent},
                   {"prunes_sent", st.counters.prunes_sent},
                   {"neighbor_restarts", st.counters.neighbor_restarts},
                   {"triggers_deferred", st.counters.triggers_deferred},
                   {"neighbor_expiries", st.counters.neighbor_expiries},
                   {"deliver", deliver},
                   {"datagrams_delivered", dc.datagrams},
                   {"bytes_delivered", dc.bytes},
                   {"delivered_by_group", by_group},
                   {"upstream", mode},
                   {"active", p->cfg.upstream == PimConfig::Upstream::both ? nlohmann::json(nullptr)
                                                                           : nlohmann::json(p->paths[p->active].gre->cfg.name)},
                   {"paths", paths},
                   {"failovers", p->failovers},
                   {"last_failover", last_failover},
                   {"dedup", dedup},
                   {"drops", drops}});
  }
  return arr;
}

}  // namespace swld
