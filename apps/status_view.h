// `swanless status` text, laid out like strongSwan's `ipsec statusall`, rendered from the
// JSON document the daemon returns (`swanless status --json` prints that document as is).
//
// The document's shape, field by field: docs/status.schema.json.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace apps {

std::string render_status(const nlohmann::json& doc);
// `status --group G`: the document with every pim section's per-group lists (groups,
// joins, delivered_by_group, the querier's members) cut down to group G, so one group
// of thousands can be looked at; the rest of the document is left as it is.
nlohmann::json filter_group(nlohmann::json doc, const std::string& group);
// "8 seconds", "34 minutes", "2 hours" as strongSwan prints durations.
std::string human_duration(long long seconds);

// `swanless status --watch`: one screen, redrawn in place (cursor home, each line cleared to
// its end, the rest of the screen cleared below) so the terminal does not flicker the way
// `watch` clearing it first does.
std::string watch_frame(const std::string& text);

struct WatchOptions {
  std::chrono::milliseconds interval{1000};
  std::size_t frames = 0;  // 0: until interrupted
};
// fetch() is one control-socket status request ({"ok":true,"status":...} or
// {"ok":false,"error":...}); a failed request is shown on the screen, and the watch goes on,
// so a restarting daemon comes back into view.
void watch_status(const std::function<nlohmann::json()>& fetch, std::ostream& out, const WatchOptions& options);

}  // namespace apps
