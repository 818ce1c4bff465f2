// Per-interface sysctls, /proc/sys/net/ipv4/conf/<dev>/<key> and /proc/sys/net/ipv6/conf/<dev>/<key>.
//
// /proc/sys/net shows the network namespace of the calling thread, so these act where the
// caller runs. Writing needs CAP_NET_ADMIN over that namespace and a writable /proc/sys
// (containers often mount it read-only): either failure is returned with the path and
// errno text, never ignored.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tun {

using common::Result;
using common::Status;

// dev may be an interface name, "all" or "default". dev and key must be plain names (no
// '/', not "." or ".."); anything else is Errc::config.
Status set_ipv4_conf(std::string_view dev, std::string_view key, std::string_view value);
// The value with its trailing newline removed.
Result<std::string> get_ipv4_conf(std::string_view dev, std::string_view key);
// The same under /proc/sys/net/ipv6/conf (absent when the kernel has no IPv6: the error
// says so, Errc::io from ENOENT).
Status set_ipv6_conf(std::string_view dev, std::string_view key, std::string_view value);
Result<std::string> get_ipv6_conf(std::string_view dev, std::string_view key);

// Reverse-path filtering (RFC 3704): the kernel uses the maximum of conf/all and
// conf/<dev>, so turning it off for one device may also need conf/all set to off.
enum class RpFilter { off = 0, strict = 1, loose = 2 };
Status set_rp_filter(std::string_view dev, RpFilter mode);

}  // namespace tun
