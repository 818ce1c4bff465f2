#include "esp/ip.h"

namespace esp::ip {

using common::Errc;
using common::make_error;

common::Result<Ipv4Header> parse_ipv4(common::ByteSpan packet) {
  common::Reader r(packet);
  Ipv4Header h;
  const std::uint8_t vihl = r.u8();
  r.skip(1);  // TOS
  h.total_length = r.u16();
  r.skip(2);  // identification
  h.flags_fragment = r.u16();
  h.ttl = r.u8();
  h.protocol = r.u8();
  r.skip(2);  // checksum: the receiving stack verifies it
  h.src = r.u32();
  h.dst = r.u32();
  if (!r.ok()) return make_error(Errc::truncated, "IPv4 header truncated");
  if ((vihl >> 4) != 4) return make_error(Errc::malformed, "not IPv4");
  h.header_length = static_cast<std::uint8_t>((vihl & 0x0f) * 4);
  if (h.header_length < kIpv4MinHeader) return make_error(Errc::malformed, "IPv4 IHL below 5");
  if (h.total_length < h.header_length) return make_error(Errc::malformed, "IPv4 total length below IHL");
  if (h.total_length > packet.size()) return make_error(Errc::truncated, "IPv4 total length beyond packet");
  return h;
}

bool protocol_has_ports(std::uint8_t protocol) {
  return protocol == kProtoTcp || protocol == kProtoUdp || protocol == kProtoSctp || protocol == kProtoUdpLite;
}

bool read_ports(std::uint8_t protocol, common::ByteSpan l4, std::uint16_t& src_port, std::uint16_t& dst_port) {
  if (!protocol_has_ports(protocol)) return false;
  common::Reader r(l4);
  const std::uint16_t s = r.u16();
  const std::uint16_t d = r.u16();
  if (!r.ok()) return false;
  src_port = s;
  dst_port = d;
  return true;
}

Flow flow_of(const Ipv4Header& h, common::ByteSpan packet) {
  Flow f;
  f.src = common::IpAddr::v4(h.src);
  f.dst = common::IpAddr::v4(h.dst);
  f.protocol = h.protocol;
  if (h.fragment_offset() == 0 && h.total_length <= packet.size()) {
    common::ByteSpan l4 = packet.subspan(h.header_length, h.total_length - h.header_length);
    f.ports_known = read_ports(h.protocol, l4, f.src_port, f.dst_port);
  }
  return f;
}

}  // namespace esp::ip
