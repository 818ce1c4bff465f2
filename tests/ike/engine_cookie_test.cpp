// RFC 7296 §2.6 COOKIE defence of the responder: forged IKE_SA_INIT floods from many
// addresses get stateless COOKIE answers once the half-open threshold is reached, the
// half-open count stays bounded, a legitimate initiator that echoes the cookie gets its
// IKE_SA, established SAs carry on. Plus the CookieJar itself (binding, rotation).
#include <catch2/catch.hpp>

#include <map>

#include "ike/cookie.h"
#include "ike/engine.h"
#include "ike/message.h"
#include "ike/proposal_wire.h"

using namespace ike;
using common::Endpoint;
using common::IpAddr;

namespace {

const IpAddr kResp = IpAddr::v4(0xc0000202);   // 192.0.2.2
const IpAddr kLegit = IpAddr::v4(0xc0000201);  // 192.0.2.1
const IpAddr kLegit2 = IpAddr::v4(0xc0000203); // 192.0.2.3

std::vector<Proposal> props(const char* text, Protocol proto) {
  auto s = parse_proposals(text, proto);
  REQUIRE(s.ok());
  return s->proposals;
}

common::TrafficSelector net(const char* p) { return common::TrafficSelector::from_prefix(*common::Prefix::parse(p)); }

PeerConfig cfg(const char* name, IpAddr local, std::optional<IpAddr> remote, const char* lnet, const char* rnet) {
  PeerConfig c;
  c.name = name;
  c.local_addr = local;
  c.remote_addr = remote;
  c.local_id = Identity::from_string(local.to_string());
  c.psk = common::to_bytes(common::as_bytes("flood test shared secret"));
  c.ike_proposals = props("aes128-sha256-x25519", Protocol::ike);
  ChildConfig ch;
  ch.name = std::string(name) + "-a";
  ch.local_ts = {net(lnet)};
  ch.remote_ts = {net(rnet)};
  ch.esp_proposals = props("aes128gcm16", Protocol::esp);
  ChildConfig ch2 = ch;
  ch2.name = std::string(name) + "-b";
  c.children = {ch, ch2};
  return c;
}

struct Node {
  common::crypto::SystemRandom rng;
  Engine e{rng};
  IpAddr addr;
  int installs = 0;
  explicit Node(IpAddr a) : addr(a) {}
};

// Delivers between nodes by destination address; anything addressed elsewhere (answers to
// forged sources) is collected in `lost`.
struct Net {
  std::vector<Node*> nodes;
  std::vector<OutDatagram> lost;
  TimePoint now = TimePoint{} + std::chrono::hours(2);
  void pump() {
    for (int round = 0; round < 50; ++round) {
      bool any = false;
      for (auto* n : nodes) {
        for (auto& ev : n->e.events())
          if (std::holds_alternative<ChildSaInstall>(ev)) ++n->installs;
        n->e.events().clear();
        auto out = std::move(n->e.outbox());
        n->e.outbox().clear();
        for (auto& d : out) {
          any = true;
          Node* to = nullptr;
          for (auto* m : nodes)
            if (m->addr == d.remote.addr) to = m;
          if (to) to->e.on_datagram(d.remote, d.local, d.data, now);
          else lost.push_back(std::move(d));
        }
      }
      if (!any) return;
    }
  }
};

struct Forged {
  common::Bytes bytes;
  std::uint64_t spi = 0;
  common::Bytes nonce;
};

Forged forged_init(common::crypto::Random& rng, const common::Bytes* cookie = nullptr,
                   const Forged* reuse = nullptr) {
  Forged f;
  if (reuse) {
    f.spi = reuse->spi;
    f.nonce = reuse->nonce;
  } else {
    std::array<std::byte, 8> s{};
    rng.fill(s);
    common::Reader r(s);
    f.spi = r.u64() | 1;
    f.nonce.assign(32, std::byte{0});
    rng.fill(f.nonce);
  }
  Message m;
  m.header.spi_i = f.spi;
  m.header.exchange = ExchangeType::ike_sa_init;
  m.header.initiator = true;
  if (cookie) {
    NotifyPayload n;
    n.type = NotifyType::cookie;
    n.data = *cookie;
    m.payloads.push_back(n);
  }
  SaPayload sa;
  sa.proposals.push_back(to_sa_proposal(props("aes128-sha256-x25519", Protocol::ike)[0], 1, {}));
  m.payloads.push_back(sa);
  KePayload ke;
  ke.dh_group = static_cast<std::uint16_t>(common::crypto::DhId::curve25519);
  ke.data.assign(32, std::byte{0x09});
  m.payloads.push_back(ke);
  m.payloads.push_back(NoncePayload{f.nonce});
  auto b = encode_message(m);
  REQUIRE(b.ok());
  f.bytes = *b;
  return f;
}

Endpoint forged_src(int i) {
  // 198.51.100.0/24 and 203.0.113.0/24, many ports.
  std::uint32_t base = (i % 2) ? 0xc6336400u : 0xcb007100u;
  return Endpoint{IpAddr::v4(base + static_cast<std::uint32_t>(1 + i % 250)), static_cast<std::uint16_t>(1024 + i)};
}

bool is_cookie_only(const OutDatagram& d) {
  auto m = parse_message(d.data);
  if (!m || m->payloads.size() != 1 || !m->header.response || m->header.spi_r != 0) return false;
  const auto* n = m->find_notify(NotifyType::cookie);
  return n && n->data.size() == CookieJar::kCookieSize;
}

}  // namespace

