// The control socket protocol between `swanless run` and `swanless status/up/down`:
// a Unix stream socket; the client sends one JSON object on one line
// ({"cmd":"status"} | {"cmd":"up","name":N} | {"cmd":"down","name":N}), the daemon answers
// one JSON object ({"ok":true,...} or {"ok":false,"error":"..."}) and closes.
//
// Access: the socket file is mode 0660, owned by the daemon's user and by `socket_group`
// when set, so only they can connect. Each request is also checked against the peer's
// credentials (SO_PEERCRED): status is read-only and answered to any peer; up and down
// need root, the daemon's own user or a member of `socket_group`, so a socket made
// reachable by others (a bind mount, a chmod) still refuses their actions.
// Limits: 16 connections served at once (more get a "busy" answer), 5 s to send the
// request line (then the connection is closed), 64 KiB per request.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The process on the other end of a control connection.
struct ControlPeer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, from /proc/PID/status
};

// Who may act (up, down): root, `owner` (the daemon's effective uid) and members of `group`.
struct ControlAccess {
  uid_t owner = 0;
  std::optional<gid_t> group;
};

// Credentials of a connected AF_UNIX peer; nullopt when the kernel gives none.
std::optional<ControlPeer> peer_credentials(int fd);
bool may_act(const ControlPeer& peer, const ControlAccess& access);

// The answer to one request object from `peer`.
nlohmann::json answer_control(const nlohmann::json& request, const ControlCommands& commands,
                              const ControlPeer& peer, const ControlAccess& access);
// One request line as the daemon answers it: JSON parsing, the peer check (nullopt: the
// kernel gave no credentials), then answer_control. Never throws: anything that is not a
// well-formed request gets {"ok":false,"error":...}.
nlohmann::json answer_request_line(std::string_view line, const ControlCommands& commands,
                                   const std::optional<ControlPeer>& peer, const ControlAccess& access);

// The daemon's side: accepts connections on the event loop, one request and answer each.
class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, ControlCommands commands);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket's folder, replaces a stale socket file, mode 0660, group `group` when
  // set (the daemon must be able to chown to it). False (logged) on failure.
  bool open(const std::string& path, std::optional<gid_t> group = std::nullopt);
  // Shutting down: no connection is accepted after the one in progress.
  void stop();
  // After a privilege drop: the daemon's user is now `owner` (it may act, and owns the file).
  void set_owner(uid_t owner);
  // Connections served at once and the time a client has for its request line (defaults
  // 16 and 5 s); for tests.
  void set_limits(std::size_t max_connections, std::chrono::milliseconds request_timeout);
  // Clients refused as busy and clients closed for sending no request in time, so far.
  std::uint64_t refused_busy() const;
  std::uint64_t timed_out() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace swld
