// daemon/status.h: the keys of `swanless status --json` that scripts and tests read stay as
// they were when each was written by hand in the driver.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/crypto.h"
#include "daemon/status.h"

using namespace swld;

namespace {

std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> k;
  for (const auto& [key, value] : j.items()) k.insert(key);
  return k;
}

nlohmann::json schema() {
  const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" /
                    "status.schema.json";
  std::ifstream f(path);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

std::set<std::string> names(const nlohmann::json& arr) {
  std::set<std::string> k;
  for (const auto& v : arr) k.insert(v.get<std::string>());
  return k;
}

}  // namespace

TEST_CASE("status: the document's sections, counters and offload keys") {
  common::crypto::SystemRandom rng;
  ike::Engine engine(rng);
  ChildTable children(rng);
  DataPathStats data;
  data.drops[static_cast<std::size_t>(DaemonDrop::out_no_sa)] = 4;
  data.drops[static_cast<std::size_t>(DaemonDrop::tun_gso_bad)] = 2;
  data.nat_keepalives_rx = 9;
  data.raw_sent = 3;
  data.tun_offload = true;
  data.gso_segmented = 11;
  data.gro.super = 5;
  data.traps.push_back({"od", {common::TrafficSelector::from_prefix({common::IpAddr::v4(0x0a000000), 24})},
                        {common::TrafficSelector::from_prefix({common::IpAddr::v4(0x0a010000), 24})}, true, 2, 1});
  const auto t0 = ike::Clock::now();
  const std::map<std::string, ConnDown> down = {
      {"pol", {"cannot create TUN device swanless0: no permission", "a reload (SIGHUP) tries it again"}}};
  auto doc = status_json({t0 + std::chrono::seconds(70), t0, engine, children, data, nullptr, &down});
  CHECK(doc["conns_down"] == nlohmann::json::array({{{"conn", "pol"},
                                                     {"reason", "cannot create TUN device swanless0: no permission"},
                                                     {"retry", "a reload (SIGHUP) tries it again"}}}));

  CHECK(keys_of(doc) ==
        std::set<std::string>{"schema_version", "daemon", "process", "ike_sas", "traps", "conns_down", "gre", "pim", "counters",
                              "tun_offload"});
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["daemon"]["uptime_s"] == 70);
  CHECK(doc["ike_sas"] == nlohmann::json::array());
  CHECK(doc["gre"] == nlohmann::json::array());
  CHECK(doc["pim"] == nlohmann::json::array());
  const std::set<std::string> counters = {
      "ike_rx", "ike_tx", "ike_retransmits", "ike_malformed", "ike_unknown_spi", "ike_bad_integrity",
      "ike_auth_failures", "ike_cert_malformed", "ike_cert_refused", "ike_no_proposal", "ike_ts_unacceptable", "child_rekeys", "ike_rekeys",
      "rekey_failures", "rekey_collisions", "ike_cookies_sent", "ike_cookies_rejected", "ike_half_open_refused",
      "ike_half_open", "dpd_checks_sent", "dpd_peers_dead", "esp_unknown_spi", "esp_truncated", "esp_invalid_udp", "out_no_sa", "out_bad_inner",
      "tun_write_failed", "nat_keepalives_received", "esp_raw_received", "esp_raw_sent", "esp_raw_malformed",
      "esp_raw_send_errors", "out_no_raw_socket", "in_transport_not_gre", "tun_gso_bad", "trap_queue_full",
      "trap_expired"};
  CHECK(keys_of(doc["counters"]) == counters);
  CHECK(doc["traps"] == nlohmann::json::array({{{"conn", "od"},
                                                 {"armed", true},
                                                 {"queued", 2},
                                                 {"acquires", 1},
                                                 {"local_ts", {"10.0.0.0/24"}},
                                                 {"remote_ts", {"10.1.0.0/24"}}}}));
  CHECK(doc["counters"]["out_no_sa"] == 4);
  CHECK(doc["counters"]["tun_gso_bad"] == 2);
  CHECK(doc["counters"]["esp_invalid_udp"] == 0);
  CHECK(doc["counters"]["nat_keepalives_received"] == 9);
  CHECK(doc["counters"]["esp_raw_sent"] == 3);
  CHECK(doc["tun_offload"] == nlohmann::json{{"enabled", true},
                                             {"udp", false},
                                             {"gso_segments_out", 11},
                                             {"gro_super_packets", 5},
                                             {"gro_segments_joined", 0},
                                             {"gro_udp_super_packets", 0},
                                             {"gro_bad_checksum", 0}});
}

TEST_CASE("status: docs/status.schema.json names the same sections and keys as the document") {
  common::crypto::SystemRandom rng;
  ike::Engine engine(rng);
  ChildTable children(rng);
  DataPathStats data;
  const auto t0 = ike::Clock::now();
  auto doc = status_json({t0, t0, engine, children, data, nullptr});
  const auto sch = schema();
  CHECK(sch["properties"]["schema_version"]["const"] == kStatusSchemaVersion);
  CHECK(names(sch["required"]) == keys_of(doc));
  CHECK(keys_of(sch["properties"]) == keys_of(doc));
  for (const char* section : {"daemon", "tun_offload"}) {
    INFO(section);
    CHECK(names(sch["properties"][section]["required"]) == keys_of(doc[section]));
    CHECK(keys_of(sch["properties"][section]["properties"]) == keys_of(doc[section]));
  }
}
