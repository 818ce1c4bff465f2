// A problem found in a config or secrets file (Diagnostic), and the sink the parsing stages
// report into (Reporter). Parsing goes on after a problem so that one run reports them all.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace config {

struct Diagnostic {
  std::string file;
  int line = 0;         // 0 when not tied to a line
  std::string key;      // empty when not about one key
  std::string message;
  // "file:line: key 'k': message"
  std::string to_string() const;
};

// Where the stages of one parse put their errors and warnings (a LoadResult's lists).
class Reporter {
 public:
  Reporter(std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings)
      : errors_(errors), warnings_(warnings) {}

  void error(const std::string& file, int line, std::string key, std::string msg) {
    errors_.push_back(Diagnostic{file, line, std::move(key), std::move(msg)});
  }
  void warn(const std::string& file, int line, std::string key, std::string msg) {
    warnings_.push_back(Diagnostic{file, line, std::move(key), std::move(msg)});
  }
  std::size_t error_count() const { return errors_.size(); }

 private:
  std::vector<Diagnostic>& errors_;
  std::vector<Diagnostic>& warnings_;
};

}  // namespace config
