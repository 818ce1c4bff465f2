// daemon/privilege.h: capability names, and a real drop in a forked child (root only):
// the uid and gid change, only the kept capability stays, root cannot be regained.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "daemon/privilege.h"

TEST_CASE("privilege: capability names to numbers; unknown names are errors") {
  auto n = swld::capability_numbers({"CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"});
  REQUIRE(n.ok());
  CHECK(*n == std::vector<int>{12, 10, 13});
  CHECK(swld::capability_numbers({}).ok());
  auto bad = swld::capability_numbers({"CAP_SYS_ADMIN"});
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.error().detail) == "unknown capability CAP_SYS_ADMIN");
}

TEST_CASE("privilege: drop to nobody keeping CAP_NET_ADMIN only") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root to change uid");
    SUCCEED("skipped");
    return;
  }
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!swld::drop_privileges(65534, 65534, {12}).ok()) ::_exit(10);
    std::ifstream f("/proc/self/status");
    std::string line, uid, gid, eff, prm, nnp;
    while (std::getline(f, line)) {
      if (line.rfind("Uid:", 0) == 0) uid = line;
      if (line.rfind("Gid:", 0) == 0) gid = line;
      if (line.rfind("CapEff:", 0) == 0) eff = line;
      if (line.rfind("CapPrm:", 0) == 0) prm = line;
      if (line.rfind("NoNewPrivs:", 0) == 0) nnp = line;
    }
    if (uid != "Uid:\t65534\t65534\t65534\t65534") ::_exit(11);
    if (gid != "Gid:\t65534\t65534\t65534\t65534") ::_exit(12);
    if (eff != "CapEff:\t0000000000001000") ::_exit(13);
    if (prm != "CapPrm:\t0000000000001000") ::_exit(14);
    if (nnp != "NoNewPrivs:\t1") ::_exit(15);
    if (::setuid(0) == 0) ::_exit(16);
    ::_exit(0);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  // 10: the drop failed; 11-15: a field of /proc/self/status is not what it should be; 16: root came back
  CHECK(WEXITSTATUS(st) == 0);
}
