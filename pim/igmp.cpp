#include "pim/igmp.h"

#include <algorithm>

#include "gre/ipv4.h"

namespace pim::igmp {

using common::Errc;
using common::make_error;

namespace {

constexpr std::size_t kIpv4HeaderWithRa = gre::kIpv4HeaderSize + 4;

// Walks the IPv4 option list (RFC 791 §3.1): End of Option List (0) stops it, No
// Operation (1) is one byte, every other option is type, length (>= 2, counting both),
// value. False when an option runs past the header.
bool walk_options(common::ByteSpan opts, bool& router_alert) {
  const std::uint8_t* p = common::u8(opts);
  std::size_t i = 0;
  while (i < opts.size()) {
    const std::uint8_t type = p[i];
    if (type == 0) break;
    if (type == 1) {
      ++i;
      continue;
    }
    if (opts.size() - i < 2) return false;
    const std::uint8_t len = p[i + 1];
    if (len < 2 || len > opts.size() - i) return false;
    if (type == kOptRouterAlert && len == 4) router_alert = true;
    i += len;
  }
  return true;
}

std::vector<std::uint32_t> read_addresses(common::Reader& r, std::size_t n) {
  std::vector<std::uint32_t> out;
  out.reserve(n);  // callers checked n * 4 <= remaining
  for (std::size_t i = 0; i < n; ++i) out.push_back(r.u32());
  return out;
}

common::Status parse_query(common::Reader& r, std::size_t size, std::uint8_t code, Message& m) {
  Query& q = m.query;
  q.group = m.group;
  if (size == kHeaderSize) {  // §7.1: v1 (code 0) or v2
    q.version = code == 0 ? 1 : 2;
    q.max_resp_tenths = code;
    q.qrv = 0;
    q.qqi_s = 0;
    return {};
  }
  if (size < kV3QueryMinSize) return make_error(Errc::malformed, "igmp: query of 9 to 11 bytes");
  q.version = 3;
  q.max_resp_tenths = decode_code(code);
  const std::uint8_t flags = r.u8();
  q.suppress = (flags & 0x08) != 0;
  q.qrv = flags & 0x07;
  q.qqi_s = decode_code(r.u8());
  const std::uint16_t n = r.u16();
  if (std::size_t(n) * 4 > r.remaining()) return make_error(Errc::truncated, "igmp: fewer query sources than announced");
  q.sources = read_addresses(r, n);
  return {};  // §4.1.10: anything after the sources is ignored
}

common::Status parse_v3_report(common::Reader& r, Message& m) {
  r.skip(2);  // reserved
  const std::uint16_t n = r.u16();
  if (!r.ok()) return make_error(Errc::truncated, "igmp: v3 report header cut short");
  // Each record takes at least 8 bytes: reject impossible counts before reserving.
  if (std::size_t(n) * kRecordHeaderSize > r.remaining())
    return make_error(Errc::truncated, "igmp: fewer group records than announced");
  m.records.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    const std::uint8_t type = r.u8();
    const std::uint8_t aux_words = r.u8();
    const std::uint16_t nsrc = r.u16();
    const std::uint32_t group = r.u32();
    if (!r.ok()) return make_error(Errc::truncated, "igmp: group record cut short");
    const std::size_t body = (std::size_t(nsrc) + aux_words) * 4;
    if (body > r.remaining()) return make_error(Errc::truncated, "igmp: group record sources or aux data cut short");
    if (type < 1 || type > 6) {  // §4.2.12: unknown record types are ignored
      r.skip(body);
      ++m.skipped_records;
      continue;
    }
    Record rec;
    rec.type = static_cast<RecordType>(type);
    rec.group = group;
    rec.sources = read_addresses(r, nsrc);
    r.skip(std::size_t(aux_words) * 4);
    m.records.push_back(std::move(rec));
  }
  return {};  // §4.2.11: bytes after the last record are ignored
}

// The 24-byte IPv4 header with Router Alert in front of an IGMP message whose checksum
// field (bytes 2..3) is still zero; fills in both checksums.
common::Bytes wrap(std::uint32_t src, std::uint32_t dst, const common::Bytes& igmp, std::uint16_t ip_id) {
  if (igmp.size() > 0xffff - kIpv4HeaderWithRa) return {};
  common::Bytes out;
  out.reserve(kIpv4HeaderWithRa + igmp.size());
  common::Writer w(out);
  w.u8(0x46);  // version 4, IHL 6
  w.u8(0xc0);  // TOS: internetwork control
  w.u16(static_cast<std::uint16_t>(kIpv4HeaderWithRa + igmp.size()));
  w.u16(ip_id);
  w.u16(0);  // flags and fragment offset
  w.u8(1);   // TTL
  w.u8(kIpProtoIgmp);
  w.u16(0);  // header checksum, patched below
  w.u32(src);
  w.u32(dst);
  w.u8(kOptRouterAlert);
  w.u8(4);
  w.u16(0);  // Router Alert value 0: "routers shall examine packet"
  w.patch_u16(10, gre::inet_checksum(out));
  w.bytes(igmp);
  w.patch_u16(kIpv4HeaderWithRa + 2, gre::inet_checksum(common::ByteSpan(igmp)));
  return out;
}

void put_header(common::Writer& w, Type t, std::uint8_t code, std::uint32_t group) {
  w.u8(static_cast<std::uint8_t>(t));
  w.u8(code);
  w.u16(0);  // checksum, filled in by wrap()
  w.u32(group);
}

}  // namespace

