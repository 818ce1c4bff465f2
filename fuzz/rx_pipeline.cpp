// libFuzzer target for the receive pipeline's cores in the order the daemon runs them
// (daemon/inbound.cpp, daemon/overlay.cpp): the SAD (SPI, replay window, AEAD verify,
// decrypt, inner policy), then GRE decapsulation with the keepalive rule, then PIM for the
// upstream machine or the multicast delivery policy; what the overlay sends back (keepalive
// reflections, PIM Hellos and Joins) goes through gre::Tunnel::encap_copy and the outbound
// SA, as on the wire. State lives for one input (a sequence of packets), so a replayed or
// reordered packet meets the window the earlier ones left.
//
// Keys are fixed and the target encrypts what the fuzzer writes, so the mutations reach
// past the ICV. Input: records of [op][len][len bytes]:
//   op & 3   0..2: encrypt the body, wrapped by (op >> 2) & 3 as:
//                  0 the body is the inner IPv4 packet
//                  1 IPv4 10.44.7.1 > 10.44.6.1 proto 47 + body (GRE header and inner)
//                  2 ... + GRE(0x0800) + IPv4 10.44.4.5 > 224.0.0.13 proto 103 + body (PIM)
//                  3 ... + GRE(0x0800) + IPv4 198.18.31.10 > 239.1.1.1 UDP + body (payload)
//            3: the body is fed to the SAD as it is (an ESP packet of any SPI)
//   op & 16  send the last encrypted packet again (a replay), else encrypt with the next number
//   op & 32  flip one bit of the encrypted packet (position from the body's first byte)
//   op >> 6  seconds the clock moves before the packet (timers of GRE and PIM run)
// The invariant the tunnel promises: a reflected packet is a keepalive addressed from our
// GRE endpoint to the peer's, never to a third address.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"
#include "esp/sa.h"
#include "esp/sad.h"
#include "fuzz/fixed_random.h"
#include "gre/ipv4.h"
#include "gre/tunnel.h"
#include "pim/delivery.h"
#include "pim/upstream.h"

