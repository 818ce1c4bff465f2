// The receive path's batch stage (DataPath::on_udp_batch, daemon/inbound.cpp) with real
// crypto and without a network namespace: a batch laid out as UdpSocket::recv_batch leaves
// it, ESP built by the far gateway's own outbound SA (esp::Sa::encap) around GRE
// (gre::Tunnel) around IPv4/UDP to a multicast group, delivered by a pim section's
// deliver=udp to a loopback socket that this test reads. Each bad datagram is dropped and
// counted under its own reason; the good ones arrive once each, in order.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>
#include <vector>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "common/crypto.h"
#include "config/config.h"
#include "daemon/child_table.h"
#include "daemon/data_path.h"
#include "daemon/overlay.h"
#include "daemon/status.h"
#include "esp/esp_test_util.h"
#include "gre/ipv4.h"
#include "gre/tunnel.h"
#include "ike/engine.h"
#include "ike/message.h"

using namespace swld;
using common::Bytes;
using common::Endpoint;
using common::IpAddr;

namespace {

// The site of examples/seed-aws.conf, without TUN devices: GRE 10.44.6.1 (here) to
// 10.44.7.1 (the far gateway) inside the CHILD_SA, group 239.1.1.1 delivered to a UDP port.
constexpr const char* kConfig = R"(conn dc
    keyexchange=ikev2
    authby=secret
    left=198.51.100.1
    right=192.0.2.2
    leftsubnet=10.44.6.1/32
    rightsubnet=10.44.7.1/32
    auto=add

gre gre1
    conn=dc
    local=10.44.6.1
    remote=10.44.7.1
    address=10.44.4.6/30
    peer=10.44.4.5
    tun=no

pim upstream
    interface=gre1
    neighbor=10.44.4.5
    rp=100.15.30.253
    groups=239.1.1.1
    deliver=udp:127.0.0.1:%PORT%
)";

constexpr std::uint32_t kSpiIn = 0xc1000001;   // ours: the far gateway's outbound SA
constexpr std::uint32_t kSpiOut = 0xc2000002;  // the far gateway's inbound SA
constexpr std::size_t kPayload = 64;           // UDP payload: a 4-byte number, then a pattern

const Endpoint kHere{*IpAddr::parse("198.51.100.1"), 4500};
const Endpoint kThere{*IpAddr::parse("192.0.2.2"), 4500};

config::Config site_config(std::uint16_t port) {
  std::string text = kConfig;
  text.replace(text.find("%PORT%"), 6, std::to_string(port));
  config::ParseOptions none;
  none.include = {};
  auto r = config::parse_string(text, "/etc/swanless/batch.conf", none);
  INFO((r.errors.empty() ? std::string() : r.errors[0].to_string()));
  REQUIRE(r.ok());
  return *r.config;
}

common::TrafficSelector ts(const char* prefix) {
  return common::TrafficSelector::from_prefix(*common::Prefix::parse(prefix));
}

// One CHILD_SA pair as the engine would install it, seen from here (far = false) or from
// the far gateway (far = true): each side's outbound keys are the other's inbound keys.
ike::ChildSaInstall child(const esp_test::Suite& s, bool far) {
  const auto here = esp_test::keys_for(s, 0x10), there = esp_test::keys_for(s, 0x70);
  ike::ChildSaInstall c;
  c.child_name = "dc";
  c.encr = s.encr;
  c.integ = s.integ;
  c.spi_in = far ? kSpiOut : kSpiIn;
  c.spi_out = far ? kSpiIn : kSpiOut;
  c.encr_key_in = far ? here.encr : there.encr;
  c.integ_key_in = far ? here.integ : there.integ;
  c.encr_key_out = far ? there.encr : here.encr;
  c.integ_key_out = far ? there.integ : here.integ;
  c.local_ts = {ts(far ? "10.44.7.1/32" : "10.44.6.1/32")};
  c.remote_ts = {ts(far ? "10.44.6.1/32" : "10.44.7.1/32")};
  c.local = far ? kThere : kHere;
  c.remote = far ? kHere : kThere;
  c.udp_encap = true;
  return c;
}

