#include "daemon/metrics.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"
#include "esp/sa.h"

namespace swld {

namespace {

using nlohmann::json;
using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values escaped as the exposition format wants: backslash, double quote, newline.
std::string escape(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

std::string number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

// The families in the order first used; each with its HELP, TYPE and samples.
class Exposition {
 public:
  void add(const std::string& name, const char* type, const char* help, const Labels& labels, double value) {
    auto it = index_.find(name);
    if (it == index_.end()) {
      it = index_.emplace(name, families_.size()).first;
      families_.push_back({name, type, help, {}});
    }
    std::string line = name;
    if (!labels.empty()) {
      line += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) line += ',';
        line += labels[i].first + "=\"" + escape(labels[i].second) + '"';
      }
      line += '}';
    }
    families_[it->second].samples.push_back(line + ' ' + number(value));
  }
  std::string text() const {
    std::string o;
    for (const auto& f : families_) {
      o += "# HELP " + f.name + ' ' + f.help + "\n# TYPE " + f.name + ' ' + f.type + '\n';
      for (const auto& s : f.samples) o += s + '\n';
    }
    return o;
  }

 private:
  struct Family {
    std::string name;
    const char* type;
    const char* help;
    std::vector<std::string> samples;
  };
  std::vector<Family> families_;
  std::map<std::string, std::size_t> index_;
};

double num(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
std::string str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
// j[k] when it is there, else an empty object or array: a reference, so that iterating
// over its items() does not outlive a temporary.
const json& member(const json& j, const char* k, bool array = false) {
  static const json empty_object = json::object(), empty_array = json::array();
  auto it = j.find(k);
  if (it != j.end() && (array ? it->is_array() : it->is_object())) return *it;
  return array ? empty_array : empty_object;
}
bool flag(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

struct ChildSum {
  bool installed = false;
  double bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::map<std::string, double> drops;
};

}  // namespace

std::string prometheus_text(const json& doc, double now_unix) {
  Exposition e;
  const json& d = member(doc, "daemon");
  e.add("swanless_build_info", "gauge", "The running swanless version (always 1).", {{"version", str(d, "version")}}, 1);
  e.add("swanless_start_time_seconds", "gauge", "When the process started, in seconds since the epoch.", {},
        std::floor(now_unix - num(d, "uptime_s")));
  if (doc.contains("process")) {
    const json& pr = member(doc, "process");
    e.add("swanless_process_uid", "gauge", "The effective uid swanless runs as (0: root, see user=).", {}, num(pr, "uid"));
    e.add("swanless_process_capabilities", "gauge", "Capabilities in the effective set.", {},
          static_cast<double>(member(pr, "cap_effective", true).size()));
    e.add("swanless_process_dumpable", "gauge", "1 if a core dump (holding keys) is possible, see dumpable=.", {},
          pr.value("dumpable", true) ? 1 : 0);
    if (pr.contains("secure_heap")) {
      const json& h = member(pr, "secure_heap");
      e.add("swanless_secure_heap_bytes", "gauge", "Size of the secure heap that holds key material (0: none).", {},
            num(h, "size"));
      e.add("swanless_secure_heap_used_bytes", "gauge", "Bytes of the secure heap in use.", {}, num(h, "used"));
      e.add("swanless_secure_heap_locked", "gauge", "1 if the secure heap's pages are locked out of swap.", {},
            h.value("locked", false) ? 1 : 0);
      e.add("swanless_secure_heap_fallbacks_total", "counter",
            "Key buffers that went to ordinary memory because the secure heap was full.", {}, num(h, "fallbacks"));
    }
  }

  std::map<std::string, bool> ike_up;
  std::map<std::pair<std::string, std::string>, ChildSum> children;
  for (const auto& sa : member(doc, "ike_sas", true)) {
    const std::string name = str(sa, "name");
    ike_up[name] = ike_up[name] || str(sa, "state") == "ESTABLISHED";
    for (const auto& c : member(sa, "children", true)) {
      auto [it, fresh] = children.try_emplace({name, str(c, "name")});
      ChildSum& s = it->second;
      if (fresh)  // every ESP drop reason, zero until counted: series that exist before the first drop
        for (std::size_t r = 1; r < esp::kDropReasons; ++r)
          for (const char* dir : {"in_", "out_"})
            s.drops[dir + std::string(esp::to_string(static_cast<esp::Drop>(r)))] = 0;
      s.installed = s.installed || str(c, "state") == "INSTALLED";
      s.bytes_in += num(c, "bytes_in");
      s.bytes_out += num(c, "bytes_out");
      s.packets_in += num(c, "packets_in");
      s.packets_out += num(c, "packets_out");
      for (const auto& [reason, n] : member(c, "drops").items())
        if (n.is_number()) s.drops[reason] += n.get<double>();
    }
  }
  for (const auto& [name, up] : ike_up)
    e.add("swanless_ike_sa_established", "gauge", "1 when an IKE_SA of this name is ESTABLISHED.", {{"ike_sa", name}},
          up ? 1 : 0);
  for (const auto& [key, s] : children) {
    const Labels l{{"ike_sa", key.first}, {"child", key.second}};
    e.add("swanless_child_sa_installed", "gauge", "1 when a CHILD_SA of this name is INSTALLED.", l, s.installed ? 1 : 0);
  }
  for (const auto& [key, s] : children)
    for (const char* dir : {"in", "out"}) {
      Labels l{{"ike_sa", key.first}, {"child", key.second}, {"direction", dir}};
      e.add("swanless_child_sa_bytes_total", "counter", "Inner bytes through the CHILD_SAs of this name.", l,
            dir[0] == 'i' ? s.bytes_in : s.bytes_out);
    }
  for (const auto& [key, s] : children)
    for (const char* dir : {"in", "out"}) {
      Labels l{{"ike_sa", key.first}, {"child", key.second}, {"direction", dir}};
      e.add("swanless_child_sa_packets_total", "counter", "Packets through the CHILD_SAs of this name.", l,
            dir[0] == 'i' ? s.packets_in : s.packets_out);
    }
  for (const auto& [key, s] : children)
    for (const auto& [reason, n] : s.drops)
      e.add("swanless_child_sa_drops_total", "counter", "ESP packets dropped by a CHILD_SA, by reason.",
            {{"ike_sa", key.first}, {"child", key.second}, {"reason", reason}}, n);

  // Trapped conns (auto=route; hold once up) and conns down for want of their device.
  for (const auto& t : member(doc, "traps", true)) {
    const Labels l{{"conn", str(t, "conn")}};
    e.add("swanless_trap_armed", "gauge", "1 while a trapped conn's next packet without an SA initiates it.", l,
          t.value("armed", false) ? 1 : 0);
  }
  for (const auto& t : member(doc, "traps", true))
    e.add("swanless_trap_queued_packets", "gauge", "Packets waiting for a trapped conn's SA to come up.",
          {{"conn", str(t, "conn")}}, num(t, "queued"));
  for (const auto& t : member(doc, "traps", true))
    e.add("swanless_trap_initiations_total", "counter", "Initiations of a trapped conn that its traffic started.",
          {{"conn", str(t, "conn")}}, num(t, "acquires"));
  for (const auto& c : member(doc, "conns_down", true))
    e.add("swanless_conn_down", "gauge",
          "1 for a conn that stays down because its TUN device, address or route could not be set up.",
          {{"conn", str(c, "conn")}}, 1);

  for (const auto& [event, n] : member(doc, "counters").items())
    if (n.is_number())
      e.add("swanless_events_total", "counter",
            "The status document's counters: IKE messages, retransmissions, rekeys and their failures, the "
            "daemon's drops.",
            {{"event", event}}, n.get<double>());

  const json& gres = member(doc, "gre", true);
  for (const auto& g : gres)
    e.add("swanless_gre_up", "gauge", "1 when the GRE tunnel is up.", {{"gre", str(g, "name")}},
          str(g, "state") == "UP" ? 1 : 0);
  for (const auto& g : gres)
    for (const char* k : {"answered", "sent", "received"})
      e.add("swanless_gre_keepalives_total", "counter",
            "GRE keepalives: the peer's answered, our own sent, our own received back.",
            {{"gre", str(g, "name")}, {"direction", k}}, num(g, ("keepalives_" + std::string(k)).c_str()));
  for (const auto& g : gres)
    e.add("swanless_gre_keepalives_missed", "gauge",
          "Our own GRE keepalives unanswered in a row (keepalive=Ns; the tunnel goes down at the retry limit).",
          {{"gre", str(g, "name")}}, num(g, "keepalives_missed"));
  for (const auto& g : gres)
    for (const char* dir : {"in", "out"}) {
      e.add("swanless_gre_packets_total", "counter", "Packets through the GRE tunnel.",
            {{"gre", str(g, "name")}, {"direction", dir}}, num(g, ("packets_" + std::string(dir)).c_str()));
    }
  for (const auto& g : gres)
    for (const char* dir : {"in", "out"})
      e.add("swanless_gre_bytes_total", "counter", "Bytes through the GRE tunnel.",
            {{"gre", str(g, "name")}, {"direction", dir}}, num(g, ("bytes_" + std::string(dir)).c_str()));
  for (const auto& g : gres)
    for (const auto& [reason, n] : member(g, "drops").items())
      if (n.is_number())
        e.add("swanless_gre_drops_total", "counter", "Packets the GRE tunnel dropped, by reason.",
              {{"gre", str(g, "name")}, {"reason", reason}}, n.get<double>());

  const json& pims = member(doc, "pim", true);
  for (const auto& p : pims) {
    const Labels l{{"pim", str(p, "name")}};
    e.add("swanless_pim_neighbor_up", "gauge", "1 while the PIM neighbor (the RP side) is up.", l,
          flag(p, "neighbor_up") ? 1 : 0);
  }
  for (const auto& p : pims)
    e.add("swanless_pim_joined", "gauge", "1 while the (*,G) joins are in place.", {{"pim", str(p, "name")}},
          flag(p, "joined") ? 1 : 0);
  for (const auto& p : pims)
    e.add("swanless_pim_groups", "gauge", "Groups joined: configured ones and those local members asked for.",
          {{"pim", str(p, "name")}}, static_cast<double>(member(p, "groups", true).size()));
  for (const auto& p : pims) {
    auto it = p.find("igmp");
    if (it == p.end() || !it->is_object()) continue;
    const json& q = *it;
    const Labels l{{"pim", str(p, "name")}};
    e.add("swanless_pim_igmp_groups", "gauge", "Groups with local members, as the IGMP querier sees them.", l,
          num(q, "groups"));
    for (const char* v : {"1", "2", "3"})
      e.add("swanless_pim_igmp_reports_total", "counter", "IGMP membership reports read from the device, by version.",
            {{"pim", str(p, "name")}, {"version", v}}, num(q, ("reports_v" + std::string(v)).c_str()));
    e.add("swanless_pim_igmp_leaves_total", "counter", "IGMPv2 leaves read from the device.", l, num(q, "leaves"));
    for (const char* k : {"general", "group", "group_source"})
      e.add("swanless_pim_igmp_queries_sent_total", "counter", "IGMP queries written into the device, by kind.",
            {{"pim", str(p, "name")}, {"kind", k}}, num(q, (std::string(k) + "_queries_sent").c_str()));
    for (const auto& [reason, n] : member(q, "drops").items())
      if (n.is_number())
        e.add("swanless_pim_igmp_drops_total", "counter", "IGMP messages and records refused, by reason.",
              {{"pim", str(p, "name")}, {"reason", reason}}, n.get<double>());
  }
  for (const auto& p : pims) {
    const json& paths = member(p, "paths", true);
    if (paths.size() < 2) continue;
    for (const auto& x : paths) {
      const Labels l{{"pim", str(p, "name")}, {"gre", str(x, "interface")}};
      e.add("swanless_pim_path_healthy", "gauge",
            "1 while a tunnel of a two-upstream pim section can carry the joins (CHILD_SA, keepalives, neighbor).", l,
            flag(x, "healthy") ? 1 : 0);
      e.add("swanless_pim_path_joined", "gauge", "1 while the joins are on this tunnel.", l, flag(x, "joined") ? 1 : 0);
    }
    e.add("swanless_pim_failovers_total", "counter", "Times the joins moved from one tunnel to the other.",
          {{"pim", str(p, "name")}}, num(p, "failovers"));
  }
  for (const auto& p : pims) {
    auto it = p.find("dedup");
    if (it == p.end() || !it->is_object()) continue;
    const Labels l{{"pim", str(p, "name")}};
    e.add("swanless_pim_dedup_duplicates_total", "counter", "Later A/B copies dropped by the de-duplicator.", l,
          num(*it, "duplicates"));
    e.add("swanless_pim_dedup_gap_sequences", "gauge", "Sequence numbers that neither tunnel delivered.", l,
          num(*it, "gap_sequences"));
    const json& by = member(*it, "delivered_by_path", true);
    for (std::size_t i = 0; i < by.size() && i < 2; ++i)
      e.add("swanless_pim_dedup_first_copies_total", "counter", "Datagrams whose first copy came by this path.",
            {{"pim", str(p, "name")}, {"path", i == 0 ? "a" : "b"}}, by[i].get<double>());
  }
  for (const auto& p : pims)
    for (const char* dir : {"join", "prune"})
      e.add("swanless_pim_member_changes_total", "counter",
            "Join set entries added because of local members, and pruned when the last one left.",
            {{"pim", str(p, "name")}, {"change", dir}}, num(p, (std::string("member_") + dir + "s").c_str()));
  for (const auto& p : pims) {
    auto it = p.find("last_join_s");
    if (it != p.end() && it->is_number())
      e.add("swanless_pim_last_join_age_seconds", "gauge", "Seconds since the last Join/Prune was sent.",
            {{"pim", str(p, "name")}}, it->get<double>());
  }
  for (const auto& p : pims)
    for (const char* dir : {"sent", "received"})
      e.add("swanless_pim_hellos_total", "counter", "PIM Hellos sent and received.",
            {{"pim", str(p, "name")}, {"direction", dir}}, num(p, ("hellos_" + std::string(dir)).c_str()));
  for (const auto& p : pims)
    e.add("swanless_pim_joins_sent_total", "counter", "Join/Prune messages sent.", {{"pim", str(p, "name")}},
          num(p, "joins_sent"));
  for (const auto& p : pims)
    e.add("swanless_pim_neighbor_restarts_total", "counter",
          "Generation ID changes of the PIM neighbor: it restarted and lost our joins.", {{"pim", str(p, "name")}},
          num(p, "neighbor_restarts"));
  for (const auto& p : pims)
    e.add("swanless_pim_triggers_deferred_total", "counter",
          "Neighbor restarts within the hold-off of a triggered Join, folded into one deferred Join.",
          {{"pim", str(p, "name")}}, num(p, "triggers_deferred"));
  for (const auto& p : pims)
    e.add("swanless_pim_neighbor_expiries_total", "counter", "PIM neighbor timeouts (or holdtime 0 Hellos).",
          {{"pim", str(p, "name")}}, num(p, "neighbor_expiries"));
  for (const auto& p : pims)
    e.add("swanless_pim_delivered_datagrams_total", "counter", "Multicast datagrams delivered locally.",
          {{"pim", str(p, "name")}}, num(p, "datagrams_delivered"));
  for (const auto& p : pims)
    e.add("swanless_pim_delivered_bytes_total", "counter", "Bytes of multicast delivered locally.",
          {{"pim", str(p, "name")}}, num(p, "bytes_delivered"));
  for (const auto& p : pims)
    for (const auto& g : member(p, "delivered_by_group", true))
      e.add("swanless_pim_group_delivered_datagrams_total", "counter", "Multicast datagrams delivered, per group.",
            {{"pim", str(p, "name")}, {"group", str(g, "group")}}, num(g, "datagrams"));
  for (const auto& p : pims)
    for (const auto& [reason, n] : member(p, "drops").items())
      if (n.is_number())
        e.add("swanless_pim_drops_total", "counter", "PIM and multicast packets dropped, by reason.",
              {{"pim", str(p, "name")}, {"reason", reason}}, n.get<double>());
  return e.text();
}

// ---------------------------------------------------------------------------------------
// serving

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxConnections = 16;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::size_t kHeaderLimit = 8192;

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  asio::io_context& io;
  std::function<json()> status;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::size_t active = 0;
  bool stopping = false;

  Impl(asio::io_context& i, std::function<json()> s) : io(i), status(std::move(s)) {}

  http::response<http::string_body> answer(const http::request<http::empty_body>& req) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::server, "swanless");
    const auto target = req.target();
    const bool metrics = target == "/metrics" || target.starts_with("/metrics?");
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = "only GET /metrics\n";
    } else if (!metrics) {
      res.result(http::status::not_found);
      res.body() = "swanless serves /metrics only\n";
    } else {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      const double now_unix =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      res.body() = prometheus_text(status(), now_unix);
    }
    if (res.result() != http::status::ok) res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  void serve(tcp::socket sock) {
    struct Session {
      beast::tcp_stream stream;
      beast::flat_buffer buf{kHeaderLimit};
      http::request_parser<http::empty_body> parser;
      http::response<http::string_body> res;
      explicit Session(tcp::socket s) : stream(std::move(s)) {
        parser.header_limit(kHeaderLimit);
        parser.body_limit(0);
      }
    };
    auto s = std::make_shared<Session>(std::move(sock));
    ++active;
    auto self = shared_from_this();
    auto done = [self, s] {
      beast::error_code ignored;
      s->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      s->stream.close();
      --self->active;
    };
    s->stream.expires_after(kRequestTimeout);
    http::async_read(s->stream, s->buf, s->parser, [self, s, done](beast::error_code ec, std::size_t) {
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout) {
          // A malformed or oversized request: answered, counted in the log at debug level.
          LOG_DEBUG("metrics: bad request: %s", ec.message().c_str());
          s->res = http::response<http::string_body>(http::status::bad_request, 11);
          s->res.set(http::field::content_type, "text/plain; charset=utf-8");
          s->res.body() = "bad request\n";
          s->res.keep_alive(false);
          s->res.prepare_payload();
          http::async_write(s->stream, s->res, [done](beast::error_code, std::size_t) { done(); });
          return;
        }
        done();
        return;
      }
      s->res = self->answer(s->parser.get());
      http::async_write(s->stream, s->res, [done](beast::error_code, std::size_t) { done(); });
    });
  }

  void accept() {
    auto self = shared_from_this();
    acceptor->async_accept([self](boost::system::error_code ec, tcp::socket sock) {
      if (ec || self->stopping) return;
      if (self->active >= kMaxConnections) {
        boost::system::error_code ignored;
        sock.close(ignored);  // a scraper gone wild does not take the loop's memory
      } else {
        self->serve(std::move(sock));
      }
      self->accept();
    });
  }
};

MetricsServer::MetricsServer(asio::io_context& io, std::function<json()> status)
    : impl_(std::make_shared<Impl>(io, std::move(status))) {}

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::open(const common::Endpoint& at) {
  try {
    auto a = std::make_unique<tcp::acceptor>(impl_->io);
    tcp::endpoint ep(asio::ip::make_address_v4(at.addr.to_string()), at.port);
    a->open(ep.protocol());
    a->set_option(tcp::acceptor::reuse_address(true));
    a->bind(ep);
    a->listen(64);
    impl_->acceptor = std::move(a);
  } catch (const std::exception& e) {
    LOG_ERROR("cannot serve metrics on %s: %s", at.to_string().c_str(), e.what());
    return false;
  }
  impl_->accept();
  LOG_INFO("metrics on http://%s:%u/metrics", at.addr.to_string().c_str(), static_cast<unsigned>(port()));
  return true;
}

std::uint16_t MetricsServer::port() const {
  if (!impl_->acceptor) return 0;
  boost::system::error_code ec;
  auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void MetricsServer::stop() {
  impl_->stopping = true;
  if (impl_->acceptor) {
    boost::system::error_code ignored;
    impl_->acceptor->close(ignored);
  }
}

}  // namespace swld
