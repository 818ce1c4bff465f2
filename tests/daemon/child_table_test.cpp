// daemon/child_table.h: CHILD_SA install/remove in one place, as the engine's events drive
// it and as the data path and status read it.
#include <catch2/catch.hpp>

#include "common/crypto.h"
#include "daemon/child_table.h"
#include "gre/ipv4.h"

using common::TrafficSelector;
using swld::ChildTable;

namespace {

class CountingRandom final : public common::crypto::Random {
 public:
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte{n_++};
  }

 private:
  std::uint8_t n_ = 1;
};

TrafficSelector ts(const char* prefix) { return TrafficSelector::from_prefix(*common::Prefix::parse(prefix)); }

ike::ChildSaInstall child(std::uint32_t spi_in, std::uint32_t spi_out) {
  ike::ChildSaInstall c;
  c.child_name = "home";
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.encr = common::crypto::EncrId::aes_gcm_16;
  c.key_bits = 256;
  c.encr_key_in = common::Bytes(36, std::byte{0x11});
  c.encr_key_out = common::Bytes(36, std::byte{0x22});
  c.local_ts = {ts("10.1.0.0/16")};
  c.remote_ts = {ts("10.2.0.0/16")};
  c.local = {*common::IpAddr::parse("198.51.100.1"), 4500};
  c.remote = {*common::IpAddr::parse("192.0.2.2"), 4500};
  c.udp_encap = true;
  return c;
}

esp::ip::Flow flow(const char* src, const char* dst) {
  esp::ip::Flow f;
  f.src = *common::IpAddr::parse(src);
  f.dst = *common::IpAddr::parse(dst);
  f.protocol = 17;
  return f;
}

}  // namespace

TEST_CASE("child table: an installed pair takes its selectors' flows, with its route, until removed") {
  CountingRandom rng;
  ChildTable t(rng);
  CHECK(t.empty());
  CHECK_FALSE(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa);

  REQUIRE(t.install(child(0x1000, 0x2000)));
  CHECK_FALSE(t.empty());
  auto out = t.select_outbound(flow("10.1.0.1", "10.2.0.5"));
  REQUIRE(out.sa);
  REQUIRE(out.route);
  CHECK(out.sa->spi() == 0x2000);
  CHECK(out.route->local.to_string() == "198.51.100.1:4500");
  CHECK(out.route->remote.to_string() == "192.0.2.2:4500");
  CHECK(out.route->udp_encap);
  CHECK(t.sad().find_inbound(0x1000));
  CHECK(t.sad().find_outbound(0x2000));
  // Outside the selectors: nothing, so nothing leaves unencrypted.
  auto other = t.select_outbound(flow("10.1.0.1", "10.3.0.5"));
  CHECK_FALSE(other.sa);
  CHECK_FALSE(other.route);

  t.remove({"home", 0x1000, 0x2000});
  CHECK(t.empty());
  CHECK_FALSE(t.sad().find_inbound(0x1000));
  CHECK_FALSE(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).route);
}

TEST_CASE("child table: a rekey we answered sends on the old SA until the new outbound one is released") {
  CountingRandom rng;
  ChildTable t(rng);
  REQUIRE(t.install(child(0x1000, 0x2000)));
  auto next = child(0x1001, 0x2001);
  next.outbound_deferred = true;
  REQUIRE(t.install(next));
  CHECK(t.sad().find_inbound(0x1001));  // receives on the new SA at once
  CHECK(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa->spi() == 0x2000);
  t.release_outbound({"home", 0x1001, 0x2001});
  CHECK(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa->spi() == 0x2001);
  t.remove({"home", 0x1000, 0x2000});
  CHECK(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa->spi() == 0x2001);
  // A deferred SA removed before its release is gone with it.
  auto third = child(0x1002, 0x2002);
  third.outbound_deferred = true;
  REQUIRE(t.install(third));
  t.remove({"home", 0x1002, 0x2002});
  t.release_outbound({"home", 0x1002, 0x2002});
  CHECK(t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa->spi() == 0x2001);
}

TEST_CASE("child table: an SA that cannot be built is not installed") {
  CountingRandom rng;
  ChildTable t(rng);
  auto bad = child(0x1000, 0x2000);
  bad.encr_key_out.resize(5);
  CHECK_FALSE(t.install(bad));
  CHECK(t.empty());
  CHECK_FALSE(t.sad().find_inbound(0x1000));
}

TEST_CASE("child table: a volume limit crossed is reported once") {
  CountingRandom rng;
  ChildTable t(rng);
  auto c = child(0x1000, 0x2000);
  c.soft_packets = 1;
  c.hard_packets = 3;
  REQUIRE(t.install(c));
  CHECK(t.volumes_crossed().empty());

  gre::Ipv4Header h;
  h.protocol = 17;
  h.src = gre::ipv4(10, 1, 0, 1);
  h.dst = gre::ipv4(10, 2, 0, 5);
  const common::Bytes inner = gre::build_ipv4(h, common::Bytes(16));
  common::Bytes buf(esp::Sa::kMaxHeader + inner.size() + esp::Sa::kMaxTrailer);
  auto* sa = t.select_outbound(flow("10.1.0.1", "10.2.0.5")).sa;
  REQUIRE(sa);
  auto send_one = [&] {
    std::copy(inner.begin(), inner.end(), buf.begin() + esp::Sa::kMaxHeader);
    REQUIRE(sa->encap(buf, esp::Sa::kMaxHeader, inner.size(), esp::Clock::now()).ok());
  };
  send_one();
  auto crossed = t.volumes_crossed();
  REQUIRE(crossed.size() == 1);
  CHECK(crossed[0].spi_in == 0x1000);
  CHECK_FALSE(crossed[0].hard);
  CHECK(crossed[0].what == "packets");
  CHECK(t.volumes_crossed().empty());
  send_one();
  send_one();
  crossed = t.volumes_crossed();
  REQUIRE(crossed.size() == 1);
  CHECK(crossed[0].hard);
  CHECK(t.volumes_crossed().empty());
}
