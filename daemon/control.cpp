#include "daemon/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <istream>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "common/log.h"

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


nlohmann::json answer_control(const nlohmann::json& req, const ControlCommands& commands) {
  std::string cmd = req.value("cmd", "");
  if (cmd == "status") return {{"ok", true}, {"status", commands.status()}};
  if (cmd == "up" || cmd == "down") {
    std::string name = req.value("name", "");
    auto st = cmd == "up" ? commands.up(name) : commands.down(name);
    if (!st) return {{"ok", false}, {"error", std::string(cmd) + " " + name + ": " + st.error().detail}};
    return {{"ok", true}, {"message", cmd == "up" ? "initiating " + name : "deleting " + name}};
  }
  return {{"ok", false}, {"error", "unknown command '" + cmd + "'"}};
}

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

struct ControlServer::Impl {
  asio::io_context& io;
  ControlCommands commands;
  std::unique_ptr<stream::acceptor> acceptor;
  bool stopping = false;

  void accept() {
    acceptor->async_accept([this](boost::system::error_code ec, stream::socket sock) {
      if (ec) return;
      auto s = std::make_shared<stream::socket>(std::move(sock));
      auto buf = std::make_shared<asio::streambuf>(65536);
      asio::async_read_until(*s, *buf, '\n', [this, s, buf](boost::system::error_code ec2, std::size_t) {
        nlohmann::json reply;
        if (ec2) {
          reply = {{"ok", false}, {"error", "request too long or connection closed"}};
        } else {
          std::istream is(buf.get());
          std::string line;
          std::getline(is, line);
          auto req = nlohmann::json::parse(line, nullptr, false);
          reply = req.is_object() ? answer_control(req, commands)
                                  : nlohmann::json{{"ok", false}, {"error", "malformed request"}};
        }
        auto out = std::make_shared<std::string>(reply.dump() + "\n");
        asio::async_write(*s, asio::buffer(*out), [s, out](boost::system::error_code, std::size_t) {
          boost::system::error_code ignored;
          s->shutdown(stream::socket::shutdown_both, ignored);
        });
      });
      if (!stopping) accept();
    });
  }
};

ControlServer::ControlServer(asio::io_context& io, ControlCommands commands)
    : impl_(std::make_unique<Impl>(Impl{io, std::move(commands), nullptr})) {}
ControlServer::~ControlServer() = default;

bool ControlServer::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(path.c_str());
  try {
    impl_->acceptor = std::make_unique<stream::acceptor>(impl_->io, stream::endpoint(path));
  } catch (const std::exception& e) {
    LOG_ERROR("cannot open control socket %s: %s", path.c_str(), e.what());
    return false;
  }
  ::chmod(path.c_str(), 0660);
  impl_->accept();
  return true;
}

void ControlServer::stop() { impl_->stopping = true; }

}  // namespace swld
