#include "daemon/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace swld {

namespace {

std::optional<unsigned long long> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v, &end, 10);
  if (errno || *end || n == 0) {
    LOG_WARN("ignoring %s=%s: not a positive number", name, v);
    return std::nullopt;
  }
  return n;
}

}  // namespace

ServiceNotifier ServiceNotifier::from_environment() {
  ServiceNotifier n;
  const char* s = std::getenv("NOTIFY_SOCKET");
  if (s && *s) {
    if ((s[0] == '/' || s[0] == '@') && std::strlen(s) < sizeof(sockaddr_un{}.sun_path))
      n.socket_ = s;
    else
      LOG_WARN("ignoring NOTIFY_SOCKET=%s: not an absolute path or @abstract name that fits sun_path", s);
  }
  if (auto usec = env_number("WATCHDOG_USEC")) {
    auto pid = env_number("WATCHDOG_PID");
    if (!pid || *pid == static_cast<unsigned long long>(::getpid())) n.watchdog_ = std::chrono::microseconds(*usec);
  }
  return n;
}

bool ServiceNotifier::send(std::string_view state) {
  if (!enabled()) return true;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, socket_.data(), socket_.size());
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0 && ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), len) ==
                           static_cast<ssize_t>(state.size());
  const int e = errno;
  if (fd >= 0) ::close(fd);
  if (!ok && !warned_) {
    LOG_WARN("cannot notify systemd at %s: %s", socket_.c_str(), std::strerror(e));
    warned_ = true;
  }
  return ok;
}

}  // namespace swld
