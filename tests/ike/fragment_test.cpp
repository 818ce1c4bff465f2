// RFC 7383 fragments: SKF build/open round trips for an AEAD and for CBC+HMAC, every
// truncated length and bit flip rejected, bounded reassembly (order, duplicates, restart
// on a higher total, stale totals, limits, timeout, message ID change).
#include <catch2/catch.hpp>

#include <algorithm>

#include "ike/fragment.h"

using namespace ike;
using namespace ike::frag;
using common::Bytes;

namespace {

sk::SkKeys keys(bool aead) {
  if (aead) {
    Bytes k(36, std::byte{0x11});
    auto r = sk::SkKeys::create(common::crypto::EncrId::aes_gcm_16, k, common::crypto::IntegId::none, {});
    REQUIRE(r.ok());
    return std::move(*r);
  }
  Bytes k(32, std::byte{0x22}), a(32, std::byte{0x33});
  auto r = sk::SkKeys::create(common::crypto::EncrId::aes_cbc, k, common::crypto::IntegId::hmac_sha256_128, a);
  REQUIRE(r.ok());
  return std::move(*r);
}

std::vector<Payload> big_payloads() {
  std::vector<Payload> v;
  NotifyPayload n;
  n.type = NotifyType::initial_contact;
  v.push_back(n);
  for (int i = 0; i < 3; ++i) {
    NotifyPayload big;
    big.type = static_cast<NotifyType>(40000 + i);  // private-use status types
    big.data.resize(900);
    for (std::size_t j = 0; j < big.data.size(); ++j) big.data[j] = std::byte(j * 7 + i);
    v.push_back(big);
  }
  return v;
}

Header header(std::uint32_t mid = 1) {
  Header h;
  h.spi_i = 0x1122334455667788;
  h.spi_r = 0x99aabbccddeeff00;
  h.exchange = ExchangeType::ike_auth;
  h.initiator = true;
  h.message_id = mid;
  return h;
}

Fragment synthetic(std::uint32_t mid, std::uint16_t num, std::uint16_t total, std::size_t size = 10) {
  Fragment f;
  f.header = header(mid);
  f.number = num;
  f.total = total;
  f.plain.assign(size, std::byte{0});
  return f;
}

const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

}  // namespace

TEST_CASE("SKF: fragments round-trip and reassemble in any order") {
  for (bool aead : {true, false}) {
    CAPTURE(aead);
    auto k_out = keys(aead), k_in = keys(aead);
    common::crypto::SystemRandom rng;
    auto payloads = big_payloads();
    Bytes inner;
    PayloadType first = serialize_payload_chain(payloads, inner);
    for (std::size_t limit : {std::size_t{576}, kDefaultLimit, std::size_t{200}}) {
      CAPTURE(limit);
      auto frags = build_fragments(header(), first, inner, k_out, rng, limit);
      REQUIRE(frags.ok());
      REQUIRE(frags->size() > 1);
      for (const auto& d : *frags) CHECK(d.size() <= limit);
      std::vector<Fragment> opened;
      for (const auto& d : *frags) {
        Reason why{};
        auto f = open_fragment(d, k_in, &why);
        REQUIRE(f.ok());
        CHECK(why == Reason::ok);
        CHECK(f->total == frags->size());
        opened.push_back(std::move(*f));
      }
      CHECK(opened[0].first_inner == first);
      std::reverse(opened.begin(), opened.end());
      Reassembler re;
      Message m;
      for (std::size_t i = 0; i < opened.size(); ++i) {
        auto out = re.add(opened[i], t0, &m);
        if (i + 1 < opened.size()) {
          CHECK(out == Reassembler::Outcome::incomplete);
          Reason why{};
          CHECK(re.add(opened[i], t0, &m, &why) == Reassembler::Outcome::discarded);  // duplicate
          CHECK(why == Reason::duplicate);
        } else {
          REQUIRE(out == Reassembler::Outcome::complete);
        }
      }
      CHECK(m.encrypted);
      CHECK(m.header.message_id == 1);
      CHECK(m.payloads == payloads);
      CHECK_FALSE(re.active());
    }
  }
}

