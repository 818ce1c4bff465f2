#include "daemon/privilege.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tun/error_text.h"

namespace swld {

namespace {

struct Cap {
  const char* name;
  int number;
};
constexpr Cap kCaps[] = {{"CAP_NET_ADMIN", CAP_NET_ADMIN},
                         {"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE},
                         {"CAP_NET_RAW", CAP_NET_RAW}};

common::Status os_error(const char* what) { return tun::errno_error(what, errno); }

}  // namespace

common::Result<std::vector<int>> capability_numbers(const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& n : names) {
    bool found = false;
    for (const auto& c : kCaps)
      if (n == c.name) {
        out.push_back(c.number);
        found = true;
      }
    if (!found) return common::make_error(common::Errc::config, tun::intern_detail("unknown capability " + n));
  }
  return out;
}

common::Status drop_privileges(uid_t uid, gid_t gid, const std::vector<int>& keep) {
  // Keep the permitted set across setuid; the effective set is rebuilt below.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return os_error("prctl(PR_SET_KEEPCAPS)");
  if (::setgroups(0, nullptr) != 0) return os_error("setgroups");
  if (::setresgid(gid, gid, gid) != 0) return os_error("setresgid");
  if (::setresuid(uid, uid, uid) != 0) return os_error("setresuid");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int c : keep) {
    data[c / 32].effective |= 1u << (c % 32);
    data[c / 32].permitted |= 1u << (c % 32);
  }
  if (::syscall(SYS_capset, &hdr, data) != 0) return os_error("capset");
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return os_error("prctl(PR_SET_KEEPCAPS, 0)");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return os_error("prctl(PR_CAP_AMBIENT)");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return os_error("prctl(PR_SET_NO_NEW_PRIVS)");
  // setuid to a non-root uid must not be undoable
  if (uid != 0 && ::setuid(0) == 0) return common::make_error(common::Errc::state, "could regain root after dropping it");
  return common::Status::success();
}

}  // namespace swld
