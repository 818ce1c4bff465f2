#include <catch2/catch.hpp>
#include <sstream>

#include "apps/status_view.h"

using nlohmann::json;

namespace {

json sample() {
  return json::parse(R"({
    "daemon": {"version": "0.1.0", "pid": 42, "uptime_s": 7300},
    "ike_sas": [{
      "name": "dc-tun", "unique_id": 2, "state": "ESTABLISHED", "age_s": 7200,
      "local": {"addr": "10.1.1.246", "port": 4500}, "remote": {"addr": "177.54.214.20", "port": 4500},
      "local_id": "222.45.67.1", "remote_id": "177.54.214.20",
      "spi_i": "a62a46f88ff6e9c2", "spi_r": "50d27be1188d653d", "initiator": true,
      "proposal": "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
      "auth": "pre-shared key", "rekey_in_s": 6240,
      "children": [{
        "name": "dc-tun-gre", "unique_id": 3, "state": "INSTALLED", "mode": "TUNNEL", "encap": true,
        "spi_in": "c9788976", "spi_out": "0e1488b7",
        "proposal": "AES_CBC_256/HMAC_SHA2_256_128/MODP_2048",
        "local_ts": ["10.44.6.1/32"], "remote_ts": ["10.44.7.1/32"], "rekey_in_s": 2040,
        "bytes_in": 13872, "packets_in": 221, "last_in_s": 8,
        "bytes_out": 3072, "packets_out": 121, "last_out_s": 10,
        "drops": {"in_replay": 2, "in_integrity": 0}
      }]
    }],
    "gre": [{"name": "gre1", "local": "10.44.6.1", "remote": "10.44.7.1", "state": "UP", "keepalive": "reply",
             "keepalives_answered": 17, "keepalives_sent": 0, "keepalives_received": 0,
             "packets_in": 400, "bytes_in": 80000, "packets_out": 9, "bytes_out": 500,
             "mtu": 1400, "mss": 1360, "mss_clamped_out": 5, "mss_clamped_in": 4, "frag_needed_sent": 2,
             "drops": {"too_big_no_icmp": 1}}],
    "pim": [{"name": "upstream", "interface": "gre1", "neighbor": "10.44.4.5", "neighbor_up": true,
             "rp": "100.15.30.253", "groups": ["239.1.1.1"], "last_join_s": 12,
             "datagrams_delivered": 399, "bytes_delivered": 79800, "drops": {"not_our_group": 1}}],
    "counters": {"ike_rx": 4, "esp_unknown_spi": 3}
  })");
}

}  // namespace

TEST_CASE("status text carries every field of the seed's ipsec statusall sample") {
  std::string s = apps::render_status(sample());
  CHECK_THAT(s, Catch::Contains("Security Associations (1 up, 0 connecting):"));
  CHECK_THAT(s, Catch::Contains("dc-tun[2]: ESTABLISHED 2 hours ago, 10.1.1.246[222.45.67.1]...177.54.214.20[177.54.214.20]"));
  CHECK_THAT(s, Catch::Contains("dc-tun[2]: IKEv2 SPIs: a62a46f88ff6e9c2_i* 50d27be1188d653d_r, pre-shared key"));
  CHECK_THAT(s, Catch::Contains("104 minutes"));
  CHECK_THAT(s, Catch::Contains("dc-tun[2]: IKE proposal: AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"));
  CHECK_THAT(s, Catch::Contains("dc-tun-gre{3}:  INSTALLED, TUNNEL, reqid 3, ESP in UDP SPIs: c9788976_i 0e1488b7_o"));
  CHECK_THAT(s, Catch::Contains("AES_CBC_256/HMAC_SHA2_256_128/MODP_2048, 13872 bytes_i (221 pkts, 8s ago), 3072 bytes_o (121 pkts, 10s ago), rekeying in 34 minutes"));
  CHECK_THAT(s, Catch::Contains("dc-tun-gre{3}:   10.44.6.1/32 === 10.44.7.1/32"));
  CHECK_THAT(s, Catch::Contains("dropped: in_replay 2"));
  CHECK_THAT(s, !Catch::Contains("in_integrity"));  // zero counters are not listed
  CHECK_THAT(s, Catch::Contains("gre1: keepalives answered 17"));
  CHECK_THAT(s, Catch::Contains("gre1: mtu 1400, MSS clamped to 1360: 5 SYNs out, 4 in; frag-needed sent 2"));
  CHECK_THAT(s, Catch::Contains("gre1: dropped: too_big_no_icmp 1"));
  CHECK_THAT(s, Catch::Contains("upstream: on gre1, neighbor 10.44.4.5 up, RP 100.15.30.253"));
  CHECK_THAT(s, Catch::Contains("upstream: joined (*,239.1.1.1), last join 12s ago"));
  CHECK_THAT(s, Catch::Contains("delivered 399 datagrams (79800 bytes)"));
  CHECK_THAT(s, Catch::Contains("esp_unknown_spi 3"));
}

