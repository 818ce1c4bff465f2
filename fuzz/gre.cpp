// libFuzzer target for gre/: the IPv4 and GRE header parsers, and the tunnel's decap
// classification under several configurations (reply/off/send keepalives, key, sequence,
// checksum). Checks the contracts the data path relies on: views stay inside the input,
// a delivered or reflected packet is a valid IPv4 packet, build(parse(x)) re-parses to
// the same header, and every drop is counted exactly once.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/bytes.h"
#include "gre/header.h"
#include "gre/ipv4.h"
#include "gre/tunnel.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(common::ByteSpan part, common::ByteSpan whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const common::ByteSpan in = common::as_bytes(data, size);

  if (auto ip = gre::parse_ipv4(in)) {
    check(inside(ip->payload, in));
    check(ip->payload.size() + ip->header.header_length == ip->header.total_length);
  }
  if (auto g = gre::parse_gre(in)) {
    check(inside(g->payload, in));
    gre::GreHeader h = g->header;
    common::Bytes again = gre::build_gre(h, g->payload);
    auto back = gre::parse_gre(again);
    check(back.ok() && back->header == g->header);
  }

  const auto now = gre::TimePoint{} + std::chrono::seconds(100);
  for (int variant = 0; variant < 4; ++variant) {
    gre::TunnelConfig c;
    c.local = gre::ipv4(10, 44, 6, 1);
    c.remote = gre::ipv4(10, 44, 7, 1);
    c.keepalive = variant == 1 ? gre::KeepaliveMode::off
                               : (variant == 2 ? gre::KeepaliveMode::send : gre::KeepaliveMode::reply);
    if (variant == 3) {
      c.key = 100;
      c.sequence = true;
      c.checksum = true;
    }
    gre::Tunnel t(c, now);
    const auto before = t.status().counters.drops_total();
    gre::Decap d = t.decap(in, now);
    check(inside(d.packet, in));
    switch (d.kind) {
      case gre::DecapKind::deliver:
      case gre::DecapKind::reflect: {
        auto inner = gre::parse_ipv4(d.packet);
        check(inner.ok());
        if (d.kind == gre::DecapKind::reflect) {
          check(inner->header.src == c.local && inner->header.dst == c.remote);
          check(inner->header.protocol == gre::kIpProtoGre);
        }
        check(t.status().counters.drops_total() == before);
        // What was delivered can be encapsulated again unless it no longer fits.
        common::Bytes out = t.encap_copy(d.packet);
        check(!out.empty() || d.packet.size() + t.overhead() > 0xffff);
        if (!out.empty()) {
          gre::Tunnel mirror(gre::TunnelConfig{c.remote, c.local, c.key, c.checksum, false}, now);
          // Only packets that look like keepalives from the mirror's point of view may drop.
          const bool ka_shaped = inner->header.dst == c.local || inner->header.src == c.remote ||
                                 inner->header.protocol == gre::kIpProtoGre;
          check(ka_shaped || mirror.decap(out, now).kind == gre::DecapKind::deliver);
        }
        break;
      }
      case gre::DecapKind::keepalive_reply:
        check(t.status().counters.drops_total() == before);
        break;
      case gre::DecapKind::drop:
        check(t.status().counters.drops_total() == before + 1);
        break;
    }
    t.on_expiry(now);
    (void)t.take_outbox();
  }
  return 0;
}
