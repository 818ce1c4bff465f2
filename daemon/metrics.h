// Prometheus metrics (config setup: metrics=HOST:PORT): the status document
// (daemon/status.h) rendered in the text exposition format 0.0.4 and served at /metrics by
// Boost.Beast on the daemon's own event loop. Rendering is a pure function of the document,
// so `swanless status --json` and a scrape always agree; serving never blocks the data
// path (one short request per connection, bounded in size, time and number).
//
// Series (labels: ike_sa, child, gre, pim, conn, reason, direction):
//   swanless_build_info{version}, swanless_start_time_seconds
//   swanless_process_uid, swanless_process_capabilities (effective set size),
//   swanless_process_dumpable, swanless_secure_heap_{bytes,used_bytes,locked},
//   swanless_secure_heap_fallbacks_total
//   swanless_ike_sa_established{ike_sa}; swanless_child_sa_installed{ike_sa,child}
//   swanless_child_sa_bytes_total / _packets_total{ike_sa,child,direction="in|out"}
//   swanless_child_sa_drops_total{ike_sa,child,reason}   (in_integrity, in_replay, ...)
//   swanless_trap_armed{conn}, swanless_trap_queued_packets{conn},
//   swanless_trap_initiations_total{conn}                trapped conns (status "traps")
//   swanless_conn_down{conn}                             1 per entry of status "conns_down"
//   swanless_events_total{event}                         every entry of status "counters"
//       (ike_rx, ike_retransmits, child_rekeys, ike_rekeys, rekey_failures, dpd_checks_sent,
//       dpd_peers_dead, out_no_sa, ...)
//   swanless_gre_up{gre}, swanless_gre_keepalives_total{gre,direction="answered|sent|received"},
//   swanless_gre_keepalives_missed{gre} (in a row, a gauge),
//   swanless_gre_packets_total / _bytes_total{gre,direction}, swanless_gre_drops_total{gre,reason}
//   swanless_pim_neighbor_up{pim}, swanless_pim_joined{pim}, swanless_pim_groups{pim},
//   swanless_pim_last_join_age_seconds{pim}, swanless_pim_hellos_total{pim,direction},
//   swanless_pim_joins_sent_total{pim}, swanless_pim_delivered_datagrams_total{pim},
//   swanless_pim_delivered_bytes_total{pim}, swanless_pim_group_delivered_datagrams_total{pim,group},
//   swanless_pim_neighbor_restarts_total{pim} (Generation ID changes),
//   swanless_pim_triggers_deferred_total{pim} (restarts folded into one deferred Join),
//   swanless_pim_neighbor_expiries_total{pim}, swanless_pim_drops_total{pim,reason},
//   swanless_pim_member_changes_total{pim,change=join|prune} (entries local members added/removed);
//   with groups=auto: swanless_pim_igmp_groups{pim}, swanless_pim_igmp_reports_total{pim,version},
//   swanless_pim_igmp_leaves_total{pim}, swanless_pim_igmp_queries_sent_total{pim,kind},
//   swanless_pim_igmp_drops_total{pim,reason}; with two tunnels: swanless_pim_path_healthy{pim,gre},
//   swanless_pim_path_joined{pim,gre}, swanless_pim_failovers_total{pim}; with dedup=:
//   swanless_pim_dedup_duplicates_total{pim}, swanless_pim_dedup_gap_sequences{pim},
//   swanless_pim_dedup_first_copies_total{pim,path=a|b}
// Every ESP drop reason is exported for every CHILD_SA, 0 until it happens, so rate() and
// alerts see the series from the start. A CHILD_SA's counters are summed over the SAs of
// the same name, so the series lives on
// across rekeys; when the old SA goes, the sum may fall, which Prometheus reads as a reset.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/net.h"

namespace boost::asio {
class io_context;
}

namespace swld {

// The exposition text for one status document; `now_unix` (seconds since the epoch) dates
// the process start from the document's uptime.
std::string prometheus_text(const nlohmann::json& status, double now_unix);

class MetricsServer {
 public:
  // `status` builds the document at each scrape.
  MetricsServer(boost::asio::io_context& io, std::function<nlohmann::json()> status);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `at` (port 0: any, see port()). False (logged) on failure.
  bool open(const common::Endpoint& at);
  std::uint16_t port() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace swld
