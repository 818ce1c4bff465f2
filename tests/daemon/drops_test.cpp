// daemon/drops.h: the daemon's drop names are the `counters` keys scripts read, and
// drops_json is the one enum-array-to-JSON rendering every status part uses.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "daemon/drops.h"
#include "esp/sa.h"
#include "pim/delivery.h"

using namespace swld;

TEST_CASE("DaemonDrop: every reason has the status key it had as a loose field") {
  // The keys of `swanless status --json` .counters that were drop_*_ fields in driver.cpp.
  const std::set<std::string> keys = {"esp_invalid_udp",   "out_no_sa",         "out_bad_inner",
                                      "tun_write_failed",  "esp_raw_malformed", "out_no_raw_socket",
                                      "in_transport_not_gre", "tun_gso_bad",
                                      "trap_queue_full",   "trap_expired"};
  std::set<std::string> names;
  for (std::size_t r = 0; r < kDaemonDropCount; ++r) names.insert(std::string(to_string(static_cast<DaemonDrop>(r))));
  CHECK(names == keys);
  CHECK(to_string(DaemonDrop::count_) == "?");
}

TEST_CASE("drops_json: non-zero reasons by name, with a prefix, from a first reason, or all") {
  std::array<std::uint64_t, esp::kDropReasons> esp_drops{};
  esp_drops[static_cast<std::size_t>(esp::Drop::none)] = 7;  // successes, never shown from first = 1
  esp_drops[static_cast<std::size_t>(esp::Drop::replay)] = 3;
  esp_drops[static_cast<std::size_t>(esp::Drop::integrity)] = 1;
  nlohmann::json j = nlohmann::json::object();
  drops_json<esp::Drop>(j, esp_drops, {.prefix = "in_", .first = 1});
  CHECK(j == nlohmann::json{{"in_replay", 3}, {"in_integrity", 1}});

  nlohmann::json none = nlohmann::json::object();
  drops_json<esp::Drop>(none, std::array<std::uint64_t, esp::kDropReasons>{});
  CHECK(none.empty());
  CHECK(none.is_object());

  std::array<std::uint64_t, pim::kVerdictCount> verdicts{};
  verdicts[static_cast<std::size_t>(pim::Verdict::deliver)] = 10;
  verdicts[static_cast<std::size_t>(pim::Verdict::not_our_group)] = 2;
  nlohmann::json p = nlohmann::json::object();
  drops_json<pim::Verdict>(p, verdicts, {.first = 1});
  CHECK(p == nlohmann::json{{"not_our_group", 2}});

  // The daemon's counters: every reason, zero or not, next to what is already there.
  DaemonDrops d{};
  d[static_cast<std::size_t>(DaemonDrop::out_no_sa)] = 5;
  nlohmann::json counters = {{"ike_rx", 1}};
  drops_json<DaemonDrop>(counters, d, {.zeros = true});
  CHECK(counters.size() == 1 + kDaemonDropCount);
  CHECK(counters["out_no_sa"] == 5);
  CHECK(counters["tun_gso_bad"] == 0);
  CHECK(counters["ike_rx"] == 1);
}