namespace {

namespace crypto = common::crypto;
using common::Bytes;
using gre::ipv4;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::uint32_t kSpi = 0x5ca1ab1e;
constexpr std::uint32_t kUsGre = ipv4(10, 44, 6, 1), kPeerGre = ipv4(10, 44, 7, 1);
constexpr std::uint32_t kUsTun = ipv4(10, 44, 4, 6), kPeerTun = ipv4(10, 44, 4, 5);
constexpr std::uint32_t kGroup = ipv4(239, 1, 1, 1);

esp::SaConfig sa_config(esp::Direction dir) {
  esp::SaConfig c;
  c.spi = kSpi;
  c.direction = dir;
  c.mode = esp::Mode::tunnel;
  c.encr = crypto::EncrId::aes_gcm_16;
  static const Bytes key = [] {
    Bytes k(36);  // AES-256-GCM key + 4-byte salt
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::byte(static_cast<std::uint8_t>(0x40 + i));
    return k;
  }();
  c.encr_key = key;
  c.integ = crypto::IntegId::none;
  c.replay_window = 64;
  c.local_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.44.6.1/32"))};
  c.remote_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.44.7.1/32"))};
  if (dir == esp::Direction::outbound) std::swap(c.local_ts, c.remote_ts);
  return c;
}

Bytes ip(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, common::ByteSpan body, std::uint8_t ttl = 64) {
  gre::Ipv4Header h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.ttl = ttl;
  return gre::build_ipv4(h, body);
}

Bytes gre_ipv4(common::ByteSpan inner) {
  Bytes g{std::byte{0}, std::byte{0}, std::byte{0x08}, std::byte{0}};
  common::append(g, inner);
  return g;
}

Bytes wrap(unsigned how, common::ByteSpan body) {
  switch (how) {
    case 0: return Bytes(body.begin(), body.end());
    case 1: return ip(kPeerGre, kUsGre, 47, body);
    case 2: return ip(kPeerGre, kUsGre, 47, gre_ipv4(ip(kPeerTun, ipv4(224, 0, 0, 13), 103, body, 1)));
    default: {
      Bytes u{std::byte{0x13}, std::byte{0x88}, std::byte{0x13}, std::byte{0x88}};
      const auto len = static_cast<std::uint16_t>(8 + body.size());
      u.push_back(std::byte(static_cast<std::uint8_t>(len >> 8)));
      u.push_back(std::byte(static_cast<std::uint8_t>(len)));
      u.push_back(std::byte{0});  // no UDP checksum
      u.push_back(std::byte{0});
      common::append(u, body);
      return ip(kPeerGre, kUsGre, 47, gre_ipv4(ip(ipv4(198, 18, 31, 10), kGroup, 17, u)));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::FixedRandom rng(31, 7);
  auto in_sa = esp::Sa::create(sa_config(esp::Direction::inbound), rng);
  auto enc_sa = esp::Sa::create(sa_config(esp::Direction::outbound), rng);  // the peer's
  auto out_sa = esp::Sa::create(sa_config(esp::Direction::outbound), rng);  // ours, back
  check(in_sa.ok() && enc_sa.ok() && out_sa.ok());
  esp::Sad sad;
  check(sad.add_inbound(std::move(in_sa.value())).ok());

  esp::TimePoint now = esp::TimePoint{} + std::chrono::hours(1);
  gre::TunnelConfig tc;
  tc.local = kUsGre;
  tc.remote = kPeerGre;
  gre::Tunnel tunnel(tc, now);
  pim::UpstreamConfig uc;
  uc.local = kUsTun;
  uc.neighbor = kPeerTun;
  uc.rp = ipv4(198, 18, 30, 253);
  uc.groups = {kGroup};
  pim::Upstream upstream(uc, 0x1234);
  upstream.start(now);
  pim::DeliveryPolicy delivery = pim::DeliveryPolicy::from(uc);

  // What the overlay sends into the tunnel: GRE, then our outbound SA (as send_esp does).
  auto send_back = [&](common::ByteSpan inner_ipv4) {
    Bytes outer = tunnel.encap_copy(inner_ipv4);
    Bytes buf(64 + outer.size() + 64);
    std::copy(outer.begin(), outer.end(), buf.begin() + 64);
    auto e = out_sa.value()->encap(buf, 64, outer.size(), now);
    check(e.ok());
  };
  auto drain_pim = [&] {
    for (auto& p : upstream.take_outbox()) send_back(p);
  };
  drain_pim();

  Bytes last_pkt;  // as encrypted, before any bit flip
  std::size_t off = 0;
  while (off + 2 <= size) {
    const std::uint8_t op = data[off], len = data[off + 1];
    off += 2;
    const std::size_t n = std::min<std::size_t>(len, size - off);
    const common::ByteSpan body = common::as_bytes(data + off, n);
    off += n;

    if (op >> 6) {
      now += std::chrono::seconds(op >> 6);
      if (auto e = upstream.next_expiry(); e && *e <= now) upstream.on_expiry(now);
      if (auto e = tunnel.next_expiry(); e && *e <= now) tunnel.on_expiry(now);
      drain_pim();
    }

    Bytes pkt;
    if ((op & 3) == 3) {
      pkt.assign(body.begin(), body.end());
    } else {
      Bytes inner = wrap((op >> 2) & 3, body);
      Bytes buf(64 + inner.size() + 64);
      std::copy(inner.begin(), inner.end(), buf.begin() + 64);
      if ((op & 16) && !last_pkt.empty()) {
        // a replay: the last packet again, byte for byte (the SAD checks the window before
        // the ICV, so a new body under the same sequence number takes the same path)
        pkt = last_pkt;
      } else {
        const esp::EncapResult e = enc_sa.value()->encap(buf, 64, inner.size(), 4, now);
        if (!e.ok()) continue;
        pkt.assign(e.packet.begin(), e.packet.end());
        last_pkt = pkt;
      }
      if ((op & 32) && !pkt.empty()) {
        const std::size_t at = (n ? std::to_integer<std::size_t>(body[0]) : 0) % pkt.size();
        pkt[at] ^= std::byte{0x10};
      }
    }

    auto r = sad.decap(pkt, now);
    if (!r.ok()) continue;
    auto d = tunnel.decap(r.inner, now);
    switch (d.kind) {
      case gre::DecapKind::reflect: {
        auto h = gre::parse_ipv4(d.packet);
        check(h.ok() && h->header.src == kUsGre && h->header.dst == kPeerGre);  // not a reflector
        send_back(d.packet);
        break;
      }
      case gre::DecapKind::deliver: {
        auto h = gre::peek_ipv4(d.packet);
        if (h && h->protocol == gre::kIpProtoPim) {
          (void)upstream.on_packet(d.packet, now);
          drain_pim();
        } else {
          auto dg = delivery.classify(d.packet);
          (void)dg;
        }
        break;
      }
      case gre::DecapKind::keepalive_reply:
      case gre::DecapKind::drop:
        break;
    }
  }
  return 0;
}
