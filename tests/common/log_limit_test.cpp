// common/log_limit.h: a burst per period per key, the rest counted and reported.
#include <catch2/catch.hpp>

#include <utility>
#include <vector>

#include "common/log_limit.h"

using common::LogLimiter;
using namespace std::chrono_literals;

TEST_CASE("LogLimiter: a burst of lines per period and key, then counted; the next line says how many") {
  LogLimiter lim(2, 10s, 3);
  const LogLimiter::TimePoint t0{};
  std::uint64_t held = 99;
  for (int i = 0; i < 3; ++i) {
    CHECK(lim.allow(0, t0 + std::chrono::milliseconds(i), held));
    CHECK(held == 0);
  }
  int let_through = 0;
  for (int i = 0; i < 100000; ++i) let_through += lim.allow(0, t0 + 1s, held);
  CHECK(let_through == 0);
  CHECK(lim.held() == 100000);
  // Another key has its own budget.
  CHECK(lim.allow(1, t0 + 2s, held));
  CHECK(held == 0);
  // A new period: the first line carries the count of the ones held back.
  CHECK(lim.allow(0, t0 + 10s, held));
  CHECK(held == 100000);
  CHECK(lim.held() == 0);
  CHECK(lim.allow(0, t0 + 10s, held));
  CHECK(held == 0);
  // Out-of-range keys are never held back.
  CHECK(lim.allow(7, t0, held));
}

TEST_CASE("LogLimiter: flush reports what is held once its period has ended, and only then") {
  LogLimiter lim(3, 10s, 1);
  const LogLimiter::TimePoint t0{};
  std::uint64_t held = 0;
  CHECK(lim.allow(2, t0, held));
  for (int i = 0; i < 5; ++i) CHECK_FALSE(lim.allow(2, t0 + 1s, held));
  std::vector<std::pair<std::size_t, std::uint64_t>> seen;
  auto report = [&](std::size_t k, std::uint64_t n) { seen.emplace_back(k, n); };
  lim.flush(t0 + 9s, report);
  CHECK(seen.empty());
  lim.flush(t0 + 10s, report);
  CHECK(seen == std::vector<std::pair<std::size_t, std::uint64_t>>{{2, 5}});
  lim.flush(t0 + 30s, report);
  CHECK(seen.size() == 1);
  // After a flush the key starts a new period with its budget.
  CHECK(lim.allow(2, t0 + 10s, held));
  CHECK(held == 0);
}
