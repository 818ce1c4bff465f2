// libFuzzer target for pim/: the PIM message parser (Hello, Join/Prune, others), the
// build/parse round trip, the upstream machine fed the input as a sequence of packets
// between timer expiries, and the multicast delivery policy.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "pim/codec.h"
#include "pim/delivery.h"
#include "pim/upstream.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const common::ByteSpan in = common::as_bytes(data, size);

  if (auto m = pim::parse_message(in)) {
    if (const auto* h = std::get_if<pim::Hello>(&m->body)) {
      auto again = pim::parse_message(pim::build_hello(*h));
      check(again.ok() && std::get<pim::Hello>(again->body) == *h);
    } else if (const auto* jp = std::get_if<pim::JoinPrune>(&m->body)) {
      common::Bytes b = pim::build_join_prune(*jp);
      check(b.size() == jp->encoded_size());
      auto again = pim::parse_message(b);
      check(again.ok() && std::get<pim::JoinPrune>(again->body) == *jp);
    }
  }

  // The same bytes as the PIM payload of a packet from the neighbor, and as raw IPv4.
  pim::UpstreamConfig c;
  c.local = gre::ipv4(10, 44, 4, 6);
  c.neighbor = gre::ipv4(10, 44, 4, 5);
  c.rp = gre::ipv4(100, 15, 30, 253);
  c.groups = {gre::ipv4(239, 1, 2, 3)};
  c.sources = {pim::SourceGroup{gre::ipv4(198, 51, 100, 10), gre::ipv4(232, 1, 1, 1)}};
  pim::Upstream u(c, 0x5eed);
  auto now = pim::TimePoint{} + std::chrono::seconds(1000);
  u.start(now);
  (void)u.on_packet(pim::build_ipv4_packet(c.neighbor, in), now);
  (void)u.on_packet(in, now);
  // Split the input into length-prefixed packets, advancing the clock between them.
  common::Reader r(in);
  while (r.remaining() >= 2) {
    const std::size_t n = r.u8();
    const std::uint8_t step = r.u8();
    common::ByteSpan body = r.bytes(std::min<std::size_t>(n, r.remaining()));
    now += std::chrono::seconds(step);
    if (auto e = u.next_expiry(); e && *e <= now) u.on_expiry(now);
    (void)u.on_packet(pim::build_ipv4_packet(c.neighbor, body), now);
    if (auto e = u.next_expiry()) check(*e > now || !u.status().started);
  }
  for (const auto& p : u.take_outbox()) {
    auto ip = gre::parse_ipv4(p);
    check(ip.ok() && pim::parse_message(ip->payload).ok());
  }
  u.shutdown(now);
  check(!u.next_expiry());

  pim::DeliveryPolicy pol = pim::DeliveryPolicy::from(c);
  pim::Datagram d = pol.classify(in);
  if (d.verdict == pim::Verdict::deliver)
    check(d.payload.empty() || (d.payload.data() >= in.data() && d.payload.data() + d.payload.size() <= in.data() + in.size()));
  return 0;
}