TEST_CASE("SKF: a message that fits makes one fragment; no room is an error") {
  auto k = keys(true);
  common::crypto::SystemRandom rng;
  Bytes inner(10, std::byte{1});
  auto one = build_fragments(header(), PayloadType::notify, inner, k, rng, 1000);
  REQUIRE(one.ok());
  CHECK(one->size() == 1);
  CHECK_FALSE(build_fragments(header(), PayloadType::notify, inner, k, rng, 40).ok());
}

TEST_CASE("SKF: every truncation and every bit flip is rejected") {
  for (bool aead : {true, false}) {
    auto k = keys(aead);
    common::crypto::SystemRandom rng;
    Bytes inner(300, std::byte{5});
    auto frags = build_fragments(header(), PayloadType::notify, inner, k, rng, 200);
    REQUIRE(frags.ok());
    const Bytes& d = (*frags)[1];
    for (std::size_t n = 0; n < d.size(); ++n) CHECK_FALSE(open_fragment(std::span(d).first(n), k).ok());
    for (std::size_t i = 0; i < d.size(); ++i) {
      Bytes bad = d;
      bad[i] ^= std::byte{0x01};
      CHECK_FALSE(open_fragment(bad, k).ok());
    }
    Reason why{};
    Bytes sk_msg = d;
    sk_msg[16] = std::byte{46};  // header says SK, not SKF
    CHECK_FALSE(open_fragment(sk_msg, k, &why).ok());
    CHECK(why == Reason::not_skf);
  }
}

TEST_CASE("SKF reassembly: bounds, restart on a higher total, stale totals, timeout") {
  Reason why{};
  Message m;
  SECTION("too many fragments") {
    Reassembler re(ReassemblyLimits{4, 1000, std::chrono::seconds(30)});
    CHECK(re.add(synthetic(1, 1, 5), t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::too_many);
    CHECK_FALSE(re.active());
  }
  SECTION("too many bytes: state dropped") {
    Reassembler re(ReassemblyLimits{8, 25, std::chrono::seconds(30)});
    CHECK(re.add(synthetic(1, 1, 3), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re.add(synthetic(1, 2, 3), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re.add(synthetic(1, 3, 3), t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::too_large);
    CHECK(re.held_bytes() == 0);
  }
  SECTION("bad numbers") {
    Reassembler re;
    CHECK(re.add(synthetic(1, 0, 3), t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::bad_numbers);
    CHECK(re.add(synthetic(1, 4, 3), t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::bad_numbers);
  }
  SECTION("a higher total restarts, a lower one is stale") {
    Reassembler re;
    CHECK(re.add(synthetic(1, 1, 2), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re.add(synthetic(1, 1, 3), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re.held_fragments() == 1);
    CHECK(re.add(synthetic(1, 2, 2), t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::stale);
    CHECK(re.add(synthetic(1, 2, 3), t0, &m) == Reassembler::Outcome::incomplete);
    // Zero bytes of inner chain with first_inner none: an empty message.
    auto last = synthetic(1, 3, 3, 0);
    auto first = synthetic(1, 1, 3, 0);
    Reassembler re2;
    CHECK(re2.add(first, t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re2.add(synthetic(1, 2, 3, 0), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re2.add(last, t0, &m) == Reassembler::Outcome::complete);
    CHECK(m.payloads.empty());
  }
  SECTION("garbage inner chain") {
    Reassembler re;
    auto f = synthetic(1, 1, 1, 3);
    f.first_inner = PayloadType::notify;
    CHECK(re.add(f, t0, &m, &why) == Reassembler::Outcome::discarded);
    CHECK(why == Reason::inner_malformed);
  }
  SECTION("timeout and a new message ID drop the old fragments") {
    Reassembler re;
    CHECK(re.add(synthetic(1, 1, 2), t0, &m) == Reassembler::Outcome::incomplete);
    CHECK(re.add(synthetic(1, 2, 2, 0), t0 + std::chrono::seconds(31), &m) == Reassembler::Outcome::incomplete);
    CHECK(re.held_fragments() == 1);
    CHECK(re.add(synthetic(2, 1, 2), t0 + std::chrono::seconds(31), &m) == Reassembler::Outcome::incomplete);
    CHECK(re.held_fragments() == 1);
  }
}
