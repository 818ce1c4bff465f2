// libFuzzer target for pim/dedup: the input is a config byte, then records of (path, flow,
// time step, payload) fed to a Deduplicator with small windows and few flows, checked
// against a reference model and its counters' invariants:
//   - key=sequence: a number is never delivered twice on a flow while it stays inside the
//     window (a std::set per flow, pruned by the flow's highest number, emptied when the
//     flow restarts or may have expired);
//   - key=hash: a payload is never delivered twice on a flow within hash_window of its
//     first copy, unless the table had to evict entries since;
//   - every packet has one verdict; deliveries add up by verdict and by path; gap numbers
//     are stepped-over numbers, never more, never negative.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <vector>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "pim/dedup.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr unsigned kFlows = 4;  // one more than max_flows: flow_limit is reachable
constexpr std::uint32_t kSource = gre::ipv4(198, 51, 100, 10);
constexpr std::uint32_t kGroup = gre::ipv4(239, 1, 2, 3);

// Config byte: bit 0 key=hash; bits 1..3 width - 1; bit 4 little-endian; bits 5..6 the
// window, 64 << n; bit 7 resync_after 3 (else 0).
pim::DedupConfig config_from(std::uint8_t c) {
  pim::DedupConfig cfg;
  cfg.key = c & 1 ? pim::DedupKey::hash : pim::DedupKey::sequence;
  cfg.width = static_cast<std::uint8_t>(1 + ((c >> 1) & 7));
  cfg.little_endian = (c & 0x10) != 0;
  cfg.window = std::uint64_t{64} << ((c >> 5) & 3);
  cfg.resync_after = c & 0x80 ? 3 : 0;
  cfg.offset = 1;
  cfg.hash_window = std::chrono::milliseconds(100);
  cfg.max_hashes = 8;
  cfg.max_flows = kFlows - 1;
  cfg.idle_timeout = std::chrono::seconds(2);
  return cfg;
}

struct FlowModel {
  std::set<std::uint64_t> numbers;                         // key=sequence
  std::map<common::Bytes, pim::TimePoint> payloads;        // key=hash: first copy
  std::uint64_t resets = 0;
};

