// libFuzzer target for pim/igmp*: the IGMP parser, the build/parse round trip, and the
// querier fed the input as a sequence of packets between timer expiries, with its
// invariants: joins and prunes alternate per entry, every prune follows a join, stop()
// prunes exactly what is joined, next_expiry() lies past the time just run, every packet
// it sends parses.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "pim/igmp.h"
#include "pim/igmp_querier.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

using Entry = std::pair<std::uint32_t, std::uint32_t>;  // (source, group)

void track(std::map<Entry, bool>& joined, const std::vector<pim::igmp::Change>& changes) {
  for (const auto& c : changes) {
    bool& j = joined[{c.source, c.group}];
    check(j != c.join);  // no join twice, no prune without a join
    j = c.join;
  }
}

void round_trip(const pim::igmp::Message& m) {
  common::Bytes b = pim::igmp::build(m, 1);
  if (b.empty()) return;  // too large for one packet
  auto again = pim::igmp::parse(b);
  check(again.ok());
  pim::igmp::Message want = m;
  want.dst = again->dst;  // the builder picks the RFC destination
  want.router_alert = true;
  want.skipped_records = 0;
  check(*again == want);
}

// Structured packets, so the fuzzer reaches the state machine without forging checksums.
// First byte % 4: 0 a v3 report, then two bytes a record: record type (low 3 bits, mod
// 6), SSM or not (bit 7), group index (bits 3..6: 239.0.0.x, 232.0.0.x, 15 is denied);
// a bitmask of eight sources. 1, 2, 3: v2 report, v2 leave, v1 report for group byte 2.
common::Bytes host_packet(std::uint32_t host, common::ByteSpan body) {
  using namespace pim::igmp;
  const std::uint8_t* b = common::u8(body);
  auto group = [](std::uint8_t sel) {
    const std::uint32_t idx = (sel >> 3) & 0x0f;
    if (idx == 15) return gre::ipv4(239, 255, 0, 1);
    return (sel & 0x80 ? gre::ipv4(232, 0, 0, 0) : gre::ipv4(239, 0, 0, 0)) + idx;
  };
  switch (b[0] % 4) {
    case 0: {
      std::vector<Record> recs;
      for (std::size_t i = 1; i + 1 < body.size(); i += 2) {
        Record rec;
        rec.type = static_cast<RecordType>((b[i] & 0x07) % 6 + 1);
        rec.group = group(b[i]);
        for (unsigned bit = 0; bit < 8; ++bit)
          if (b[i + 1] & (1u << bit)) rec.sources.push_back(gre::ipv4(198, 51, 100, 1 + bit));
        recs.push_back(std::move(rec));
      }
      return build_report_v3(host, recs);
    }
    case 1: return build_report_v2(host, Type::v2_report, group(body.size() > 1 ? b[1] : 0));
    case 2: return build_report_v2(host, Type::v2_leave, group(body.size() > 1 ? b[1] : 0));
    default: return build_report_v2(host, Type::v1_report, group(body.size() > 1 ? b[1] : 0));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const common::ByteSpan in = common::as_bytes(data, size);
  using namespace pim::igmp;

  if (auto m = parse(in)) round_trip(*m);
  if (auto m = parse_igmp(in)) round_trip(*m);
  (void)decode_code(size & 0xff);
  check(decode_code(encode_code(static_cast<unsigned>(size))) <= size || size > kMaxCodeValue);

  QuerierConfig c;
  c.local = gre::ipv4(10, 44, 6, 1);
  c.max_groups = 12;
  c.query_interval = std::chrono::seconds(20);  // GMI 50 s: timers run out within a run
  c.deny = {Prefix{gre::ipv4(239, 255, 0, 0), 16}};
  Querier q(c);
  auto now = TimePoint{} + std::chrono::seconds(1000);
  q.start(now);
  std::map<Entry, bool> joined;
  const std::uint32_t host = gre::ipv4(10, 44, 6, 2);
  auto collect = [&] {
    track(joined, q.take_changes());
    for (const auto& p : q.take_outbox()) check(parse(p).ok());
  };

  (void)q.on_packet(in, now);
  collect();
  // Length-prefixed chunks, each a packet from the host (see host_packet), with a clock
  // step (in 100 ms units) before it.
  common::Reader r(in);
  while (r.remaining() >= 2) {
    const std::size_t n = r.u8();
    const std::uint8_t step = r.u8();
    common::ByteSpan body = r.bytes(std::min<std::size_t>(n, r.remaining()));
    now += std::chrono::milliseconds(100) * step;
    while (auto e = q.next_expiry()) {
      if (*e > now) break;
      check(*e <= now);
      q.on_expiry(now);
      auto after = q.next_expiry();
      check(after && *after > now);
      collect();
    }
    if (!body.empty()) {
      (void)q.on_packet(host_packet(host, body), now);
      collect();
    }
    check(q.group_count() <= c.max_groups);
  }
  const std::size_t groups = q.status(now).groups.size();
  check(groups == q.group_count());
  q.stop();
  collect();
  for (const auto& [e, j] : joined) check(!j);  // stop() pruned everything joined
  check(!q.next_expiry());
  check(q.take_outbox().empty());
  return 0;
}
