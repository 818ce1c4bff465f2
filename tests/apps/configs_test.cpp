// The corpus of pasted configurations (tests/configs/README.md): `swanless check` on each,
// compared with its reviewed NAME.expected. SWANLESS_UPDATE_GOLDEN=1 rewrites them instead.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/commands.h"
#include "config/config_test_util.h"

using namespace config_test;

namespace {

std::string configs_dir() {
  std::filesystem::path p(__FILE__);
  return (p.parent_path().parent_path() / "configs").string();
}

std::string read(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("configs: every pasted configuration gives the reviewed check output", "[configs]") {
  const bool update = std::getenv("SWANLESS_UPDATE_GOLDEN") != nullptr;
  std::size_t seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(configs_dir())) {
    if (e.path().extension() != ".conf") continue;
    ++seen;
    const std::string name = e.path().stem().string();
    INFO(name);
    TempDir d;
    // NAME.secrets: its ipsec.secrets. Without one, NAME.conf is a swanctl.conf that holds
    // its own secrets, and so is private.
    const auto secrets = e.path().parent_path() / (name + ".secrets");
    const bool own_secrets = !std::filesystem::exists(secrets);
    d.write(name + ".conf", read(e.path()), own_secrets ? 0600 : 0644);
    if (!own_secrets) d.write(name + ".secrets", read(secrets), 0600);
    // NAME.d/: the files it includes or names (conf.d/, pubkey/, private/), beside it.
    const auto beside = e.path().parent_path() / (name + ".d");
    if (std::filesystem::is_directory(beside)) {
      for (const auto& f : std::filesystem::recursive_directory_iterator(beside)) {
        const auto rel = std::filesystem::relative(f.path(), beside).string();
        if (f.is_directory()) std::filesystem::create_directories(d.path + "/" + rel);
        else d.write(rel, read(f.path()), 0600);
      }
    }
    std::ostringstream out, err;
    const int rc = apps::run_check(d.path + "/" + name + ".conf", out, err);
    const std::string got =
        replace_all(err.str() + out.str() + "exit " + std::to_string(rc) + "\n", d.path, "@DIR@");
    const auto golden = e.path().parent_path() / (name + ".expected");
    if (update) {
      std::ofstream(golden, std::ios::binary) << got;
      continue;
    }
    REQUIRE(std::filesystem::exists(golden));
    CHECK(got == read(golden));
  }
  CHECK(seen >= 12);
}
