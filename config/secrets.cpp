// The secrets file: ipsec.secrets(5) syntax, base64/hex values, strongSwan's lookup by
// identity. See secrets.h.
#include "config/secrets.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/net.h"
#include "config/swanctl.h"
#include "config/text.h"

namespace config {
namespace {

constexpr int kMatchNone = 0;
constexpr int kMatchAny = 1;
constexpr int kMatchPerfect = 20;
constexpr std::size_t kMaxSecretsFile = 1 << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

// Splits one entry's text into tokens: bare words and "quoted strings" (kept with their
// quote so the value parser can tell them apart). Returns false on an unterminated quote.
bool tokenize(std::string_view s, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    if (s[i] == '#') break;
    if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      std::string tok(1, '"');
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == q || s[i + 1] == '\\')) {
          tok += s[i + 1];
          i += 2;
          continue;
        }
        if (s[i] == q) {
          closed = true;
          ++i;
          break;
        }
        tok += s[i++];
      }
      if (!closed) return false;
      out.push_back(std::move(tok));
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j]) && s[j] != '#') {
      if (s[j] == ':' && j == i) {
        ++j;
        break;
      }
      if (s[j] == ':' && (j + 1 == s.size() || is_space(s[j + 1]))) break;  // "id: PSK"
      ++j;
    }
    out.push_back(std::string(s.substr(i, j - i)));
    i = j;
  }
  return true;
}

}  // namespace

