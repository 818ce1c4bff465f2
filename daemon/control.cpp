#include "daemon/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <sstream>

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


std::optional<ControlPeer> peer_credentials(int fd) {
  ucred uc{};
  socklen_t len = sizeof uc;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof uc) return std::nullopt;
  ControlPeer p{uc.pid, uc.uid, uc.gid, {}};
  // The supplementary groups are not in ucred; the peer's /proc entry has them (it is still
  // connected, so the pid is still its own).
  std::ifstream f("/proc/" + std::to_string(uc.pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream is(line.substr(7));
    for (unsigned long g; is >> g;) p.groups.push_back(static_cast<gid_t>(g));
    break;
  }
  return p;
}

bool may_act(const ControlPeer& peer, const ControlAccess& access) {
  if (peer.uid == 0 || peer.uid == access.owner) return true;
  if (!access.group) return false;
  const gid_t g = *access.group;
  return peer.gid == g || std::find(peer.groups.begin(), peer.groups.end(), g) != peer.groups.end();
}

nlohmann::json answer_control(const nlohmann::json& req, const ControlCommands& commands, const ControlPeer& peer,
                              const ControlAccess& access) {
  std::string cmd = req.value("cmd", "");
  if (cmd == "status") return {{"ok", true}, {"status", commands.status()}};
  if (cmd == "up" || cmd == "down") {
    std::string name = req.value("name", "");
    if (!may_act(peer, access)) {
      LOG_WARN("control: %s %s refused for uid %u (pid %d): needs root, the daemon's user or socket_group",
               cmd.c_str(), name.c_str(), static_cast<unsigned>(peer.uid), static_cast<int>(peer.pid));
      return {{"ok", false},
              {"error", cmd + " " + name + ": permission denied (needs root, the daemon's user or socket_group)"}};
    }
    LOG_INFO("control: %s %s by uid %u (pid %d)", cmd.c_str(), name.c_str(), static_cast<unsigned>(peer.uid),
             static_cast<int>(peer.pid));
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
  ControlAccess access;
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
          auto peer = peer_credentials(s->native_handle());
          if (!req.is_object())
            reply = {{"ok", false}, {"error", "malformed request"}};
          else if (!peer)
            reply = {{"ok", false}, {"error", "the daemon cannot tell who is asking (no SO_PEERCRED)"}};
          else
            reply = answer_control(req, commands, *peer, access);
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
    : impl_(std::make_unique<Impl>(Impl{io, std::move(commands), {::geteuid(), std::nullopt}, nullptr})) {}
ControlServer::~ControlServer() = default;

bool ControlServer::open(const std::string& path, std::optional<gid_t> group) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  ::unlink(path.c_str());
  try {
    impl_->acceptor = std::make_unique<stream::acceptor>(impl_->io, stream::endpoint(path));
  } catch (const std::exception& e) {
    LOG_ERROR("cannot open control socket %s: %s", path.c_str(), e.what());
    return false;
  }
  if (group && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    LOG_ERROR("cannot give control socket %s to group %u (socket_group): %s", path.c_str(),
              static_cast<unsigned>(*group), std::strerror(errno));
    return false;
  }
  if (::chmod(path.c_str(), 0660) != 0) {
    LOG_ERROR("cannot set mode 0660 on control socket %s: %s", path.c_str(), std::strerror(errno));
    return false;
  }
  impl_->access.group = group;
  impl_->accept();
  return true;
}

void ControlServer::stop() { impl_->stopping = true; }

void ControlServer::set_owner(uid_t owner) { impl_->access.owner = owner; }

}  // namespace swld
