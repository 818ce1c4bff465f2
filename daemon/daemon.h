// `swanless run`: the one event loop (Boost.Asio) that owns every socket, TUN device, timer
// and the control socket, and feeds bytes and time to the sans-I/O cores (daemon.cpp).
#pragma once

#include <string>

namespace swld {

// Runs until SIGINT/SIGTERM; returns the process exit code.
int run_daemon(const std::string& config_path);

}  // namespace swld
