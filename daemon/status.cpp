#include "common/secure_heap.h"
#include "daemon/status.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "daemon/drops.h"
#include "daemon/overlay.h"
#include "daemon/privilege.h"

namespace swld {

namespace {

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}
std::string hex64(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

nlohmann::json status_json(const StatusSources& s) {
  using nlohmann::json;
  const ike::TimePoint t = s.now;
  json doc;
  doc["schema_version"] = kStatusSchemaVersion;
  doc["daemon"] = {{"version", "0.1.0"},
                   {"pid", ::getpid()},
                   {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(t - s.started).count()}};
  {
    const auto pp = process_privileges();
    doc["process"] = {{"uid", pp.uid},
                      {"gid", pp.gid},
                      {"cap_effective", pp.effective},
                      {"cap_permitted", pp.permitted},
                      {"cap_bounding", pp.bounding},
                      {"no_new_privs", pp.no_new_privs},
                      {"dumpable", pp.dumpable}};
    const auto heap = common::secure_heap_state();
    doc["process"]["secure_heap"] = {{"size", heap.size},
                                     {"used", heap.used},
                                     {"locked", heap.locked},
                                     {"fallbacks", heap.fallbacks}};
  }
  auto ago = [&](std::chrono::steady_clock::time_point tp) -> json {
    if (tp == std::chrono::steady_clock::time_point{}) return nullptr;
    return std::chrono::duration_cast<std::chrono::seconds>(t - tp).count();
  };
  json sas = json::array();
  for (const auto& sa : s.engine.status(t)) {
    json j;
    j["name"] = sa.name;
    j["unique_id"] = sa.unique_id;
    j["state"] = sa.state;
    j["age_s"] = sa.age ? json(sa.age->count()) : json(nullptr);
    j["local"] = {{"addr", sa.local.addr.to_string()}, {"port", sa.local.port}};
    j["remote"] = {{"addr", sa.remote.addr.to_string()}, {"port", sa.remote.port}};
    j["local_id"] = sa.local_id;
    j["remote_id"] = sa.remote_id;
    j["spi_i"] = hex64(sa.spi_i);
    j["spi_r"] = hex64(sa.spi_r);
    j["initiator"] = sa.initiator;
    j["proposal"] = sa.proposal;
    j["auth"] = sa.auth;
    j["rekey_in_s"] = sa.rekey_in ? json(sa.rekey_in->count()) : json(nullptr);
    j["reauth_in_s"] = sa.reauth_in ? json(sa.reauth_in->count()) : json(nullptr);
    json kids = json::array();
    for (const auto& c : sa.children) {
      json k;
      k["name"] = c.name;
      k["unique_id"] = c.unique_id;
      k["state"] = c.state;
      k["mode"] = c.transport ? "TRANSPORT" : "TUNNEL";
      k["encap"] = c.udp_encap;
      k["spi_in"] = hex32(c.spi_in);
      k["spi_out"] = hex32(c.spi_out);
      k["proposal"] = c.proposal;
      json lts = json::array(), rts = json::array();
      for (const auto& ts : c.local_ts) lts.push_back(ts.to_string());
      for (const auto& ts : c.remote_ts) rts.push_back(ts.to_string());
      k["local_ts"] = lts;
      k["remote_ts"] = rts;
      k["rekey_in_s"] = c.rekey_in ? json(c.rekey_in->count()) : json(nullptr);
      json drops = json::object();
      if (const esp::Sa* in = s.children.sad().find_inbound(c.spi_in)) {
        const auto& ct = in->counters();
        k["bytes_in"] = ct.bytes;
        k["packets_in"] = ct.packets;
        k["last_in_s"] = ago(ct.last_use);
        drops_json<esp::Drop>(drops, ct.drops, {.prefix = "in_", .first = 1});  // 0 is Drop::none
      }
      if (const esp::Sa* out = s.children.sad().find_outbound(c.spi_out)) {
        const auto& ct = out->counters();
        k["bytes_out"] = ct.bytes;
        k["packets_out"] = ct.packets;
        k["last_out_s"] = ago(ct.last_use);
        drops_json<esp::Drop>(drops, ct.drops, {.prefix = "out_", .first = 1});
      }
      k["drops"] = drops;
      kids.push_back(k);
    }
    j["children"] = kids;
    sas.push_back(j);
  }
  doc["ike_sas"] = sas;
  // Trapped conns (auto=route; dpdaction/closeaction=hold once up): whether the trap
  // catches packets now, what waits for the SA, how many initiations packets started.
  json traps = json::array();
  for (const auto& tr : s.data.traps) {
    json lt = json::array(), rt = json::array();
    for (const auto& ts : tr.local_ts) lt.push_back(ts.to_string());
    for (const auto& ts : tr.remote_ts) rt.push_back(ts.to_string());
    traps.push_back({{"conn", tr.conn},
                     {"armed", tr.armed},
                     {"queued", tr.queued},
                     {"acquires", tr.acquires},
                     {"local_ts", lt},
                     {"remote_ts", rt}});
  }
  doc["traps"] = traps;
  // Conns that stay down because their TUN device, address or route could not be set up.
  json down = json::array();
  if (s.conns_down)
    for (const auto& [conn, d] : *s.conns_down)
      down.push_back({{"conn", conn}, {"reason", d.reason}, {"retry", d.retry}});
  doc["conns_down"] = down;
  doc["gre"] = s.overlay ? s.overlay->gre_status(t) : json::array();
  doc["pim"] = s.overlay ? s.overlay->pim_status(t) : json::array();
  const auto& ec = s.engine.counters();
  doc["counters"] = {{"ike_rx", ec.rx_messages},
                     {"ike_tx", ec.tx_messages},
                     {"ike_retransmits", ec.retransmits},
                     {"ike_malformed", ec.rx_malformed},
                     {"ike_unknown_spi", ec.rx_unknown_spi},
                     {"ike_bad_integrity", ec.rx_bad_integrity},
                     {"ike_auth_failures", ec.auth_failures},
                     {"ike_cert_malformed", ec.cert_malformed},
                     {"ike_cert_refused", ec.cert_refused},
                     {"ike_no_proposal", ec.no_proposal},
                     {"ike_ts_unacceptable", ec.ts_unacceptable},
                     {"child_rekeys", ec.child_rekeys},
                     {"ike_rekeys", ec.ike_rekeys},
                     {"rekey_failures", ec.rekey_failures},
                     {"rekey_collisions", ec.rekey_collisions},
                     {"ike_cookies_sent", ec.cookies_sent},
                     {"ike_cookies_rejected", ec.cookies_rejected},
                     {"ike_half_open_refused", ec.half_open_refused},
                     {"ike_half_open", ec.half_open},
                     {"dpd_checks_sent", ec.dpd_checks},
                     {"dpd_peers_dead", ec.peers_dead},

                     {"esp_unknown_spi", s.children.sad().unknown_spi_drops()},
                     {"esp_truncated", s.children.sad().truncated_drops()},
                     {"nat_keepalives_received", s.data.nat_keepalives_rx},
                     {"esp_raw_received", s.data.raw_received},
                     {"esp_raw_sent", s.data.raw_sent},
                     {"esp_raw_send_errors", s.data.raw_send_errors}};
  // The daemon's own drops, every one shown (esp_invalid_udp, out_no_sa, ...).
  drops_json<DaemonDrop>(doc["counters"], s.data.drops, {.zeros = true});
  // Not drops: how much the TUN offloads did (tun/offload.h).
  doc["tun_offload"] = {{"enabled", s.data.tun_offload},
                        {"udp", s.data.tun_uso},
                        {"gso_segments_out", s.data.gso_segmented},
                        {"gro_super_packets", s.data.gro.super},
                        {"gro_segments_joined", s.data.gro.joined},
                        {"gro_udp_super_packets", s.data.gro.udp_super},
                        {"gro_bad_checksum", s.data.gro.bad_csum}};
  return doc;
}

}  // namespace swld
