// The swanless commands, one file each (cmd_*.cpp). main.cpp parses the command line
// (CLI11) and calls one of these; they print to the given streams and return the process
// exit code (0 ok, 1 error). `swanless run` is the daemon (swld::run_daemon, daemon/).
#pragma once

#include <ostream>
#include <string>

namespace apps {

// swanless check -c FILE (cmd_check.cpp): validates the config and its secrets file,
// prints the resolved conns, IKE_SA groups, gre and pim sections to `out` and every
// diagnostic to `err`; 1 when there is an error.
int run_check(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace apps
