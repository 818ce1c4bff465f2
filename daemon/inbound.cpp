// The receive stages of the data path. The functions in this file occur in the order
// packets meet them:
//
//   on_udp_readable   UDP recvmmsg rounds (500 and 4500), each handed to on_udp_batch; after
//                     the last, IKE's outbox and events drained (on_ike) or the sockets flushed
//   on_udp_batch      one round's datagrams (UDP GRO buffers cut into datagrams), by the
//                     local port each arrived on: on 4500, RFC 3948 classify: NAT keepalive
//                     (counted) | IKE behind the non-ESP marker | ESP | neither
//                     (esp_invalid_udp); on 500: IKE. IKE goes to ike::Engine, ESP on below;
//                     the round ends with write_tun_batch. Sockets stay outside it:
//                     tests/daemon/inbound_batch_test.cpp hands batches in.
//   on_raw_readable   raw IPPROTO_ESP recvmmsg batch → outer IPv4 parsed, ESP part found
//   on_esp            SAD lookup by SPI → replay check → ICV/AEAD verify → replay commit
//                     → decrypt → inner policy check (esp::Sad::decap, drops counted per SA)
//                     → transport mode: IPv4 header rebuilt in the headroom → overlay (GRE of
//                       a gre section), nothing else (in_transport_not_gre)
//                     → tunnel mode: overlay (GRE of a gre section) | the TUN device, queued
//                       (TUN offload: GRO-like coalescing of in-order TCP segments per flow,
//                       and of same-sized UDP datagrams where the kernel has USO)
//   write_tun         one coalesced super-packet: writev with a virtio GSO header
//   write_tun_batch   end of a receive round: coalescer flushed, queued packets written in
//                     one batch, overlay flushed; the next round reuses the buffers
#include <algorithm>
#include <string>

#include "common/log.h"

#include "daemon/data_path.h"
#include "daemon/overlay.h"
#include "esp/udp_encap.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::esp;
}  // namespace

void DataPath::on_udp_readable(UdpSocket& s) {
  Now t = now();
  bool ike_seen = false;
  for (int round = 0; round < 8; ++round) {
    // Decapsulated packets point into the socket's receive buffers, which the next
    // recv_batch reuses: on_udp_batch writes everything of a round out before the next one.
    std::size_t n = s.recv_batch(rx_batch_);
    if (n == 0) break;
    if (on_udp_batch(rx_batch_, t)) ike_seen = true;
    if (n < UdpSocket::kBatch) break;
  }
  if (ike_seen && on_ike_) on_ike_();
  else flush();
}

bool DataPath::on_udp_batch(std::span<const Datagram> batch, Now t) {
  bool ike_seen = false;
  for (const auto& whole : batch) {
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
      if (d.local.port == esp::udp_encap::kPort) {  // the port of the socket it came in on
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
            count(DaemonDrop::esp_invalid_udp);
            continue;
        }
      }
      engine_.on_datagram(d.local, d.remote, payload, t);
      ike_seen = true;
    }
  }
  write_tun_batch();
  return ike_seen;
}

void DataPath::on_raw_readable() {
  for (int round = 0; round < 8; ++round) {
    std::size_t n = raw_esp_->recv_batch(raw_batch_);
    if (n == 0) break;
    count(DaemonDrop::esp_raw_malformed, n - raw_batch_.size());  // cut by the buffer size
    for (auto& p : raw_batch_) {
      auto o = esp::transport::parse_outer(common::ByteSpan(p.data, p.len));
      if (!o.ok) {
        count(DaemonDrop::esp_raw_malformed);
        continue;
      }
      const auto& h = o.outer.header;
      on_esp(common::MutByteSpan(p.data - p.headroom, p.len + p.headroom), p.headroom + o.outer.esp_offset,
             o.outer.esp_length, {h.src, h.dst, h.ttl, 0});
    }
    write_tun_batch();
    if (n < RawEspSocket::kBatch) break;
  }
  flush();
}

