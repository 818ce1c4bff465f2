// Minimal IPv4 header codec (RFC 791 §3.1) for building and checking the outer and inner
// packets of a GRE tunnel, and the PIM packets sent through it. Header-only so pim/ can
// use it without linking gre/ (esp/ keeps its own minimal parser).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |Type of Service|          Total Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Identification        |Flags|      Fragment Offset    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Time to Live |    Protocol   |         Header Checksum       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Source Address                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Addresses are host-order std::uint32_t here (10.44.6.1 == 0x0a2c0601); common::IpAddr
// converts with v4_host() / IpAddr::v4().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/bytes.h"
#include "common/checksum.h"
#include "common/result.h"

namespace gre {

inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoGre = 47;
inline constexpr std::uint8_t kIpProtoPim = 103;
inline constexpr std::size_t kIpv4HeaderSize = 20;  // without options
inline constexpr std::uint16_t kIpv4FlagDf = 0x4000;
inline constexpr std::uint16_t kIpv4FlagMf = 0x2000;
inline constexpr std::uint16_t kIpv4OffsetMask = 0x1fff;

// The Internet checksum (RFC 1071) lives in common/checksum.h.
using common::inet_checksum;
using common::ones_sum;

struct Ipv4Header {
  std::uint8_t tos = 0;
  std::uint16_t total_length = 0;  // filled in by write_ipv4_header from the payload size
  std::uint16_t id = 0;
  std::uint16_t flags_fragment = 0;  // flags (DF/MF) | fragment offset in 8-byte units
  std::uint8_t ttl = 64;
  std::uint8_t protocol = 0;
  std::uint16_t checksum = 0;  // as received (parse) or as computed (write)
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
  std::uint8_t header_length = kIpv4HeaderSize;  // bytes, options included

  bool is_fragment() const { return (flags_fragment & (kIpv4FlagMf | kIpv4OffsetMask)) != 0; }
};

struct Ipv4View {
  Ipv4Header header;
  common::ByteSpan options;  // empty unless IHL > 5
  common::ByteSpan payload;  // exactly total_length - header_length bytes
};

// The fixed 20-byte header as it stands, unchecked: no version, IHL, length or checksum
// test (header_length is IHL * 4 as written). For decisions taken before a parser that
// checks (gre/dispatch.h); anything that reads past the fixed header uses parse_ipv4.
inline common::Result<Ipv4Header> peek_ipv4(common::ByteSpan pkt) {
  if (pkt.size() < kIpv4HeaderSize) return common::make_error(common::Errc::truncated, "ipv4: shorter than 20 bytes");
  common::Reader r(pkt);
  Ipv4Header h;
  h.header_length = static_cast<std::uint8_t>((r.u8() & 0x0f) * 4);
  h.tos = r.u8();
  h.total_length = r.u16();
  h.id = r.u16();
  h.flags_fragment = r.u16();
  h.ttl = r.u8();
  h.protocol = r.u8();
  h.checksum = r.u16();
  h.src = r.u32();
  h.dst = r.u32();
  return h;
}

// Parses and checks an IPv4 header: version 4, IHL >= 5, total length within the buffer
// (trailing bytes past total length, e.g. Ethernet padding, are ignored), header checksum.
inline common::Result<Ipv4View> parse_ipv4(common::ByteSpan pkt) {
  using common::Errc;
  using common::make_error;
  auto h = peek_ipv4(pkt);
  if (!h) return h.error();
  if ((std::to_integer<std::uint8_t>(pkt[0]) >> 4) != 4) return make_error(Errc::malformed, "ipv4: version is not 4");
  const std::size_t hlen = h->header_length;
  if (hlen < kIpv4HeaderSize) return make_error(Errc::malformed, "ipv4: IHL below 5");
  Ipv4View v;
  v.header = *h;
  if (pkt.size() < hlen) return make_error(Errc::truncated, "ipv4: options cut short");
  if (v.header.total_length < hlen) return make_error(Errc::malformed, "ipv4: total length below header length");
  if (pkt.size() < v.header.total_length) return make_error(Errc::truncated, "ipv4: shorter than total length");
  if (ones_sum(pkt.first(hlen)) != 0xffff) return make_error(Errc::integrity, "ipv4: bad header checksum");
  v.options = pkt.subspan(kIpv4HeaderSize, hlen - kIpv4HeaderSize);
  v.payload = pkt.subspan(hlen, v.header.total_length - hlen);
  return v;
}

// Writes a 20-byte header (no options) into out[0..20) for a payload of payload_len bytes;
// computes total length and checksum and stores them back into h. False when out is too
// small or the packet would exceed 65535 bytes.
inline bool write_ipv4_header(common::MutByteSpan out, Ipv4Header& h, std::size_t payload_len) {
  if (out.size() < kIpv4HeaderSize || payload_len > 0xffff - kIpv4HeaderSize) return false;
  h.header_length = kIpv4HeaderSize;
  h.total_length = static_cast<std::uint16_t>(kIpv4HeaderSize + payload_len);
  common::Writer w(out.first(kIpv4HeaderSize));
  w.u8(0x45);
  w.u8(h.tos);
  w.u16(h.total_length);
  w.u16(h.id);
  w.u16(h.flags_fragment);
  w.u8(h.ttl);
  w.u8(h.protocol);
  w.u16(0);
  w.u32(h.src);
  w.u32(h.dst);
  h.checksum = inet_checksum(out.first(kIpv4HeaderSize));
  w.patch_u16(10, h.checksum);
  return w.ok();
}

// Convenience for control-plane packets (not the data path): header + payload in a vector.
inline common::Bytes build_ipv4(Ipv4Header h, common::ByteSpan payload) {
  common::Bytes out(kIpv4HeaderSize + payload.size());
  if (!write_ipv4_header(out, h, payload.size())) return {};
  std::copy(payload.begin(), payload.end(), out.begin() + kIpv4HeaderSize);
  return out;
}

// Host-order address from four octets, for readable constants: ipv4(10, 44, 6, 1).
constexpr std::uint32_t ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (std::uint32_t(a) << 24) | (std::uint32_t(b) << 16) | (std::uint32_t(c) << 8) | d;
}

}  // namespace gre
