// libFuzzer target for tun/offload: the virtio_net_hdr parser, partial-checksum
// completion, TSO/USO segmentation and GRO-like coalescing (TCP and UDP). Input: a virtio
// header (10 bytes), then a packet. Checks the contracts the data path relies on: every
// segment fits the size it announced, carries a valid IPv4 header checksum and TCP or UDP
// checksum (and a UDP length that is its own), the
// segments' payloads add up to the super-packet's, and coalescing the segments gives back
// exactly those bytes (every part inside the segments it was given, nothing lost).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/bytes.h"
#include "tun/offload.h"

namespace off = tun::offload;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool l4_ok(common::ByteSpan ip) {
  const std::size_t ihl = (std::to_integer<unsigned>(ip[0]) & 15) * 4;
  const auto proto = std::to_integer<std::uint8_t>(ip[9]);
  const auto len = static_cast<std::uint16_t>(ip.size() - ihl);
  if (proto == 17 && (std::to_integer<unsigned>(ip[ihl + 4]) << 8 | std::to_integer<unsigned>(ip[ihl + 5])) != len)
    return false;
  std::uint32_t s = off::pseudo_header_sum(ip.subspan(12, 4), ip.subspan(16, 4), proto, len);
  return off::csum_fold(off::csum_add(s, ip.subspan(ihl))) == 0xffff;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const common::ByteSpan in = common::as_bytes(data, size);
  auto h = off::parse_vnet_hdr(in);
  if (!h) {
    check(size < off::kVnetHdrSize);
    return 0;
  }
  std::array<std::byte, off::kVnetHdrSize> wire;
  off::serialize_vnet_hdr(*h, wire);
  check(std::memcmp(wire.data(), data, off::kVnetHdrSize) == 0);
  common::Bytes pkt(in.begin() + off::kVnetHdrSize, in.end());

  common::Bytes copy = pkt;
  if (off::complete_checksum(common::MutByteSpan(copy), *h).ok()) check(copy.size() == pkt.size());

  auto seg = off::Segmenter::create(pkt, *h);
  if (!seg) return 0;
  check(seg->count() >= 1);
  std::vector<common::Bytes> segs;
  std::size_t payload = 0;
  for (std::size_t i = 0; i < seg->count() && i < 2048; ++i) {
    common::Bytes b(seg->segment_size(i));
    auto n = seg->write(i, common::MutByteSpan(b));
    check(n.ok() && *n == b.size());
    check(!seg->write(i, common::MutByteSpan(b).first(b.size() - 1)).ok());
    const std::size_t ihl = (std::to_integer<unsigned>(b[0]) & 15) * 4;
    check(off::csum_fold(off::csum_add(0, common::ByteSpan(b).first(ihl))) == 0xffff);
    check(l4_ok(b));
    payload += b.size() - seg->header_size();
    segs.push_back(std::move(b));
  }
  if (seg->count() <= 2048) check(payload == pkt.size() - seg->header_size());

  // Coalesce the segments: the output joins back to the same payload bytes.
  off::Coalescer c;
  c.set_udp(true);
  std::size_t out_payload = 0, parts = 0;
  auto emit = [&](const off::TunWrite& w) {
    check(!w.parts.empty());
    for (std::size_t i = 0; i < w.parts.size(); ++i) {
      bool inside = false;
      for (const auto& s : segs)
        if (w.parts[i].data() >= s.data() && w.parts[i].data() + w.parts[i].size() <= s.data() + s.size())
          inside = true;
      check(inside);
    }
    parts += w.parts.size();
    std::size_t len = 0;
    for (auto p : w.parts) len += p.size();
    if (w.hdr.gso_type != off::kGsoNone) {
      check(len <= off::Coalescer::kMaxTotal);
      check(w.hdr.hdr_len == seg->header_size());
    }
    out_payload += len - seg->header_size();
  };
  for (auto& s : segs) c.add(common::MutByteSpan(s), emit);
  c.flush(emit);
  check(parts == segs.size());
  check(out_payload == payload);
  return 0;
}
