// The ipsec.conf lexer and section reader (stage 1). See reader.h.
#include "config/reader.h"

#include <algorithm>
#include <cctype>

#include "config/text.h"

namespace config {
namespace {

constexpr int kMaxIncludeDepth = 10;

}  // namespace

void Reader::parse_text(std::string_view text, const std::string& file, int depth) {
  RawSection* cur = nullptr;
  bool cur_is_default = false;
  bool bad_header = false;  // parameters under a rejected header are not reported again
  int lineno = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) {
      error(file, lineno, "", "NUL byte in line");
      if (nl == text.size()) break;
      continue;
    }
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') {
      if (nl == text.size()) break;
      continue;
    }
    const bool indented = line.front() == ' ' || line.front() == '\t';
    if (!indented) {
      // Section header or top-level statement: comments may follow.
      std::string_view head = line.substr(0, line.find('#'));
      auto words = split_ws(head);
      cur = nullptr;
      cur_is_default = false;
      const std::size_t errors_before = rep_.error_count();
      std::string_view w0 = words.empty() ? std::string_view{} : words[0];
      if (w0 == "include") {
        if (words.size() != 2)
          error(file, lineno, "include", "expected: include PATH");
        else
          do_include(std::string(words[1]), file, lineno, depth);
      } else if (w0 == "version") {
        warn(file, lineno, "version", "ignored (ipsec.conf version line)");
      } else if (w0 == "config") {
        if (words.size() != 2 || words[1] != "setup")
          error(file, lineno, "", "unknown section 'config " +
                                      std::string(words.size() > 1 ? words[1] : "") +
                                      "' (only 'config setup')");
        else
          cur = open_section(SectionType::setup, "setup", file, lineno);
      } else if (w0 == "conn" || w0 == "gre" || w0 == "pim") {
        SectionType ty = w0 == "conn" ? SectionType::conn
                         : w0 == "gre" ? SectionType::gre
                                       : SectionType::pim;
        if (words.size() != 2) {
          error(file, lineno, "", "expected: " + std::string(w0) + " NAME");
        } else if (ty == SectionType::conn && words[1] == "%default") {
          cur = &default_section_;
          cur_is_default = true;
          default_seen_keys_.clear();
        } else if (!valid_name(words[1])) {
          error(file, lineno, "",
                "invalid " + std::string(w0) + " name '" + std::string(words[1]) +
                    "' (letters, digits, '-', '_', '.')");
        } else {
          cur = open_section(ty, std::string(words[1]), file, lineno);
        }
      } else {
        error(file, lineno, "", "unknown section type '" + std::string(w0) + "'");
      }
      bad_header = cur == nullptr && w0 != "include" && w0 != "version" &&
                   rep_.error_count() > errors_before;
      if (nl == text.size()) break;
      continue;
    }
    if (cur == nullptr) {
      // Either no section yet or the header was bad (already reported once).
      if (!bad_header) error(file, lineno, "", "parameter outside of a section");
      if (nl == text.size()) break;
      continue;
    }
    parse_key_line(t, file, lineno, *cur, cur_is_default);
    if (nl == text.size()) break;
  }
}

RawSection* Reader::open_section(SectionType ty, std::string name, const std::string& file, int line) {
  for (auto& s : sections_) {
    if (s.type == ty && s.name == name) {
      error(file, line, "",
            "duplicate section '" + std::string(type_name(ty)) + " " + name +
                "' (first at " + s.file + ":" + std::to_string(s.line) + ")");
      return nullptr;
    }
  }
  RawSection s;
  s.type = ty;
  s.name = std::move(name);
  s.file = file;
  s.line = line;
  if (ty == SectionType::conn) s.defaults = default_section_.keys;
  sections_.push_back(std::move(s));
  return &sections_.back();
}

