#include "pim/dedup.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace pim {

namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t kWordMul = 0xc2b2ae3d27d4eb4full;
constexpr std::uint64_t kMaxWindow = std::uint64_t{1} << 24;
constexpr std::size_t kMaxHashes = std::size_t{1} << 24;
constexpr std::size_t kNpos = static_cast<std::size_t>(-1);
// Least recently used flows looked at per packet for idle expiry.
constexpr int kExpirePerCheck = 2;

// splitmix64's finalizer: every input bit reaches every output bit.
std::uint64_t finalize(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

std::uint64_t absorb(std::uint64_t h, std::uint64_t word) { return std::rotl(h ^ (word * kWordMul), 31) * kGolden; }

}  // namespace

std::string_view to_string(DedupVerdict v) {
  switch (v) {
    case DedupVerdict::deliver: return "deliver";
    case DedupVerdict::duplicate: return "duplicate";
    case DedupVerdict::too_short: return "too_short";
    case DedupVerdict::too_old: return "too_old";
    case DedupVerdict::flow_limit: return "flow_limit";
    case DedupVerdict::count_: break;
  }
  return "?";
}

std::uint64_t payload_hash(common::ByteSpan payload, std::uint64_t seed) {
  const std::uint8_t* p = common::u8(payload);
  std::size_t n = payload.size();
  // The length goes in first, so a short tail padded with zeros differs from real zeros.
  std::uint64_t h = seed ^ (static_cast<std::uint64_t>(n) * kGolden);
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = absorb(h, w);
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = absorb(h, w);
  }
  return finalize(h);
}

std::size_t Deduplicator::FlowKeyHash::operator()(const FlowKey& k) const {
  const std::uint64_t sg = (std::uint64_t{k.source} << 32) | k.group;
  return static_cast<std::size_t>(finalize(sg ^ (std::uint64_t{k.port} * kGolden)));
}

Deduplicator::Deduplicator(DedupConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.width = std::clamp<std::uint8_t>(cfg_.width, 1, 8);
  const unsigned bits = 8u * cfg_.width;
  mask_ = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  half_ = std::uint64_t{1} << (bits - 1);
  window_ = std::min(std::bit_ceil(std::clamp<std::uint64_t>(cfg_.window, 64, kMaxWindow)), half_);
  slots_.reserve(std::min<std::size_t>(cfg_.max_flows, 4096));
  index_.reserve(std::min<std::size_t>(cfg_.max_flows, 4096));
  if (cfg_.key == DedupKey::hash) {
    cfg_.max_hashes = std::clamp<std::size_t>(cfg_.max_hashes, 1, kMaxHashes);
    ring_.resize(cfg_.max_hashes);
    table_.assign(std::bit_ceil(2 * cfg_.max_hashes), 0);
  }
}

// --- flows ---------------------------------------------------------------------------

void Deduplicator::unlink(std::uint32_t slot) {
  Flow& f = slots_[slot];
  (f.prev == kNone ? head_ : slots_[f.prev].next) = f.next;
  (f.next == kNone ? tail_ : slots_[f.next].prev) = f.prev;
  f.prev = f.next = kNone;
}

void Deduplicator::push_front(std::uint32_t slot) {
  Flow& f = slots_[slot];
  f.prev = kNone;
  f.next = head_;
  (head_ == kNone ? tail_ : slots_[head_].prev) = slot;
  head_ = slot;
}

void Deduplicator::release(std::uint32_t slot) {
  unlink(slot);
  index_.erase(slots_[slot].key);
  free_.push_back(slot);
  ++counters_.flows_expired;
}

void Deduplicator::expire(TimePoint now) {
  while (tail_ != kNone && stale(slots_[tail_], now)) release(tail_);
}

Deduplicator::Flow* Deduplicator::find_or_create(const FlowKey& key, TimePoint now) {
  for (int i = 0; i < kExpirePerCheck && tail_ != kNone && stale(slots_[tail_], now); ++i) release(tail_);
  if (auto it = index_.find(key); it != index_.end()) {
    const std::uint32_t slot = it->second;
    Flow& f = slots_[slot];
    if (!stale(f, now)) {
      if (head_ != slot) {
        unlink(slot);
        push_front(slot);
      }
      f.last = now;
      return &f;
    }
    release(slot);  // idle too long: it starts afresh below
  }
  if (index_.size() >= cfg_.max_flows) return nullptr;
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Flow& f = slots_[slot];
  f.key = key;
  f.last = now;
  f.counters = {};
  f.have_seq = false;
  f.old_streak = 0;
  if (cfg_.key == DedupKey::sequence && f.bits.size() != window_ / 64) f.bits.assign(window_ / 64, 0);
  index_.emplace(key, slot);
  push_front(slot);
  ++counters_.flows_created;
  return &f;
}

