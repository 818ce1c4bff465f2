// Site to site without namespaces: what a transport-mode GRE conn turns into (the CHILD_SA
// config the engine negotiates), and the overlay's fail-closed send (a GRE packet no SA
// takes is dropped and counted per tunnel). The wire is tests/lab/test_site_to_site.sh.
#include <catch2/catch.hpp>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>

#include "config/config.h"
#include "config/peers.h"
#include "config/secrets.h"
#include "daemon/overlay.h"
#include "esp/ip.h"

using namespace config;
using swld::Overlay;

namespace {

const char* kConn = R"(conn greB
    keyexchange=ikev2
    type=transport
    left=198.51.100.1
    leftprotoport=gre
    %RIGHT%
    authby=secret
    auto=%AUTO%

gre greB
    conn=greB
    local=198.51.100.1
    remote=192.0.2.2
    address=172.16.0.1/30
    peer=172.16.0.2
    tun=no
    routes=10.0.1.0/24
    keepalive=10s
)";

std::string conf(const std::string& right, const std::string& auto_action) {
  std::string s = kConn;
  s.replace(s.find("%RIGHT%"), 7, right);
  s.replace(s.find("%AUTO%"), 6, auto_action);
  return s;
}

ike::PeerConfig one_peer(const std::string& text) {
  ParseOptions none;
  none.include = {};
  auto r = parse_string(text, "/etc/swanless/site.conf", none);
  INFO((r.errors.empty() ? std::string() : r.errors[0].to_string()));
  REQUIRE(r.ok());
  auto s = parse_secrets_string(": PSK \"a long enough shared secret\"\n", "site.secrets");
  REQUIRE(s.ok());
  auto built = build_peers(*r.config, *s.secrets);
  REQUIRE(built.errors.empty());
  REQUIRE(built.peers.size() == 1);
  return built.peers[0];
}

class FixedRandom final : public common::crypto::Random {
 public:
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte{0x5a};
  }
};

}  // namespace

TEST_CASE("site: type=transport with gre protoports is a transport CHILD_SA for GRE between the gateways") {
  auto p = one_peer(conf("right=192.0.2.2\n    rightprotoport=gre", "start"));
  REQUIRE(p.children.size() == 1);
  const auto& c = p.children[0];
  CHECK(c.transport);
  CHECK(c.start);
  REQUIRE(c.local_ts.size() == 1);
  REQUIRE(c.remote_ts.size() == 1);
  CHECK(c.local_ts[0].to_string() == "198.51.100.1/32[gre]");
  CHECK(c.remote_ts[0].to_string() == "192.0.2.2/32[gre]");
  CHECK_FALSE(p.force_encaps);  // plain ESP unless a NAT is found

  // The tunnel-mode twin of the same conn is not transport.
  std::string tunnel = conf("right=192.0.2.2\n    rightprotoport=gre", "start");
  tunnel.replace(tunnel.find("type=transport"), 14, "type=tunnel");
  CHECK_FALSE(one_peer(tunnel).children[0].transport);
}

TEST_CASE("site: the NAT responder form (right=%any, strongSwan's [gre] subnet suffix)") {
  auto p = one_peer(conf("right=%any\n    rightsubnet=192.0.2.2/32[gre]", "add"));
  const auto& c = p.children[0];
  CHECK(c.transport);
  CHECK_FALSE(c.start);
  REQUIRE(c.remote_ts.size() == 1);
  CHECK(c.remote_ts[0].to_string() == "192.0.2.2/32[gre]");
  CHECK(c.local_ts[0].to_string() == "198.51.100.1/32[gre]");
  CHECK_FALSE(p.remote_addr.has_value());
}

TEST_CASE("site: with no SA the overlay's GRE is dropped and counted, never sent") {
  ParseOptions none;
  none.include = {};
  std::string text = conf("right=192.0.2.2\n    rightprotoport=gre", "start");
  text.replace(text.find("keepalive=10s"), 13, "keepalive=1s");
  auto r = parse_string(text, "/etc/swanless/site.conf", none);
  REQUIRE(r.ok());
  boost::asio::io_context io;
  FixedRandom rng;
  bool sa_up = false;
  std::vector<common::Bytes> sent;
  Overlay ov(io, *r.config, rng, [&](common::MutByteSpan buf, std::size_t off, std::size_t len) {
    if (!sa_up) return false;
    sent.emplace_back(buf.begin() + static_cast<std::ptrdiff_t>(off), buf.begin() + static_cast<std::ptrdiff_t>(off + len));
    return true;
  });
  REQUIRE(ov.open());
  auto t0 = std::chrono::steady_clock::now();
  ov.start(t0);
  auto no_sa = [&] { return ov.gre_status(t0)[0]["drops"].value("no_sa", 0); };
  // Keepalives fall due with no SA: none is handed out, each one is counted.
  for (int i = 1; i <= 3; ++i) {
    auto next = ov.next_expiry();
    REQUIRE(next);
    ov.on_expiry(*next);
  }
  CHECK(sent.empty());
  CHECK(no_sa() == 3);
  // With an SA the same packets go to it: GRE (47) from local to remote.
  sa_up = true;
  ov.on_expiry(*ov.next_expiry());
  REQUIRE(sent.size() == 1);
  auto h = esp::ip::parse_ipv4(sent[0]);
  REQUIRE(h);
  CHECK(h->protocol == esp::ip::kProtoGre);
  CHECK(common::IpAddr::v4(h->src).to_string() == "198.51.100.1");
  CHECK(common::IpAddr::v4(h->dst).to_string() == "192.0.2.2");
  CHECK(no_sa() == 3);
}
