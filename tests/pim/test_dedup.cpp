#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <set>
#include <vector>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "pim/dedup.h"

using common::Bytes;
using gre::ipv4;
using namespace pim;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kSrc = ipv4(198, 51, 100, 10);
constexpr std::uint32_t kG = ipv4(239, 1, 2, 3);
constexpr std::uint16_t kPort = 5001;
constexpr std::uint8_t kA = 0;
constexpr std::uint8_t kB = 1;
const TimePoint kT0 = TimePoint{} + 1000s;

// A payload carrying `seq` in `width` bytes at `offset`, followed by a little filler.
Bytes payload(std::uint64_t seq, unsigned width = 4, std::size_t offset = 0, bool little_endian = false) {
  Bytes b(offset + width + 4, std::byte{0xaa});
  for (unsigned i = 0; i < width; ++i) {
    const unsigned shift = 8 * (little_endian ? i : width - 1 - i);
    b[offset + i] = static_cast<std::byte>(seq >> shift);
  }
  return b;
}

DedupConfig seq_config(std::uint64_t window = 65536, std::uint8_t width = 4) {
  DedupConfig c;
  c.width = width;
  c.window = window;
  return c;
}

DedupConfig hash_config(Duration window, std::size_t max_hashes) {
  DedupConfig c;
  c.key = DedupKey::hash;
  c.hash_window = window;
  c.max_hashes = max_hashes;
  return c;
}

// A deduplicator on a clock the test moves by 1 ms per packet.
struct Rig {
  Deduplicator d;
  TimePoint now = kT0;
  explicit Rig(DedupConfig c = seq_config()) : d(std::move(c)) {}

  DedupVerdict send(std::uint8_t path, std::uint64_t seq, std::uint16_t port = kPort, std::uint32_t src = kSrc,
                    std::uint32_t group = kG) {
    const DedupConfig& c = d.config();
    return raw(path, payload(seq, c.width, c.offset, c.little_endian), port, src, group);
  }
  DedupVerdict raw(std::uint8_t path, const Bytes& p, std::uint16_t port = kPort, std::uint32_t src = kSrc,
                   std::uint32_t group = kG) {
    now += 1ms;
    return d.check(src, group, port, p, path, now);
  }
  DedupFlowCounters flow(std::uint16_t port = kPort) const {
    for (const auto& f : d.flows(now))
      if (f.dest_port == port) return f.counters;
    FAIL("no flow for port " << port);
    return {};
  }
};

// Every packet has exactly one verdict; what is delivered is split by path.
void check_sums(const Deduplicator& d) {
  const DedupCounters& c = d.counters();
  const std::uint64_t verdicts = std::accumulate(c.verdicts.begin(), c.verdicts.end(), std::uint64_t{0});
  CHECK(verdicts == c.packets);
  CHECK(c.delivered == c.count(DedupVerdict::deliver) + c.count(DedupVerdict::too_short) +
                           c.count(DedupVerdict::flow_limit));
  CHECK(c.delivered == c.delivered_by_path[0] + c.delivered_by_path[1]);
  CHECK(c.duplicates == c.count(DedupVerdict::duplicate));
  CHECK(c.too_old == c.count(DedupVerdict::too_old));
  CHECK(c.unkeyed == c.count(DedupVerdict::too_short));
  CHECK(c.flow_limit == c.count(DedupVerdict::flow_limit));
}

}  // namespace

TEST_CASE("dedup: A then B copies of 1..N, each delivered once, A wins", "[pim][dedup]") {
  Rig r;
  for (std::uint64_t n = 1; n <= 100; ++n) {
    CHECK(r.send(kA, n) == DedupVerdict::deliver);
    CHECK(r.send(kB, n) == DedupVerdict::duplicate);
  }
  const auto f = r.flow();
  CHECK(f.packets == 200);
  CHECK(f.delivered == 100);
  CHECK(f.delivered_by_path[0] == 100);
  CHECK(f.delivered_by_path[1] == 0);
  CHECK(f.duplicates == 100);
  CHECK(f.gaps == 0);
  CHECK(f.gap_sequences == 0);
  CHECK(r.d.flows(r.now).front().highest == 100);
  check_sums(r.d);
}

