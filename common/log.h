// Logging: one process-wide sink. The cores (ike/, esp/, gre/, pim/) do not log; they
// report events. daemon/ logs those, and counters make per-packet drops visible; the
// per-packet lines there are rate-limited (common/log_limit.h).
//
// Each line belongs to a subsystem (ike, esp, gre, pim, net, cfg) with a level of its own,
// like charon's. A file picks its subsystem by declaring
//     namespace { constexpr common::Subsys kLogSubsys = common::Subsys::net; }
// in its namespace; LOG_* use it, LOG_AT(subsys, level, ...) names one explicitly, and a
// file that declares none logs as cfg (the fallback ::kLogSubsys below).
// Sinks: stderr (time, level, subsystem, text), journal (stderr with sd-daemon "<N>"
// priority prefixes, which journald stores as PRIORITY), syslog (syslog(3), facility daemon).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace common {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };
enum class Subsys : std::uint8_t { ike, esp, gre, pim, net, cfg, count_ };
inline constexpr std::size_t kSubsystems = static_cast<std::size_t>(Subsys::count_);
enum class LogSink : std::uint8_t { stderr_text, journal, syslog };

// Every subsystem's level, or one's.
void set_log_level(LogLevel l);
void set_log_level(Subsys s, LogLevel l);
LogLevel log_level(Subsys s = Subsys::cfg);
bool parse_log_level(std::string_view s, LogLevel& out);
std::string_view to_string(Subsys s);
bool parse_subsys(std::string_view s, Subsys& out);

// Where lines go from now on; syslog opens the connection (openlog, ident "swanless").
void set_log_sink(LogSink s);
LogSink log_sink();
// The journal when stderr is journald's stream ($JOURNAL_STREAM names its device:inode),
// else stderr: what `log=auto` means.
LogSink detect_log_sink();

void log_line(Subsys s, LogLevel l, std::string_view msg);
// The text of one line as the current sink writes it (for tests): no trailing newline.
std::string format_line(LogSink sink, Subsys s, LogLevel l, std::string_view msg);

inline bool log_enabled(Subsys s, LogLevel l) { return static_cast<int>(l) <= static_cast<int>(log_level(s)); }

inline void logf(Subsys s, LogLevel l, const char* msg) {
  if (!log_enabled(s, l)) return;
  log_line(s, l, msg);
}

template <typename A0, typename... A>
void logf(Subsys s, LogLevel l, const char* fmt, A0 a0, A... args) {
  if (!log_enabled(s, l)) return;
  char buf[1024];
  std::snprintf(buf, sizeof buf, fmt, a0, args...);
  log_line(s, l, buf);
}

}  // namespace common

// The subsystem of files that do not name one.
inline constexpr ::common::Subsys kLogSubsys = ::common::Subsys::cfg;

#define LOG_AT(subsys, level, ...) ::common::logf((subsys), ::common::LogLevel::level, __VA_ARGS__)
#define LOG_ERROR(...) ::common::logf(kLogSubsys, ::common::LogLevel::error, __VA_ARGS__)
#define LOG_WARN(...) ::common::logf(kLogSubsys, ::common::LogLevel::warn, __VA_ARGS__)
#define LOG_INFO(...) ::common::logf(kLogSubsys, ::common::LogLevel::info, __VA_ARGS__)
#define LOG_DEBUG(...) ::common::logf(kLogSubsys, ::common::LogLevel::debug, __VA_ARGS__)
