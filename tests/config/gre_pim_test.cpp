// gre and pim sections typed (config/gre.cpp, config/pim.cpp).
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: gre defaults and conn= resolution") {
  const std::string conns =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  auto=ignore\n"
      "conn t-gre\n  also=t\n  leftsubnet=10.44.6.1/32\n  rightsubnet=10.44.7.1/32\n  auto=start\n"
      "conn t-tcp\n  also=t\n  leftsubnet=10.45.8.16/28\n  rightsubnet=10.15.30.0/24\n  auto=start\n";
  auto r = parse(conns +
                 "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& g = r.config->gres.at(0);
  REQUIRE(g.conn == "t-gre");  // the conn whose selectors cover local/remote
  REQUIRE(g.mtu == 1476);
  REQUIRE(g.ttl == 255);
  REQUIRE(g.keepalive == GreConfig::Keepalive::reply);
  REQUIRE(g.keepalive_retries == 3);
  REQUIRE(g.tun);
  REQUIRE(g.routes.empty());

  auto r2 = parse(conns +
                  "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n"
                  "  key=1234\n  ttl=64\n  mtu=1400\n  keepalive=off\n  tun=no\n  routes=10.0.1.0/24, 10.0.2.0/24\n");
  REQUIRE(r2.ok());
  const auto& g2 = r2.config->gres.at(0);
  REQUIRE(g2.key == 1234u);
  REQUIRE(g2.ttl == 64);
  REQUIRE(g2.keepalive == GreConfig::Keepalive::off);
  REQUIRE_FALSE(g2.tun);
  REQUIRE(g2.routes.size() == 2);

  auto r3 = parse(conns + "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n  key=0.0.1.2\n");
  REQUIRE(r3.ok());
  REQUIRE(r3.config->gres.at(0).key == 258u);

  // Nothing covers the endpoints / explicit conn does not cover / template / unknown.
  REQUIRE(errors_of(conns + "gre g\n  local=10.99.0.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n")
              .find("test.conf:16: 'conn': no conn's traffic selectors cover") != std::string::npos);
  REQUIRE(errors_of(conns + "gre g\n  conn=t-tcp\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n")
              .find("test.conf:17: 'conn': conn 't-tcp' traffic selectors do not cover") != std::string::npos);
  REQUIRE(errors_of(conns + "gre g\n  conn=t\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n")
              .find("auto=ignore") != std::string::npos);
  REQUIRE(errors_of(conns + "gre g\n  conn=zz\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n")
              .find("no conn named 'zz'") != std::string::npos);
  // Malformed values.
  const std::string gre_ok = "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  peer=10.44.4.5\n";
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6\n").find("'address'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  mtu=70000\n").find("test.conf:21: 'mtu'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  ttl=0\n").find("'ttl'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  key=-1\n").find("'key'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  keepalive=sometimes\n").find("'keepalive'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  keepalive=50ms\n").find("'keepalive'") != std::string::npos);
  auto fast = parse(conns + gre_ok + "  address=10.44.4.6/30\n  keepalive=300ms\n");
  REQUIRE(fast.ok());
  REQUIRE(fast.config->gres.at(0).keepalive_interval == std::chrono::milliseconds(300));
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  routes=10.0.0.0/8,bogus\n").find("'routes'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n  tun=perhaps\n").find("'tun'") != std::string::npos);
  REQUIRE(errors_of(conns + gre_ok + "  address=10.44.4.6/30\n" + "gre h\n  local=10.44.6.1\n  remote=10.44.7.1\n  peer=10.44.4.5\n  address=10.44.4.6/30\n")
              .find("same local, remote and key") != std::string::npos);
}

