#include "gre/header.h"

#include <algorithm>

#include "gre/ipv4.h"

namespace gre {

using common::Errc;
using common::make_error;

common::Result<GreView> parse_gre(common::ByteSpan gre) {
  common::Reader r(gre);
  const std::uint16_t flags = r.u16();
  const std::uint16_t proto = r.u16();
  if (!r.ok()) return make_error(Errc::truncated, "gre: shorter than 4 bytes");
  if ((flags & kGreVersionMask) != 0) return make_error(Errc::unsupported, "gre: version is not 0");
  if (flags & (kGreFlagR | kGreFlagStrict))
    return make_error(Errc::unsupported, "gre: RFC 1701 routing bits set");
  GreView v;
  v.header.protocol = proto;
  v.header.checksum_present = (flags & kGreFlagC) != 0;
  if (v.header.checksum_present) {
    v.header.checksum = r.u16();
    (void)r.u16();  // Reserved1
  }
  if (flags & kGreFlagK) v.header.key = r.u32();
  if (flags & kGreFlagS) v.header.sequence = r.u32();
  if (!r.ok()) return make_error(Errc::truncated, "gre: optional fields cut short");
  if (v.header.checksum_present && ones_sum(gre) != 0xffff)
    return make_error(Errc::integrity, "gre: bad checksum");
  v.payload = r.rest();
  return v;
}

bool write_gre(common::MutByteSpan pkt, GreHeader& h) {
  const std::size_t n = h.size();
  if (pkt.size() < n) return false;
  std::uint16_t flags = 0;
  if (h.checksum_present) flags |= kGreFlagC;
  if (h.key) flags |= kGreFlagK;
  if (h.sequence) flags |= kGreFlagS;
  common::Writer w(pkt.first(n));
  w.u16(flags);
  w.u16(h.protocol);
  if (h.checksum_present) {
    w.u16(0);
    w.u16(0);
  }
  if (h.key) w.u32(*h.key);
  if (h.sequence) w.u32(*h.sequence);
  if (!w.ok()) return false;
  if (h.checksum_present) {
    h.checksum = inet_checksum(pkt);
    w.patch_u16(4, h.checksum);
  }
  return w.ok();
}

common::Bytes build_gre(GreHeader h, common::ByteSpan payload) {
  common::Bytes out(h.size() + payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<std::ptrdiff_t>(h.size()));
  if (!write_gre(out, h)) return {};
  return out;
}

}  // namespace gre
