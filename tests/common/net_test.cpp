#include <catch2/catch.hpp>

#include "common/net.h"

using namespace common;

namespace {
IpAddr A(std::string_view s) {
  auto a = IpAddr::parse(s);
  REQUIRE(a);
  return *a;
}
Prefix P(std::string_view s) {
  auto p = Prefix::parse(s);
  REQUIRE(p);
  return *p;
}
}  // namespace

TEST_CASE("IpAddr: parse and print", "[net]") {
  auto a = A("10.44.6.1");
  CHECK(a.is_v4());
  CHECK(a.size() == 4);
  CHECK(a.v4_host() == 0x0a2c0601u);
  CHECK(a == IpAddr::v4(0x0a2c0601u));
  CHECK(a.to_string() == "10.44.6.1");
  CHECK(to_hex(a.bytes()) == "0a2c0601");
  CHECK(IpAddr::v4_bytes(from_hex("c0000201")) == A("192.0.2.1"));

  auto v6 = A("2001:db8::1");
  CHECK_FALSE(v6.is_v4());
  CHECK(v6.size() == 16);
  CHECK(v6.to_string() == "2001:db8::1");
  CHECK(IpAddr::v6_bytes(v6.bytes()) == v6);
  CHECK(A("0.0.0.0").is_unspecified());
  CHECK(A("::").is_unspecified());
  CHECK_FALSE(A("0.0.0.1").is_unspecified());

  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.1 ", "a.b.c.d", "1.2.3.4/32", "::g", "1:2:3:4:5:6:7:8:9",
                          "10.0.0.1.2"}) {
    INFO(bad);
    CHECK_FALSE(IpAddr::parse(bad));
  }
  CHECK(A("10.0.0.1") < A("10.0.0.2"));
  CHECK(A("9.255.255.255") < A("10.0.0.0"));
}

TEST_CASE("Endpoint: to_string", "[net]") {
  CHECK((Endpoint{A("192.0.2.1"), 500}).to_string() == "192.0.2.1:500");
  CHECK((Endpoint{A("2001:db8::1"), 4500}).to_string() == "[2001:db8::1]:4500");
}

TEST_CASE("Prefix: parse, contains, first/last", "[net]") {
  auto p = P("10.44.4.6/30");
  CHECK(p.len == 30);
  CHECK(p.addr == A("10.44.4.6"));  // the host address is kept (used for interface addresses)
  CHECK(p.to_string() == "10.44.4.6/30");
  CHECK(p.first() == A("10.44.4.4"));
  CHECK(p.last() == A("10.44.4.7"));
  CHECK(p.contains(A("10.44.4.5")));
  CHECK_FALSE(p.contains(A("10.44.4.8")));
  CHECK_FALSE(p.contains(A("::1")));

  CHECK(P("10.44.6.1").len == 32);
  CHECK(P("0.0.0.0/0").last() == A("255.255.255.255"));
  CHECK(P("10.1.2.3/0").first() == A("0.0.0.0"));
  CHECK(P("2001:db8::/32").last() == A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  CHECK(P("2001:db8::1").len == 128);

  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "/8",
                          "10.0.0.0/0008", "2001:db8::/129", "10.0.0.0/8/8"}) {
    INFO(bad);
    CHECK_FALSE(Prefix::parse(bad));
  }
}

TEST_CASE("TrafficSelector: from_prefix, matches, to_string", "[net]") {
  auto ts = TrafficSelector::from_prefix(P("10.44.6.1/32"));
  CHECK(ts.start == A("10.44.6.1"));
  CHECK(ts.end == A("10.44.6.1"));
  CHECK(ts.to_string() == "10.44.6.1/32");
  CHECK(ts.matches(A("10.44.6.1"), 47, 0));
  CHECK_FALSE(ts.matches(A("10.44.6.2"), 47, 0));

  auto gre = TrafficSelector::from_prefix(P("10.44.6.0/24"), 47);
  CHECK(gre.to_string() == "10.44.6.0/24[gre]");
  CHECK(gre.matches(A("10.44.6.200"), 47, 0));
  CHECK_FALSE(gre.matches(A("10.44.6.200"), 6, 80));

  auto http = TrafficSelector::from_prefix(P("192.0.2.0/24"), 6, 80, 80);
  CHECK(http.to_string() == "192.0.2.0/24[tcp/80]");
  CHECK(http.matches(A("192.0.2.9"), 6, 80));
  CHECK_FALSE(http.matches(A("192.0.2.9"), 6, 81));
  CHECK_FALSE(http.matches(A("192.0.2.9"), 17, 80));

  auto range = TrafficSelector::from_prefix(P("0.0.0.0/0"), 17, 1000, 2000);
  CHECK(range.to_string() == "0.0.0.0/0[udp/1000-2000]");
  TrafficSelector odd;
  odd.start = A("10.0.0.1");
  odd.end = A("10.0.0.6");
  odd.protocol = 200;
  CHECK(odd.to_string() == "10.0.0.1..10.0.0.6[200]");
  CHECK(TrafficSelector::from_prefix(P("2001:db8::/64")).to_string() == "2001:db8::/64");
  CHECK_FALSE(TrafficSelector::from_prefix(P("2001:db8::/64")).contains_addr(A("10.0.0.1")));
}

TEST_CASE("TrafficSelector: intersection (RFC 7296 2.9 narrowing)", "[net]") {
  auto any = TrafficSelector::from_prefix(P("0.0.0.0/0"));
  auto net = TrafficSelector::from_prefix(P("10.44.0.0/16"));
  auto host_gre = TrafficSelector::from_prefix(P("10.44.6.1/32"), 47);

  auto r = any.intersect(net);
  REQUIRE(r);
  CHECK(*r == net);
  r = net.intersect(host_gre);
  REQUIRE(r);
  CHECK(*r == host_gre);
  CHECK(r->to_string() == "10.44.6.1/32[gre]");
  r = host_gre.intersect(any);
  REQUIRE(r);
  CHECK(*r == host_gre);

  // Disjoint addresses, protocols, ports, families.
  CHECK_FALSE(net.intersect(TrafficSelector::from_prefix(P("10.45.0.0/16"))));
  CHECK_FALSE(host_gre.intersect(TrafficSelector::from_prefix(P("10.44.6.1/32"), 6)));
  auto p80 = TrafficSelector::from_prefix(P("10.0.0.0/8"), 6, 80, 80);
  auto p443 = TrafficSelector::from_prefix(P("10.0.0.0/8"), 6, 443, 443);
  CHECK_FALSE(p80.intersect(p443));
  CHECK_FALSE(any.intersect(TrafficSelector::from_prefix(P("::/0"))));

  // Partial overlap of ranges and ports.
  TrafficSelector a;
  a.start = A("10.0.0.0");
  a.end = A("10.0.0.100");
  a.start_port = 100;
  a.end_port = 200;
  TrafficSelector b;
  b.start = A("10.0.0.50");
  b.end = A("10.0.1.0");
  b.protocol = 17;
  b.start_port = 150;
  b.end_port = 300;
  r = a.intersect(b);
  REQUIRE(r);
  CHECK(r->start == A("10.0.0.50"));
  CHECK(r->end == A("10.0.0.100"));
  CHECK(r->protocol == 17);
  CHECK(r->start_port == 150);
  CHECK(r->end_port == 200);
  CHECK(r->to_string() == "10.0.0.50..10.0.0.100[udp/150-200]");
}
