// The ipsec.conf-syntax config: syntax, inheritance, typed values, diagnostics, examples.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/config.h"
#include "apps/secrets.h"

using namespace apps;
using common::IpAddr;

namespace {

std::string examples_dir() {
  std::filesystem::path p(__FILE__);
  return (p.parent_path().parent_path().parent_path() / "examples").string();
}

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

// In-memory includes for tests: name -> text, '*' matched as "any suffix".
ParseOptions memory_includes(std::map<std::string, std::string> files) {
  ParseOptions o;
  o.include = [files](const std::string& pattern, const std::string& base,
                      std::vector<IncludedFile>& out, std::string& err) {
    std::string full = pattern.front() == '/' ? pattern : base + "/" + pattern;
    auto star = full.find('*');
    for (const auto& [name, text] : files) {
      bool match = star == std::string::npos
                       ? name == full
                       : name.size() >= full.size() - 1 && name.compare(0, star, full, 0, star) == 0 &&
                             name.compare(name.size() - (full.size() - star - 1), std::string::npos,
                                          full, star + 1) == 0;
      if (match) out.push_back({name, text});
    }
    if (out.empty() && star == std::string::npos) {
      err = "no such file";
      return false;
    }
    return true;
  };
  return o;
}

LoadResult parse(const std::string& text, const ParseOptions& o = {}) {
  return parse_string(text, "/etc/swanless/test.conf", o);
}

// Parses, expects failure, and returns all error texts joined.
std::string errors_of(const std::string& text, const ParseOptions& o = {}) {
  auto r = parse(text, o);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.errors.empty());
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

const char* kBase =
    "conn a\n"
    "    left=192.0.2.1\n"
    "    right=198.51.100.1\n"
    "    authby=secret\n"
    "    auto=start\n";

}  // namespace

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

TEST_CASE("config: include with globs, relative to the including file") {
  auto o = memory_includes({
      {"/etc/swanless/conf.d/10-a.conf", "conn a\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  auto=add\n"},
      {"/etc/swanless/conf.d/20-b.conf", "conn b\n  also=a\n  right=198.51.100.2\n"},
      {"/etc/swanless/conf.d/nested/x.inc", "include ../20-b.conf\n"},
      {"/etc/swanless/other.txt", "garbage\n"},
  });
  auto r = parse("config setup\n  socket=/tmp/s\ninclude conf.d/*.conf\n", o);
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.config->conns.size() == 2);
  REQUIRE(r.config->find_conn("b")->right.addr == ip("198.51.100.2"));
  // A glob matching nothing is fine; a missing plain file is not.
  REQUIRE(parse("include conf.d/*.nothing\n", o).ok());
  auto e = errors_of("\ninclude conf.d/missing.conf\n", o);
  REQUIRE(e.find("test.conf:2: 'include'") != std::string::npos);
  // Errors inside an included file name that file.
  auto o2 = memory_includes({{"/etc/swanless/bad.conf", "conn z\n  frobnicate=1\n"}});
  auto e2 = errors_of("include bad.conf\n", o2);
  REQUIRE(e2.find("/etc/swanless/bad.conf:2: 'frobnicate'") != std::string::npos);
  // Include loops stop.
  auto o3 = memory_includes({{"/etc/swanless/loop.conf", "include loop.conf\n"}});
  auto e3 = errors_of("include loop.conf\n", o3);
  REQUIRE(e3.find("nested too deeply") != std::string::npos);
  // Includes switched off (fuzzing).
  ParseOptions none;
  none.include = nullptr;
  REQUIRE(errors_of("include x.conf\n", none).find("'include'") != std::string::npos);
}

TEST_CASE("config: include from the filesystem") {
  char tmpl[] = "/tmp/swl-config-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  std::string dir = tmpl;
  std::filesystem::create_directory(dir + "/d");
  std::ofstream(dir + "/d/a.conf") << "conn a\n  left=192.0.2.1\n  right=198.51.100.1\n  authby=secret\n  auto=add\n";
  std::ofstream(dir + "/main.conf") << "include d/*.conf\n";
  auto r = load_file(dir + "/main.conf");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.config->conns.size() == 1);
  REQUIRE(r.config->setup.secrets == dir + "/main.secrets");
  std::filesystem::remove_all(dir);
}

