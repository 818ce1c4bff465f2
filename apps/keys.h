// `swanless keygen` and `swanless showkey`: the host-key commands (libreswan's newhostkey /
// showhostkey). main.cpp parses the command line and calls these; they print to the given
// streams and return the process exit code (0 ok, 1 error).
//
//   swanless keygen [--bits N] -o FILE
//     Writes a new RSA private key (PKCS#8 PEM, mode 0600, refuses to overwrite), then
//     prints where it went and the public key as a `leftrsasigkey=0s...` line.
//   swanless showkey FILE [--left|--right] [--pem]
//     FILE is a private key (unencrypted PEM) or a public key PEM. Prints, tab-indented so
//     it pastes into a conn section:
//         # rsakey AwEAAcMLp (2048 bits)
//         leftrsasigkey=0sAwEAAcMLp...
//     and with --pem also the public key PEM (what leftpubkey=/rightpubkey= files hold).
#pragma once

#include <ostream>
#include <string>

namespace apps {

int run_keygen(unsigned bits, const std::string& out_path, std::ostream& out, std::ostream& err);
int run_showkey(const std::string& path, bool left, std::ostream& out, std::ostream& err);
int run_showkey(const std::string& path, bool left, bool pem, std::ostream& out, std::ostream& err);

}  // namespace apps
