// Dropping privilege after start-up (config setup: user=NAME). swanless opens what needs
// root first (sockets, the raw ESP socket, TUN devices, the control socket), then becomes
// NAME and keeps only the capabilities its config needs later on (config/capabilities.h:
// CAP_NET_ADMIN for routes and TUN devices of conns added by a reload, CAP_NET_BIND_SERVICE
// and CAP_NET_RAW when the config has a use for them); every other capability, and root,
// are gone for good (no way back: permitted set reduced, no_new_privs set).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace swld {

// Capability numbers (linux/capability.h) of names like "CAP_NET_ADMIN"; unknown names are
// an error.
common::Result<std::vector<int>> capability_numbers(const std::vector<std::string>& names);

// setgroups({}), setgid(gid), setuid(uid), then permitted = effective = `keep`, inheritable
// and ambient empty. Needs to run as root (or with CAP_SETUID/CAP_SETGID).
common::Status drop_privileges(uid_t uid, gid_t gid, const std::vector<int>& keep);

// Core dumps and ptrace by the same user (prctl PR_SET_DUMPABLE): off once keys exist,
// since a core holds every SK_* and ESP key; on only with config setup `dumpable=yes`.
// setuid resets the flag, so it is set after the drop.
common::Status set_dumpable(bool on);

// The privileges in force, for status: from /proc/self/status and prctl.
struct ProcessPrivileges {
  uid_t uid = 0, gid = 0;                         // effective
  std::vector<std::string> effective, permitted;  // capability names
  std::size_t bounding = 0;                       // capabilities in the bounding set
  bool no_new_privs = false;
  bool dumpable = true;
};
ProcessPrivileges process_privileges();
// "CAP_NET_ADMIN" ... for a capability mask (bit N = capability N); unknown bits "CAP_N".
std::vector<std::string> capability_names(std::uint64_t mask);

}  // namespace swld
