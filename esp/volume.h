// CHILD_SA volume limits (RFC 4301 §4.4.2.1: SA lifetime in bytes/packets, soft and hard;
// strongSwan's lifebytes/lifepackets) and the sequence-number space (RFC 4303 §3.3.3: a
// sender without ESN must not let the 32-bit counter cycle, so the SA is rekeyed first).
//
// Sans-I/O and per-SA, not per packet: the driver asks where a pair of SAs stands now and
// then (its timer), tells the IKE engine once per crossed limit, and the SA's own counters
// stay as they are.
#pragma once

#include <cstdint>
#include <string_view>

namespace esp {

class Sa;

struct VolumeLimits {
  std::uint64_t soft_bytes = 0, hard_bytes = 0;      // inner bytes, either direction; 0 = none
  std::uint64_t soft_packets = 0, hard_packets = 0;  // packets, either direction; 0 = none
};

// Without ESN, the outbound SA asks for a rekey this many sequence numbers before 2^32 - 1
// (at 1 Mpps that is about 16 s of traffic) and is hard-expired at the last one.
inline constexpr std::uint64_t kSeqSoftMargin = 1ULL << 24;

enum class VolumeState : std::uint8_t { ok, soft, hard };

struct VolumeCheck {
  VolumeState state = VolumeState::ok;
  std::string_view what;  // "bytes", "packets", "sequence numbers" (empty when ok)
};

// The larger of the inbound and outbound counters against the limits, and the outbound
// SA's sequence number against the 32-bit space when it has no ESN. Either SA may be null
// (e.g. an outbound SA held back during a rekey). Hard wins over soft.
VolumeCheck check_volume(const VolumeLimits& limits, const Sa* in, const Sa* out);

}  // namespace esp
