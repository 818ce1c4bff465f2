// systemd's service notification protocol (sd_notify(3)), spoken directly: one datagram of
// "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for
// the abstract namespace). With Type=notify the unit is "started" only once swanless has
// said READY=1, after its sockets, TUN devices and control socket are open; WatchdogSec=
// makes systemd restart it when the event loop stops sending WATCHDOG=1. Without
// $NOTIFY_SOCKET (started by hand, in a container) every call is a no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace swld {

class ServiceNotifier {
 public:
  // From $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is ours only when
  // WATCHDOG_PID is unset or our pid). Malformed values are logged and ignored.
  static ServiceNotifier from_environment();

  bool enabled() const { return !socket_.empty(); }
  // How often systemd expects WATCHDOG=1; nullopt when it expects none.
  std::optional<std::chrono::microseconds> watchdog() const { return watchdog_; }

  // Sends `state` (e.g. "READY=1\nSTATUS=2 IKE_SAs"). False (logged once) when the
  // datagram cannot be sent; true, doing nothing, when not enabled.
  bool send(std::string_view state);

  // Lines of the protocol.
  static std::string ready(std::string_view status) { return "READY=1\nSTATUS=" + std::string(status); }
  static std::string reloading() { return "RELOADING=1\nSTATUS=reloading the configuration"; }
  static std::string stopping() { return "STOPPING=1\nSTATUS=deleting SAs and exiting"; }
  static std::string watchdog_ping() { return "WATCHDOG=1"; }

 private:
  std::string socket_;
  std::optional<std::chrono::microseconds> watchdog_;
  bool warned_ = false;
};

}  // namespace swld
