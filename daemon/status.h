// The status document that `swanless status` renders and `swanless status --json` prints
// (its shape: apps/status_view.h), built from what each part of the daemon shows. Scripts
// and tests read its keys: they stay as they are.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/child_table.h"
#include "daemon/data_path.h"
#include "ike/engine.h"

namespace swld {

class Overlay;

// A conn that stays down: why (the error as logged), and what brings it back (a reload, or
// a restart when swanless gave up the capability it needs).
struct ConnDown {
  std::string reason;
  std::string retry;
};

struct StatusSources {
  ike::TimePoint now;
  std::chrono::steady_clock::time_point started;
  const ike::Engine& engine;
  const ChildTable& children;
  const DataPathStats& data;
  const Overlay* overlay = nullptr;
  // Conns down because their device could not be set up (null: none).
  const std::map<std::string, ConnDown>* conns_down = nullptr;
};

// The document's "schema_version" (docs/status.schema.json describes it): raised only when
// a field is removed or changes meaning; added fields leave it as it is.
inline constexpr int kStatusSchemaVersion = 1;

nlohmann::json status_json(const StatusSources& s);

}  // namespace swld
