// config/capabilities.h: the capabilities a config needs, each with the conn or section
// that needs it.
#include <catch2/catch.hpp>

#include "config/capabilities.h"
#include "config/config.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;

namespace {

const std::string kConns =
    "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  auto=ignore\n"
    "conn t-gre\n  also=t\n  leftsubnet=10.44.6.1/32\n  rightsubnet=10.44.7.1/32\n  auto=start\n"
    "conn t-tcp\n  also=t\n  leftsubnet=10.45.8.16/28\n  rightsubnet=10.15.30.0/24\n  auto=start\n";
const std::string kGre = "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n";

std::vector<CapabilityNeed> needs(const std::string& text) {
  auto r = parse(text);
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  return capabilities_needed(*r.config);
}

}  // namespace

TEST_CASE("capabilities: the reference set-up needs NET_ADMIN, NET_BIND_SERVICE, optionally NET_RAW") {
  auto caps = needs(kConns + kGre);
  REQUIRE(caps.size() == 3);
  CHECK(caps[0].name == "CAP_NET_ADMIN");
  CHECK(caps[0].reasons ==
        std::vector<std::string>{"TUN device swanless0, its addresses and routes, for conn t-tcp (tunnel mode)",
                                 "TUN device g and its rp_filter for gre g (tun=yes)"});
  CHECK_FALSE(caps[0].optional);
  CHECK(caps[1].name == "CAP_NET_BIND_SERVICE");
  REQUIRE(caps[1].reasons.size() == 1);  // one IKE_SA, its sockets from its first conn
  CHECK(caps[1].reasons[0].find("UDP port 500 for IKE_SA") == 0);
  CHECK(caps[2].name == "CAP_NET_RAW");
  CHECK(caps[2].optional);
  CHECK(caps[2].reasons.size() == 2);  // t-gre and t-tcp, both forceencaps=no
}

TEST_CASE("capabilities: gre only, tun=no, IKE on 4500 and forceencaps=yes need none") {
  const std::string conns =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftikeport=4500\n"
      "  rightikeport=4500\n  forceencaps=yes\n  auto=ignore\n"
      "conn t-gre\n  also=t\n  leftsubnet=10.44.6.1/32\n  rightsubnet=10.44.7.1/32\n  auto=start\n";
  CHECK(needs(conns + kGre + "  tun=no\n").empty());
  // The same with the gre's TUN device: only NET_ADMIN, for that device.
  auto caps = needs(conns + kGre);
  REQUIRE(caps.size() == 1);
  CHECK(caps[0].name == "CAP_NET_ADMIN");
  CHECK(caps[0].reasons == std::vector<std::string>{"TUN device g and its rp_filter for gre g (tun=yes)"});
}

TEST_CASE("capabilities: a transport-mode conn needs no TUN device of its own") {
  auto caps = needs(
      "conn s\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  type=transport\n  forceencaps=yes\n"
      "  leftikeport=4500\n  auto=add\n");
  CHECK(caps.empty());
}