// room[off, off + len) is the ESP packet (SPI..ICV); room has writable bytes in front of it
// for the IPv4 header a transport-mode SA's payload gets back (esp::transport).
void DataPath::on_esp(common::MutByteSpan room, std::size_t off, std::size_t len,
                    const esp::transport::InnerFields& outer) {
  common::MutByteSpan pkt = room.subspan(off, len);
  auto r = children_.sad().decap(pkt, now());
  if (!r.ok()) {  // counted per SA (or by the SAD for unknown SPIs), logged within a limit
    log_esp_drop(r.drop, pkt, outer.outer_src);
    return;
  }
  common::MutByteSpan inner = r.inner;
  const std::uint32_t spi = (std::to_integer<std::uint32_t>(pkt[0]) << 24) | (std::to_integer<std::uint32_t>(pkt[1]) << 16) |
                            (std::to_integer<std::uint32_t>(pkt[2]) << 8) | std::to_integer<std::uint32_t>(pkt[3]);
  if (esp::Sa* sa = children_.sad().find_inbound(spi); sa && sa->mode() == esp::Mode::transport) {
    inner = esp::transport::prepend_ipv4(*sa, room, r.inner, r.next_header, outer);
    if (inner.empty()) return;  // counted on the SA (policy, no_room)
    // Transport mode carries the gre sections' packets; nothing else goes to the host.
    if (!overlay_ || !overlay_->on_inner(inner, now())) count(DaemonDrop::in_transport_not_gre);
    return;
  }
  if (const auto v = children_.vti_of(spi)) {  // a route-based conn: its own device
    if (!vtis_[*v]->dev->write(inner)) count(DaemonDrop::tun_write_failed);
    return;
  }
  if (overlay_ && overlay_->on_inner(inner, now())) return;
  if (!tun_) {
    count(DaemonDrop::tun_write_failed);
    return;
  }
  if (tun_offload_) coalescer_.add(inner, [this](const tun::offload::TunWrite& w) { write_tun(w); });
  else tun_out_.push_back(inner);
}

void DataPath::log_esp_drop(esp::Drop d, common::ByteSpan pkt, std::uint32_t outer_src) {
  if (d == esp::Drop::dummy) return;  // RFC 4303 dummy packets are dropped by design
  std::uint64_t held = 0;
  if (!esp_drop_log_.allow(static_cast<std::size_t>(d), now(), held)) return;
  std::uint32_t spi = 0;
  for (std::size_t i = 0; i < 4 && i < pkt.size(); ++i) spi = (spi << 8) | std::to_integer<std::uint32_t>(pkt[i]);
  const std::string from = common::IpAddr::v4(outer_src).to_string();
  if (held)
    LOG_WARN("ESP from %s SPI %08x dropped: %s (and %llu more for this reason not logged one by one)", from.c_str(),
             spi, std::string(esp::to_string(d)).c_str(), static_cast<unsigned long long>(held));
  else
    LOG_WARN("ESP from %s SPI %08x dropped: %s", from.c_str(), spi, std::string(esp::to_string(d)).c_str());
}

void DataPath::flush_drop_log(Now t, bool all) {
  esp_drop_log_.flush(all ? t + kDropLogPeriod : t, [](std::size_t reason, std::uint64_t n) {
    LOG_WARN("ESP: %llu more packets dropped (%s) in the last %llds, not logged one by one; the counters have them all",
             static_cast<unsigned long long>(n), std::string(esp::to_string(static_cast<esp::Drop>(reason))).c_str(),
             static_cast<long long>(kDropLogPeriod.count()));
  });
}

void DataPath::write_tun(const tun::offload::TunWrite& w) {
  tun::offload::serialize_vnet_hdr(w.hdr, vnet_out_);
  tun_iov_[0] = vnet_out_;
  std::copy(w.parts.begin(), w.parts.end(), tun_iov_.begin() + 1);
  if (!tun_->write_gather(std::span<const common::ByteSpan>(tun_iov_.data(), w.parts.size() + 1)))
    count(DaemonDrop::tun_write_failed, w.parts.size());
}

// Everything decapsulated in one receive round, before the next round reuses the buffers.
void DataPath::write_tun_batch() {
  if (tun_offload_) coalescer_.flush([this](const tun::offload::TunWrite& w) { write_tun(w); });
  if (!tun_out_.empty() && tun_) {
    auto w = tun_->write_batch(tun_out_);
    if (!w) count(DaemonDrop::tun_write_failed, tun_out_.size());
    else if (*w < tun_out_.size()) count(DaemonDrop::tun_write_failed, tun_out_.size() - *w);
  }
  tun_out_.clear();
  if (overlay_) overlay_->flush();
}

}  // namespace swld
