// The repository's example configs resolve as docs/CONFIG.md describes; every truncation of
// one parses or fails cleanly.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: the seed example resolves as the write-up describes") {
  auto r = load_file(examples_dir() + "/seed-aws.conf");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.warnings.empty());
  const Config& c = *r.config;
  REQUIRE(c.setup.socket == "/run/swanless/swanless.sock");
  REQUIRE(c.setup.secrets == examples_dir() + "/seed-aws.secrets");
  REQUIRE(c.ignored_conns == std::vector<std::string>{"dc-tun"});
  REQUIRE(c.conns.size() == 2);
  REQUIRE(c.ike_sas.size() == 1);
  REQUIRE(c.ike_sas[0].name == "dc-tun");
  REQUIRE(c.ike_sas[0].conns == std::vector<std::string>{"dc-tun-gre", "dc-tun-tcp"});

  const ConnConfig* gre = c.find_conn("dc-tun-gre");
  REQUIRE(gre);
  REQUIRE(gre->ike_sa == "dc-tun");
  REQUIRE(gre->left.kind == HostConfig::Kind::address);
  REQUIRE(gre->left.addr == ip("10.1.1.246"));
  REQUIRE(gre->left.effective_id() == "222.45.67.1");
  REQUIRE(gre->right.addr == ip("177.54.214.20"));
  REQUIRE(gre->right.effective_id() == "177.54.214.20");
  REQUIRE(gre->auth == AuthMethod::psk);
  REQUIRE(gre->mode == Mode::tunnel);
  REQUIRE(gre->auto_action == AutoAction::start);
  REQUIRE(gre->ike.strict);
  REQUIRE(gre->ike.proposals.size() == 1);
  REQUIRE(ike::to_string(gre->ike) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
  REQUIRE(ike::to_string(gre->esp) == "AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ");
  REQUIRE(gre->ike_lifetime == std::chrono::hours(3));
  REQUIRE(gre->lifetime == std::chrono::hours(1));
  REQUIRE(gre->rekey_margin == std::chrono::minutes(9));
  REQUIRE(gre->dpd_delay == std::chrono::seconds(30));
  REQUIRE(gre->dpd_timeout == std::chrono::seconds(150));
  REQUIRE(gre->dpd_action == DpdAction::restart);
  REQUIRE(gre->left.subnets.size() == 1);
  REQUIRE(gre->left.subnets[0].to_string() == "10.44.6.1/32");
  REQUIRE(gre->right.subnets[0].to_string() == "10.44.7.1/32");

  const ConnConfig* tcp = c.find_conn("dc-tun-tcp");
  REQUIRE(tcp);
  REQUIRE(tcp->ike_sa == "dc-tun");
  REQUIRE(tcp->left.subnets[0].contains_addr(ip("10.45.8.17")));
  REQUIRE(tcp->left.subnets[0].start == ip("10.45.8.16"));
  REQUIRE(tcp->left.prefixes.size() == 1);
  REQUIRE(tcp->left.prefixes[0].to_string() == "10.45.8.17/28");  // the TUN address
  REQUIRE(tcp->right.subnets[0].to_string() == "100.15.30.0/24");

  REQUIRE(c.gres.size() == 1);
  const GreConfig& g = c.gres[0];
  REQUIRE(g.name == "gre1");
  REQUIRE(g.conn == "dc-tun-gre");
  REQUIRE(g.local == ip("10.44.6.1"));
  REQUIRE(g.remote == ip("10.44.7.1"));
  REQUIRE(g.address.to_string() == "10.44.4.6/30");
  REQUIRE(g.peer == ip("10.44.4.5"));
  REQUIRE(g.mtu == 1476);
  REQUIRE(g.ttl == 255);
  REQUIRE(g.keepalive == GreConfig::Keepalive::reply);
  REQUIRE(g.tun);
  REQUIRE_FALSE(g.key);

  REQUIRE(c.pims.size() == 1);
  const PimConfig& p = c.pims[0];
  REQUIRE(p.interface == "gre1");
  REQUIRE(p.neighbor == ip("10.44.4.5"));
  REQUIRE(p.rp == ip("100.15.30.253"));
  REQUIRE(p.groups == std::vector<IpAddr>{ip("239.1.1.1")});
  REQUIRE(p.hello == std::chrono::seconds(30));
  REQUIRE(p.join == std::chrono::seconds(60));
  REQUIRE(p.holdtime == std::chrono::seconds(210));
  REQUIRE(p.deliver_tun);
  REQUIRE(p.deliver_udp.size() == 1);
  REQUIRE(p.deliver_udp[0].to_string() == "127.0.0.1:5000");
}

TEST_CASE("config: the GRE transport example resolves") {
  auto r = load_file(examples_dir() + "/gre-transport.conf");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const Config& c = *r.config;
  REQUIRE(c.setup.socket == "/run/swanless/gwa.sock");
  REQUIRE(c.conns.size() == 1);
  const ConnConfig& k = c.conns[0];
  REQUIRE(k.mode == Mode::transport);
  REQUIRE(k.auth == AuthMethod::pubkey);
  REQUIRE(k.left.pubkey == "/etc/swanless/gwa.pub");
  REQUIRE(k.right.pubkey == "/etc/swanless/gwb.pub");
  REQUIRE(k.left.subnets.size() == 1);
  REQUIRE(k.left.subnets[0].protocol == 47);
  REQUIRE(k.left.subnets[0].to_string().find("1.1.1.1/32") == 0);
  REQUIRE(k.right.subnets[0].protocol == 47);
  REQUIRE_FALSE(k.ike.strict);  // no ike=: strongSwan's defaults
  REQUIRE(k.ike.configured == 0);
  REQUIRE(k.ike.proposals == ike::default_proposals(ike::Protocol::ike));
  REQUIRE(k.ike_sa == "greB");
  REQUIRE(c.gres.size() == 1);
  const GreConfig& g = c.gres[0];
  REQUIRE(g.conn == "greB");
  REQUIRE(g.mtu == 1400);
  REQUIRE(g.keepalive == GreConfig::Keepalive::send);
  REQUIRE(g.keepalive_interval == std::chrono::seconds(10));
  REQUIRE(g.routes.size() == 1);
  REQUIRE(g.routes[0].to_string() == "10.0.1.0/24");
}

TEST_CASE("config: every truncation of the seed example parses or fails cleanly") {
  std::ifstream f(examples_dir() + "/seed-aws.conf");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  REQUIRE(text.size() > 100);
  ParseOptions none;
  none.include = nullptr;
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto r = parse_string(std::string_view(text).substr(0, n), "seed.conf", none);
    REQUIRE((r.ok() || !r.errors.empty()));
    if (!r.ok())
      for (const auto& e : r.errors) REQUIRE(e.file == "seed.conf");
  }
}
