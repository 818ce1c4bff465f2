// libFuzzer target for the control protocol (daemon/control.cpp): one request line from a
// client, parsed and answered as the daemon does, for a peer that may act and one that may
// not. Checks: every answer is an object with a boolean "ok"; a peer that may not act never
// reaches up/down; nothing throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/control.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: who asks (root, the daemon's user, a socket_group member, a stranger, or a
  // peer without credentials); the rest is the line.
  const std::uint8_t who = data[0] % 5;
  const std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);
  int actions = 0;
  swld::ControlCommands cmds{
      [] { return nlohmann::json{{"schema_version", 1}}; },
      [&](const std::string& n) -> common::Status {
        ++actions;
        if (n.empty()) return common::make_error(common::Errc::config, "no such conn");
        return {};
      },
      [&](const std::string&) -> common::Status {
        ++actions;
        return {};
      }};
  swld::ControlAccess access{1000, gid_t{2000}};
  std::optional<swld::ControlPeer> peer;
  if (who != 4) peer = swld::ControlPeer{42, who == 0 ? 0u : who == 1 ? 1000u : 3000u, who == 2 ? 2000u : 3000u, {}};
  const auto reply = swld::answer_request_line(line, cmds, peer, access);
  check(reply.is_object() && reply.contains("ok") && reply["ok"].is_boolean());
  if (who >= 3) check(actions == 0);
  (void)reply.dump();
  return 0;
}
