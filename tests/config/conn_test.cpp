// conn sections typed (config/conn.cpp): defaults, every key, IKE_SA groups, lifetimes,
// leftauth/rightauth.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config/peers.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

TEST_CASE("config: strongSwan defaults when keys are absent") {
  auto r = parse(kBase);
  REQUIRE(r.ok());
  const auto& c = r.config->conns.at(0);
  REQUIRE(c.ike_lifetime == std::chrono::hours(3));
  REQUIRE(c.lifetime == std::chrono::hours(1));
  REQUIRE(c.rekey_margin == std::chrono::minutes(9));
  REQUIRE(c.rekey_fuzz_percent == 100);
  REQUIRE(c.dpd_delay == std::chrono::seconds(30));
  REQUIRE(c.dpd_timeout == std::chrono::seconds(150));
  REQUIRE(c.dpd_action == DpdAction::none);
  REQUIRE(c.mode == Mode::tunnel);
  REQUIRE(c.replay_window == 32);
  REQUIRE(c.left.ike_port == 500);
  REQUIRE_FALSE(c.force_encaps);
  REQUIRE_FALSE(c.reauth);  // swanless's default, unlike strongSwan's
  REQUIRE(c.fragmentation);
  REQUIRE(c.life_bytes == 0);
  REQUIRE(c.life_packets == 0);
  REQUIRE(r.config->setup.fragment_size == 1280);
  REQUIRE(c.esp.proposals == ike::default_proposals(ike::Protocol::esp));
  REQUIRE(r.config->setup.secrets == "/etc/swanless/test.secrets");
  REQUIRE(r.config->setup.loglevel == common::LogLevel::info);
  // Without leftsubnet the selector is the host itself.
  REQUIRE(c.left.subnets.size() == 1);
  REQUIRE(c.left.subnets[0].to_string() == "192.0.2.1/32");
}

TEST_CASE("config: socket_group by name or number; an unknown group is an error") {
  auto by_name = parse("config setup\n  socket_group=root\n");
  REQUIRE(by_name.ok());
  REQUIRE(by_name.config->setup.socket_group == gid_t{0});
  CHECK(by_name.config->setup.socket_group_name == "root");
  auto by_number = parse("config setup\n  socket_group=4242\n");
  REQUIRE(by_number.ok());
  CHECK(by_number.config->setup.socket_group == gid_t{4242});
  CHECK_FALSE(parse("config setup\n").config->setup.socket_group.has_value());
  auto unknown = parse("config setup\n  socket_group=no-such-group-swl\n");
  REQUIRE_FALSE(unknown.ok());
  REQUIRE(unknown.errors.size() == 1);
  CHECK(unknown.errors[0].to_string().find("no group 'no-such-group-swl' on this system") != std::string::npos);
}

TEST_CASE("config: dumpable defaults to no, yes allows core dumps, anything else is an error") {
  CHECK_FALSE(parse("config setup\n").config->setup.dumpable);
  auto yes = parse("config setup\n  dumpable=yes\n");
  REQUIRE(yes.ok());
  CHECK(yes.config->setup.dumpable);
  CHECK_FALSE(parse("config setup\n  dumpable=no\n").config->setup.dumpable);
  CHECK_FALSE(parse("config setup\n  dumpable=maybe\n").ok());
}