std::uint8_t encode_code(unsigned value) {
  if (value < 128) return static_cast<std::uint8_t>(value);
  if (value >= kMaxCodeValue) return 0xff;
  unsigned exp = 0;
  while ((value >> (exp + 3)) > 0x1f) ++exp;  // the mantissa with its hidden bit: 16..31
  const unsigned mant = (value >> (exp + 3)) & 0x0f;
  return static_cast<std::uint8_t>(0x80 | (exp << 4) | mant);
}

unsigned decode_code(std::uint8_t code) {
  if (code < 128) return code;
  const unsigned exp = (code >> 4) & 0x07;
  const unsigned mant = code & 0x0f;
  return (mant | 0x10) << (exp + 3);
}

IpReject check_ipv4(common::ByteSpan ipv4, IpInfo& out) {
  auto ip = gre::parse_ipv4(ipv4);
  if (!ip) return IpReject::bad_header;
  bool ra = false;
  if (!walk_options(ip->options, ra)) return IpReject::bad_header;
  if (ip->header.protocol != kIpProtoIgmp) return IpReject::not_igmp;
  if (ip->header.is_fragment()) return IpReject::fragment;
  out.src = ip->header.src;
  out.dst = ip->header.dst;
  out.router_alert = ra;
  out.igmp = ip->payload;
  return IpReject::none;
}

common::Result<Message> parse_igmp(common::ByteSpan igmp) {
  if (igmp.size() < kHeaderSize) return make_error(Errc::truncated, "igmp: shorter than 8 bytes");
  if (gre::ones_sum(igmp) != 0xffff) return make_error(Errc::integrity, "igmp: bad checksum");
  common::Reader r(igmp);
  Message m;
  const std::uint8_t type = r.u8();
  const std::uint8_t code = r.u8();
  r.skip(2);  // checksum, verified above
  m.group = r.u32();
  common::Status st;
  switch (type) {
    case static_cast<std::uint8_t>(Type::query):
      m.type = Type::query;
      st = parse_query(r, igmp.size(), code, m);
      break;
    case static_cast<std::uint8_t>(Type::v1_report):
    case static_cast<std::uint8_t>(Type::v2_report):
    case static_cast<std::uint8_t>(Type::v2_leave):
      m.type = static_cast<Type>(type);  // RFC 2236 §2.5: bytes past the 8 are ignored
      break;
    case static_cast<std::uint8_t>(Type::v3_report):
      m.type = Type::v3_report;
      m.group = 0;  // bytes 4..7 are reserved and the record count
      r = common::Reader(igmp.subspan(4));
      st = parse_v3_report(r, m);
      break;
    default:
      return make_error(Errc::unsupported, "igmp: unknown message type");
  }
  if (!st) return st.error();
  return m;
}

