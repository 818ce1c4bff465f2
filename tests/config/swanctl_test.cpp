// strongSwan's swanctl.conf format (config/swanctl.h): detection, the settings syntax and
// its errors, the mapping of each key onto the conn model, swanctl's defaults, the secrets
// block, and the warnings for what swanless has no use for.
#include <catch2/catch.hpp>

#include "config/config_test_util.h"
#include "config/secrets.h"
#include "config/swanctl.h"

using namespace config_test;

namespace {

LoadResult sw(const std::string& text, const ParseOptions& o = {}) {
  return parse_string(text, "/etc/swanctl/swanctl.conf", o);
}

std::string joined(const std::vector<Diagnostic>& v) {
  std::string s;
  for (const auto& d : v) s += d.to_string() + "\n";
  return s;
}

std::string sw_errors(const std::string& text, const ParseOptions& o = {}) {
  auto r = sw(text, o);
  REQUIRE_FALSE(r.ok());
  return joined(r.errors);
}

// A site-to-site PSK connection with one child (strongSwan's own example, shortened).
const char* const kSite =
    "connections {\n"                                   // 1
    "  gw-gw {\n"                                       // 2
    "    local_addrs = 192.0.2.1\n"                     // 3
    "    remote_addrs = 198.51.100.1\n"                 // 4
    "    local {\n"                                     // 5
    "      auth = psk\n"                                // 6
    "      id = moon.example.org\n"                     // 7
    "    }\n"                                           // 8
    "    remote {\n"                                    // 9
    "      auth = psk\n"                                // 10
    "      id = sun.example.org\n"                      // 11
    "    }\n"                                           // 12
    "    children {\n"                                  // 13
    "      net-net {\n"                                 // 14
    "        local_ts = 10.1.0.0/16\n"                  // 15
    "        remote_ts = 10.2.0.0/16\n"                 // 16
    "        esp_proposals = aes128gcm128-x25519\n"     // 17
    "        start_action = start\n"                    // 18
    "      }\n"                                         // 19
    "    }\n"                                           // 20
    "    proposals = aes128-sha256-x25519\n"            // 21
    "  }\n"                                             // 22
    "}\n";                                              // 23

}  // namespace

TEST_CASE("swanctl: the format is recognised by content or by name", "[config][swanctl]") {
  CHECK(is_swanctl("connections {\n}\n", "x.conf"));
  CHECK(is_swanctl("# comment\n  secrets   {  # creds\n}\n", "x.conf"));
  CHECK(is_swanctl("connections\n{\n}\n", "x.conf"));
  CHECK(is_swanctl("swanless {\n}\n", "x.conf"));
  CHECK(is_swanctl("include conf.d/*.conf\n", "/etc/swanctl/swanctl.conf"));
  CHECK_FALSE(is_swanctl("config setup\nconn a\n  left=1.2.3.4\n", "/etc/ipsec.conf"));
  CHECK_FALSE(is_swanctl("conn connections\n  left=1.2.3.4\n", "x.conf"));
  CHECK_FALSE(is_swanctl("", "x.conf"));
}

TEST_CASE("swanctl: a site-to-site PSK connection maps onto one conn", "[config][swanctl]") {
  auto r = sw(kSite);
  INFO(joined(r.errors) + joined(r.warnings));
  REQUIRE(r.ok());
  CHECK(r.warnings.empty());
  const Config& cfg = *r.config;
  CHECK(cfg.setup.secrets == "/etc/swanctl/swanctl.conf");  // the file carries its secrets
  REQUIRE(cfg.conns.size() == 1);
  const ConnConfig& c = cfg.conns[0];
  CHECK(c.name == "net-net");
  CHECK(c.ike_sa == "gw-gw");
  CHECK(c.line == 14);
  CHECK(c.left.addr == ip("192.0.2.1"));
  CHECK(c.right.addr == ip("198.51.100.1"));
  CHECK(c.left.id == "moon.example.org");
  CHECK(c.right.id == "sun.example.org");
  CHECK(c.auth == AuthMethod::psk);
  CHECK(c.auto_action == AutoAction::start);
  CHECK(c.mode == Mode::tunnel);
  REQUIRE(c.left.subnets.size() == 1);
  CHECK(c.left.subnets[0].to_string() == "10.1.0.0/16");
  CHECK(c.right.subnets[0].to_string() == "10.2.0.0/16");
  // swanctl's proposal lists are strict: no defaults appended.
  CHECK(c.ike.strict);
  CHECK(c.ike.configured == 1);
  CHECK(c.esp.strict);
  // swanctl's defaults: CHILD rekey 1h, life 1h6m, rand up to the margin; IKE rekey 4h
  // (so the IKE_SA's lifetime is 4h + the child's margin); no DPD, dpd_action clear.
  CHECK(c.ike_lifetime == Seconds(4 * 3600 + 360));
  CHECK(c.lifetime == Seconds(3960));
  CHECK(c.rekey_margin == Seconds(360));
  CHECK(c.rekey_fuzz_percent == 100);
  CHECK(c.dpd_delay == Seconds(0));
  CHECK(c.dpd_action == DpdAction::clear);
  CHECK_FALSE(c.reauth);
  CHECK_FALSE(c.force_encaps);
  CHECK(c.fragmentation);
  REQUIRE(cfg.ike_sas.size() == 1);
  CHECK(cfg.ike_sas[0].name == "gw-gw");
}

