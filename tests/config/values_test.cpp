// Value parsers (config/values.cpp): protoport forms, durations, yes/no.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config/values.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: protoport forms") {
  auto proto_of = [](const char* pp) {
    auto r = parse(std::string(kBase) + "    leftprotoport=" + pp + "\n");
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    const auto& ts = r.config->conns.at(0).left.subnets.at(0);
    return std::tuple<int, int, int>(ts.protocol, ts.start_port, ts.end_port);
  };
  REQUIRE(proto_of("gre") == std::tuple(47, 0, 65535));
  REQUIRE(proto_of("47") == std::tuple(47, 0, 65535));
  REQUIRE(proto_of("tcp/80") == std::tuple(6, 80, 80));
  REQUIRE(proto_of("udp/%any") == std::tuple(17, 0, 65535));
  REQUIRE(proto_of("tcp/1000-2000") == std::tuple(6, 1000, 2000));
}

TEST_CASE("config: duration and yes/no parsers") {
  REQUIRE(parse_duration("3h") == std::chrono::hours(3));
  REQUIRE(parse_duration("9m") == std::chrono::minutes(9));
  REQUIRE(parse_duration("30s") == std::chrono::seconds(30));
  REQUIRE(parse_duration("10") == std::chrono::seconds(10));
  REQUIRE(parse_duration("1d") == std::chrono::hours(24));
  REQUIRE(parse_duration("0") == std::chrono::seconds(0));
  for (auto bad : {"", "s", "3x", "-1", "1.5h", "3 h", "99999999999999999999", "4000d"})
    REQUIRE_FALSE(parse_duration(bad));
  REQUIRE(parse_yes_no("yes") == true);
  REQUIRE(parse_yes_no("no") == false);
  REQUIRE_FALSE(parse_yes_no("YES "));
  REQUIRE(format_duration(std::chrono::seconds(3 * 3600)) == "3h");
  REQUIRE(format_duration(std::chrono::seconds(90)) == "1m30s");
  REQUIRE(default_secrets_path("/etc/swanless/a.conf") == "/etc/swanless/a.secrets");
  REQUIRE(default_secrets_path("/etc/swanless/a") == "/etc/swanless/a.secrets");
}
