// Stateful fuzz target: one responder Engine fed a sequence of datagrams. Input format:
// repeated [u16 length | bytes]; each chunk is one datagram on 192.0.2.2:500 (or :4500
// when the length's top bit is set) from 192.0.2.1, the clock advancing 1 s per datagram
// with timers fired, so retransmission and DPD paths run too.
//
// An input starting with 0xFE instead drives TWO engines back to back (A initiates) with
// short lifetimes, so CHILD_SA/IKE_SA rekeys, collisions, DELETEs and DPD happen; every
// following byte schedules the wire: bits 0-1 act on the oldest datagram in flight
// (0 deliver, 1 drop, 2 deliver twice, 3 move to the back = reorder), bits 2-7 advance the
// clock by that many 250 ms steps and fire due timers.
#include <cstddef>
#include <cstdint>
#include <deque>

#include "ike/engine.h"

namespace {

class CounterRandom final : public common::crypto::Random {
 public:
  explicit CounterRandom(std::uint32_t seed = 1) : n_(seed) {}
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte(static_cast<std::uint8_t>((n_++ * 131u) ^ 0x5a));
  }

 private:
  std::uint32_t n_ = 1;
};

ike::PeerConfig config() {
  ike::PeerConfig c;
  c.name = "fuzz";
  c.local_addr = common::IpAddr::v4(0xc0000202);
  c.remote_addr = common::IpAddr::v4(0xc0000201);
  c.local_id = ike::Identity::from_string("192.0.2.2");
  c.psk = common::to_bytes(common::as_bytes("secret"));
  c.ike_proposals = ike::parse_proposals("aes256-sha256-modp2048,aes128gcm16-prfsha256-ecp256", ike::Protocol::ike)->proposals;
  c.dpd_action = ike::DpdAction::clear;
  ike::ChildConfig ch;
  ch.name = "fuzz-child";
  ch.local_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.0.0.0/8"))};
  ch.remote_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.0.0.0/8"))};
  ch.esp_proposals = ike::parse_proposals("aes256-sha256,aes256gcm16-modp2048", ike::Protocol::esp)->proposals;
  c.children = {ch};
  return c;
}

ike::PeerConfig pair_config(bool a) {
  const auto ip_a = common::IpAddr::v4(0xc0000201), ip_b = common::IpAddr::v4(0xc0000202);
  ike::PeerConfig c;
  c.name = "pair";
  c.local_addr = a ? ip_a : ip_b;
  c.remote_addr = a ? ip_b : ip_a;
  c.local_id = ike::Identity::from_string(a ? "192.0.2.1" : "192.0.2.2");
  c.psk = common::to_bytes(common::as_bytes("secret"));
  c.ike_proposals = ike::parse_proposals("aes256-sha256-modp2048", ike::Protocol::ike)->proposals;
  c.ike_lifetime = std::chrono::seconds(40);
  c.rekey_margin = std::chrono::seconds(10);
  c.rekey_retry = std::chrono::seconds(5);
  c.dpd_action = a ? ike::DpdAction::restart : ike::DpdAction::clear;
  c.dpd_delay = std::chrono::seconds(15);
  for (int i = 0; i < 2; ++i) {
    ike::ChildConfig ch;
    ch.name = "pair-" + std::to_string(i);
    auto mine = common::TrafficSelector::from_prefix(*common::Prefix::parse(i ? "10.1.0.0/16" : "10.2.0.0/16"));
    auto theirs = common::TrafficSelector::from_prefix(*common::Prefix::parse(i ? "10.3.0.0/16" : "10.4.0.0/16"));
    ch.local_ts = {a ? mine : theirs};
    ch.remote_ts = {a ? theirs : mine};
    ch.esp_proposals = ike::parse_proposals(i ? "aes256-sha256-modp2048" : "aes256gcm16", ike::Protocol::esp)->proposals;
    ch.lifetime = std::chrono::seconds(20);
    ch.rekey_margin = std::chrono::seconds(8);
    c.children.push_back(ch);
  }
  return c;
}

void run_pair(const std::uint8_t* data, std::size_t size) {
  CounterRandom rng_a(1), rng_b(0x9e3779b9u);
  ike::Engine a(rng_a), b(rng_b);
  (void)a.add_peer(pair_config(true));
  (void)b.add_peer(pair_config(false));
  auto now = ike::TimePoint{} + std::chrono::hours(1);
  (void)a.initiate("pair", now);
  struct InFlight {
    bool to_b;
    ike::OutDatagram d;
  };
  std::deque<InFlight> wire;
  auto collect = [&]() {
    for (auto& d : a.outbox()) wire.push_back({true, std::move(d)});
    for (auto& d : b.outbox()) wire.push_back({false, std::move(d)});
    a.outbox().clear();
    b.outbox().clear();
    a.events().clear();
    b.events().clear();
    if (wire.size() > 64) wire.pop_front();  // bound the work per input
  };
  collect();
  for (std::size_t i = 0; i < size; ++i) {
    std::uint8_t op = data[i];
    if (!wire.empty()) {
      InFlight f = std::move(wire.front());
      wire.pop_front();
      int copies = (op & 3) == 0 ? 1 : (op & 3) == 2 ? 2 : 0;
      if ((op & 3) == 3) wire.push_back(std::move(f));
      for (int k = 0; k < copies; ++k) (f.to_b ? b : a).on_datagram(f.d.remote, f.d.local, f.d.data, now);
    }
    now += std::chrono::milliseconds(250) * (op >> 2);
    for (auto* e : {&a, &b})
      if (auto t = e->next_expiry(); t && *t <= now) e->on_expiry(now);
    collect();
    (void)a.status(now);
    (void)b.status(now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 1 && data[0] == 0xFE) {
    run_pair(data + 1, size - 1);
    return 0;
  }
  CounterRandom rng;
  ike::Engine e(rng);
  (void)e.add_peer(config());
  auto now = ike::TimePoint{} + std::chrono::hours(1);
  common::Reader r(common::as_bytes(data, size));
  while (r.remaining() >= 2) {
    std::uint16_t len = r.u16();
    bool nat = len & 0x8000;
    len &= 0x7fff;
    auto dg = r.bytes(std::min<std::size_t>(len, r.remaining()));
    common::Endpoint local{common::IpAddr::v4(0xc0000202), static_cast<std::uint16_t>(nat ? 4500 : 500)};
    common::Endpoint remote{common::IpAddr::v4(0xc0000201), static_cast<std::uint16_t>(nat ? 4500 : 500)};
    e.on_datagram(local, remote, dg, now);
    now += std::chrono::seconds(1);
    if (auto t = e.next_expiry(); t && *t <= now) e.on_expiry(now);
    e.outbox().clear();
    e.events().clear();
    (void)e.status(now);
  }
  return 0;
}