TEST_CASE("dedup: B ahead of A, B wins; the lead may change", "[pim][dedup]") {
  Rig r;
  // B runs three ahead for 1..50, then A runs ahead for 51..100.
  for (std::uint64_t n = 1; n <= 50; ++n) {
    CHECK(r.send(kB, n) == DedupVerdict::deliver);
    if (n > 3) CHECK(r.send(kA, n - 3) == DedupVerdict::duplicate);
  }
  for (std::uint64_t n = 48; n <= 50; ++n) CHECK(r.send(kA, n) == DedupVerdict::duplicate);
  for (std::uint64_t n = 51; n <= 100; ++n) {
    CHECK(r.send(kA, n) == DedupVerdict::deliver);
    CHECK(r.send(kB, n) == DedupVerdict::duplicate);
  }
  const auto f = r.flow();
  CHECK(f.delivered == 100);
  CHECK(f.delivered_by_path[1] == 50);
  CHECK(f.delivered_by_path[0] == 50);
  CHECK(f.duplicates == 100);
  CHECK(f.gaps == 0);
  check_sums(r.d);
}

TEST_CASE("dedup: losses on each path, the union is delivered, gaps are what both lost", "[pim][dedup]") {
  const std::set<std::uint64_t> lost_a{3, 7, 8, 20};
  const std::set<std::uint64_t> lost_b{5, 7, 8, 21, 30};
  // Both lost 7 and 8: those are the gap left; every other number is delivered once.

  SECTION("interleaved, A's copy first") {
    Rig r;
    for (std::uint64_t n = 1; n <= 40; ++n) {
      const bool a = !lost_a.count(n), b = !lost_b.count(n);
      if (a) CHECK(r.send(kA, n) == DedupVerdict::deliver);
      if (b) CHECK(r.send(kB, n) == (a ? DedupVerdict::duplicate : DedupVerdict::deliver));
    }
    const auto f = r.flow();
    CHECK(f.delivered == 38);
    CHECK(f.delivered_by_path[1] == 2);  // 3 and 20
    CHECK(f.gaps == 1);                  // 6 -> 9
    CHECK(f.gap_sequences == 2);
    CHECK(f.filled == 0);
    check_sums(r.d);
  }

  SECTION("B lags by the whole stream: its copies fill A's holes") {
    Rig r;
    for (std::uint64_t n = 1; n <= 40; ++n)
      if (!lost_a.count(n)) CHECK(r.send(kA, n) == DedupVerdict::deliver);
    auto f = r.flow();
    CHECK(f.gaps == 3);  // 2 -> 4, 6 -> 9, 19 -> 21
    CHECK(f.gap_sequences == 4);
    for (std::uint64_t n = 1; n <= 40; ++n) {
      if (lost_b.count(n)) continue;
      const bool fills = lost_a.count(n) != 0;
      CHECK(r.send(kB, n) == (fills ? DedupVerdict::deliver : DedupVerdict::duplicate));
    }
    f = r.flow();
    CHECK(f.delivered == 38);
    CHECK(f.delivered_by_path[1] == 2);
    CHECK(f.gaps == 3);  // events are history: they stay
    CHECK(f.filled == 2);
    CHECK(f.gap_sequences == 2);  // 7 and 8, lost on both
    check_sums(r.d);
  }
}

