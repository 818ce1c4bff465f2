// common/log.h: per-subsystem levels, the three sinks' line formats, and recognising
// journald's stream on stderr.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/log.h"

using common::LogLevel;
using common::LogSink;
using common::Subsys;

TEST_CASE("log: each subsystem has its own level; the plain setter sets them all") {
  common::set_log_level(LogLevel::info);
  common::set_log_level(Subsys::ike, LogLevel::debug);
  common::set_log_level(Subsys::esp, LogLevel::error);
  CHECK(common::log_enabled(Subsys::ike, LogLevel::debug));
  CHECK_FALSE(common::log_enabled(Subsys::gre, LogLevel::debug));
  CHECK(common::log_enabled(Subsys::gre, LogLevel::info));
  CHECK_FALSE(common::log_enabled(Subsys::esp, LogLevel::warn));
  CHECK(common::log_enabled(Subsys::esp, LogLevel::error));
  common::set_log_level(LogLevel::info);
  CHECK_FALSE(common::log_enabled(Subsys::ike, LogLevel::debug));
  CHECK(common::log_enabled(Subsys::esp, LogLevel::warn));
}

TEST_CASE("log: subsystem names both ways") {
  for (const char* n : {"ike", "esp", "gre", "pim", "net", "cfg"}) {
    Subsys s{};
    REQUIRE(common::parse_subsys(n, s));
    CHECK(common::to_string(s) == n);
  }
  Subsys s{};
  CHECK_FALSE(common::parse_subsys("knl", s));
}

TEST_CASE("log: the line each sink writes") {
  // stderr: HH:MM:SS.mmm, level padded to 5, subsystem padded to 3, the text
  const std::string t = common::format_line(LogSink::stderr_text, Subsys::gre, LogLevel::warn, "keepalive missed");
  REQUIRE(t.size() > 13);
  CHECK(t[2] == ':');
  CHECK(t[8] == '.');
  CHECK(t.substr(12) == " warn  gre keepalive missed");
  // journal: sd-daemon priority prefix (LOG_WARNING 4, LOG_ERR 3, LOG_INFO 6, LOG_DEBUG 7)
  CHECK(common::format_line(LogSink::journal, Subsys::gre, LogLevel::warn, "x") == "<4>gre: x");
  CHECK(common::format_line(LogSink::journal, Subsys::ike, LogLevel::error, "y") == "<3>ike: y");
  CHECK(common::format_line(LogSink::journal, Subsys::net, LogLevel::info, "z") == "<6>net: z");
  CHECK(common::format_line(LogSink::journal, Subsys::esp, LogLevel::debug, "w") == "<7>esp: w");
  // syslog: the priority travels in the syslog call; the text names the subsystem
  CHECK(common::format_line(LogSink::syslog, Subsys::pim, LogLevel::info, "joined") == "pim: joined");
}

TEST_CASE("log: JOURNAL_STREAM naming stderr's device and inode means the journal") {
  struct stat st {};
  REQUIRE(::fstat(2, &st) == 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  CHECK(common::detect_log_sink() == LogSink::journal);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
  CHECK(common::detect_log_sink() == LogSink::stderr_text);  // stderr redirected elsewhere
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  CHECK(common::detect_log_sink() == LogSink::stderr_text);
  ::unsetenv("JOURNAL_STREAM");
  CHECK(common::detect_log_sink() == LogSink::stderr_text);
}