std::optional<common::Bytes> decode_base64(std::string_view text) {
  common::Bytes out;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  std::size_t symbols = 0;
  for (char c : text) {
    if (is_space(c)) continue;
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') {
      ++pad;
      continue;
    } else {
      return std::nullopt;
    }
    if (pad != 0) return std::nullopt;  // data after padding
    ++symbols;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::byte>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || symbols % 4 == 1) return std::nullopt;
  if (pad != 0 && (symbols + pad) % 4 != 0) return std::nullopt;
  // Leftover bits must be zero (canonical encoding).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<common::Bytes> decode_prefixed_binary(std::string_view text) {
  if (text.size() < 2 || text[0] != '0') return std::nullopt;
  std::string_view body = text.substr(2);
  if (text[1] == 's' || text[1] == 'S') {
    auto b = decode_base64(body);
    if (!b || b->empty()) return std::nullopt;
    return b;
  }
  if (text[1] == 'x' || text[1] == 'X') {
    common::Bytes out;
    int nib = -1;
    for (char c : body) {
      if (c == '_' || is_space(c)) continue;  // libreswan allows 0x1234_5678
      int v;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
      else return std::nullopt;
      if (nib < 0) {
        nib = v;
      } else {
        out.push_back(static_cast<std::byte>((nib << 4) | v));
        nib = -1;
      }
    }
    if (nib >= 0 || out.empty()) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

int id_match(std::string_view selector, std::string_view id) {
  if (selector == "%any" || selector == "%any4" || selector == "%any6" || selector == "*")
    return kMatchAny;
  if (id.empty()) return kMatchNone;
  auto a = common::IpAddr::parse(selector);
  auto b = common::IpAddr::parse(id);
  if (a && b) return *a == *b ? kMatchPerfect : kMatchNone;
  if (a || b) return kMatchNone;
  auto strip = [](std::string_view s) {
    if (s.size() > 1 && s[0] == '@' && s[1] != '@' && s[1] != '#') s.remove_prefix(1);
    return lower(s);
  };
  return strip(selector) == strip(id) ? kMatchPerfect : kMatchNone;
}

namespace {

// Entries of `type` (or `also`) by how well they name the identities.
const SecretEntry* best(const std::vector<SecretEntry>& entries, SecretEntry::Type type, SecretEntry::Type also,
                        std::string_view local, std::string_view remote, bool need_remote) {
  const SecretEntry* found = nullptr;
  int best_score = 0;
  for (const auto& e : entries) {
    if (e.type != type && e.type != also) continue;
    int me = kMatchNone, other = kMatchNone;
    if (e.ids.empty()) {
      me = other = kMatchAny;
    } else {
      for (const auto& id : e.ids) {
        me = std::max(me, id_match(id, local));
        if (need_remote) other = std::max(other, id_match(id, remote));
      }
    }
    if (me == kMatchNone && other == kMatchNone) continue;
    int score = me + other;
    if (score > best_score) {
      best_score = score;
      found = &e;
    }
  }
  return found;
}

}  // namespace

const SecretEntry* Secrets::find_psk(std::string_view local_id, std::string_view remote_id) const {
  return best(entries, SecretEntry::Type::psk, SecretEntry::Type::psk, local_id, remote_id, true);
}

const SecretEntry* Secrets::find_private_key(std::string_view local_id) const {
  return best(entries, SecretEntry::Type::rsa, SecretEntry::Type::ecdsa, local_id, {}, false);
}

namespace {

constexpr int kMaxSecretsIncludeDepth = 8;
SecretsResult load_secrets_at(const std::string& path, int depth);

// include PATTERN of the secrets file `file`: the entries of every matching file, in place.
void include_secrets(const std::string& pattern, const std::string& file, int line, int depth, Secrets& s,
                     SecretsResult& res) {
  if (depth >= kMaxSecretsIncludeDepth) {
    res.errors.push_back(Diagnostic{file, line, "include", "includes nested too deeply (a loop?)"});
    return;
  }
  const std::string full = resolve_path(dir_of(file), pattern);
  glob_t g{};
  const int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    if (pattern.find_first_of("*?[") == std::string::npos)
      res.warnings.push_back(Diagnostic{file, line, "include", "'" + full + "': no such file, skipped"});
    return;
  }
  if (rc != 0) {
    globfree(&g);
    res.errors.push_back(Diagnostic{file, line, "include", "'" + full + "': cannot read"});
    return;
  }
  for (std::size_t i = 0; i < g.gl_pathc; ++i) {
    auto sub = load_secrets_at(g.gl_pathv[i], depth + 1);
    for (auto& e : sub.errors) res.errors.push_back(std::move(e));
    for (auto& w : sub.warnings) res.warnings.push_back(std::move(w));
    if (sub.secrets)
      for (auto& e : sub.secrets->entries) s.entries.push_back(std::move(e));
  }
  globfree(&g);
}

// depth < 0: no filesystem (parse_secrets_string), so an include is an error.
SecretsResult parse_secrets_at(std::string_view text, std::string_view name, int depth) {
  SecretsResult res;
  Secrets s;
  s.path = std::string(name);
  const std::string file(name);
  const std::string base = dir_of(file);

  // Join continuation lines (indented) to the entry they continue, keeping the first
  // line number for diagnostics.
  struct Entry {
    std::string text;
    int line;
  };
  std::vector<Entry> entries;
  int lineno = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    std::string_view t = trim(line);
    if (!t.empty() && t.front() != '#') {
      if (line.find('\0') != std::string_view::npos) {
        res.errors.push_back(Diagnostic{file, lineno, "", "NUL byte in line"});
      } else if ((line.front() == ' ' || line.front() == '\t') && !entries.empty()) {
        entries.back().text += ' ';
        entries.back().text += std::string(t);
      } else {
        entries.push_back(Entry{std::string(t), lineno});
      }
    }
    if (nl == text.size()) break;
  }

  for (const auto& en : entries) {
    auto err = [&](std::string msg) {
      res.errors.push_back(Diagnostic{file, en.line, "", std::move(msg)});
    };
    std::vector<std::string> toks;
    struct WipeTokens {  // the PSK passes through these
      std::vector<std::string>& t;
      ~WipeTokens() {
        for (auto& x : t) common::wipe_string(x);
      }
    } wipe_tokens{toks};
    if (!tokenize(en.text, toks)) {
      err("unterminated quoted string");
      continue;
    }
    if (!toks.empty() && toks[0] == "include") {
      if (toks.size() != 2) err("expected: include PATH");
      else if (depth < 0) err("include needs the file on disk (not available here)");
      else include_secrets(toks[1], file, en.line, depth, s, res);
      continue;
    }
    std::size_t colon = toks.size();
    for (std::size_t i = 0; i < toks.size(); ++i)
      if (toks[i] == ":") {
        colon = i;
        break;
      }
    if (colon == toks.size()) {
      err("expected '[ids] : TYPE value'");
      continue;
    }
    SecretEntry e;
    e.file = file;
    e.line = en.line;
    bool ok = true;
    for (std::size_t i = 0; i < colon; ++i) {
      std::string id = toks[i];
      if (!id.empty() && id[0] == '"') id.erase(0, 1);
      if (id.empty()) {
        err("empty identity");
        ok = false;
      }
      e.ids.push_back(std::move(id));
    }
    if (colon + 1 >= toks.size()) {
      err("missing secret type after ':' (PSK, RSA or ECDSA)");
      continue;
    }
    std::string type = lower(toks[colon + 1]);
    std::size_t nvals = toks.size() - colon - 2;
    if (type == "psk") {
      e.type = SecretEntry::Type::psk;
      if (nvals != 1) {
        err("PSK takes one value: \"secret\", 0x<hex> or 0s<base64>");
        continue;
      }
      const std::string& v = toks[colon + 2];
      if (!v.empty() && v[0] == '"') {
        if (v.size() == 1) {
          err("empty PSK");
          ok = false;
        }
        for (std::size_t i = 1; i < v.size(); ++i) e.psk.push_back(static_cast<std::byte>(v[i]));
      } else if (auto b = decode_prefixed_binary(v)) {
        e.psk = *b;
        OPENSSL_cleanse(b->data(), b->size());
      } else {
        err("PSK must be \"quoted\", 0x<hex> or 0s<base64>");
        ok = false;
      }
    } else if (type == "rsa" || type == "ecdsa") {
      e.type = type == "rsa" ? SecretEntry::Type::rsa : SecretEntry::Type::ecdsa;
      const std::string kind = type == "rsa" ? "RSA" : "ECDSA";
      if (nvals < 1 || nvals > 2) {
        err(kind + " takes a key file and an optional passphrase");
        continue;
      }
      std::string p = toks[colon + 2];
      if (!p.empty() && p[0] == '"') p.erase(0, 1);
      if (p.empty()) {
        err("empty " + kind + " key path");
        ok = false;
      }
      e.key_path = (p.empty() || p[0] == '/' || base == ".") ? p : base + "/" + p;
      if (nvals == 2) {
        e.passphrase = toks[colon + 3];
        if (!e.passphrase.empty() && e.passphrase[0] == '"') e.passphrase.erase(0, 1);
      }
    } else {
      err("unsupported secret type '" + toks[colon + 1] + "' (PSK, RSA or ECDSA)");
      continue;
    }
    if (ok) s.entries.push_back(std::move(e));
  }
  for (auto& en : entries) common::wipe_string(en.text);
  if (res.errors.empty()) res.secrets = std::move(s);
  return res;
}