TEST_CASE("status text: connecting SAs, responder SPI mark, plain ESP, no SAs") {
  json d = sample();
  d["ike_sas"][0]["state"] = "CONNECTING";
  d["ike_sas"][0]["initiator"] = false;
  d["ike_sas"][0]["children"][0]["encap"] = false;
  std::string s = apps::render_status(d);
  CHECK_THAT(s, Catch::Contains("(0 up, 1 connecting)"));
  CHECK_THAT(s, Catch::Contains("a62a46f88ff6e9c2_i 50d27be1188d653d_r*"));
  CHECK_THAT(s, Catch::Contains(", ESP SPIs:"));
  json empty = {{"daemon", {{"version", "x"}}}, {"ike_sas", json::array()}};
  CHECK_THAT(apps::render_status(empty), Catch::Contains("  none"));
  // A document missing fields renders without throwing.
  CHECK_NOTHROW(apps::render_status(json::object()));
}

TEST_CASE("status text: trapped conns as strongSwan's Routed Connections") {
  json d = sample();
  d["traps"] = json::array({{{"conn", "od"}, {"armed", true}, {"queued", 3}, {"acquires", 2},
                             {"local_ts", {"10.0.0.0/24"}}, {"remote_ts", {"10.1.0.0/24"}}},
                            {{"conn", "held"}, {"armed", false}, {"queued", 0}, {"acquires", 0},
                             {"local_ts", {"10.0.2.1/32"}}, {"remote_ts", {"10.1.2.0/24"}}}});
  std::string s = apps::render_status(d);
  CHECK_THAT(s, Catch::Contains("Routed Connections:\nod{}:  ROUTED, 2 initiation(s) by traffic, 3 packet(s) waiting\n"
                                "od{}:   10.0.0.0/24 === 10.1.0.0/24\n"));
  CHECK_THAT(s, Catch::Contains("held{}:  HOLD (armed once up), 0 initiation(s) by traffic\n"));
  CHECK_THAT(apps::render_status(sample()), !Catch::Contains("Routed Connections"));
  d["conns_down"] = json::array({{{"conn", "pol"}, {"reason", "cannot create TUN device swanless0: busy"}, {"retry", "x"}}});
  CHECK_THAT(apps::render_status(d), Catch::Contains("Down (their device could not be set up; a reload tries again):\n"
                                                     "  pol: cannot create TUN device swanless0: busy\n"));
}

