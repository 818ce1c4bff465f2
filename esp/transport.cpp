#include "esp/transport.h"

#include "common/checksum.h"

#include <cstring>

namespace esp::transport {

namespace {

constexpr std::size_t kIpv4Header = ip::kIpv4MinHeader;  // the header we write has no options
constexpr std::size_t kIpv4Max = 65535;

void store16(std::byte* p, std::uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
void store32(std::byte* p, std::uint32_t v) {
  store16(p, static_cast<std::uint16_t>(v >> 16));
  store16(p + 2, static_cast<std::uint16_t>(v));
}

// The one address a selector list names, when it names exactly one.
bool single_address(const std::vector<common::TrafficSelector>& list, std::uint32_t& out) {
  if (list.size() != 1 || !list[0].start.is_v4() || list[0].start != list[0].end) return false;
  out = list[0].start.v4_host();
  return true;
}

}  // namespace

std::uint16_t ipv4_header_checksum(common::ByteSpan header) { return common::inet_checksum(header); }

std::string_view to_string(OuterError e) {
  switch (e) {
    case OuterError::malformed: return "malformed";
    case OuterError::not_esp: return "not_esp";
    case OuterError::fragment: return "fragment";
  }
  return "unknown";
}

Encap encap_ipv4(Sa& sa, common::MutByteSpan buf, std::size_t offset, std::size_t length, TimePoint now) {
  Encap out;
  auto fail = [&](Drop d) {
    sa.count_drop(d);
    out.esp.drop = d;
    return out;
  };
  if (offset > buf.size() || length > buf.size() - offset) return fail(Drop::no_room);
  auto h = ip::parse_ipv4(buf.subspan(offset, length));
  // Protocol 59 would reach the peer as an ESP dummy packet (RFC 4303 §2.6) and be dropped.
  if (!h || h->is_fragment() || h->total_length <= h->header_length || h->protocol == ip::kProtoNone)
    return fail(Drop::bad_inner);
  const std::size_t ihl = h->header_length;
  const std::size_t payload = h->total_length - ihl;
  const std::size_t hdr = sa.header_size();
  if (offset < hdr) return fail(Drop::no_room);
  if (ihl + sa.encap_size(payload) > kIpv4Max) return fail(Drop::no_room);

  // The IPv4 header moves forward by the ESP header's size; Sa::encap then writes the ESP
  // header where the IPv4 header was and leaves the payload where it lies.
  std::byte* ip = buf.data() + offset - hdr;
  std::memmove(ip, buf.data() + offset, ihl);
  out.esp = sa.encap(buf, offset + ihl, payload, h->protocol, now);
  if (!out.esp.ok()) return out;  // counted by the SA
  const std::size_t total = ihl + out.esp.packet.size();
  ip[9] = std::byte{ip::kProtoEsp};
  store16(ip + 2, static_cast<std::uint16_t>(total));
  store16(ip + 10, 0);
  store16(ip + 10, ipv4_header_checksum(common::ByteSpan(ip, ihl)));
  out.ipv4 = common::MutByteSpan(ip, total);
  return out;
}

OuterResult parse_outer(common::ByteSpan ipv4) {
  OuterResult r;
  auto h = ip::parse_ipv4(ipv4);
  if (!h) return r;
  if (h->protocol != ip::kProtoEsp) {
    r.error = OuterError::not_esp;
    return r;
  }
  if (h->is_fragment()) {
    r.error = OuterError::fragment;
    return r;
  }
  r.ok = true;
  r.outer.header = *h;
  r.outer.esp_offset = h->header_length;
  r.outer.esp_length = h->total_length - h->header_length;
  return r;
}

common::MutByteSpan prepend_ipv4(Sa& sa, common::MutByteSpan buf, common::MutByteSpan payload,
                                 std::uint8_t next_header, const InnerFields& f) {
  const std::byte* lo = buf.data();
  const std::byte* hi = buf.data() + buf.size();
  if (payload.data() < lo || payload.data() > hi || payload.size() > static_cast<std::size_t>(hi - payload.data()) ||
      static_cast<std::size_t>(payload.data() - lo) < kIpv4Header || payload.size() + kIpv4Header > kIpv4Max) {
    sa.count_drop(Drop::no_room);
    return {};
  }
  std::uint32_t src = f.outer_src, dst = f.outer_dst, s = 0, d = 0;
  if (single_address(sa.remote_ts(), s) && single_address(sa.local_ts(), d)) {
    src = s;
    dst = d;
  }
  ip::Flow flow;
  flow.src = common::IpAddr::v4(src);
  flow.dst = common::IpAddr::v4(dst);
  flow.protocol = next_header;
  flow.ports_known = ip::read_ports(next_header, payload, flow.src_port, flow.dst_port);
  if (!sa.policy_allows(flow)) {
    sa.count_drop(Drop::policy);
    return {};
  }
  std::byte* p = payload.data() - kIpv4Header;
  const std::size_t total = kIpv4Header + payload.size();
  p[0] = std::byte{0x45};
  p[1] = std::byte{f.tos};
  store16(p + 2, static_cast<std::uint16_t>(total));
  store32(p + 4, 0);  // identification, flags, fragment offset: a whole packet
  p[8] = std::byte{f.ttl};
  p[9] = std::byte{next_header};
  store16(p + 10, 0);
  store32(p + 12, src);
  store32(p + 16, dst);
  store16(p + 10, ipv4_header_checksum(common::ByteSpan(p, kIpv4Header)));
  return common::MutByteSpan(p, total);
}

}  // namespace esp::transport