TEST_CASE("swanctl: defaults where swanctl and ipsec.conf differ", "[config][swanctl]") {
  auto r = sw("connections {\n rw {\n  remote { auth = pubkey\n pubkeys = peer.pem\n }\n"
              "  children { net { local_ts = 10.0.0.0/24 } }\n }\n}\n");
  INFO(joined(r.errors));
  // `{ local_ts = 10.0.0.0/24 } }`: a value runs to the end of the line.
  REQUIRE_FALSE(r.ok());
  r = sw("connections {\n rw {\n  remote {\n   pubkeys = peer.pem\n  }\n"
         "  children {\n   net {\n    local_ts = 10.0.0.0/24\n   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const ConnConfig& c = r.config->conns.at(0);
  CHECK(c.left.kind == HostConfig::Kind::any);   // local_addrs %any
  CHECK(c.right.kind == HostConfig::Kind::any);  // remote_addrs %any
  CHECK(c.right.id == "%any");                   // remote.id %any
  CHECK(c.auth == AuthMethod::pubkey);           // auth pubkey
  CHECK(c.right.pubkey == "/etc/swanctl/pubkey/peer.pem");  // swanctl's pubkey/ folder
  CHECK(c.auto_action == AutoAction::add);       // start_action none: loaded, waits
  CHECK(c.right.dynamic);                        // remote_ts dynamic
  CHECK(c.ike.configured == 0);                  // proposals default
}

TEST_CASE("swanctl: syntax: comments, quoting, merged sections, later keys win", "[config][swanctl]") {
  auto r = sw("# head\n"
              "connections { # opens\n"
              "  a {\n"
              "    remote_addrs = \"198.51.100.1\" # quoted\n"
              "    local { auth = psk }\n"  // a value to the end of the line: "psk }"
              "  }\n"
              "}\n");
  REQUIRE_FALSE(r.ok());
  CHECK(joined(r.errors).find("swanctl.conf:2: 'connections': section not closed") != std::string::npos);

  r = sw("connections {\n"
         "  a {\n"
         "    remote_addrs = 198.51.100.9\n"
         "    local {\n      auth = psk\n    }\n"
         "    remote {\n      auth = psk\n    }\n"
         "  }\n"
         "}\n"
         "connections {\n"  // merged with the first
         "  a {\n"
         "    remote_addrs = \"198.51.100.1\"   # later wins\n"
         "    children\n    {\n      c1 {\n        start_action = start\n      }\n    }\n"
         "  }\n"
         "}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config->conns.at(0).right.addr == ip("198.51.100.1"));
  CHECK(joined(r.warnings).find("swanctl.conf:14: 'remote_addrs': set again (first at /etc/swanctl/swanctl.conf:3)") !=
        std::string::npos);

  SwanctlNode root;
  std::vector<Diagnostic> errs, warns;
  Reporter rep(errs, warns);
  root = read_swanctl("a {\n  k = \"x \\\"y\\\" \\\\ z\\n\"\n  e =\n}\n", "t.conf", {}, rep);
  REQUIRE(errs.empty());
  const SwanctlNode* a = root.find("a");
  REQUIRE(a);
  CHECK(a->find("k")->value == "x \"y\" \\ z\n");
  CHECK(a->find("e")->value.empty());
  CHECK(a->find("k")->line == 2);
}

TEST_CASE("swanctl: malformed input is refused with file:line and a reason", "[config][swanctl]") {
  auto syntax = [](const std::string& text) {
    std::vector<Diagnostic> errs, warns;
    Reporter rep(errs, warns);
    read_swanctl(text, "t.conf", {}, rep);
    REQUIRE_FALSE(errs.empty());
    return errs[0].to_string();
  };
  CHECK(syntax("a {\n  b = 1\n") == "t.conf:1: 'a': section not closed: '}' missing before the end of the file");
  CHECK(syntax("a = 1\n}\n") == "t.conf:2: '}' without a section to close");
  CHECK(syntax("a {\n  b = \"open\n}\n") == "t.conf:2: 'b': unterminated quoted value");
  CHECK(syntax("a {\n  b = \"x\" y\n}\n") == "t.conf:2: 'b': text after the quoted value");
  CHECK(syntax("a {\n  b\n}\n") == "t.conf:2: 'b': expected '=' or '{' after the name");
  CHECK(syntax("a : base {\n}\n").find("section references") != std::string::npos);
  CHECK(syntax("a.b = 1\n").find("dotted names") != std::string::npos);
  CHECK(syntax("a {\n  = 1\n}\n") == "t.conf:2: unexpected '=' (expected a name, 'include' or '}')");
  CHECK(syntax("a = 1\na {\n}\n").find("a section with the name of the key at t.conf:1") != std::string::npos);
  CHECK(syntax("include x.conf\n") == "t.conf:1: 'include': include is not available here");
  CHECK(syntax(std::string("a {\n  b = x\0y\n}\n", 16)).find("NUL") != std::string::npos);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "a {\n";
  CHECK(syntax(deep).find("nested too deeply") != std::string::npos);
}

TEST_CASE("swanctl: include, relative to the including file, glob, inside a section", "[config][swanctl]") {
  auto o = memory_includes({
      {"/etc/swanctl/conf.d/a.conf",
       "connections {\n  a {\n    remote_addrs = 198.51.100.1\n    local {\n      auth = psk\n    }\n"
       "    remote {\n      auth = psk\n    }\n    children {\n      a1 {\n        start_action = start\n"
       "      }\n    }\n  }\n}\n"},
      {"/etc/swanctl/conf.d/b.conf", "b {\n  remote_addrs = 198.51.100.2\n  local {\n    auth = psk\n  }\n"
                                     "  remote {\n    auth = psk\n  }\n  children {\n    b1 {\n    }\n  }\n}\n"},
  });
  auto r = sw("include conf.d/a.conf\nconnections {\n  include conf.d/b.conf\n}\n", o);
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  REQUIRE(r.config->conns.size() == 2);
  CHECK(r.config->conns[0].file == "/etc/swanctl/conf.d/a.conf");
  CHECK(r.config->conns[0].line == 11);
  CHECK(r.config->conns[1].name == "b1");
  CHECK(r.config->conns[1].auto_action == AutoAction::add);

  auto err = sw_errors("include conf.d/b.conf\nconnections {\n  include conf.d/a.conf\n}\n", o);
  CHECK(err.find("conf.d/b.conf:1: 'b': a connection") == std::string::npos);  // b at top: warned, not an error
  auto w = sw("include conf.d/missing.conf\n", o);
  CHECK(joined(w.warnings).find("swanctl.conf:1: 'include': 'conf.d/missing.conf': no such file, skipped") !=
        std::string::npos);
}

TEST_CASE("swanctl: each connection key maps onto the conn", "[config][swanctl]") {
  auto r = sw("connections {\n"
              "  c {\n"
              "    version = 2\n"
              "    local_addrs = 192.0.2.1\n"
              "    remote_addrs = 198.51.100.1\n"
              "    local_port = 4500\n"
              "    remote_port = 4501\n"
              "    proposals = aes256-sha256-modp2048, default\n"
              "    encap = yes\n"
              "    dpd_delay = 30s\n"
              "    fragmentation = no\n"
              "    rekey_time = 8h\n"
              "    over_time = 1h\n"
              "    mobike = no\n"
              "    aggressive = no\n"
              "    local {\n      auth = psk\n    }\n"
              "    remote {\n      auth = psk\n      id = @peer\n    }\n"
              "    children {\n"
              "      k {\n"
              "        mode = transport\n"
              "        esp_proposals = aes128-sha256, default\n"
              "        dpd_action = restart\n"
              "        rekey_time = 30m\n"
              "        life_time = 40m\n"
              "        rand_time = 5m\n"
              "        rekey_bytes = 1000000\n"
              "        rekey_packets = 1000\n"
              "        life_packets = 2000\n"
              "        replay_window = 64\n"
              "        local_ts = dynamic[gre]\n"
              "        remote_ts = dynamic[gre]\n"
              "        start_action = start\n"
              "      }\n"
              "    }\n"
              "  }\n"
              "}\n"
              "swanless {\n  gre {\n    g {\n      local = 192.0.2.1\n      remote = 198.51.100.1\n      conn = k\n"
              "      address = 172.16.0.1/30\n      peer = 172.16.0.2\n    }\n  }\n}\n");
  INFO(joined(r.errors) + joined(r.warnings));
  REQUIRE(r.ok());
  const ConnConfig& c = r.config->conns.at(0);
  CHECK(c.left.ike_port == 4500);
  CHECK(c.right.ike_port == 4501);
  CHECK(c.right.id == "@peer");
  CHECK_FALSE(c.ike.strict);  // `default` in the list: the defaults follow
  CHECK(c.ike.configured == 1);
  CHECK_FALSE(c.esp.strict);
  CHECK(c.force_encaps);
  CHECK(c.dpd_delay == Seconds(30));
  CHECK_FALSE(c.fragmentation);
  CHECK(c.ike_lifetime == Seconds(8 * 3600 + 600));  // rekey_time + the child's margin
  CHECK(joined(r.warnings).find("'over_time': swanless spreads") != std::string::npos);
  CHECK(c.mode == Mode::transport);
  CHECK(c.dpd_action == DpdAction::restart);
  CHECK(c.lifetime == Seconds(40 * 60));
  CHECK(c.rekey_margin == Seconds(10 * 60));
  CHECK(c.rekey_fuzz_percent == 50);
  CHECK(c.life_bytes == 1100000);
  CHECK(c.margin_bytes == 100000);
  CHECK(c.life_packets == 2000);
  CHECK(c.margin_packets == 1000);
  CHECK(c.replay_window == 64);
  CHECK(c.left.protocol == 47);
  CHECK(c.left.dynamic == false);  // the host address, protocol gre
  REQUIRE(r.config->gres.size() == 1);
  CHECK(r.config->gres[0].conn == "k");

  // Only the hard limits written: rekeying starts 10% before them (newer strongSwan).
  r = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  local {\n   auth = psk\n  }\n"
         "  remote {\n   auth = psk\n  }\n  children {\n   x {\n    life_time = 30m\n    life_packets = 2000\n"
         "   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config->conns.at(0).lifetime == Seconds(1800));
  CHECK(r.config->conns.at(0).rekey_margin == Seconds(180));
  CHECK(r.config->conns.at(0).life_packets == 2000);
  CHECK(r.config->conns.at(0).margin_packets == 200);

  // reauth_time: the IKE_SA is reauthenticated, its hard end over_time later.
  r = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  reauth_time = 2h\n"
         "  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n  children {\n   x {\n   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config->conns.at(0).reauth);
  CHECK(r.config->conns.at(0).ike_lifetime == Seconds(2 * 3600 + 360));  // 2h + the child's margin
}

TEST_CASE("swanctl: several children share their connection's IKE_SA", "[config][swanctl]") {
  auto r = sw("connections {\n home {\n  remote_addrs = 198.51.100.1\n"
              "  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n"
              "  children {\n   home {\n    remote_ts = 10.2.0.0/16\n   }\n"
              "   lab {\n    remote_ts = 10.3.0.0/16\n   }\n  }\n }\n"
              " other {\n  remote_addrs = 198.51.100.2\n"
              "  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n"
              "  children {\n   o {\n   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const auto& cfg = *r.config;
  REQUIRE(cfg.ike_sas.size() == 2);
  CHECK(cfg.ike_sas[0].name == "home");
  CHECK(cfg.ike_sas[0].conns == std::vector<std::string>{"home", "lab"});
  CHECK(cfg.ike_sas[1].name == "other");
  CHECK(cfg.find_conn("o")->ike_sa == "other");

  // DPD's action is per IKE_SA here: the strongest of the children's, with a warning.
  r = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  local {\n   auth = psk\n  }\n"
         "  remote {\n   auth = psk\n  }\n  children {\n   a {\n    dpd_action = restart\n    rekey_time = 2h\n   }\n"
         "   b {\n    dpd_action = clear\n   }\n   c2 {\n   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  REQUIRE(r.config->ike_sas.size() == 1);
  CHECK(r.config->ike_sas[0].name == "c");
  for (const auto& c : r.config->conns) CHECK(c.dpd_action == DpdAction::restart);
  CHECK(joined(r.warnings).find(":16: 'dpd_action': swanless acts on a dead peer per IKE_SA: all children of c get "
                                "restart") != std::string::npos);
  CHECK(r.config->conns[0].ike_lifetime == Seconds(4 * 3600 + 720));  // the first child's margin: 12m
  CHECK(r.config->conns[1].rekey_margin == Seconds(360));

  auto err = sw_errors("connections {\n a {\n  children {\n   x {\n   }\n  }\n }\n"
                       " b {\n  children {\n   x {\n   }\n  }\n }\n}\n");
  CHECK(err.find("swanctl.conf:10: 'x': a child of this name is in connection a too") != std::string::npos);
}

TEST_CASE("swanctl: what would change security or reachability is an error", "[config][swanctl]") {
  auto conn = [](const std::string& ike_keys, const std::string& child_keys) {
    return "connections {\n c {\n  remote_addrs = 198.51.100.1\n" + ike_keys +
           "  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n"
           "  children {\n   x {\n" +
           child_keys + "   }\n  }\n }\n}\n";
  };
  CHECK(sw_errors(conn("  version = 1\n", "")).find("'version': IKEv1") != std::string::npos);
  CHECK(sw_errors(conn("  vips = 0.0.0.0\n", "")).find("'vips': swanless neither requests") != std::string::npos);
  CHECK(sw_errors(conn("  pools = p\n", "")).find("'pools'") != std::string::npos);
  CHECK(sw_errors(conn("", "    start_action = sometimes\n")).find("'start_action': expected none, trap or start") !=
        std::string::npos);
  CHECK(sw_errors(conn("", "    mode = beet\n")).find("BEET") != std::string::npos);
  CHECK(sw_errors(conn("", "    ah_proposals = sha256\n")).find("AH is not implemented") != std::string::npos);
  CHECK(sw_errors(conn("  remote-2 {\n   auth = eap\n  }\n", "")).find("second authentication round") !=
        std::string::npos);
  CHECK(sw_errors(conn("  ppk_required = yes\n", "")).find("RFC 8784") != std::string::npos);
  CHECK(sw_errors(conn("  aggressive = yes\n", "")).find("'aggressive': aggressive mode is IKEv1") !=
        std::string::npos);
  CHECK(sw_errors(conn("  local_addrs = 192.0.2.1, 192.0.2.2\n", "")).find("not a list") != std::string::npos);
  CHECK(sw_errors(conn("  remote_addrs = 198.51.100.0/24\n", "")).find("a subnet or range") != std::string::npos);
  CHECK(sw_errors(conn("", "    local_ts = dynamic, 10.0.0.0/8\n")).find("dynamic together") != std::string::npos);
  CHECK(sw_errors(conn("", "    life_time = 30m\n    rekey_time = 1h\n")).find("'life_time': life_time must be longer") !=
        std::string::npos);
  // The route-based check of conn.cpp, named as written.
  CHECK(sw_errors(conn("  if_id_in = 42\n  if_id_out = 42\n", "    remote_ts = 0.0.0.0/0\n"))
            .find("'if_id_in': a route-based (VTI) tunnel") != std::string::npos);
  // ... in swanctl's words.
  CHECK(sw_errors(conn("  if_id_in = 42\n", "    remote_ts = 0.0.0.0/0\n")).find("in local_ts/remote_ts and drop") !=
        std::string::npos);
  CHECK(sw_errors("connections {\n c {\n  remote_addrs = 198.51.100.1\n  children {\n   x {\n   }\n  }\n }\n}\n")
            .find("'remote.pubkeys': remote auth = pubkey needs remote { pubkeys = FILE.pem }") != std::string::npos);
  CHECK(sw_errors("connections {\n c {\n  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n"
                  "  children {\n   x {\n    start_action = start\n   }\n  }\n }\n}\n")
            .find("'remote_addrs': start_action = start needs remote_addrs") != std::string::npos);
  // Typing errors name the swanctl key.
  CHECK(sw_errors(conn("", "    remote_ts = 10.0.0.0/33\n")).find("swanctl.conf:12: 'remote_ts': malformed subnet") !=
        std::string::npos);
  CHECK(sw_errors(conn("  proposals = nonsense\n", "")).find("'proposals':") != std::string::npos);
  CHECK(sw_errors(conn("  dpd_delay = soon\n", "")).find("'dpd_delay':") != std::string::npos);
  // The remote authenticates with public keys unless it says psk: no PSK for one end only.
  const std::string one_psk = sw_errors("connections {\n c {\n  remote_addrs = 198.51.100.1\n  local {\n   auth = psk\n"
                                        "  }\n  children {\n   x {\n   }\n  }\n }\n}\n");
  INFO(one_psk);
  CHECK(one_psk.find("local.auth and remote.auth must both be psk or both pubkey") != std::string::npos);
  // EAP, and keys swanctl.conf(5) does not have.
  CHECK(sw_errors(conn("  local-1 {\n  }\n", "")).find("second authentication round") != std::string::npos);
  CHECK(sw_errors(conn("  remote_addr = 1.2.3.4\n", "")).find("'remote_addr': unknown key in a connection") !=
        std::string::npos);
  CHECK(sw_errors(conn("", "    local_tss = 10.0.0.0/8\n")).find("'local_tss': unknown key in a child") !=
        std::string::npos);
  CHECK(sw_errors("swanless {\n setup {\n  sockett = /x\n }\n}\n").find("'sockett': unknown key in 'config' section") !=
        std::string::npos);
}

TEST_CASE("swanctl: what has no meaning here is a warning that says what swanless does", "[config][swanctl]") {
  auto r = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  mobike = yes\n  keyingtries = 0\n"
              "  unique = replace\n  send_certreq = no\n  version = 0\n  dpd_timeout = 60s\n"
              "  fragmentation = force\n"
              "  local {\n   auth = psk\n   certs = moon.pem\n  }\n  remote {\n   auth = psk\n  }\n"
              "  children {\n   x {\n    updown = /usr/local/libexec/ipsec/_updown iptables\n"
              "    close_action = restart\n    start_action = trap|start\n    dpd_action = trap\n"
              "    ipcomp = yes\n    hostaccess = yes\n    reqid = 5\n    inactivity = 1h\n   }\n  }\n }\n}\n"
              "pools {\n p {\n  addrs = 10.3.0.0/24\n }\n}\nauthorities {\n}\nfoo {\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const std::string w = joined(r.warnings);
  for (const char* key : {"mobike", "unique", "send_certreq", "version", "dpd_timeout", "fragmentation",
                          "updown", "start_action", "ipcomp",
                          "hostaccess", "reqid", "inactivity", "pools", "authorities", "foo"}) {
    INFO(key);
    std::string quoted = "'";  // built in steps: g++ 12's -Wrestrict misfires on "'" + s + "'"
    quoted += key;
    quoted += "': ";
    CHECK(w.find(quoted) != std::string::npos);
  }
  // Each says why (a reason borrowed from a key the key table now honours would be empty).
  for (const auto& d : r.warnings) {
    INFO(d.to_string());
    CHECK(d.message.size() > 20);
  }
  // Honoured as the ipsec.conf keys they map to: trap|start traps (with the warning above),
  // close_action = restart, keyingtries = 0 is %forever.
  CHECK(r.config->conns.at(0).auto_action == AutoAction::route);
  CHECK(r.config->conns.at(0).close_action == CloseAction::restart);
  CHECK(r.config->conns.at(0).keying_tries == 0);
  CHECK(r.config->conns.at(0).dpd_action == DpdAction::hold);
  CHECK(r.config->conns.at(0).dpd_timeout == Seconds(60));
  // swanctl's own defaults: one keying try, no close action; trap and start_action = route.
  auto d = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  local {\n   auth = psk\n  }\n"
              "  remote {\n   auth = psk\n  }\n  children {\n   x {\n    start_action = route\n"
              "    close_action = trap\n   }\n  }\n }\n}\n");
  INFO(joined(d.errors));
  REQUIRE(d.ok());
  CHECK(d.config->conns.at(0).keying_tries == 1);
  CHECK(d.config->conns.at(0).auto_action == AutoAction::route);
  CHECK(d.config->conns.at(0).close_action == CloseAction::hold);

  auto none = sw("connections {\n c {\n  children {\n  }\n }\n}\n");
  CHECK(joined(none.warnings).find("'c': no children") != std::string::npos);
}

TEST_CASE("swanctl: the swanless section holds config setup, gre and pim", "[config][swanctl]") {
  const std::string transport =
      "connections {\n t {\n  local_addrs = 192.0.2.1\n  remote_addrs = 198.51.100.1\n"
      "  local {\n   auth = psk\n  }\n  remote {\n   auth = psk\n  }\n"
      "  children {\n   net-net {\n    mode = transport\n    local_ts = dynamic[gre]\n    remote_ts = dynamic[gre]\n"
      "   }\n  }\n }\n}\n";
  auto r = sw(transport +
              "swanless {\n"
              "  setup {\n    socket = /run/x.sock\n    loglevel = \"info, ike debug\"\n    charondebug = x\n  }\n"
              "  gre {\n    t1 {\n      local = 192.0.2.1\n      remote = 198.51.100.1\n      conn = net-net\n"
              "      address = 172.16.0.1/30\n      peer = 172.16.0.2\n    }\n  }\n"
              "  pim {\n    p1 {\n      interface = t1\n      neighbor = 172.16.0.2\n      groups = 239.1.1.1\n"
              "      rp = 172.16.0.2\n"
              "    }\n  }\n"
              "}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config->setup.socket == "/run/x.sock");
  CHECK(r.config->setup.subsys_levels[static_cast<std::size_t>(common::Subsys::ike)] == common::LogLevel::debug);
  CHECK(joined(r.warnings).find("'charondebug': charon/pluto logging") != std::string::npos);
  REQUIRE(r.config->gres.size() == 1);
  CHECK(r.config->gres[0].name == "t1");
  REQUIRE(r.config->pims.size() == 1);
  CHECK(r.config->pims[0].interface == "t1");

  auto s = sw(std::string(kSite) + "secrets {\n}\nswanless {\n setup {\n  secrets = /etc/ipsec.secrets\n }\n}\n");
  REQUIRE(s.ok());
  CHECK(s.config->setup.secrets == "/etc/ipsec.secrets");
  CHECK(joined(s.warnings).find("'secrets': not read") != std::string::npos);
  CHECK(sw_errors("swanless {\n tunnels {\n }\n}\n").find("unknown in the swanless section") != std::string::npos);
}

TEST_CASE("swanctl: the secrets block", "[config][swanctl]") {
  auto r = parse_secrets_string("secrets {\n"
                                "  ike-1 {\n    id-moon = moon.example.org\n    id-sun = sun.example.org\n"
                                "    secret = \"a long secret\"\n  }\n"
                                "  ike-hex {\n    secret = 0x6b6579\n  }\n"
                                "  private-moon {\n    file = moon.pem\n    secret = pass\n  }\n"
                                "  rsa {\n    file = /keys/a.pem\n  }\n"
                                "  eap-carol {\n    id = carol\n    secret = x\n  }\n"
                                "  ecdsa-1 {\n    file = e.pem\n  }\n"
                                "}\n",
                                "/etc/swanctl/swanctl.conf");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const auto& e = r.secrets->entries;
  REQUIRE(e.size() == 4);
  CHECK(e[0].ids == std::vector<std::string>{"moon.example.org", "sun.example.org"});
  CHECK(e[0].psk.size() == 13);
  CHECK(e[0].line == 2);
  CHECK(e[1].ids.empty());
  CHECK(e[1].psk.size() == 3);
  CHECK(e[2].type == SecretEntry::Type::rsa);
  CHECK(e[2].key_path == "/etc/swanctl/private/moon.pem");
  CHECK(e[2].passphrase == "pass");
  CHECK(e[3].key_path == "/keys/a.pem");
  CHECK(r.secrets->find_psk("moon.example.org", "sun.example.org") == &e[0]);
  CHECK(joined(r.warnings).find("'eap-carol': EAP/XAuth credentials are not used") != std::string::npos);
  CHECK(joined(r.warnings).find("'ecdsa-1': ECDSA keys") != std::string::npos);

  auto bad = parse_secrets_string("secrets {\n ike-1 {\n  id = x\n }\n ike-2 {\n  secret = 0xzz\n }\n"
                                  " foo {\n }\n ike-3 {\n  secret = s\n  idd = x\n  wrong = 1\n }\n}\n",
                                  "s.swanctl.conf");
  REQUIRE_FALSE(bad.ok());
  const std::string b = joined(bad.errors);
  CHECK(b.find("s.swanctl.conf:2: 'ike-1': no secret") != std::string::npos);
  CHECK(b.find("s.swanctl.conf:6: 'secret': malformed 0x<hex>") != std::string::npos);
  CHECK(b.find("s.swanctl.conf:8: 'foo': unknown secret type") != std::string::npos);
  CHECK(b.find("s.swanctl.conf:13: 'wrong': unknown key in ike-3") != std::string::npos);
}

TEST_CASE("swanctl: load_file and load_secrets on disk; secrets must be private", "[config][swanctl]") {
  TempDir d;
  std::filesystem::create_directories(d.path + "/conf.d");
  std::filesystem::create_directories(d.path + "/private");
  const std::string main = d.write("swanctl.conf", std::string(kSite) + "include conf.d/*.conf\n", 0644);
  d.write("conf.d/secrets.conf", "secrets {\n  ike-1 {\n    secret = \"a long secret\"\n  }\n}\n", 0600);
  d.write("private/z.pem", "not read here", 0600);
  d.write("private/a.pem", "not read here", 0600);
  ParseOptions o;
  o.is_local = [](const common::IpAddr&) { return false; };
  auto r = load_file(main, o);
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config->setup.secrets == main);
  auto s = load_secrets(main);
  INFO(joined(s.errors));
  REQUIRE(s.ok());
  REQUIRE(s.secrets->entries.size() == 3);
  CHECK(s.secrets->entries[0].file == d.path + "/conf.d/secrets.conf");
  CHECK(s.secrets->entries[1].key_path == d.path + "/private/a.pem");  // the key folder, sorted
  CHECK(s.secrets->entries[2].key_path == d.path + "/private/z.pem");

  chmod((d.path + "/conf.d/secrets.conf").c_str(), 0644);
  auto open = load_secrets(main);
  REQUIRE_FALSE(open.ok());
  CHECK(joined(open.errors).find("refusing secrets in a file readable or writable by group or others (mode 0644)") !=
        std::string::npos);

  // Detected by content under another name; the secrets in the file itself.
  const std::string other = d.write("vpn.conf", std::string(kSite) + "secrets {\n ike {\n  secret = s3cret\n }\n}\n", 0640);
  auto r2 = load_file(other, o);
  REQUIRE(r2.ok());
  CHECK(r2.config->setup.secrets == other);
  CHECK_FALSE(load_secrets(other).ok());
  chmod(other.c_str(), 0600);
  auto s2 = load_secrets(other);
  REQUIRE(s2.ok());
  CHECK(s2.secrets->find_psk("moon.example.org", "sun.example.org"));
}

TEST_CASE("swanctl: the GRE transport example resolves as its ipsec.conf twin does", "[config][swanctl]") {
  ParseOptions o;
  o.is_local = [](const common::IpAddr&) { return false; };
  auto a = load_file(examples_dir() + "/gre-transport.conf", o);
  auto b = load_file(examples_dir() + "/gre-transport.swanctl.conf", o);
  INFO(joined(b.errors) + joined(b.warnings));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(b.warnings.empty());
  const Config& x = *a.config;
  const Config& y = *b.config;
  CHECK(y.setup.socket == x.setup.socket);
  CHECK(y.setup.secrets == examples_dir() + "/gre-transport.swanctl.conf");
  REQUIRE(y.conns.size() == 1);
  const ConnConfig& i = x.conns[0];
  const ConnConfig& s = y.conns[0];
  CHECK(s.name == i.name);
  CHECK(s.ike_sa == i.ike_sa);
  CHECK(s.mode == i.mode);
  CHECK(s.auth == i.auth);
  CHECK(s.auto_action == i.auto_action);
  CHECK(s.left.addr == i.left.addr);
  CHECK(s.right.addr == i.right.addr);
  CHECK(s.left.effective_id() == i.left.effective_id());
  CHECK(s.right.effective_id() == i.right.effective_id());
  CHECK(s.left.pubkey == i.left.pubkey);
  CHECK(s.right.pubkey == i.right.pubkey);
  CHECK(s.left.subnets == i.left.subnets);
  CHECK(s.right.subnets == i.right.subnets);
  CHECK(s.ike.proposals == i.ike.proposals);  // proposals = default: strongSwan's defaults
  CHECK(s.esp.proposals == i.esp.proposals);
  CHECK(s.dpd_delay == i.dpd_delay);
  CHECK(s.dpd_action == DpdAction::restart);
  // Where swanctl's defaults differ: CHILD life 1h6m (ipsec.conf: 1h), IKE 4h6m (3h).
  CHECK(s.lifetime == Seconds(3960));
  CHECK(s.ike_lifetime == Seconds(4 * 3600 + 360));
  REQUIRE(y.gres.size() == 1);
  CHECK(y.gres[0].conn == x.gres[0].conn);
  CHECK(y.gres[0].address.to_string() == x.gres[0].address.to_string());
  CHECK(y.gres[0].mtu == x.gres[0].mtu);
  CHECK(y.gres[0].routes.size() == x.gres[0].routes.size());
  CHECK(y.gres[0].keepalive_interval == x.gres[0].keepalive_interval);
}

TEST_CASE("swanctl: certificates in local/remote map onto leftcert, rightcert and rightca", "[config][swanctl]") {
  TempDir d;
  const std::string ca = d.write("root.pem", "(a CA certificate; parsed when the peers are built)\n", 0644);
  auto r = sw("connections {\n c {\n  remote_addrs = 198.51.100.1\n  send_cert = always\n"
              "  local {\n   certs = mine.pem\n   id = \"C=CH, O=swanless test, CN=s.test\"\n  }\n"
              "  remote {\n   cacerts = " + ca + "\n   id = @c.test\n  }\n"
              "  children {\n   x {\n    remote_ts = 10.1.0.0/16\n   }\n  }\n }\n}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const auto& c = r.config->conns.at(0);
  CHECK(c.left.cert.ends_with("x509/mine.pem"));  // relative: swanctl's x509/ folder
  CHECK(c.right.ca_file == ca);
  CHECK(c.send_cert == SendCert::always);
  CHECK(c.auth == AuthMethod::pubkey);
  CHECK(joined(sw("connections {\n c {\n  local {\n   certs = a.pem, b.pem\n  }\n  children {\n   x {\n   }\n  }\n"
                  " }\n}\n")
                   .errors)
            .find("one certificate per end") != std::string::npos);
}