TEST_CASE("dedup: window edges", "[pim][dedup]") {
  Rig r(seq_config(64));
  REQUIRE(r.d.window() == 64);
  for (std::uint64_t n = 1; n <= 200; ++n)
    if (n != 137 && n != 140) CHECK(r.send(kA, n) == DedupVerdict::deliver);
  // highest 200: 137 is 63 back, the oldest number the window holds
  CHECK(r.send(kB, 200) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 138) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 137) == DedupVerdict::deliver);  // a hole, 63 back: filled
  CHECK(r.send(kB, 137) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 136) == DedupVerdict::too_old);  // 64 back
  CHECK(r.send(kB, 100) == DedupVerdict::too_old);
  auto f = r.flow();
  CHECK(f.gap_sequences == 1);  // 140
  CHECK(f.filled == 1);
  CHECK(f.too_old == 2);
  // One step further and the hole at 140 stays one back of the window's end: filled.
  CHECK(r.send(kA, 203) == DedupVerdict::deliver);  // 201, 202 skipped
  CHECK(r.send(kB, 140) == DedupVerdict::deliver);  // 63 back
  CHECK(r.send(kB, 139) == DedupVerdict::too_old);
  f = r.flow();
  CHECK(f.gap_sequences == 2);  // 201, 202
  CHECK(f.gaps == 3);
  CHECK(f.resets == 0);
  check_sums(r.d);
}

TEST_CASE("dedup: the window is a power of two, at least 64, at most half the space", "[pim][dedup]") {
  CHECK(Deduplicator(seq_config(65536)).window() == 65536);
  CHECK(Deduplicator(seq_config(1000)).window() == 1024);
  CHECK(Deduplicator(seq_config(1)).window() == 64);
  CHECK(Deduplicator(seq_config(65536, 1)).window() == 128);
  CHECK(Deduplicator(seq_config(65536, 2)).window() == 32768);
  CHECK(Deduplicator(seq_config(std::uint64_t{1} << 40, 8)).window() == std::uint64_t{1} << 24);
  CHECK(Deduplicator(seq_config(64, 0)).config().width == 1);
  CHECK(Deduplicator(seq_config(64, 9)).config().width == 8);
}

TEST_CASE("dedup: sequence numbers wrap around", "[pim][dedup]") {
  const std::uint8_t width = GENERATE(1, 2, 4, 8);
  const bool little_endian = GENERATE(false, true);
  DedupConfig c = seq_config(64, width);
  c.little_endian = little_endian;
  c.offset = 3;
  Rig r(c);
  const std::uint64_t max = width == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * width)) - 1;
  std::vector<std::uint64_t> seqs;
  for (std::uint64_t i = 0; i < 20; ++i) seqs.push_back((max - 9 + i) & max);  // max-9 .. max, 0 .. 9
  for (auto s : seqs) {
    if (s == 2) continue;  // lost on A, just after the wrap
    CHECK(r.send(kA, s) == DedupVerdict::deliver);
  }
  for (auto s : seqs) CHECK(r.send(kB, s) == (s == 2 ? DedupVerdict::deliver : DedupVerdict::duplicate));
  CHECK(r.send(kB, (max - 60) & max) == DedupVerdict::too_old);  // 69 behind 9, across the wrap
  const auto f = r.flow();
  CHECK(f.delivered == 20);
  CHECK(f.delivered_by_path[1] == 1);
  CHECK(f.resets == 0);
  CHECK(f.gaps == 1);
  CHECK(f.filled == 1);
  CHECK(f.gap_sequences == 0);
  CHECK(r.d.flows(r.now).front().highest == 9);
  check_sums(r.d);
}

TEST_CASE("dedup: little-endian keys read the low byte first", "[pim][dedup]") {
  DedupConfig c = seq_config(64, 2);
  c.little_endian = true;
  Rig r(c);
  const Bytes p1{std::byte{0x01}, std::byte{0x02}};  // 0x0201
  const Bytes p2{std::byte{0x02}, std::byte{0x02}};  // 0x0202: one ahead
  CHECK(r.raw(kA, p1) == DedupVerdict::deliver);
  CHECK(r.raw(kA, p2) == DedupVerdict::deliver);
  CHECK(r.d.flows(r.now).front().highest == 0x0202);
  CHECK(r.flow().gaps == 0);
}

