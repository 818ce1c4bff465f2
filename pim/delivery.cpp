#include "pim/delivery.h"

#include <algorithm>

#include "gre/ipv4.h"

namespace pim {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::deliver: return "deliver";
    case Verdict::malformed: return "malformed";
    case Verdict::fragment: return "fragment";
    case Verdict::not_multicast: return "not_multicast";
    case Verdict::not_udp: return "not_udp";
    case Verdict::not_our_group: return "not_our_group";
    case Verdict::source_not_allowed: return "source_not_allowed";
    case Verdict::bad_udp_checksum: return "bad_udp_checksum";
    case Verdict::count_: break;
  }
  return "?";
}

DeliveryPolicy::DeliveryPolicy(std::vector<std::uint32_t> groups, std::vector<SourceGroup> sources,
                               bool verify_udp_checksum)
    : groups_(std::move(groups)), sources_(std::move(sources)), verify_udp_checksum_(verify_udp_checksum) {
  auto add = [&](std::uint32_t g) {
    for (const auto& e : counters_.per_group)
      if (e.group == g) return;
    counters_.per_group.push_back({g, 0, 0});
  };
  for (auto g : groups_) add(g);
  for (const auto& sg : sources_) add(sg.group);
}

Datagram DeliveryPolicy::classify(common::ByteSpan inner_ipv4) {
  Datagram d;
  auto ip = gre::parse_ipv4(inner_ipv4);
  if (!ip) return verdict(d);
  const gre::Ipv4Header& h = ip->header;
  d.source = h.src;
  d.group = h.dst;
  if (h.is_fragment()) {
    d.verdict = Verdict::fragment;
    return verdict(d);
  }
  if ((h.dst >> 28) != 0xe) {
    d.verdict = Verdict::not_multicast;
    return verdict(d);
  }
  if (h.protocol != gre::kIpProtoUdp) {
    d.verdict = Verdict::not_udp;
    return verdict(d);
  }
  const bool star_g = std::find(groups_.begin(), groups_.end(), h.dst) != groups_.end();
  if (!star_g) {
    bool group_known = false, source_ok = false;
    for (const auto& sg : sources_) {
      if (sg.group != h.dst) continue;
      group_known = true;
      if (sg.source == h.src) source_ok = true;
    }
    if (!group_known) {
      d.verdict = Verdict::not_our_group;
      return verdict(d);
    }
    if (!source_ok) {
      d.verdict = Verdict::source_not_allowed;
      return verdict(d);
    }
  }
  common::Reader r(ip->payload);
  d.source_port = r.u16();
  d.dest_port = r.u16();
  const std::uint16_t ulen = r.u16();
  const std::uint16_t csum = r.u16();
  if (!r.ok() || ulen < 8 || ulen > ip->payload.size()) {
    d.verdict = Verdict::malformed;
    return verdict(d);
  }
  const common::ByteSpan udp = ip->payload.first(ulen);
  if (verify_udp_checksum_ && csum != 0) {
    // Pseudo-header: src, dst, zero+protocol, UDP length; the stored checksum makes the
    // total 0xffff.
    std::uint8_t ph[12];
    for (int i = 0; i < 4; ++i) {
      ph[i] = static_cast<std::uint8_t>(h.src >> (24 - 8 * i));
      ph[4 + i] = static_cast<std::uint8_t>(h.dst >> (24 - 8 * i));
    }
    ph[8] = 0;
    ph[9] = gre::kIpProtoUdp;
    ph[10] = static_cast<std::uint8_t>(ulen >> 8);
    ph[11] = static_cast<std::uint8_t>(ulen);
    if (gre::ones_sum(udp, gre::ones_sum(common::as_bytes(ph, sizeof ph))) != 0xffff) {
      d.verdict = Verdict::bad_udp_checksum;
      return verdict(d);
    }
  }
  d.payload = udp.subspan(8);
  d.verdict = Verdict::deliver;
  ++counters_.datagrams;
  counters_.bytes += d.payload.size();
  for (auto& g : counters_.per_group)  // a handful of groups: a scan beats a map
    if (g.group == d.group) {
      ++g.datagrams;
      g.bytes += d.payload.size();
      break;
    }
  return verdict(d);
}

}  // namespace pim
