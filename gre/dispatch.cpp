#include "gre/dispatch.h"

#include "gre/ipv4.h"

namespace gre {

namespace {

bool is_multicast(std::uint32_t addr) { return (addr & 0xf0000000u) == 0xe0000000u; }  // 224.0.0.0/4

}  // namespace

std::string_view to_string(OuterVerdict v) {
  switch (v) {
    case OuterVerdict::not_gre: return "not_gre";
    case OuterVerdict::gre: return "gre";
    case OuterVerdict::count_: break;
  }
  return "?";
}

std::string_view to_string(InnerVerdict v) {
  switch (v) {
    case InnerVerdict::pim: return "pim";
    case InnerVerdict::multicast: return "multicast";
    case InnerVerdict::device: return "device";
    case InnerVerdict::discard: return "discard";
    case InnerVerdict::count_: break;
  }
  return "?";
}

OuterDispatch dispatch_outer(common::ByteSpan ipv4) {
  auto h = peek_ipv4(ipv4);
  if (!h || h->protocol != kIpProtoGre) return {};
  return {OuterVerdict::gre, h->src, h->dst};
}

InnerVerdict dispatch_inner(common::ByteSpan inner, InnerTargets tunnel) {
  if (tunnel.pim) {
    if (auto h = peek_ipv4(inner)) {
      if (h->protocol == kIpProtoPim) return InnerVerdict::pim;
      if (is_multicast(h->dst)) return InnerVerdict::multicast;
    }
  }
  return tunnel.device ? InnerVerdict::device : InnerVerdict::discard;
}

}  // namespace gre
