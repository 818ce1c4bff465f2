// The swanless configuration: ipsec.conf syntax (strongSwan's ipsec.conf(5)) with two more
// section types, `gre` and `pim`. The contract is /work/shared/CONFIG.md (docs: CONFIG.md).
// This header is the library's entry points; the result is the model in config/model.h.
//
// Two stages, one file each:
//   1. syntax (reader.cpp): sections at column 0 (`config setup`, `conn NAME`, `gre NAME`,
//      `pim NAME`), indented `key=value` lines, `#` comments, double-quoted values,
//      `include PATH` (glob, relative to the including file), `conn %default`, `also=NAME`;
//      every key name is looked up in the key table (keys.cpp);
//   2. resolution: %default and also= inheritance (inherit.cpp), every key checked and
//      turned into typed fields (values.cpp, conn.cpp, gre.cpp, pim.cpp), conns grouped into
//      IKE_SAs, gre/pim defaults filled in.
// Every problem is a Diagnostic naming file, line and key; parsing continues so that one
// run reports all of them. Keys that only matter to a kernel IPsec stack are accepted with
// a warning that they are ignored.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"

namespace config {

// Reads an included file set: `pattern` as written, `base_dir` of the including file.
// Returns the (name, text) of each match in glob order, or an error message.
struct IncludedFile {
  std::string name;
  std::string text;
};
using IncludeResolver = std::function<bool(const std::string& pattern, const std::string& base_dir,
                                           std::vector<IncludedFile>& out, std::string& error)>;

// Returns false with `error` for an include that cannot be read (an error); true with
// `error` set for one that is skipped (a warning).
// The default resolver: the filesystem with glob(3). A wildcard pattern may match nothing
// (as strongSwan's starter does); a plain path that names no file is skipped with a
// warning, as Debian's `include /var/lib/strongswan/ipsec.conf.inc` and RHEL's
// crypto-policies include often are.
IncludeResolver filesystem_includes();

// True when `a` is on one of this host's (this network namespace's) interfaces (getifaddrs).
bool system_local_address(const common::IpAddr& a);
// right=NAME through getaddrinfo (IPv4, /etc/hosts and DNS as nsswitch.conf says); nullopt
// with `error` set (gai_strerror) when it gives no IPv4 address.
std::optional<common::IpAddr> system_resolve(const std::string& name, std::string& error);

struct ParseOptions {
  // Empty function: includes are an error (fuzzing).
  IncludeResolver include = filesystem_includes();
  // Picks a conn's local side when it is written from the other end (left= not local,
  // right= local). Empty: as written. parse_string leaves it empty unless given;
  // load_file uses system_local_address when it is empty.
  LocalAddress is_local;
  // Resolves right=NAME. Empty: a host name is an error (parse_string, fuzzing); load_file
  // uses system_resolve when it is empty.
  HostResolver resolve;
};

struct LoadResult {
  std::optional<Config> config;  // set when errors is empty
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return errors.empty() && config.has_value(); }
};

// `name` is used in diagnostics and for the default secrets path / relative includes.
LoadResult parse_string(std::string_view text, std::string_view name,
                        const ParseOptions& options = {});
LoadResult load_file(const std::string& path, const ParseOptions& options = {});

// The secrets file used when `config setup` has no `secrets=`: PATH.conf -> PATH.secrets
// (PATH -> PATH.secrets when the name does not end in .conf).
std::string default_secrets_path(std::string_view config_path);

}  // namespace config
