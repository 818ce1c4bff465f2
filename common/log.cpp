#include "common/log.h"

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace common {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};
std::mutex g_mu;
const char* kNames[] = {"error", "warn", "info", "debug", "trace"};
}  // namespace

void set_log_level(LogLevel l) { g_level = static_cast<int>(l); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

bool parse_log_level(std::string_view s, LogLevel& out) {
  for (int i = 0; i < 5; ++i) {
    if (s == kNames[i]) {
      out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void log_line(LogLevel l, std::string_view msg) {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
  std::lock_guard lk(g_mu);
  std::fprintf(stderr, "%s.%03lld %-5s %.*s\n", ts, static_cast<long long>(ms),
               kNames[static_cast<int>(l)], static_cast<int>(msg.size()), msg.data());
}

}  // namespace common
