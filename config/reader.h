// Stage 1, syntax: the ipsec.conf lexer and section reader. Splits the text into sections
// at column 0 (`config setup`, `conn NAME`, `gre NAME`, `pim NAME`) and their indented
// `key=value` lines, follows `include PATH`, keeps `conn %default` keys for the conns that
// follow it and `also=` lines for inherit.cpp. Every key name is checked once here, against
// the key table (keys.h), whatever inherits it later.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"
#include "config/keys.h"

namespace config {

struct RawKey {
  std::string key;
  std::string value;
  std::string file;
  int line = 0;
};

struct RawSection {
  SectionType type = SectionType::conn;
  std::string name;
  std::string file;
  int line = 0;
  std::vector<RawKey> keys;
  std::vector<RawKey> also;
  std::vector<RawKey> defaults;  // conns: the %default keys in force at this section
};

// Looks key `k` (canonical) of a section of type `ty` up in the key table and reports
// what a written line of it deserves: unknown or refused (an error), warned (the row's
// warning). True when swanless honours it. The swanctl front end checks its swanless
// section with this too.
bool check_key(SectionType ty, const std::string& k, const std::string& file, int line, Reporter& rep);

// The files an `include PATTERN` line names (at most 10 includes deep), through the
// resolver; false when there are none to read, with the error or warning reported.
bool read_includes(const IncludeResolver& include, const std::string& pattern, const std::string& file, int line,
                   int depth, Reporter& rep, std::vector<IncludedFile>& out);

class Reader {
 public:
  Reader(const ParseOptions& o, Reporter& r) : opts_(o), rep_(r) {}

  // Reads one file's text (`depth`: how many includes deep it is).
  void parse_text(std::string_view text, const std::string& file, int depth);

  std::vector<RawSection>& sections() { return sections_; }

 private:
  RawSection* open_section(SectionType ty, std::string name, const std::string& file, int line);
  void parse_key_line(std::string_view t, const std::string& file, int lineno, RawSection& sec,
                      bool is_default);
  void do_include(const std::string& pattern, const std::string& file, int lineno, int depth);
  void error(const std::string& file, int line, std::string key, std::string msg) {
    rep_.error(file, line, std::move(key), std::move(msg));
  }
  void warn(const std::string& file, int line, std::string key, std::string msg) {
    rep_.warn(file, line, std::move(key), std::move(msg));
  }

  const ParseOptions& opts_;
  Reporter& rep_;
  // std::deque-like stability is not needed: pointers into sections_ are only held while
  // parsing one section, and open_section is the only place that appends.
  std::vector<RawSection> sections_;
  RawSection default_section_;
  std::vector<std::string> default_seen_keys_;
};

}  // namespace config
