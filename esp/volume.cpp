#include "esp/volume.h"

#include <algorithm>

#include "esp/sa.h"

namespace esp {

namespace {
constexpr std::uint64_t kSeqLast = 0xffffffffULL;

void raise(VolumeCheck& c, VolumeState s, std::string_view what) {
  if (static_cast<int>(s) > static_cast<int>(c.state)) c = VolumeCheck{s, what};
}

void against(VolumeCheck& c, std::uint64_t value, std::uint64_t soft, std::uint64_t hard, std::string_view what) {
  if (hard && value >= hard) raise(c, VolumeState::hard, what);
  else if (soft && value >= soft) raise(c, VolumeState::soft, what);
}
}  // namespace

VolumeCheck check_volume(const VolumeLimits& limits, const Sa* in, const Sa* out) {
  VolumeCheck c;
  std::uint64_t bytes = 0, packets = 0;
  for (const Sa* sa : {in, out}) {
    if (!sa) continue;
    bytes = std::max(bytes, sa->counters().bytes);
    packets = std::max(packets, sa->counters().packets);
  }
  against(c, bytes, limits.soft_bytes, limits.hard_bytes, "bytes");
  against(c, packets, limits.soft_packets, limits.hard_packets, "packets");
  if (out && !out->esn()) against(c, out->seq_out(), kSeqLast - kSeqSoftMargin, kSeqLast, "sequence numbers");
  return c;
}

}  // namespace esp
