#include "apps/config.h"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "apps/secrets.h"

namespace apps {
namespace {

using common::IpAddr;
using common::Prefix;
using common::TrafficSelector;

constexpr int kMaxIncludeDepth = 10;
constexpr std::uint32_t kMaxReplayWindow = 1u << 20;
constexpr long long kMaxDurationSeconds = 10LL * 365 * 24 * 3600;
constexpr unsigned long long kMaxVolume = 1ULL << 62;
constexpr unsigned long long kMinFragmentSize = 256;  // ike::kMinFragmentSize

// ---------------------------------------------------------------------------------------
// Key tables

// Keys accepted for a conn. `left`/`right` variants are generated from kSideKeys.
constexpr std::string_view kConnKeys[] = {
    "keyexchange", "type",       "authby",     "ike",        "esp",
    "ikelifetime", "lifetime",   "rekeymargin", "rekeyfuzz", "rekey",
    "reauth",      "dpddelay",   "dpdtimeout", "dpdaction",  "forceencaps",
    "replay_window", "auto",     "fragmentation", "lifebytes", "lifepackets",
    "marginbytes", "marginpackets",
};
constexpr std::string_view kSideKeys[] = {"", "id", "subnet", "protoport", "rsasigkey", "pubkey",
                                          "ikeport", "auth"};
// Accepted with a warning: they only steer a kernel IPsec stack or charon features that
// swanless does not have, and pasted strongSwan/libreswan configs often carry them.
constexpr std::string_view kIgnoredConnKeys[] = {
    "mark", "mark_in", "mark_out", "installpolicy", "leftupdown", "rightupdown",
    "leftfirewall", "rightfirewall", "lefthostaccess", "righthostaccess", "compress", "tfc",
    "reqid", "if_id_in", "if_id_out", "hw_offload", "leftnexthop", "rightnexthop", "mobike",
    "keyingtries", "closeaction", "inactivity", "leftsendcert",
    "rightsendcert", "ikev2", "pfs", "sha256_96",
};
constexpr std::string_view kSetupKeys[] = {"socket", "secrets", "keylog", "pcap", "loglevel", "fragment_size", "offload"};
constexpr std::string_view kIgnoredSetupKeys[] = {
    "charondebug", "uniqueids", "cachecrls", "strictcrlpolicy", "plutodebug", "protostack",
    "interfaces", "nat_traversal", "virtual_private", "nhelpers", "plutostderrlog", "logfile",
    "dumpdir", "charonstart", "plutostart",
};
constexpr std::string_view kGreKeys[] = {"local",  "remote", "conn",      "address",
                                         "peer",   "mtu",    "ttl",       "key",
                                         "routes", "keepalive", "keepalive_retries", "tun",
                                         "mss"};
constexpr std::string_view kPimKeys[] = {"interface", "neighbor", "rp",       "groups", "sources",
                                         "hello",     "join",     "holdtime", "deliver"};

template <std::size_t N>
bool in(const std::string_view (&table)[N], std::string_view k) {
  return std::find(std::begin(table), std::end(table), k) != std::end(table);
}

bool is_conn_key(std::string_view k) {
  if (in(kConnKeys, k)) return true;
  for (std::string_view side : {"left", "right"}) {
    if (k.substr(0, side.size()) != side) continue;
    if (in(kSideKeys, k.substr(side.size()))) return true;
  }
  return false;
}

// strongSwan aliases, folded so a duplicate is detected whatever the spelling.
std::string canonical_key(std::string_view k) {
  if (k == "keylife") return "lifetime";
  if (k == "margintime") return "rekeymargin";
  return std::string(k);
}

// ---------------------------------------------------------------------------------------
// Stage 1: syntax

enum class SectionType : std::uint8_t { setup, conn, gre, pim };

std::string_view type_name(SectionType t) {
  switch (t) {
    case SectionType::setup: return "config";
    case SectionType::conn: return "conn";
    case SectionType::gre: return "gre";
    case SectionType::pim: return "pim";
  }
  return "?";
}

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

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Comma-separated list, items trimmed; empty items are kept so callers can reject them.
std::vector<std::string_view> split_list(std::string_view s, char sep = ',') {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t c = s.find(sep, pos);
    if (c == std::string_view::npos) {
      out.push_back(trim(s.substr(pos)));
      break;
    }
    out.push_back(trim(s.substr(pos, c - pos)));
    pos = c + 1;
  }
  return out;
}

std::string dir_of(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string resolve_path(std::string_view base_dir, std::string_view p) {
  if (p.empty() || p.front() == '/') return std::string(p);
  if (base_dir.empty() || base_dir == ".") return std::string(p);
  return std::string(base_dir) + "/" + std::string(p);
}

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

class Parser {
 public:
  Parser(const ParseOptions& o, LoadResult& r) : opts_(o), res_(r) {}

  void error(const std::string& file, int line, std::string key, std::string msg) {
    res_.errors.push_back(Diagnostic{file, line, std::move(key), std::move(msg)});
  }
  void warn(const std::string& file, int line, std::string key, std::string msg) {
    res_.warnings.push_back(Diagnostic{file, line, std::move(key), std::move(msg)});
  }

  void parse_text(std::string_view text, const std::string& file, int depth) {
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
        const std::size_t errors_before = res_.errors.size();
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
                     res_.errors.size() > errors_before;
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

  std::vector<RawSection>& sections() { return sections_; }

 private:
  RawSection* open_section(SectionType ty, std::string name, const std::string& file, int line) {
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

  void parse_key_line(std::string_view t, const std::string& file, int lineno, RawSection& sec,
                      bool is_default) {
    std::size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
      error(file, lineno, std::string(trim(t.substr(0, t.find('#')))), "expected key=value");
      return;
    }
    std::string_view key = trim(t.substr(0, eq));
    std::string_view rest = trim(t.substr(eq + 1));
    bool key_ok = !key.empty();
    for (char c : key)
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
            c == '_'))
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
    const SectionType ty = sec.type;
    bool known = false;
    bool ignored = false;
    switch (ty) {
      case SectionType::setup:
        known = in(kSetupKeys, k);
        ignored = in(kIgnoredSetupKeys, k);
        break;
      case SectionType::conn:
        known = is_conn_key(k) || k == "also";
        ignored = in(kIgnoredConnKeys, k);
        break;
      case SectionType::gre: known = in(kGreKeys, k); break;
      case SectionType::pim: known = in(kPimKeys, k); break;
    }
    if (ignored) {
      warn(file, lineno, k, "ignored (only meaningful for a kernel IPsec stack / not used by swanless)");
      return;
    }
    if (!known) {
      error(file, lineno, k, "unknown key in '" + std::string(type_name(ty)) + "' section");
      return;
    }
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

  void do_include(const std::string& pattern, const std::string& file, int lineno, int depth) {
    if (!opts_.include) {
      error(file, lineno, "include", "include is not available here");
      return;
    }
    if (depth >= kMaxIncludeDepth) {
      error(file, lineno, "include", "includes nested too deeply (a loop?)");
      return;
    }
    std::vector<IncludedFile> files;
    std::string err;
    if (!opts_.include(pattern, dir_of(file), files, err)) {
      error(file, lineno, "include", "'" + pattern + "': " + err);
      return;
    }
    for (const auto& f : files) parse_text(f.text, f.name, depth + 1);
  }

  const ParseOptions& opts_;
  LoadResult& res_;
  // std::deque-like stability is not needed: pointers into sections_ are only held while
  // parsing one section, and open_section is the only place that appends.
  std::vector<RawSection> sections_;
  RawSection default_section_;
  std::vector<std::string> default_seen_keys_;
};

// ---------------------------------------------------------------------------------------
// Value parsers

std::optional<unsigned long long> parse_uint(std::string_view s, unsigned long long max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

std::optional<IpAddr> parse_ip(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  return IpAddr::parse(s);
}

// "a.b.c.d/n" with an explicit or implicit length.
std::optional<Prefix> parse_prefix(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  return Prefix::parse(s);
}

struct ProtoPort {
  std::uint8_t proto = 0;
  std::uint16_t lo = 0, hi = 65535;
};

std::optional<std::uint8_t> parse_protocol(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint8_t> kNames[] = {
      {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50},
      {"ah", 51},  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"%any", 0},
  };
  for (const auto& [n, v] : kNames)
    if (s == n) return v;
  if (auto v = parse_uint(s, 255)) return static_cast<std::uint8_t>(*v);
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port_number(std::string_view s) {
  static constexpr std::pair<std::string_view, std::uint16_t> kNames[] = {
      {"http", 80}, {"https", 443}, {"domain", 53}, {"ssh", 22}, {"isakmp", 500},
      {"ipsec-nat-t", 4500}, {"bgp", 179},
  };
  for (const auto& [n, v] : kNames)
    if (s == n) return v;
  if (auto v = parse_uint(s, 65535)) return static_cast<std::uint16_t>(*v);
  return std::nullopt;
}

// strongSwan/libreswan protoport: "gre", "47", "tcp/80", "udp/%any", "tcp/1024-2048", "/53".
std::optional<ProtoPort> parse_protoport(std::string_view s) {
  ProtoPort pp;
  std::size_t slash = s.find('/');
  std::string_view proto = s.substr(0, slash);
  if (!proto.empty()) {
    auto p = parse_protocol(proto);
    if (!p) return std::nullopt;
    pp.proto = *p;
  } else if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  if (slash == std::string_view::npos) return pp;
  std::string_view port = s.substr(slash + 1);
  if (port == "%any" || port.empty()) return port.empty() ? std::nullopt : std::optional(pp);
  std::size_t dash = port.find('-');
  if (dash == std::string_view::npos) {
    auto v = parse_port_number(port);
    if (!v) return std::nullopt;
    pp.lo = pp.hi = *v;
  } else {
    auto a = parse_port_number(port.substr(0, dash));
    auto b = parse_port_number(port.substr(dash + 1));
    if (!a || !b || *a > *b) return std::nullopt;
    pp.lo = *a;
    pp.hi = *b;
  }
  // Ports only mean something for protocols that have them (or for "any").
  if (!(pp.proto == 0 || pp.proto == 6 || pp.proto == 17 || pp.proto == 132) &&
      !(pp.lo == 0 && pp.hi == 65535))
    return std::nullopt;
  return pp;
}

// One leftsubnet item: "10.0.0.0/24", "10.0.0.1", "10.0.0.1-10.0.0.9", each optionally
// followed by strongSwan's "[proto/port]".
std::optional<TrafficSelector> parse_subnet_item(std::string_view s, const ProtoPort& deflt,
                                                 std::optional<Prefix>* written = nullptr) {
  ProtoPort pp = deflt;
  std::size_t br = s.find('[');
  if (br != std::string_view::npos) {
    if (s.back() != ']') return std::nullopt;
    auto p = parse_protoport(s.substr(br + 1, s.size() - br - 2));
    if (!p) return std::nullopt;
    pp = *p;
    s = trim(s.substr(0, br));
  }
  std::size_t dash = s.find('-');
  if (dash != std::string_view::npos && s.find('/') == std::string_view::npos) {
    auto a = parse_ip(s.substr(0, dash));
    auto b = parse_ip(s.substr(dash + 1));
    if (!a || !b || a->family != b->family || *b < *a) return std::nullopt;
    TrafficSelector ts;
    ts.start = *a;
    ts.end = *b;
    ts.protocol = pp.proto;
    ts.start_port = pp.lo;
    ts.end_port = pp.hi;
    return ts;
  }
  auto pfx = parse_prefix(s);
  if (!pfx) return std::nullopt;
  if (written) *written = pfx;
  return TrafficSelector::from_prefix(*pfx, pp.proto, pp.lo, pp.hi);
}

// ---------------------------------------------------------------------------------------
// Stage 2: conn inheritance (own keys > also= conns in order > %default)

using KeyMap = std::map<std::string, RawKey>;

class Resolver {
 public:
  Resolver(std::vector<RawSection>& secs, Parser& p) : secs_(secs), p_(p) {
    for (std::size_t i = 0; i < secs_.size(); ++i)
      if (secs_[i].type == SectionType::conn) conn_index_[secs_[i].name] = i;
  }

  // Own keys plus everything pulled in with also=, without %default. Empty values stay in
  // the map (they unset a key) and are dropped by the caller.
  bool chain(std::size_t idx, KeyMap& out, std::vector<std::string>& ancestors) {
    auto& sec = secs_[idx];
    if (std::find(stack_.begin(), stack_.end(), idx) != stack_.end()) return false;
    stack_.push_back(idx);
    for (const auto& k : sec.keys) out.emplace(k.key, k);  // emplace: earlier wins
    bool ok = true;
    for (const auto& a : sec.also) {
      auto it = conn_index_.find(a.value);
      if (it == conn_index_.end()) {
        p_.error(a.file, a.line, "also", "no conn named '" + a.value + "'");
        ok = false;
        continue;
      }
      if (std::find(stack_.begin(), stack_.end(), it->second) != stack_.end()) {
        std::string path;
        for (auto s : stack_) path += secs_[s].name + " -> ";
        p_.error(a.file, a.line, "also", "also= loop: " + path + a.value);
        ok = false;
        continue;
      }
      if (std::find(ancestors.begin(), ancestors.end(), a.value) == ancestors.end())
        ancestors.push_back(a.value);
      if (!chain(it->second, out, ancestors)) ok = false;
    }
    stack_.pop_back();
    return ok;
  }

 private:
  std::vector<RawSection>& secs_;
  Parser& p_;
  std::map<std::string, std::size_t> conn_index_;
  std::vector<std::size_t> stack_;
};

// ---------------------------------------------------------------------------------------
// Stage 3: typed values

class Typer {
 public:
  Typer(Parser& p, std::string config_dir) : p_(p), dir_(std::move(config_dir)) {}

  void err(const RawKey& k, std::string msg) { p_.error(k.file, k.line, k.key, std::move(msg)); }
  void warn(const RawKey& k, std::string msg) { p_.warn(k.file, k.line, k.key, std::move(msg)); }

  std::optional<Seconds> duration(const RawKey& k) {
    auto d = parse_duration(k.value);
    if (!d) err(k, "malformed duration '" + k.value + "' (e.g. 30s, 9m, 3h, 1d, or seconds)");
    return d;
  }
  std::optional<bool> yes_no(const RawKey& k) {
    auto b = parse_yes_no(k.value);
    if (!b) err(k, "expected yes or no, not '" + k.value + "'");
    return b;
  }
  std::optional<IpAddr> ip(const RawKey& k) {
    auto a = parse_ip(k.value);
    if (!a) err(k, "malformed IP address '" + k.value + "'");
    return a;
  }
  std::optional<IpAddr> ipv4(const RawKey& k) {
    auto a = ip(k);
    if (a && !a->is_v4()) {
      err(k, "only IPv4 is supported here");
      return std::nullopt;
    }
    return a;
  }
  std::optional<unsigned long long> uint(const RawKey& k, unsigned long long lo,
                                         unsigned long long hi) {
    auto v = parse_uint(k.value, hi);
    if (!v || *v < lo) {
      err(k, "expected a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                 ", not '" + k.value + "'");
      return std::nullopt;
    }
    return v;
  }
  std::string path(const RawKey& k) { return resolve_path(dir_, k.value); }
  const std::string& dir() const { return dir_; }

 private:
  Parser& p_;
  std::string dir_;
};

// The keys of one gre or pim section, by name. Every check that fails reports at the key
// (a missing required key at the section line) and clears `ok`: the section is kept only
// when all its keys are good.
class SectionKeys {
 public:
  SectionKeys(const RawSection& s, Parser& p, Typer& ty) : s_(s), p_(p), ty_(ty) {
    for (const auto& k : s.keys)
      if (!k.value.empty()) m_.emplace(k.key, k);
  }
  const RawKey* get(const char* key) const {
    auto it = m_.find(key);
    return it == m_.end() ? nullptr : &it->second;
  }
  const RawKey* required(const char* key) {
    const RawKey* k = get(key);
    if (!k) error(key, "required in " + std::string(type_name(s_.type)) + " " + s_.name);
    return k;
  }
  // key=IPv4 address into out (left alone when the key is absent and not required).
  void ipv4(const char* key, IpAddr& out, bool is_required) {
    const RawKey* k = is_required ? required(key) : get(key);
    if (!k) return;
    if (auto a = ty_.ipv4(*k)) out = *a;
    else ok = false;
  }
  // key=number in [lo, hi] into out.
  void number(const char* key, unsigned& out, unsigned lo, unsigned hi) {
    if (const RawKey* k = get(key)) {
      if (auto v = ty_.uint(*k, lo, hi)) out = static_cast<unsigned>(*v);
      else ok = false;
    }
  }
  void err(const RawKey& k, std::string msg) {
    ty_.err(k, std::move(msg));
    ok = false;
  }
  // An error about the section (a key missing, or keys that do not fit together).
  void error(const char* key, std::string msg) {
    p_.error(s_.file, s_.line, key, std::move(msg));
    ok = false;
  }
  bool ok = true;

 private:
  const RawSection& s_;
  Parser& p_;
  Typer& ty_;
  KeyMap m_;
};

void type_host(Typer& ty, const KeyMap& m, std::string_view side, HostConfig& h, bool& ok) {
  auto get = [&](std::string_view suffix) -> const RawKey* {
    auto it = m.find(std::string(side) + std::string(suffix));
    return it == m.end() ? nullptr : &it->second;
  };
  if (auto k = get("")) {
    if (k->value == "%any" || k->value == "%any4") {
      h.kind = HostConfig::Kind::any;
    } else if (k->value == "%defaultroute") {
      h.kind = HostConfig::Kind::defaultroute;
    } else if (auto a = parse_ip(k->value)) {
      h.kind = HostConfig::Kind::address;
      h.addr = *a;
      if (!a->is_v4()) {
        ty.err(*k, "only IPv4 endpoints are supported");
        ok = false;
      }
    } else {
      ty.err(*k, "expected an IP address, %any or %defaultroute, not '" + k->value +
                     "' (host names are not resolved)");
      ok = false;
    }
  }
  if (auto k = get("id")) h.id = k->value;
  ProtoPort pp;
  if (auto k = get("protoport")) {
    if (auto v = parse_protoport(k->value)) {
      pp = *v;
    } else {
      ty.err(*k, "malformed protoport '" + k->value + "' (e.g. gre, 47, tcp/80, udp/%any)");
      ok = false;
    }
  }
  h.protocol = pp.proto;
  h.port_lo = pp.lo;
  h.port_hi = pp.hi;
  if (auto k = get("subnet")) {
    for (auto item : split_list(k->value)) {
      std::optional<Prefix> written;
      auto ts = parse_subnet_item(item, pp, &written);
      if (!ts) {
        ty.err(*k, "malformed subnet '" + std::string(item) +
                       "' (CIDR, address or range, optional [proto/port])");
        ok = false;
        continue;
      }
      h.subnets.push_back(*ts);
      if (written) h.prefixes.push_back(*written);
    }
  } else if (h.kind == HostConfig::Kind::address) {
    h.subnets.push_back(TrafficSelector::from_prefix(
        Prefix{h.addr, static_cast<std::uint8_t>(h.addr.is_v4() ? 32 : 128)}, pp.proto, pp.lo,
        pp.hi));
  } else {
    h.dynamic = true;
  }
  if (auto k = get("ikeport")) {
    if (auto v = ty.uint(*k, 1, 65535))
      h.ike_port = static_cast<std::uint16_t>(*v);
    else
      ok = false;
  }
  if (auto k = get("rsasigkey")) {
    auto b = decode_prefixed_binary(k->value);
    if (!b || b->size() < 4) {
      ty.err(*k, "expected a raw RSA key as 0s<base64> or 0x<hex> (see 'swanless showkey')");
      ok = false;
    } else {
      h.rsasigkey = std::move(*b);
    }
  }
  if (auto k = get("pubkey")) h.pubkey = ty.path(*k);
}

// leftauth=/rightauth= as strongSwan's ipsec.conf(5) writes them: psk | secret | pubkey |
// rsa | rsasig | rsa/pss, an optional "ike:" prefix (constraints for IKEv2 signatures are
// what swanless has anyway), and -sha256/-sha384/-sha512 suffixes for the RFC 7427 hashes
// in order of preference. Key-strength (rsa-2048), ECDSA, EAP and XAuth forms are refused.
struct AuthSpec {
  AuthMethod method = AuthMethod::pubkey;
  ConnConfig::SigScheme scheme;
};
std::optional<AuthSpec> parse_auth(std::string_view v, std::string& why) {
  AuthSpec a;
  if (v.substr(0, 4) == "ike:") v.remove_prefix(4);
  std::size_t dash = v.find('-');
  std::string_view head = v.substr(0, dash);
  if (head == "psk" || head == "secret") {
    a.method = AuthMethod::psk;
  } else if (head == "pubkey" || head == "rsa" || head == "rsasig") {
    a.method = AuthMethod::pubkey;
  } else if (head == "rsa/pss") {
    a.method = AuthMethod::pubkey;
    a.scheme.pss = true;
  } else {
    why = "expected psk, secret, pubkey, rsa, rsasig or rsa/pss (optionally -sha256/-sha384/-sha512), not '" +
          std::string(v) + "'";
    return std::nullopt;
  }
  while (dash != std::string_view::npos) {
    std::size_t next = v.find('-', dash + 1);
    std::string_view h = v.substr(dash + 1, next == std::string_view::npos ? next : next - dash - 1);
    dash = next;
    using common::crypto::SigHash;
    std::optional<SigHash> hash;
    if (h == "sha256" || h == "sha2_256") hash = SigHash::sha256;
    else if (h == "sha384" || h == "sha2_384") hash = SigHash::sha384;
    else if (h == "sha512" || h == "sha2_512") hash = SigHash::sha512;
    if (!hash || a.method == AuthMethod::psk) {
      why = a.method == AuthMethod::psk ? "psk takes no suffix"
                                        : "unsupported '-" + std::string(h) +
                                              "': only -sha256, -sha384, -sha512 (RFC 8247 §3.2: no SHA-1, no key-strength constraints)";
      return std::nullopt;
    }
    if (std::find(a.scheme.hashes.begin(), a.scheme.hashes.end(), *hash) == a.scheme.hashes.end())
      a.scheme.hashes.push_back(*hash);
  }
  return a;
}

std::optional<ConnConfig> type_conn(Typer& ty, const RawSection& sec, const KeyMap& m) {
  ConnConfig c;
  c.name = sec.name;
  c.file = sec.file;
  c.line = sec.line;
  bool ok = true;
  type_host(ty, m, "left", c.left, ok);
  type_host(ty, m, "right", c.right, ok);
  auto get = [&](const char* key) -> const RawKey* {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  };
  if (auto k = get("keyexchange")) {
    if (k->value == "ikev1") {
      ty.err(*k, "IKEv1 is not supported: swanless speaks IKEv2 only (keyexchange=ikev2)");
      ok = false;
    } else if (k->value != "ikev2" && k->value != "ike") {
      ty.err(*k, "expected ikev2, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("type")) {
    if (k->value == "tunnel") c.mode = Mode::tunnel;
    else if (k->value == "transport") c.mode = Mode::transport;
    else {
      ty.err(*k, "expected tunnel or transport, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("authby")) {
    if (k->value == "secret" || k->value == "psk") c.auth = AuthMethod::psk;
    else if (k->value == "rsasig" || k->value == "pubkey" || k->value == "rsa") c.auth = AuthMethod::pubkey;
    else {
      ty.err(*k, "expected secret, psk, rsasig or pubkey, not '" + k->value + "'");
      ok = false;
    }
  }
  // leftauth/rightauth: swanless authenticates both ends the same way (PSK or signatures).
  std::optional<AuthSpec> side_auth[2];
  const char* side_auth_key[2] = {"leftauth", "rightauth"};
  for (int i = 0; i < 2; ++i) {
    const RawKey* k = get(side_auth_key[i]);
    if (!k) continue;
    std::string why;
    side_auth[i] = parse_auth(k->value, why);
    if (!side_auth[i]) {
      ty.err(*k, why);
      ok = false;
    } else if (const RawKey* by = get("authby"); by && side_auth[i]->method != c.auth) {
      ty.err(*k, k->value + " conflicts with authby=" + by->value);
      ok = false;
    } else if (i == 1 && side_auth[0] && side_auth[0]->method != side_auth[1]->method) {
      ty.err(*k, "leftauth and rightauth must both be psk or both public keys: swanless authenticates "
                 "both ends the same way");
      ok = false;
    } else {
      c.auth = side_auth[i]->method;
      (i == 0 ? c.sign : c.require) = side_auth[i]->scheme;
    }
  }
  if (auto k = get("auto")) {
    if (k->value == "ignore") c.auto_action = AutoAction::ignore;
    else if (k->value == "add") c.auto_action = AutoAction::add;
    else if (k->value == "start") c.auto_action = AutoAction::start;
    else if (k->value == "route") {
      ty.err(*k, "auto=route needs kernel trap policies: use start or add");
      ok = false;
    } else {
      ty.err(*k, "expected ignore, add or start, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("dpdaction")) {
    if (k->value == "none") c.dpd_action = DpdAction::none;
    else if (k->value == "clear") c.dpd_action = DpdAction::clear;
    else if (k->value == "hold") c.dpd_action = DpdAction::hold;
    else if (k->value == "restart") c.dpd_action = DpdAction::restart;
    else {
      ty.err(*k, "expected none, clear, hold or restart, not '" + k->value + "'");
      ok = false;
    }
  }
  auto proposals = [&](const char* key, ike::Protocol proto, ike::ProposalSet& out) {
    const RawKey* k = get(key);
    if (!k) {
      out.proposals = ike::default_proposals(proto);
      out.configured = 0;
      out.strict = false;
      return;
    }
    std::string bad;
    auto r = ike::parse_proposals(k->value, proto, &bad);
    if (!r) {
      ty.err(*k, std::string(r.error().detail) + (bad.empty() ? "" : " ('" + bad + "')"));
      ok = false;
      return;
    }
    out = std::move(r).value();
  };
  proposals("ike", ike::Protocol::ike, c.ike);
  proposals("esp", ike::Protocol::esp, c.esp);
  auto dur = [&](const char* key, Seconds& out) {
    if (auto k = get(key)) {
      if (auto d = ty.duration(*k)) out = *d;
      else ok = false;
    }
  };
  dur("ikelifetime", c.ike_lifetime);
  dur("lifetime", c.lifetime);
  dur("rekeymargin", c.rekey_margin);
  dur("dpddelay", c.dpd_delay);
  dur("dpdtimeout", c.dpd_timeout);
  auto yn = [&](const char* key, bool& out) {
    if (auto k = get(key)) {
      if (auto b = ty.yes_no(*k)) out = *b;
      else ok = false;
    }
  };
  yn("rekey", c.rekey);
  yn("reauth", c.reauth);
  yn("forceencaps", c.force_encaps);
  yn("fragmentation", c.fragmentation);
  // Volume limits (strongSwan: plain numbers; 0 = no limit).
  auto count = [&](const char* key, std::uint64_t& out) {
    if (auto k = get(key)) {
      if (auto v = ty.uint(*k, 0, kMaxVolume)) out = *v;
      else ok = false;
    }
  };
  count("lifebytes", c.life_bytes);
  count("lifepackets", c.life_packets);
  count("marginbytes", c.margin_bytes);
  count("marginpackets", c.margin_packets);
  if (auto k = get("rekeyfuzz")) {
    std::string_view v = k->value;
    if (!v.empty() && v.back() == '%') v.remove_suffix(1);
    if (auto n = parse_uint(v, 100000)) {
      c.rekey_fuzz_percent = static_cast<unsigned>(*n);
    } else {
      ty.err(*k, "expected a percentage such as 100%, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("replay_window")) {
    if (auto v = ty.uint(*k, 0, kMaxReplayWindow)) c.replay_window = static_cast<std::uint32_t>(*v);
    else ok = false;
  }
  if (!ok) return std::nullopt;

  // Coherence checks, reported at the key that makes them fail.
  // The first of the keys that is set (where the user can fix it), else the section line.
  auto at = [&](const char* key, const char* alt = nullptr) -> RawKey {
    if (auto k = get(key)) return *k;
    if (alt)
      if (auto k = get(alt)) return *k;
    return RawKey{key, "", sec.file, sec.line};
  };
  if (c.ike_lifetime.count() == 0 || c.rekey_margin >= c.ike_lifetime) {
    ty.err(at("ikelifetime", "rekeymargin"), "ikelifetime must be longer than rekeymargin");
    ok = false;
  }
  if (c.life_bytes && c.margin_bytes >= c.life_bytes) {
    ty.err(at("marginbytes", "lifebytes"), "lifebytes must be larger than marginbytes");
    ok = false;
  }
  if (c.life_packets && c.margin_packets >= c.life_packets) {
    ty.err(at("marginpackets", "lifepackets"), "lifepackets must be larger than marginpackets");
    ok = false;
  }
  if (c.lifetime.count() == 0 || c.rekey_margin >= c.lifetime) {
    ty.err(at("lifetime", "rekeymargin"), "lifetime must be longer than rekeymargin");
    ok = false;
  }
  // As strongSwan's starter: the randomised margin (margin + margin * fuzz) should stay
  // below the lifetime, or rekeying may start right after an SA is set up.
  const long long fuzzed = c.rekey_margin.count() * (100LL + c.rekey_fuzz_percent) / 100;
  if (ok && fuzzed >= c.lifetime.count())
    ty.warn(at("rekeyfuzz", "rekeymargin"),
            "rekeymargin + rekeyfuzz can reach lifetime: a CHILD_SA may rekey right after it is set up");
  if (ok && fuzzed >= c.ike_lifetime.count())
    ty.warn(at("rekeyfuzz", "rekeymargin"),
            "rekeymargin + rekeyfuzz can reach ikelifetime: the IKE_SA may rekey right after it is set up");
  if (c.auto_action != AutoAction::ignore) {
    if (c.right.kind == HostConfig::Kind::defaultroute) {
      ty.err(at("right"), "right=%defaultroute makes no sense: the peer's address or %any");
      ok = false;
    }
    if (c.auto_action == AutoAction::start && c.right.kind != HostConfig::Kind::address) {
      ty.err(at("right"), "auto=start needs right= to be the peer's address");
      ok = false;
    }
    if (c.auth == AuthMethod::pubkey && c.right.pubkey.empty() && c.right.rsasigkey.empty()) {
      ty.err(at("authby"),
             "authby=pubkey/rsasig needs rightpubkey= (PEM file) or rightrsasigkey= (0s...)");
      ok = false;
    }
    if (c.mode == Mode::transport && (m.count("leftsubnet") || m.count("rightsubnet"))) {
      for (const auto* s : {"leftsubnet", "rightsubnet"}) {
        if (!m.count(s)) continue;
        // Transport mode protects the hosts' own traffic: selectors must be the hosts.
        const HostConfig& h = s[0] == 'l' ? c.left : c.right;
        for (const auto& ts : h.subnets) {
          if (h.kind == HostConfig::Kind::address && !(ts.start == h.addr && ts.end == h.addr)) {
            ty.err(m.at(s), "type=transport: the subnet must be the host address itself");
            ok = false;
            break;
          }
        }
      }
    }
  }
  if (!ok) return std::nullopt;
  return c;
}

std::string ike_sa_key(const ConnConfig& c) {
  std::ostringstream k;
  auto host = [&](const HostConfig& h) {
    k << h.address_text() << '|' << h.effective_id() << '|' << h.ike_port << '|' << h.pubkey
      << '|' << common::to_hex(h.rsasigkey) << '|';
  };
  host(c.left);
  host(c.right);
  k << to_string(c.auth) << '|' << c.sign.to_string() << '|' << c.require.to_string() << '|'
    << ike::to_string(c.ike) << '|' << c.ike.strict << '|'
    << c.ike_lifetime.count() << '|' << c.reauth << '|' << c.rekey << '|' << c.dpd_delay.count()
    << '|' << c.dpd_timeout.count() << '|' << static_cast<int>(c.dpd_action) << '|'
    << c.force_encaps << '|' << c.fragmentation;
  return k.str();
}

bool covers(const HostConfig& h, const IpAddr& a) {
  if (h.dynamic) return h.protocol == 0 || h.protocol == 47;
  for (const auto& ts : h.subnets)
    if (ts.contains_addr(a) && (ts.protocol == 0 || ts.protocol == 47)) return true;
  return false;
}

bool is_multicast(const IpAddr& a) { return a.is_v4() ? (a.b[0] & 0xf0) == 0xe0 : a.b[0] == 0xff; }

}  // namespace

// ---------------------------------------------------------------------------------------
// Public helpers

std::string Diagnostic::to_string() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  s += ": ";
  if (!key.empty()) s += "'" + key + "': ";
  s += message;
  return s;
}

std::string_view to_string(AuthMethod a) { return a == AuthMethod::psk ? "psk" : "pubkey"; }

std::string ConnConfig::SigScheme::to_string() const {
  std::string s = pss ? "rsa/pss" : "pubkey";
  for (auto h : hashes) {
    s += '-';  // two appends: `"-" + std::string&&` trips g++ 12's false -Wrestrict at -O3
    s += common::crypto::to_string(h);
  }
  return s;
}
std::string_view to_string(Mode m) { return m == Mode::tunnel ? "tunnel" : "transport"; }
std::string_view to_string(AutoAction a) {
  switch (a) {
    case AutoAction::ignore: return "ignore";
    case AutoAction::add: return "add";
    case AutoAction::start: return "start";
  }
  return "?";
}
std::string_view to_string(DpdAction a) {
  switch (a) {
    case DpdAction::none: return "none";
    case DpdAction::clear: return "clear";
    case DpdAction::hold: return "hold";
    case DpdAction::restart: return "restart";
  }
  return "?";
}

std::string format_duration(Seconds s) {
  long long v = s.count();
  if (v == 0) return "0s";
  std::string out;
  const std::pair<long long, char> units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
  for (auto [n, c] : units) {
    if (v >= n) {
      out += std::to_string(v / n) + c;
      v %= n;
    }
  }
  return out;
}

std::optional<Seconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long mult = 1;
  switch (s.back()) {
    case 's': mult = 1; s.remove_suffix(1); break;
    case 'm': mult = 60; s.remove_suffix(1); break;
    case 'h': mult = 3600; s.remove_suffix(1); break;
    case 'd': mult = 86400; s.remove_suffix(1); break;
    default: break;
  }
  auto v = parse_uint(s, static_cast<unsigned long long>(kMaxDurationSeconds));
  if (!v) return std::nullopt;
  long long total = static_cast<long long>(*v) * mult;
  if (total > kMaxDurationSeconds) return std::nullopt;
  return Seconds{total};
}

std::optional<bool> parse_yes_no(std::string_view s) {
  if (s == "yes") return true;
  if (s == "no") return false;
  return std::nullopt;
}

std::string default_secrets_path(std::string_view config_path) {
  constexpr std::string_view kConf = ".conf";
  if (config_path.size() > kConf.size() &&
      config_path.substr(config_path.size() - kConf.size()) == kConf)
    return std::string(config_path.substr(0, config_path.size() - kConf.size())) + ".secrets";
  return std::string(config_path) + ".secrets";
}

std::string HostConfig::effective_id() const {
  if (!id.empty()) return id;
  return kind == Kind::address ? addr.to_string() : std::string();
}

std::string HostConfig::address_text() const {
  switch (kind) {
    case Kind::address: return addr.to_string();
    case Kind::any: return "%any";
    case Kind::defaultroute: return "%defaultroute";
  }
  return "?";
}

const ConnConfig* Config::find_conn(std::string_view name) const {
  for (const auto& c : conns)
    if (c.name == name) return &c;
  return nullptr;
}
const GreConfig* Config::find_gre(std::string_view name) const {
  for (const auto& g : gres)
    if (g.name == name) return &g;
  return nullptr;
}
const IkeSaGroup* Config::find_ike_sa(std::string_view name) const {
  for (const auto& g : ike_sas)
    if (g.name == name) return &g;
  return nullptr;
}

IncludeResolver filesystem_includes() {
  return [](const std::string& pattern, const std::string& base_dir,
            std::vector<IncludedFile>& out, std::string& error) -> bool {
    std::string full = resolve_path(base_dir, pattern);
    glob_t g{};
    int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &g);
    const bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      if (wildcard) return true;
      error = "no such file";
      return false;
    }
    if (rc != 0) {
      globfree(&g);
      error = "cannot read";
      return false;
    }
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      std::ifstream f(g.gl_pathv[i], std::ios::binary);
      if (!f) {
        error = std::string("cannot open ") + g.gl_pathv[i];
        globfree(&g);
        return false;
      }
      std::ostringstream ss;
      ss << f.rdbuf();
      out.push_back(IncludedFile{g.gl_pathv[i], ss.str()});
    }
    globfree(&g);
    return true;
  };
}

// ---------------------------------------------------------------------------------------
// The whole pipeline

LoadResult parse_string(std::string_view text, std::string_view name, const ParseOptions& options) {
  LoadResult res;
  Parser parser(options, res);
  const std::string file(name);
  parser.parse_text(text, file, 0);
  auto& secs = parser.sections();
  Typer ty(parser, dir_of(file));

  Config cfg;
  cfg.path = file;
  cfg.setup.secrets = default_secrets_path(file);

  // config setup
  for (const auto& s : secs) {
    if (s.type != SectionType::setup) continue;
    for (const auto& k : s.keys) {
      if (k.value.empty()) continue;
      if (k.key == "socket") cfg.setup.socket = ty.path(k);
      else if (k.key == "secrets") cfg.setup.secrets = ty.path(k);
      else if (k.key == "keylog") cfg.setup.keylog = (k.value == "off" || k.value == "no") ? "" : ty.path(k);
      else if (k.key == "pcap") cfg.setup.pcap = (k.value == "off" || k.value == "no") ? "" : ty.path(k);
      else if (k.key == "fragment_size") {
        if (auto v = ty.uint(k, kMinFragmentSize, 65535)) cfg.setup.fragment_size = static_cast<unsigned>(*v);
      } else if (k.key == "offload") {
        if (auto b = ty.yes_no(k)) cfg.setup.offload = *b;
      } else if (k.key == "loglevel") {
        if (!common::parse_log_level(k.value, cfg.setup.loglevel))
          ty.err(k, "expected error, warn, info, debug or trace, not '" + k.value + "'");
      }
    }
  }

  // conns
  Resolver resolver(secs, parser);
  std::map<std::string, std::vector<std::string>> ancestors;  // conn -> self + also chain
  std::set<std::string> active_names;
  for (std::size_t i = 0; i < secs.size(); ++i) {
    const auto& s = secs[i];
    if (s.type != SectionType::conn) continue;
    KeyMap m;
    std::vector<std::string> anc{s.name};
    if (!resolver.chain(i, m, anc)) continue;
    for (const auto& d : s.defaults) m.emplace(d.key, d);
    for (auto it = m.begin(); it != m.end();) {
      if (it->second.value.empty()) it = m.erase(it);
      else ++it;
    }
    auto c = type_conn(ty, s, m);
    if (!c) continue;
    ancestors[s.name] = anc;
    if (c->auto_action == AutoAction::ignore) {
      cfg.ignored_conns.push_back(c->name);
    } else {
      active_names.insert(c->name);
      cfg.conns.push_back(std::move(*c));
    }
  }

  // IKE_SA groups, in order of first appearance.
  {
    std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
    for (std::size_t i = 0; i < cfg.conns.size(); ++i) {
      std::string key = ike_sa_key(cfg.conns[i]);
      auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
      if (it == groups.end()) groups.push_back({key, {i}});
      else it->second.push_back(i);
    }
    std::set<std::string> used;
    for (auto& [key, members] : groups) {
      std::string name = cfg.conns[members.front()].name;
      if (members.size() > 1) {
        for (const auto& cand : ancestors[name]) {
          bool all = std::all_of(members.begin(), members.end(), [&](std::size_t mi) {
            const auto& a = ancestors[cfg.conns[mi].name];
            return std::find(a.begin(), a.end(), cand) != a.end();
          });
          bool clash = active_names.count(cand) &&
                       std::none_of(members.begin(), members.end(),
                                    [&](std::size_t mi) { return cfg.conns[mi].name == cand; });
          if (all && !clash && !used.count(cand)) {
            name = cand;
            break;
          }
        }
      }
      while (used.count(name)) name += "+";
      used.insert(name);
      IkeSaGroup g{name, {}};
      for (auto mi : members) {
        g.conns.push_back(cfg.conns[mi].name);
        cfg.conns[mi].ike_sa = name;
      }
      cfg.ike_sas.push_back(std::move(g));
    }
  }

  // gre sections
  for (const auto& s : secs) {
    if (s.type != SectionType::gre) continue;
    GreConfig g;
    g.name = s.name;
    g.file = s.file;
    g.line = s.line;
    SectionKeys keys(s, parser, ty);
    keys.ipv4("local", g.local, true);
    keys.ipv4("remote", g.remote, true);
    if (auto k = keys.required("address")) {
      auto p = k->value.find('/') != std::string::npos ? parse_prefix(k->value) : std::nullopt;
      if (p && p->addr.is_v4()) g.address = *p;
      else keys.err(*k, "expected an IPv4 address with its prefix length, e.g. 10.44.4.6/30");
    }
    keys.ipv4("peer", g.peer, true);
    keys.number("mtu", g.mtu, 576, 65535);
    if (auto k = keys.get("mss")) {
      if (k->value == "off" || k->value == "no") g.mss = 0u;
      else if (k->value != "auto") {
        // 88: the smallest MSS Linux accepts; 65495 fills a 65535-byte packet.
        if (auto v = parse_uint(k->value, 65495); v && *v >= 88) g.mss = static_cast<unsigned>(*v);
        else keys.err(*k, "expected auto, off or a number from 88 to 65495");
      }
    }
    keys.number("ttl", g.ttl, 1, 255);
    if (auto k = keys.get("key")) {
      if (auto v = parse_uint(k->value, 0xffffffffULL)) {
        g.key = static_cast<std::uint32_t>(*v);
      } else if (auto a = parse_ip(k->value); a && a->is_v4()) {
        g.key = a->v4_host();  // `ip tunnel ... key a.b.c.d` form
      } else {
        keys.err(*k, "expected a 32-bit number or a dotted quad");
      }
    }
    if (auto k = keys.get("routes")) {
      for (auto item : split_list(k->value)) {
        auto p = parse_prefix(item);
        if (!p || !p->addr.is_v4()) {
          keys.err(*k, "malformed route '" + std::string(item) + "' (IPv4 CIDR)");
          continue;
        }
        g.routes.push_back(*p);
      }
    }
    if (auto k = keys.get("keepalive")) {
      if (k->value == "reply") g.keepalive = GreConfig::Keepalive::reply;
      else if (k->value == "off" || k->value == "no") g.keepalive = GreConfig::Keepalive::off;
      else if (auto d = parse_duration(k->value); d && d->count() > 0) {
        g.keepalive = GreConfig::Keepalive::send;
        g.keepalive_interval = *d;
      } else {
        keys.err(*k, "expected reply, off or an interval such as 10s");
      }
    }
    keys.number("keepalive_retries", g.keepalive_retries, 1, 255);
    if (auto k = keys.get("tun")) {
      if (auto b = ty.yes_no(*k)) g.tun = *b;
      else keys.ok = false;
    }
    if (!keys.ok) continue;
    // Which CHILD_SA carries the GRE packets.
    if (auto k = keys.get("conn")) {
      const ConnConfig* c = cfg.find_conn(k->value);
      if (!c) {
        bool ignored = std::find(cfg.ignored_conns.begin(), cfg.ignored_conns.end(), k->value) !=
                       cfg.ignored_conns.end();
        ty.err(*k, ignored ? "conn '" + k->value + "' has auto=ignore (a template), it carries no traffic"
                           : "no conn named '" + k->value + "'");
        continue;
      }
      if (!covers(c->left, g.local) || !covers(c->right, g.remote)) {
        ty.err(*k, "conn '" + k->value + "' traffic selectors do not cover local " +
                       g.local.to_string() + " / remote " + g.remote.to_string() + " for GRE");
        continue;
      }
      g.conn = k->value;
    } else {
      std::vector<std::string> found;
      for (const auto& c : cfg.conns)
        if (covers(c.left, g.local) && covers(c.right, g.remote)) found.push_back(c.name);
      if (found.empty()) {
        parser.error(s.file, s.line, "conn",
                     "no conn's traffic selectors cover local " + g.local.to_string() +
                         " / remote " + g.remote.to_string() + ": set conn=");
        continue;
      }
      if (found.size() > 1)
        parser.warn(s.file, s.line, "conn",
                    "several conns cover this tunnel; using '" + found.front() + "' (set conn=)");
      g.conn = found.front();
    }
    for (const auto& o : cfg.gres) {
      if (o.local == g.local && o.remote == g.remote && o.key == g.key) {
        keys.error("", "gre " + g.name + " has the same local, remote and key as gre " + o.name);
      }
    }
    if (keys.ok) cfg.gres.push_back(std::move(g));
  }

  // pim sections
  for (const auto& s : secs) {
    if (s.type != SectionType::pim) continue;
    PimConfig p;
    p.name = s.name;
    p.file = s.file;
    p.line = s.line;
    SectionKeys keys(s, parser, ty);
    bool& ok = keys.ok;
    const GreConfig* gre = nullptr;
    if (auto k = keys.required("interface")) {
      gre = cfg.find_gre(k->value);
      if (!gre) keys.err(*k, "no (valid) gre section named '" + k->value + "'");
      else p.interface = k->value;
    }
    if (gre) p.neighbor = gre->peer;
    keys.ipv4("neighbor", p.neighbor, false);
    keys.ipv4("rp", p.rp, true);
    if (auto k = keys.required("groups")) {
      for (auto item : split_list(k->value)) {
        auto a = parse_ip(item);
        if (!a || !a->is_v4() || !is_multicast(*a)) {
          ty.err(*k, "'" + std::string(item) + "' is not an IPv4 multicast group");
          ok = false;
          continue;
        }
        p.groups.push_back(*a);
      }
    }
    if (auto k = keys.get("sources")) {
      // Items: "(S,G)" for one group, or "S" for every group of groups=.
      std::string_view v = k->value;
      std::size_t i = 0;
      while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) ++i;
        if (i >= v.size()) break;
        std::string_view item;
        if (v[i] == '(') {
          std::size_t close = v.find(')', i);
          if (close == std::string_view::npos) {
            ty.err(*k, "unterminated (S,G)");
            ok = false;
            break;
          }
          item = v.substr(i, close - i + 1);
          i = close + 1;
          auto inner = split_list(item.substr(1, item.size() - 2));
          auto sa = inner.size() == 2 ? parse_ip(inner[0]) : std::nullopt;
          auto ga = inner.size() == 2 ? parse_ip(inner[1]) : std::nullopt;
          if (!sa || !ga || !sa->is_v4() || !ga->is_v4() || !is_multicast(*ga) || is_multicast(*sa)) {
            ty.err(*k, "malformed source '" + std::string(item) + "' (expected (S,G))");
            ok = false;
            continue;
          }
          p.sources.push_back({*sa, *ga});
        } else {
          std::size_t j = i;
          while (j < v.size() && v[j] != ',' && v[j] != ' ' && v[j] != '\t') ++j;
          item = v.substr(i, j - i);
          i = j;
          auto sa = parse_ip(item);
          if (!sa || !sa->is_v4() || is_multicast(*sa)) {
            ty.err(*k, "malformed source '" + std::string(item) + "' (expected S or (S,G))");
            ok = false;
            continue;
          }
          for (const auto& gaddr : p.groups) p.sources.push_back({*sa, gaddr});
        }
      }
    }
    auto dur = [&](const char* key, Seconds& out, long long max) {
      if (auto k = keys.get(key)) {
        auto d = ty.duration(*k);
        if (!d) { ok = false; return; }
        if (d->count() <= 0 || d->count() > max) {
          ty.err(*k, "must be from 1s to " + std::to_string(max) + "s");
          ok = false;
          return;
        }
        out = *d;
      }
    };
    dur("hello", p.hello, 18000);     // Hello holdtime is 3.5x hello in a 16-bit field
    dur("join", p.join, 18000);
    dur("holdtime", p.holdtime, 65535);  // 16-bit field (RFC 7761 §4.9.5)
    if (auto k = keys.get("deliver")) {
      for (auto item : split_list(k->value)) {
        if (item == "tun") {
          if (gre && !gre->tun) {
            ty.err(*k, "deliver=tun but gre " + gre->name + " has tun=no");
            ok = false;
          }
          p.deliver_tun = true;
        } else if (item.substr(0, 4) == "udp:") {
          std::string_view hp = item.substr(4);
          std::size_t colon = hp.rfind(':');
          auto a = colon == std::string_view::npos ? std::nullopt : parse_ip(hp.substr(0, colon));
          auto port = colon == std::string_view::npos ? std::nullopt
                                                      : parse_uint(hp.substr(colon + 1), 65535);
          if (!a || !port || *port == 0) {
            ty.err(*k, "malformed '" + std::string(item) + "' (expected udp:HOST:PORT)");
            ok = false;
            continue;
          }
          p.deliver_udp.push_back(common::Endpoint{*a, static_cast<std::uint16_t>(*port)});
        } else {
          ty.err(*k, "unknown delivery '" + std::string(item) + "' (tun or udp:HOST:PORT)");
          ok = false;
        }
      }
    } else if (gre) {
      if (gre->tun) p.deliver_tun = true;
      else {
        keys.error("deliver", "required: gre " + gre->name + " has tun=no");
      }
    }
    if (ok) cfg.pims.push_back(std::move(p));
  }

  // One diagnostic per (place, message) even when several conns inherit the same line.
  auto dedupe = [](std::vector<Diagnostic>& v) {
    std::set<std::string> seen;
    std::vector<Diagnostic> out;
    for (auto& d : v)
      if (seen.insert(d.to_string()).second) out.push_back(std::move(d));
    v = std::move(out);
  };
  dedupe(res.errors);
  dedupe(res.warnings);
  if (res.errors.empty()) res.config = std::move(cfg);
  return res;
}

LoadResult load_file(const std::string& path, const ParseOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    LoadResult r;
    r.errors.push_back(Diagnostic{path, 0, "", "cannot open the config file"});
    return r;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_string(ss.str(), path, options);
}

// ---------------------------------------------------------------------------------------
// swanless check

namespace {

std::string ts_list(const HostConfig& h) {
  if (h.dynamic) {
    std::string s = "dynamic";
    if (h.protocol != 0) {
      TrafficSelector t;
      t.protocol = h.protocol;
      t.start_port = h.port_lo;
      t.end_port = h.port_hi;
      std::string full = t.to_string();
      auto br = full.find('[');
      if (br != std::string::npos) s += full.substr(br);
    }
    return s;
  }
  std::string s;
  for (const auto& t : h.subnets) {
    if (!s.empty()) s += ", ";
    s += t.to_string();
  }
  return s;
}

std::string proposals_text(const ike::ProposalSet& p) {
  std::string s;
  for (std::size_t i = 0; i < p.configured && i < p.proposals.size(); ++i) {
    if (!s.empty()) s += ", ";
    s += ike::to_string(p.proposals[i]);
  }
  if (p.configured == 0) s = "(strongSwan defaults)";
  else if (p.strict) s += " (strict)";
  else s += " + strongSwan defaults";
  return s;
}

}  // namespace

int run_check(const std::string& path, std::ostream& out, std::ostream& err) {
  auto res = load_file(path);
  for (const auto& w : res.warnings) err << "warning: " << w.to_string() << "\n";
  for (const auto& e : res.errors) err << "error: " << e.to_string() << "\n";
  if (!res.ok()) {
    err << path << ": " << res.errors.size() << " error(s)\n";
    return 1;
  }
  const Config& cfg = *res.config;
  int errors = 0;

  auto sec = load_secrets(cfg.setup.secrets);
  for (const auto& e : sec.errors) {
    err << "error: " << e.to_string() << "\n";
    ++errors;
  }

  out << "config " << cfg.path << "\n";
  out << "  socket:  " << cfg.setup.socket << "\n";
  out << "  secrets: " << cfg.setup.secrets << "\n";
  if (!cfg.setup.keylog.empty()) out << "  keylog:  " << cfg.setup.keylog << " (debugging only)\n";
  if (!cfg.setup.pcap.empty()) out << "  pcap:    " << cfg.setup.pcap << "\n";
  out << "  fragment_size: " << cfg.setup.fragment_size << " bytes\n";
  for (const auto& g : cfg.ike_sas) {
    out << "ike_sa " << g.name << ":";
    for (const auto& c : g.conns) out << " " << c;
    out << "\n";
  }
  for (const auto& c : cfg.conns) {
    out << "conn " << c.name << " (IKE_SA " << c.ike_sa << ", auto=" << to_string(c.auto_action)
        << ")\n";
    out << "  local:  " << c.left.address_text() << "[" << c.left.effective_id() << "] port "
        << c.left.ike_port << "\n";
    out << "  remote: " << c.right.address_text() << "[" << c.right.effective_id() << "] port "
        << c.right.ike_port << "\n";
    out << "  auth:   " << to_string(c.auth);
    if (c.auth == AuthMethod::pubkey)
      out << " (leftauth=" << c.sign.to_string() << ", rightauth=" << c.require.to_string() << ")";
    if (!c.right.pubkey.empty()) out << ", rightpubkey " << c.right.pubkey;
    if (!c.right.rsasigkey.empty()) out << ", rightrsasigkey " << c.right.rsasigkey.size() << " bytes";
    out << "\n";
    out << "  mode:   " << to_string(c.mode) << (c.force_encaps ? ", forceencaps" : "") << "\n";
    if (c.mode == Mode::tunnel && !c.left.prefixes.empty()) {
      out << "  tun addresses:";
      for (const auto& p : c.left.prefixes) out << " " << p.to_string();
      out << "\n";
    }
    out << "  local_ts:  " << ts_list(c.left) << "\n";
    out << "  remote_ts: " << ts_list(c.right) << "\n";
    out << "  ike: " << proposals_text(c.ike) << "\n";
    out << "  esp: " << proposals_text(c.esp) << "\n";
    out << "  ikelifetime " << format_duration(c.ike_lifetime) << ", lifetime "
        << format_duration(c.lifetime) << ", rekeymargin " << format_duration(c.rekey_margin)
        << ", rekeyfuzz " << c.rekey_fuzz_percent << "%, rekey " << (c.rekey ? "yes" : "no")
        << ", reauth " << (c.reauth ? "yes" : "no") << ", fragmentation "
        << (c.fragmentation ? "yes" : "no") << "\n";
    if (c.life_bytes || c.life_packets)
      out << "  volume: lifebytes " << c.life_bytes << ", marginbytes " << c.margin_bytes
          << ", lifepackets " << c.life_packets << ", marginpackets " << c.margin_packets << "\n";
    out << "  dpd: delay " << format_duration(c.dpd_delay) << ", timeout "
        << format_duration(c.dpd_timeout) << ", action " << to_string(c.dpd_action)
        << "; replay_window " << c.replay_window << "\n";

    if (sec.ok()) {
      const Secrets& s = *sec.secrets;
      if (c.auth == AuthMethod::psk) {
        auto* e = s.find_psk(c.left.effective_id(), c.right.effective_id());
        if (!e) {
          err << "error: conn " << c.name << ": no PSK in " << s.path << " for "
              << c.left.effective_id() << " <-> " << c.right.effective_id() << "\n";
          ++errors;
        } else {
          out << "  psk: " << e->file << ":" << e->line << "\n";
        }
      } else {
        auto* e = s.find_private_key(c.left.effective_id());
        if (!e) {
          err << "error: conn " << c.name << ": no RSA private key in " << s.path << "\n";
          ++errors;
        } else {
          out << "  private key: " << e->key_path << " (" << e->file << ":" << e->line << ")\n";
          if (std::ifstream(e->key_path).fail())
            err << "warning: conn " << c.name << ": cannot read " << e->key_path << "\n";
        }
        if (!c.right.pubkey.empty() && std::ifstream(c.right.pubkey).fail())
          err << "warning: conn " << c.name << ": cannot read " << c.right.pubkey << "\n";
      }
    }
  }
  for (const auto& n : cfg.ignored_conns) out << "conn " << n << " (auto=ignore: template only)\n";
  for (const auto& g : cfg.gres) {
    out << "gre " << g.name << " (conn " << g.conn << ")\n";
    out << "  local " << g.local.to_string() << " remote " << g.remote.to_string();
    if (g.key) out << " key " << *g.key;
    out << " ttl " << g.ttl << "\n";
    out << "  address " << g.address.to_string() << " peer " << g.peer.to_string() << " mtu "
        << g.mtu << (g.tun ? " (TUN device " + g.name + ")" : " (no TUN device)") << "\n";
    out << "  keepalive ";
    switch (g.keepalive) {
      case GreConfig::Keepalive::reply: out << "reply-only"; break;
      case GreConfig::Keepalive::off: out << "off"; break;
      case GreConfig::Keepalive::send:
        out << "every " << format_duration(g.keepalive_interval) << ", down after "
            << g.keepalive_retries << " misses";
        break;
    }
    out << "\n";
    if (!g.routes.empty()) {
      out << "  routes";
      for (const auto& r : g.routes) out << " " << r.to_string();
      out << "\n";
    }
  }
  for (const auto& p : cfg.pims) {
    out << "pim " << p.name << " (on gre " << p.interface << ")\n";
    out << "  neighbor " << p.neighbor.to_string() << " rp " << p.rp.to_string() << "\n";
    out << "  groups";
    for (const auto& g : p.groups) out << " " << g.to_string();
    out << "\n";
    if (!p.sources.empty()) {
      out << "  sources";
      for (const auto& sg : p.sources)
        out << " (" << sg.source.to_string() << "," << sg.group.to_string() << ")";
      out << "\n";
    }
    out << "  hello " << format_duration(p.hello) << " join " << format_duration(p.join)
        << " holdtime " << format_duration(p.holdtime) << "\n";
    out << "  deliver";
    if (p.deliver_tun) out << " tun";
    for (const auto& u : p.deliver_udp) out << " udp:" << u.to_string();
    out << "\n";
  }
  if (errors) {
    err << path << ": " << errors << " error(s)\n";
    return 1;
  }
  out << "configuration OK\n";
  return 0;
}

}  // namespace apps