TEST_CASE("COOKIE: a forged IKE_SA_INIT flood is answered statelessly, legit peers still get in") {
  Node resp(kResp), legit(kLegit), late(kLegit2);
  Net net{{&resp, &legit, &late}};
  REQUIRE(resp.e.add_peer(cfg("any", kResp, std::nullopt, "10.1.0.0/16", "10.2.0.0/16")).ok());
  REQUIRE(legit.e.add_peer(cfg("any", kLegit, kResp, "10.2.0.0/16", "10.1.0.0/16")).ok());
  REQUIRE(late.e.add_peer(cfg("any", kLegit2, kResp, "10.2.0.0/16", "10.1.0.0/16")).ok());

  // An IKE_SA established before the flood.
  REQUIRE(legit.e.initiate("any-a", net.now).ok());
  net.pump();
  REQUIRE(legit.installs == 1);
  REQUIRE(resp.installs == 1);
  CHECK(resp.e.counters().cookies_sent == 0);

  const Endpoint local{kResp, 500};
  constexpr int kFlood = 2000;
  std::vector<Forged> sent;
  for (int i = 0; i < kFlood; ++i) {
    sent.push_back(forged_init(resp.rng));
    resp.e.on_datagram(local, forged_src(i), sent.back().bytes, net.now);
  }
  net.pump();
  const auto& c = resp.e.counters();
  CHECK(c.half_open == 10);
  CHECK(c.cookies_sent == kFlood - 10);
  CHECK(c.half_open_refused == 0);
  std::size_t cookie_answers = 0;
  for (const auto& d : net.lost) cookie_answers += is_cookie_only(d);
  CHECK(cookie_answers == kFlood - 10);
  CHECK(resp.e.status(net.now).size() == 11);  // the established one + 10 half-open

  SECTION("the established IKE_SA still creates CHILD_SAs") {
    REQUIRE(legit.e.initiate("any-b", net.now).ok());
    net.pump();
    CHECK(legit.installs == 2);
    CHECK(resp.installs == 2);
  }
  SECTION("a new initiator echoes the COOKIE and establishes") {
    auto before = c.cookies_sent;
    REQUIRE(late.e.initiate("any-a", net.now).ok());
    net.pump();
    CHECK(c.cookies_sent == before + 1);
    CHECK(late.installs == 1);
    CHECK(c.half_open == 10);
  }
  SECTION("a cookie is bound to the address, SPI and nonce it was made for") {
    // The last cookie answer went to forged_src(kFlood - 1) for sent.back().
    auto m = parse_message(net.lost.back().data);
    REQUIRE(m.ok());
    common::Bytes cookie = m->find_notify(NotifyType::cookie)->data;
    auto before = c.cookies_sent;
    auto good = forged_init(resp.rng, &cookie, &sent.back());
    resp.e.on_datagram(local, forged_src(kFlood + 7), good.bytes, net.now);  // other address
    CHECK(c.cookies_rejected == 1);
    CHECK(c.cookies_sent == before + 1);
    CHECK(c.half_open == 10);
    auto other = forged_init(resp.rng, &cookie);  // other SPI and nonce
    resp.e.on_datagram(local, forged_src(kFlood - 1), other.bytes, net.now);
    CHECK(c.cookies_rejected == 2);
    CHECK(c.half_open == 10);
    // The right address with the right values: state is created.
    resp.e.on_datagram(local, forged_src(kFlood - 1), good.bytes, net.now);
    CHECK(c.cookies_rejected == 2);
    CHECK(c.half_open == 11);
  }
  SECTION("half-open SAs expire after 30 s, then no cookies are needed") {
    net.now += std::chrono::seconds(31);
    resp.e.on_expiry(net.now);
    net.pump();
    CHECK(c.half_open == 0);
    auto before = c.cookies_sent;
    auto f = forged_init(resp.rng);
    resp.e.on_datagram(local, forged_src(1), f.bytes, net.now);
    CHECK(c.cookies_sent == before);
    CHECK(c.half_open == 1);
    // The established SA survived (DPD/keepalive aside, it is still there).
    bool established = false;
    for (const auto& s : resp.e.status(net.now)) established |= s.state == "ESTABLISHED";
    CHECK(established);
  }
}

