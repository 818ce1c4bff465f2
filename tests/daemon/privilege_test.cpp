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

TEST_CASE("privilege: capability names from a mask; the process report matches /proc and prctl") {
  CHECK(swld::capability_names(0).empty());
  CHECK(swld::capability_names((1ull << 12) | (1ull << 13)) == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_NET_RAW"});
  CHECK(swld::capability_names(1ull << 10) == std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  CHECK(swld::capability_names(1ull << 60) == std::vector<std::string>{"CAP_60"});
  auto p = swld::process_privileges();
  CHECK(p.uid == ::geteuid());
  CHECK(p.gid == ::getegid());
  CHECK(p.bounding > 0);
  // dumpable follows prctl both ways (this test process ends dumpable again)
  REQUIRE(swld::set_dumpable(false).ok());
  CHECK_FALSE(swld::process_privileges().dumpable);
  REQUIRE(swld::set_dumpable(true).ok());
  CHECK(swld::process_privileges().dumpable);
  if (::geteuid() == 0) CHECK_FALSE(p.effective.empty());
}
