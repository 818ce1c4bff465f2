// The data-path contract: encap/decap never allocate (counted through a global operator
// new replacement in this test binary; OpenSSL's own malloc is outside this count and
// outside our control), plus a hidden throughput benchmark: `test_esp "[.bench]"`.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "esp/sad.h"
#include "esp_test_util.h"

// g++ 12 flags free() in the replaced operator delete as mismatched with `new` once both
// are inlined into a caller; the pair below is matched (malloc/free) by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
std::atomic<std::uint64_t> g_news{0};
}

void* operator new(std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace esp_test;

TEST_CASE("ESP encap/decap and SAD lookups do not allocate", "[esp][alloc]") {
  {  // the counter itself works
    const std::uint64_t n0 = g_news.load();
    auto* probe = new std::vector<int>(3);
    delete probe;
    REQUIRE(g_news.load() - n0 >= 1);
  }
  for (const auto& suite : suites()) {
    INFO(suite.name);
    Pair p = make_pair(suite, esp::Mode::tunnel, true, 1024,
                       {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.2.0.0/16"))},
                       {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.1.0.0/16"))});
    esp::Sad sad;
    esp::Sa* out = p.out.get();
    REQUIRE(sad.add_inbound(std::move(p.in)));
    REQUIRE(sad.add_outbound(std::move(p.out)));
    const Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1, 2, 1000);
    Framed f = frame(*out, inner);
    Bytes wire(f.buf.size());
    const auto dst = *common::IpAddr::parse("10.1.0.1");
    int good = 0;  // no Catch assertion inside the measured loop: they may allocate
    const std::uint64_t before = g_news.load();
    for (int i = 0; i < 200; ++i) {
      std::copy(inner.begin(), inner.end(), f.buf.begin() + static_cast<std::ptrdiff_t>(f.offset));
      esp::Sa* sa = sad.select_outbound(dst, 17, 1);
      if (sa != out) break;
      auto e = sa->encap(f.buf, f.offset, f.length, t(1));
      if (!e.ok()) break;
      std::copy(e.packet.begin(), e.packet.end(), wire.begin());
      auto d = sad.decap(common::MutByteSpan(wire).first(e.packet.size()), t(1));
      if (!d.ok()) break;
      ++good;
    }
    const std::uint64_t news = g_news.load() - before;
    CHECK(good == 200);
    CHECK(news == 0);
  }
}

TEST_CASE("ESP throughput (benchmark, not a test)", "[.bench]") {
  for (const auto& suite : suites()) {
    Pair p = make_pair(suite, esp::Mode::tunnel, false, 1024);
    const Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1, 2, 1400 - 28);
    Framed f = frame(*p.out, inner);
    Bytes wire(f.buf.size());
    constexpr int kPackets = 200000;
    std::chrono::nanoseconds enc{0}, dec{0};
    for (int i = 0; i < kPackets; ++i) {
      std::copy(inner.begin(), inner.end(), f.buf.begin() + static_cast<std::ptrdiff_t>(f.offset));
      auto t0 = std::chrono::steady_clock::now();
      auto e = p.out->encap(f.buf, f.offset, f.length, t(1));
      auto t1 = std::chrono::steady_clock::now();
      std::copy(e.packet.begin(), e.packet.end(), wire.begin());
      auto t2 = std::chrono::steady_clock::now();
      auto d = p.in->decap(common::MutByteSpan(wire).first(e.packet.size()), t(1));
      auto t3 = std::chrono::steady_clock::now();
      if (!e.ok() || !d.ok()) FAIL("round trip failed");
      enc += t1 - t0;
      dec += t3 - t2;
    }
    auto gbps = [&](std::chrono::nanoseconds ns) { return double(inner.size()) * 8 * kPackets / double(ns.count()); };
    std::printf("%-28s 1400-byte packets: encap %.2f Gbit/s (%.0f ns/pkt), decap %.2f Gbit/s (%.0f ns/pkt)\n",
                suite.name, gbps(enc), double(enc.count()) / kPackets, gbps(dec), double(dec.count()) / kPackets);
  }
}
