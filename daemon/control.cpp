#include "daemon/control.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace swld {

nlohmann::json control_request(const std::string& socket_path, const nlohmann::json& request) {
  auto fail = [&](const std::string& why) { return nlohmann::json{{"ok", false}, {"error", why}}; };
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) return fail("control socket path too long: " + socket_path);
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    return fail("cannot connect to " + socket_path + ": " + std::strerror(e) +
                (e == ENOENT || e == ECONNREFUSED ? " (is `swanless run` running with this socket?)" : ""));
  }
  std::string req = request.dump() + "\n";
  for (std::size_t off = 0; off < req.size();) {
    ssize_t n = ::write(fd, req.data() + off, req.size() - off);
    if (n <= 0) {
      ::close(fd);
      return fail(std::string("write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  std::string resp;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    resp.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto j = nlohmann::json::parse(resp, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("malformed answer from the daemon");
  return j;
}

}  // namespace swld