TEST_CASE("config: loglevel per subsystem and the log sink") {
  auto r = parse("config setup\n  loglevel=\"warn, ike debug, pim trace\"\n  log=syslog\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& s = r.config->setup;
  CHECK(s.loglevel == common::LogLevel::warn);
  CHECK(s.subsys_levels[static_cast<std::size_t>(common::Subsys::ike)] == common::LogLevel::debug);
  CHECK(s.subsys_levels[static_cast<std::size_t>(common::Subsys::pim)] == common::LogLevel::trace);
  CHECK_FALSE(s.subsys_levels[static_cast<std::size_t>(common::Subsys::esp)].has_value());
  CHECK(s.log == common::LogSink::syslog);
  CHECK(parse("config setup\n  log=journal\n").config->setup.log == common::LogSink::journal);
  CHECK(parse("config setup\n  log=stderr\n").config->setup.log == common::LogSink::stderr_text);
  CHECK_FALSE(parse("config setup\n  log=auto\n").config->setup.log.has_value());
  for (const char* bad : {"loglevel=\"info, knl 2\"", "loglevel=\"ike loud\"", "loglevel=\"ike debug extra\"",
                          "log=file"}) {
    INFO(bad);
    CHECK_FALSE(parse(std::string("config setup\n  ") + bad + "\n").ok());
  }
  auto unknown = parse("config setup\n  loglevel=\"info, knl 2\"\n");
  CHECK(unknown.errors.at(0).to_string().find("unknown subsystem 'knl' (ike, esp, gre, pim, net or cfg)") !=
        std::string::npos);
}

TEST_CASE("config: user=NAME resolves to its uid and primary group; an unknown user is an error") {
  auto r = parse("config setup\n  user=root\n");
  REQUIRE(r.ok());
  CHECK(r.config->setup.user == "root");
  CHECK(r.config->setup.user_uid == 0);
  CHECK(r.config->setup.user_gid == 0);
  CHECK(parse("config setup\n").config->setup.user.empty());
  auto bad = parse("config setup\n  user=no-such-user-swl\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors.at(0).to_string().find("no user 'no-such-user-swl' on this system") != std::string::npos);
}

TEST_CASE("config: group= replaces the user's primary group, in either order; it needs user=") {
  // root and daemon (gid 1) exist on every Debian system.
  for (const char* text : {"config setup\n  user=root\n  group=daemon\n", "config setup\n  group=daemon\n  user=root\n",
                           "config setup\n  user=root\n  group=1\n"}) {
    auto r = parse(text);
    REQUIRE(r.ok());
    CHECK(r.config->setup.user_uid == 0);
    CHECK(r.config->setup.user_gid == 1);
  }
  auto alone = parse("config setup\n  group=daemon\n");
  REQUIRE_FALSE(alone.ok());
  CHECK(alone.errors.at(0).to_string().find("group= needs user=") != std::string::npos);
  auto unknown = parse("config setup\n  user=root\n  group=no-such-group-swl\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.errors.at(0).to_string().find("no group 'no-such-group-swl'") != std::string::npos);
}

TEST_CASE("config: sample=yes refuses the config until it is edited") {
  auto r = parse("config setup\n  sample=yes\nconn x\n  left=192.0.2.1\n  right=192.0.2.2\n  authby=secret\n  auto=add\n");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string().find("this is the sample configuration") != std::string::npos);
  CHECK(parse("config setup\n  sample=no\n").ok());
}

TEST_CASE("config: rcvbuf/sndbuf take bytes, K or M, from 64K to 1024M") {
  auto d = parse("config setup\n  offload=yes\n");
  REQUIRE(d.ok());
  CHECK(d.config->setup.rcvbuf == 32u << 20);
  CHECK(d.config->setup.sndbuf == 8u << 20);
  auto r = parse("config setup\n  rcvbuf=64M\n  sndbuf=512K\n");
  REQUIRE(r.ok());
  CHECK(r.config->setup.rcvbuf == 64u << 20);
  CHECK(r.config->setup.sndbuf == 512u << 10);
  auto b = parse("config setup\n  rcvbuf=1048576\n");
  REQUIRE(b.ok());
  CHECK(b.config->setup.rcvbuf == 1048576u);
  for (const char* bad : {"32G", "12x", "M", "-5", "1000", "2048M"}) {
    INFO(bad);
    auto e = parse(std::string("config setup\n  rcvbuf=") + bad + "\n");
    REQUIRE_FALSE(e.ok());
    CHECK(e.errors.at(0).key == "rcvbuf");
    CHECK(e.errors.at(0).line == 2);
  }
}

TEST_CASE("config: metrics=HOST:PORT or off; anything else is an error") {
  auto on = parse("config setup\n  metrics=127.0.0.1:9545\n");
  REQUIRE(on.ok());
  REQUIRE(on.config->setup.metrics.has_value());
  CHECK(on.config->setup.metrics->to_string() == "127.0.0.1:9545");
  CHECK_FALSE(parse("config setup\n").config->setup.metrics.has_value());
  CHECK_FALSE(parse("config setup\n  metrics=off\n").config->setup.metrics.has_value());
  for (const char* bad : {"9545", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "localhost:9545"}) {
    INFO(bad);
    auto r = parse(std::string("config setup\n  metrics=") + bad + "\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.at(0).to_string().find("expected HOST:PORT such as 127.0.0.1:9545, or off") != std::string::npos);
  }
}

TEST_CASE("config: every conn key with a value") {
  auto r = parse(
      "config setup\n"
      "  secrets=my.secrets\n"
      "  keylog=/tmp/keys\n"
      "  pcap=/tmp/pcap\n"
      "  loglevel=debug\n"
      "  fragment_size=576\n"
      "conn x\n"
      "  keyexchange=ikev2\n"
      "  left=%defaultroute\n"
      "  leftid=@vm.example.org\n"
      "  leftsubnet=10.0.0.0/24, 10.0.1.0/24[tcp/80], 10.0.2.1-10.0.2.9\n"
      "  right=203.0.113.7\n"
      "  rightid=\"C=CH, O=example, CN=gw\"\n"
      "  rightsubnet=10.9.0.0/16\n"
      "  rightprotoport=udp/%any\n"
      "  type=tunnel\n"
      "  authby=psk\n"
      "  ike=aes128gcm16-prfsha256-ecp256,chacha20poly1305-prfsha256-curve25519!\n"
      "  esp=aes128gcm16-esn!\n"
      "  ikelifetime=8h\n"
      "  keylife=20m\n"
      "  margintime=3m\n"
      "  rekeyfuzz=50%\n"
      "  rekey=no\n"
      "  reauth=yes\n"
      "  dpddelay=10\n"
      "  dpdtimeout=1m\n"
      "  dpdaction=clear\n"
      "  forceencaps=yes\n"
      "  leftikeport=4500\n"
      "  rightikeport=4501\n"
      "  replay_window=1024\n"
      "  fragmentation=no\n"
      "  lifebytes=1000000000\n"
      "  marginbytes=100000000\n"
      "  lifepackets=5000000\n"
      "  marginpackets=500000\n"
      "  auto=add\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& s = r.config->setup;
  REQUIRE(s.secrets == "/etc/swanless/my.secrets");
  REQUIRE(s.keylog == "/tmp/keys");
  REQUIRE(s.pcap == "/tmp/pcap");
  REQUIRE(s.loglevel == common::LogLevel::debug);
  REQUIRE(s.fragment_size == 576);
  const auto& c = r.config->conns.at(0);
  REQUIRE(c.left.kind == HostConfig::Kind::defaultroute);
  REQUIRE(c.left.effective_id() == "@vm.example.org");
  REQUIRE(c.left.subnets.size() == 3);
  REQUIRE(c.left.subnets[1].protocol == 6);
  REQUIRE(c.left.subnets[1].start_port == 80);
  REQUIRE(c.left.subnets[1].end_port == 80);
  REQUIRE(c.left.subnets[2].start == ip("10.0.2.1"));
  REQUIRE(c.left.subnets[2].end == ip("10.0.2.9"));
  REQUIRE(c.right.id == "C=CH, O=example, CN=gw");
  REQUIRE(c.right.subnets.size() == 1);
  REQUIRE(c.right.subnets[0].protocol == 17);  // rightprotoport applies to rightsubnet
  REQUIRE(c.ike.proposals.size() == 2);
  REQUIRE(c.esp.proposals.at(0).esn == std::vector<ike::Esn>{ike::Esn::yes});
  REQUIRE(c.ike_lifetime == std::chrono::hours(8));
  REQUIRE(c.lifetime == std::chrono::minutes(20));
  REQUIRE(c.rekey_margin == std::chrono::minutes(3));
  REQUIRE(c.rekey_fuzz_percent == 50);
  REQUIRE_FALSE(c.rekey);
  REQUIRE(c.reauth);
  REQUIRE(c.dpd_delay == std::chrono::seconds(10));
  REQUIRE(c.dpd_timeout == std::chrono::seconds(60));
  REQUIRE(c.dpd_action == DpdAction::clear);
  REQUIRE(c.force_encaps);
  REQUIRE(c.left.ike_port == 4500);
  REQUIRE(c.right.ike_port == 4501);
  REQUIRE(c.replay_window == 1024);
  REQUIRE_FALSE(c.fragmentation);
  REQUIRE(c.life_bytes == 1000000000);
  REQUIRE(c.margin_bytes == 100000000);
  REQUIRE(c.life_packets == 5000000);
  REQUIRE(c.margin_packets == 500000);
  REQUIRE(c.auto_action == AutoAction::add);
}

TEST_CASE("config: conns with the same endpoints, ids and auth share one IKE_SA") {
  auto r = parse(
      "conn site\n"
      "  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  auto=ignore\n"
      "conn one\n  also=site\n  leftsubnet=10.1.0.0/24\n  rightsubnet=10.2.0.0/24\n  auto=start\n"
      "conn two\n  also=site\n  leftsubnet=10.3.0.0/24\n  rightsubnet=10.4.0.0/24\n  auto=start\n"
      "conn other\n  also=site\n  rightid=@elsewhere\n  auto=add\n");
  REQUIRE(r.ok());
  const Config& c = *r.config;
  REQUIRE(c.ike_sas.size() == 2);
  REQUIRE(c.find_ike_sa("site"));
  REQUIRE(c.find_ike_sa("site")->conns == std::vector<std::string>{"one", "two"});
  REQUIRE(c.find_conn("other")->ike_sa == "other");
}

TEST_CASE("config: rekeymargin + rekeyfuzz reaching the lifetime warns") {
  auto r = parse(std::string(kBase) + "    lifetime=15m\n    rekeymargin=10m\n");
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  REQUIRE(r.warnings[0].to_string().find("test.conf:7: 'rekeymargin': rekeymargin + rekeyfuzz can reach lifetime") !=
          std::string::npos);
  auto q = parse(std::string(kBase) + "    lifetime=15m\n    rekeymargin=5m\n    rekeyfuzz=50%\n");
  REQUIRE(q.ok());
  REQUIRE(q.warnings.empty());
}

TEST_CASE("config: leftauth/rightauth choose the RSA signature scheme (strongSwan's rsa/pss syntax)") {
  using common::crypto::SigHash;
  const std::string pk =
      "conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    rightpubkey=c.pem\n    auto=add\n";  // lines 1..5
  SECTION("default: PKCS#1 v1.5, any scheme accepted") {
    auto r = parse(pk);
    REQUIRE(r.ok());
    const auto& c = r.config->conns.at(0);
    CHECK(c.auth == AuthMethod::pubkey);
    CHECK(c.sign == ConnConfig::SigScheme{});
    CHECK(c.require == ConnConfig::SigScheme{});
    CHECK(c.sign.to_string() == "pubkey");
  }
  SECTION("rsa/pss with and without the ike: prefix and hash suffixes") {
    auto r = parse(pk + "    leftauth=rsa/pss\n    rightauth=ike:rsa/pss-sha384-sha256\n");
    INFO((r.errors.empty() ? "" : r.errors[0].to_string()));
    REQUIRE(r.ok());
    const auto& c = r.config->conns.at(0);
    CHECK(c.auth == AuthMethod::pubkey);
    CHECK(c.sign.pss);
    CHECK(c.sign.hashes.empty());
    CHECK(c.require.pss);
    CHECK(c.require.hashes == std::vector<SigHash>{SigHash::sha384, SigHash::sha256});
    CHECK(c.require.to_string() == "rsa/pss-sha384-sha256");
  }
  SECTION("pubkey/rsa with hashes, authby agreeing") {
    auto r = parse(pk + "    authby=rsasig\n    leftauth=pubkey-sha512\n    rightauth=rsa\n");
    REQUIRE(r.ok());
    const auto& c = r.config->conns.at(0);
    CHECK_FALSE(c.sign.pss);
    CHECK(c.sign.hashes == std::vector<SigHash>{SigHash::sha512});
    CHECK(c.require == ConnConfig::SigScheme{});
  }
  SECTION("leftauth=psk alone means PSK") {
    auto r = parse("conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    leftauth=psk\n    rightauth=secret\n"
                   "    auto=add\n");
    REQUIRE(r.ok());
    CHECK(r.config->conns.at(0).auth == AuthMethod::psk);
  }
  SECTION("a different scheme is a different IKE_SA") {
    auto r = parse(pk + "conn b\n    also=a\n    leftsubnet=10.9.0.0/24\n    leftauth=rsa/pss\n");
    REQUIRE(r.ok());
    CHECK(r.config->ike_sas.size() == 2);
  }
  SECTION("errors name the key") {
    struct Case {
      std::string text, expect;
    };
    const Case cases[] = {
        {pk + "    leftauth=eap\n", "test.conf:6: 'leftauth': expected psk, secret, pubkey, rsa, rsasig or rsa/pss"},
        {pk + "    leftauth=rsa-2048\n", "test.conf:6: 'leftauth': unsupported '-2048'"},
        {pk + "    rightauth=pubkey-sha1\n", "test.conf:6: 'rightauth': unsupported '-sha1'"},
        {pk + "    leftauth=psk-sha256\n", "test.conf:6: 'leftauth': psk takes no suffix"},
        {pk + "    leftauth=ecdsa\n", "test.conf:6: 'leftauth'"},
        {pk + "    leftauth=pubkey\n    rightauth=psk\n",
         "test.conf:7: 'rightauth': leftauth and rightauth must both be psk or both public keys"},
        {pk + "    authby=secret\n    leftauth=rsa/pss\n", "test.conf:7: 'leftauth': rsa/pss conflicts with authby=secret"},
        {pk + "    leftauth2=pubkey\n", "test.conf:6: 'leftauth2': unknown key"},
    };
    for (const auto& c : cases) {
      INFO("config:\n" << c.text);
      auto e = errors_of(c.text);
      INFO("errors:\n" << e);
      CHECK(e.find(c.expect) != std::string::npos);
    }
  }
}

TEST_CASE("config: IPv6 selectors are a clear error while swanless tunnels IPv4 only") {
  auto r = parse(std::string(kBase) + "    leftsubnet=10.1.0.0/16,2001:db8::/64\n    rightsubnet=2001:db8:1::/64\n");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].key == "leftsubnet");
  CHECK(r.errors[0].message.find("IPv6 selector '2001:db8::/64': swanless tunnels IPv4 only") != std::string::npos);
  CHECK(r.errors[1].key == "rightsubnet");
}

TEST_CASE("config: a transport-mode conn with no gre section warns that the host's traffic bypasses it") {
  auto bare = parse(std::string(kBase) + "    type=transport\n");
  REQUIRE(bare.ok());
  REQUIRE(bare.warnings.size() == 1);
  CHECK(bare.warnings[0].message.find("conn a: transport mode with no gre section over it carries nothing") !=
        std::string::npos);
  CHECK(bare.warnings[0].message.find("198.51.100.1") != std::string::npos);
  CHECK(bare.warnings[0].line == 1);  // the conn's own line
  // With the gre section of the GRE-over-IPsec set-up: no warning.
  auto with_gre = parse(std::string(kBase) +
                        "    type=transport\n"
                        "gre gre1\n    conn=a\n    local=192.0.2.1\n    remote=198.51.100.1\n"
                        "    address=10.44.4.6/30\n    peer=10.44.4.5\n");
  for (const auto& e : with_gre.errors) INFO(e.to_string());
  REQUIRE(with_gre.ok());
  CHECK(with_gre.warnings.empty());
}

TEST_CASE("config: unimplemented algorithms are left out of ike=/esp= with a warning naming them") {
  auto r = parse(std::string(kBase) + "    esp=aes256-sha256,blowfish-sha1\n    ike=3des-md5-modp1024,aes256-sha256-modp768\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& c = *r.config->find_conn("a");
  CHECK(c.esp.configured == 1);
  CHECK(c.ike.configured == 1);  // 3des-md5-modp1024 is implemented; the modp768 one is gone
  REQUIRE(r.warnings.size() == 2);
  for (const auto& w : r.warnings) CHECK(w.message.find("not implemented by swanless, left out: ") != std::string::npos);
  auto strict = parse(std::string(kBase) + "    esp=blowfish-sha1!\n");
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.errors.at(0).message.find("nothing swanless implements is left") != std::string::npos);
}

TEST_CASE("config: libreswan's spellings: ';' before the DH group, phase2alg, salifetime, encapsulation, phase2") {
  auto r = parse(std::string(kBase) +
                 "    ikev2=insist\n    ike=aes256-sha2;modp2048\n    phase2=esp\n    phase2alg=aes128-sha2_256;modp2048\n"
                 "    salifetime=30m\n    encapsulation=yes\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const auto& c = *r.config->find_conn("a");
  CHECK(ike::to_string(c.ike.proposals.at(0)) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
  CHECK(ike::to_string(c.esp.proposals.at(0)) == "AES_CBC_128/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ");
  CHECK(c.lifetime == std::chrono::minutes(30));
  CHECK(c.force_encaps);
  auto ah = parse(std::string(kBase) + "    phase2=ah\n");
  REQUIRE_FALSE(ah.ok());
  CHECK(ah.errors.at(0).message.find("AH is not implemented") != std::string::npos);
  auto both = parse(std::string(kBase) + "    forceencaps=yes\n    encapsulation=no\n");
  REQUIRE_FALSE(both.ok());
  auto twice = parse(std::string(kBase) + "    esp=aes256-sha256\n    phase2alg=aes128-sha1\n");
  REQUIRE_FALSE(twice.ok());  // one setting under two names
  CHECK_FALSE(parse(std::string(kBase) + "    encapsulation=auto\n").config->find_conn("a")->force_encaps);
}

TEST_CASE("config: the local side is picked by address, so one file serves both hosts") {
  const std::string text =
      "conn a\n    left=192.0.2.1\n    right=192.0.2.2\n    leftsubnet=10.1.0.1/32\n    rightsubnet=10.2.0.1/32\n"
      "    leftauth=rsa/pss\n    rightauth=pubkey\n    authby=rsasig\n    leftrsasigkey=0sAwEAAQ==\n"
      "    rightrsasigkey=0sAwEAAw==\n    auto=add\n";
  auto on = [&](const char* local) {
    ParseOptions o;
    o.is_local = [local](const common::IpAddr& a) { return a == ip(local); };
    return parse(text, o);
  };
  auto s = on("192.0.2.1");
  for (const auto& e : s.errors) INFO(e.to_string());
  REQUIRE(s.ok());
  CHECK(s.config->notes.empty());
  CHECK(s.config->find_conn("a")->left.addr == ip("192.0.2.1"));
  auto c = on("192.0.2.2");
  for (const auto& e : c.errors) INFO(e.to_string());
  REQUIRE(c.ok());
  const auto& cc = *c.config->find_conn("a");
  CHECK(cc.left.addr == ip("192.0.2.2"));
  CHECK(cc.right.addr == ip("192.0.2.1"));
  CHECK(cc.left.subnets.at(0).start == ip("10.2.0.1"));
  CHECK(cc.sign.to_string() == "pubkey");  // leftauth/rightauth follow their sides
  CHECK(cc.require.pss);
  REQUIRE(c.config->notes.size() == 1);
  CHECK(c.config->notes[0].find("right is the local side here") != std::string::npos);
  // Neither side local (or no predicate): as written.
  CHECK(on("198.51.100.7").config->find_conn("a")->left.addr == ip("192.0.2.1"));
  CHECK(parse(text).config->notes.empty());
}

TEST_CASE("config: passthrough/drop conns (pfSense's LAN bypass) are ignored with a warning") {
  auto r = parse(std::string(kBase) +
                 "conn bypasslan\n    leftsubnet=192.168.1.0/24\n    rightsubnet=192.168.1.0/24\n    authby=never\n"
                 "    type=passthrough\n    auto=route\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  CHECK(r.config->find_conn("bypasslan") == nullptr);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].message.find("type=passthrough only installs a kernel policy") != std::string::npos);
}

TEST_CASE("config: no route into swanless0 for a selector holding the peer's own address") {
  auto r = parse(std::string(kBase) + "    rightsubnet=198.51.100.0/24,10.2.0.0/16\n    leftsubnet=10.1.0.1/32\n");
  REQUIRE(r.ok());
  const auto plan = ipsec_tun_plan(*r.config, {"a"});
  REQUIRE(plan.routes.size() == 1);
  CHECK(plan.routes[0].dst.to_string() == "10.2.0.0/16");
  REQUIRE(plan.unrouted.size() == 1);
  CHECK(plan.unrouted[0].find("it holds the peer's address 198.51.100.1") != std::string::npos);
  // Host-to-host in tunnel mode (no subnets): the peer's /32 itself, never routed.
  auto h2h = parse(std::string(kBase));
  const auto p2 = ipsec_tun_plan(*h2h.config, {"a"});
  CHECK(p2.routes.empty());
  CHECK(p2.unrouted.size() == 1);
}

TEST_CASE("config: dpdaction, closeaction, keyingtries and auto=route as strongSwan reads them") {
  auto r = parse(std::string(kBase) + "    dpdaction=hold\n    closeaction=restart\n    keyingtries=%forever\n");
  for (const auto& w : r.warnings) INFO(w.to_string());
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const auto& c = r.config->conns.at(0);
  CHECK(c.dpd_action == DpdAction::hold);
  CHECK(c.close_action == CloseAction::restart);
  CHECK(c.keying_tries == 0);
  auto d = parse(std::string(kBase));
  REQUIRE(d.ok());
  CHECK(d.config->conns.at(0).keying_tries == 3);  // strongSwan's default
  CHECK(d.config->conns.at(0).close_action == CloseAction::none);
  auto n = parse(std::string(kBase) + "    keyingtries=1\n");
  REQUIRE(n.ok());
  CHECK(n.config->conns.at(0).keying_tries == 1);
  CHECK_FALSE(parse(std::string(kBase) + "    keyingtries=often\n").ok());
  CHECK_FALSE(parse(std::string(kBase) + "    closeaction=maybe\n").ok());
  // Traps in the engine's config: auto=route at once, hold ones after the first SA.
  auto secrets = parse_secrets_string(": PSK \"k\"\n", "s");
  REQUIRE(secrets.ok());
  auto trap_of = [&](const std::string& extra) {
    std::string text = kBase;
    if (extra.find("auto=") != std::string::npos) text.erase(text.find("    auto=start\n"));
    auto l = parse(text + extra);
    REQUIRE(l.ok());
    auto b = build_peers(*l.config, *secrets.secrets);
    REQUIRE(b.errors.empty());
    return b.peers.at(0).children.at(0).trap;
  };
  using Trap = ike::ChildConfig::Trap;
  CHECK(trap_of("") == Trap::none);
  CHECK(trap_of("    auto=route\n") == Trap::always);
  CHECK(trap_of("    dpdaction=hold\n") == Trap::after_loss);
  CHECK(trap_of("    closeaction=hold\n") == Trap::after_loss);
  CHECK(trap_of("    dpdaction=restart\n    closeaction=clear\n") == Trap::none);
}

TEST_CASE("config: route-based conns (vti=, libreswan's vti-interface) and what is refused") {
  const std::string base = "conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=secret\n    auto=start\n";
  auto r = parse(base + "    vti=vti0\n    leftvti=169.254.10.1/30\n    mark=100\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& c = r.config->conns.at(0);
  CHECK(c.vti == "vti0");
  CHECK_FALSE(c.vti_routing);
  REQUIRE(c.left.vti);
  CHECK(c.left.vti->to_string() == "169.254.10.1/30");
  // No subnets written: 0.0.0.0/0 both ways, and no route for the device.
  REQUIRE(c.left.subnets.size() == 1);
  CHECK(c.left.subnets[0].to_string() == "0.0.0.0/0");
  CHECK(c.right.subnets.at(0).to_string() == "0.0.0.0/0");
  REQUIRE(r.warnings.size() == 1);  // mark: the device decides
  CHECK(r.warnings[0].key == "mark");
  const auto plan = vti_plan(c);
  CHECK(plan.dev == "vti0");
  REQUIRE(plan.addrs.size() == 1);
  CHECK(plan.routes.empty());
  CHECK(plan.unrouted.empty());
  // Not on swanless0.
  CHECK(ipsec_tun_plan(*r.config, {"a"}).empty());

  // libreswan: vti-routing defaults to yes; routes for the remote subnets, never 0.0.0.0/0.
  auto lib = parse(base + "    vti-interface=vti1\n    leftvti=169.254.11.1/30\n    leftsubnet=0.0.0.0/0\n"
                          "    rightsubnet=10.20.0.0/16,0.0.0.0/0\n");
  REQUIRE(lib.ok());
  const auto& l = lib.config->conns.at(0);
  CHECK(l.vti == "vti1");
  CHECK(l.vti_routing);
  const auto lp = vti_plan(l);
  REQUIRE(lp.routes.size() == 1);
  CHECK(lp.routes[0].dst.to_string() == "10.20.0.0/16");
  CHECK(lp.routes[0].src->to_string() == "169.254.11.1");
  REQUIRE(lp.unrouted.size() == 1);
  CHECK(lp.unrouted[0].find("0.0.0.0/0") != std::string::npos);
  CHECK_FALSE(vti_plan(parse(base + "    vti-interface=vti1\n    vti-routing=no\n    rightsubnet=10.20.0.0/16\n")
                           .config->conns.at(0))
                  .routes.size());

  auto err = [&](const std::string& extra, const std::string& text) {
    auto e = parse(extra.rfind("conn", 0) == 0 ? extra : base + extra);
    INFO(extra);
    REQUIRE_FALSE(e.ok());
    std::string all;
    for (const auto& d : e.errors) all += d.to_string() + "\n";
    INFO(all);
    CHECK(all.find(text) != std::string::npos);
  };
  err("    vti=this-name-is-too-long0\n", "is not a device name");
  err("    vti=swanless0\n", "swanless0 is the device of the policy-based conns");
  err("    vti=vti0\n    type=transport\n", "a route-based conn is tunnel mode");
  err("    vti=vti0\n    vti-interface=vti0\n", "name the same device");
  err("    vti-interface=vti0\n    vti-shared=yes\n", "a device of its own");
  err("    leftvti=169.254.10.1/30\n", "give the device with vti=NAME");
  err("    vti=vti0\n    leftvti=169.254.10.1\n    leftvti=x\n", "duplicate key");
  err("    vti=vti0\n    leftvti=nowhere\n", "IPv4 ADDR/PREFIX");
  err(base + "    vti=vti0\n" + "conn b\n    left=192.0.2.1\n    right=198.51.100.2\n    authby=secret\n"
             "    auto=start\n    vti=vti0\n",
      "device vti0 is already conn a's");
  // mark= over 0.0.0.0/0 without vti=: refused, naming vti= and the updown's inside address.
  err("    mark=100\n    leftsubnet=0.0.0.0/0\n    rightsubnet=0.0.0.0/0\n"
      "    leftupdown=\"/etc/ipsec.d/aws-updown.sh -ln Tunnel1 -ll 169.254.10.2/30 -lr 169.254.10.1/30 -m 100\"\n",
      "Add vti=NAME (its own TUN device; routes into it are yours) and leftvti=169.254.10.2/30");
  err("    vti-routing=yes\n", "vti-routing/vti-shared go with vti-interface=");
  // A gre section cannot ride on a route-based conn.
  auto g = parse(base + "    vti=vti0\n" +
                 "gre g\n    local=192.0.2.1\n    remote=198.51.100.1\n    conn=a\n    address=10.1.1.1/30\n"
                 "    peer=10.1.1.2\n");
  REQUIRE_FALSE(g.ok());
  CHECK(g.errors.at(0).message.find("route-based (vti=vti0)") != std::string::npos);
}

TEST_CASE("config: right= as a host name is resolved when the file is read") {
  const std::string text = "conn a\n    left=192.0.2.1\n    right=gw.swl.test\n    authby=secret\n    auto=start\n";
  ParseOptions o;
  std::vector<std::string> asked;
  o.resolve = [&](const std::string& name, std::string& error) -> std::optional<IpAddr> {
    asked.push_back(name);
    if (name == "gw.swl.test") return IpAddr::parse("198.51.100.7");
    error = "Name or service not known";
    return std::nullopt;
  };
  auto r = parse_string(text, "/etc/swanless/test.conf", o);
  REQUIRE(r.ok());
  const auto& c = r.config->conns.at(0);
  CHECK(c.right.kind == HostConfig::Kind::address);
  CHECK(c.right.addr.to_string() == "198.51.100.7");
  CHECK(c.right.dns_name == "gw.swl.test");
  CHECK(c.right.effective_id() == "198.51.100.7");  // strongSwan: the id defaults to the address
  CHECK(asked == std::vector<std::string>{"gw.swl.test"});

  auto bad = parse_string("conn a\n    left=192.0.2.1\n    right=nowhere.swl.test\n    authby=secret\n    auto=start\n",
                          "/etc/swanless/test.conf", o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors.at(0).to_string().find("test.conf:3: 'right': cannot resolve 'nowhere.swl.test': Name or service "
                                          "not known") != std::string::npos);
  // Without a resolver (parse_string's default, the fuzzers) a name is an error, not a lookup.
  auto none = parse(text);
  REQUIRE_FALSE(none.ok());
  CHECK(none.errors.at(0).message.find("host names are not resolved here") != std::string::npos);
  // The local side is an address, %any or %defaultroute; typos are not host names.
  CHECK_FALSE(parse_string("conn a\n    left=me.swl.test\n    right=192.0.2.2\n    authby=secret\n    auto=add\n",
                           "t.conf", o)
                  .ok());
  auto typo = parse_string("conn a\n    left=192.0.2.1\n    right=192.0.2.300\n    authby=secret\n    auto=add\n",
                           "t.conf", o);
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.errors.at(0).message.find("expected an IP address") != std::string::npos);
}

TEST_CASE("config: leftsourceip as an address of our own; virtual IPs from or for the peer are refused") {
  const std::string base = "conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    authby=secret\n    auto=start\n"
                           "    rightsubnet=10.20.0.0/16\n";
  auto r = parse(base + "    leftsourceip=10.9.0.5\n");
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].message.find("does not ask the peer for it") != std::string::npos);
  const auto& c = r.config->conns.at(0);
  REQUIRE(c.left.subnets.size() == 1);
  CHECK(c.left.subnets[0].to_string() == "10.9.0.5/32");  // the local selector, as strongSwan's TSi
  const auto plan = ipsec_tun_plan(*r.config, {"a"});
  REQUIRE(plan.addrs.size() == 1);
  CHECK(plan.addrs[0].to_string() == "10.9.0.5/32");
  REQUIRE(plan.routes.size() == 1);
  CHECK(plan.routes[0].src->to_string() == "10.9.0.5");
  // With a subnet: the address goes first (device address, routes' source).
  auto s = parse(base + "    leftsubnet=10.9.0.0/24\n    leftsourceip=10.9.0.7\n");
  REQUIRE(s.ok());
  CHECK(ipsec_tun_plan(*s.config, {"a"}).routes.at(0).src->to_string() == "10.9.0.7");
  auto outside = parse(base + "    leftsubnet=10.9.0.0/24\n    leftsourceip=10.8.0.7\n");
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.errors.at(0).message.find("is not in leftsubnet") != std::string::npos);
  for (const char* v : {"%config", "%config4", "%modecfg"}) {
    auto e = parse(base + "    leftsourceip=" + v + "\n");
    REQUIRE_FALSE(e.ok());
    CHECK(e.errors.at(0).message.find("configuration payload") != std::string::npos);
  }
  auto pool = parse(base + "    rightsourceip=10.3.0.0/24\n");
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.errors.at(0).message.find("address pool") != std::string::npos);
  auto dns = parse(base + "    leftdns=192.0.2.53\n");
  REQUIRE(dns.ok());
  CHECK(dns.warnings.at(0).message.find("configure the resolver yourself") != std::string::npos);
}
