// Traffic selector narrowing with several selectors per side (RFC 7296 §2.9): the pure
// functions of ike/ts_narrow.h, and two in-memory engines negotiating a CHILD_SA whose
// leftsubnet lists several subnets (swanless_pubkey.sh's ts-* cases do the same against
// strongSwan).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ike/ts_narrow.h"
#include "tests/ike/two_peers.h"

using namespace ike_test;

namespace {

TsList list(std::initializer_list<const char*> prefixes) {
  TsList l;
  for (const char* p : prefixes) l.push_back(net(p));
  return l;
}

std::string text(const TsList& l) {
  std::string s;
  for (const auto& t : l) {
    if (!s.empty()) s += ' ';  // two appends: avoids g++ 12's false -Wrestrict at -O3
    s += t.to_string();
  }
  return s;
}

// A's conn: leftsubnet=a_local, rightsubnet=10.2.0.1/32; B's the mirror with b_remote as
// what it allows for A's side.
void run(Wire& w, const TsList& a_local, const TsList& b_remote) {
  auto pa = peer(true, "aes256-sha256-modp2048!", "aes256-sha256!");
  auto pb = peer(false, "aes256-sha256-modp2048!", "aes256-sha256!");
  for (auto* p : {&pa, &pb}) p->children.resize(1);
  pa.children[0].local_ts = a_local;
  pa.children[0].remote_ts = list({"10.2.0.1/32"});
  pb.children[0].local_ts = list({"10.2.0.1/32"});
  pb.children[0].remote_ts = b_remote;
  REQUIRE(w.a.e.add_peer(pa).ok());
  REQUIRE(w.b.e.add_peer(pb).ok());
  REQUIRE(w.a.e.initiate("dc-tun-gre", w.now).ok());
  w.pump();
}

}  // namespace

TEST_CASE("ts_narrow: several /32s against the same list, a covering subnet, or a part of it") {
  const TsList three = list({"10.1.0.1/32", "10.1.0.2/32", "10.1.0.3/32"});
  CHECK(text(narrow_ts(three, three)) == "10.1.0.1/32 10.1.0.2/32 10.1.0.3/32");
  CHECK(text(narrow_ts(three, list({"10.1.0.0/24"}))) == "10.1.0.1/32 10.1.0.2/32 10.1.0.3/32");
  CHECK(text(narrow_ts(list({"10.1.0.0/24"}), three)) == "10.1.0.1/32 10.1.0.2/32 10.1.0.3/32");
  CHECK(text(narrow_ts(three, list({"10.1.0.3/32", "10.1.0.1/32"}))) == "10.1.0.1/32 10.1.0.3/32");
  CHECK(text(narrow_ts(three, list({"10.1.0.2/31"}))) == "10.1.0.2/32 10.1.0.3/32");
  CHECK(narrow_ts(three, list({"10.1.1.0/24"})).empty());
  // Overlapping configured selectors: each intersection once.
  CHECK(text(narrow_ts(list({"10.1.0.0/24"}), list({"10.1.0.0/24", "10.1.0.1/32", "10.1.0.0/24"}))) ==
        "10.1.0.0/24 10.1.0.1/32");
  // The initiator's check of the answer: any subset of what it proposed, in any order.
  CHECK(ts_within(list({"10.1.0.3/32", "10.1.0.1/32"}), three));
  CHECK(ts_within(three, list({"10.1.0.0/24"})));
  CHECK_FALSE(ts_within(list({"10.1.0.1/32", "10.1.0.4/32"}), three));
  CHECK_FALSE(ts_within(list({"10.1.0.0/30"}), three));  // wider than each of them
  CHECK(ts_equal(three, list({"10.1.0.3/32", "10.1.0.1/32", "10.1.0.2/32"})));
  CHECK_FALSE(ts_equal(three, list({"10.1.0.1/32", "10.1.0.2/32"})));
}

TEST_CASE("ts_narrow: protocol and ports narrow per selector") {
  common::TrafficSelector gre = net("10.1.0.1/32");
  gre.protocol = 47;
  common::TrafficSelector tcp80 = net("10.1.0.0/24");
  tcp80.protocol = 6;
  tcp80.start_port = tcp80.end_port = 80;
  auto n = narrow_ts({net("10.1.0.0/16")}, {gre, tcp80});
  REQUIRE(n.size() == 2);
  CHECK(n[0] == gre);
  CHECK(n[1] == tcp80);
  CHECK(narrow_ts({gre}, {tcp80}).empty());  // protocols differ
}

TEST_CASE("ts_narrow: a CHILD_SA with several subnets in leftsubnet between two engines") {
  const TsList three = list({"10.1.0.1/32", "10.1.0.2/32", "10.1.0.3/32"});
  struct Case {
    const char* name;
    TsList b_allows, expect;
  };
  const Case cases[] = {
      {"the same three", three, three},
      {"a covering /24", list({"10.1.0.0/24"}), three},
      {"two of them, other order", list({"10.1.0.3/32", "10.1.0.2/32"}), list({"10.1.0.2/32", "10.1.0.3/32"})},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Wire w;
    run(w, three, c.b_allows);
    INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
    REQUIRE(w.a.installs.size() == 1);
    REQUIRE(w.b.installs.size() == 1);
    CHECK(ts_equal(w.a.installs[0].local_ts, c.expect));
    CHECK(ts_equal(w.b.installs[0].remote_ts, c.expect));
    CHECK(text(w.a.installs[0].remote_ts) == "10.2.0.1/32");
    CHECK(w.b.e.counters().ts_unacceptable == 0);
  }
  SECTION("none of them allowed: TS_UNACCEPTABLE, nothing installed") {
    Wire w;
    run(w, three, list({"10.1.1.0/24"}));
    CHECK(w.a.installs.empty());
    CHECK(w.b.installs.empty());
    CHECK(w.b.e.counters().ts_unacceptable == 1);
    CHECK(w.b.logged("traffic selectors 10.2.0.1/32 === 10.1.0.1/32 10.1.0.2/32 10.1.0.3/32 unacceptable"));
  }
}
