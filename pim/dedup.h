// A/B feed arbitration: a market-data provider sends each multicast stream twice, on two
// paths (here: two GRE tunnels to two gateways, upstream=both), and each datagram must
// reach the application once. The first copy wins; a later copy of the same datagram is
// dropped. Sans I/O: the payloads come in after DeliveryPolicy::classify, time comes in as
// a parameter; out comes a verdict per datagram and counters.
//
// State is kept per flow = (source, group, destination port), up to max_flows of them. A
// flow idle for idle_timeout is forgotten; expiry is lazy (a few of the least recently
// used flows are looked at per packet, and a stale flow found by lookup starts afresh),
// never a scan of all flows. expire(now) sweeps every idle flow, for a timer.
//
// Two ways to tell copies apart:
//
// key=sequence: the feed's sequence number, `width` (1..8) bytes at `offset` in the UDP
// payload, big-endian unless little_endian. Numbers compare by serial-number arithmetic
// modulo 2^(8*width) (RFC 1982): a number d ahead of the highest seen with 0 < d < half
// the space is ahead, one behind by 0 < d < half is behind. Per flow a bitmap ring of
// `window` bits remembers which of the numbers highest-window+1 .. highest were delivered.
// The window is rounded up to a power of two, at least 64, at most half the sequence
// space (128 for width 1) and at most 2^24; window() tells the value in use.
//   - ahead by d <= window: delivered, the highest moves; with d > 1 the d-1 numbers
//     skipped are a gap (gaps += 1, gap_sequences += d-1);
//   - ahead by more than the window, or by exactly half the space (the undefined case of
//     RFC 1982): the feed jumped or restarted; the window restarts at this number
//     (resets += 1), the jump is not counted as a gap;
//   - equal to the highest, or behind by less than the window with its bit set: duplicate;
//   - behind by less than the window with its bit clear: the first copy of a number that
//     was skipped; delivered, and when it lies after the point where the window started it
//     fills a hole (filled += 1, gap_sequences -= 1). Numbers before that point (a copy
//     that was late when the flow began or after a reset) are delivered without touching
//     the gap counters;
//   - behind by the window or more: too_old, dropped. It was delivered long ago or is a
//     copy later than anything the window can vouch for; delivering it could repeat a
//     datagram. When resync_after too_old verdicts in a row arrive on a flow with nothing
//     in between (the feed restarted below our window, or the path we followed died and
//     the other lags by more than the window), the window restarts at the number that
//     made the streak (resets += 1) and it is delivered.
// So gap_sequences is the count of numbers the highest stepped over that neither path has
// delivered: after both paths sent everything they will send, the numbers lost on both.
// A number still missing when it leaves the window stays counted.
// A payload too short to hold the key is delivered (verdict too_short, counted unkeyed):
// nothing is dropped without a key to show it is a copy.
//
// key=hash: a 64-bit hash of the whole payload (and the flow), see payload_hash().
// A copy arriving less than hash_window after the first one is a duplicate; an entry is
// forgotten hash_window after the copy that made it, or earlier when max_hashes entries
// (one table for all flows) are remembered and a new one needs room (hashes_evicted).
// Distinct payloads collide with probability about n / 2^64 per packet for n remembered
// hashes: at 65536 entries 3.6e-15, one false drop in thousands of years at 1 Mpps.
//
// Cost per packet: one flow lookup (unordered_map), a move to the front of an LRU list,
// then for sequence keys a few bitmap word operations (a step ahead by d clears d bits,
// d/64 word writes, at most window/64) and for hash keys one pass over the payload, a
// lookup in an open-addressing table at most half full, and forgetting the entries that
// aged out since the last packet (each entry once). No allocation per packet: flow
// slots, their bitmaps and the hash tables are allocated when first needed and reused;
// a new flow costs one map node.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"

