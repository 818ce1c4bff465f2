// Real TUN, netlink and sysctl tests. Each test case runs in a network namespace of its
// own (NetnsScope) and is skipped, with a warning that says why, when not root.

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "netns_support.h"
#include "tun/sysctl.h"

using namespace tuntest;

namespace {

// IPv4 header (RFC 791 §3.1) + ICMP echo request (RFC 792), built by hand.
Bytes icmp_echo(const IpAddr& src, const IpAddr& dst, std::uint16_t id, std::uint16_t seq,
                const std::string& payload) {
  const std::size_t total = 20 + 8 + payload.size();
  std::vector<std::uint8_t> p(total, 0);
  p[0] = 0x45;
  p[2] = std::uint8_t(total >> 8);
  p[3] = std::uint8_t(total);
  p[4] = 0x12;
  p[5] = 0x34;
  p[8] = 64;  // TTL
  p[9] = 1;   // ICMP
  std::copy(src.b.begin(), src.b.begin() + 4, p.begin() + 12);
  std::copy(dst.b.begin(), dst.b.begin() + 4, p.begin() + 16);
  std::uint16_t c = checksum(p.data(), 20);
  p[10] = std::uint8_t(c >> 8);
  p[11] = std::uint8_t(c);
  p[20] = 8;  // echo request
  p[24] = std::uint8_t(id >> 8);
  p[25] = std::uint8_t(id);
  p[26] = std::uint8_t(seq >> 8);
  p[27] = std::uint8_t(seq);
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  c = checksum(p.data() + 20, total - 20);
  p[22] = std::uint8_t(c >> 8);
  p[23] = std::uint8_t(c);
  Bytes out(total);
  std::memcpy(out.data(), p.data(), total);
  return out;
}

// Reads packets from the TUN (polling, up to ~2 s) until `match` accepts one.
template <typename F>
bool read_until(tun::Device& dev, F match) {
  std::vector<std::byte> store(4 * 2048);
  std::array<tun::PacketSlot, 4> slots;
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i].buf = {store.data() + i * 2048, 2048};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{dev.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    auto n = dev.read_batch(slots);
    if (!n) return false;
    for (std::size_t i = 0; i < *n; ++i) {
      const auto* b = reinterpret_cast<const std::uint8_t*>(slots[i].buf.data());
      if (match(b, slots[i].len)) return true;
    }
  }
  return false;
}


}  // namespace

TEST_CASE("LinuxTun + netlink: link up, MTU and multicast flag, seen by ip link") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({kDev, false}, skipped);
  if (skipped) return;
  CHECK(dev->name() == kDev);
  CHECK(dev->fd() >= 0);
  Netlink nl = open_nl();

  REQUIRE_OK(nl.set_mtu(kDev, 1400));
  REQUIRE_OK(nl.set_multicast(kDev, false));
  REQUIRE_OK(nl.set_link_up(kDev));
  std::string out = sh(std::string("ip -o link show dev ") + kDev);
  INFO(out);
  CHECK(out.find("mtu 1400") != std::string::npos);
  CHECK(out.find("MULTICAST") == std::string::npos);
  CHECK(out.find(",UP") != std::string::npos);

  auto li = nl.get_link(kDev);
  REQUIRE(li.ok());
  CHECK(li->name == kDev);
  CHECK(li->mtu == 1400);
  CHECK(li->up());
  CHECK_FALSE(li->multicast());
  CHECK(li->point_to_point());

  REQUIRE_OK(nl.set_multicast(kDev, true));
  out = sh(std::string("ip -o link show dev ") + kDev);
  CHECK(out.find("MULTICAST") != std::string::npos);
  CHECK(nl.get_link(kDev)->multicast());

  REQUIRE_OK(nl.set_link_up(kDev, false));
  CHECK_FALSE(nl.get_link(kDev)->up());

  // The kernel refuses an MTU below 68 for IPv4 devices: the errno text must come back.
  auto bad = nl.set_mtu(kDev, 20);
  REQUIRE_FALSE(bad.ok());
  CHECK(detail(bad.error()).find("link set mtu 20 dev swltun0: Invalid argument") != std::string::npos);

  auto missing = nl.set_link_up("nosuch0");
  REQUIRE_FALSE(missing.ok());
  CHECK(detail(missing.error()).find("nosuch0") != std::string::npos);
  CHECK(detail(missing.error()).find("No such device") != std::string::npos);
}

