#include "pim/codec.h"

#include "gre/ipv4.h"

namespace pim {

using common::Errc;
using common::make_error;

namespace {

constexpr std::size_t kRegisterHeaderSize = 8;
constexpr std::size_t kEncodedUnicastSize = 6;
constexpr std::size_t kEncodedGroupSize = 8;
constexpr std::size_t kEncodedSourceSize = 8;

// Reads the family/encoding pair of an encoded address; IPv4 native only.
common::Status read_family(common::Reader& r) {
  const std::uint8_t family = r.u8();
  const std::uint8_t encoding = r.u8();
  if (!r.ok()) return make_error(Errc::truncated, "pim: encoded address cut short");
  if (family != kFamilyIpv4) return make_error(Errc::unsupported, "pim: address family is not IPv4");
  if (encoding != kEncodingNative) return make_error(Errc::unsupported, "pim: non-native address encoding");
  return {};
}

void write_source(common::Writer& w, const EncodedSource& s) {
  w.u8(kFamilyIpv4);
  w.u8(kEncodingNative);
  w.u8(s.flags & 0x07);
  w.u8(s.mask_len);
  w.u32(s.address);
}

void write_header(common::Writer& w, MessageType t) {
  w.u8(static_cast<std::uint8_t>((kPimVersion << 4) | static_cast<std::uint8_t>(t)));
  w.u8(0);
  w.u16(0);  // checksum, patched once the message is complete
}

void finish(common::Bytes& msg) {
  const std::uint16_t c = compute_checksum(msg);
  msg[2] = std::byte(c >> 8);
  msg[3] = std::byte(c & 0xff);
}

}  // namespace

std::uint16_t compute_checksum(common::ByteSpan pim) {
  if (pim.size() < kPimHeaderSize) return 0;
  const std::uint8_t type = common::u8(pim)[0] & 0x0f;
  common::ByteSpan covered =
      (type == static_cast<std::uint8_t>(MessageType::register_) && pim.size() >= kRegisterHeaderSize)
          ? pim.first(kRegisterHeaderSize)
          : pim;
  // Sum with the checksum field (bytes 2..3) skipped, i.e. taken as zero.
  return gre::inet_checksum(covered.subspan(4), gre::ones_sum(covered.first(2)));
}

std::size_t JoinPrune::encoded_size() const {
  std::size_t n = kPimHeaderSize + kEncodedUnicastSize + 4;
  for (const auto& g : groups)
    n += kEncodedGroupSize + 4 + kEncodedSourceSize * (g.joins.size() + g.prunes.size());
  return n;
}

common::Result<Hello> parse_hello_body(common::ByteSpan body) {
  common::Reader r(body);
  Hello h;
  while (!r.empty()) {
    const std::uint16_t type = r.u16();
    const std::uint16_t len = r.u16();
    common::Reader v = r.sub(len);
    if (!r.ok()) return make_error(Errc::truncated, "pim hello: option cut short");
    switch (type) {
      case kOptHoldtime:
        if (len != 2) return make_error(Errc::malformed, "pim hello: holdtime length is not 2");
        h.holdtime = v.u16();
        break;
      case kOptLanPruneDelay: {
        if (len != 4) return make_error(Errc::malformed, "pim hello: LAN prune delay length is not 4");
        const std::uint16_t pd = v.u16();
        LanPruneDelay d;
        d.t_bit = (pd & 0x8000) != 0;
        d.propagation_delay_ms = pd & 0x7fff;
        d.override_interval_ms = v.u16();
        h.lan_prune_delay = d;
        break;
      }
      case kOptDrPriority:
        if (len != 4) return make_error(Errc::malformed, "pim hello: DR priority length is not 4");
        h.dr_priority = v.u32();
        break;
      case kOptGenerationId:
        if (len != 4) return make_error(Errc::malformed, "pim hello: generation ID length is not 4");
        h.generation_id = v.u32();
        break;
      default:
        ++h.unknown_options;  // RFC 7761 §4.9.2: unknown options are ignored
        break;
    }
  }
  return h;
}

common::Result<JoinPrune> parse_join_prune_body(common::ByteSpan body) {
  common::Reader r(body);
  JoinPrune jp;
  if (auto s = read_family(r); !s) return s.error();
  jp.upstream_neighbor = r.u32();
  (void)r.u8();  // reserved
  const std::uint8_t ngroups = r.u8();
  jp.holdtime = r.u16();
  if (!r.ok()) return make_error(Errc::truncated, "pim join/prune: header cut short");
  // Each group needs at least 12 bytes: reject impossible counts before reserving.
  if (std::size_t(ngroups) * (kEncodedGroupSize + 4) > r.remaining())
    return make_error(Errc::truncated, "pim join/prune: fewer groups than announced");
  jp.groups.reserve(ngroups);
  for (unsigned gi = 0; gi < ngroups; ++gi) {
    GroupEntry g;
    if (auto s = read_family(r); !s) return s.error();
    g.group_flags = r.u8();
    g.mask_len = r.u8();
    g.group = r.u32();
    const std::uint16_t njoin = r.u16();
    const std::uint16_t nprune = r.u16();
    if (!r.ok()) return make_error(Errc::truncated, "pim join/prune: group cut short");
    if (g.mask_len > 32) return make_error(Errc::malformed, "pim join/prune: group mask length above 32");
    if ((std::size_t(njoin) + nprune) * kEncodedSourceSize > r.remaining())
      return make_error(Errc::truncated, "pim join/prune: fewer sources than announced");
    for (unsigned si = 0; si < unsigned(njoin) + nprune; ++si) {
      EncodedSource s;
      if (auto st = read_family(r); !st) return st.error();
      s.flags = r.u8();
      s.mask_len = r.u8();
      s.address = r.u32();
      if (!r.ok()) return make_error(Errc::truncated, "pim join/prune: source cut short");
      if (s.flags & 0xf8) return make_error(Errc::malformed, "pim join/prune: reserved source flags set");
      if (s.mask_len > 32) return make_error(Errc::malformed, "pim join/prune: source mask length above 32");
      (si < njoin ? g.joins : g.prunes).push_back(s);
    }
    jp.groups.push_back(std::move(g));
  }
  if (!r.empty()) return make_error(Errc::malformed, "pim join/prune: trailing bytes");
  return jp;
}

common::Result<Message> parse_message(common::ByteSpan pim) {
  common::Reader r(pim);
  Message m;
  const std::uint8_t vt = r.u8();
  m.header.version = vt >> 4;
  m.header.type = vt & 0x0f;
  m.header.reserved = r.u8();
  m.header.checksum = r.u16();
  if (!r.ok()) return make_error(Errc::truncated, "pim: shorter than the 4-byte header");
  if (m.header.version != kPimVersion) return make_error(Errc::unsupported, "pim: version is not 2");
  const std::uint16_t want = compute_checksum(pim);
  if (want != m.header.checksum) {
    // §4.9: a Register whose checksum covers the whole message is accepted too.
    const bool reg = m.header.type == static_cast<std::uint8_t>(MessageType::register_);
    if (!reg || gre::ones_sum(pim) != 0xffff) return make_error(Errc::integrity, "pim: bad checksum");
  }
  common::ByteSpan body = r.rest();
  switch (static_cast<MessageType>(m.header.type)) {
    case MessageType::hello: {
      auto h = parse_hello_body(body);
      if (!h) return h.error();
      m.body = std::move(*h);
      break;
    }
    case MessageType::join_prune: {
      auto jp = parse_join_prune_body(body);
      if (!jp) return jp.error();
      m.body = std::move(*jp);
      break;
    }
    default:
      m.body = body;
      break;
  }
  return m;
}

common::Bytes build_hello(const Hello& h) {
  common::Bytes out;
  out.reserve(kPimHeaderSize + 6 + 8 + 8 + 8);
  common::Writer w(out);
  write_header(w, MessageType::hello);
  if (h.holdtime) {
    w.u16(kOptHoldtime);
    w.u16(2);
    w.u16(*h.holdtime);
  }
  if (h.lan_prune_delay) {
    w.u16(kOptLanPruneDelay);
    w.u16(4);
    w.u16(static_cast<std::uint16_t>((h.lan_prune_delay->t_bit ? 0x8000 : 0) |
                                     (h.lan_prune_delay->propagation_delay_ms & 0x7fff)));
    w.u16(h.lan_prune_delay->override_interval_ms);
  }
  if (h.dr_priority) {
    w.u16(kOptDrPriority);
    w.u16(4);
    w.u32(*h.dr_priority);
  }
  if (h.generation_id) {
    w.u16(kOptGenerationId);
    w.u16(4);
    w.u32(*h.generation_id);
  }
  finish(out);
  return out;
}

common::Bytes build_join_prune(const JoinPrune& jp) {
  common::Bytes out;
  out.reserve(jp.encoded_size());
  common::Writer w(out);
  write_header(w, MessageType::join_prune);
  w.u8(kFamilyIpv4);
  w.u8(kEncodingNative);
  w.u32(jp.upstream_neighbor);
  w.u8(0);
  w.u8(static_cast<std::uint8_t>(jp.groups.size()));  // callers keep it <= 255
  w.u16(jp.holdtime);
  for (const auto& g : jp.groups) {
    w.u8(kFamilyIpv4);
    w.u8(kEncodingNative);
    w.u8(g.group_flags);
    w.u8(g.mask_len);
    w.u32(g.group);
    w.u16(static_cast<std::uint16_t>(g.joins.size()));
    w.u16(static_cast<std::uint16_t>(g.prunes.size()));
    for (const auto& s : g.joins) write_source(w, s);
    for (const auto& s : g.prunes) write_source(w, s);
  }
  finish(out);
  return out;
}

common::Bytes build_ipv4_packet(std::uint32_t src, common::ByteSpan pim, std::uint16_t ip_id) {
  gre::Ipv4Header h;
  h.tos = 0xc0;  // internetwork control, as routers send their control traffic
  h.id = ip_id;
  h.ttl = 1;
  h.protocol = gre::kIpProtoPim;
  h.src = src;
  h.dst = kAllPimRouters;
  return gre::build_ipv4(h, pim);
}

}  // namespace pim
