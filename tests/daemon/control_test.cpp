// daemon/control.h: the daemon's answers to the control protocol's requests.
#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "daemon/control.h"

using swld::answer_control;
using swld::ControlAccess;
using swld::ControlCommands;
using swld::ControlPeer;

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

const ControlPeer kRoot{1, 0, 0, {}};
const ControlAccess kAccess{1000, std::nullopt};

nlohmann::json answer(const nlohmann::json& req, const ControlCommands& c) {
  return answer_control(req, c, kRoot, kAccess);
}

}  // namespace

TEST_CASE("control: status, up and down call the daemon and answer as the CLI expects") {
  Fake f;
  const auto c = f.commands();
  CHECK(answer({{"cmd", "status"}}, c) == nlohmann::json{{"ok", true}, {"status", {{"daemon", {{"pid", 1}}}}}});
  CHECK(answer({{"cmd", "up"}, {"name", "home"}}, c) ==
        nlohmann::json{{"ok", true}, {"message", "initiating home"}});
  CHECK(answer({{"cmd", "down"}, {"name", "home"}}, c) ==
        nlohmann::json{{"ok", true}, {"message", "deleting home"}});
  CHECK(answer({{"cmd", "up"}, {"name", "nosuch"}}, c) ==
        nlohmann::json{{"ok", false}, {"error", "up nosuch: no such conn"}});
  CHECK(f.calls == std::vector<std::string>{"status", "up home", "down home", "up nosuch"});
}

TEST_CASE("control: an unknown or missing command is an error and calls nothing") {
  Fake f;
  const auto c = f.commands();
  CHECK(answer({{"cmd", "reboot"}}, c) == nlohmann::json{{"ok", false}, {"error", "unknown command 'reboot'"}});
  CHECK(answer(nlohmann::json::object(), c) == nlohmann::json{{"ok", false}, {"error", "unknown command ''"}});
  CHECK(f.calls.empty());
}

TEST_CASE("control: up and down need root, the daemon's user or socket_group; status does not") {
  Fake f;
  const auto c = f.commands();
  const ControlAccess grouped{1000, 2000};
  const ControlPeer stranger{42, 1001, 1001, {27, 100}};
  const nlohmann::json refused{{"ok", false},
                               {"error", "down home: permission denied (needs root, the daemon's user or socket_group)"}};
  CHECK(answer_control({{"cmd", "down"}, {"name", "home"}}, c, stranger, grouped) == refused);
  CHECK(answer_control({{"cmd", "up"}, {"name", "home"}}, c, stranger, kAccess).value("ok", true) == false);
  CHECK(answer_control({{"cmd", "status"}}, c, stranger, grouped).value("ok", false));
  CHECK(f.calls == std::vector<std::string>{"status"});

  CHECK(swld::may_act(kRoot, grouped));
  CHECK(swld::may_act({42, 1000, 1000, {}}, grouped));         // the daemon's own user
  CHECK(swld::may_act({42, 1001, 2000, {}}, grouped));         // primary group
  CHECK(swld::may_act({42, 1001, 1001, {27, 2000}}, grouped));  // supplementary group
  CHECK_FALSE(swld::may_act(stranger, grouped));
  CHECK_FALSE(swld::may_act({42, 1001, 2000, {2000}}, kAccess));  // no socket_group: only root and owner
}