TEST_CASE("status text: member-driven joins with their origin, the IGMP querier, long lists cut") {
  json d = sample();
  auto& p = d["pim"][0];
  p["joins"] = json::array({{{"group", "239.1.1.1"}, {"source", "*"}, {"origin", "config+igmp"}},
                            {{"group", "239.1.1.2"}, {"source", "198.18.31.10"}, {"origin", "igmp"}}});
  p["igmp"] = {{"querier", "10.44.4.5"}, {"groups", 2}, {"reports_v1", 0}, {"reports_v2", 1}, {"reports_v3", 7},
               {"leaves", 1}, {"general_queries_sent", 3}, {"group_queries_sent", 2}, {"group_source_queries_sent", 0},
               {"members", json::array({{{"group", "239.1.1.1"}, {"mode", "exclude"}, {"version", 3},
                                         {"sources", json::array()}, {"expires_s", 249.5}, {"last_reporter", "10.44.4.6"}},
                                        {{"group", "239.1.1.2"}, {"mode", "include"}, {"version", 3},
                                         {"sources", json::array({{{"source", "198.18.31.10"}, {"expires_s", 200}}})},
                                         {"expires_s", nullptr}, {"last_reporter", "10.44.4.6"}}})},
               {"drops", {{"denied", 4}}}};
  std::string s = apps::render_status(d);
  CHECK_THAT(s, Catch::Contains("upstream: joined (*,239.1.1.1) [config+igmp], (198.18.31.10,239.1.1.2) [igmp], last join 12s ago\n"));
  CHECK_THAT(s, Catch::Contains("upstream: IGMP querier 10.44.4.5 on gre1: 2 groups with members; reports v1/v2/v3 0/1/7, "
                                "leaves 1; queries sent 3 general, 2 group, 0 group-and-source\n"));
  CHECK_THAT(s, Catch::Contains("upstream:   239.1.1.1 exclude v3, expires in 249s, last report from 10.44.4.6\n"));
  CHECK_THAT(s, Catch::Contains("upstream:   239.1.1.2 include v3 sources 198.18.31.10, last report from 10.44.4.6\n"));
  CHECK_THAT(s, Catch::Contains("upstream: IGMP dropped: denied 4\n"));
  // 2000 groups: a screenful and a count
  json many = json::array();
  for (int i = 0; i < 2000; ++i)
    many.push_back({{"group", "239.3." + std::to_string(i / 256) + "." + std::to_string(i % 256)}, {"source", "*"},
                    {"origin", "igmp"}});
  p["joins"] = many;
  s = apps::render_status(d);
  CHECK_THAT(s, Catch::Contains("(*,239.3.0.15) [igmp], ... (2000 in all), last join"));
  CHECK_THAT(s, !Catch::Contains("239.3.0.16)"));
  // status --group: one group of the 2000
  p["groups"] = json::array({"239.1.1.1", "239.3.3.7"});
  p["delivered_by_group"] = json::array({{{"group", "239.1.1.1"}, {"datagrams", 5}, {"bytes", 1}},
                                         {{"group", "239.3.3.7"}, {"datagrams", 7}, {"bytes", 2}}});
  json f = apps::filter_group(d, "239.3.3.7");
  const auto& fp = f["pim"][0];
  CHECK(fp["groups"] == json::array({"239.3.3.7"}));
  REQUIRE(fp["joins"].size() == 1);
  CHECK(fp["joins"][0]["group"] == "239.3.3.7");
  REQUIRE(fp["delivered_by_group"].size() == 1);
  CHECK(fp["delivered_by_group"][0]["datagrams"] == 7);
  CHECK(fp["igmp"]["members"].empty());
  CHECK(fp["name"] == "upstream");  // the rest stays
  CHECK_THAT(apps::render_status(f), Catch::Contains("upstream: joined (*,239.3.3.7) [igmp], last join"));
  CHECK(apps::filter_group(d, "239.1.1.2")["pim"][0]["igmp"]["members"].size() == 1);
}

