// %default and also= inheritance (config/inherit.cpp).
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: %default and also= precedence") {
  auto r = parse(
      "conn %default\n"
      "  ikelifetime=2h\n"
      "  lifetime=30m\n"
      "  dpdaction=hold\n"
      "conn base\n"
      "  left=192.0.2.1\n"
      "  right=198.51.100.1\n"
      "  lifetime=40m\n"
      "  authby=secret\n"
      "  auto=ignore\n"
      "conn child\n"
      "  also=base\n"
      "  lifetime=50m\n"
      "  auto=start\n"
      "conn child2\n"
      "  also=base\n"
      "  auto=add\n"
      "  dpdaction=\n");  // empty value unsets: back to the built-in default
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const Config& c = *r.config;
  REQUIRE(c.conns.size() == 2);
  const auto* child = c.find_conn("child");
  REQUIRE(child->lifetime == std::chrono::minutes(50));  // own beats also
  REQUIRE(child->ike_lifetime == std::chrono::hours(2));  // %default
  REQUIRE(child->dpd_action == DpdAction::hold);
  const auto* child2 = c.find_conn("child2");
  REQUIRE(child2->lifetime == std::chrono::minutes(40));  // also beats %default
  REQUIRE(child2->dpd_action == DpdAction::none);         // unset by empty value
  REQUIRE(child2->left.addr == ip("192.0.2.1"));
  // Different dpdaction: not the same IKE_SA.
  REQUIRE(c.ike_sas.size() == 2);
}

TEST_CASE("config: %default only applies to later conns") {
  auto r = parse(std::string(kBase) +
                 "conn %default\n"
                 "  lifetime=20m\n"
                 "conn b\n"
                 "  also=a\n"
                 "  right=198.51.100.2\n");
  REQUIRE(r.ok());
  REQUIRE(r.config->find_conn("a")->lifetime == std::chrono::hours(1));
  REQUIRE(r.config->find_conn("b")->lifetime == std::chrono::minutes(20));
}

TEST_CASE("config: also= loops and unknown targets are errors at the also line") {
  auto e = errors_of(
      "conn a\n  also=b\n  auto=add\n"
      "conn b\n  also=a\n");
  REQUIRE(e.find("test.conf:2: 'also': also= loop") != std::string::npos);
  auto e2 = errors_of("conn a\n  left=192.0.2.1\n  also=nope\n");
  REQUIRE(e2.find("test.conf:3: 'also': no conn named 'nope'") != std::string::npos);
  auto e3 = errors_of("conn a\n  also=a\n");
  REQUIRE(e3.find("test.conf:2: 'also'") != std::string::npos);
}
