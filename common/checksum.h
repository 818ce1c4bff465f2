// The Internet checksum (RFC 1071), shared by the IPv4, GRE, PIM, UDP and ESP transport
// codecs. (tun/offload.h keeps its own wide-word summing for the TSO hot path.)
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace common {

// One's-complement sum of 16-bit big-endian words, folded to 16 bits, on top of `acc`; the
// last span of a chain may have odd length.
inline std::uint32_t ones_sum(ByteSpan data, std::uint32_t acc = 0) {
  const std::uint8_t* p = u8(data);
  std::size_t n = data.size();
  std::uint64_t sum = acc;
  while (n >= 2) {
    sum += (std::uint32_t(p[0]) << 8) | p[1];
    p += 2;
    n -= 2;
  }
  if (n) sum += std::uint32_t(p[0]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum);
}

// The value to store in a checksum field that was zero while summing. A span that already
// holds its correct checksum sums to 0xffff.
inline std::uint16_t inet_checksum(ByteSpan data, std::uint32_t acc = 0) {
  return static_cast<std::uint16_t>(~ones_sum(data, acc) & 0xffff);
}

}  // namespace common
