// The raw IPPROTO_ESP socket (daemon/raw_esp.h) in a private network namespace: what it sends
// leaves as IP protocol 50 from the chosen source address, what arrives comes with its IPv4
// header, in batches. Skipped (with the reason) when not root.
#include <catch2/catch.hpp>

#include "daemon/raw_esp.h"
#include "esp/transport.h"
#include "tun/netlink.h"
#include "tun/netns_scope.h"

using swld::RawEspSocket;
using common::IpAddr;

TEST_CASE("raw ESP socket: send with a chosen source, receive whole IPv4 packets in batches", "[raw_esp]") {
  tuntest::NetnsScope ns;
  if (!ns.ok()) {
    WARN("skipped: " << ns.why());
    return;
  }
  auto nl = tun::Netlink::open();
  REQUIRE(nl);
  REQUIRE(nl->set_link_up("lo"));
  const IpAddr a = *IpAddr::parse("192.0.2.1"), b = *IpAddr::parse("192.0.2.2");
  REQUIRE(nl->add_address("lo", {common::Prefix{a, 32}, std::nullopt}));
  REQUIRE(nl->add_address("lo", {common::Prefix{b, 32}, std::nullopt}));

  RawEspSocket s;
  REQUIRE(s.open());
  // 70 ESP-shaped payloads (SPI, sequence number, bytes): more than one batch.
  constexpr std::size_t kCount = RawEspSocket::kBatch + 6;
  for (std::size_t i = 0; i < kCount; ++i) {
    common::Bytes esp(40 + i, std::byte{0x77});
    esp[0] = std::byte{0x12};
    esp[3] = std::byte(static_cast<std::uint8_t>(i));
    s.queue(i % 2 ? b : a, i % 2 ? a : b, esp);
  }
  CHECK(s.flush() == 0);
  CHECK(s.sent() == kCount);

  std::vector<swld::RawPacket> batch;
  std::size_t got = 0, rounds = 0;
  while (got < kCount && rounds < 10) {
    ++rounds;
    std::size_t n = s.recv_batch(batch);
    REQUIRE(n == batch.size());
    for (const auto& p : batch) {
      CHECK(p.headroom == RawEspSocket::kRxHeadroom);
      auto o = esp::transport::parse_outer(common::ByteSpan(p.data, p.len));
      REQUIRE(o.ok);
      const std::size_t i = std::to_integer<std::size_t>(p.data[o.outer.esp_offset + 3]);
      CHECK(o.outer.esp_length == 40 + i);
      // The source is the one asked for (IP_PKTINFO), not the kernel's choice.
      CHECK(IpAddr::v4(o.outer.header.src) == (i % 2 ? b : a));
      CHECK(IpAddr::v4(o.outer.header.dst) == (i % 2 ? a : b));
      CHECK(o.outer.header.protocol == 50);
      ++got;
    }
    if (n == 0) break;
  }
  CHECK(got == kCount);
  CHECK(rounds >= 2);  // one batch holds at most kBatch
  CHECK(s.received() == kCount);
  CHECK(s.recv_batch(batch) == 0);  // nothing more, and no blocking
}
