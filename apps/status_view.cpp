// `swanless status` text from the daemon's status document. See status_view.h.
#include "apps/status_view.h"

#include <cstdio>
#include <sstream>
#include <thread>

namespace apps {

namespace {

long long num(const nlohmann::json& j, const char* k, long long dflt = 0) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<long long>() : dflt;
}
std::string str(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool has(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && !it->is_null();
}
std::string endpoint(const nlohmann::json& e) {
  return e.is_object() ? str(e, "addr") : std::string();
}
std::string join_ts(const nlohmann::json& a) {
  std::string s;
  if (!a.is_array()) return s;
  for (const auto& t : a) {
    if (!s.empty()) s += " ";
    s += t.get<std::string>();
  }
  return s;
}
std::string drops(const nlohmann::json& d) {
  std::string s;
  if (!d.is_object()) return s;
  for (auto it = d.begin(); it != d.end(); ++it) {
    if (!it.value().is_number() || it.value().get<long long>() == 0) continue;
    if (!s.empty()) s += ", ";
    s += it.key() + " " + std::to_string(it.value().get<long long>());
  }
  return s;
}

}  // namespace

std::string human_duration(long long s) {
  if (s < 0) s = 0;
  char b[64];
  if (s < 120) std::snprintf(b, sizeof b, "%lld second%s", s, s == 1 ? "" : "s");
  else if (s < 7200) std::snprintf(b, sizeof b, "%lld minutes", s / 60);
  else if (s < 2 * 86400) std::snprintf(b, sizeof b, "%lld hours", s / 3600);
  else std::snprintf(b, sizeof b, "%lld days", s / 86400);
  return b;
}

std::string render_status(const nlohmann::json& doc) {
  std::ostringstream o;
  const auto& d = doc.contains("daemon") ? doc["daemon"] : nlohmann::json::object();
  o << "Status of swanless " << str(d, "version") << ", pid " << num(d, "pid") << ", uptime "
    << human_duration(num(d, "uptime_s")) << ":\n";
  if (doc.contains("process") && doc["process"].is_object()) {
    const auto& p = doc["process"];
    std::string caps;
    if (p.contains("cap_effective") && p["cap_effective"].is_array())
      for (const auto& c : p["cap_effective"]) {
        if (!caps.empty()) caps += ' ';
        if (c.is_string()) caps += c.get<std::string>();
      }
    o << "  running as uid " << p.value("uid", 0) << ", gid " << p.value("gid", 0) << "; capabilities: "
      << (caps.empty() ? "none" : caps) << (p.value("no_new_privs", false) ? "; no_new_privs" : "")
      << (p.value("dumpable", true) ? "; core dumps possible" : "; no core dumps") << "\n";
    if (p.contains("secure_heap") && p["secure_heap"].is_object()) {
      const auto& h = p["secure_heap"];
      const auto size = h.value("size", std::uint64_t{0}), used = h.value("used", std::uint64_t{0});
      const auto fallbacks = h.value("fallbacks", std::uint64_t{0});
      if (size == 0)
        o << "  keys in ordinary memory (no secure heap), wiped on free\n";
      else
        o << "  keys in a " << (h.value("locked", false) ? "locked" : "NOT locked (may reach swap)") << " secure heap of "
          << size / 1024 << " KiB, " << used << " bytes used"
          << (fallbacks ? "; " + std::to_string(fallbacks) + " key buffer(s) in ordinary memory (heap full)" : "")
          << "\n";
    }
  }

  if (doc.contains("conns_down") && doc["conns_down"].is_array() && !doc["conns_down"].empty()) {
    o << "Down (their device could not be set up; a reload tries again):\n";
    for (const auto& d : doc["conns_down"]) o << "  " << str(d, "conn") << ": " << str(d, "reason") << "\n";
  }
  if (doc.contains("traps") && doc["traps"].is_array() && !doc["traps"].empty()) {
    // strongSwan's "Routed Connections:": the conns that traffic brings up.
    o << "Routed Connections:\n";
    for (const auto& tr : doc["traps"]) {
      const std::string tag = str(tr, "conn") + "{}";
      o << tag << ":  " << (tr.value("armed", false) ? "ROUTED" : "HOLD (armed once up)") << ", "
        << num(tr, "acquires") << " initiation(s) by traffic";
      if (num(tr, "queued")) o << ", " << num(tr, "queued") << " packet(s) waiting";
      o << "\n" << tag << ":   " << join_ts(tr["local_ts"]) << " === " << join_ts(tr["remote_ts"]) << "\n";
    }
  }
  const auto& sas = doc.contains("ike_sas") ? doc["ike_sas"] : nlohmann::json::array();
  int up = 0, connecting = 0;
  for (const auto& sa : sas) (str(sa, "state") == "ESTABLISHED" ? up : connecting)++;
  o << "Security Associations (" << up << " up, " << connecting << " connecting):\n";
  if (sas.empty()) o << "  none\n";
  for (const auto& sa : sas) {
    std::string tag = str(sa, "name") + "[" + std::to_string(num(sa, "unique_id")) + "]";
    o << tag << ": " << str(sa, "state");
    if (has(sa, "age_s")) o << " " << human_duration(num(sa, "age_s")) << " ago";
    o << ", " << endpoint(sa["local"]) << "[" << str(sa, "local_id") << "]..." << endpoint(sa["remote"]) << "["
      << str(sa, "remote_id") << "]\n";
    char spis[80];
    std::snprintf(spis, sizeof spis, "%s_i%s %s_r%s", str(sa, "spi_i").c_str(), sa.value("initiator", false) ? "*" : "",
                  str(sa, "spi_r").c_str(), sa.value("initiator", false) ? "" : "*");
    o << tag << ": IKEv2 SPIs: " << spis;
    if (!str(sa, "auth").empty()) o << ", " << str(sa, "auth");
    if (has(sa, "rekey_in_s")) o << " rekeying in " << human_duration(num(sa, "rekey_in_s"));
    if (has(sa, "reauth_in_s")) o << " reauthentication in " << human_duration(num(sa, "reauth_in_s"));
    o << "\n";
    if (!str(sa, "proposal").empty()) o << tag << ": IKE proposal: " << str(sa, "proposal") << "\n";
    if (!sa.contains("children")) continue;
    for (const auto& c : sa["children"]) {
      std::string ct = str(c, "name") + "{" + std::to_string(num(c, "unique_id")) + "}";
      o << ct << ":  " << str(c, "state") << ", " << str(c, "mode") << ", reqid " << num(c, "unique_id") << ", "
        << (c.value("encap", false) ? "ESP in UDP" : "ESP") << " SPIs: " << str(c, "spi_in") << "_i "
        << str(c, "spi_out") << "_o\n";
      o << ct << ":  " << str(c, "proposal") << ", " << num(c, "bytes_in") << " bytes_i (" << num(c, "packets_in")
        << " pkts";
      if (has(c, "last_in_s")) o << ", " << num(c, "last_in_s") << "s ago";
      o << "), " << num(c, "bytes_out") << " bytes_o (" << num(c, "packets_out") << " pkts";
      if (has(c, "last_out_s")) o << ", " << num(c, "last_out_s") << "s ago";
      o << ")";
      if (has(c, "rekey_in_s")) o << ", rekeying in " << human_duration(num(c, "rekey_in_s"));
      o << "\n";
      o << ct << ":   " << join_ts(c["local_ts"]) << " === " << join_ts(c["remote_ts"]) << "\n";
      std::string dr = drops(c.value("drops", nlohmann::json::object()));
      if (!dr.empty()) o << ct << ":   dropped: " << dr << "\n";
    }
  }

  if (doc.contains("gre") && !doc["gre"].empty()) {
    o << "GRE tunnels:\n";
    for (const auto& g : doc["gre"]) {
      o << str(g, "name") << ": " << str(g, "state") << ", " << str(g, "local") << " === " << str(g, "remote")
        << ", keepalive " << str(g, "keepalive") << "\n";
      o << str(g, "name") << ": keepalives answered " << num(g, "keepalives_answered") << ", sent "
        << num(g, "keepalives_sent") << ", received " << num(g, "keepalives_received") << "; " << num(g, "packets_in")
        << " pkts_i (" << num(g, "bytes_in") << " bytes), " << num(g, "packets_out") << " pkts_o ("
        << num(g, "bytes_out") << " bytes)\n";
      if (has(g, "mtu")) {
        o << str(g, "name") << ": mtu " << num(g, "mtu") << ", ";
        if (num(g, "mss")) o << "MSS clamped to " << num(g, "mss") << ": " << num(g, "mss_clamped_out") << " SYNs out, "
                             << num(g, "mss_clamped_in") << " in";
        else o << "MSS clamping off";
        o << "; frag-needed sent " << num(g, "frag_needed_sent") << "\n";
      }
      std::string dr = drops(g.value("drops", nlohmann::json::object()));
      if (!dr.empty()) o << str(g, "name") << ": dropped: " << dr << "\n";
    }
  }
  if (doc.contains("pim") && !doc["pim"].empty()) {
    o << "PIM:\n";
    for (const auto& p : doc["pim"]) {
      o << str(p, "name") << ": on " << str(p, "interface") << ", neighbor " << str(p, "neighbor") << " "
        << (p.value("neighbor_up", false) ? "up" : "down") << ", RP " << str(p, "rp") << "\n";
      // Two upstreams: the mode, each tunnel's health, the last fail-over, A/B arbitration.
      if (p.contains("paths") && p["paths"].is_array() && p["paths"].size() > 1) {
        o << str(p, "name") << ": upstream " << str(p, "upstream");
        if (has(p, "active")) o << ", joins on " << str(p, "active");
        o << "; fail-overs " << num(p, "failovers");
        if (p.contains("last_failover") && p["last_failover"].is_object()) {
          const auto& f = p["last_failover"];
          o << " (last " << str(f, "from") << " -> " << str(f, "to") << " " << num(f, "ago_s") << "s ago: "
            << str(f, "reason") << ")";
        }
        o << "\n";
        for (const auto& x : p["paths"]) {
          o << str(p, "name") << ":   " << str(x, "interface") << " (" << str(x, "conn") << "), neighbor "
            << str(x, "neighbor") << ": "
            << (x.value("healthy", false) ? std::string("healthy") : "down: " + str(x, "problem"))
            << (x.value("joined", false) ? ", joined" : "") << "\n";
        }
      }
      if (p.contains("dedup") && p["dedup"].is_object()) {
        const auto& d = p["dedup"];
        long long a = 0, b = 0;
        if (d.contains("delivered_by_path") && d["delivered_by_path"].is_array() && d["delivered_by_path"].size() == 2) {
          a = d["delivered_by_path"][0].get<long long>();
          b = d["delivered_by_path"][1].get<long long>();
        }
        o << str(p, "name") << ": A/B by " << str(d, "key") << ": delivered " << num(d, "delivered") << " (first from A "
          << a << ", from B " << b << "), duplicates dropped " << num(d, "duplicates") << ", gaps " << num(d, "gaps")
          << " (" << num(d, "gap_sequences") << " missing on both), too old " << num(d, "too_old") << "\n";
      }
      // The join set: (*,G) and (S,G) with who wants each; a long one is cut after a
      // screenful (status --json has all of it).
      constexpr std::size_t kShown = 16;
      std::string joins;
      std::size_t n = 0;
      if (p.contains("joins") && p["joins"].is_array()) {
        for (const auto& j : p["joins"]) {
          if (n++ >= kShown) continue;
          joins += (joins.empty() ? "" : ", ") + ("(" + str(j, "source") + "," + str(j, "group") + ")");
          if (str(j, "origin") != "config") joins += " [" + str(j, "origin") + "]";
        }
      } else if (p.contains("groups")) {
        for (const auto& g : p["groups"]) {
          if (n++ >= kShown) continue;
          joins += (joins.empty() ? "" : ", ") + ("(*," + g.get<std::string>() + ")");
        }
      }
      if (n > kShown) joins += ", ... (" + std::to_string(n) + " in all)";
      o << str(p, "name") << ": joined " << (joins.empty() ? "nothing" : joins);
      if (has(p, "last_join_s")) o << ", last join " << num(p, "last_join_s") << "s ago";
      o << "\n";
      if (p.contains("igmp") && p["igmp"].is_object()) {
        const auto& q = p["igmp"];
        o << str(p, "name") << ": IGMP querier " << str(q, "querier") << " on " << str(p, "interface") << ": "
          << num(q, "groups") << " groups with members; reports v1/v2/v3 " << num(q, "reports_v1") << "/"
          << num(q, "reports_v2") << "/" << num(q, "reports_v3") << ", leaves " << num(q, "leaves")
          << "; queries sent " << num(q, "general_queries_sent") << " general, " << num(q, "group_queries_sent")
          << " group, " << num(q, "group_source_queries_sent") << " group-and-source\n";
        std::size_t m = 0;
        for (const auto& g : q.value("members", nlohmann::json::array())) {
          if (m++ >= kShown) continue;
          o << str(p, "name") << ":   " << str(g, "group") << " " << str(g, "mode") << " v" << num(g, "version");
          std::string srcs;
          for (const auto& src : g.value("sources", nlohmann::json::array()))
            srcs += (srcs.empty() ? "" : ", ") + str(src, "source");
          if (!srcs.empty()) o << " sources " << srcs;
          if (has(g, "expires_s")) o << ", expires in " << num(g, "expires_s") << "s";
          o << ", last report from " << str(g, "last_reporter") << "\n";
        }
        if (m > kShown) o << str(p, "name") << ":   ... (" << m << " groups in all)\n";
        std::string qd = drops(q.value("drops", nlohmann::json::object()));
        if (!qd.empty()) o << str(p, "name") << ": IGMP dropped: " << qd << "\n";
      }
      o << str(p, "name") << ": delivered " << num(p, "datagrams_delivered") << " datagrams ("
        << num(p, "bytes_delivered") << " bytes)\n";
      std::string dr = drops(p.value("drops", nlohmann::json::object()));
      if (!dr.empty()) o << str(p, "name") << ": dropped: " << dr << "\n";
    }
  }
  if (doc.contains("counters")) {
    std::string dr = drops(doc["counters"]);
    if (!dr.empty()) o << "Counters: " << dr << "\n";
  }
  return o.str();
}

nlohmann::json filter_group(nlohmann::json doc, const std::string& group) {
  auto keep = [&group](nlohmann::json& arr, bool plain) {
    if (!arr.is_array()) return;
    nlohmann::json out = nlohmann::json::array();
    for (auto& e : arr)
      if (plain ? (e.is_string() && e.get<std::string>() == group) : str(e, "group") == group) out.push_back(std::move(e));
    arr = std::move(out);
  };
  if (!doc.contains("pim") || !doc["pim"].is_array()) return doc;
  for (auto& p : doc["pim"]) {
    if (p.contains("groups")) keep(p["groups"], true);
    if (p.contains("joins")) keep(p["joins"], false);
    if (p.contains("delivered_by_group")) keep(p["delivered_by_group"], false);
    if (p.contains("igmp") && p["igmp"].is_object() && p["igmp"].contains("members")) keep(p["igmp"]["members"], false);
  }
  return doc;
}

std::string watch_frame(const std::string& text) {
  std::string f = "\x1b[H";
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    f.append(text, start, nl - start);
    f += "\x1b[K\n";
    start = nl + 1;
  }
  f += "\x1b[J";
  return f;
}

void watch_status(const std::function<nlohmann::json()>& fetch, std::ostream& out, const WatchOptions& options) {
  out << "\x1b[2J";
  for (std::size_t n = 0; options.frames == 0 || n < options.frames; ++n) {
    if (n > 0) std::this_thread::sleep_for(options.interval);
    const nlohmann::json r = fetch();
    std::string text;
    if (r.value("ok", false) && r.contains("status"))
      text = render_status(r["status"]);
    else
      text = "swanless: " + r.value("error", std::string("no answer")) + "\n";
    out << watch_frame(text) << std::flush;
  }
}

}  // namespace apps