TEST_CASE("config: errors name file, line and key") {
  struct Case {
    std::string text;
    std::string expect;
  };
  const std::string b = kBase;  // lines 1..5
  const Case cases[] = {
      {b + "    frobnicate=yes\n", "test.conf:6: 'frobnicate': unknown key"},
      {b + "    keyexchange=ikev1\n", "test.conf:6: 'keyexchange': IKEv1 is not supported"},
      {b + "    keyexchange=ikev3\n", "test.conf:6: 'keyexchange'"},
      {b + "    ikelifetime=3x\n", "test.conf:6: 'ikelifetime': malformed duration"},
      {b + "    lifetime=\n    lifetime=1h\n", "test.conf:7: 'lifetime': duplicate key (first at"},
      {b + "    keylife=1h\n    lifetime=2h\n", "test.conf:7: 'lifetime': duplicate key"},
      {b + "    dpddelay=-5\n", "test.conf:6: 'dpddelay'"},
      {b + "    dpdaction=explode\n", "test.conf:6: 'dpdaction'"},
      {"conn a\n    auto=route\n", "test.conf:2: 'auto': auto=route"},
      {"conn a\n    auto=sometimes\n", "test.conf:2: 'auto'"},
      {b + "    type=passthrough\n", "test.conf:6: 'type'"},
      {b + "    authby=xauthpsk\n", "test.conf:6: 'authby'"},
      {b + "    forceencaps=maybe\n", "test.conf:6: 'forceencaps': expected yes or no"},
      {b + "    leftikeport=70000\n", "test.conf:6: 'leftikeport'"},
      {b + "    replay_window=lots\n", "test.conf:6: 'replay_window'"},
      {b + "    rekeyfuzz=much\n", "test.conf:6: 'rekeyfuzz'"},
      {b + "    fragmentation=force\n", "test.conf:6: 'fragmentation': expected yes or no"},
      {b + "    lifebytes=1G\n", "test.conf:6: 'lifebytes': expected a number"},
      {b + "    lifepackets=-1\n", "test.conf:6: 'lifepackets': expected a number"},
      {b + "    lifebytes=1000\n    marginbytes=1000\n", "test.conf:7: 'marginbytes': lifebytes must be larger than marginbytes"},
      {b + "    lifepackets=10\n    marginpackets=20\n", "test.conf:7: 'marginpackets': lifepackets must be larger"},
      {"config setup\n  fragment_size=100\n", "test.conf:2: 'fragment_size': expected a number from 256 to 65535"},
      {b + "    ike=aes256-sha256-modp1024\n", "test.conf:6: 'ike': algorithm not supported by swanless ('modp1024')"},
      {b + "    esp=aes256-bogus\n", "test.conf:6: 'esp': unknown algorithm ('bogus')"},
      {b + "    leftsubnet=10.0.0.0/33\n", "test.conf:6: 'leftsubnet': malformed subnet '10.0.0.0/33'"},
      {b + "    leftsubnet=10.0.0.0/8[tcp/99999]\n", "test.conf:6: 'leftsubnet'"},
      {b + "    leftsubnet=10.0.0.0/8,\n", "test.conf:6: 'leftsubnet'"},
      {b + "    leftprotoport=gre/80\n", "test.conf:6: 'leftprotoport'"},
      {b + "    leftprotoport=bogus\n", "test.conf:6: 'leftprotoport'"},
      {b + "    leftrsasigkey=0s!!!\n", "test.conf:6: 'leftrsasigkey'"},
      {b + "    rekeymargin=2h\n", "test.conf:6: 'rekeymargin': lifetime must be longer than rekeymargin"},
      {b + "    ikelifetime=5m\n", "test.conf:6: 'ikelifetime': ikelifetime must be longer than rekeymargin"},
      {b + "    right=%any\n", "test.conf:6: 'right': duplicate key (first at /etc/swanless/test.conf:3)"},
      {"conn a\n    left=gw.example.org\n", "test.conf:2: 'left': expected an IP address"},
      {"conn a\n    right=%any\n    auto=start\n", "test.conf:2: 'right': auto=start needs"},
      {"conn a\n    left=192.0.2.1\n    right=198.51.100.1\n    auto=add\n",
       "test.conf:1: 'authby': authby=pubkey/rsasig needs rightpubkey"},
      {"conn a\n  left=192.0.2.1\nconn a\n  left=192.0.2.2\n",
       "test.conf:3: duplicate section 'conn a' (first at /etc/swanless/test.conf:1)"},
      {"config setup\nconfig setup\n", "test.conf:2: duplicate section"},
      {"frob x\n  a=b\n", "test.conf:1: unknown section type 'frob'"},
      {"config foo\n", "test.conf:1: unknown section 'config foo'"},
      {"conn\n", "test.conf:1: expected: conn NAME"},
      {"conn a b\n", "test.conf:1: expected: conn NAME"},
      {"conn a/b\n", "test.conf:1: invalid conn name"},
      {"gre %default\n", "test.conf:1: invalid gre name"},
      {"  left=1.2.3.4\n", "test.conf:1: parameter outside of a section"},
      {"conn a\n  left 1.2.3.4\n", "test.conf:2: 'left 1.2.3.4': expected key=value"},
      {"conn a\n  Left=1.2.3.4\n", "test.conf:2: 'Left': malformed key name"},
      {"conn a\n  leftid=\"unterminated\n", "test.conf:2: 'leftid': unterminated quoted value"},
      {"conn a\n  leftid=\"a\" b\n", "test.conf:2: 'leftid': text after the quoted value"},
      {"conn %default\n  also=x\n", "test.conf:2: 'also': also= is not allowed"},
      {"config setup\n  loglevel=loud\n", "test.conf:2: 'loglevel'"},
      {"config setup\n  left=1.2.3.4\n", "test.conf:2: 'left': unknown key in 'config' section"},
      {"gre g\n  local=10.0.0.1\n", "test.conf:1: 'remote': required in gre g"},
      {"pim p\n  rp=10.0.0.1\n", "test.conf:1: 'interface': required in pim p"},
  };
  for (const auto& c : cases) {
    INFO("config:\n" << c.text);
    auto e = errors_of(c.text);
    INFO("errors:\n" << e);
    REQUIRE(e.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("config: NUL in the middle of the text") {
  std::string t = "conn a\n  left=1.2.3.4";
  t += '\0';
  t += "\n";
  REQUIRE(errors_of(t).find("test.conf:2: NUL byte") != std::string::npos);
}

TEST_CASE("config: several errors are all reported") {
  auto r = parse("conn a\n  foo=1\n  bar=2\n  ikelifetime=x\n  auto=ignore\n");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 3);
  REQUIRE(r.errors[0].line == 2);
  REQUIRE(r.errors[1].line == 3);
  REQUIRE(r.errors[2].line == 4);
  REQUIRE(r.errors[2].key == "ikelifetime");
}

TEST_CASE("config: kernel-only keys warn and are ignored") {
  auto r = parse(
      "config setup\n"
      "  charondebug=\"ike 2, knl 3\"\n"
      "  uniqueids=no\n" +
      std::string(kBase) +
      "    mark=42\n"
      "    installpolicy=no\n"
      "    leftupdown=/bin/true\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.warnings.size() == 5);
  REQUIRE(r.warnings[0].to_string().find("test.conf:2: 'charondebug': ignored") != std::string::npos);
  REQUIRE(r.warnings[2].key == "mark");
  REQUIRE(r.warnings[2].line == 9);
}

TEST_CASE("config: comments, quotes, blank lines, CRLF, tabs") {
  auto r = parse(
      "# comment\r\n"
      "\r\n"
      "conn a # trailing comment\r\n"
      "\tleft=192.0.2.1   # the left\r\n"
      "  # indented comment\r\n"
      "\tright = 198.51.100.1\r\n"
      "\trightid=\"@gw # not a comment\"\r\n"
      "\tleftid=\"with \\\"quote\\\"\"\r\n"
      "\tauthby=secret\r\n"
      "\tauto=add\r\n");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& c = r.config->conns.at(0);
  REQUIRE(c.left.addr == ip("192.0.2.1"));
  REQUIRE(c.right.addr == ip("198.51.100.1"));
  REQUIRE(c.right.id == "@gw # not a comment");
  REQUIRE(c.left.id == "with \"quote\"");
}

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

// ---------------------------------------------------------------------------------------
// swanless check

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/swl-check-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }
};

}  // namespace

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

