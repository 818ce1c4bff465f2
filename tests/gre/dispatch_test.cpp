// gre/dispatch.h: the overlay's decisions about a packet out of ESP, as tables, and against
// the raw-byte rules they replaced in the overlay (byte 9 is the protocol, bytes 12..19 the
// addresses, the high nibble of byte 16 tells multicast): same verdict for every input.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "gre/dispatch.h"
#include "gre/ipv4.h"

using common::Bytes;
using namespace gre;

namespace {

constexpr std::uint32_t kSrc = ipv4(10, 44, 7, 1);
constexpr std::uint32_t kDst = ipv4(10, 44, 6, 1);

Bytes packet(std::uint8_t protocol, std::uint32_t src, std::uint32_t dst, std::size_t payload = 8) {
  Ipv4Header h;
  h.protocol = protocol;
  h.src = src;
  h.dst = dst;
  return build_ipv4(h, Bytes(payload, std::byte{0xab}));
}

Bytes with(Bytes b, std::size_t at, std::uint8_t v) {
  b[at] = std::byte{v};
  return b;
}

// The decisions as the overlay wrote them on raw bytes before gre/dispatch.h.
OuterVerdict old_outer(const Bytes& b) {
  if (b.size() < 20 || std::to_integer<std::uint8_t>(b[9]) != 47) return OuterVerdict::not_gre;
  return OuterVerdict::gre;
}
InnerVerdict old_inner(const Bytes& in, InnerTargets t) {
  if (in.size() >= 20 && std::to_integer<std::uint8_t>(in[9]) == 103 && t.pim) return InnerVerdict::pim;
  if (t.pim && in.size() >= 20 && (std::to_integer<std::uint8_t>(in[16]) & 0xf0) == 0xe0) return InnerVerdict::multicast;
  return t.device ? InnerVerdict::device : InnerVerdict::discard;
}

}  // namespace

TEST_CASE("dispatch_outer: GRE by protocol 47 in the fixed header, nothing else checked") {
  struct Case {
    const char* name;
    Bytes pkt;
    OuterVerdict want;
  };
  const Bytes gre_pkt = packet(kIpProtoGre, kSrc, kDst);
  const std::vector<Case> cases = {
      {"GRE", gre_pkt, OuterVerdict::gre},
      {"GRE, header only", packet(kIpProtoGre, kSrc, kDst, 0), OuterVerdict::gre},
      {"UDP", packet(kIpProtoUdp, kSrc, kDst), OuterVerdict::not_gre},
      {"PIM", packet(kIpProtoPim, kSrc, kDst), OuterVerdict::not_gre},
      {"19 bytes", Bytes(gre_pkt.begin(), gre_pkt.begin() + 19), OuterVerdict::not_gre},
      {"empty", Bytes{}, OuterVerdict::not_gre},
      // Left to Tunnel::decap, which checks and counts them:
      {"bad header checksum", with(gre_pkt, 10, 0), OuterVerdict::gre},
      {"version 6", with(gre_pkt, 0, 0x65), OuterVerdict::gre},
      {"IHL 4", with(gre_pkt, 0, 0x44), OuterVerdict::gre},
      {"total length past the buffer", with(gre_pkt, 2, 0xff), OuterVerdict::gre},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto d = dispatch_outer(c.pkt);
    CHECK(d.verdict == c.want);
    CHECK(d.verdict == old_outer(c.pkt));
    if (d.verdict == OuterVerdict::gre) {
      CHECK(d.src == kSrc);
      CHECK(d.dst == kDst);
    }
  }
}