// What the application behind deliver=udp gets: the numbers its datagrams carry, in the
// order they came. Loopback: a datagram is queued here by the time sendmmsg returns.
class App {
 public:
  App() {
    REQUIRE(sock_.open(Endpoint{IpAddr::v4(0x7f000001), 0}));
    sockaddr_in a{};
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(sock_.fd(), reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  std::uint16_t port() const { return port_; }
  std::vector<std::uint32_t> take() {
    std::vector<std::uint32_t> got;
    while (sock_.recv_batch(rx_) > 0)
      for (const auto& d : rx_) {
        REQUIRE(d.len >= 4);
        common::Reader r(common::ByteSpan(d.data, d.len));
        got.push_back(r.u32());
      }
    return got;
  }

 private:
  UdpSocket sock_;
  std::uint16_t port_ = 0;
  std::vector<Datagram> rx_;
};

// A receive batch as UdpSocket::recv_batch leaves it: every buffer behind kRxHeadroom
// writable bytes, from the far gateway to our port 4500 (or `port`).
class Batch {
 public:
  void add(common::ByteSpan payload, std::uint16_t port = 4500) { add_gro({common::to_bytes(payload)}, port); }
  // UDP GRO: the datagrams back to back in one buffer, each but the last of gso_size bytes
  // (the size of the first).
  void add_gro(const std::vector<Bytes>& parts, std::uint16_t port = 4500) {
    Entry e;
    e.buf.assign(UdpSocket::kRxHeadroom, std::byte{0xee});
    for (const auto& p : parts) common::append(e.buf, p);
    e.gso_size = parts.size() > 1 ? parts[0].size() : 0;
    e.port = port;
    entries_.push_back(std::move(e));
  }
  std::vector<Datagram> datagrams() {
    std::vector<Datagram> out;
    for (auto& e : entries_) {
      Datagram d;
      d.local = Endpoint{kHere.addr, e.port};
      d.remote = Endpoint{kThere.addr, e.port};
      d.data = e.buf.data() + UdpSocket::kRxHeadroom;
      d.len = e.buf.size() - UdpSocket::kRxHeadroom;
      d.gso_size = e.gso_size;
      out.push_back(d);
    }
    return out;
  }

 private:
  struct Entry {
    Bytes buf;
    std::size_t gso_size = 0;
    std::uint16_t port = 4500;
  };
  std::vector<Entry> entries_;
};

// Our side (the daemon's data path and overlay) and the far gateway's (its outbound SA and
// GRE tunnel, which build what we receive).
struct Site {
  explicit Site(const esp_test::Suite& s) {
    REQUIRE(overlay.open());
    dp.set_overlay(&overlay);
    REQUIRE(children.install(child(s, false)));
    REQUIRE(far.install(child(s, true)));
  }

  // Datagram n of the stream: IPv4/UDP 10.45.0.9 → 239.1.1.1 carrying n, in GRE
  // 10.44.7.1 → 10.44.6.1, in ESP on our inbound SPI.
  Bytes esp(std::uint32_t n, std::size_t payload = kPayload) {
    Bytes udp;
    common::Writer w(udp);
    w.u16(5000);
    w.u16(5000);
    w.u16(static_cast<std::uint16_t>(8 + payload));
    w.u16(0);  // no checksum (RFC 768)
    w.u32(n);
    common::append(udp, esp_test::pattern(payload - 4, static_cast<std::uint8_t>(n)));
    gre::Ipv4Header h;
    h.src = gre::ipv4(10, 45, 0, 9);
    h.dst = gre::ipv4(239, 1, 1, 1);
    h.protocol = gre::kIpProtoUdp;
    const Bytes outer = far_gre.encap_copy(gre::build_ipv4(h, udp));
    esp::Sa* sa = far.sad().find_outbound(kSpiIn);
    REQUIRE(sa);
    Bytes buf(sa->header_size() + outer.size() + sa->max_trailer_size());
    std::copy(outer.begin(), outer.end(), buf.begin() + static_cast<std::ptrdiff_t>(sa->header_size()));
    auto r = sa->encap(buf, sa->header_size(), outer.size(), std::chrono::steady_clock::now());
    REQUIRE(r.ok());
    return common::to_bytes(r.packet);
  }
  // An IKE message (an INFORMATIONAL for an IKE_SA nobody has) behind the non-ESP marker
  // on 4500, or bare on 500. Were the marker left on, the engine would read the version
  // from spi_r's sixth byte (0x06): malformed, not an unknown SPI.
  static Bytes ike(bool marker) {
    Bytes b;
    common::Writer w(b);
    if (marker) w.u32(0);
    ike::Header h;
    h.spi_i = 0x1122334455667788;
    h.spi_r = 0x0102030405060708;
    h.exchange = ike::ExchangeType::informational;
    h.initiator = true;
    h.message_id = 1;
    h.length = ike::Header::kSize;
    h.serialize(w);
    return b;
  }

  const esp::Sa& sa_in() const { return *children.sad().find_inbound(kSpiIn); }
  // Every drop counter of the receive path that is not zero, by its status name: the
  // inbound SA's (in_*), the SAD's, the daemon's own, the GRE tunnel's and the pim section's.
  nlohmann::json drops() const {
    nlohmann::json d = nlohmann::json::object();
    drops_json<esp::Drop>(d, sa_in().counters().drops, {.prefix = "in_", .first = 1});  // 0 is Drop::none
    if (const auto n = children.sad().unknown_spi_drops()) d["esp_unknown_spi"] = n;
    if (const auto n = children.sad().truncated_drops()) d["esp_truncated"] = n;
    drops_json<DaemonDrop>(d, dp.stats().drops);
    const auto now = std::chrono::steady_clock::now();
    if (const auto g = overlay.gre_status(now)[0]["drops"]; !g.empty()) d["gre"] = g;
    if (const auto p = overlay.pim_status(now)[0]["drops"]; !p.empty()) d["pim"] = p;
    return d;
  }
  std::uint64_t delivered() const {
    return overlay.pim_status(std::chrono::steady_clock::now())[0]["datagrams_delivered"];
  }
  nlohmann::json counters() const {
    const auto now = ike::Clock::now();
    return status_json({now, now, engine, children, dp.stats(), &overlay})["counters"];
  }

  App app;
  config::Config cfg = site_config(app.port());
  boost::asio::io_context io;
  esp_test::CounterRandom rng;
  ike::Engine engine{rng};
  ChildTable children{rng};
  DataPath dp{io, cfg, children, engine};
  Overlay overlay{io, cfg, rng, [](common::MutByteSpan, std::size_t, std::size_t) { return false; }};
  ChildTable far{rng};
  gre::Tunnel far_gre{gre::TunnelConfig::from(*IpAddr::parse("10.44.7.1"), *IpAddr::parse("10.44.6.1")),
                      std::chrono::steady_clock::now()};
};

const esp_test::Suite& suite(const std::string& name) {
  const auto& all = esp_test::suites();
  const auto it = std::find_if(all.begin(), all.end(), [&](const esp_test::Suite& s) { return s.name == name; });
  REQUIRE(it != all.end());
  return *it;
}

// Datagrams 1..n of the stream, in order: each one's ESP sequence number is its number.
std::vector<Bytes> stream(Site& site, std::uint32_t n, std::uint32_t short_one = 0) {
  std::vector<Bytes> p(1);
  for (std::uint32_t i = 1; i <= n; ++i) p.push_back(site.esp(i, i == short_one ? kPayload - 16 : kPayload));
  return p;
}

Bytes with_bad_icv(Bytes p) {
  p.back() ^= std::byte{0x01};
  return p;
}

}  // namespace

TEST_CASE("receive batch: bad ICV, replay, runt and truncated ESP dropped and counted by reason, the rest in order") {
  const std::string name = GENERATE(as<std::string>{}, "aes-gcm-256", "aes-cbc-256/hmac-sha256-128");
  INFO(name);
  Site site(suite(name));
  const auto p = stream(site, 9);

  Bytes truncated = p[5];
  truncated.resize(20);  // SPI, sequence number and 12 bytes: less than IV + ICV
  Bytes unknown = p[7];
  unknown[0] ^= std::byte{0x80};  // still a non-zero SPI, but nobody's
  const Bytes keepalive{std::byte{0xff}};
  const Bytes runt{std::byte{0x01}, std::byte{0x02}, std::byte{0x03}};  // neither ESP, IKE nor keepalive

  Batch b;
  b.add(p[1]);
  b.add(p[2]);
  b.add(keepalive);
  b.add(with_bad_icv(p[3]));
  b.add(p[4]);
  b.add(Site::ike(true));
  b.add(p[2]);  // the same bytes again: a replay
  b.add(truncated);
  b.add(p[6]);
  b.add(runt);
  b.add(unknown);
  b.add(p[8]);
  b.add(Site::ike(false), 500);
  auto batch = b.datagrams();
  REQUIRE(batch.size() == 13);

  CHECK(site.dp.on_udp_batch(batch, ike::Clock::now()));  // IKE went to the engine
  CHECK(site.app.take() == std::vector<std::uint32_t>{1, 2, 4, 6, 8});
  CHECK(site.delivered() == 5);
  CHECK(site.sa_in().counters().packets == 5);

  // Each bad one under its own reason: on the SA when its SPI is known, in the SAD when
  // not, the daemon's when it is no ESP at all (under 8 bytes never reaches the SAD, so
  // esp_truncated stays 0); nothing else counted anywhere.
  const auto first_round = site.drops();
  CHECK(first_round == nlohmann::json{{"in_integrity", 1},
                                      {"in_replay", 1},
                                      {"in_truncated", 1},
                                      {"esp_unknown_spi", 1},
                                      {"esp_invalid_udp", 1}});
  CHECK(site.dp.stats().nat_keepalives_rx == 1);

  // Both IKE messages reached the engine, the marker taken off the one on 4500.
  const auto& ec = site.engine.counters();
  CHECK(ec.rx_messages == 2);
  CHECK(ec.rx_unknown_spi == 2);
  CHECK(ec.rx_malformed == 0);

  // What `swanless status --json` shows of it.
  const auto counters = site.counters();
  CHECK(counters["esp_unknown_spi"] == 1);
  CHECK(counters["esp_truncated"] == 0);
  CHECK(counters["esp_invalid_udp"] == 1);
  CHECK(counters["nat_keepalives_received"] == 1);
  CHECK(counters["ike_rx"] == 2);
  CHECK(counters["ike_malformed"] == 0);

  // The next round: a packet that failed its ICV, was cut short or came under another SPI
  // took no place in the SA's replay window, so its intact original is delivered now; the
  // replay still is not.
  Batch next;
  next.add(p[3]);
  next.add(p[2]);
  next.add(p[5]);
  next.add(p[7]);
  next.add(p[9]);
  auto batch2 = next.datagrams();
  CHECK_FALSE(site.dp.on_udp_batch(batch2, ike::Clock::now()));  // no IKE in this one
  CHECK(site.app.take() == std::vector<std::uint32_t>{3, 5, 7, 9});
  CHECK(site.sa_in().counters().packets == 9);
  auto second_round = first_round;
  second_round["in_replay"] = 2;  // and nothing else
  CHECK(site.drops() == second_round);
}

TEST_CASE("receive batch: a UDP GRO buffer is cut into its datagrams, a bad one among them dropped alone") {
  const std::string name = GENERATE(as<std::string>{}, "aes-gcm-256", "aes-cbc-256/hmac-sha256-128");
  INFO(name);
  Site site(suite(name));
  const auto p = stream(site, 7, 6);  // 6 is shorter: the last of a GRO buffer may be
  const std::vector<Bytes> gro = {p[2], p[3], with_bad_icv(p[4]), p[5], p[6]};
  REQUIRE(p[6].size() < p[2].size());

  Batch b;
  b.add(p[1]);
  b.add_gro(gro);
  b.add(p[7]);
  auto batch = b.datagrams();
  REQUIRE(batch.size() == 3);
  REQUIRE(batch[1].gso_size == p[2].size());

  CHECK_FALSE(site.dp.on_udp_batch(batch, ike::Clock::now()));
  CHECK(site.app.take() == std::vector<std::uint32_t>{1, 2, 3, 5, 6, 7});
  CHECK(site.delivered() == 6);
  CHECK(site.sa_in().counters().packets == 6);
  CHECK(site.drops() == nlohmann::json{{"in_integrity", 1}});
  CHECK(site.engine.counters().rx_messages == 0);
}