// ---------------------------------------------------------------------------------------
// Secrets (ipsec.secrets syntax)

namespace {

std::string psk_text(const SecretEntry* e) {
  REQUIRE(e);
  std::string s;
  for (auto b : e->psk) s += static_cast<char>(b);
  return s;
}

}  // namespace

TEST_CASE("secrets: forms of PSK and RSA entries") {
  auto r = parse_secrets_string(
      "# comment\n"
      "222.45.67.1 177.54.214.20 : PSK \"long random shared secret\"\n"
      "@a.example.org @b.example.org : PSK 0x6b6579\n"
      "@c.example.org : PSK 0sa2V5Mg==\n"
      "@d.example.org: PSK 'single # quoted'\n"
      "@e.example.org\n"
      "    : PSK \"continued\"\n"
      ": RSA host-key.pem\n"
      ": RSA /abs/key.pem \"pass phrase\"\n",
      "/etc/swanless/x.secrets");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& s = *r.secrets;
  REQUIRE(s.entries.size() == 7);
  REQUIRE(s.entries[0].ids == std::vector<std::string>{"222.45.67.1", "177.54.214.20"});
  REQUIRE(s.entries[0].line == 2);
  REQUIRE(psk_text(&s.entries[0]) == "long random shared secret");
  REQUIRE(psk_text(&s.entries[1]) == "key");
  REQUIRE(psk_text(&s.entries[2]) == "key2");
  REQUIRE(psk_text(&s.entries[3]) == "single # quoted");
  REQUIRE(s.entries[3].ids == std::vector<std::string>{"@d.example.org"});
  REQUIRE(psk_text(&s.entries[4]) == "continued");
  REQUIRE(s.entries[4].line == 6);
  REQUIRE(s.entries[5].type == SecretEntry::Type::rsa);
  REQUIRE(s.entries[5].key_path == "/etc/swanless/host-key.pem");
  REQUIRE(s.entries[5].ids.empty());
  REQUIRE(s.entries[6].key_path == "/abs/key.pem");
  REQUIRE(s.entries[6].passphrase == "pass phrase");
}

