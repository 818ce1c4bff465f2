// The TUN device with UDP segmentation offload (Linux 6.2+) in a namespace of its own:
// super-packets read and written through the vnet header, checked against real sockets.

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <vector>

#include "netns_support.h"
#include "tun/offload.h"

using namespace tuntest;

namespace {

// IPv4 + UDP datagram src:sport -> dst:dport with a complete UDP checksum; the payload is
// `n` bytes counting up from `first`.
Bytes udp_datagram(const IpAddr& src, std::uint16_t sport, const IpAddr& dst, std::uint16_t dport, std::size_t n,
                   std::uint8_t first) {
  namespace off = tun::offload;
  Bytes p(28 + n);
  p[0] = std::byte(0x45);
  p[2] = std::byte((28 + n) >> 8);
  p[3] = std::byte((28 + n) & 0xff);
  p[6] = std::byte(0x40);
  p[8] = std::byte(64);
  p[9] = std::byte(17);
  std::memcpy(p.data() + 12, src.b.data(), 4);
  std::memcpy(p.data() + 16, dst.b.data(), 4);
  p[20] = std::byte(sport >> 8);
  p[21] = std::byte(sport & 0xff);
  p[22] = std::byte(dport >> 8);
  p[23] = std::byte(dport & 0xff);
  p[24] = std::byte((8 + n) >> 8);
  p[25] = std::byte((8 + n) & 0xff);
  for (std::size_t i = 0; i < n; ++i) p[28 + i] = std::byte((first + i) & 0xff);
  off::fix_ipv4_checksum(common::MutByteSpan(p));
  const std::uint32_t ps = off::pseudo_header_sum(common::ByteSpan(p).subspan(12, 4), common::ByteSpan(p).subspan(16, 4),
                                                  17, static_cast<std::uint16_t>(8 + n));
  const auto c = static_cast<std::uint16_t>(~off::csum_fold(off::csum_add(ps, common::ByteSpan(p).subspan(20))));
  p[26] = std::byte(c >> 8);
  p[27] = std::byte(c & 0xff);
  return p;
}

}  // namespace

TEST_CASE("LinuxTun USO: a UDP_SEGMENT send is read as one super-packet; joined datagrams reach a socket") {
  NETNS_OR_SKIP();
  namespace off = tun::offload;
  bool skipped = false;
  auto dev = open_tun({kDev, false, true}, skipped);
  if (skipped) return;
  if (!dev->offload() || !dev->uso()) {
    // Linux 6.2 added TUN_F_USO4/6: a kernel at least that new that refuses it is a
    // regression to report, not a kernel to skip.
    INFO("offload refused: " << dev->offload_refused());
    REQUIRE_FALSE(kernel_at_least(6, 2));
    WARN("SKIPPED: this kernel has no TUN UDP segmentation offload (Linux 6.2+); " << dev->offload_refused());
    return;
  }
  route_through_tun();

  SECTION("read: one UDP_L4 super-packet, cut into datagrams with valid checksums") {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    int gso = 1000;
    REQUIRE(::setsockopt(s, SOL_UDP, UDP_SEGMENT, &gso, sizeof gso) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    ::inet_pton(AF_INET, "10.99.0.7", &to.sin_addr);
    std::vector<std::uint8_t> msg(3500);
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i * 7);
    auto sent = ::sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(s);
    REQUIRE(sent == static_cast<ssize_t>(msg.size()));
    std::vector<std::byte> buf(70000);
    bool got = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!got && std::chrono::steady_clock::now() < deadline) {
      pollfd p{dev->fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      auto n = dev->read(buf);
      REQUIRE(n.ok());
      if (*n < off::kVnetHdrSize + 28) continue;
      auto h = off::parse_vnet_hdr(common::ByteSpan(buf).first(*n));
      REQUIRE(h.ok());
      common::ByteSpan pkt = common::ByteSpan(buf).subspan(off::kVnetHdrSize, *n - off::kVnetHdrSize);
      if (std::to_integer<unsigned>(pkt[9]) != 17) continue;
      got = true;
      CHECK(h->gso_kind() == off::kGsoUdpL4);
      CHECK(h->gso_size == 1000);
      auto seg = off::Segmenter::create(pkt, *h);
      REQUIRE(seg.ok());
      REQUIRE(seg->count() == 4);
      std::vector<std::uint8_t> joined;
      for (std::size_t i = 0; i < seg->count(); ++i) {
        Bytes d(seg->segment_size(i));
        REQUIRE(seg->write(i, common::MutByteSpan(d)).ok());
        const auto* b = reinterpret_cast<const std::uint8_t*>(d.data());
        CHECK(checksum(b, 20) == 0);
        std::vector<std::uint8_t> pseudo(b + 12, b + 20);
        pseudo.insert(pseudo.end(), {0, 17, std::uint8_t((d.size() - 20) >> 8), std::uint8_t(d.size() - 20)});
        pseudo.insert(pseudo.end(), b + 20, b + d.size());
        CHECK(checksum(pseudo.data(), pseudo.size()) == 0);
        CHECK(std::size_t((b[24] << 8) | b[25]) == d.size() - 20);
        joined.insert(joined.end(), b + 28, b + d.size());
      }
      CHECK(joined == msg);
    }
    CHECK(got);
  }

  SECTION("write: six datagrams joined into one UDP_L4 write arrive as six datagrams") {
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(7000);
    ::inet_pton(AF_INET, "10.44.4.6", &at.sin_addr);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    std::vector<Bytes> dgrams;
    for (int i = 0; i < 5; ++i) dgrams.push_back(udp_datagram(ip("10.99.0.7"), 5000, ip("10.44.4.6"), 7000, 1200, std::uint8_t(i)));
    dgrams.push_back(udp_datagram(ip("10.99.0.7"), 5000, ip("10.44.4.6"), 7000, 200, 99));
    const std::vector<Bytes> orig = dgrams;
    off::Coalescer c;
    c.set_udp(true);
    std::size_t writes = 0;
    auto emit = [&](const off::TunWrite& w) {
      std::array<std::byte, off::kVnetHdrSize> vh;
      off::serialize_vnet_hdr(w.hdr, vh);
      std::vector<common::ByteSpan> parts{common::ByteSpan(vh)};
      parts.insert(parts.end(), w.parts.begin(), w.parts.end());
      REQUIRE_OK(dev->write_gather(parts));
      ++writes;
    };
    for (auto& d : dgrams) c.add(common::MutByteSpan(d), emit);
    c.flush(emit);
    CHECK(writes == 1);
    CHECK(c.stats().udp_super == 1);
    std::size_t n = 0;
    std::vector<std::uint8_t> rb(4096);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (n < orig.size() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{s, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      auto k = ::recv(s, rb.data(), rb.size(), 0);
      REQUIRE(k >= 0);
      const Bytes& want = orig[n++];
      REQUIRE(static_cast<std::size_t>(k) == want.size() - 28);
      CHECK(std::memcmp(rb.data(), want.data() + 28, static_cast<std::size_t>(k)) == 0);
    }
    ::close(s);
    CHECK(n == orig.size());
  }
}