TEST_CASE("netlink: point-to-point and plain IPv4 addresses, seen by ip addr") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({kDev, false}, skipped);
  if (skipped) return;
  Netlink nl = open_nl();

  // ip addr add 10.44.4.6/30 peer 10.44.4.5 dev swltun0
  tun::AddressSpec ptp{pfx("10.44.4.6/30"), pfx("10.44.4.5")};
  REQUIRE_OK(nl.add_address(kDev, ptp));
  tun::AddressSpec plain{pfx("10.44.5.1/24"), std::nullopt};
  REQUIRE_OK(nl.add_address(kDev, plain));

  std::string out = sh(std::string("ip -o -4 addr show dev ") + kDev);
  INFO(out);
  CHECK(out.find("inet 10.44.4.6 peer 10.44.4.5/32") != std::string::npos);
  CHECK(out.find("inet 10.44.5.1/24") != std::string::npos);

  auto list = nl.list_addresses(kDev);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  bool saw_ptp = false, saw_plain = false;
  for (const auto& a : *list) {
    if (a.local == ip("10.44.4.6")) {
      saw_ptp = true;
      CHECK(a.has_peer());
      CHECK(a.address == ip("10.44.4.5"));
      CHECK(a.prefix_len == 32);
    }
    if (a.local == ip("10.44.5.1")) {
      saw_plain = true;
      CHECK_FALSE(a.has_peer());
      CHECK(a.prefix_len == 24);
    }
  }
  CHECK(saw_ptp);
  CHECK(saw_plain);

  auto dup = nl.add_address(kDev, plain);
  REQUIRE_FALSE(dup.ok());
  // Newer kernels append their extended-ACK reason in parentheses.
  CHECK(detail(dup.error()).rfind("RTM_NEWADDR 10.44.5.1/24 dev swltun0: File exists", 0) == 0);
  REQUIRE_OK(nl.add_address(kDev, plain, /*replace=*/true));

  REQUIRE_OK(nl.del_address(kDev, plain));
  out = sh(std::string("ip -o -4 addr show dev ") + kDev);
  CHECK(out.find("10.44.5.1") == std::string::npos);
  CHECK(nl.list_addresses(kDev)->size() == 1);
  auto gone = nl.del_address(kDev, plain);
  REQUIRE_FALSE(gone.ok());
  CHECK(detail(gone.error()).find("RTM_DELADDR 10.44.5.1/24 dev swltun0: ") == 0);
}

TEST_CASE("netlink: routes with src, table and metric, seen by ip route") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({kDev, false}, skipped);
  if (skipped) return;
  Netlink nl = open_nl();
  REQUIRE_OK(nl.add_address(kDev, {pfx("10.44.4.6/30"), pfx("10.44.4.5")}));
  REQUIRE_OK(nl.set_link_up(kDev));

  tun::RouteSpec r;
  r.dst = pfx("10.99.0.0/24");
  r.dev = kDev;
  r.src = ip("10.44.4.6");
  r.metric = 50;
  REQUIRE_OK(nl.add_route(r));
  tun::RouteSpec t;
  t.dst = pfx("198.51.100.0/24");
  t.dev = kDev;
  t.table = 100;
  REQUIRE_OK(nl.add_route(t));
  tun::RouteSpec gw;  // via the point-to-point peer
  gw.dst = pfx("10.98.0.0/16");
  gw.dev = kDev;
  gw.gateway = ip("10.44.4.5");
  REQUIRE_OK(nl.add_route(gw));

  std::string out = sh("ip route show");
  INFO(out);
  CHECK(out.find("10.99.0.0/24 dev swltun0 proto static scope link src 10.44.4.6 metric 50") != std::string::npos);
  CHECK(out.find("10.98.0.0/16 via 10.44.4.5 dev swltun0 proto static") != std::string::npos);
  CHECK(out.find("198.51.100.0/24") == std::string::npos);
  std::string t100 = sh("ip route show table 100");
  INFO(t100);
  CHECK(t100.find("198.51.100.0/24 dev swltun0 proto static scope link") != std::string::npos);

  auto main_routes = nl.list_routes();
  REQUIRE(main_routes.ok());
  int idx = *tun::interface_index(kDev);
  bool found = false;
  for (const auto& ri : *main_routes) {
    if (ri.dst == pfx("10.99.0.0/24")) {
      found = true;
      CHECK(ri.oif == idx);
      REQUIRE(ri.src.has_value());
      CHECK(*ri.src == ip("10.44.4.6"));
      REQUIRE(ri.metric.has_value());
      CHECK(*ri.metric == 50);
      CHECK(ri.table == tun::kMainTable);
    }
  }
  CHECK(found);
  auto t100_routes = nl.list_routes(100);
  REQUIRE(t100_routes.ok());
  REQUIRE(t100_routes->size() == 1);
  CHECK((*t100_routes)[0].dst == pfx("198.51.100.0/24"));

  auto dup = nl.add_route(r);
  REQUIRE_FALSE(dup.ok());
  CHECK(detail(dup.error()).rfind("RTM_NEWROUTE 10.99.0.0/24 dev swltun0 src 10.44.4.6 metric 50: File exists", 0) ==
        0);

  // A preferred source that is not a local address: the kernel's reason comes back.
  tun::RouteSpec badsrc = r;
  badsrc.dst = pfx("10.97.0.0/24");
  badsrc.src = ip("10.1.2.3");
  auto bs = nl.add_route(badsrc);
  REQUIRE_FALSE(bs.ok());
  INFO(detail(bs.error()));
  CHECK(detail(bs.error()).find("RTM_NEWROUTE 10.97.0.0/24 dev swltun0 src 10.1.2.3") == 0);
  CHECK(detail(bs.error()).find("Invalid argument") != std::string::npos);

  REQUIRE_OK(nl.del_route(r));
  REQUIRE_OK(nl.del_route(t));
  REQUIRE_OK(nl.del_route(gw));
  out = sh("ip route show; ip route show table 100");
  CHECK(out.find("10.99.0.0") == std::string::npos);
  CHECK(out.find("198.51.100.0") == std::string::npos);
  CHECK(out.find("10.98.0.0") == std::string::npos);
  auto again = nl.del_route(r);
  REQUIRE_FALSE(again.ok());
  CHECK(detail(again.error()).find("No such process") != std::string::npos);
}