// A real socket: the server on an event loop in a thread, clients in this process (root)
// and in a child that has dropped to nobody (uid/gid 65534). Needs root to setuid.
TEST_CASE("control: over a real socket, SO_PEERCRED tells root from nobody") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root to run a client as another user");
    SUCCEED("skipped");
    return;
  }
  char tmpl[] = "/tmp/swl-control-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, path = dir + "/s.sock";
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  Fake f;
  boost::asio::io_context io;
  swld::ControlServer server(io, f.commands());
  REQUIRE(server.open(path, gid_t{0}));
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write | std::filesystem::perms::group_read |
         std::filesystem::perms::group_write));
  auto guard = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  CHECK(swld::control_request(path, {{"cmd", "down"}, {"name", "home"}}) ==
        nlohmann::json{{"ok", true}, {"message", "deleting home"}});

  // nobody cannot open a 0660 root:root socket at all; with the mode opened up (as a bind
  // mount or a chmod might), it reads the status but is refused for down.
  auto as_nobody = [&](const nlohmann::json& req) {
    int pfd[2];
    REQUIRE(::pipe(pfd) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(pfd[0]);
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
      const std::string r = swld::control_request(path, req).dump();
      ssize_t n = ::write(pfd[1], r.data(), r.size());
      ::_exit(n == static_cast<ssize_t>(r.size()) ? 0 : 3);
    }
    ::close(pfd[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(pfd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(pfd[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    REQUIRE(WIFEXITED(st));
    REQUIRE(WEXITSTATUS(st) == 0);
    return nlohmann::json::parse(out);
  };
  auto closed = as_nobody({{"cmd", "status"}});
  CHECK(closed.value("ok", true) == false);
  CHECK(closed.value("error", "").find("Permission denied") != std::string::npos);

  REQUIRE(::chmod(path.c_str(), 0666) == 0);
  CHECK(as_nobody({{"cmd", "status"}}).value("ok", false));
  CHECK(as_nobody({{"cmd", "down"}, {"name", "home"}}) ==
        nlohmann::json{{"ok", false},
                       {"error", "down home: permission denied (needs root, the daemon's user or socket_group)"}});
  CHECK(f.calls == std::vector<std::string>{"down home", "status"});

  server.stop();
  guard.reset();
  io.stop();
  loop.join();
  std::filesystem::remove_all(dir);
}

TEST_CASE("control: peer_credentials of a socketpair are this process's") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  auto p = swld::peer_credentials(sv[0]);
  REQUIRE(p.has_value());
  CHECK(p->pid == ::getpid());
  CHECK(p->uid == ::geteuid());
  CHECK(p->gid == ::getegid());
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST_CASE("control: idle clients time out, connections beyond the limit are refused, the socket keeps serving") {
  char tmpl[] = "/tmp/swl-control-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, path = dir + "/s.sock";
  Fake f;
  boost::asio::io_context io;
  swld::ControlServer server(io, f.commands());
  REQUIRE(server.open(path, std::nullopt));
  server.set_limits(4, std::chrono::milliseconds(300));
  auto guard = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  auto connect_idle = [&] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
  };
  auto read_all = [](int fd) {  // until the daemon closes (or 2 s)
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  };
  // Four clients that never send fill the limit; a fifth is answered "busy" at once.
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_idle());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int extra = connect_idle();
  CHECK(read_all(extra).find("busy") != std::string::npos);
  ::close(extra);
  // The idle ones are closed after the request timeout, with nothing called.
  for (int fd : idle) {
    CHECK(read_all(fd).empty());
    ::close(fd);
  }
  CHECK(server.timed_out() == 4);
  CHECK(server.refused_busy() == 1);
  CHECK(f.calls.empty());
  // Malformed JSON and a line that never ends within the buffer get an error answer.
  CHECK(swld::control_request(path, "not json").value("ok", true) == false);
  // And the socket still serves.
  CHECK(swld::control_request(path, {{"cmd", "status"}}).value("ok", false));

  server.stop();
  guard.reset();
  io.stop();
  loop.join();
  std::filesystem::remove_all(dir);
}

TEST_CASE("control: a request line with fields of the wrong type is refused, never thrown") {
  // nlohmann's value() throws type_error when "cmd" or "name" is not a string; thrown in an
  // Asio handler that would have ended the daemon.
  Fake f;
  swld::ControlAccess access{0, std::nullopt};
  swld::ControlPeer root{1, 0, 0, {}};
  for (const char* line : {R"({"cmd":5})", R"({"cmd":"down","name":7})", R"({"cmd":["up"]})", R"({"cmd":null})",
                           "[1]", "", "{", R"({"cmd":"up","name":{"a":1}})"}) {
    auto r = swld::answer_request_line(line, f.commands(), root, access);
    CHECK(r.value("ok", true) == false);
  }
  CHECK(f.calls.empty());
  CHECK(swld::answer_request_line(R"({"cmd":"status"})", f.commands(), std::nullopt, access).value("error", "") ==
        "the daemon cannot tell who is asking (no SO_PEERCRED)");
}