const pim::DedupFlowStatus* status_of(const std::vector<pim::DedupFlowStatus>& flows, std::uint16_t port) {
  for (const auto& f : flows)
    if (f.dest_port == port) return &f;
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const pim::DedupConfig cfg = config_from(data[0]);
  pim::Deduplicator d(cfg);
  const pim::DedupConfig& c = d.config();
  const std::uint64_t mask = c.width == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * c.width)) - 1;
  check(d.window() >= 64 && d.window() <= cfg.window && d.window() <= mask / 2 + 1);

  FlowModel model[kFlows];
  std::uint64_t packets = 0;
  std::uint64_t expired = 0, evicted = 0, stepped_over = 0;
  auto now = pim::TimePoint{} + std::chrono::seconds(100);

  // Records: a byte (bit 0 path, bits 1..2 flow, bits 3..7 time step in 10 ms, 31: 3 s),
  // a byte (bits 0..4 payload length, bit 7: call expire() first), the payload.
  common::Reader r(common::as_bytes(data + 1, size - 1));
  while (r.remaining() >= 2) {
    const std::uint8_t head = r.u8();
    const std::uint8_t len = r.u8();
    const common::Bytes payload = common::to_bytes(r.bytes(std::min<std::size_t>(len & 0x1f, r.remaining())));
    const std::uint8_t path = head & 1;
    const unsigned id = (head >> 1) & 3;
    const unsigned step = head >> 3;
    now += step == 31 ? std::chrono::milliseconds(3000) : std::chrono::milliseconds(10) * step;
    if (len & 0x80) d.expire(now);

    const auto v = d.check(kSource, kGroup, static_cast<std::uint16_t>(1000 + id), payload, path, now);
    ++packets;
    const auto& k = d.counters();
    check(k.packets == packets);

    // Expiry or eviction may have made the model's memory longer than the deduplicator's.
    if (k.flows_expired != expired) {
      expired = k.flows_expired;
      for (auto& m : model) m = FlowModel{};
    }
    if (k.hashes_evicted != evicted) {
      evicted = k.hashes_evicted;
      for (auto& m : model) m.payloads.clear();
    }
    const auto flows = d.flows(now);
    check(flows.size() <= c.max_flows);
    const pim::DedupFlowStatus* st = status_of(flows, static_cast<std::uint16_t>(1000 + id));
    FlowModel& m = model[id];
    if (!st) {
      check(v == pim::DedupVerdict::flow_limit);
      m = FlowModel{};
      continue;
    }
    check(v != pim::DedupVerdict::flow_limit);

    if (c.key == pim::DedupKey::hash) {
      check(v == pim::DedupVerdict::deliver || v == pim::DedupVerdict::duplicate);
      if (v == pim::DedupVerdict::deliver) {
        auto it = m.payloads.find(payload);
        check(it == m.payloads.end() || now - it->second >= c.hash_window);
        m.payloads[payload] = now;
      }
      continue;
    }

    if (st->counters.resets != m.resets) {
      m.resets = st->counters.resets;
      m.numbers.clear();
    }
    if (v == pim::DedupVerdict::deliver) {
      check(payload.size() >= c.offset + c.width);
      std::uint64_t seq = 0;
      for (unsigned i = 0; i < c.width; ++i) {
        const unsigned at = c.little_endian ? c.width - 1 - i : i;
        seq = (seq << 8) | std::to_integer<std::uint8_t>(payload[c.offset + at]);
      }
      check(m.numbers.insert(seq).second);
    } else if (v == pim::DedupVerdict::too_short) {
      check(payload.size() < c.offset + c.width);
    }
    check(st->highest.has_value() || v == pim::DedupVerdict::too_short);
    if (st->highest) {
      for (auto it = m.numbers.begin(); it != m.numbers.end();)
        it = ((*st->highest - *it) & mask) >= d.window() ? m.numbers.erase(it) : std::next(it);
    }

    // Numbers stepped over only grow; each is either still missing or was filled.
    const std::uint64_t over = k.gap_sequences + k.filled;
    check(over >= stepped_over);
    check(k.gaps <= over);
    check(k.gap_sequences <= (std::uint64_t{1} << 62));  // no wrap below zero
    stepped_over = over;
  }

  const auto& k = d.counters();
  std::uint64_t verdicts = 0;
  for (auto n : k.verdicts) verdicts += n;
  check(verdicts == packets);
  check(k.delivered == k.count(pim::DedupVerdict::deliver) + k.count(pim::DedupVerdict::too_short) +
                           k.count(pim::DedupVerdict::flow_limit));
  check(k.delivered == k.delivered_by_path[0] + k.delivered_by_path[1]);
  check(k.duplicates == k.count(pim::DedupVerdict::duplicate));
  check(k.too_old == k.count(pim::DedupVerdict::too_old));
  check(k.unkeyed == k.count(pim::DedupVerdict::too_short));
  check(k.flow_limit == k.count(pim::DedupVerdict::flow_limit));
  // The live flows hold part of the totals (expired flows took the rest with them).
  std::uint64_t flow_packets = 0, flow_delivered = 0;
  for (const auto& f : d.flows(now)) {
    check(f.counters.packets == f.counters.delivered + f.counters.duplicates + f.counters.too_old);
    check(f.counters.delivered == f.counters.delivered_by_path[0] + f.counters.delivered_by_path[1]);
    flow_packets += f.counters.packets;
    flow_delivered += f.counters.delivered;
  }
  check(flow_packets + k.flow_limit <= packets);
  check(flow_delivered + k.flow_limit <= k.delivered);
  d.expire(now + c.idle_timeout);
  check(d.flow_count() == 0);
  return 0;
}