namespace pim {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

enum class DedupKey : std::uint8_t { sequence, hash };

struct DedupConfig {
  DedupKey key = DedupKey::sequence;
  // key=sequence
  std::size_t offset = 0;      // bytes from the start of the UDP payload
  std::uint8_t width = 4;      // 1..8 bytes (clamped)
  bool little_endian = false;
  std::uint64_t window = 65536;  // sequence numbers remembered per flow (see window())
  unsigned resync_after = 64;    // too_old in a row that restart the window; 0: never
  // key=hash
  Duration hash_window = std::chrono::seconds(1);
  std::size_t max_hashes = 65536;  // for all flows together; 1..2^24 (clamped)
  // flows
  std::size_t max_flows = 4096;
  Duration idle_timeout = std::chrono::seconds(60);
};

enum class DedupVerdict : std::uint8_t {
  deliver,
  duplicate,   // a copy of a datagram already delivered: drop
  too_short,   // sequence key outside the payload: deliver (counted unkeyed)
  too_old,     // sequence number behind the window: drop
  flow_limit,  // no room for a new flow: deliver without dedup
  count_
};
inline constexpr std::size_t kDedupVerdictCount = static_cast<std::size_t>(DedupVerdict::count_);
std::string_view to_string(DedupVerdict v);
// True for the verdicts whose datagram goes to the application.
constexpr bool delivers(DedupVerdict v) {
  return v == DedupVerdict::deliver || v == DedupVerdict::too_short || v == DedupVerdict::flow_limit;
}

struct DedupFlowCounters {
  std::uint64_t packets = 0;
  std::uint64_t delivered = 0;                   // every datagram passed on
  std::array<std::uint64_t, 2> delivered_by_path{};  // which path's copy was passed on
  std::uint64_t duplicates = 0;
  std::uint64_t unkeyed = 0;  // too_short, delivered
  std::uint64_t too_old = 0;
  std::uint64_t resets = 0;
  std::uint64_t gaps = 0;           // steps of the highest sequence by more than one
  std::uint64_t gap_sequences = 0;  // numbers stepped over and not delivered since
  std::uint64_t filled = 0;         // numbers stepped over and delivered later
};

struct DedupCounters : DedupFlowCounters {
  std::array<std::uint64_t, kDedupVerdictCount> verdicts{};
  std::uint64_t flow_limit = 0;  // delivered without a flow (also in delivered)
  std::uint64_t flows_created = 0;
  std::uint64_t flows_expired = 0;
  std::uint64_t hashes_evicted = 0;  // forgotten before hash_window for lack of room
  std::uint64_t count(DedupVerdict v) const { return verdicts[static_cast<std::size_t>(v)]; }
};

struct DedupFlowStatus {
  std::uint32_t source = 0;
  std::uint32_t group = 0;
  std::uint16_t dest_port = 0;
  DedupFlowCounters counters;
  std::optional<std::uint64_t> highest;  // key=sequence, once a keyed packet came
  Duration idle{};
};

// The hash of key=hash: 8 bytes at a time, a multiply-rotate step per word, the
// splitmix64 finalizer at the end. Not cryptographic: a sender who wants collisions can
// make them (it could as well send the same payload twice). Loads are host order, so the
// value depends on the machine; it is only compared within one process.
std::uint64_t payload_hash(common::ByteSpan payload, std::uint64_t seed = 0);

class Deduplicator {
 public:
  using Verdict = DedupVerdict;

  explicit Deduplicator(DedupConfig cfg);

  // One datagram from path 0 (A) or 1 (B; any other value counts as 1).
  Verdict check(std::uint32_t source, std::uint32_t group, std::uint16_t dest_port, common::ByteSpan payload,
                std::uint8_t path, TimePoint now);
  // Forgets every flow idle for idle_timeout at `now`: O(flows expired).
  void expire(TimePoint now);

  // O(flows), most recent first; flows already idle for idle_timeout are left out.
  std::vector<DedupFlowStatus> flows(TimePoint now) const;
  const DedupCounters& counters() const { return counters_; }
  const DedupConfig& config() const { return cfg_; }
  std::uint64_t window() const { return window_; }  // the sequence window in use
  std::size_t flow_count() const { return index_.size(); }

 private:
  struct FlowKey {
    std::uint32_t source = 0;
    std::uint32_t group = 0;
    std::uint16_t port = 0;
    bool operator==(const FlowKey&) const = default;
  };
  struct FlowKeyHash {
    std::size_t operator()(const FlowKey& k) const;
  };
  static constexpr std::uint32_t kNone = 0xffffffffu;
  struct Flow {
    FlowKey key;
    TimePoint last{};
    std::uint32_t prev = kNone;  // LRU list: towards the most recent
    std::uint32_t next = kNone;
    DedupFlowCounters counters;
    bool have_seq = false;
    std::uint64_t highest = 0;
    std::uint64_t tracked = 0;  // numbers from the window's start to highest, at most window
    unsigned old_streak = 0;    // too_old in a row
    std::vector<std::uint64_t> bits;  // window / 64 words, bit (n mod window) for number n
  };
  // Remembered payload hashes, oldest first in a ring, found through a linear-probing
  // table of ring positions (+1; 0 is empty) at most half full.
  struct HashEntry {
    std::uint64_t hash = 0;
    TimePoint at{};
  };

  Flow* find_or_create(const FlowKey& key, TimePoint now);
  void unlink(std::uint32_t slot);
  void push_front(std::uint32_t slot);
  void release(std::uint32_t slot);
  bool stale(const Flow& f, TimePoint now) const { return now - f.last >= cfg_.idle_timeout; }

  Verdict check_sequence(Flow& f, std::uint64_t seq);
  Verdict check_hash(std::uint64_t hash, TimePoint now);
  void restart(Flow& f, std::uint64_t seq);
  bool bit(const Flow& f, std::uint64_t n) const;
  void set_bit(Flow& f, std::uint64_t n);
  void clear_bits(Flow& f, std::uint64_t from, std::uint64_t count);

  std::size_t hash_find(std::uint64_t hash) const;  // table position, or npos
  void hash_forget_oldest();
  void hash_insert(std::uint64_t hash, TimePoint now);

  Verdict count(Flow* f, Verdict v, std::uint8_t path);

  DedupConfig cfg_;
  std::uint64_t window_ = 64;
  std::uint64_t mask_ = 0;  // 2^(8*width) - 1
  std::uint64_t half_ = 0;  // 2^(8*width-1)
  std::vector<Flow> slots_;
  std::vector<std::uint32_t> free_;
  std::uint32_t head_ = kNone;  // most recently used
  std::uint32_t tail_ = kNone;
  std::unordered_map<FlowKey, std::uint32_t, FlowKeyHash> index_;
  std::vector<HashEntry> ring_;
  std::size_t ring_head_ = 0;  // oldest entry
  std::size_t ring_size_ = 0;
  std::vector<std::uint32_t> table_;
  DedupCounters counters_;
};

}  // namespace pim