TEST_CASE("secrets: best match as strongSwan (both > one > wildcard)") {
  auto r = parse_secrets_string(
      ": PSK \"wild\"\n"
      "192.0.2.1 : PSK \"local-only\"\n"
      "192.0.2.1 198.51.100.1 : PSK \"both\"\n"
      "@peer : PSK \"peer-only\"\n"
      "%any 198.51.100.9 : PSK \"any-and-remote\"\n",
      "s");
  REQUIRE(r.ok());
  const auto& s = *r.secrets;
  REQUIRE(psk_text(s.find_psk("192.0.2.1", "198.51.100.1")) == "both");
  REQUIRE(psk_text(s.find_psk("198.51.100.1", "192.0.2.1")) == "both");  // order of ids free
  REQUIRE(psk_text(s.find_psk("192.0.2.1", "198.51.100.2")) == "local-only");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "peer")) == "peer-only");       // "@peer" == "peer"
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "@PEER")) == "peer-only");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "198.51.100.9")) == "any-and-remote");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "10.0.0.2")) == "wild");
  auto none = parse_secrets_string("@x : PSK \"a\"\n", "s");
  REQUIRE(none.ok());
  REQUIRE(none.secrets->find_psk("10.0.0.1", "10.0.0.2") == nullptr);
  REQUIRE(none.secrets->find_private_key("10.0.0.1") == nullptr);
  auto rsa = parse_secrets_string(": RSA a.pem\n@me : RSA b.pem\n", "/k/s");
  REQUIRE(rsa.ok());
  REQUIRE(rsa.secrets->find_private_key("@me")->key_path == "/k/b.pem");
  REQUIRE(rsa.secrets->find_private_key("10.0.0.1")->key_path == "/k/a.pem");
}

TEST_CASE("secrets: id matching") {
  REQUIRE(id_match("192.0.2.1", "192.0.2.1") == 20);
  REQUIRE(id_match("192.0.2.1", "192.0.2.2") == 0);
  REQUIRE(id_match("%any", "192.0.2.2") == 1);
  REQUIRE(id_match("@a.org", "a.org") == 20);
  REQUIRE(id_match("a.org", "192.0.2.1") == 0);
  REQUIRE(id_match("user@a.org", "user@a.org") == 20);
  REQUIRE(id_match("x", "") == 0);
}