TEST_CASE("COOKIE: the half-open cap refuses without state or answer") {
  Node resp(kResp);
  Net net{{&resp}};
  REQUIRE(resp.e.add_peer(cfg("any", kResp, std::nullopt, "10.1.0.0/16", "10.2.0.0/16")).ok());
  DosLimits lim;
  lim.cookie_threshold = 1000;  // cookies out of the way: the cap alone
  lim.half_open_max = 20;
  resp.e.set_dos_limits(lim);
  const Endpoint local{kResp, 500};
  for (int i = 0; i < 100; ++i) {
    auto f = forged_init(resp.rng);
    resp.e.on_datagram(local, forged_src(i), f.bytes, net.now);
  }
  net.pump();
  CHECK(resp.e.counters().half_open == 20);
  CHECK(resp.e.counters().half_open_refused == 80);
  CHECK(net.lost.size() == 20);  // only the admitted ones were answered
  CHECK(resp.e.status(net.now).size() == 20);
}

TEST_CASE("CookieJar: binding, rotation with one previous secret, malformed cookies") {
  common::crypto::SystemRandom rng;
  CookieJar jar(rng, std::chrono::seconds(60));
  TimePoint t0 = TimePoint{} + std::chrono::hours(1);
  common::Bytes ni(32, std::byte{7});
  common::Bytes ni2(32, std::byte{8});
  const IpAddr ip = IpAddr::v4(0xc6336405), ip2 = IpAddr::v4(0xc6336406);
  auto c = jar.make(ni, ip, 42, t0);
  REQUIRE(c.size() == CookieJar::kCookieSize);
  CHECK(jar.verify(c, ni, ip, 42, t0));
  CHECK(jar.make(ni, ip, 42, t0) == c);  // deterministic within one secret
  CHECK_FALSE(jar.verify(c, ni2, ip, 42, t0));
  CHECK_FALSE(jar.verify(c, ni, ip2, 42, t0));
  CHECK_FALSE(jar.verify(c, ni, ip, 43, t0));
  for (std::size_t i = 0; i < c.size(); ++i) {
    CHECK_FALSE(jar.verify(std::span(c).first(i), ni, ip, 42, t0));
    auto bad = c;
    bad[i] ^= std::byte{1};
    CHECK_FALSE(jar.verify(bad, ni, ip, 42, t0));
  }
  auto longer = c;
  longer.push_back(std::byte{0});
  CHECK_FALSE(jar.verify(longer, ni, ip, 42, t0));
  auto v1 = jar.version();
  // One rotation: new cookies differ and carry the next version; the old one still passes.
  auto t1 = t0 + std::chrono::seconds(61);
  auto c1 = jar.make(ni, ip, 42, t1);
  CHECK(jar.version() == v1 + 1);
  CHECK(c1 != c);
  CHECK(jar.verify(c, ni, ip, 42, t1));
  CHECK(jar.verify(c1, ni, ip, 42, t1));
  // Two rotations: the first secret is gone.
  auto t2 = t1 + std::chrono::seconds(61);
  CHECK_FALSE(jar.verify(c, ni, ip, 42, t2));
  CHECK(jar.verify(c1, ni, ip, 42, t2));
  // Long idle: both forgotten.
  CHECK_FALSE(jar.verify(c1, ni, ip, 42, t2 + std::chrono::hours(1)));
}

