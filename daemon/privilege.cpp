#include "daemon/privilege.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

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

namespace {

// linux/capability.h, 0 .. CAP_LAST_CAP (40 on 6.x kernels)
constexpr const char* kCapNames[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",         "CAP_FSETID",
    "CAP_KILL",           "CAP_SETGID",        "CAP_SETUID",          "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",     "CAP_NET_RAW",        "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",      "CAP_SYS_MODULE",    "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",     "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",       "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",          "CAP_LEASE",          "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",  "CAP_SETFCAP",       "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",
    "CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",      "CAP_PERFMON",        "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

}  // namespace

common::Status set_dumpable(bool on) {
  if (::prctl(PR_SET_DUMPABLE, on ? 1 : 0, 0, 0, 0) != 0) return os_error("prctl(PR_SET_DUMPABLE)");
  return {};
}

std::vector<std::string> capability_names(std::uint64_t mask) {
  std::vector<std::string> out;
  for (unsigned i = 0; i < 64; ++i)
    if (mask & (std::uint64_t{1} << i))
      out.push_back(i < std::size(kCapNames) ? kCapNames[i] : "CAP_" + std::to_string(i));
  return out;
}

ProcessPrivileges process_privileges() {
  ProcessPrivileges p;
  p.uid = ::geteuid();
  p.gid = ::getegid();
  std::ifstream f("/proc/self/status");
  std::string line;
  auto mask = [](const std::string& l) { return std::stoull(l.substr(l.find(':') + 1), nullptr, 16); };
  while (std::getline(f, line)) {
    try {
      if (line.rfind("CapEff:", 0) == 0) p.effective = capability_names(mask(line));
      else if (line.rfind("CapPrm:", 0) == 0) p.permitted = capability_names(mask(line));
      else if (line.rfind("CapBnd:", 0) == 0) p.bounding = capability_names(mask(line)).size();
      else if (line.rfind("NoNewPrivs:", 0) == 0) p.no_new_privs = line.find('1') != std::string::npos;
    } catch (const std::exception&) {
      // a line we cannot read leaves the field at its default
    }
  }
  p.dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
  return p;
}

}  // namespace swld