TEST_CASE("dispatch_inner: PIM and multicast only where a pim section runs, else the device") {
  struct Case {
    const char* name;
    Bytes pkt;
    InnerTargets tunnel;
    InnerVerdict want;
  };
  const std::uint32_t group = ipv4(239, 1, 1, 1), all_pim = ipv4(224, 0, 0, 13), host = ipv4(172, 16, 0, 1);
  const Bytes pim_hello = packet(kIpProtoPim, kSrc, all_pim);
  const Bytes mcast = packet(kIpProtoUdp, kSrc, group);
  const Bytes unicast = packet(kIpProtoUdp, kSrc, host);
  const Bytes pim_unicast = packet(kIpProtoPim, kSrc, host);
  const Bytes short_pim(pim_hello.begin(), pim_hello.begin() + 19);
  const InnerTargets pim_dev{true, true}, pim_only{true, false}, dev_only{false, true}, none{false, false};
  const std::vector<Case> cases = {
      {"PIM Hello, pim+device", pim_hello, pim_dev, InnerVerdict::pim},
      {"PIM Hello, pim only", pim_hello, pim_only, InnerVerdict::pim},
      {"PIM to a unicast address", pim_unicast, pim_dev, InnerVerdict::pim},
      {"PIM Hello, no pim: the device", pim_hello, dev_only, InnerVerdict::device},
      {"PIM Hello, nothing", pim_hello, none, InnerVerdict::discard},
      {"multicast UDP, pim+device", mcast, pim_dev, InnerVerdict::multicast},
      {"multicast UDP, pim only", mcast, pim_only, InnerVerdict::multicast},
      {"multicast UDP, no pim: the device", mcast, dev_only, InnerVerdict::device},
      {"multicast TCP-numbered, pim", packet(6, kSrc, group), pim_dev, InnerVerdict::multicast},
      {"239.255.255.255", packet(kIpProtoUdp, kSrc, ipv4(239, 255, 255, 255)), pim_dev, InnerVerdict::multicast},
      {"240.0.0.1 is not multicast", packet(kIpProtoUdp, kSrc, ipv4(240, 0, 0, 1)), pim_dev, InnerVerdict::device},
      {"223.255.255.255 is not multicast", packet(kIpProtoUdp, kSrc, ipv4(223, 255, 255, 255)), pim_dev,
       InnerVerdict::device},
      {"unicast, pim+device", unicast, pim_dev, InnerVerdict::device},
      {"unicast, pim only", unicast, pim_only, InnerVerdict::discard},
      {"unicast, nothing", unicast, none, InnerVerdict::discard},
      {"19-byte PIM, pim+device", short_pim, pim_dev, InnerVerdict::device},
      {"19-byte PIM, pim only", short_pim, pim_only, InnerVerdict::discard},
      {"empty, device", Bytes{}, dev_only, InnerVerdict::device},
      {"PIM, bad checksum (the codec checks it)", with(pim_hello, 10, 0), pim_dev, InnerVerdict::pim},
      {"multicast, version 6 (the policy checks it)", with(mcast, 0, 0x65), pim_dev, InnerVerdict::multicast},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto v = dispatch_inner(c.pkt, c.tunnel);
    CHECK(v == c.want);
    CHECK(v == old_inner(c.pkt, c.tunnel));
  }
}

TEST_CASE("dispatch: the same verdicts as the raw-byte rules for every protocol, address nibble and length") {
  const Bytes base = packet(0, kSrc, kDst);
  for (std::size_t len = 0; len <= base.size(); ++len) {
    for (unsigned proto = 0; proto < 256; ++proto) {
      for (unsigned nibble = 0; nibble < 16; ++nibble) {
        Bytes b = with(base, 9, static_cast<std::uint8_t>(proto));
        b = with(b, 16, static_cast<std::uint8_t>(nibble << 4 | 0x0a));
        b.resize(len);
        const bool outer_ok = dispatch_outer(b).verdict == old_outer(b);
        bool inner_ok = true;
        for (int t = 0; t < 4; ++t) {
          const InnerTargets targets{(t & 1) != 0, (t & 2) != 0};
          inner_ok = inner_ok && dispatch_inner(b, targets) == old_inner(b, targets);
        }
        if (!outer_ok || !inner_ok) {
          INFO("length " << len << ", protocol " << proto << ", byte 16 nibble " << nibble);
          CHECK(outer_ok);
          CHECK(inner_ok);
        }
      }
    }
  }
  CHECK(to_string(OuterVerdict::gre) == "gre");
  CHECK(to_string(InnerVerdict::discard) == "discard");
}
