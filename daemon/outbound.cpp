// The send stages of the data path. The functions in this file occur in the order packets
// meet them:
//
//   on_tun_readable   TUN read batch, into slots that leave ESP headroom and tailroom
//   send_offloaded    (TUN offload) virtio header → a plain packet: checksum completed, on to
//                     send_ipv4 | a TCP or UDP_SEGMENT super-packet: one SA lookup for all
//                     its segments → each MTU-sized segment written into the socket's send
//                     buffer and encrypted in place there, the run of ESP packets sent as
//                     one UDP GSO send (plain ESP or transport mode: each segment copied and
//                     through send_ipv4)
//   send_ipv4         flow of the inner packet → outbound SA by selectors (most specific,
//                     then newest; none: out_no_sa, nothing leaves unencrypted) → in-place
//                     ESP encap (transport mode, the overlay's GRE: ESP inserted after the
//                     IPv4 header) → a tunnel-mode TUN packet goes into the socket's send
//                     batch where it lies; the overlay's packets enter here
//                     (no SA, but a trapped conn's selectors: trap_packet)
//   send_esp          ESP in UDP to the SA's port-4500 socket | plain ESP to the raw socket
//                     (copied into their send batch)
//   on_vti_readable   a route-based conn's device (vti=): one packet per read → send_ipv4
//                     with the device: the conn's newest outbound SA if its selectors allow
//                     the flow → ESP copied into the socket's batch
//   trap_packet       a packet for an auto=route (or held) conn without SA: copied into the
//                     conn's bounded queue, the conn initiated; on_child_up sends the queue
// The batches go out with sendmmsg when the round is over (DataPath::flush).
#include <algorithm>

#include "common/log.h"
#include "daemon/data_path.h"
#include "esp/ip.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::net;
}  // namespace

using common::Endpoint;

void DataPath::on_tun_readable() {
  for (int round = 0; round < 8; ++round) {
    auto n = tun_->read_batch(tun_slots_);
    if (!n || *n == 0) break;
    for (std::size_t i = 0; i < *n; ++i) {
      if (tun_offload_) send_offloaded(tun_base_[i], tun_slots_[i].len);
      else send_ipv4(common::MutByteSpan(tun_base_[i], tun_slot_), esp::Sa::kMaxHeader, tun_slots_[i].len, true);
    }
    // The batch refers to the TUN slots, which the next read reuses.
    flush();
    if (*n < tun_slots_.size()) break;
  }
}

