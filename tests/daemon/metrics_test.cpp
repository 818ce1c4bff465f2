// daemon/metrics.h: the exposition text of a status document, and the HTTP server that
// serves it (a real socket on 127.0.0.1, the event loop in a thread).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "daemon/metrics.h"

using nlohmann::json;

namespace {

json sample() {
  return json::parse(R"({
    "schema_version": 1,
    "daemon": {"version": "0.1.0", "pid": 42, "uptime_s": 100},
    "ike_sas": [
      {"name": "dc-tun", "state": "ESTABLISHED", "children": [
        {"name": "dc-tun-gre", "state": "INSTALLED", "bytes_in": 1000, "packets_in": 10, "bytes_out": 500,
         "packets_out": 5, "drops": {"in_integrity": 3}},
        {"name": "dc-tun-gre", "state": "REKEYED", "bytes_in": 24, "packets_in": 1, "bytes_out": 0,
         "packets_out": 0, "drops": {"in_integrity": 1, "in_replay": 2}}]},
      {"name": "we\"ird", "state": "CONNECTING", "children": []}],
    "gre": [{"name": "gre1", "state": "UP", "keepalives_answered": 7, "keepalives_sent": 0, "keepalives_received": 0,
             "keepalives_missed": 2, "packets_in": 9, "bytes_in": 900, "packets_out": 2, "bytes_out": 200, "drops": {"not_gre": 1}}],
    "pim": [{"name": "upstream", "neighbor_up": true, "joined": true, "groups": ["233.252.0.1", "233.252.0.2"],
             "last_join_s": 12, "hellos_sent": 4, "hellos_received": 3, "joins_sent": 2,
             "datagrams_delivered": 10000, "bytes_delivered": 1280000, "drops": {"rx_bad_checksum": 0},
             "neighbor_restarts": 1, "neighbor_expiries": 0,
             "delivered_by_group": [{"group": "233.252.0.1", "datagrams": 9000, "bytes": 1},
                                    {"group": "233.252.0.2", "datagrams": 1000, "bytes": 1}]}],
    "traps": [{"conn": "od", "armed": true, "queued": 3, "acquires": 2, "local_ts": [], "remote_ts": []},
              {"conn": "held", "armed": false, "queued": 0, "acquires": 0, "local_ts": [], "remote_ts": []}],
    "conns_down": [{"conn": "pol", "reason": "cannot create TUN device swanless0: busy", "retry": "x"}],
    "counters": {"ike_rx": 5, "rekey_failures": 0, "out_no_sa": 4},
    "tun_offload": {}
  })");
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// One HTTP exchange on 127.0.0.1:port; the whole answer (the server closes).
std::string http_exchange(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("metrics: the status document as Prometheus text") {
  const std::string t = swld::prometheus_text(sample(), 1000000.5);
  INFO(t);
  CHECK(has_line(t, "# TYPE swanless_build_info gauge"));
  CHECK(has_line(t, "swanless_build_info{version=\"0.1.0\"} 1"));
  CHECK(has_line(t, "swanless_start_time_seconds 999900"));
  CHECK(has_line(t, "swanless_ike_sa_established{ike_sa=\"dc-tun\"} 1"));
  CHECK(has_line(t, "swanless_ike_sa_established{ike_sa=\"we\\\"ird\"} 0"));  // label value escaped
  // Two SAs of one CHILD_SA name (a rekey in progress) are one series, summed.
  CHECK(has_line(t, "swanless_child_sa_installed{ike_sa=\"dc-tun\",child=\"dc-tun-gre\"} 1"));
  CHECK(has_line(t, "swanless_child_sa_bytes_total{ike_sa=\"dc-tun\",child=\"dc-tun-gre\",direction=\"in\"} 1024"));
  CHECK(has_line(t, "swanless_child_sa_packets_total{ike_sa=\"dc-tun\",child=\"dc-tun-gre\",direction=\"out\"} 5"));
  CHECK(has_line(t, "swanless_child_sa_drops_total{ike_sa=\"dc-tun\",child=\"dc-tun-gre\",reason=\"in_integrity\"} 4"));
  CHECK(has_line(t, "swanless_child_sa_drops_total{ike_sa=\"dc-tun\",child=\"dc-tun-gre\",reason=\"in_replay\"} 2"));
  CHECK(has_line(t, "swanless_child_sa_drops_total{ike_sa=\"dc-tun\",child=\"dc-tun-gre\",reason=\"out_no_room\"} 0"));
  CHECK(has_line(t, "swanless_events_total{event=\"out_no_sa\"} 4"));
  CHECK(has_line(t, "swanless_trap_armed{conn=\"od\"} 1"));
  CHECK(has_line(t, "swanless_trap_armed{conn=\"held\"} 0"));
  CHECK(has_line(t, "swanless_trap_queued_packets{conn=\"od\"} 3"));
  CHECK(has_line(t, "swanless_trap_initiations_total{conn=\"od\"} 2"));
  CHECK(has_line(t, "swanless_conn_down{conn=\"pol\"} 1"));
  CHECK(has_line(t, "swanless_events_total{event=\"rekey_failures\"} 0"));
  CHECK(has_line(t, "swanless_gre_up{gre=\"gre1\"} 1"));
  CHECK(has_line(t, "swanless_gre_keepalives_total{gre=\"gre1\",direction=\"answered\"} 7"));
  CHECK(has_line(t, "swanless_gre_bytes_total{gre=\"gre1\",direction=\"in\"} 900"));
  CHECK(has_line(t, "swanless_gre_keepalives_missed{gre=\"gre1\"} 2"));
  CHECK(has_line(t, "swanless_gre_drops_total{gre=\"gre1\",reason=\"not_gre\"} 1"));
  CHECK(has_line(t, "swanless_pim_neighbor_up{pim=\"upstream\"} 1"));
  CHECK(has_line(t, "swanless_pim_groups{pim=\"upstream\"} 2"));
  CHECK(has_line(t, "swanless_pim_last_join_age_seconds{pim=\"upstream\"} 12"));
  CHECK(has_line(t, "swanless_pim_hellos_total{pim=\"upstream\",direction=\"received\"} 3"));
  CHECK(has_line(t, "swanless_pim_delivered_datagrams_total{pim=\"upstream\"} 10000"));
  CHECK(has_line(t, "swanless_pim_drops_total{pim=\"upstream\",reason=\"rx_bad_checksum\"} 0"));
  CHECK(has_line(t, "swanless_pim_neighbor_restarts_total{pim=\"upstream\"} 1"));
  CHECK(has_line(t, "swanless_pim_group_delivered_datagrams_total{pim=\"upstream\",group=\"233.252.0.2\"} 1000"));
  // Each family's HELP and TYPE once, before its samples.
  std::size_t types = 0;
  for (std::size_t p = t.find("# TYPE swanless_child_sa_bytes_total"); p != std::string::npos;
       p = t.find("# TYPE swanless_child_sa_bytes_total", p + 1))
    ++types;
  CHECK(types == 1);
  CHECK(t.find("# HELP swanless_child_sa_bytes_total") < t.find("swanless_child_sa_bytes_total{"));
}

TEST_CASE("metrics: an empty or odd document still renders the process series") {
  const std::string t = swld::prometheus_text(json::object(), 50.0);
  CHECK(has_line(t, "swanless_build_info{version=\"\"} 1"));
  CHECK(has_line(t, "swanless_start_time_seconds 50"));
  CHECK(t.find("swanless_child_sa") == std::string::npos);
  const std::string odd = swld::prometheus_text(json::parse(R"({"ike_sas": 3, "gre": {"x": 1}, "counters": [1]})"), 0);
  CHECK(odd.find("swanless_gre_up") == std::string::npos);
}

TEST_CASE("metrics: the server answers GET /metrics, refuses the rest, survives garbage") {
  boost::asio::io_context io;
  int scrapes = 0;
  swld::MetricsServer server(io, [&] {
    ++scrapes;
    return sample();
  });
  REQUIRE(server.open({*common::IpAddr::parse("127.0.0.1"), 0}));
  const std::uint16_t port = server.port();
  REQUIRE(port != 0);
  auto guard = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  const std::string ok = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(ok.find("\r\n\r\n# HELP swanless_build_info") != std::string::npos);
  CHECK(ok.find("swanless_pim_delivered_datagrams_total{pim=\"upstream\"} 10000\n") != std::string::npos);
  CHECK(http_exchange(port, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 404", 0) == 0);
  CHECK(http_exchange(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405", 0) == 0);
  CHECK(http_exchange(port, "hello, this is not HTTP\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200 OK", 0) == 0);
  CHECK(scrapes == 2);

  server.stop();
  guard.reset();
  io.stop();
  loop.join();
}
