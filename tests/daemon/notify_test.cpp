// daemon/notify.h: the sd_notify datagrams, received on a socket of our own, path and
// abstract; the watchdog settings from the environment.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/notify.h"

using swld::ServiceNotifier;

namespace {

// A datagram socket bound to `name` (a path, or "@x" for abstract); closes on scope exit.
struct Listener {
  int fd = -1;
  std::string name;
  explicit Listener(const std::string& n) : name(n) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, n.data(), n.size());
    if (n[0] == '@') sa.sun_path[0] = '\0';
    else ::unlink(n.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n.size())) == 0);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Listener() {
    ::close(fd);
    if (name[0] == '/') ::unlink(name.c_str());
  }
  std::string next() {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
};

struct Env {
  Env() { clear(); }
  ~Env() { clear(); }
  static void clear() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }
};

}  // namespace

TEST_CASE("notify: without NOTIFY_SOCKET nothing is sent and nothing fails") {
  Env env;
  auto n = ServiceNotifier::from_environment();
  CHECK_FALSE(n.enabled());
  CHECK_FALSE(n.watchdog().has_value());
  CHECK(n.send(ServiceNotifier::ready("x")));
}

TEST_CASE("notify: READY, RELOADING, STOPPING and WATCHDOG reach a path socket and an abstract one") {
  Env env;
  for (const std::string& name : {"/tmp/swl-notify-" + std::to_string(::getpid()), "@swl-notify-" + std::to_string(::getpid())}) {
    INFO(name);
    Listener l(name);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    auto n = ServiceNotifier::from_environment();
    REQUIRE(n.enabled());
    CHECK(n.send(ServiceNotifier::ready("2 IKE_SA configs")));
    CHECK(l.next() == "READY=1\nSTATUS=2 IKE_SA configs");
    CHECK(n.send(ServiceNotifier::reloading()));
    CHECK(l.next() == "RELOADING=1\nSTATUS=reloading the configuration");
    CHECK(n.send(ServiceNotifier::watchdog_ping()));
    CHECK(l.next() == "WATCHDOG=1");
    CHECK(n.send(ServiceNotifier::stopping()));
    CHECK(l.next() == "STOPPING=1\nSTATUS=deleting SAs and exiting");
  }
}

TEST_CASE("notify: a socket nobody listens on fails the send; a relative name is ignored") {
  Env env;
  ::setenv("NOTIFY_SOCKET", "/tmp/swl-notify-nobody-listens", 1);
  auto n = ServiceNotifier::from_environment();
  REQUIRE(n.enabled());
  CHECK_FALSE(n.send(ServiceNotifier::watchdog_ping()));
  ::setenv("NOTIFY_SOCKET", "run/notify", 1);
  CHECK_FALSE(ServiceNotifier::from_environment().enabled());
}

TEST_CASE("notify: the watchdog is ours only for our pid; bad numbers are ignored") {
  Env env;
  ::setenv("WATCHDOG_USEC", "10000000", 1);
  CHECK(ServiceNotifier::from_environment().watchdog() == std::chrono::seconds(10));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(ServiceNotifier::from_environment().watchdog() == std::chrono::seconds(10));
  ::setenv("WATCHDOG_PID", "1", 1);
  CHECK_FALSE(ServiceNotifier::from_environment().watchdog().has_value());
  ::unsetenv("WATCHDOG_PID");
  ::setenv("WATCHDOG_USEC", "ten", 1);
  CHECK_FALSE(ServiceNotifier::from_environment().watchdog().has_value());
  ::setenv("WATCHDOG_USEC", "0", 1);
  CHECK_FALSE(ServiceNotifier::from_environment().watchdog().has_value());
}
