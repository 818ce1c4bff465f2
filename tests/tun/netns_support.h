// Shared by the namespace tests of tun/ (netns_test.cpp, netns_uso_test.cpp): the
// namespace guard, opening the TUN and netlink with a reason on failure, a checksum, and
// the standard address and route set-up.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "netns_scope.h"
#include "tun/device.h"
#include "tun/netlink.h"

#define NETNS_OR_SKIP()                                                  \
  tuntest::NetnsScope netns_scope_;                                     \
  if (!netns_scope_.ok()) {                                             \
    WARN("SKIPPED (namespace test not run): " << netns_scope_.why());   \
    SUCCEED("skipped");                                                 \
    return;                                                             \
  }

namespace tuntest {

using common::Bytes;
using common::IpAddr;
using common::Prefix;
using tun::LinuxTun;
using tun::Netlink;

constexpr const char* kDev = "swltun0";

inline std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "(popen failed)";
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  return out;
}

inline Prefix pfx(const char* s) {
  auto p = Prefix::parse(s);
  REQUIRE(p.has_value());
  return *p;
}
inline IpAddr ip(const char* s) {
  auto a = IpAddr::parse(s);
  REQUIRE(a.has_value());
  return *a;
}

inline std::string detail(const common::Error& e) { return e.detail ? e.detail : ""; }

// Opens the TUN; on a machine without /dev/net/tun the test is skipped with the reason.
inline std::unique_ptr<LinuxTun> open_tun(const tun::LinuxTunOptions& o, bool& skipped) {
  skipped = false;
  auto t = LinuxTun::open(o);
  if (!t) {
    std::string d = detail(t.error());
    if (d.find("is missing") != std::string::npos) {
      WARN("SKIPPED: " << d);
      skipped = true;
      return nullptr;
    }
    FAIL("LinuxTun::open: " << d);
  }
  return std::move(t).value();
}

inline Netlink open_nl() {
  auto nl = Netlink::open();
  if (!nl) FAIL("Netlink::open: " << detail(nl.error()));
  return std::move(nl).value();
}

#define REQUIRE_OK(expr)                                         \
  do {                                                           \
    auto r_ = (expr);                                            \
    INFO(#expr << " -> " << (r_.ok() ? "" : detail(r_.error()))); \
    REQUIRE(r_.ok());                                            \
  } while (0)

inline std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (std::uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += std::uint32_t(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// The TUN device up with 10.44.4.6/30, and 10.99.0.0/24 routed into it. IPv6 off on it
// first: otherwise the kernel's router solicitations and MLD reports (sent some time
// after link up) turn up in reads that expect only the test's packets, or none.
inline void route_through_tun() {
  std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + kDev + "/disable_ipv6") << "1\n";
  Netlink nl = open_nl();
  REQUIRE_OK(nl.add_address(kDev, {pfx("10.44.4.6/30"), pfx("10.44.4.5")}));
  REQUIRE_OK(nl.set_link_up(kDev));
  tun::RouteSpec r;
  r.dst = pfx("10.99.0.0/24");
  r.dev = kDev;
  r.src = ip("10.44.4.6");
  REQUIRE_OK(nl.add_route(r));
}

// The running kernel's release (uname -r) is MAJOR.MINOR or newer.
inline bool kernel_at_least(int major, int minor) {
  std::ifstream f("/proc/sys/kernel/osrelease");
  int a = 0, b = 0;
  char dot = 0;
  if (!(f >> a >> dot >> b) || dot != '.') return false;
  return a > major || (a == major && b >= minor);
}

}  // namespace tuntest
