// Stateful fuzz target: one responder Engine fed a sequence of datagrams. Input format:
// repeated [u16 length | bytes]; each chunk is one datagram on 192.0.2.2:500 (or :4500
// when the length's top bit is set) from 192.0.2.1, the clock advancing 1 s per datagram
// with timers fired, so retransmission and DPD paths run too.
#include <cstddef>
#include <cstdint>

#include "ike/engine.h"

namespace {

class CounterRandom final : public common::crypto::Random {
 public:
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
