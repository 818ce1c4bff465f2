// Unit tests of the engine's building blocks: retransmission backoff and message-ID
// windows, TS narrowing, proposal selection, identities, NAT-D hashes.
#include <catch2/catch.hpp>

#include "ike/engine.h"
#include "ike/nat_detect.h"
#include "ike/proposal_select.h"
#include "ike/task_manager.h"
#include "ike/ts_narrow.h"

using namespace ike;
using common::crypto::DhId;
using common::crypto::EncrId;
using common::crypto::IntegId;
using common::crypto::PrfId;

namespace {
common::TrafficSelector ts(std::uint32_t a, std::uint32_t b) {
  common::TrafficSelector t;
  t.start = common::IpAddr::v4(a);
  t.end = common::IpAddr::v4(b);
  return t;
}
Proposal ike_prop(std::vector<EncrAlg> e, std::vector<IntegId> i, std::vector<PrfId> p, std::vector<DhId> d) {
  Proposal x;
  x.protocol = Protocol::ike;
  x.encr = e;
  x.integ = i;
  x.prf = p;
  x.dh = d;
  return x;
}
}  // namespace

TEST_CASE("retransmission backoff follows base * factor^n and gives up after the tries") {
  TaskManager tm;
  auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  CHECK(tm.next_request_id() == 0);
  CHECK_FALSE(tm.next_expiry());
  tm.on_request_sent({}, {}, common::Bytes{std::byte{1}}, t0);
  CHECK(tm.request_outstanding());
  auto t = t0;
  std::vector<std::int64_t> waits;
  for (;;) {
    auto e = *tm.next_expiry();
    waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(e - t).count());
    CHECK(tm.on_expiry(e - std::chrono::milliseconds(1)) == TaskManager::Timeout::none);
    auto r = tm.on_expiry(e);
    t = e;
    if (r == TaskManager::Timeout::give_up) break;
    REQUIRE(r == TaskManager::Timeout::retransmit);
    REQUIRE(waits.size() < 10);
  }
  REQUIRE(waits.size() == 6);  // first send + 5 retransmissions
  CHECK(waits[0] == 4000);
  CHECK(waits[1] == 7200);
  CHECK(waits[2] == 12960);
  CHECK(waits[5] == 75582);
}

TEST_CASE("message IDs: responses must match the outstanding request; requests in order") {
  TaskManager tm;
  auto t0 = std::chrono::steady_clock::time_point{};
  tm.on_request_sent({}, {}, {}, t0);
  CHECK_FALSE(tm.on_response(1));
  CHECK(tm.on_response(0));
  CHECK_FALSE(tm.on_response(0));  // duplicate response
  CHECK(tm.next_request_id() == 1);

  CHECK(tm.check_request(0) == TaskManager::RequestCheck::fresh);
  CHECK(tm.check_request(1) == TaskManager::RequestCheck::drop);
  tm.on_response_sent(0, common::Bytes{std::byte{7}});
  CHECK(tm.check_request(0) == TaskManager::RequestCheck::retransmit);
  CHECK(tm.cached_response() == common::Bytes{std::byte{7}});
  CHECK(tm.check_request(1) == TaskManager::RequestCheck::fresh);
  CHECK(tm.check_request(5) == TaskManager::RequestCheck::drop);
}

TEST_CASE("TS narrowing intersects per side") {
  TsList proposed{ts(0x0a000000, 0x0a0000ff)};   // 10.0.0.0/24
  TsList configured{ts(0x0a000010, 0x0a00001f)}; // 10.0.0.16/28
  auto n = narrow_ts(proposed, configured);
  REQUIRE(n.size() == 1);
  CHECK(n[0] == configured[0]);
  CHECK(narrow_ts(proposed, {ts(0x0b000000, 0x0b0000ff)}).empty());
  CHECK(ts_within(n, proposed));
  CHECK_FALSE(ts_within(proposed, n));
  CHECK_FALSE(ts_within({}, proposed));
}

TEST_CASE("proposal selection prefers our order and needs every mandatory type") {
  auto a = ike_prop({{EncrId::aes_cbc, 256}}, {IntegId::hmac_sha256_128}, {PrfId::hmac_sha256}, {DhId::modp2048});
  auto b = ike_prop({{EncrId::aes_gcm_16, 256}}, {}, {PrfId::hmac_sha384}, {DhId::ecp384});
  auto theirs = std::vector<Proposal>{b, a};
  auto s = select_proposal({a}, theirs);
  REQUIRE(s);
  CHECK(s->index == 1);
  CHECK(s->chosen == a);
  CHECK(proposal_acceptable({a}, s->chosen));
  CHECK_FALSE(proposal_acceptable({b}, s->chosen));

  auto a_wrong_group = ike_prop({{EncrId::aes_cbc, 256}}, {IntegId::hmac_sha256_128}, {PrfId::hmac_sha256}, {DhId::ecp256});
  CHECK_FALSE(select_proposal({a_wrong_group}, {a}));
  auto a_128 = ike_prop({{EncrId::aes_cbc, 128}}, {IntegId::hmac_sha256_128}, {PrfId::hmac_sha256}, {DhId::modp2048});
  CHECK_FALSE(select_proposal({a_128}, {a}));

  Proposal esp;
  esp.protocol = Protocol::esp;
  esp.encr = {{EncrId::aes_cbc, 256}};
  esp.integ = {IntegId::hmac_sha256_128};
  esp.esn = {Esn::no};
  auto esp_pfs = esp;
  esp_pfs.dh = {DhId::modp2048};
  CHECK(select_proposal({esp}, {esp}));
  CHECK_FALSE(select_proposal({esp}, {esp_pfs}));
  CHECK(select_proposal({strip_dh(esp_pfs)}, {strip_dh(esp_pfs)}));
  CHECK(select_proposal({esp_pfs}, {esp_pfs})->chosen.dh == std::vector<DhId>{DhId::modp2048});
}

TEST_CASE("identities follow strongSwan's text rules") {
  auto ip = Identity::from_string("192.0.2.1");
  CHECK(ip.type == Identity::Type::ipv4);
  CHECK(ip.data.size() == 4);
  CHECK(ip.to_string() == "192.0.2.1");
  auto f = Identity::from_string("@gw.example");
  CHECK(f.type == Identity::Type::fqdn);
  CHECK(f.to_string() == "gw.example");
  CHECK(Identity::from_string("gw.example").type == Identity::Type::fqdn);
  auto m = Identity::from_string("me@example.org");
  CHECK(m.type == Identity::Type::rfc822);
  CHECK(m.to_string() == "me@example.org");
  auto k = Identity::from_string("@#0a0b");
  CHECK(k.type == Identity::Type::key_id);
  CHECK(k.data.size() == 2);
}

TEST_CASE("NAT-D hash covers SPIs, address and port") {
  common::Endpoint e{common::IpAddr::v4(0xc0000201), 500};
  auto h1 = nat_detection_hash(1, 0, e);
  auto h2 = nat_detection_hash(1, 0, common::Endpoint{e.addr, 4500});
  auto h3 = nat_detection_hash(2, 0, e);
  CHECK(h1 != h2);
  CHECK(h1 != h3);
  CHECK(h1 == nat_detection_hash(1, 0, e));
}