common::Result<Message> parse(common::ByteSpan ipv4) {
  IpInfo ip;
  switch (check_ipv4(ipv4, ip)) {
    case IpReject::none: break;
    case IpReject::bad_header: return make_error(Errc::malformed, "igmp: bad IPv4 header");
    case IpReject::not_igmp: return make_error(Errc::unsupported, "igmp: IPv4 protocol is not 2");
    case IpReject::fragment: return make_error(Errc::unsupported, "igmp: IPv4 fragment");
  }
  auto m = parse_igmp(ip.igmp);
  if (!m) return m.error();
  m->src = ip.src;
  m->dst = ip.dst;
  m->router_alert = ip.router_alert;
  return m;
}

common::Bytes build_query(std::uint32_t src, const Query& q, std::uint16_t ip_id) {
  common::Bytes igmp;
  common::Writer w(igmp);
  const std::uint32_t dst = q.group == 0 ? kAllSystems : q.group;
  if (q.version == 1 || q.version == 2) {
    const unsigned code = q.version == 1 ? 0 : std::min(q.max_resp_tenths, 255u);
    put_header(w, Type::query, static_cast<std::uint8_t>(code), q.group);
    return wrap(src, dst, igmp, ip_id);
  }
  if (q.sources.size() > 0xffff) return {};
  igmp.reserve(kV3QueryMinSize + 4 * q.sources.size());
  put_header(w, Type::query, encode_code(q.max_resp_tenths), q.group);
  const std::uint8_t qrv = q.qrv <= 7 ? q.qrv : 0;  // §4.1.6
  w.u8(static_cast<std::uint8_t>((q.suppress ? 0x08 : 0) | qrv));
  w.u8(encode_code(q.qqi_s));
  w.u16(static_cast<std::uint16_t>(q.sources.size()));
  for (std::uint32_t s : q.sources) w.u32(s);
  return wrap(src, dst, igmp, ip_id);
}

common::Bytes build_report_v3(std::uint32_t src, const std::vector<Record>& records, std::uint16_t ip_id) {
  if (records.size() > 0xffff) return {};
  common::Bytes igmp;
  common::Writer w(igmp);
  w.u8(static_cast<std::uint8_t>(Type::v3_report));
  w.u8(0);
  w.u16(0);  // checksum
  w.u16(0);  // reserved
  w.u16(static_cast<std::uint16_t>(records.size()));
  for (const Record& rec : records) {
    if (rec.sources.size() > 0xffff) return {};
    w.u8(static_cast<std::uint8_t>(rec.type));
    w.u8(0);  // aux data length: none (§4.2.10)
    w.u16(static_cast<std::uint16_t>(rec.sources.size()));
    w.u32(rec.group);
    for (std::uint32_t s : rec.sources) w.u32(s);
  }
  return wrap(src, kAllV3Routers, igmp, ip_id);
}

common::Bytes build_report_v2(std::uint32_t src, Type type, std::uint32_t group, std::uint16_t ip_id) {
  if (type != Type::v1_report && type != Type::v2_report && type != Type::v2_leave) return {};
  common::Bytes igmp;
  common::Writer w(igmp);
  put_header(w, type, 0, group);
  return wrap(src, type == Type::v2_leave ? kAllRouters : group, igmp, ip_id);
}

common::Bytes build(const Message& m, std::uint16_t ip_id) {
  switch (m.type) {
    case Type::query: return build_query(m.src, m.query, ip_id);
    case Type::v3_report: return build_report_v3(m.src, m.records, ip_id);
    default: return build_report_v2(m.src, m.type, m.group, ip_id);
  }
}

}  // namespace pim::igmp
