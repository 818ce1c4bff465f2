// Per-packet warnings that a flood cannot turn into a flood of log lines. For each key (a
// drop reason, say) at most `burst` lines are written in each `period`; past that, lines
// are only counted, and the next line let through for that key, or flush() once the
// period is over, says how many were held back. The caller passes the time in: no clock
// here, like the rest of common/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace common {

class LogLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  LogLimiter(std::size_t keys, Duration period, unsigned burst);

  // True: write this line now; `suppressed` is then how many lines of this key were held
  // back before it (0 for none), for the line to say so. False: counted, not written.
  // Keys out of range are always let through.
  bool allow(std::size_t key, TimePoint now, std::uint64_t& suppressed);

  // For each key whose lines are held back and whose period has ended: report(key, count),
  // then the count starts again. Call it now and then (a timer) and at shutdown.
  template <typename F>
  void flush(TimePoint now, F&& report) {
    for (std::size_t k = 0; k < slots_.size(); ++k) {
      Slot& s = slots_[k];
      if (s.held == 0 || now - s.start < period_) continue;
      report(k, s.held);
      s.held = 0;
      s.start = now;
      s.used = 0;
    }
  }

  // Lines held back so far and not yet reported, over all keys.
  std::uint64_t held() const;

 private:
  struct Slot {
    TimePoint start{};
    unsigned used = 0;
    std::uint64_t held = 0;
    bool started = false;
  };
  std::vector<Slot> slots_;
  Duration period_;
  unsigned burst_;
};

}  // namespace common
