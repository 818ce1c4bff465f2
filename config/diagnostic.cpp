// One diagnostic as text. See diagnostic.h.
#include "config/diagnostic.h"

namespace config {

std::string Diagnostic::to_string() const {
  std::string s = file;
  // Appends one piece at a time: `":" + std::to_string(line)` trips g++ 12's false
  // -Wrestrict at -O3 once this is a file of its own.
  if (line > 0) {
    s += ':';
    s += std::to_string(line);
  }
  s += ": ";
  if (!key.empty()) {
    s += '\'';
    s += key;
    s += "': ";
  }
  s += message;
  return s;
}

}  // namespace config
