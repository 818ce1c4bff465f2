// strongSwan's swanctl.conf format (swanctl.conf(5), in strongswan.conf(5)'s settings
// syntax), read as a second front end to the same pipeline (internal to config/):
//
//   1. syntax (swanctl.cpp): `name { ... }` sections, `key = value` lines (the value runs
//      to the end of the line, or is one "quoted string" with \" \\ \n \t escapes), `#`
//      comments, `include GLOB` (relative to the including file) inside any section, a
//      section written twice merged and a key written twice taking its later value, as
//      strongSwan does; every error names file and line;
//   2. translation (swanctl_conns.cpp): the tree becomes the RawSections the ipsec.conf
//      reader would produce (one `conn` per CHILD_SA, named after its child, carrying its
//      connection's IKE keys under their ipsec.conf names, swanctl's defaults written out
//      where they differ from ipsec.conf's), `swanless { setup {} gre NAME {} pim NAME {} }`
//      becomes `config setup` and the gre/pim sections; the typing stages then run
//      unchanged, and finish_swanctl() names the diagnostics and IKE_SAs as written;
//   3. secrets (swanctl.cpp): the `secrets { ike-X {} private-X {} rsa-X {} }` block and
//      the key files in the private/, rsa/ and pkcs8/ folders next to the file become
//      SecretEntry values, through load_secrets() (secrets.h) like any secrets file.
//
// The format is chosen by is_swanctl(): the file name ends in "swanctl.conf", or a line
// opens a `connections`, `secrets` or `swanless` section.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <tuple>
#include <vector>

#include "config/config.h"
#include "config/diagnostic.h"
#include "config/reader.h"
#include "config/secrets.h"

namespace config {

bool is_swanctl(std::string_view text, std::string_view name);

// One key (value) or section (items) of the tree, where it was written.
struct SwanctlNode {
  std::string name;
  std::string value;
  bool section = false;
  std::string file;
  int line = 0;
  std::vector<SwanctlNode> items;  // sections: in order of first appearance

  const SwanctlNode* find(std::string_view n) const;
};

// Stage 1: the tree of `text` (the root is a section without a name). `include`: the
// resolver for include lines; an empty one makes them an error.
SwanctlNode read_swanctl(std::string_view text, const std::string& file, const IncludeResolver& include, Reporter& r);

// wipe_string on every value of the tree (a secrets block may be in it).
void wipe_swanctl(SwanctlNode& n);

// Stage 2's result: the sections, and what finish_swanctl needs to speak swanctl again.
struct SwanctlTranslation {
  std::vector<RawSection> sections;
  // (file, line, ipsec.conf key) -> the swanctl key written there ("remote_ts", "local.id").
  std::map<std::tuple<std::string, int, std::string>, std::string> written;
  // conn (child) name -> its swanctl connection's name.
  std::map<std::string, std::string> connection_of;
};
// The tree is wiped once translated.
SwanctlTranslation translate_swanctl(SwanctlNode root, Reporter& r);

// After the typing stages: diagnostics name the swanctl keys, and each IKE_SA is named
// after its connection when that name is free.
void finish_swanctl(const SwanctlTranslation& t, Config& cfg, std::vector<Diagnostic>& errors,
                    std::vector<Diagnostic>& warnings);

// Stage 3 from a file already read by load_secrets (`mode`: its st_mode): the secrets
// block (includes followed on the filesystem), the key folders, and the rule that every
// file holding a secret is private (st_mode & 077 == 0). `on_disk` false: no includes, no
// key folders, no mode checks (parse_secrets_string, fuzzing).
SecretsResult swanctl_secrets(std::string_view text, const std::string& path, mode_t mode, bool on_disk);

}  // namespace config
