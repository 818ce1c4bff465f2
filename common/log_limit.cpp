#include "common/log_limit.h"

namespace common {

LogLimiter::LogLimiter(std::size_t keys, Duration period, unsigned burst)
    : slots_(keys), period_(period), burst_(burst) {}

bool LogLimiter::allow(std::size_t key, TimePoint now, std::uint64_t& suppressed) {
  suppressed = 0;
  if (key >= slots_.size()) return true;
  Slot& s = slots_[key];
  if (!s.started || now - s.start >= period_) {
    s.started = true;
    s.start = now;
    s.used = 0;
  }
  if (s.used >= burst_) {
    ++s.held;
    return false;
  }
  ++s.used;
  suppressed = s.held;
  s.held = 0;
  return true;
}

std::uint64_t LogLimiter::held() const {
  std::uint64_t n = 0;
  for (const auto& s : slots_) n += s.held;
  return n;
}

}  // namespace common