SecretsResult load_secrets_at(const std::string& path, int depth) {
  SecretsResult res;
  auto fail = [&](std::string msg) {
    res.errors.push_back(Diagnostic{path, 0, "", std::move(msg)});
    return res;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::string("cannot open the secrets file: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail(std::string("cannot stat the secrets file: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("the secrets file is not a regular file");
  }
  // Checked once the file is read: a swanctl.conf (swanctl.h) is checked per file that holds
  // a secret.
  auto too_open = [&] {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(std::string("refusing a secrets file readable or writable by group or others (mode ") +
                mode + "): chmod 600 " + path);
  };
  if (static_cast<std::size_t>(st.st_size) > kMaxSecretsFile) {
    ::close(fd);
    return fail("the secrets file is too large");
  }
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size) + 1);  // one buffer, wiped below
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail(std::string("cannot read the secrets file: ") + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxSecretsFile) {
      ::close(fd);
      return fail("the secrets file is too large");
    }
  }
  ::close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (is_swanctl(text, path)) {
    auto parsed = swanctl_secrets(text, path, st.st_mode, true);
    common::wipe_string(text);
    return parsed;
  }
  if ((st.st_mode & 077) != 0) {
    common::wipe_string(text);
    return too_open();
  }
  auto parsed = parse_secrets_at(text, path, depth);
  common::wipe_string(text);
  return parsed;
}

}  // namespace

SecretsResult parse_secrets_string(std::string_view text, std::string_view name) {
  if (is_swanctl(text, name)) return swanctl_secrets(text, std::string(name), 0600, false);
  return parse_secrets_at(text, name, -1);
}

SecretsResult load_secrets(const std::string& path) { return load_secrets_at(path, 0); }

}  // namespace config