TEST_CASE("IKE_SA_INIT with an unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD, no state") {
  // RFC 7296 §2.5: the request MUST be rejected and the answer MUST carry the notify with
  // the payload type; stateless, like the COOKIE answer.
  Node resp(kResp);
  REQUIRE(resp.e.add_peer(cfg("any", kResp, std::nullopt, "10.1.0.0/16", "10.2.0.0/16")).ok());
  auto f = forged_init(resp.rng);
  // Walk to the last payload, point it at a payload of type 200 with the critical bit.
  std::size_t off = 28, last = 0;
  while (off + 4 <= f.bytes.size()) {
    last = off;
    off += (std::to_integer<std::size_t>(f.bytes[off + 2]) << 8) | std::to_integer<std::size_t>(f.bytes[off + 3]);
  }
  REQUIRE(off == f.bytes.size());
  f.bytes[last] = std::byte{200};
  const std::size_t extra = f.bytes.size();
  for (int b : {0, 0x80, 0, 8, 0x65, 0x76, 0x69, 0x6c}) f.bytes.push_back(static_cast<std::byte>(b));
  const auto len = static_cast<std::uint32_t>(f.bytes.size());
  for (int i = 0; i < 4; ++i) f.bytes[24 + i] = static_cast<std::byte>(len >> (24 - 8 * i));

  resp.e.on_datagram(Endpoint{kResp, 500}, Endpoint{kLegit, 500}, f.bytes, TimePoint{} + std::chrono::hours(1));
  REQUIRE(resp.e.outbox().size() == 1);
  auto m = parse_message(resp.e.outbox()[0].data);
  REQUIRE(m.ok());
  CHECK(m->header.response);
  CHECK(m->header.spi_i == f.spi);
  CHECK(m->header.spi_r == 0);
  const auto* n = m->find_notify(NotifyType::unsupported_critical_payload);
  REQUIRE(n != nullptr);
  CHECK(n->data == common::Bytes{std::byte{200}});
  CHECK(m->payloads.size() == 1);
  CHECK(resp.e.counters().rx_malformed == 1);
  CHECK(resp.e.counters().half_open == 0);

  // Without the critical bit the payload is skipped and the exchange goes on (state kept).
  resp.e.outbox().clear();
  auto plain = f.bytes;
  plain[extra + 1] = std::byte{0};  // the critical bit of the appended payload
  resp.e.on_datagram(Endpoint{kResp, 500}, Endpoint{kLegit, 501}, plain, TimePoint{} + std::chrono::hours(1));
  REQUIRE(resp.e.outbox().size() == 1);
  auto m2 = parse_message(resp.e.outbox()[0].data);
  REQUIRE(m2.ok());
  CHECK(m2->find<SaPayload>() != nullptr);
}