TEST_CASE("secrets: malformed entries name file and line") {
  const std::pair<const char*, const char*> cases[] = {
      {"a b PSK \"x\"\n", "s:1: expected '[ids] : TYPE value'"},
      {"a :\n", "s:1: missing secret type"},
      {"a : PSK\n", "s:1: PSK takes one value"},
      {"a : PSK \"x\" \"y\"\n", "s:1: PSK takes one value"},
      {"a : PSK plain\n", "s:1: PSK must be"},
      {"a : PSK 0xabc\n", "s:1: PSK must be"},
      {"a : PSK 0xzz\n", "s:1: PSK must be"},
      {"a : PSK 0s!!\n", "s:1: PSK must be"},
      {"a : PSK \"\"\n", "s:1: empty PSK"},
      {"\n\na : PSK \"x\n", "s:3: unterminated quoted string"},
      {"a : XAUTH \"x\"\n", "s:1: unsupported secret type 'XAUTH'"},
      {": RSA\n", "s:1: RSA takes"},
      {"include /etc/x\n", "s:1: include is not supported"},
  };
  for (const auto& [text, expect] : cases) {
    auto r = parse_secrets_string(text, "s");
    REQUIRE_FALSE(r.ok());
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    INFO(text << " -> " << all);
    REQUIRE(all.find(expect) != std::string::npos);
  }
}

TEST_CASE("secrets: base64 and 0x/0s decoding") {
  auto s = [](std::string_view t) {
    auto b = decode_base64(t);
    REQUIRE(b);
    return std::string(reinterpret_cast<const char*>(b->data()), b->size());
  };
  // RFC 4648 §10 test vectors.
  REQUIRE(s("") == "");
  REQUIRE(s("Zg==") == "f");
  REQUIRE(s("Zm8=") == "fo");
  REQUIRE(s("Zm9v") == "foo");
  REQUIRE(s("Zm9vYg==") == "foob");
  REQUIRE(s("Zm9vYmE=") == "fooba");
  REQUIRE(s("Zm9vYmFy") == "foobar");
  REQUIRE(s("Zm9v\nYmFy") == "foobar");
  REQUIRE(s("Zm9vYg") == "foob");  // padding optional
  for (auto bad : {"Z", "Zm9vY", "Zg=a", "Zg===", "Zh==", "Zm9v!"}) REQUIRE_FALSE(decode_base64(bad));
  REQUIRE(decode_prefixed_binary("0x0102") == common::Bytes{std::byte{1}, std::byte{2}});
  REQUIRE(decode_prefixed_binary("0X01_02") == common::Bytes{std::byte{1}, std::byte{2}});
  REQUIRE(decode_prefixed_binary("0sAQI=") == common::Bytes{std::byte{1}, std::byte{2}});
  for (auto bad : {"", "0", "0x", "0s", "0x1", "0q12", "1x12"}) REQUIRE_FALSE(decode_prefixed_binary(bad));
}

TEST_CASE("secrets: file permissions are enforced") {
  TempDir d;
  auto p = d.write("a.secrets", ": PSK \"x\"\n", 0600);
  auto ok = load_secrets(p);
  REQUIRE(ok.ok());
  REQUIRE(ok.secrets->entries.size() == 1);
  for (mode_t m : {0640, 0604, 0660, 0644, 0602}) {
    chmod(p.c_str(), m);
    auto r = load_secrets(p);
    INFO(m);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.errors.at(0).message.find("refusing a secrets file") != std::string::npos);
  }
  chmod(p.c_str(), 0400);
  REQUIRE(load_secrets(p).ok());
  REQUIRE_FALSE(load_secrets(d.path + "/missing").ok());
  REQUIRE_FALSE(load_secrets(d.path).ok());  // a directory
}

TEST_CASE("secrets: every truncation parses or fails cleanly") {
  const std::string text = "222.45.67.1 177.54.214.20 : PSK \"secret\"\n@x : PSK 0sa2V5\n: RSA k.pem \"p\"\n";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto r = parse_secrets_string(std::string_view(text).substr(0, n), "s");
    REQUIRE((r.ok() || !r.errors.empty()));
  }
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