TEST_CASE("dedup: a big jump ahead restarts the window", "[pim][dedup]") {
  Rig r(seq_config(64));
  for (std::uint64_t n = 1; n <= 10; ++n) CHECK(r.send(kA, n) == DedupVerdict::deliver);
  CHECK(r.send(kA, 10 + 64) == DedupVerdict::deliver);  // exactly the window ahead: a gap
  auto f = r.flow();
  CHECK(f.resets == 0);
  CHECK(f.gap_sequences == 63);
  CHECK(r.send(kA, 74 + 65) == DedupVerdict::deliver);  // more than the window: restart
  f = r.flow();
  CHECK(f.resets == 1);
  CHECK(f.gaps == 1);
  CHECK(f.gap_sequences == 63);  // the old window's holes stay counted; the jump is not
  CHECK(r.send(kB, 139) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 138) == DedupVerdict::deliver);  // before the restart point: no hole to fill
  CHECK(r.send(kB, 74) == DedupVerdict::too_old);   // 65 back
  f = r.flow();
  CHECK(f.filled == 0);
  CHECK(f.gap_sequences == 63);

  SECTION("half the space ahead is a restart too (width 1)") {
    Rig s(seq_config(64, 1));
    CHECK(s.d.window() == 64);
    CHECK(s.send(kA, 10) == DedupVerdict::deliver);
    CHECK(s.send(kA, 10 + 128) == DedupVerdict::deliver);
    CHECK(s.flow().resets == 1);
    CHECK(s.send(kA, 10) == DedupVerdict::deliver);  // 128 ahead of 138 (mod 256)
    CHECK(s.flow().resets == 2);
  }
  SECTION("width 1 with the largest window: every behind number is in it") {
    Rig s(seq_config(1 << 20, 1));
    CHECK(s.d.window() == 128);
    for (std::uint64_t n = 0; n < 300; ++n) CHECK(s.send(kA, n & 0xff) == DedupVerdict::deliver);
    for (std::uint64_t back = 0; back < 128; ++back)
      CHECK(s.send(kB, (299 - back) & 0xff) == DedupVerdict::duplicate);
    CHECK(s.flow().resets == 0);
  }
}

TEST_CASE("dedup: a run of too_old restarts the window at the feed's new numbers", "[pim][dedup]") {
  DedupConfig c = seq_config(64);
  c.resync_after = 4;
  Rig r(c);
  for (std::uint64_t n = 1000; n < 1010; ++n) CHECK(r.send(kA, n) == DedupVerdict::deliver);
  CHECK(r.send(kA, 1) == DedupVerdict::too_old);
  CHECK(r.send(kA, 2) == DedupVerdict::too_old);
  CHECK(r.send(kB, 1009) == DedupVerdict::duplicate);  // breaks the run
  CHECK(r.send(kA, 3) == DedupVerdict::too_old);
  CHECK(r.send(kA, 4) == DedupVerdict::too_old);
  CHECK(r.send(kA, 5) == DedupVerdict::too_old);
  CHECK(r.send(kA, 6) == DedupVerdict::deliver);  // the fourth in a row
  CHECK(r.send(kA, 7) == DedupVerdict::deliver);
  CHECK(r.send(kB, 6) == DedupVerdict::duplicate);
  const auto f = r.flow();
  CHECK(f.resets == 1);
  CHECK(f.too_old == 5);

  SECTION("resync_after=0 never restarts") {
    DedupConfig never = seq_config(64);
    never.resync_after = 0;
    Rig s(never);
    CHECK(s.send(kA, 1000) == DedupVerdict::deliver);
    for (std::uint64_t n = 1; n <= 200; ++n) CHECK(s.send(kA, n) == DedupVerdict::too_old);
  }
}