std::vector<DedupFlowStatus> Deduplicator::flows(TimePoint now) const {
  std::vector<DedupFlowStatus> out;
  out.reserve(index_.size());
  for (std::uint32_t s = head_; s != kNone; s = slots_[s].next) {
    const Flow& f = slots_[s];
    if (stale(f, now)) continue;  // forgotten, not yet released
    DedupFlowStatus st;
    st.source = f.key.source;
    st.group = f.key.group;
    st.dest_port = f.key.port;
    st.counters = f.counters;
    if (f.have_seq) st.highest = f.highest;
    st.idle = now - f.last;
    out.push_back(st);
  }
  return out;
}

// --- per packet ----------------------------------------------------------------------

Deduplicator::Verdict Deduplicator::check(std::uint32_t source, std::uint32_t group, std::uint16_t dest_port,
                                          common::ByteSpan payload, std::uint8_t path, TimePoint now) {
  const std::uint8_t p = path == 0 ? 0 : 1;
  const FlowKey key{source, group, dest_port};
  Flow* f = find_or_create(key, now);
  if (!f) {
    ++counters_.flow_limit;
    return count(nullptr, Verdict::flow_limit, p);
  }
  if (cfg_.key == DedupKey::hash) return count(f, check_hash(payload_hash(payload, FlowKeyHash{}(key)), now), p);

  const std::size_t width = cfg_.width;
  if (payload.size() < width || payload.size() - width < cfg_.offset) return count(f, Verdict::too_short, p);
  const std::uint8_t* b = common::u8(payload) + cfg_.offset;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const std::uint8_t byte = cfg_.little_endian ? b[width - 1 - i] : b[i];
    seq = (seq << 8) | byte;
  }
  return count(f, check_sequence(*f, seq), p);
}

Deduplicator::Verdict Deduplicator::count(Flow* f, Verdict v, std::uint8_t path) {
  ++counters_.verdicts[static_cast<std::size_t>(v)];
  auto tally = [&](DedupFlowCounters& c) {
    ++c.packets;
    if (delivers(v)) {
      ++c.delivered;
      ++c.delivered_by_path[path];
    }
    if (v == Verdict::duplicate) ++c.duplicates;
    if (v == Verdict::too_short) ++c.unkeyed;
    if (v == Verdict::too_old) ++c.too_old;
  };
  tally(counters_);
  if (f) tally(f->counters);
  return v;
}

// --- key=sequence --------------------------------------------------------------------

bool Deduplicator::bit(const Flow& f, std::uint64_t n) const {
  const std::uint64_t i = n & (window_ - 1);
  return (f.bits[i >> 6] >> (i & 63)) & 1;
}

void Deduplicator::set_bit(Flow& f, std::uint64_t n) {
  const std::uint64_t i = n & (window_ - 1);
  f.bits[i >> 6] |= std::uint64_t{1} << (i & 63);
}

// Clears the bits of numbers from .. from+count-1 (the window is a multiple of 64 and
// divides the sequence space, so the ring position of a number survives its wrap).
void Deduplicator::clear_bits(Flow& f, std::uint64_t from, std::uint64_t count) {
  if (count >= window_) {
    std::fill(f.bits.begin(), f.bits.end(), 0);
    return;
  }
  std::uint64_t pos = from & (window_ - 1);
  while (count > 0) {
    const std::uint64_t b = pos & 63;
    const std::uint64_t n = std::min<std::uint64_t>(64 - b, count);
    const std::uint64_t m = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1) << b;
    f.bits[pos >> 6] &= ~m;
    pos = (pos + n) & (window_ - 1);
    count -= n;
  }
}