TEST_CASE("status text: two upstreams, their health, the last fail-over and A/B arbitration") {
  json d = sample();
  auto& p = d["pim"][0];
  p["upstream"] = "active-standby";
  p["active"] = "gre2";
  p["failovers"] = 1;
  p["last_failover"] = {{"from", "gre1"}, {"to", "gre2"}, {"reason", "CHILD_SA dc-tun-gre down"}, {"ago_s", 12.5}};
  p["paths"] = json::array({{{"interface", "gre1"}, {"conn", "dc-tun-gre"}, {"neighbor", "10.44.4.5"}, {"healthy", false},
                             {"problem", "CHILD_SA dc-tun-gre down"}, {"joined", false}},
                            {{"interface", "gre2"}, {"conn", "dc2-tun-gre"}, {"neighbor", "10.44.14.5"}, {"healthy", true},
                             {"problem", ""}, {"joined", true}}});
  p["dedup"] = {{"key", "sequence"}, {"delivered", 100}, {"delivered_by_path", {60, 40}}, {"duplicates", 97},
                {"gaps", 1}, {"gap_sequences", 0}, {"too_old", 0}};
  std::string s = apps::render_status(d);
  CHECK_THAT(s, Catch::Contains("upstream: upstream active-standby, joins on gre2; fail-overs 1 (last gre1 -> gre2 12s ago: "
                                "CHILD_SA dc-tun-gre down)\n"));
  CHECK_THAT(s, Catch::Contains("upstream:   gre1 (dc-tun-gre), neighbor 10.44.4.5: down: CHILD_SA dc-tun-gre down\n"));
  CHECK_THAT(s, Catch::Contains("upstream:   gre2 (dc2-tun-gre), neighbor 10.44.14.5: healthy, joined\n"));
  CHECK_THAT(s, Catch::Contains("upstream: A/B by sequence: delivered 100 (first from A 60, from B 40), duplicates dropped 97, "
                                "gaps 1 (0 missing on both), too old 0\n"));
  // one path: no upstream lines
  CHECK_THAT(apps::render_status(sample()), !Catch::Contains("fail-overs"));
}

TEST_CASE("durations read like strongSwan's") {
  CHECK(apps::human_duration(1) == "1 second");
  CHECK(apps::human_duration(8) == "8 seconds");
  CHECK(apps::human_duration(119) == "119 seconds");
  CHECK(apps::human_duration(120) == "2 minutes");
  CHECK(apps::human_duration(6240) == "104 minutes");
  CHECK(apps::human_duration(7200) == "2 hours");
  CHECK(apps::human_duration(3 * 86400) == "3 days");
  CHECK(apps::human_duration(-5) == "0 seconds");
}

TEST_CASE("status --watch: a frame redraws in place, line by line") {
  CHECK(apps::watch_frame("a\nbb\n") == "\x1b[Ha\x1b[K\nbb\x1b[K\n\x1b[J");
  CHECK(apps::watch_frame("no newline") == "\x1b[Hno newline\x1b[K\n\x1b[J");
  CHECK(apps::watch_frame("") == "\x1b[H\x1b[J");
}

TEST_CASE("status --watch: each frame asks again; a failed request is shown and the watch goes on") {
  int calls = 0;
  auto fetch = [&]() -> json {
    ++calls;
    if (calls == 2) return {{"ok", false}, {"error", "cannot connect to /run/x.sock: No such file or directory"}};
    return {{"ok", true}, {"status", sample()}};
  };
  std::ostringstream out;
  apps::watch_status(fetch, out, {std::chrono::milliseconds(0), 3});
  const std::string s = out.str();
  CHECK(calls == 3);
  CHECK(s.rfind("\x1b[2J", 0) == 0);
  std::size_t homes = 0;
  for (std::size_t p = s.find("\x1b[H"); p != std::string::npos; p = s.find("\x1b[H", p + 1)) ++homes;
  CHECK(homes == 3);
  CHECK(s.find("swanless: cannot connect to /run/x.sock") != std::string::npos);
  const std::string frame = apps::watch_frame(apps::render_status(sample()));
  CHECK(s.find(frame) != std::string::npos);
  CHECK(s.rfind(frame) > s.find("swanless: cannot connect"));
}