// One read of the offloading TUN at base + kMaxHeader - 10: virtio header, then the
// packet. A TCP super-packet is cut into segments, each built in a socket send buffer
// behind ESP headroom and encrypted there; all segments share the first one's SA.
void DataPath::send_offloaded(std::byte* base, std::size_t len) {
  namespace off = tun::offload;
  constexpr std::size_t kHead = esp::Sa::kMaxHeader;
  auto h = off::parse_vnet_hdr(common::ByteSpan(base + kHead - off::kVnetHdrSize, len));
  if (!h) {
    count(DaemonDrop::tun_gso_bad);
    return;
  }
  common::MutByteSpan pkt(base + kHead, len - off::kVnetHdrSize);
  if (h->gso_kind() == off::kGsoNone) {
    if (h->needs_csum() && !off::complete_checksum(pkt, *h)) {
      count(DaemonDrop::tun_gso_bad);
      return;
    }
    send_ipv4(common::MutByteSpan(base, tun_slot_), kHead, pkt.size(), true);
    return;
  }
  auto seg = off::Segmenter::create(pkt, *h);
  auto hdr = seg ? esp::ip::parse_ipv4(pkt) : common::Result<esp::ip::Ipv4Header>(seg.error());
  if (!hdr) {
    count(DaemonDrop::tun_gso_bad);
    return;
  }
  const auto [sa, route] = children_.select_outbound(esp::ip::flow_of(*hdr, pkt));
  if (!route) {
    count(DaemonDrop::out_no_sa, seg->count());  // fail closed: nothing leaves unencrypted
    return;
  }
  UdpSocket* s = route->udp_encap && sa->mode() == esp::Mode::tunnel ? socket_for(route->local) : nullptr;
  if (!s) {
    // Plain ESP or a transport-mode SA: each segment through the ordinary path (a copy).
    for (std::size_t i = 0; i < seg->count(); ++i) {
      auto n = seg->write(i, seg_scratch_.subspan(kHead, seg_scratch_.size() - kHead - esp::Sa::kMaxTrailer));
      if (!n) {
        count(DaemonDrop::tun_gso_bad);
        continue;
      }
      if (send_ipv4(seg_scratch_, kHead, *n)) ++gso_segmented_;
    }
    return;
  }
  const Now t = now();
  const Endpoint& to = route->remote;
  if (!s->gso()) {
    for (std::size_t i = 0; i < seg->count(); ++i) {
      common::MutByteSpan buf = s->next_send_buffer();
      auto n = seg->write(i, buf.subspan(kHead, buf.size() - kHead - esp::Sa::kMaxTrailer));
      if (!n) {
        count(DaemonDrop::tun_gso_bad);
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
        count(DaemonDrop::tun_gso_bad);
        ++i;
        continue;
      }
      if (used + esp_len > UdpSocket::kMaxGsoBytes || (nseg && esp_len > seg_size)) break;
      auto n = seg->write(i, buf.subspan(used + hs, inner));
      ++i;
      if (!n) {
        count(DaemonDrop::tun_gso_bad);
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

bool DataPath::send_ipv4(common::MutByteSpan buf, std::size_t offset, std::size_t len, bool zero_copy,
                         std::optional<std::size_t> vti) {
  common::ByteSpan pkt(buf.data() + offset, len);
  auto hdr = esp::ip::parse_ipv4(pkt);
  if (!hdr) {
    count(DaemonDrop::out_bad_inner);
    return false;
  }
  const esp::ip::Flow flow = esp::ip::flow_of(*hdr, pkt);
  // A route-based conn's device: that conn's newest SA, if its (maybe narrowed) selectors
  // allow the flow. Otherwise the SA whose selectors take it.
  auto [sa, route] = vti ? children_.vti_outbound(*vti) : children_.select_outbound(flow);
  if (route && vti && !sa->outbound_policy_allows(flow)) route = nullptr;
  if (!route) {
    if (!trap_packet(flow, pkt, vti)) count(DaemonDrop::out_no_sa);  // fail closed: nothing leaves unencrypted
    return false;
  }
  if (sa->mode() == esp::Mode::transport) {
    auto e = esp::transport::encap_ipv4(*sa, buf, offset, len, now());
    if (e.ok()) send_esp(*route, e.esp.packet);
  } else {
    auto e = sa->encap(buf, offset, len, now());
    UdpSocket* s = zero_copy && route->udp_encap ? socket_for(route->local) : nullptr;
    if (e.ok() && s) s->commit_send(e.packet, route->remote);
    else if (e.ok()) send_esp(*route, e.packet);
  }
  return true;  // sent, or dropped and counted by the SA
}

// ESP in UDP from the IKE_SA's port-4500 socket, or plain ESP on the raw socket.
void DataPath::send_esp(const OutRoute& route, common::ByteSpan esp) {
  if (route.udp_encap) {
    if (UdpSocket* s = socket_for(route.local)) s->queue(route.remote, esp);
    else count(DaemonDrop::out_no_sa);
  } else if (raw_esp_) {
    raw_esp_->queue(route.local.addr, route.remote.addr, esp);
  } else {
    count(DaemonDrop::out_no_raw_socket);
  }
}

bool DataPath::trap_packet(const esp::ip::Flow& flow, common::ByteSpan pkt, std::optional<std::size_t> vti) {
  if (traps_.empty()) return false;
  const std::uint16_t sport = flow.ports_known ? flow.src_port : 0, dport = flow.ports_known ? flow.dst_port : 0;
  auto in = [](const std::vector<common::TrafficSelector>& tss, const common::IpAddr& a, std::uint8_t proto,
               std::uint16_t port) {
    return std::any_of(tss.begin(), tss.end(), [&](const auto& ts) { return ts.matches(a, proto, port); });
  };
  for (auto& t : traps_) {
    if (!t.armed || t.vti != vti || !in(t.local, flow.src, flow.protocol, sport) ||
        !in(t.remote, flow.dst, flow.protocol, dport))
      continue;
    const Now n = now();
    if (t.queue.size() >= kTrapQueue) count(DaemonDrop::trap_queue_full);
    else t.queue.emplace_back(n, std::vector<std::byte>(pkt.begin(), pkt.end()));
    if (!t.last_acquire || n - *t.last_acquire >= kTrapRetry) {
      t.last_acquire = n;
      ++t.acquires;
      LOG_INFO("%s: packet %s -> %s with no SA: initiating (trap)", t.conn.c_str(), flow.src.to_string().c_str(),
               flow.dst.to_string().c_str());
      // After this packet's round: the daemon's initiation (a peer known by name is resolved
      // first), else the engine's directly, its messages going out through on_ike_.
      if (on_acquire_) {
        boost::asio::post(io_, [this, conn = t.conn] { on_acquire_(conn); });
      } else {
        if (auto st = engine_.initiate(t.conn, n); !st)
          LOG_WARN("%s: cannot initiate: %s", t.conn.c_str(), st.error().detail);
        if (on_ike_) boost::asio::post(io_, [this] { on_ike_(); });
      }
    }
    return true;
  }
  return false;
}

void DataPath::set_traps(const std::vector<ike::PeerConfig>& peers) {
  std::vector<Trap> next;
  for (const auto& p : peers)
    for (const auto& c : p.children) {
      if (c.trap == ike::ChildConfig::Trap::none) continue;
      Trap t;
      t.conn = c.name;
      t.local = c.local_ts;
      t.remote = c.remote_ts;
      t.armed = c.trap == ike::ChildConfig::Trap::always;
      for (std::size_t i = 0; i < vtis_.size(); ++i)
        if (vtis_[i]->conn == c.name) t.vti = i;
      // A conn kept across a reload keeps its state (armed hold trap, queue).
      for (auto& old : traps_)
        if (old.conn == t.conn) {
          t.armed = t.armed || old.armed;
          t.queue = std::move(old.queue);
          t.last_acquire = old.last_acquire;
          t.acquires = old.acquires;
        }
      next.push_back(std::move(t));
    }
  for (const auto& old : traps_)
    if (std::none_of(next.begin(), next.end(), [&](const Trap& t) { return t.conn == old.conn; }))
      count(DaemonDrop::trap_expired, old.queue.size());
  traps_ = std::move(next);
}

void DataPath::on_child_up(const std::string& conn) {
  for (auto& t : traps_) {
    if (t.conn != conn) continue;
    t.armed = true;
    t.last_acquire.reset();
    if (t.queue.empty()) return;
    LOG_INFO("%s: sending %zu packet(s) queued while the SA came up", conn.c_str(), t.queue.size());
    std::vector<std::byte> buf;
    for (auto& [at, p] : t.queue) {
      buf.assign(esp::Sa::kMaxHeader + p.size() + esp::Sa::kMaxTrailer, std::byte{0});
      std::copy(p.begin(), p.end(), buf.begin() + esp::Sa::kMaxHeader);
      // Another trap or no SA at all (narrowed selectors): counted there.
      send_ipv4(buf, esp::Sa::kMaxHeader, p.size(), false, t.vti);  // copied into the socket's batch
    }
    t.queue.clear();
    return;
  }
}

void DataPath::expire_traps(Now t) {
  for (auto& tr : traps_)
    while (!tr.queue.empty() && t - tr.queue.front().first >= kTrapHold) {
      tr.queue.pop_front();
      count(DaemonDrop::trap_expired);
    }
}

}  // namespace swld
