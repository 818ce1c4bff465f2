// Error details for the TUN layer.
//
// common::Error carries a `const char*` that it never owns, so a message that depends on
// run-time facts (a device name, an errno) must outlive every Error that points at it.
// intern_detail() keeps each distinct text for the life of the process in a bounded,
// mutex-guarded set. It is meant for the set-up path (open, netlink, sysctl), where the
// number of distinct messages is small; the packet path uses errno_text() only, which
// returns glibc's static description and never allocates.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tun {

// Returns a pointer valid until process exit. After kMaxInterned distinct texts, returns
// a fixed "(error text table full)" string instead of growing further.
const char* intern_detail(std::string text);
inline constexpr std::size_t kMaxInterned = 4096;

// Static description of an errno value ("File exists"); never allocates.
const char* errno_text(int err);

// "<what>: <strerror(err)>" interned; for set-up errors.
common::Error errno_error(std::string_view what, int err);

}  // namespace tun
