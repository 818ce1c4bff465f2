// swanctl.conf syntax (the settings tree), format detection and the secrets block. See
// swanctl.h; the translation of connections is swanctl_conns.cpp.
#include "config/swanctl.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "common/secret.h"
#include "config/text.h"

namespace config {
namespace {

constexpr int kMaxNesting = 32;

// strongswan.conf(5): a name is printable characters other than . , : { } = " # and blanks.
bool name_char(char c) {
  return c > ' ' && c < 0x7f && std::string_view(".,:{}=\"#").find(c) == std::string_view::npos;
}

// One file's text, read section by section. A structural error (a name without '=' or
// '{', an unclosed quote) stops the file: what follows could not be placed.
class TreeParser {
 public:
  TreeParser(const IncludeResolver& inc, Reporter& r) : inc_(inc), rep_(r) {}

  void parse(std::string_view text, const std::string& file, SwanctlNode& into, int depth) {
    Cursor c{text, file, 0, 1, false};
    body(c, into, depth, 0, 0);
  }

 private:
  struct Cursor {
    std::string_view text;
    const std::string& file;
    std::size_t pos;
    int line;
    bool stop;
    bool eof() const { return pos >= text.size(); }
    char peek() const { return text[pos]; }
    void next() {
      if (text[pos] == '\n') ++line;
      ++pos;
    }
  };

  void error(Cursor& c, int line, std::string key, std::string msg) {
    rep_.error(c.file, line, std::move(key), std::move(msg));
    c.stop = true;
  }

  static void skip_blank(Cursor& c, bool newlines) {
    while (!c.eof()) {
      char ch = c.peek();
      if (ch == '#') {
        while (!c.eof() && c.peek() != '\n') c.next();
      } else if (ch == ' ' || ch == '\t' || ch == '\r' || (newlines && ch == '\n')) {
        c.next();
      } else {
        break;
      }
    }
  }

  // The rest of the line, without a comment, trimmed.
  static std::string rest_of_line(Cursor& c) {
    std::size_t start = c.pos;
    while (!c.eof() && c.peek() != '\n' && c.peek() != '#') c.next();
    std::string v(trim(c.text.substr(start, c.pos - start)));
    while (!c.eof() && c.peek() != '\n') c.next();
    return v;
  }

  // `sec`'s items up to its '}' (or the end of the file at level 0).
  void body(Cursor& c, SwanctlNode& sec, int depth, int level, int open_line) {
    while (!c.stop) {
      skip_blank(c, true);
      if (c.eof()) {
        if (level > 0) error(c, open_line, sec.name, "section not closed: '}' missing before the end of the file");
        return;
      }
      const int line = c.line;
      char ch = c.peek();
      if (ch == '}') {
        c.next();
        if (level == 0) {
          error(c, line, "", "'}' without a section to close");
          return;
        }
        return;
      }
      if (ch == '\0') {
        error(c, line, "", "NUL byte");
        return;
      }
      std::size_t start = c.pos;
      while (!c.eof() && name_char(c.peek())) c.next();
      std::string name(c.text.substr(start, c.pos - start));
      if (name.empty()) {
        error(c, line, "", std::string("unexpected '") + ch + "' (expected a name, 'include' or '}')");
        return;
      }
      if (name == "include" && !c.eof() && (c.peek() == ' ' || c.peek() == '\t')) {
        std::string pattern = rest_of_line(c);
        if (pattern.size() >= 2 && pattern.front() == '"' && pattern.back() == '"')
          pattern = pattern.substr(1, pattern.size() - 2);
        include(c, pattern, line, sec, depth);
        continue;
      }
      skip_blank(c, false);
      if (!c.eof() && c.peek() == '=') {
        c.next();
        key(c, sec, name, line);
        continue;
      }
      skip_blank(c, true);  // `name` and its '{' may be on different lines
      if (!c.eof() && c.peek() == '{') {
        c.next();
        if (level + 1 > kMaxNesting) {
          error(c, line, name, "sections nested too deeply");
          return;
        }
        SwanctlNode* child = section(c, sec, name, line);
        if (!child) return;
        body(c, *child, depth, level + 1, line);
        continue;
      }
      if (!c.eof() && c.peek() == ':') {
        error(c, line, name,
              "section references ('name : other { }', strongSwan 5.7) are not supported; write the keys out");
        return;
      }
      if (!c.eof() && c.peek() == '.') {
        error(c, line, name, "dotted names (a.b = value) are not supported in swanctl.conf; nest the sections");
        return;
      }
      error(c, line, name, "expected '=' or '{' after the name");
      return;
    }
  }