void Deduplicator::restart(Flow& f, std::uint64_t seq) {
  std::fill(f.bits.begin(), f.bits.end(), 0);
  set_bit(f, seq);
  f.highest = seq;
  f.tracked = 1;
  f.have_seq = true;
  f.old_streak = 0;
}

Deduplicator::Verdict Deduplicator::check_sequence(Flow& f, std::uint64_t seq) {
  auto add = [&](std::uint64_t DedupFlowCounters::*field, std::uint64_t n) {
    f.counters.*field += n;
    counters_.*field += n;
  };
  if (!f.have_seq) {
    restart(f, seq);
    return Verdict::deliver;
  }
  const std::uint64_t ahead = (seq - f.highest) & mask_;
  if (ahead == 0) {
    f.old_streak = 0;
    return Verdict::duplicate;
  }
  if (ahead <= half_) {
    f.old_streak = 0;
    if (ahead > window_ || ahead == half_) {
      restart(f, seq);
      add(&DedupFlowCounters::resets, 1);
      return Verdict::deliver;
    }
    clear_bits(f, f.highest + 1, ahead);
    set_bit(f, seq);
    if (ahead > 1) {
      add(&DedupFlowCounters::gaps, 1);
      add(&DedupFlowCounters::gap_sequences, ahead - 1);
    }
    f.highest = seq;
    f.tracked = std::min(f.tracked + ahead, window_);
    return Verdict::deliver;
  }
  const std::uint64_t behind = (f.highest - seq) & mask_;
  if (behind >= window_) {
    if (cfg_.resync_after == 0 || ++f.old_streak < cfg_.resync_after) return Verdict::too_old;
    restart(f, seq);
    add(&DedupFlowCounters::resets, 1);
    return Verdict::deliver;
  }
  f.old_streak = 0;
  if (bit(f, seq)) return Verdict::duplicate;
  set_bit(f, seq);
  if (behind < f.tracked) {
    // A hole the highest stepped over: each such number was counted in gap_sequences.
    add(&DedupFlowCounters::filled, 1);
    f.counters.gap_sequences -= 1;
    counters_.gap_sequences -= 1;
  }
  return Verdict::deliver;
}

// --- key=hash ------------------------------------------------------------------------

std::size_t Deduplicator::hash_find(std::uint64_t hash) const {
  const std::size_t tmask = table_.size() - 1;
  for (std::size_t pos = hash & tmask; table_[pos] != 0; pos = (pos + 1) & tmask)
    if (ring_[table_[pos] - 1].hash == hash) return pos;
  return kNpos;
}

void Deduplicator::hash_forget_oldest() {
  const std::size_t tmask = table_.size() - 1;
  std::size_t hole = hash_find(ring_[ring_head_].hash);
  // Backward-shift deletion: later entries of the probe run move into the hole when the
  // hole lies between their home position and where they sit.
  for (std::size_t j = (hole + 1) & tmask; table_[j] != 0; j = (j + 1) & tmask) {
    const std::size_t home = ring_[table_[j] - 1].hash & tmask;
    if (((j - home) & tmask) >= ((j - hole) & tmask)) {
      table_[hole] = table_[j];
      hole = j;
    }
  }
  table_[hole] = 0;
  ring_head_ = (ring_head_ + 1) % ring_.size();
  --ring_size_;
}

void Deduplicator::hash_insert(std::uint64_t hash, TimePoint now) {
  const std::size_t tmask = table_.size() - 1;
  const std::size_t at = (ring_head_ + ring_size_) % ring_.size();
  ring_[at] = HashEntry{hash, now};
  ++ring_size_;
  std::size_t pos = hash & tmask;
  while (table_[pos] != 0) pos = (pos + 1) & tmask;
  table_[pos] = static_cast<std::uint32_t>(at + 1);
}

Deduplicator::Verdict Deduplicator::check_hash(std::uint64_t hash, TimePoint now) {
  // Entries are in arrival order: forget from the oldest while out of the window.
  while (ring_size_ > 0 && now - ring_[ring_head_].at >= cfg_.hash_window) hash_forget_oldest();
  if (hash_find(hash) != kNpos) return Verdict::duplicate;
  if (ring_size_ == ring_.size()) {
    hash_forget_oldest();
    ++counters_.hashes_evicted;
  }
  hash_insert(hash, now);
  return Verdict::deliver;
}

}  // namespace pim
