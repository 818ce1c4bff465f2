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
    : verify_udp_checksum_(verify_udp_checksum) {
  for (auto g : groups) add(g, 0);
  for (const auto& sg : sources) add(sg.group, sg.source);
}

void DeliveryPolicy::add(std::uint32_t group, std::uint32_t source) {
  auto [it, fresh] = groups_.try_emplace(group);
  Entry& e = it->second;
  if (fresh) {
    e.counters = counters_.per_group.size();
    counters_.per_group.push_back({group, 0, 0});
  }
  if (source == 0)
    e.any_source = true;
  else if (std::find(e.sources.begin(), e.sources.end(), source) == e.sources.end())
    e.sources.push_back(source);
}

void DeliveryPolicy::set(const std::vector<GroupWant>& wants) {
  // Rebuilt on membership changes only (never per packet); counters of groups that stay
  // are carried over.
  std::vector<GroupDelivery> old;
  old.swap(counters_.per_group);
  std::unordered_map<std::uint32_t, std::size_t> old_at;
  for (std::size_t i = 0; i < old.size(); ++i) old_at.emplace(old[i].group, i);
  groups_.clear();
  for (const auto& w : wants) {
    if (w.star) add(w.group, 0);
    for (const auto& s : w.sources) add(w.group, s.address);
    if (!w.star && w.sources.empty()) continue;
    if (auto it = old_at.find(w.group); it != old_at.end()) counters_.per_group[groups_[w.group].counters] = old[it->second];
  }
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
  const auto it = groups_.find(h.dst);
  if (it == groups_.end()) {
    d.verdict = Verdict::not_our_group;
    return verdict(d);
  }
  const Entry& e = it->second;
  if (!e.any_source && std::find(e.sources.begin(), e.sources.end(), h.src) == e.sources.end()) {
    d.verdict = Verdict::source_not_allowed;
    return verdict(d);
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
  GroupDelivery& g = counters_.per_group[e.counters];
  ++g.datagrams;
  g.bytes += d.payload.size();
  return verdict(d);
}

}  // namespace pim
