#include "daemon/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

nlohmann::json answer_request_line(std::string_view line, const ControlCommands& commands,
                                   const std::optional<ControlPeer>& peer, const ControlAccess& access) {
  auto req = nlohmann::json::parse(line, nullptr, false);
  if (!req.is_object()) return {{"ok", false}, {"error", "malformed request"}};
  if (!peer) return {{"ok", false}, {"error", "the daemon cannot tell who is asking (no SO_PEERCRED)"}};
  try {
    return answer_control(req, commands, *peer, access);
  } catch (const nlohmann::json::exception&) {
    // e.g. "cmd" or "name" present but not a string: value() throws type_error
    return {{"ok", false}, {"error", "malformed request"}};
  }
}

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

// A client gets kRequestTimeout to send its line and read the answer; at most
// kMaxConnections are served at once, a client beyond them gets a "busy" answer at once.
// So a client that connects and never sends, or thousands of them, cost a bounded number
// of descriptors for a bounded time, and the daemon's own `status` keeps working.
constexpr std::size_t kMaxConnections = 16;
constexpr std::chrono::milliseconds kRequestTimeout{5000};
constexpr std::size_t kMaxRequest = 65536;

struct ControlServer::Impl {
  asio::io_context& io;
  ControlCommands commands;
  ControlAccess access;
  std::unique_ptr<stream::acceptor> acceptor;
  bool stopping = false;
  std::size_t max_connections = kMaxConnections;
  std::chrono::milliseconds request_timeout = kRequestTimeout;
  std::size_t open_connections = 0;
  std::uint64_t refused_busy = 0, timed_out = 0;
  std::unique_ptr<asio::steady_timer> retry;  // after an accept error (e.g. EMFILE)

  struct Conn {
    stream::socket sock;
    asio::streambuf buf{kMaxRequest};
    asio::steady_timer deadline;
    Impl* owner;
    Conn(stream::socket s, Impl* o) : sock(std::move(s)), deadline(o->io), owner(o) { ++o->open_connections; }
    ~Conn() { --owner->open_connections; }
  };

  static void answer(const std::shared_ptr<Conn>& c, const nlohmann::json& reply) {
    auto out = std::make_shared<std::string>(reply.dump() + "\n");
    asio::async_write(c->sock, asio::buffer(*out), [c, out](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      c->sock.shutdown(stream::socket::shutdown_both, ignored);
      c->deadline.cancel();
    });
  }

  nlohmann::json reply_to(const std::shared_ptr<Conn>& c) {
    std::istream is(&c->buf);
    std::string line;
    std::getline(is, line);
    return answer_request_line(line, commands, peer_credentials(c->sock.native_handle()), access);
  }

  void serve(stream::socket sock) {
    if (open_connections >= max_connections) {
      if (refused_busy++ % 100 == 0)
        LOG_WARN("control: %zu connections open, refusing more (%llu so far)", open_connections,
                 static_cast<unsigned long long>(refused_busy));
      auto c = std::make_shared<Conn>(std::move(sock), this);
      answer(c, {{"ok", false}, {"error", "busy: too many control connections, try again"}});
      return;
    }
    auto c = std::make_shared<Conn>(std::move(sock), this);
    c->deadline.expires_after(request_timeout);
    c->deadline.async_wait([this, c](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the exchange finished
      if (timed_out++ % 100 == 0)
        LOG_WARN("control: a client sent no complete request within %lld ms, closed (%llu so far)",
                 static_cast<long long>(request_timeout.count()), static_cast<unsigned long long>(timed_out));
      boost::system::error_code ignored;
      c->sock.close(ignored);
    });
    asio::async_read_until(c->sock, c->buf, '\n', [this, c](boost::system::error_code ec, std::size_t) {
      if (ec == asio::error::operation_aborted || !c->sock.is_open()) return;  // timed out
      answer(c, ec ? nlohmann::json{{"ok", false}, {"error", "request too long or connection closed"}} : reply_to(c));
    });
  }

  void accept() {
    acceptor->async_accept([this](boost::system::error_code ec, stream::socket sock) {
      if (stopping || ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors or memory: keep the control socket alive, try again shortly.
        LOG_WARN("control: accept failed: %s; retrying in 100 ms", ec.message().c_str());
        retry = std::make_unique<asio::steady_timer>(io, std::chrono::milliseconds(100));
        retry->async_wait([this](boost::system::error_code e) {
          if (!e && !stopping) accept();
        });
        return;
      }
      serve(std::move(sock));
      accept();
    });
  }
};

ControlServer::ControlServer(asio::io_context& io, ControlCommands commands)
    : impl_(std::make_unique<Impl>(Impl{io, std::move(commands), {::geteuid(), std::nullopt}, nullptr, false, kMaxConnections, kRequestTimeout, 0, 0, 0, nullptr})) {}
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

void ControlServer::set_limits(std::size_t max_connections, std::chrono::milliseconds request_timeout) {
  impl_->max_connections = max_connections;
  impl_->request_timeout = request_timeout;
}

std::uint64_t ControlServer::refused_busy() const { return impl_->refused_busy; }
std::uint64_t ControlServer::timed_out() const { return impl_->timed_out; }

}  // namespace swld
