// Helpers shared by the config tests (tests/config/) and the `swanless check` tests
// (tests/apps/cmd_check_test.cpp): the repository's examples, in-memory includes, parsing
// with the error texts joined, a minimal conn, a temporary folder.
#pragma once

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "config/config.h"

namespace config_test {

using namespace config;

inline std::string examples_dir() {
  std::filesystem::path p(__FILE__);
  return (p.parent_path().parent_path().parent_path() / "examples").string();
}

inline common::IpAddr ip(const char* s) { return *common::IpAddr::parse(s); }

// In-memory includes for tests: name -> text, '*' matched as "any suffix".
inline ParseOptions memory_includes(std::map<std::string, std::string> files) {
  ParseOptions o;
  o.include = [files](const std::string& pattern, const std::string& base,
                      std::vector<IncludedFile>& out, std::string& err) {
    std::string full = pattern.front() == '/' ? pattern : base + "/" + pattern;
    auto star = full.find('*');
    for (const auto& [name, text] : files) {
      bool match = star == std::string::npos
                       ? name == full
                       : name.size() >= full.size() - 1 && name.compare(0, star, full, 0, star) == 0 &&
                             name.compare(name.size() - (full.size() - star - 1), std::string::npos,
                                          full, star + 1) == 0;
      if (match) out.push_back({name, text});
    }
    if (out.empty() && star == std::string::npos) err = "no such file, skipped";
    return true;
  };
  return o;
}

inline LoadResult parse(const std::string& text, const ParseOptions& o = {}) {
  return parse_string(text, "/etc/swanless/test.conf", o);
}

// Parses, expects failure, and returns all error texts joined.
inline std::string errors_of(const std::string& text, const ParseOptions& o = {}) {
  auto r = parse(text, o);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.errors.empty());
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

inline const char* const kBase =
    "conn a\n"
    "    left=192.0.2.1\n"
    "    right=198.51.100.1\n"
    "    authby=secret\n"
    "    auto=start\n";

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/swl-check-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
};

}  // namespace config_test
