// `swanless status` text, laid out like strongSwan's `ipsec statusall`, rendered from the
// JSON document the daemon returns (`swanless status --json` prints that document as is).
//
// Document shape (all times in seconds):
// { "daemon": {"version","uptime_s","pid"},
//   "ike_sas": [ { "name","unique_id","state","age_s"?,"local":{"addr","port"},"remote":{..},
//                  "local_id","remote_id","spi_i","spi_r","initiator","proposal","auth",
//                  "rekey_in_s"?, "children": [ { "name","unique_id","state","mode",
//                  "encap","spi_in","spi_out","proposal","local_ts":[..],"remote_ts":[..],
//                  "rekey_in_s"?, "bytes_in","packets_in","last_in_s"?,"bytes_out",
//                  "packets_out","last_out_s"?, "drops":{reason:n} } ] } ],
//   "gre": [ {"name","local","remote","state","keepalive","keepalives_answered",
//             "keepalives_sent","keepalives_received","packets_in","packets_out",
//             "bytes_in","bytes_out","drops":{..}} ],
//   "pim": [ {"name","interface","neighbor","neighbor_up","rp","groups":[..],
//             "last_join_s"?,"datagrams_delivered","bytes_delivered","drops":{..}} ],
//   "counters": { name: n } }
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace apps {

std::string render_status(const nlohmann::json& doc);
// "8 seconds", "34 minutes", "2 hours" as strongSwan prints durations.
std::string human_duration(long long seconds);

}  // namespace apps