TEST_CASE("LinuxTun: packets routed into the TUN are read; packets written are delivered") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({kDev, false}, skipped);
  if (skipped) return;
  route_through_tun();
  REQUIRE_OK(tun::set_rp_filter(kDev, tun::RpFilter::strict));

  SECTION("a UDP datagram sent to a routed address comes out of the TUN fd") {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    ::inet_pton(AF_INET, "10.99.0.7", &to.sin_addr);
    const char msg[] = "swanless-tun-test";
    auto sent = ::sendto(s, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(s);
    REQUIRE(sent == static_cast<ssize_t>(sizeof msg - 1));
    bool got = read_until(*dev, [&](const std::uint8_t* b, std::size_t n) {
      if (n < 28 || b[0] != 0x45 || b[9] != 17) return false;
      if (b[12] != 10 || b[13] != 44 || b[14] != 4 || b[15] != 6) return false;   // src
      if (b[16] != 10 || b[17] != 99 || b[18] != 0 || b[19] != 7) return false;   // dst
      if (((b[22] << 8) | b[23]) != 9999) return false;
      return std::string(reinterpret_cast<const char*>(b + 28), n - 28) == "swanless-tun-test";
    });
    CHECK(got);
  }

  SECTION("an ICMP echo request written into the TUN is answered back through it") {
    Bytes req = icmp_echo(ip("10.99.0.7"), ip("10.44.4.6"), 0x5157, 3, "ping-through-tun");
    REQUIRE_OK(dev->write(req));
    bool got = read_until(*dev, [&](const std::uint8_t* b, std::size_t n) {
      if (n != req.size() || b[9] != 1 || b[20] != 0) return false;  // echo reply
      if (b[16] != 10 || b[17] != 99 || b[18] != 0 || b[19] != 7) return false;
      if (((b[24] << 8) | b[25]) != 0x5157 || ((b[26] << 8) | b[27]) != 3) return false;
      return std::string(reinterpret_cast<const char*>(b + 28), n - 28) == "ping-through-tun";
    });
    CHECK(got);
  }

  SECTION("nothing waiting: read returns 0 without blocking") {
    std::array<std::byte, 2048> buf{};
    // Drain whatever the kernel may have queued, then expect 0.
    for (int i = 0; i < 64; ++i) {
      auto n = dev->read(buf);
      REQUIRE(n.ok());
      if (*n == 0) break;
    }
    auto n = dev->read(buf);
    REQUIRE(n.ok());
    CHECK(*n == 0);
  }
}

