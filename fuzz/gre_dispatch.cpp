// libFuzzer target for gre/dispatch.h: the overlay's verdicts on a packet out of ESP
// (outer: GRE or not; inner: PIM, multicast, the device, or nothing) for every combination
// of what a tunnel has. Checks the contract the overlay relies on: only the fixed 20 bytes
// decide (the protocol, the addresses, a multicast destination), a packet that parse_ipv4
// accepts gets the verdict its parsed header says, and the reported addresses are the ones
// in the packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/bytes.h"
#include "gre/dispatch.h"
#include "gre/ipv4.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

std::uint32_t u32_at(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const common::ByteSpan in = common::as_bytes(data, size);
  const bool fixed = size >= gre::kIpv4HeaderSize;

  const auto outer = gre::dispatch_outer(in);
  check((outer.verdict == gre::OuterVerdict::gre) == (fixed && data[9] == gre::kIpProtoGre));
  if (outer.verdict == gre::OuterVerdict::gre) check(outer.src == u32_at(data + 12) && outer.dst == u32_at(data + 16));

  const auto parsed = gre::parse_ipv4(in);
  for (int t = 0; t < 4; ++t) {
    const gre::InnerTargets targets{(t & 1) != 0, (t & 2) != 0};
    const auto v = gre::dispatch_inner(in, targets);
    check(v != gre::InnerVerdict::count_);
    const auto otherwise = targets.device ? gre::InnerVerdict::device : gre::InnerVerdict::discard;
    if (!targets.pim || !fixed) check(v == otherwise);
    if (v == gre::InnerVerdict::pim) check(data[9] == gre::kIpProtoPim);
    if (v == gre::InnerVerdict::multicast) check((data[16] & 0xf0) == 0xe0 && data[9] != gre::kIpProtoPim);
    if (parsed && targets.pim) {
      const auto& h = parsed->header;
      if (h.protocol == gre::kIpProtoPim) check(v == gre::InnerVerdict::pim);
      else if ((h.dst >> 28) == 0xe) check(v == gre::InnerVerdict::multicast);
      else check(v == otherwise);
    }
  }
  return 0;
}
