#include "tun/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "tun/error_text.h"

namespace tun {

using common::Errc;
using common::make_error;

namespace {

bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == '\0') return false;
  return true;
}

Result<std::string> conf_path(std::string_view family, std::string_view dev, std::string_view key) {
  if (!plain_name(dev) || !plain_name(key))
    return make_error(Errc::config, "sysctl: interface and key must be plain names");
  std::string p = "/proc/sys/net/";
  p += family;
  p += "/conf/";
  p += dev;
  p += '/';
  p += key;
  return p;
}

Status set_conf(std::string_view family, std::string_view dev, std::string_view key, std::string_view value) {
  Result<std::string> path = conf_path(family, dev, key);
  if (!path) return path.error();
  int fd = ::open(path->c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("sysctl " + *path + " not writable", errno);
  std::string v(value);
  v += '\n';
  ssize_t n = ::write(fd, v.data(), v.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return errno_error("sysctl write " + *path + " = " + std::string(value), err);
  if (static_cast<std::size_t>(n) != v.size())
    return make_error(Errc::io, intern_detail("sysctl short write to " + *path));
  return {};
}

Result<std::string> get_conf(std::string_view family, std::string_view dev, std::string_view key) {
  Result<std::string> path = conf_path(family, dev, key);
  if (!path) return path.error();
  int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("sysctl read " + *path, errno);
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  int err = errno;
  ::close(fd);
  if (n < 0) return errno_error("sysctl read " + *path, err);
  std::string out(buf, static_cast<std::size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Status set_ipv4_conf(std::string_view dev, std::string_view key, std::string_view value) {
  return set_conf("ipv4", dev, key, value);
}
Result<std::string> get_ipv4_conf(std::string_view dev, std::string_view key) { return get_conf("ipv4", dev, key); }
Status set_ipv6_conf(std::string_view dev, std::string_view key, std::string_view value) {
  return set_conf("ipv6", dev, key, value);
}
Result<std::string> get_ipv6_conf(std::string_view dev, std::string_view key) { return get_conf("ipv6", dev, key); }

Status set_rp_filter(std::string_view dev, RpFilter mode) {
  return set_ipv4_conf(dev, "rp_filter", std::to_string(static_cast<int>(mode)));
}

}  // namespace tun
