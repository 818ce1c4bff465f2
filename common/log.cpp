#include "common/log.h"

#include <sys/stat.h>
#include <syslog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace common {

namespace {
std::array<std::atomic<int>, kSubsystems> g_levels{};
std::atomic<int> g_sink{static_cast<int>(LogSink::stderr_text)};
std::mutex g_mu;
const char* kNames[] = {"error", "warn", "info", "debug", "trace"};
const char* kSubsysNames[] = {"ike", "esp", "gre", "pim", "net", "cfg"};
// syslog(3) and sd-daemon(3) priorities of our levels
constexpr int kPriority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};

struct Init {
  Init() {
    for (auto& l : g_levels) l = static_cast<int>(LogLevel::info);
  }
} g_init;
}  // namespace

void set_log_level(LogLevel l) {
  for (auto& v : g_levels) v = static_cast<int>(l);
}
void set_log_level(Subsys s, LogLevel l) { g_levels[static_cast<std::size_t>(s)] = static_cast<int>(l); }
LogLevel log_level(Subsys s) { return static_cast<LogLevel>(g_levels[static_cast<std::size_t>(s)].load()); }

bool parse_log_level(std::string_view s, LogLevel& out) {
  for (int i = 0; i < 5; ++i) {
    if (s == kNames[i]) {
      out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

std::string_view to_string(Subsys s) {
  const auto i = static_cast<std::size_t>(s);
  return i < kSubsystems ? kSubsysNames[i] : "?";
}

bool parse_subsys(std::string_view s, Subsys& out) {
  for (std::size_t i = 0; i < kSubsystems; ++i) {
    if (s == kSubsysNames[i]) {
      out = static_cast<Subsys>(i);
      return true;
    }
  }
  return false;
}

void set_log_sink(LogSink s) {
  std::lock_guard lk(g_mu);
  if (s == LogSink::syslog && log_sink() != LogSink::syslog) ::openlog("swanless", LOG_PID | LOG_NDELAY, LOG_DAEMON);
  g_sink = static_cast<int>(s);
}
LogSink log_sink() { return static_cast<LogSink>(g_sink.load()); }

LogSink detect_log_sink() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js) return LogSink::stderr_text;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return LogSink::stderr_text;
  struct stat st {};
  if (::fstat(2, &st) != 0) return LogSink::stderr_text;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino
             ? LogSink::journal
             : LogSink::stderr_text;
}

std::string format_line(LogSink sink, Subsys s, LogLevel l, std::string_view msg) {
  const int li = static_cast<int>(l);
  std::string out;
  if (sink == LogSink::stderr_text) {
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[48];
    std::size_t n = std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    std::snprintf(ts + n, sizeof ts - n, ".%03lld %-5s %-3s ", static_cast<long long>(ms), kNames[li],
                  kSubsysNames[static_cast<std::size_t>(s)]);
    out = ts;
  } else {
    // g++ 12 -O3 warns falsely (-Wrestrict) on chained string +; appends avoid it
    if (sink == LogSink::journal) {
      out += '<';
      out += std::to_string(kPriority[li]);
      out += '>';
    }
    out.append(to_string(s));
    out.append(": ");
  }
  out.append(msg);
  return out;
}

void log_line(Subsys s, LogLevel l, std::string_view msg) {
  const LogSink sink = log_sink();
  const std::string line = format_line(sink, s, l, msg);
  std::lock_guard lk(g_mu);
  if (sink == LogSink::syslog)
    ::syslog(kPriority[static_cast<int>(l)], "%s", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace common
