// The control socket protocol between `swanless run` and `swanless status/up/down`:
// a Unix stream socket; the client sends one JSON object on one line
// ({"cmd":"status"} | {"cmd":"up","name":N} | {"cmd":"down","name":N}), the daemon answers
// one JSON object ({"ok":true,...} or {"ok":false,"error":"..."}) and closes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace swld {

// Blocking client. On failure returns {"ok":false,"error":...} with a reason a person can act on.
nlohmann::json control_request(const std::string& socket_path, const nlohmann::json& request);

}  // namespace swld
