// The pipeline of parse_string (reader, then `config setup`, conns, gre and pim sections),
// load_file, the filesystem include resolver and the default secrets path. See config.h.
#include "config/config.h"

#include <arpa/inet.h>
#include <glob.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "common/secret.h"
#include "config/reader.h"
#include "config/stages.h"
#include "config/swanctl.h"
#include "config/text.h"
#include "config/typer.h"
#include "config/values.h"

namespace config {
namespace {

constexpr unsigned long long kMinFragmentSize = 256;  // ike::kMinFragmentSize

// A user name (getpwnam: /etc/passwd or NSS): its uid and primary gid.
std::optional<std::pair<uid_t, gid_t>> lookup_user(const std::string& v) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  if (v.empty() || ::getpwnam_r(v.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return std::make_pair(res->pw_uid, res->pw_gid);
}

// rcvbuf=/sndbuf=: bytes, or a number with K or M (KiB, MiB), from 64K to 1024M.
std::optional<std::size_t> socket_buffer_size(Typer& ty, const RawKey& k) {
  const std::string& v = k.value;
  std::size_t digits = 0;
  while (digits < v.size() && std::isdigit(static_cast<unsigned char>(v[digits]))) ++digits;
  std::size_t unit = 1;
  const std::string suffix = v.substr(digits);
  if (suffix == "K" || suffix == "k") unit = 1024;
  else if (suffix == "M" || suffix == "m") unit = 1024 * 1024;
  else if (!suffix.empty()) digits = 0;
  if (digits == 0 || digits > 10) {
    ty.err(k, "expected a size such as 32M, 512K or 1048576 (bytes), not '" + v + "'");
    return std::nullopt;
  }
  const unsigned long long n = std::stoull(v.substr(0, digits)) * unit;
  if (n < 64 * 1024 || n > 1024ull * 1024 * 1024) {
    ty.err(k, "a socket buffer from 64K to 1024M, not '" + v + "'");
    return std::nullopt;
  }
  return static_cast<std::size_t>(n);
}

// A group name (getgrnam: /etc/group or NSS) or a decimal gid.
std::optional<gid_t> lookup_group(const std::string& v) {
  if (!v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (v.size() > 9) return std::nullopt;
    return static_cast<gid_t>(std::stoul(v));
  }
  std::vector<char> buf(16384);
  group gr{};
  group* res = nullptr;
  if (::getgrnam_r(v.c_str(), &gr, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return res->gr_gid;
}

// loglevel=LEVEL or a list "LEVEL, SUBSYS LEVEL, ...": a bare level sets every subsystem,
// "ike debug" one of them (ike, esp, gre, pim, net, cfg).
void parse_loglevels(Typer& ty, const RawKey& k, SetupConfig& setup) {
  const std::string levels = "error, warn, info, debug or trace";
  for (auto item : split_list(k.value)) {
    auto words = split_ws(item);
    common::LogLevel l{};
    if (words.size() == 1 && common::parse_log_level(words[0], l)) {
      setup.loglevel = l;
    } else if (words.size() == 2) {
      common::Subsys s{};
      if (!common::parse_subsys(words[0], s)) {
        ty.err(k, "unknown subsystem '" + std::string(words[0]) + "' (ike, esp, gre, pim, net or cfg)");
      } else if (!common::parse_log_level(words[1], l)) {
        ty.err(k, "expected " + levels + " for " + std::string(words[0]) + ", not '" + std::string(words[1]) + "'");
      } else {
        setup.subsys_levels[static_cast<std::size_t>(s)] = l;
      }
    } else {
      ty.err(k, "expected " + levels + ", or a list such as \"info, ike debug\", not '" + k.value + "'");
    }
  }
}

}  // namespace

std::string default_secrets_path(std::string_view config_path) {
  constexpr std::string_view kConf = ".conf";
  if (config_path.size() > kConf.size() &&
      config_path.substr(config_path.size() - kConf.size()) == kConf)
    return std::string(config_path.substr(0, config_path.size() - kConf.size())) + ".secrets";
  return std::string(config_path) + ".secrets";
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
      if (!wildcard) error = "no such file, skipped";  // a warning: see IncludeResolver
      return true;
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

LoadResult parse_string(std::string_view text, std::string_view name, const ParseOptions& options) {
  LoadResult res;
  Reporter rep(res.errors, res.warnings);
  Reader reader(options, rep);
  const std::string file(name);
  // strongSwan's swanctl.conf format: its own reader, the same sections (swanctl.h).
  const bool swanctl = is_swanctl(text, file);
  SwanctlTranslation swanctl_tr;
  if (swanctl) swanctl_tr = translate_swanctl(read_swanctl(text, file, options.include, rep), rep);
  else reader.parse_text(text, file, 0);
  const auto& secs = swanctl ? swanctl_tr.sections : reader.sections();
  Typer ty(rep, dir_of(file));
  ty.set_resolver(options.resolve);

  Config cfg;
  cfg.path = file;
  // A swanctl.conf carries its secrets (load_secrets reads its secrets block).
  cfg.setup.secrets = swanctl ? file : default_secrets_path(file);

  // config setup
  const RawKey* group_key = nullptr;
  for (const auto& s : secs) {
    if (s.type != SectionType::setup) continue;
    for (const auto& k : s.keys) {
      if (k.value.empty()) continue;
      if (k.key == "socket") cfg.setup.socket = ty.path(k);
      else if (k.key == "user") {
        if (auto u = lookup_user(k.value)) {
          cfg.setup.user = k.value;
          cfg.setup.user_uid = u->first;
          cfg.setup.user_gid = u->second;
        } else {
          ty.err(k, "no user '" + k.value + "' on this system");
        }
      } else if (k.key == "group") {
        group_key = &k;  // resolved below, whatever the order of user= and group=
      } else if (k.key == "dumpable") {
        if (auto b = ty.yes_no(k)) cfg.setup.dumpable = *b;
      } else if (k.key == "sample") {
        // The packaged /etc/swanless/swanless.conf says sample=yes: it must not start
        // anything until someone has written their own conns and removed the line.
        if (auto b = ty.yes_no(k); b && *b)
          ty.err(k, "this is the sample configuration: write your conns (see swanless.conf(5)), then remove "
                    "'sample=yes'");
      } else if (k.key == "metrics") {
        if (k.value == "off" || k.value == "no") cfg.setup.metrics.reset();
        else if (auto e = parse_host_port(k.value)) cfg.setup.metrics = *e;
        else ty.err(k, "expected HOST:PORT such as 127.0.0.1:9545, or off, not '" + k.value + "'");
      } else if (k.key == "socket_group") {
        if (auto g = lookup_group(k.value)) {
          cfg.setup.socket_group = *g;
          cfg.setup.socket_group_name = k.value;
        } else {
          ty.err(k, "no group '" + k.value + "' on this system (a name from /etc/group or a number)");
        }
      }
      else if (k.key == "secrets") cfg.setup.secrets = ty.path(k);
      else if (k.key == "cadir") cfg.setup.cadir = ty.path(k);
      else if (k.key == "crldir") cfg.setup.crldir = ty.path(k);
      else if (k.key == "strictcrlpolicy") {
        if (auto b = ty.yes_no(k)) cfg.setup.strict_crl = *b;
      }
      else if (k.key == "keylog") cfg.setup.keylog = (k.value == "off" || k.value == "no") ? "" : ty.path(k);
      else if (k.key == "pcap") cfg.setup.pcap = (k.value == "off" || k.value == "no") ? "" : ty.path(k);
      else if (k.key == "fragment_size") {
        if (auto v = ty.uint(k, kMinFragmentSize, 65535)) cfg.setup.fragment_size = static_cast<unsigned>(*v);
      } else if (k.key == "offload") {
        if (auto b = ty.yes_no(k)) cfg.setup.offload = *b;
      } else if (k.key == "rcvbuf" || k.key == "sndbuf") {
        if (auto n = socket_buffer_size(ty, k)) (k.key == "rcvbuf" ? cfg.setup.rcvbuf : cfg.setup.sndbuf) = *n;
      } else if (k.key == "loglevel") {
        parse_loglevels(ty, k, cfg.setup);
      } else if (k.key == "log") {
        if (k.value == "auto") cfg.setup.log.reset();
        else if (k.value == "stderr") cfg.setup.log = common::LogSink::stderr_text;
        else if (k.value == "journal") cfg.setup.log = common::LogSink::journal;
        else if (k.value == "syslog") cfg.setup.log = common::LogSink::syslog;
        else ty.err(k, "expected auto, stderr, journal or syslog, not '" + k.value + "'");
      }
    }
  }
  if (group_key) {
    if (cfg.setup.user.empty()) {
      ty.err(*group_key, "group= needs user= (swanless changes user and group at the same moment; to let a group "
                         "use the control socket, see socket_group=)");
    } else if (auto g = lookup_group(group_key->value)) {
      cfg.setup.group = group_key->value;
      cfg.setup.user_gid = *g;
    } else {
      ty.err(*group_key, "no group '" + group_key->value + "' on this system (a name from /etc/group or a number)");
    }
  }

  type_conns(secs, rep, ty, cfg, options.is_local);
  type_gres(secs, rep, ty, cfg);
  type_pims(secs, rep, ty, cfg);

  // A transport-mode conn carries only the GRE swanless builds itself (a gre section over
  // it). Without one, what the host sends to that peer, a kernel GRE tunnel included, goes
  // out unprotected: swanless's SAs are not the kernel's.
  for (const auto& c : cfg.conns) {
    if (c.mode != Mode::transport) continue;
    if (std::any_of(cfg.gres.begin(), cfg.gres.end(), [&](const GreConfig& g) { return g.conn == c.name; })) continue;
    rep.warn(c.file, c.line, "",
             "conn " + c.name +
                 ": transport mode with no gre section over it carries nothing. The host's own traffic to " +
                 c.right.address_text() +
                 " (a kernel GRE tunnel included) bypasses swanless and is sent unencrypted; add a gre section "
                 "with conn=" +
                 c.name + ", as in examples/gre-transport.conf");
  }

  if (swanctl) finish_swanctl(swanctl_tr, cfg, res.errors, res.warnings);

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
  // Read into one buffer (sized from the file when it has a size) and wiped after: a
  // swanctl.conf may hold its secrets.
  std::string text;
  f.seekg(0, std::ios::end);
  if (const auto size = f.tellg(); size > 0) text.reserve(static_cast<std::size_t>(size) + 1);
  f.clear();
  f.seekg(0);
  char buf[4096];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) text.append(buf, static_cast<std::size_t>(f.gcount()));
  OPENSSL_cleanse(buf, sizeof buf);
  ParseOptions with_host = options;
  if (!with_host.is_local) with_host.is_local = system_local_address;
  if (!with_host.resolve) with_host.resolve = system_resolve;
  auto r = parse_string(text, path, with_host);
  common::wipe_string(text);
  return r;
}

std::optional<common::IpAddr> system_resolve(const std::string& name, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res); rc != 0) {
    error = ::gai_strerror(rc);
    return std::nullopt;
  }
  std::optional<common::IpAddr> a;
  for (const addrinfo* i = res; i && !a; i = i->ai_next)
    if (i->ai_family == AF_INET)
      a = common::IpAddr::v4(ntohl(reinterpret_cast<const sockaddr_in*>(i->ai_addr)->sin_addr.s_addr));
  ::freeaddrinfo(res);
  if (!a) error = "no IPv4 address";
  return a;
}

bool system_local_address(const common::IpAddr& a) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (const ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !a.is_v4()) continue;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    found = ntohl(sin->sin_addr.s_addr) == a.v4_host();
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace config
