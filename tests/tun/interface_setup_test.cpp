// apply_interface on a real TUN device in a namespace of its own, checked with ip(8).
#include <catch2/catch.hpp>
#include <string>

#include "netns_support.h"
#include "tun/interface_setup.h"

using tuntest::sh;

TEST_CASE("apply_interface: a gre-section style TUN, idempotent, routes removable") {
  NETNS_OR_SKIP();
  auto dev = tun::LinuxTun::open({"gre1", false});
  if (!dev && std::string(dev.error().detail).find("is missing") != std::string::npos) {
    WARN("SKIPPED: " << dev.error().detail);
    return;
  }
  REQUIRE(dev.ok());
  auto nl = tun::Netlink::open();
  REQUIRE(nl.ok());

  tun::InterfaceConfig cfg;
  cfg.dev = "gre1";
  cfg.mtu = 1476;
  cfg.multicast = true;
  cfg.addresses.push_back({*common::Prefix::parse("10.44.4.6/30"), common::Prefix::parse("10.44.4.5")});
  tun::RouteSpec r;
  r.dst = *common::Prefix::parse("10.55.0.0/16");
  r.src = common::IpAddr::parse("10.44.4.6");
  cfg.routes.push_back(r);
  cfg.rp_filter = tun::RpFilter::loose;

  for (int round = 0; round < 2; ++round) {  // the second apply must change nothing
    tun::Status s = tun::apply_interface(*nl, cfg);
    INFO("round " << round << ": " << (s.ok() ? "" : s.error().detail));
    REQUIRE(s.ok());
  }
  std::string link = sh("ip -o link show dev gre1");
  INFO(link);
  CHECK(link.find("mtu 1476") != std::string::npos);
  CHECK(link.find("MULTICAST") != std::string::npos);
  CHECK(link.find(",UP") != std::string::npos);
  std::string addr = sh("ip -o -4 addr show dev gre1");
  INFO(addr);
  CHECK(addr.find("inet 10.44.4.6 peer 10.44.4.5/32") != std::string::npos);
  CHECK(nl->list_addresses("gre1")->size() == 1);
  std::string routes = sh("ip route show");
  INFO(routes);
  CHECK(routes.find("10.55.0.0/16 dev gre1 proto static scope link src 10.44.4.6") != std::string::npos);
  CHECK(routes.find("10.44.4.5 dev gre1 proto kernel scope link src 10.44.4.6") != std::string::npos);
  CHECK(*tun::get_ipv4_conf("gre1", "rp_filter") == "2");

  REQUIRE(tun::remove_routes(*nl, cfg).ok());
  CHECK(sh("ip route show").find("10.55.0.0") == std::string::npos);
  CHECK(tun::remove_routes(*nl, cfg).ok());  // already gone is fine

  // A route whose src is not local fails, and the error says which step.
  tun::InterfaceConfig bad = cfg;
  bad.routes[0].src = common::IpAddr::parse("10.1.1.1");
  tun::Status s = tun::apply_interface(*nl, bad);
  REQUIRE_FALSE(s.ok());
  CHECK(std::string(s.error().detail).rfind("RTM_NEWROUTE 10.55.0.0/16 dev gre1 src 10.1.1.1", 0) == 0);
}
