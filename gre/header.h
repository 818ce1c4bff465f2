// GRE header codec: RFC 2784 §2 (C bit, checksum, version 0) with the Key and Sequence
// Number extensions of RFC 2890 §2 (K and S bits).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |C| |K|S| Reserved0       | Ver |         Protocol Type         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      Checksum (optional)      |       Reserved1 (Optional)    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Key (optional)                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                 Sequence Number (Optional)                    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Receive rules (RFC 2784 §2.3, §2.5): Ver must be 0; bits 1 and 4 (RFC 1701's Routing
// and Strict Source Route) must be 0 since we do not implement RFC 1701; bits 5-12 are
// ignored. When C is set the checksum covers the GRE header and its payload (with the
// checksum field taken as zero) and a mismatch is rejected. Reserved1 is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/result.h"

namespace gre {

inline constexpr std::uint16_t kGreFlagC = 0x8000;
inline constexpr std::uint16_t kGreFlagR = 0x4000;  // RFC 1701 only: rejected
inline constexpr std::uint16_t kGreFlagK = 0x2000;
inline constexpr std::uint16_t kGreFlagS = 0x1000;
inline constexpr std::uint16_t kGreFlagStrict = 0x0800;  // RFC 1701 only: rejected
inline constexpr std::uint16_t kGreVersionMask = 0x0007;

inline constexpr std::uint16_t kGreProtoIpv4 = 0x0800;
// Protocol type 0 with no payload: what a Cisco keepalive's inner GRE header carries.
inline constexpr std::uint16_t kGreProtoKeepalive = 0x0000;

inline constexpr std::size_t kGreMinSize = 4;
inline constexpr std::size_t kGreMaxSize = 16;

struct GreHeader {
  bool checksum_present = false;         // C
  std::optional<std::uint32_t> key;      // K
  std::optional<std::uint32_t> sequence; // S
  std::uint16_t protocol = kGreProtoIpv4;
  std::uint16_t checksum = 0;  // as received; as computed after write_gre

  std::size_t size() const {
    return kGreMinSize + (checksum_present ? 4 : 0) + (key ? 4 : 0) + (sequence ? 4 : 0);
  }
  bool operator==(const GreHeader& o) const {
    return checksum_present == o.checksum_present && key == o.key && sequence == o.sequence &&
           protocol == o.protocol;
  }
};

struct GreView {
  GreHeader header;
  common::ByteSpan payload;  // everything after the header
};

// Parses the header at the start of `gre` (an IPv4 payload) and verifies the checksum when
// C is set. Errors: truncated; unsupported (version != 0, R or strict-route bit);
// integrity (checksum mismatch).
common::Result<GreView> parse_gre(common::ByteSpan gre);

// Writes h into pkt[0 .. h.size()); the payload must already sit at pkt[h.size() ..).
// Computes the checksum over the whole of pkt when h.checksum_present (and stores it in
// h.checksum). False when pkt is smaller than the header.
bool write_gre(common::MutByteSpan pkt, GreHeader& h);

// Header + payload in a new vector (control plane and tests).
common::Bytes build_gre(GreHeader h, common::ByteSpan payload);

}  // namespace gre