  void key(Cursor& c, SwanctlNode& sec, const std::string& name, int line) {
    skip_blank_same_line(c);
    std::string value;
    if (!c.eof() && c.peek() == '"') {
      c.next();
      bool closed = false;
      while (!c.eof()) {
        char ch = c.peek();
        c.next();
        if (ch == '"') {
          closed = true;
          break;
        }
        if (ch == '\\' && !c.eof()) {
          char e = c.peek();
          c.next();
          switch (e) {
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            case 'r': value += '\r'; break;
            case '"': case '\\': value += e; break;
            default: value += '\\'; value += e; break;
          }
          continue;
        }
        value += ch;
      }
      if (!closed) {
        error(c, line, name, "unterminated quoted value");
        return;
      }
      std::string after = rest_of_line(c);
      if (!after.empty()) {
        common::wipe_string(value);
        error(c, line, name, "text after the quoted value");
        return;
      }
    } else {
      value = rest_of_line(c);
    }
    if (value.find('\0') != std::string::npos) {
      common::wipe_string(value);
      error(c, line, name, "NUL byte in the value");
      return;
    }
    for (auto& it : sec.items) {
      if (it.name != name) continue;
      if (it.section) {
        error(c, line, name, "a key with the name of the section at " + it.file + ":" + std::to_string(it.line));
        return;
      }
      // strongSwan keeps the later value; say so, as it is often an include overriding.
      rep_.warn(c.file, line, name,
                "set again (first at " + it.file + ":" + std::to_string(it.line) + "); the later value is used");
      common::wipe_string(it.value);
      it.value = std::move(value);
      it.file = c.file;
      it.line = line;
      return;
    }
    sec.items.push_back(SwanctlNode{name, std::move(value), false, c.file, line, {}});
  }

  static void skip_blank_same_line(Cursor& c) {
    while (!c.eof() && (c.peek() == ' ' || c.peek() == '\t')) c.next();
  }

  SwanctlNode* section(Cursor& c, SwanctlNode& sec, const std::string& name, int line) {
    for (auto& it : sec.items) {
      if (it.name != name) continue;
      if (!it.section) {
        error(c, line, name, "a section with the name of the key at " + it.file + ":" + std::to_string(it.line));
        return nullptr;
      }
      return &it;  // merged, as strongSwan merges a section written twice
    }
    sec.items.push_back(SwanctlNode{name, "", true, c.file, line, {}});
    return &sec.items.back();
  }

  void include(Cursor& c, const std::string& pattern, int line, SwanctlNode& sec, int depth) {
    if (pattern.empty()) {
      error(c, line, "include", "expected: include PATH");
      return;
    }
    std::vector<IncludedFile> files;
    if (!read_includes(inc_, pattern, c.file, line, depth, rep_, files)) return;
    for (auto& f : files) {
      parse(f.text, f.name, sec, depth + 1);
      common::wipe_string(f.text);  // it may hold a secrets block
    }
  }

