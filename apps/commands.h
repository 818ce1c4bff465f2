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

// swanless keygen [--bits N] -o FILE (cmd_keys.cpp, libreswan's newhostkey): writes a new
// RSA private key (PKCS#8 PEM, mode 0600, refuses to overwrite), then prints where it went
// and the public key as a `leftrsasigkey=0s...` line.
int run_keygen(unsigned bits, const std::string& out_path, std::ostream& out, std::ostream& err);
// swanless showkey FILE [--left|--right] [--pem] (cmd_keys.cpp, libreswan's showhostkey):
// FILE is a private key (unencrypted PEM) or a public key PEM. Prints, tab-indented so it
// pastes into a conn section:
//     # rsakey AwEAAcMLp (2048 bits)
//     leftrsasigkey=0sAwEAAcMLp...
// and with `pem` also the public key PEM (what leftpubkey=/rightpubkey= files hold).
int run_showkey(const std::string& path, bool left, std::ostream& out, std::ostream& err);
int run_showkey(const std::string& path, bool left, bool pem, std::ostream& out, std::ostream& err);

// swanless status [--json] [--socket PATH] (cmd_control.cpp): asks the running daemon and
// prints what `ipsec statusall` shows (status_view.h), or with `json` the document as is.
// With `group` (an IPv4 multicast address), only that group's entries of the pim lists.
int run_status(const std::string& socket, bool json, std::ostream& out, std::ostream& err,
               const std::string& group = {});
// swanless status --watch: the text view redrawn in place every second until interrupted
// (status_view.h, watch_status); a failed request is shown and the watch goes on.
int run_status_watch(const std::string& socket, std::ostream& out);
// swanless up NAME / down NAME [--socket PATH] (cmd_control.cpp): initiates a conn, or
// deletes its SAs, through the daemon's control socket.
int run_up(const std::string& socket, const std::string& name, std::ostream& out, std::ostream& err);
int run_down(const std::string& socket, const std::string& name, std::ostream& out, std::ostream& err);

}  // namespace apps