TEST_CASE("dedup: payloads too short for the key are delivered and counted", "[pim][dedup]") {
  DedupConfig c = seq_config(64, 4);
  c.offset = 8;
  Rig r(c);
  CHECK(r.send(kA, 1) == DedupVerdict::deliver);
  const Bytes short_one(11, std::byte{0});  // offset 8 + width 4 needs 12
  CHECK(r.raw(kA, short_one) == DedupVerdict::too_short);
  CHECK(r.raw(kB, short_one) == DedupVerdict::too_short);
  CHECK(r.raw(kB, Bytes{}) == DedupVerdict::too_short);
  CHECK(r.send(kB, 1) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 2) == DedupVerdict::deliver);
  const auto f = r.flow();
  CHECK(f.unkeyed == 3);
  CHECK(f.delivered == 5);
  CHECK(f.delivered_by_path[1] == 3);
  check_sums(r.d);

  SECTION("an offset near SIZE_MAX does not overflow") {
    DedupConfig big = seq_config(64, 8);
    big.offset = static_cast<std::size_t>(-4);
    Rig s(big);
    CHECK(s.raw(kA, Bytes(16)) == DedupVerdict::too_short);
  }
}

TEST_CASE("dedup: flows are separated by source, group and port", "[pim][dedup]") {
  Rig r(seq_config(64));
  CHECK(r.send(kA, 5, kPort) == DedupVerdict::deliver);
  CHECK(r.send(kA, 5, kPort + 1) == DedupVerdict::deliver);
  CHECK(r.send(kA, 5, kPort, kSrc + 1) == DedupVerdict::deliver);
  CHECK(r.send(kA, 5, kPort, kSrc, kG + 1) == DedupVerdict::deliver);
  CHECK(r.send(kB, 5, kPort) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 5, kPort + 1) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 5, kPort, kSrc + 1) == DedupVerdict::duplicate);
  CHECK(r.send(kB, 5, kPort, kSrc, kG + 1) == DedupVerdict::duplicate);
  CHECK(r.d.flow_count() == 4);
  const auto flows = r.d.flows(r.now);
  REQUIRE(flows.size() == 4);
  CHECK(flows.front().group == kG + 1);  // most recent first
  for (const auto& f : flows) {
    CHECK(f.counters.delivered == 1);
    CHECK(f.counters.duplicates == 1);
    CHECK(f.highest == 5);
  }
  CHECK(r.d.counters().flows_created == 4);
}

TEST_CASE("dedup: max_flows and idle expiry", "[pim][dedup]") {
  DedupConfig c = seq_config(64);
  c.max_flows = 2;
  c.idle_timeout = 10s;
  Rig r(c);
  CHECK(r.send(kA, 1, 1) == DedupVerdict::deliver);
  CHECK(r.send(kA, 1, 2) == DedupVerdict::deliver);
  CHECK(r.send(kA, 1, 3) == DedupVerdict::flow_limit);
  CHECK(r.send(kB, 1, 3) == DedupVerdict::flow_limit);  // no dedup for it
  CHECK(r.d.counters().flow_limit == 2);
  CHECK(r.d.flow_count() == 2);

  // Port 1 keeps talking; port 2 goes quiet and is forgotten after 10 s.
  for (int i = 0; i < 10; ++i) {
    r.now += 1s;
    CHECK(r.send(kA, 2 + static_cast<std::uint64_t>(i), 1) == DedupVerdict::deliver);
  }
  CHECK(r.d.flows(r.now).size() == 1);  // port 2 is stale, no longer shown
  CHECK(r.send(kA, 1, 3) == DedupVerdict::deliver);  // port 2's slot went to port 3
  CHECK(r.d.counters().flows_expired == 1);
  CHECK(r.d.flow_count() == 2);
  const auto flows = r.d.flows(r.now);
  REQUIRE(flows.size() == 2);
  CHECK(flows[0].dest_port == 3);
  CHECK(flows[1].dest_port == 1);
  CHECK(flows[1].idle == 1ms);

  // A flow found stale by its own next packet starts afresh: its old numbers are new.
  r.now += 20s;
  CHECK(r.send(kB, 1, 3) == DedupVerdict::deliver);
  CHECK(r.flow(3).packets == 1);
  r.d.expire(r.now + 10s);
  CHECK(r.d.flow_count() == 0);
  CHECK(r.d.counters().flows_expired == 4);  // port 2, port 1, port 3 twice
  check_sums(r.d);
}

