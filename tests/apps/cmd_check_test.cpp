// `swanless check` (apps/cmd_check.cpp): the listing of a valid config, and the failures of
// the secrets file and the config.
#include <catch2/catch.hpp>

#include "apps/commands.h"
#include "common/rsa.h"
#include "config/config_test_util.h"

using namespace config_test;
using apps::run_check;

TEST_CASE("check: the seed example with a private secrets file passes") {
  TempDir d;
  std::ifstream f(examples_dir() + "/seed-aws.conf");
  std::stringstream ss;
  ss << f.rdbuf();
  auto conf = d.write("seed.conf", ss.str(), 0644);
  d.write("seed.secrets", "222.45.67.1 177.54.214.20 : PSK \"x\"\n", 0600);
  std::ostringstream out, err;
  REQUIRE(run_check(conf, out, err) == 0);
  INFO(out.str() << err.str());
  REQUIRE(out.str().find("conn dc-tun-gre (IKE_SA dc-tun, auto=start)") != std::string::npos);
  REQUIRE(out.str().find("ike: AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048 (strict)") != std::string::npos);
  REQUIRE(out.str().find("ike_sa dc-tun: dc-tun-gre dc-tun-tcp") != std::string::npos);
  REQUIRE(out.str().find("gre gre1 (conn dc-tun-gre)") != std::string::npos);
  REQUIRE(out.str().find("pim upstream") != std::string::npos);
  REQUIRE(out.str().find("configuration OK") != std::string::npos);
  CHECK(out.str().find("capabilities:\n  CAP_NET_ADMIN: TUN device swanless0") != std::string::npos);
  CHECK(out.str().find("  CAP_NET_ADMIN: TUN device gre1 and its rp_filter") != std::string::npos);
  CHECK(out.str().find("  CAP_NET_BIND_SERVICE: UDP port 500 for IKE_SA dc-tun") != std::string::npos);
  // What goes on the device: the host address of leftsubnet=10.45.8.17/28 and a route for
  // rightsubnet with it as source; the GRE conn (dc-tun-gre) puts nothing on swanless0.
  CHECK(out.str().find("conn dc-tun-tcp (IKE_SA dc-tun, auto=start)") != std::string::npos);
  CHECK(out.str().find("  swanless0: address 10.45.8.17/32; route 100.15.30.0/24 src 10.45.8.17\n") !=
        std::string::npos);
  const auto gre_conn = out.str().find("conn dc-tun-gre");
  const auto tcp_conn = out.str().find("conn dc-tun-tcp");
  CHECK(out.str().substr(gre_conn, tcp_conn - gre_conn).find("swanless0:") == std::string::npos);
}

TEST_CASE("check: groups=auto shows the querier's prefixes and timers") {
  TempDir d;
  std::ifstream f(examples_dir() + "/seed-aws.conf");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  const auto at = text.find("groups=239.1.1.1");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("groups=239.1.1.1").size(),
               "groups=239.1.1.1,auto\n    deny=239.9.0.0/16\n    last_member_query_interval=300ms");
  auto conf = d.write("seed.conf", text, 0644);
  d.write("seed.secrets", "222.45.67.1 177.54.214.20 : PSK \"x\"\n", 0600);
  std::ostringstream out, err;
  REQUIRE(run_check(conf, out, err) == 0);
  INFO(out.str() << err.str());
  CHECK(out.str().find("  groups 239.1.1.1 auto\n"
                       "  members (IGMP querier on gre1): allow any deny 239.9.0.0/16 ssm 232.0.0.0/8\n"
                       "  query 2m5s last member query 300ms robustness 2 max groups 4096\n") != std::string::npos);
}

TEST_CASE("check: the device plan names host addresses only, and selectors it cannot route") {
  TempDir d;
  auto conf = d.write("a.conf",
                      std::string(kBase) + "    leftsubnet=10.1.0.0/16\n    rightsubnet=10.2.0.0/16,10.3.0.1-10.3.0.6\n",
                      0644);
  d.write("a.secrets", ": PSK \"x\"\n", 0600);
  std::ostringstream out, err;
  REQUIRE(run_check(conf, out, err) == 0);
  INFO(out.str() << err.str());
  CHECK(out.str().find("  swanless0: address none (leftsubnet names no host address); route 10.2.0.0/16; no route "
                       "for a: 10.3.0.1..10.3.0.6 (a range, not a prefix)") != std::string::npos);
}

TEST_CASE("check: leftrsasigkey must be the public half of the private key in the secrets file") {
  TempDir d;
  auto mine = common::crypto::RsaPrivateKey::generate(2048);
  auto other = common::crypto::RsaPrivateKey::generate(2048);
  REQUIRE(mine);
  REQUIRE(other);
  d.write("key.pem", mine->to_pem(), 0600);
  d.write("a.secrets", ": RSA key.pem\n", 0600);
  auto conf_with = [&](const common::crypto::RsaPrivateKey& left) {
    return d.write("a.conf",
                   "conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=rsasig\n    auto=add\n"
                   "    leftrsasigkey=" + left.public_key().to_libreswan() + "\n    rightrsasigkey=" +
                       other->public_key().to_libreswan() + "\n",
                   0644);
  };
  std::ostringstream out, err;
  REQUIRE(run_check(conf_with(*mine), out, err) == 0);
  INFO(err.str());
  std::ostringstream out2, err2;
  REQUIRE(run_check(conf_with(*other), out2, err2) == 1);
  CHECK(err2.str().find("leftrsasigkey is not the public half of the private key") != std::string::npos);
}

TEST_CASE("check: a group/other-readable secrets file is refused") {
  TempDir d;
  auto conf = d.write("a.conf", std::string(kBase), 0644);
  d.write("a.secrets", ": PSK \"x\"\n", 0644);
  std::ostringstream out, err;
  REQUIRE(run_check(conf, out, err) == 1);
  REQUIRE(err.str().find("refusing a secrets file readable or writable by group or others (mode 0644)") != std::string::npos);
}

TEST_CASE("check: missing PSK for the id pair fails, config errors fail") {
  TempDir d;
  auto conf = d.write("a.conf", std::string(kBase), 0644);
  d.write("a.secrets", "@other @else : PSK \"x\"\n", 0600);
  std::ostringstream out, err;
  REQUIRE(run_check(conf, out, err) == 1);
  REQUIRE(err.str().find("no PSK") != std::string::npos);

  auto bad = d.write("b.conf", std::string(kBase) + "    keyexchange=ikev1\n", 0644);
  std::ostringstream out2, err2;
  REQUIRE(run_check(bad, out2, err2) == 1);
  REQUIRE(err2.str().find("b.conf:6: 'keyexchange'") != std::string::npos);

  std::ostringstream out3, err3;
  REQUIRE(run_check(d.path + "/missing.conf", out3, err3) == 1);
}
