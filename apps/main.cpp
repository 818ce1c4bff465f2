// swanless command line (CLI11): run, check, status, up, down, keygen, showkey. Each
// command is one function of commands.h (one file each); `run` is the daemon.
#include <CLI/CLI.hpp>
#include <iostream>

#include "apps/commands.h"
#include "daemon/daemon.h"

namespace {

constexpr const char* kDefaultSocket = "/run/swanless/swanless.sock";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"swanless: userspace IKEv2/ESP + GRE + PIM data plane"};
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "run in the foreground; logs to stderr; SIGHUP reloads");
  run->add_option("-c,--config", config_path, "configuration file (ipsec.conf syntax)")->required();

  auto* check = app.add_subcommand("check", "validate config and secrets, print the resolved conns");
  check->add_option("-c,--config", config_path, "configuration file")->required();

  std::string socket_path = kDefaultSocket;
  bool json = false;
  auto* status = app.add_subcommand("status", "what `ipsec statusall` shows");
  status->add_flag("--json", json, "print the status as one JSON document (docs/status.schema.json)");
  bool watch = false;
  status->add_flag("--watch", watch, "redraw the status every second, in place, until interrupted")
      ->excludes("--json");
  status->add_option("--socket", socket_path, "control socket of the running daemon");
  std::string group;
  status->add_option("--group", group, "only this multicast group's entries in the pim sections")->excludes("--watch");

  std::string name;
  auto* up = app.add_subcommand("up", "initiate a conn");
  up->add_option("name", name, "conn name")->required();
  up->add_option("--socket", socket_path, "control socket");
  auto* down = app.add_subcommand("down", "delete a conn's SAs");
  down->add_option("name", name, "conn name")->required();
  down->add_option("--socket", socket_path, "control socket");

  unsigned bits = 3072;
  std::string key_out;
  auto* keygen = app.add_subcommand("keygen", "make an RSA host key (like libreswan's newhostkey)");
  keygen->add_option("--bits", bits, "modulus size (at least 2048)");
  keygen->add_option("-o,--output", key_out, "private key file to write (PEM, mode 0600)")->required();
  std::string key_in;
  bool right = false, pem = false;
  auto* showkey = app.add_subcommand("showkey", "print the leftrsasigkey=0s... line of a key (like showhostkey)");
  showkey->add_option("file", key_in, "private or public key file (PEM)")->required();
  showkey->add_flag("--right", right, "print rightrsasigkey= instead of leftrsasigkey=");
  showkey->add_flag("--pem", pem, "print the public key as PEM (for leftpubkey=/rightpubkey=)");

  CLI11_PARSE(app, argc, argv);

  if (*keygen) return apps::run_keygen(bits, key_out, std::cout, std::cerr);
  if (*showkey) return apps::run_showkey(key_in, !right, pem, std::cout, std::cerr);

  if (*run) return swld::run_daemon(config_path);
  if (*check) return apps::run_check(config_path, std::cout, std::cerr);
  if (*status && watch) return apps::run_status_watch(socket_path, std::cout);
  if (*status) return apps::run_status(socket_path, json, std::cout, std::cerr, group);
  if (*up) return apps::run_up(socket_path, name, std::cout, std::cerr);
  if (*down) return apps::run_down(socket_path, name, std::cout, std::cerr);
  return 1;
}
