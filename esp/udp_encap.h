// UDP encapsulation of ESP (RFC 3948): classification of what arrives on UDP port 4500.
// The driver owns the UDP socket and header; these helpers only look at the UDP payload.
//
// RFC 3948 §2.1, ESP in UDP (the SPI is never zero):      §2.2, IKE in UDP/4500:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Src Port (4500)     |   Dest Port (4500)     |       |  UDP header (8 bytes)         |
//   |   Length              |   Checksum (0)         |       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       |  Non-ESP Marker: 0x00000000   |
//   |   ESP header (SPI, Sequence Number) ...        |       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+       |  IKE header ...               |
//
// RFC 3948 §2.3, NAT-keepalive: a UDP payload of the single byte 0xFF.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"

namespace esp::udp_encap {

inline constexpr std::uint16_t kPort = 4500;
inline constexpr std::size_t kNonEspMarkerSize = 4;
inline constexpr std::array<std::byte, 4> kNonEspMarker{};  // four zero bytes
inline constexpr std::byte kKeepalive{0xff};
inline constexpr std::size_t kEspMinHeader = 8;  // SPI + Sequence Number

enum class Kind : std::uint8_t {
  esp,        // starts with a non-zero SPI: hand to ESP decap as is
  ike,        // non-ESP marker: hand ike_message() to the IKE core
  keepalive,  // NAT-keepalive: drop silently
  invalid,    // none of the above (too short, or a zero "SPI" without room for IKE)
};

// True when the payload starts with the 4-byte non-ESP marker.
inline bool is_non_esp_marker(common::ByteSpan payload) {
  if (payload.size() < kNonEspMarkerSize) return false;
  for (std::size_t i = 0; i < kNonEspMarkerSize; ++i)
    if (payload[i] != std::byte{0}) return false;
  return true;
}

inline Kind classify(common::ByteSpan payload) {
  if (payload.size() == 1 && payload[0] == kKeepalive) return Kind::keepalive;
  if (is_non_esp_marker(payload)) return payload.size() > kNonEspMarkerSize ? Kind::ike : Kind::invalid;
  if (payload.size() >= kEspMinHeader) return Kind::esp;
  return Kind::invalid;
}

// The IKE message after the marker (empty when the payload is not Kind::ike).
inline common::ByteSpan ike_message(common::ByteSpan payload) {
  if (classify(payload) != Kind::ike) return {};
  return payload.subspan(kNonEspMarkerSize);
}

}  // namespace esp::udp_encap