  const IncludeResolver& inc_;
  Reporter& rep_;
};

// The first word of a line, if the line opens a section: "connections {" or "connections".
bool opens_top_section(std::string_view line, std::string_view next_line) {
  std::string_view t = trim(line.substr(0, line.find('#')));
  std::size_t n = 0;
  while (n < t.size() && name_char(t[n])) ++n;
  std::string_view word = t.substr(0, n);
  if (word != "connections" && word != "secrets" && word != "swanless") return false;
  std::string_view after = trim(t.substr(n));
  if (after == "{") return true;
  return after.empty() && trim(next_line.substr(0, next_line.find('#'))).substr(0, 1) == "{";
}

}  // namespace

const SwanctlNode* SwanctlNode::find(std::string_view n) const {
  for (const auto& it : items)
    if (it.name == n) return &it;
  return nullptr;
}

bool is_swanctl(std::string_view text, std::string_view name) {
  constexpr std::string_view kName = "swanctl.conf";
  if (name.size() >= kName.size() && name.substr(name.size() - kName.size()) == kName) return true;
  std::string_view prev;
  bool have_prev = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (have_prev && opens_top_section(prev, line)) return true;
    prev = line;
    have_prev = true;
    if (nl == text.size()) break;
    pos = nl + 1;
  }
  return have_prev && opens_top_section(prev, {});
}

SwanctlNode read_swanctl(std::string_view text, const std::string& file, const IncludeResolver& include,
                         Reporter& r) {
  SwanctlNode root;
  root.section = true;
  root.file = file;
  TreeParser p(include, r);
  p.parse(text, file, root, 0);
  return root;
}

void wipe_swanctl(SwanctlNode& n) {
  common::wipe_string(n.value);
  for (auto& it : n.items) wipe_swanctl(it);
}

// ---- secrets --------------------------------------------------------------------------

namespace {

// "ike", "ike-1", "ike_vpn": the type of a secrets subsection (strongSwan: TYPE<suffix>).
std::string_view secret_type(std::string_view name) {
  for (std::string_view t : {"ike", "eap", "xauth", "ntlm", "private", "rsa", "ecdsa", "pkcs8", "pkcs12", "token", "ppk"})
    if (name.substr(0, t.size()) == t) return t;
  return {};
}

void collect_secrets(const SwanctlNode& block, const std::string& cfg_dir, SecretsResult& res, Secrets& s) {
  auto warn = [&](const SwanctlNode& n, std::string msg) {
    res.warnings.push_back(Diagnostic{n.file, n.line, n.name, std::move(msg)});
  };
  auto err = [&](const SwanctlNode& n, std::string msg) {
    res.errors.push_back(Diagnostic{n.file, n.line, n.name, std::move(msg)});
  };
  for (const auto& sec : block.items) {
    if (!sec.section) {
      err(sec, "expected a section such as ike-NAME { secret = ... } in secrets");
      continue;
    }
    const std::string_view type = secret_type(sec.name);
    SecretEntry e;
    e.file = sec.file;
    e.line = sec.line;
    if (type == "ike") {
      e.type = SecretEntry::Type::psk;
      const SwanctlNode* secret = nullptr;
      bool ok = true;
      for (const auto& k : sec.items) {
        if (k.section) {
          err(k, "unexpected section in " + sec.name);
          ok = false;
        } else if (k.name == "secret") {
          secret = &k;
        } else if (k.name.substr(0, 2) == "id") {
          if (k.value.empty()) {
            err(k, "empty identity");
            ok = false;
          } else {
            e.ids.push_back(k.value);
          }
        } else {
          err(k, "unknown key in " + sec.name + " (secret, id, id-SUFFIX)");
          ok = false;
        }
      }
      if (!secret) {
        err(sec, "no secret = ... in " + sec.name);
        continue;
      }
      const std::string& v = secret->value;
      const bool prefixed = v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X' || v[1] == 's' || v[1] == 'S');
      if (v.empty()) {
        err(*secret, "empty PSK");
        continue;
      }
      if (prefixed) {
        auto b = decode_prefixed_binary(v);
        if (!b) {
          err(*secret, "malformed 0x<hex> or 0s<base64> secret");
          continue;
        }
        e.psk = *b;
        OPENSSL_cleanse(b->data(), b->size());
      } else {
        for (char ch : v) e.psk.push_back(static_cast<std::byte>(ch));
      }
      if (ok) s.entries.push_back(std::move(e));
    } else if (type == "private" || type == "rsa" || type == "pkcs8") {
      // The key file, relative to swanctl's folder of that type (private/, rsa/, pkcs8/).
      e.type = SecretEntry::Type::rsa;
      const SwanctlNode* file = sec.find("file");
      if (!file || file->section || file->value.empty()) {
        err(sec, "no file = ... in " + sec.name);
        continue;
      }
      e.key_path = resolve_path(resolve_path(cfg_dir, std::string(type)), file->value);
      if (const auto* p = sec.find("secret"); p && !p->section) e.passphrase = p->value;
      bool ok = true;
      for (const auto& k : sec.items)
        if (k.section || (k.name != "file" && k.name != "secret")) {
          err(k, "unknown key in " + sec.name + " (file, secret)");
          ok = false;
        }
      if (ok) s.entries.push_back(std::move(e));
    } else if (type == "ecdsa") {
      warn(sec, "ECDSA keys are not used: swanless signs with RSA only; this key is ignored");
    } else if (type == "pkcs12") {
      warn(sec, "PKCS#12 containers hold certificates, which swanless does not implement yet; ignored");
    } else if (type == "eap" || type == "xauth" || type == "ntlm") {
      warn(sec, "EAP/XAuth credentials are not used: swanless authenticates with PSKs and RSA keys; ignored");
    } else if (type == "token") {
      warn(sec, "smartcard keys are not supported: swanless reads RSA keys from files; ignored");
    } else if (type == "ppk") {
      warn(sec, "post-quantum preshared keys (RFC 8784) are not implemented; ignored");
    } else {
      err(sec, "unknown secret type (ike, private, rsa, pkcs8, ecdsa, eap, xauth, ntlm, pkcs12, token, ppk)");
    }
  }
}

// strongSwan's --load-creds also loads every key file in these folders, without a
// secrets entry: they become id-less RSA entries, after the written ones.
void key_folders(const std::string& cfg_dir, Secrets& s) {
  namespace fs = std::filesystem;
  for (const char* sub : {"private", "rsa", "pkcs8"}) {
    std::error_code ec;
    const fs::path dir = fs::path(resolve_path(cfg_dir, sub));
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(dir, ec))
      if (f.is_regular_file(ec)) files.push_back(f.path().string());
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      if (std::any_of(s.entries.begin(), s.entries.end(), [&](const SecretEntry& e) { return e.key_path == f; }))
        continue;
      SecretEntry e;
      e.type = SecretEntry::Type::rsa;
      e.key_path = f;
      e.file = f;
      s.entries.push_back(std::move(e));
    }
  }
}

}  // namespace