TEST_CASE("config: pim defaults, sources and delivery") {
  const std::string base =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftsubnet=10.44.6.1/32\n  "
      "rightsubnet=10.44.7.1/32\n  auto=start\n"
      "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n";
  auto r = parse(base + "pim p\n  interface=g\n  rp=10.15.30.253\n  groups=239.1.1.1, 239.2.2.2\n"
                        "  sources=(10.15.30.7,239.1.1.1), 10.15.30.8\n  hello=10s\n  join=20s\n  holdtime=70s\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& p = r.config->pims.at(0);
  REQUIRE(p.neighbor == ip("10.44.4.5"));  // the gre's peer
  REQUIRE(p.groups.size() == 2);
  REQUIRE(p.sources.size() == 3);
  REQUIRE(p.sources[0] == PimConfig::SourceGroup{ip("10.15.30.7"), ip("239.1.1.1")});
  REQUIRE(p.sources[2] == PimConfig::SourceGroup{ip("10.15.30.8"), ip("239.2.2.2")});
  REQUIRE(p.hello == std::chrono::seconds(10));
  REQUIRE(p.join == std::chrono::seconds(20));
  REQUIRE(p.holdtime == std::chrono::seconds(70));
  REQUIRE(p.deliver_tun);  // default when the gre has a TUN device
  REQUIRE(p.deliver_udp.empty());

  const std::string notun =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftsubnet=10.44.6.1/32\n  "
      "rightsubnet=10.44.7.1/32\n  auto=start\n"
      "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n  tun=no\n";
  REQUIRE(errors_of(notun + "pim p\n  interface=g\n  rp=10.15.30.253\n  groups=239.1.1.1\n")
              .find("'deliver': required") != std::string::npos);
  REQUIRE(errors_of(notun + "pim p\n  interface=g\n  rp=10.15.30.253\n  groups=239.1.1.1\n  deliver=tun\n")
              .find("tun=no") != std::string::npos);
  auto ok = parse(notun + "pim p\n  interface=g\n  rp=10.15.30.253\n  groups=239.1.1.1\n  deliver=udp:127.0.0.1:5000\n");
  REQUIRE(ok.ok());
  REQUIRE_FALSE(ok.config->pims.at(0).deliver_tun);

  const std::string pim = "pim p\n  interface=g\n  rp=10.15.30.253\n";
  REQUIRE(errors_of(base + pim + "  groups=10.0.0.1\n").find("not an IPv4 multicast group") != std::string::npos);
  REQUIRE(errors_of(base + "pim p\n  interface=nope\n  rp=10.15.30.253\n  groups=239.1.1.1\n").find("'interface'") != std::string::npos);
  REQUIRE(errors_of(base + pim + "  groups=239.1.1.1\n  deliver=udp:127.0.0.1\n").find("'deliver'") != std::string::npos);
  REQUIRE(errors_of(base + pim + "  groups=239.1.1.1\n  deliver=carrier-pigeon\n").find("'deliver'") != std::string::npos);
  REQUIRE(errors_of(base + pim + "  groups=239.1.1.1\n  holdtime=70000\n").find("'holdtime'") != std::string::npos);
  REQUIRE(errors_of(base + pim + "  groups=239.1.1.1\n  sources=(10.0.0.1,10.0.0.2)\n").find("'sources'") != std::string::npos);
  REQUIRE(errors_of(base + pim + "  groups=239.1.1.1\n  sources=(10.0.0.1,239.1.1.1\n").find("'sources'") != std::string::npos);
  REQUIRE(errors_of(base + pim).find("'groups': required") != std::string::npos);
}

TEST_CASE("config: pim groups=auto, allow/deny/ssm prefixes and the querier's timers") {
  const std::string conn =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftsubnet=10.44.6.1/32\n  "
      "rightsubnet=10.44.7.1/32\n  auto=start\n";
  const std::string gre = "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n";
  const std::string pim = "pim p\n  interface=g\n  rp=10.15.30.253\n";
  auto r = parse(conn + gre + pim + "  groups=auto\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& d = r.config->pims.at(0);
  CHECK(d.igmp);
  CHECK(d.groups.empty());
  CHECK(d.allow.empty());
  CHECK(d.deny.empty());
  REQUIRE(d.ssm.size() == 1);
  CHECK(d.ssm[0].to_string() == "232.0.0.0/8");
  CHECK(d.query_interval == std::chrono::seconds(125));
  CHECK(d.last_member_query_interval == std::chrono::milliseconds(1000));
  CHECK(d.robustness == 2u);
  CHECK(d.max_groups == 4096u);

  auto t = parse(conn + gre + pim +
                 "  groups=239.1.1.1, auto\n  allow=239.1.0.0/16,239.2.2.2\n  deny=239.1.9.0/24\n  ssm=232.0.0.0/8, 239.232.0.0/16\n"
                 "  query_interval=20s\n  last_member_query_interval=300ms\n  robustness=3\n  max_groups=2500\n");
  for (const auto& e : t.errors) INFO(e.to_string());
  REQUIRE(t.ok());
  const auto& p = t.config->pims.at(0);
  CHECK(p.igmp);
  CHECK(p.groups == std::vector<IpAddr>{ip("239.1.1.1")});
  REQUIRE(p.allow.size() == 2);
  CHECK(p.allow[1].to_string() == "239.2.2.2/32");
  REQUIRE(p.deny.size() == 1);
  REQUIRE(p.ssm.size() == 2);
  CHECK(p.query_interval == std::chrono::seconds(20));
  CHECK(p.last_member_query_interval == std::chrono::milliseconds(300));
  CHECK(p.robustness == 3u);
  CHECK(p.max_groups == 2500u);

  const std::string notun = conn + "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n  tun=no\n";
  CHECK(errors_of(notun + pim + "  groups=auto\n  deliver=udp:127.0.0.1:5000\n").find("groups=auto needs gre g's TUN device") !=
        std::string::npos);
  CHECK(errors_of(conn + gre + pim + "  groups=auto\n  allow=10.0.0.0/8\n").find("'allow': '10.0.0.0/8' is not an IPv4 multicast prefix") !=
        std::string::npos);
  CHECK(errors_of(conn + gre + pim + "  groups=auto\n  deny=224.0.0.0/3\n").find("'deny'") != std::string::npos);
  CHECK(errors_of(conn + gre + pim + "  groups=auto\n  last_member_query_interval=30s\n").find("'last_member_query_interval'") !=
        std::string::npos);
  CHECK(errors_of(conn + gre + pim + "  groups=auto\n  robustness=0\n").find("'robustness'") != std::string::npos);
  CHECK(errors_of(conn + gre + pim + "  groups=auto\n  query_interval=4000s\n").find("'query_interval'") != std::string::npos);
  // allow= without groups=auto does nothing: said, not silently ignored
  auto w = parse(conn + gre + pim + "  groups=239.1.1.1\n  allow=239.1.0.0/16\n");
  REQUIRE(w.ok());
  REQUIRE(w.warnings.size() == 1);
  CHECK(w.warnings[0].message.find("applies to member-driven joins only (groups=auto)") != std::string::npos);
}

TEST_CASE("config: pim on two tunnels: upstream=, holddown=, dedup=") {
  const std::string conns =
      "conn a\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftsubnet=10.44.6.1/32\n  "
      "rightsubnet=10.44.7.1/32\n  auto=start\n"
      "conn b\n  left=192.0.2.1\n  right=198.51.100.2\n  authby=secret\n  leftsubnet=10.44.16.1/32\n  "
      "rightsubnet=10.44.17.1/32\n  auto=start\n"
      "gre g1\n  conn=a\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n"
      "gre g2\n  conn=b\n  local=10.44.16.1\n  remote=10.44.17.1\n  address=10.44.14.6/30\n  peer=10.44.14.5\n";
  const std::string pim = "pim p\n  interface=g1,g2\n  rp=10.15.30.253\n  groups=239.1.1.1\n";
  auto r = parse(conns + pim);
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& p = r.config->pims.at(0);
  CHECK(p.interface == "g1");
  CHECK(p.interfaces == std::vector<std::string>{"g1", "g2"});
  CHECK(p.neighbors == std::vector<IpAddr>{ip("10.44.4.5"), ip("10.44.14.5")});
  CHECK(p.upstream == PimConfig::Upstream::active_standby);  // the default with two
  CHECK(p.holddown == std::chrono::seconds(60));
  CHECK_FALSE(p.dedup);
  // the two tunnels send keepalives unless told otherwise: fail-over needs them
  for (const auto& g : r.config->gres) {
    CHECK(g.keepalive == GreConfig::Keepalive::send);
    CHECK(g.keepalive_interval == std::chrono::seconds(1));
    CHECK(g.keepalive_retries == 2u);
  }
  auto own = parse(conns + pim);
  REQUIRE(own.ok());
  bool noted = false;
  for (const auto& n : own.config->notes) noted |= n.find("gre g1: keepalive=1s, keepalive_retries=2 (pim p") != std::string::npos;
  CHECK(noted);
  std::string written = conns;
  written.insert(written.find("gre g2\n") - 0, "  keepalive=reply\n");
  auto kept = parse(written + pim);
  REQUIRE(kept.ok());
  CHECK(kept.config->gres.at(0).keepalive == GreConfig::Keepalive::reply);  // as written
  CHECK(kept.config->gres.at(1).keepalive == GreConfig::Keepalive::send);

  auto b = parse(conns + pim + "  upstream=both\n  dedup=sequence:0:8\n  dedup_window=4096\n  holddown=5s\n");
  for (const auto& e : b.errors) INFO(e.to_string());
  REQUIRE(b.ok());
  const auto& q = b.config->pims.at(0);
  CHECK(q.upstream == PimConfig::Upstream::both);
  REQUIRE(q.dedup);
  CHECK_FALSE(q.dedup->hash);
  CHECK(q.dedup->offset == 0u);
  CHECK(q.dedup->width == 8u);
  CHECK(q.dedup->window == 4096u);
  CHECK(q.holddown == std::chrono::seconds(5));
  auto h = parse(conns + pim + "  upstream=both\n  dedup=hash\n  dedup_window=250ms\n");
  REQUIRE(h.ok());
  CHECK(h.config->pims.at(0).dedup->hash);
  CHECK(h.config->pims.at(0).dedup->hash_window == std::chrono::milliseconds(250));
  auto le = parse(conns + pim + "  dedup=sequence:4:4:le\n");
  REQUIRE(le.ok());
  CHECK(le.config->pims.at(0).dedup->little_endian);

  CHECK(errors_of(conns + pim + "  upstream=both\n").find("upstream=both needs dedup=") != std::string::npos);
  CHECK(errors_of(conns + pim + "  upstream=sometimes\n").find("'upstream': expected active-standby or both") != std::string::npos);
  CHECK(errors_of(conns + "pim p\n  interface=g1\n  rp=10.15.30.253\n  groups=239.1.1.1\n  upstream=both\n  dedup=hash\n")
            .find("needs two interfaces") != std::string::npos);
  CHECK(errors_of(conns + pim + "  dedup=sequence:0:9\n").find("'dedup': expected sequence:OFFSET:WIDTH") != std::string::npos);
  CHECK(errors_of(conns + pim + "  dedup=crc\n").find("'dedup'") != std::string::npos);
  CHECK(errors_of(conns + pim + "  dedup_window=100\n").find("needs dedup=") != std::string::npos);
  CHECK(errors_of(conns + pim + "  neighbor=10.44.4.5\n").find("each neighbor is its gre's peer") != std::string::npos);
  CHECK(errors_of(conns + "pim p\n  interface=g1,g1\n  rp=10.15.30.253\n  groups=239.1.1.1\n").find("named twice") !=
        std::string::npos);
  CHECK(errors_of(conns + "gre g3\n  conn=a\n  local=10.44.6.1\n  remote=10.44.7.1\n  key=5\n  address=10.44.24.6/30\n  peer=10.44.24.5\n"
                          "pim p\n  interface=g1,g3\n  rp=10.15.30.253\n  groups=239.1.1.1\n")
            .find("ride the same conn a") != std::string::npos);
}

TEST_CASE("config: gre mss is automatic, a number, or off") {
  const std::string base =
      "conn t\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  leftsubnet=10.44.6.1/32\n  "
      "rightsubnet=10.44.7.1/32\n  auto=start\n"
      "gre g\n  local=10.44.6.1\n  remote=10.44.7.1\n  address=10.44.4.6/30\n  peer=10.44.4.5\n";
  auto mss_of = [&](const std::string& extra) {
    auto r = parse(base + extra);
    for (const auto& e : r.errors) INFO(e.to_string());
    REQUIRE(r.ok());
    return r.config->gres.at(0).mss;
  };
  CHECK_FALSE(mss_of("").has_value());
  CHECK_FALSE(mss_of("  mss=auto\n").has_value());
  CHECK(mss_of("  mss=1300\n") == 1300u);
  CHECK(mss_of("  mss=off\n") == 0u);
  CHECK(mss_of("  mss=no\n") == 0u);
  for (const char* bad : {"  mss=87\n", "  mss=65496\n", "  mss=big\n", "  mss=-1\n"})
    CHECK(errors_of(base + bad).find("'mss': expected auto, off or a number from 88 to 65495") != std::string::npos);
}
