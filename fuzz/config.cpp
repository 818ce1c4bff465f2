// libFuzzer target: the bytes as a config file (ipsec.conf syntax + gre/pim sections), as
// a secrets file, and as ike=/esp= proposal strings. No filesystem: includes are off.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "config/secrets.h"
#include "fuzz/config_invariants.h"
#include "ike/proposal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::ParseOptions opts;
  opts.include = nullptr;
  auto r = config::parse_string(text, "fuzz.conf", opts);
  fuzz::check_load_result(r);

  auto s = config::parse_secrets_string(text, "fuzz.secrets");
  if (s.ok()) (void)s.secrets->find_psk("192.0.2.1", "@peer");

  if (size < 512) {
    for (auto proto : {ike::Protocol::ike, ike::Protocol::esp}) {
      auto p = ike::parse_proposals(text, proto);
      if (p && p->proposals.empty()) __builtin_trap();
      if (p) (void)ike::to_string(*p);
    }
  }
  return 0;
}