TEST_CASE("dedup: hash keys, duplicates within the time window", "[pim][dedup]") {
  Rig r(hash_config(1s, 4));
  const Bytes p1 = common::from_hex("00112233445566778899");
  const Bytes p2 = common::from_hex("00112233445566778898");
  CHECK(r.raw(kA, p1) == DedupVerdict::deliver);
  CHECK(r.raw(kB, p1) == DedupVerdict::duplicate);
  CHECK(r.raw(kB, p2) == DedupVerdict::deliver);
  CHECK(r.raw(kA, p2) == DedupVerdict::duplicate);
  CHECK(r.raw(kA, p1, kPort + 1) == DedupVerdict::deliver);  // another flow
  CHECK(r.raw(kA, Bytes{}) == DedupVerdict::deliver);         // empty payloads hash too
  CHECK(r.raw(kB, Bytes{}) == DedupVerdict::duplicate);

  SECTION("forgotten a window after the first copy") {
    r.now += 1s - 8ms;  // p1 came at kT0 + 1 ms: the next packet is 999 ms later
    CHECK(r.raw(kB, p1) == DedupVerdict::duplicate);
    CHECK(r.raw(kB, p1) == DedupVerdict::deliver);  // 1000 ms: forgotten, remembered anew
    CHECK(r.raw(kA, p1) == DedupVerdict::duplicate);
    CHECK(r.d.counters().hashes_evicted == 0);
  }
  SECTION("at most max_hashes remembered: the oldest goes first") {
    const Bytes p3 = common::from_hex("01"), p4 = common::from_hex("02");
    CHECK(r.raw(kA, p3) == DedupVerdict::deliver);  // p1, p2, p1', empty, p3: p1 evicted
    CHECK(r.d.counters().hashes_evicted == 1);
    CHECK(r.raw(kB, p1) == DedupVerdict::deliver);  // evicts p2
    CHECK(r.raw(kB, p3) == DedupVerdict::duplicate);
    CHECK(r.raw(kB, p2) == DedupVerdict::deliver);  // evicts p1'
    CHECK(r.raw(kA, p4) == DedupVerdict::deliver);  // evicts empty
    CHECK(r.raw(kA, p1, kPort + 1) == DedupVerdict::deliver);  // evicts p3
    CHECK(r.d.counters().hashes_evicted == 5);
  }
  check_sums(r.d);
}

TEST_CASE("dedup: hash table stays consistent under churn", "[pim][dedup]") {
  Rig r(hash_config(50ms, 16));
  // Each payload on A, then again on B five payloads later (9 ms): the window is 50 ms,
  // the table holds 16, so the copy is always remembered while entries keep being
  // evicted and forgotten.
  auto p = [](std::uint32_t i) { return payload(i, 4); };
  for (std::uint32_t i = 0; i < 600; ++i) {
    CHECK(r.raw(kA, p(i)) == DedupVerdict::deliver);
    if (i >= 5) CHECK(r.raw(kB, p(i - 5)) == DedupVerdict::duplicate);
  }
  CHECK(r.d.counters().delivered == 600);
  check_sums(r.d);
}

TEST_CASE("dedup: payload_hash", "[pim][dedup]") {
  const Bytes a = common::from_hex("000102030405060708090a0b0c0d0e0f10");
  std::set<std::uint64_t> seen;
  for (std::size_t n = 0; n <= a.size(); ++n) seen.insert(payload_hash(common::ByteSpan(a).first(n)));
  CHECK(seen.size() == a.size() + 1);  // every prefix differs, also the zero-padded tails
  CHECK(payload_hash(a, 1) != payload_hash(a, 2));
  CHECK(payload_hash(a) == payload_hash(Bytes(a)));
}
