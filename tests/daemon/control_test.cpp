// daemon/control.h: the daemon's answers to the control protocol's requests.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "daemon/control.h"

using swld::answer_control;
using swld::ControlCommands;

namespace {

struct Fake {
  std::vector<std::string> calls;
  ControlCommands commands() {
    ControlCommands c;
    c.status = [this] {
      calls.push_back("status");
      return nlohmann::json{{"daemon", {{"pid", 1}}}};
    };
    c.up = [this](const std::string& name) -> common::Status {
      calls.push_back("up " + name);
      if (name == "nosuch") return common::make_error(common::Errc::config, "no such conn");
      return common::Status::success();
    };
    c.down = [this](const std::string& name) -> common::Status {
      calls.push_back("down " + name);
      return common::Status::success();
    };
    return c;
  }
};

}  // namespace

TEST_CASE("control: status, up and down call the daemon and answer as the CLI expects") {
  Fake f;
  const auto c = f.commands();
  CHECK(answer_control({{"cmd", "status"}}, c) == nlohmann::json{{"ok", true}, {"status", {{"daemon", {{"pid", 1}}}}}});
  CHECK(answer_control({{"cmd", "up"}, {"name", "home"}}, c) ==
        nlohmann::json{{"ok", true}, {"message", "initiating home"}});
  CHECK(answer_control({{"cmd", "down"}, {"name", "home"}}, c) ==
        nlohmann::json{{"ok", true}, {"message", "deleting home"}});
  CHECK(answer_control({{"cmd", "up"}, {"name", "nosuch"}}, c) ==
        nlohmann::json{{"ok", false}, {"error", "up nosuch: no such conn"}});
  CHECK(f.calls == std::vector<std::string>{"status", "up home", "down home", "up nosuch"});
}

TEST_CASE("control: an unknown or missing command is an error and calls nothing") {
  Fake f;
  const auto c = f.commands();
  CHECK(answer_control({{"cmd", "reboot"}}, c) == nlohmann::json{{"ok", false}, {"error", "unknown command 'reboot'"}});
  CHECK(answer_control(nlohmann::json::object(), c) == nlohmann::json{{"ok", false}, {"error", "unknown command ''"}});
  CHECK(f.calls.empty());
}
