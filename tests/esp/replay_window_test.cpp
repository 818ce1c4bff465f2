#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>

#include "esp/replay_window.h"

using esp::ReplayWindow;

namespace {

// Reference model: the window as RFC 4303 §3.4.3 words it, with a set of seen numbers.
struct Model {
  std::uint64_t w;
  std::uint64_t top = 0;
  std::set<std::uint64_t> seen;
  bool acceptable(std::uint64_t s) const {
    if (s == 0) return false;
    if (s > top) return true;
    if (top - s >= w) return false;
    return !seen.count(s);
  }
  void commit(std::uint64_t s) {
    seen.insert(s);
    if (s > top) top = s;
  }
};

bool accept(ReplayWindow& rw, std::uint32_t seq) {
  auto full = rw.check(seq);
  if (!full) return false;
  return rw.commit(*full);
}

}  // namespace

TEST_CASE("replay window: in order, duplicates, sequence 0", "[esp][replay]") {
  ReplayWindow rw(64);
  CHECK_FALSE(rw.check(0));  // never sent (RFC 4303 §3.3.3)
  for (std::uint32_t s = 1; s <= 200; ++s) REQUIRE(accept(rw, s));
  CHECK(rw.highest() == 200);
  for (std::uint32_t s = 137; s <= 200; ++s) CHECK_FALSE(rw.check(s));
  CHECK_FALSE(rw.commit(200));
}

TEST_CASE("replay window: check does not change state; commit does", "[esp][replay]") {
  ReplayWindow rw(32);
  REQUIRE(rw.check(5) == std::optional<std::uint64_t>(5));
  REQUIRE(rw.check(5) == std::optional<std::uint64_t>(5));
  CHECK(rw.highest() == 0);
  REQUIRE(rw.commit(5));
  CHECK_FALSE(rw.check(5));
  // A second commit of a number that passed check earlier is refused (batch duplicates).
  auto a = rw.check(7), b = rw.check(7);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(rw.commit(*a));
  CHECK_FALSE(rw.commit(*b));
}

TEST_CASE("replay window: edges for sizes 32/64/1024/4096", "[esp][replay]") {
  for (std::uint32_t w : {32u, 64u, 1024u, 4096u}) {
    INFO("window " << w);
    ReplayWindow rw(w);
    const std::uint32_t top = w + 100;
    REQUIRE(accept(rw, top));
    // Out of order inside the window: top - (w-1) is the oldest acceptable.
    CHECK(accept(rw, top - (w - 1)));
    CHECK_FALSE(rw.check(top - w));  // too old
    CHECK_FALSE(rw.check(top - (w - 1)));  // now a duplicate
    for (std::uint32_t s = top - 1; s > top - (w - 1); s -= 3) CHECK(accept(rw, s));
    for (std::uint32_t s = top - 1; s > top - (w - 1); s -= 3) CHECK_FALSE(rw.check(s));
    // A jump far to the right: everything behind it is either too old or unseen.
    REQUIRE(accept(rw, top + 10 * w));
    CHECK(accept(rw, top + 10 * w - 1));
    CHECK_FALSE(rw.check(top));
  }
}

TEST_CASE("replay window: bits of numbers that left the window do not alias", "[esp][replay]") {
  for (std::uint32_t w : {32u, 64u, 1024u, 4096u}) {
    INFO("window " << w);
    ReplayWindow rw(w);
    for (std::uint32_t s = 1; s <= w; ++s) REQUIRE(accept(rw, s));
    // Jumps of every multiple of 64 up to well past the ring: the numbers just behind the
    // new top share ring bits with numbers already seen, yet were never received.
    std::uint32_t top = w;
    for (std::uint32_t k = 1; k <= 2 * (w / 64 + 2); ++k) {
      const std::uint32_t old_top = top;
      top += 64 * k;
      REQUIRE(accept(rw, top));
      const std::uint32_t lo = std::max(top - (w - 1), old_top + 1);
      CHECK_FALSE(rw.check(old_top));
      for (std::uint32_t s = lo; s < top; s += 7) CHECK(rw.check(s) == std::optional<std::uint64_t>(s));
    }
  }
}

