// Where an IPv4 packet that came out of ESP goes in the overlay, decided from its headers
// alone: a pure function per stage that returns a verdict, so the table test
// (tests/gre/dispatch_test.cpp) and the fuzz target (fuzz/gre_dispatch.cpp) see exactly what
// the event loop acts on (daemon/overlay.cpp):
//
//   outer packet ── shorter than 20 bytes, or protocol ≠ 47 ───────────────→ not_gre
//        │ gre: the tunnel whose local is dst and whose remote is src, then
//        │      gre::Tunnel::decap (reflect | keepalive reply | drop | deliver)
//        ▼ deliver
//   inner packet ── protocol 103, the tunnel has a pim section ────────────→ pim
//                ├─ destination in 224.0.0.0/4, the tunnel has a pim section → multicast
//                │    (then pim::DeliveryPolicy decides deliver or drop)
//                ├─ the tunnel has a TUN device ───────────────────────────→ device
//                └─ otherwise ─────────────────────────────────────────────→ discard
//
// Only the fixed 20 bytes are read (gre::peek_ipv4): version, IHL, lengths and checksum are
// checked later by Tunnel::decap, the PIM codecs and the delivery policy, not here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace gre {

enum class OuterVerdict : std::uint8_t {
  not_gre,  // shorter than an IPv4 header or not GRE: not the overlay's packet
  gre,      // GRE: for the tunnel with these endpoints, if there is one
  count_
};
inline constexpr std::size_t kOuterVerdictCount = static_cast<std::size_t>(OuterVerdict::count_);
std::string_view to_string(OuterVerdict v);

struct OuterDispatch {
  OuterVerdict verdict = OuterVerdict::not_gre;
  std::uint32_t src = 0;  // host order, as in gre/ipv4.h; only for OuterVerdict::gre
  std::uint32_t dst = 0;
};
OuterDispatch dispatch_outer(common::ByteSpan ipv4);

enum class InnerVerdict : std::uint8_t {
  pim,        // PIM (protocol 103) for the tunnel's pim::Upstream
  multicast,  // to a multicast group: the tunnel's pim::DeliveryPolicy decides
  device,     // the tunnel's TUN device
  discard,    // none of those on this tunnel (tun=no): nothing takes it
  count_
};
inline constexpr std::size_t kInnerVerdictCount = static_cast<std::size_t>(InnerVerdict::count_);
std::string_view to_string(InnerVerdict v);

// What the tunnel that decapsulated the packet has.
struct InnerTargets {
  bool pim = false;     // a pim section runs on it
  bool device = false;  // it has a TUN device (tun=yes)
};
InnerVerdict dispatch_inner(common::ByteSpan inner, InnerTargets tunnel);

}  // namespace gre
