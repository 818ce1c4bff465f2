// CHILD_SA volume limits and the 32-bit sequence space, checked on real SA pairs whose
// counters move by encapsulating and decapsulating packets.
#include <catch2/catch.hpp>

#include "esp/volume.h"
#include "esp_test_util.h"

using namespace esp_test;
using esp::VolumeState;

namespace {

// Sends one tunnel-mode packet of `payload` bytes from out to in (inner size 28 + payload).
void send_one(Pair& p, std::size_t payload) {
  Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1000, 2000, payload);
  Framed f = frame(*p.out, inner);
  auto e = p.out->encap(f.buf, f.offset, f.length, t(1));
  REQUIRE(e.ok());
  Bytes wire(e.packet.begin(), e.packet.end());
  auto d = p.in->decap(wire, t(1));
  REQUIRE(d.ok());
}

}  // namespace

TEST_CASE("volume: soft and hard byte and packet limits, either direction", "[esp][volume]") {
  Pair p = make_pair(suites()[2], esp::Mode::tunnel, false);
  REQUIRE(p.out);
  esp::VolumeLimits lim;
  lim.soft_bytes = 1000;
  lim.hard_bytes = 1500;
  lim.soft_packets = 20;
  lim.hard_packets = 25;
  CHECK(esp::check_volume(lim, p.in.get(), p.out.get()).state == VolumeState::ok);
  // 100-byte inner packets: 9 of them are 900 bytes (below soft), the 10th reaches 1000.
  for (int i = 0; i < 9; ++i) send_one(p, 72);
  CHECK(p.out->counters().bytes == 900);
  CHECK(esp::check_volume(lim, p.in.get(), p.out.get()).state == VolumeState::ok);
  send_one(p, 72);
  auto c = esp::check_volume(lim, p.in.get(), p.out.get());
  CHECK(c.state == VolumeState::soft);
  CHECK(c.what == "bytes");
  // Only one direction is known (the outbound SA held back during a rekey): still seen.
  CHECK(esp::check_volume(lim, p.in.get(), nullptr).state == VolumeState::soft);
  CHECK(esp::check_volume(lim, nullptr, p.out.get()).state == VolumeState::soft);
  for (int i = 0; i < 4; ++i) send_one(p, 72);
  CHECK(esp::check_volume(lim, p.in.get(), p.out.get()).state == VolumeState::soft);
  send_one(p, 72);  // 1500 bytes
  c = esp::check_volume(lim, p.in.get(), p.out.get());
  CHECK(c.state == VolumeState::hard);
  CHECK(c.what == "bytes");

  SECTION("packets alone") {
    Pair q = make_pair(suites()[0], esp::Mode::tunnel, true);
    esp::VolumeLimits pk;
    pk.soft_packets = 3;
    pk.hard_packets = 5;
    send_one(q, 0);
    send_one(q, 0);
    CHECK(esp::check_volume(pk, q.in.get(), q.out.get()).state == VolumeState::ok);
    send_one(q, 0);
    c = esp::check_volume(pk, q.in.get(), q.out.get());
    CHECK(c.state == VolumeState::soft);
    CHECK(c.what == "packets");
    send_one(q, 0);
    send_one(q, 0);
    CHECK(esp::check_volume(pk, q.in.get(), q.out.get()).state == VolumeState::hard);
  }
  SECTION("no limits: never") {
    CHECK(esp::check_volume(esp::VolumeLimits{}, p.in.get(), p.out.get()).state == VolumeState::ok);
  }
}

TEST_CASE("volume: a sender without ESN rekeys before the 32-bit sequence number cycles", "[esp][volume]") {
  bool esn = GENERATE(false, true);
  INFO((esn ? "esn" : "no esn"));
  Pair p = make_pair(suites()[2], esp::Mode::tunnel, esn);
  const esp::VolumeLimits none;
  const std::uint64_t soft_at = 0xffffffffULL - esp::kSeqSoftMargin;
  p.out->set_seq_out(soft_at - 2);
  send_one(p, 10);  // seq soft_at - 1
  CHECK(esp::check_volume(none, p.in.get(), p.out.get()).state == VolumeState::ok);
  p.out->set_seq_out(soft_at - 1);
  Bytes inner = ipv4_packet(v4("10.1.0.1"), v4("10.2.0.1"), 17, 1000, 2000, 10);
  Framed f = frame(*p.out, inner);
  REQUIRE(p.out->encap(f.buf, f.offset, f.length, t(1)).ok());  // seq soft_at
  auto c = esp::check_volume(none, p.in.get(), p.out.get());
  CHECK(c.state == (esn ? VolumeState::ok : VolumeState::soft));
  if (!esn) CHECK(c.what == "sequence numbers");
  p.out->set_seq_out(0xfffffffeULL);
  Framed g = frame(*p.out, inner);
  REQUIRE(p.out->encap(g.buf, g.offset, g.length, t(1)).ok());  // the last one, 2^32 - 1
  CHECK(esp::check_volume(none, p.in.get(), p.out.get()).state == (esn ? VolumeState::ok : VolumeState::hard));
}