TEST_CASE("replay window: random traffic agrees with the reference model", "[esp][replay]") {
  for (std::uint32_t w : {1u, 32u, 64u, 100u, 1024u, 4096u}) {
    INFO("window " << w);
    ReplayWindow rw(w);
    Model m{w};
    std::mt19937_64 rng(w);
    std::uint64_t base = 1;
    for (int i = 0; i < 20000; ++i) {
      // Mostly around the top, sometimes far ahead, sometimes far behind.
      std::int64_t delta = static_cast<std::int64_t>(rng() % (3 * w + 200)) - static_cast<std::int64_t>(w + 100);
      if (rng() % 50 == 0) delta += static_cast<std::int64_t>(rng() % (40 * w + 1000));
      std::int64_t s = static_cast<std::int64_t>(m.top > 0 ? m.top : base) + delta;
      if (s < 0) s = 0;
      if (s > UINT32_MAX) s = UINT32_MAX;
      const auto seq = static_cast<std::uint32_t>(s);
      const bool want = m.acceptable(seq);
      auto got = rw.check(seq);
      REQUIRE(static_cast<bool>(got) == want);
      if (got && rng() % 8 != 0) {  // some checked packets fail their ICV: no commit
        REQUIRE(rw.commit(*got));
        m.commit(seq);
      }
      REQUIRE(rw.highest() == m.top);
    }
  }
}

TEST_CASE("replay window: 32-bit mode never wraps", "[esp][replay]") {
  ReplayWindow rw(64, false);
  rw.reset(UINT32_MAX - 1);
  REQUIRE(accept(rw, UINT32_MAX));
  CHECK_FALSE(rw.check(0));
  CHECK_FALSE(rw.check(1));  // left of the window, not "the next subspace"
}

TEST_CASE("replay window: ESN high bits inferred across 2^32 (RFC 4303 A2.2)", "[esp][replay][esn]") {
  ReplayWindow rw(64, true);
  // Fresh SA: numbers start at 1, a "previous subspace" does not exist.
  CHECK(rw.check(1) == std::optional<std::uint64_t>(1));
  CHECK_FALSE(rw.check(UINT32_MAX));
  CHECK_FALSE(rw.check(0));

  rw.reset(0xFFFFFFF0u);
  // Window within one subspace (case A): a low number means the next subspace.
  CHECK(rw.check(5) == std::optional<std::uint64_t>(0x100000005ull));
  CHECK(rw.check(0xFFFFFFE0u) == std::optional<std::uint64_t>(0xFFFFFFE0ull));
  CHECK_FALSE(rw.check(0xFFFFFFF0u));  // reset marks `highest` seen
  REQUIRE(rw.commit(0x100000005ull));
  // Window straddles (case B): high numbers belong to the previous subspace.
  CHECK(rw.check(0xFFFFFFF8u) == std::optional<std::uint64_t>(0xFFFFFFF8ull));
  CHECK(rw.check(0x10u) == std::optional<std::uint64_t>(0x100000010ull));
  CHECK(rw.check(0) == std::optional<std::uint64_t>(0x100000000ull));
  REQUIRE(rw.commit(0xFFFFFFF8ull));
  CHECK_FALSE(rw.check(0xFFFFFFF8u));
  // Just left of the window: A2.2 reads it as far ahead (the ICV then decides).
  CHECK(rw.check(0xFFFFFFC5u) == std::optional<std::uint64_t>(0x1FFFFFFC5ull));
  CHECK(rw.check(0xFFFFFFC6u) == std::optional<std::uint64_t>(0xFFFFFFC6ull));  // oldest in window

  // Walk many packets across the boundary in order.
  ReplayWindow w2(1024, true);
  w2.reset(0xFFFFFF00u);
  std::uint64_t expect = 0xFFFFFF01ull;
  for (int i = 0; i < 1000; ++i, ++expect) {
    auto full = w2.check(static_cast<std::uint32_t>(expect));
    REQUIRE(full == std::optional<std::uint64_t>(expect));
    REQUIRE(w2.commit(*full));
  }
  CHECK(w2.highest() > 0x100000000ull);

  // End of the 64-bit space: nothing after 2^64-1.
  ReplayWindow w3(64, true);
  w3.reset(UINT64_MAX - 1);
  auto last = w3.check(UINT32_MAX);
  REQUIRE(last == std::optional<std::uint64_t>(UINT64_MAX));
  REQUIRE(w3.commit(*last));
  CHECK_FALSE(w3.check(0));
  CHECK_FALSE(w3.check(1));
}

TEST_CASE("replay window: size 0 turns anti-replay off", "[esp][replay]") {
  ReplayWindow rw(0);
  REQUIRE(accept(rw, 10));
  CHECK(accept(rw, 10));
  CHECK(accept(rw, 1));
  CHECK_FALSE(rw.check(0));
  CHECK(rw.highest() == 10);
}

TEST_CASE("replay window: sizes clamp to the maximum", "[esp][replay]") {
  ReplayWindow rw(1u << 20);
  CHECK(rw.size() == ReplayWindow::kMaxSize);
  REQUIRE(accept(rw, 100000));
  CHECK(accept(rw, 100000 - (ReplayWindow::kMaxSize - 1)));
  CHECK_FALSE(rw.check(100000 - ReplayWindow::kMaxSize));
}