void Reader::parse_key_line(std::string_view t, const std::string& file, int lineno, RawSection& sec,
                    bool is_default) {
  std::size_t eq = t.find('=');
  if (eq == std::string_view::npos) {
    error(file, lineno, std::string(trim(t.substr(0, t.find('#')))), "expected key=value");
    return;
  }
  std::string_view key = trim(t.substr(0, eq));
  std::string_view rest = trim(t.substr(eq + 1));
  bool key_ok = !key.empty();
  // libreswan spells some keys with '-' (retransmit-timeout, vti-interface).
  for (char c : key)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '-'))
      key_ok = false;
  if (!key_ok) {
    error(file, lineno, std::string(key), "malformed key name");
    return;
  }
  std::string value;
  if (!rest.empty() && rest.front() == '"') {
    std::size_t i = 1;
    bool closed = false;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (c == '\\' && i + 1 < rest.size() && (rest[i + 1] == '"' || rest[i + 1] == '\\')) {
        value += rest[++i];
      } else if (c == '"') {
        closed = true;
        ++i;
        break;
      } else {
        value += c;
      }
    }
    if (!closed) {
      error(file, lineno, std::string(key), "unterminated quoted value");
      return;
    }
    std::string_view after = trim(rest.substr(i));
    if (!after.empty() && after.front() != '#') {
      error(file, lineno, std::string(key), "text after the quoted value");
      return;
    }
  } else {
    value = std::string(trim(rest.substr(0, rest.find('#'))));
  }
  std::string k = canonical_key(key);

  // Name checks happen here, once per written line, whatever inherits it later.
  if (!check_key(sec.type, k, file, lineno, rep_)) return;
  if (k == "also") {
    if (is_default) {
      error(file, lineno, k, "also= is not allowed in conn %default");
      return;
    }
    if (value.empty()) {
      error(file, lineno, k, "also= needs a conn name");
      return;
    }
    sec.also.push_back(RawKey{k, value, file, lineno});
    return;
  }
  auto& seen_list = sec.keys;
  if (is_default) {
    // Later %default sections override earlier ones; within one section a key is unique.
    if (std::find(default_seen_keys_.begin(), default_seen_keys_.end(), k) !=
        default_seen_keys_.end()) {
      error(file, lineno, k, "duplicate key in conn %default");
      return;
    }
    default_seen_keys_.push_back(k);
    auto it = std::find_if(seen_list.begin(), seen_list.end(),
                           [&](const RawKey& r) { return r.key == k; });
    if (it != seen_list.end()) seen_list.erase(it);
    seen_list.push_back(RawKey{k, value, file, lineno});
    return;
  }
  for (const auto& r : seen_list) {
    if (r.key == k) {
      error(file, lineno, k,
            "duplicate key (first at " + r.file + ":" + std::to_string(r.line) + ")");
      return;
    }
  }
  seen_list.push_back(RawKey{k, value, file, lineno});
}

bool check_key(SectionType ty, const std::string& k, const std::string& file, int line, Reporter& rep) {
  const KeyRow* row = find_key(ty, k);
  if (!row) {
    rep.error(file, line, k, "unknown key in '" + std::string(type_name(ty)) + "' section");
    return false;
  }
  if (row->disposition == Disposition::warned) {
    rep.warn(file, line, k, std::string(row->reason));
    return false;
  }
  if (row->disposition == Disposition::refused) {
    std::string msg(row->reason);
    if (!row->alternative.empty()) msg += "; use " + std::string(row->alternative);
    rep.error(file, line, k, std::move(msg));
    return false;
  }
  return true;
}

bool read_includes(const IncludeResolver& include, const std::string& pattern, const std::string& file, int line,
                   int depth, Reporter& rep, std::vector<IncludedFile>& out) {
  if (!include) {
    rep.error(file, line, "include", "include is not available here");
    return false;
  }
  if (depth >= kMaxIncludeDepth) {
    rep.error(file, line, "include", "includes nested too deeply (a loop?)");
    return false;
  }
  std::string err;
  if (!include(pattern, dir_of(file), out, err)) {
    rep.error(file, line, "include", "'" + pattern + "': " + err);
    return false;
  }
  if (!err.empty()) rep.warn(file, line, "include", "'" + pattern + "': " + err);
  return true;
}

void Reader::do_include(const std::string& pattern, const std::string& file, int lineno, int depth) {
  std::vector<IncludedFile> files;
  if (!read_includes(opts_.include, pattern, file, lineno, depth, rep_, files)) return;
  for (const auto& f : files) parse_text(f.text, f.name, depth + 1);
}

}  // namespace config
