// UdpSocket::queue_joined (daemon/udp.h): runs of datagrams to one target go as one
// UDP_SEGMENT send, and the receiver still reads each datagram, in order, unchanged.
// Loopback only; no privileges needed.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/udp.h"

using swld::UdpSocket;

namespace {

struct Receiver {
  int fd = -1;
  std::uint16_t port = 0;
  Receiver() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t l = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
  }
  ~Receiver() { ::close(fd); }
  // every datagram waiting, as (size, first byte)
  std::vector<std::pair<std::size_t, int>> drain() const {
    std::vector<std::pair<std::size_t, int>> out;
    unsigned char buf[2048];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0) break;
      out.emplace_back(static_cast<std::size_t>(n), n > 0 ? buf[0] : -1);
    }
    return out;
  }
};

std::vector<std::byte> datagram(std::size_t size, int tag) {
  std::vector<std::byte> d(size, std::byte{0x5a});
  if (size) d[0] = static_cast<std::byte>(tag);
  return d;
}

}  // namespace

TEST_CASE("queue_joined: equal sizes join, a shorter one ends the run, order and bytes kept", "[udp]") {
  Receiver r1, r2;
  UdpSocket s;
  REQUIRE(s.open(common::Endpoint{common::IpAddr::v4(0x7f000001), 0}, false, true));
  const common::Endpoint to1{common::IpAddr::v4(0x7f000001), r1.port}, to2{common::IpAddr::v4(0x7f000001), r2.port};
  // sizes and targets: a run of 3 x 200, a shorter 120 closing it, then 200 starts anew;
  // a different target and a larger datagram each start a message of their own
  struct Item { std::size_t size; int target; };
  const std::vector<Item> items = {{200, 1}, {200, 1}, {200, 1}, {120, 1}, {200, 1}, {200, 2},
                                   {300, 2}, {300, 2}, {1400, 2}, {200, 1}};
  int tag = 1;
  for (const auto& it : items) {
    auto d = datagram(it.size, tag++);
    s.queue_joined(it.target == 1 ? to1 : to2, d);
  }
  if (s.gso()) {
    // [200 200 200 120] [200] [200@2] [300 300] [1400] [200]
    CHECK(s.queued_messages() == 6);
  } else {
    WARN("this kernel has no UDP_SEGMENT: every datagram is its own message");
    CHECK(s.queued_messages() == items.size());
  }
  REQUIRE(s.flush() == 0);
  ::usleep(20000);
  const auto got1 = r1.drain(), got2 = r2.drain();
  const std::vector<std::pair<std::size_t, int>> want1 = {{200, 1}, {200, 2}, {200, 3}, {120, 4}, {200, 5}, {200, 10}};
  const std::vector<std::pair<std::size_t, int>> want2 = {{200, 6}, {300, 7}, {300, 8}, {1400, 9}};
  CHECK(got1 == want1);
  CHECK(got2 == want2);
}

TEST_CASE("queue_joined: a run stops at 64 datagrams and at the GSO byte limit", "[udp]") {
  Receiver r;
  UdpSocket s;
  REQUIRE(s.open(common::Endpoint{common::IpAddr::v4(0x7f000001), 0}, false, true));
  if (!s.gso()) {
    WARN("skipped: no UDP_SEGMENT in this kernel");
    return;
  }
  const common::Endpoint to{common::IpAddr::v4(0x7f000001), r.port};
  for (int i = 0; i < 130; ++i) s.queue_joined(to, datagram(100, i));
  CHECK(s.queued_messages() == 3);  // 64 + 64 + 2
  REQUIRE(s.flush() == 0);
  ::usleep(20000);
  auto got = r.drain();  // before the next sends: the receive buffer holds ~200 KiB
  for (int i = 0; i < 60; ++i) s.queue_joined(to, datagram(1400, i));
  // 65000 / 1400 = 46 per run: 46 + 14 (fewer than 64: the byte limit cut it)
  CHECK(s.queued_messages() == 2);
  REQUIRE(s.flush() == 0);
  ::usleep(20000);
  const auto more = r.drain();
  got.insert(got.end(), more.begin(), more.end());
  REQUIRE(got.size() == 190);
  for (int i = 0; i < 130; ++i) CHECK(got[static_cast<std::size_t>(i)] == std::make_pair(std::size_t{100}, i));
  for (int i = 0; i < 60; ++i) CHECK(got[static_cast<std::size_t>(130 + i)] == std::make_pair(std::size_t{1400}, i));
}

TEST_CASE("set_socket_buffers: granted sizes say nothing; a capped size is named with its sysctl", "[udp]") {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  std::size_t rmem_max = 0;
  if (FILE* f = std::fopen("/proc/sys/net/core/rmem_max", "r")) {
    unsigned long v = 0;
    if (std::fscanf(f, "%lu", &v) == 1) rmem_max = v;
    std::fclose(f);
  }
  const std::size_t want = std::max<std::size_t>(rmem_max * 4, 4u << 20);
  const std::string w = swld::set_socket_buffers(fd, want, 0);
  int got = 0;
  socklen_t gl = sizeof got;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  if (::geteuid() == 0) {
    // root has CAP_NET_ADMIN: SO_RCVBUFFORCE passes rmem_max
    CHECK(w.empty());
    CHECK(static_cast<std::size_t>(got) / 2 >= want);
  } else {
    CHECK(w.find("receive buffer") != std::string::npos);
    CHECK(w.find("net.core.rmem_max") != std::string::npos);
  }
  CHECK(swld::set_socket_buffers(fd, 0, 0).empty());  // 0: left as it is
  ::close(fd);
}