TEST_CASE("sysctl: rp_filter per interface inside the namespace; bad names and devices fail") {
  auto bad = tun::set_ipv4_conf("../all", "rp_filter", "0");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == common::Errc::config);
  CHECK_FALSE(tun::set_ipv4_conf("eth0", "a/b", "0").ok());
  CHECK_FALSE(tun::get_ipv4_conf("", "rp_filter").ok());

  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({kDev, false}, skipped);
  if (skipped) return;
  REQUIRE_OK(tun::set_rp_filter(kDev, tun::RpFilter::loose));
  auto v = tun::get_ipv4_conf(kDev, "rp_filter");
  REQUIRE(v.ok());
  CHECK(*v == "2");
  CHECK(sh(std::string("cat /proc/sys/net/ipv4/conf/") + kDev + "/rp_filter") == "2\n");
  REQUIRE_OK(tun::set_rp_filter(kDev, tun::RpFilter::off));
  CHECK(*tun::get_ipv4_conf(kDev, "rp_filter") == "0");

  auto missing = tun::set_rp_filter("nosuch0", tun::RpFilter::off);
  REQUIRE_FALSE(missing.ok());
  CHECK(detail(missing.error()) ==
        "sysctl /proc/sys/net/ipv4/conf/nosuch0/rp_filter not writable: No such file or directory");

  // IPv6 knobs of the same device (what swanless uses to keep its devices IPv4-only),
  // where the kernel has IPv6 at all.
  if (::access("/proc/sys/net/ipv6/conf", F_OK) == 0) {
    REQUIRE_OK(tun::set_ipv6_conf(kDev, "disable_ipv6", "1"));
    CHECK(*tun::get_ipv6_conf(kDev, "disable_ipv6") == "1");
    CHECK(sh(std::string("cat /proc/sys/net/ipv6/conf/") + kDev + "/disable_ipv6") == "1\n");
    REQUIRE_OK(tun::set_ipv6_conf(kDev, "disable_ipv6", "0"));
    CHECK(*tun::get_ipv6_conf(kDev, "disable_ipv6") == "0");
  }
  CHECK(tun::set_ipv6_conf("../all", "disable_ipv6", "1").error().code == common::Errc::config);
  CHECK(detail(tun::set_ipv6_conf("nosuch0", "disable_ipv6", "1").error()).find("/proc/sys/net/ipv6/conf/nosuch0/") !=
        std::string::npos);
}

TEST_CASE("LinuxTun: multi-queue attaches several queues to one interface") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto q1 = open_tun({kDev, true}, skipped);
  if (skipped) return;
  auto q2 = LinuxTun::open({kDev, true});
  REQUIRE(q2.ok());
  CHECK((*q2)->name() == kDev);
  CHECK((*q2)->fd() != q1->fd());
  CHECK((*q2)->multi_queue());
  // A single-queue open of the same name conflicts with the multi-queue device.
  auto single = LinuxTun::open({kDev, false});
  REQUIRE_FALSE(single.ok());
  CHECK(detail(single.error()).find("TUNSETIFF 'swltun0'") == 0);
  CHECK(sh("ip -d link show dev swltun0").find("multi_queue") != std::string::npos);
}

TEST_CASE("LinuxTun: kernel-chosen name and too-long name") {
  NETNS_OR_SKIP();
  bool skipped = false;
  auto dev = open_tun({"", false}, skipped);
  if (skipped) return;
  CHECK(dev->name().rfind("tun", 0) == 0);
  auto longname = LinuxTun::open({"this-name-is-too-long", false});
  REQUIRE_FALSE(longname.ok());
  CHECK(longname.error().code == common::Errc::config);
}

TEST_CASE("LinuxTun: without CAP_NET_ADMIN the error names the missing capability") {
  NETNS_OR_SKIP();
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: drop CAP_NET_ADMIN from the effective set, then try to create a TUN.
    ::close(pipefd[0]);
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    std::string report;
    if (::syscall(SYS_capget, &hdr, data) != 0) {
      report = "capget failed";
    } else {
      data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
      if (::syscall(SYS_capset, &hdr, data) != 0) {
        report = "capset failed";
      } else {
        auto t = LinuxTun::open({"swlnocap0", false});
        report = t.ok() ? "opened without CAP_NET_ADMIN" : t.error().detail;
      }
    }
    (void)!::write(pipefd[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO(report);
  if (report.find("is missing") != std::string::npos) {
    WARN("SKIPPED: " << report);
    return;
  }
  CHECK(report.find("swlnocap0 needs CAP_NET_ADMIN") != std::string::npos);
  CHECK(report.find("Operation not permitted") != std::string::npos);
}
