// libFuzzer target: the bytes as a swanctl.conf (config/swanctl.h): the settings tree, its
// translation into conns and the typing stages, and its secrets block. No filesystem:
// includes are off, as in fuzz/config.cpp.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/secrets.h"
#include "config/swanctl.h"
#include "fuzz/config_invariants.h"

namespace {

// Every node of the tree was placed at a line of the one file there is.
void check_tree(const config::SwanctlNode& n, int lines) {
  for (const auto& it : n.items) {
    if (it.line < 1 || it.line > lines || it.name.empty()) __builtin_trap();
    if (!it.section && !it.items.empty()) __builtin_trap();
    check_tree(it, lines);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int lines = 1;
  for (char c : text) lines += c == '\n';

  std::vector<config::Diagnostic> errors, warnings;
  config::Reporter rep(errors, warnings);
  const auto tree = config::read_swanctl(text, "fuzz.swanctl.conf", {}, rep);
  check_tree(tree, lines);
  for (const auto& d : errors)
    if (d.line < 1 || d.line > lines) __builtin_trap();  // every syntax error names its line

  // The name makes it a swanctl.conf whatever the content.
  config::ParseOptions opts;
  opts.include = nullptr;
  auto r = config::parse_string(text, "fuzz.swanctl.conf", opts);
  fuzz::check_load_result(r);
  if (r.ok())
    for (const auto& conn : r.config->conns)  // the times translated from swanctl's stay coherent
      if (conn.rekey_margin >= conn.lifetime || conn.rekey_margin >= conn.ike_lifetime) __builtin_trap();

  auto s = config::parse_secrets_string(text, "fuzz.swanctl.conf");
  if (s.ok()) {
    for (const auto& e : s.secrets->entries)
      if (e.type == config::SecretEntry::Type::psk && e.psk.empty()) __builtin_trap();
    (void)s.secrets->find_psk("192.0.2.1", "%any");
  } else if (s.errors.empty()) {
    __builtin_trap();
  }
  return 0;
}
