// The control socket protocol between `swanless run` and `swanless status/up/down`:
// a Unix stream socket; the client sends one JSON object on one line
// ({"cmd":"status"} | {"cmd":"up","name":N} | {"cmd":"down","name":N}), the daemon answers
// one JSON object ({"ok":true,...} or {"ok":false,"error":"..."}) and closes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace boost::asio {
class io_context;
}

namespace swld {

// Blocking client. On failure returns {"ok":false,"error":...} with a reason a person can act on.
nlohmann::json control_request(const std::string& socket_path, const nlohmann::json& request);

// What the daemon does for each command.
struct ControlCommands {
  std::function<nlohmann::json()> status;                       // the status document
  std::function<common::Status(const std::string& name)> up;    // initiate a conn
  std::function<common::Status(const std::string& name)> down;  // delete a conn's SAs
};

// The answer to one request object.
nlohmann::json answer_control(const nlohmann::json& request, const ControlCommands& commands);

// The daemon's side: accepts connections on the event loop, one request and answer each.
class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, ControlCommands commands);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's folder, replaces a stale socket file, mode 0660. False (logged) on
  // failure.
  bool open(const std::string& path);
  // Shutting down: no connection is accepted after the one in progress.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace swld
