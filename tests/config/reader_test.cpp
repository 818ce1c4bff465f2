// Stage 1, syntax (config/reader.cpp): includes, comments and quoting, and diagnostics that
// name file, line and key.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

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
  // A glob matching nothing is fine; a missing plain file (Debian's
  // /var/lib/strongswan/ipsec.conf.inc) is skipped with a warning.
  REQUIRE(parse("include conf.d/*.nothing\n", o).warnings.empty());
  auto missing = parse("\ninclude conf.d/missing.conf\n", o);
  REQUIRE(missing.ok());
  REQUIRE(missing.warnings.size() == 1);
  CHECK(missing.warnings[0].to_string().find("test.conf:2: 'include': 'conf.d/missing.conf': no such file, skipped") !=
        std::string::npos);
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
      {"conn a\n    auto=route\n", "test.conf:1: 'right': auto=route needs right= to be the peer's address"},
      {"conn a\n    auto=sometimes\n", "test.conf:2: 'auto'"},
      {b + "    type=bogus\n", "test.conf:6: 'type'"},
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
      {b + "    ike=aes256-sha256-modp768!\n",
       "test.conf:6: 'ike': nothing swanless implements is left in this strict ('!') list ('aes256-sha256-modp768')"},
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
