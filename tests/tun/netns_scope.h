// Test helper: moves the calling thread into a brand-new network namespace for the life
// of the object and back afterwards, so nothing a test does reaches the host's
// interfaces. The namespace has no links but a down loopback; it is freed by the kernel
// when the last fd or thread in it goes away (TUN fds are closed by their owners).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tuntest {

class NetnsScope {
 public:
  NetnsScope() {
    if (::geteuid() != 0) {
      why_ = "not root: creating a network namespace and TUN devices needs CAP_SYS_ADMIN and CAP_NET_ADMIN";
      return;
    }
    orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ < 0) {
      why_ = std::string("cannot open /proc/thread-self/ns/net: ") + std::strerror(errno);
      return;
    }
    struct stat before {};
    if (::fstat(orig_, &before) != 0 || ::unshare(CLONE_NEWNET) != 0) {
      why_ = std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
      return;
    }
    struct stat after {};
    if (::stat("/proc/thread-self/ns/net", &after) != 0 || after.st_ino == before.st_ino) {
      restore();
      why_ = "could not confirm that a new network namespace is in use";
      return;
    }
    ok_ = true;
  }
  ~NetnsScope() { restore(); }
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  void restore() {
    if (orig_ < 0) return;
    if (ok_ && ::setns(orig_, CLONE_NEWNET) != 0) {
      // Carrying on would run later tests in the wrong namespace.
      std::fprintf(stderr, "FATAL: cannot return to the original network namespace: %s\n", std::strerror(errno));
      std::abort();
    }
    ::close(orig_);
    orig_ = -1;
    ok_ = false;
  }
  int orig_ = -1;
  bool ok_ = false;
  std::string why_;
};

}  // namespace tuntest
