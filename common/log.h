// Logging: one process-wide sink. The cores (ike/, esp/, gre/, pim/) do not log; they
// report events. daemon/ logs those, and counters make per-packet drops visible instead of
// per-packet log lines.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace common {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

void set_log_level(LogLevel l);
LogLevel log_level();
bool parse_log_level(std::string_view s, LogLevel& out);
void log_line(LogLevel l, std::string_view msg);

inline void logf(LogLevel l, const char* msg) {
  if (static_cast<int>(l) > static_cast<int>(log_level())) return;
  log_line(l, msg);
}

template <typename A0, typename... A>
void logf(LogLevel l, const char* fmt, A0 a0, A... args) {
  if (static_cast<int>(l) > static_cast<int>(log_level())) return;
  char buf[1024];
  std::snprintf(buf, sizeof buf, fmt, a0, args...);
  log_line(l, buf);
}

}  // namespace common

#define LOG_ERROR(...) ::common::logf(::common::LogLevel::error, __VA_ARGS__)
#define LOG_WARN(...) ::common::logf(::common::LogLevel::warn, __VA_ARGS__)
#define LOG_INFO(...) ::common::logf(::common::LogLevel::info, __VA_ARGS__)
#define LOG_DEBUG(...) ::common::logf(::common::LogLevel::debug, __VA_ARGS__)