SecretsResult swanctl_secrets(std::string_view text, const std::string& path, mode_t mode, bool on_disk) {
  SecretsResult res;
  Reporter rep(res.errors, res.warnings);
  SwanctlNode root = read_swanctl(text, path, on_disk ? filesystem_includes() : IncludeResolver{}, rep);
  Secrets s;
  s.path = path;
  const std::string cfg_dir = dir_of(path);
  if (const SwanctlNode* block = root.find("secrets"); block && block->section)
    collect_secrets(*block, cfg_dir, res, s);
  wipe_swanctl(root);
  if (on_disk) {
    // Every file that holds a written secret must be private, as a secrets file is.
    std::set<std::string> checked;
    for (const auto& e : s.entries) {
      if (e.type == SecretEntry::Type::rsa && e.key_path == e.file) continue;  // a key folder's file
      if (!checked.insert(e.file).second) continue;
      mode_t m = mode;
      if (e.file != path) {
        struct stat st {};
        if (::stat(e.file.c_str(), &st) != 0) continue;
        m = st.st_mode;
      }
      if ((m & 077) != 0) {
        char text_mode[8];
        std::snprintf(text_mode, sizeof text_mode, "%04o", static_cast<unsigned>(m & 07777));
        res.errors.push_back(Diagnostic{e.file, 0, "",
                                        std::string("refusing secrets in a file readable or writable by group or "
                                                    "others (mode ") +
                                            text_mode + "): chmod 600 " + e.file});
      }
    }
    key_folders(cfg_dir, s);
  }
  if (res.errors.empty()) res.secrets = std::move(s);
  return res;
}

}  // namespace config
