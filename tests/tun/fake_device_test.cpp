#include <poll.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "tun/device.h"
#include "tun/error_text.h"

using common::Errc;
using common::as_bytes;
using tun::FakeDevice;
using tun::PacketSlot;

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

std::string str(common::ByteSpan b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

TEST_CASE("FakeDevice: read with nothing queued returns 0 and the fd is not readable") {
  FakeDevice dev("fk0");
  CHECK(dev.name() == "fk0");
  REQUIRE(dev.fd() >= 0);
  CHECK_FALSE(readable(dev.fd()));
  std::array<std::byte, 64> buf{};
  auto r = dev.read(buf);
  REQUIRE(r.ok());
  CHECK(*r == 0);
}

TEST_CASE("FakeDevice: injected packets come out whole, in order, and drive the fd") {
  FakeDevice dev;
  dev.inject(as_bytes("first"));
  dev.inject(as_bytes("second packet"));
  dev.inject(as_bytes(""));  // ignored: 0 means "nothing waiting"
  CHECK(dev.inbound_size() == 2);
  CHECK(readable(dev.fd()));

  std::array<std::byte, 64> buf{};
  auto r = dev.read(buf);
  REQUIRE(r.ok());
  CHECK(str({buf.data(), *r}) == "first");
  CHECK(readable(dev.fd()));
  r = dev.read(buf);
  REQUIRE(r.ok());
  CHECK(str({buf.data(), *r}) == "second packet");
  CHECK_FALSE(readable(dev.fd()));
  r = dev.read(buf);
  REQUIRE(r.ok());
  CHECK(*r == 0);

  dev.inject(as_bytes("again"));
  CHECK(readable(dev.fd()));
}

TEST_CASE("FakeDevice: a buffer smaller than the packet loses that packet with Errc::truncated") {
  FakeDevice dev;
  dev.inject(as_bytes("0123456789"));
  dev.inject(as_bytes("ok"));
  std::array<std::byte, 4> small{};
  auto r = dev.read(small);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::truncated);
  CHECK(dev.truncated_drops() == 1);
  r = dev.read(small);
  REQUIRE(r.ok());
  CHECK(str({small.data(), *r}) == "ok");

  // Exactly fitting is not truncation.
  dev.inject(as_bytes("abcd"));
  r = dev.read(small);
  REQUIRE(r.ok());
  CHECK(*r == 4);
}

TEST_CASE("FakeDevice: read_batch fills up to N slots and stops when empty") {
  FakeDevice dev;
  for (int i = 0; i < 5; ++i) dev.inject(as_bytes(std::string("pkt") + char('0' + i)));
  std::array<std::array<std::byte, 32>, 3> store{};
  std::array<PacketSlot, 3> slots;
  for (std::size_t i = 0; i < slots.size(); ++i) slots[i].buf = store[i];

  auto n = dev.read_batch(slots);
  REQUIRE(n.ok());
  REQUIRE(*n == 3);
  CHECK(str({store[0].data(), slots[0].len}) == "pkt0");
  CHECK(str({store[2].data(), slots[2].len}) == "pkt2");
  n = dev.read_batch(slots);
  REQUIRE(n.ok());
  REQUIRE(*n == 2);
  CHECK(str({store[1].data(), slots[1].len}) == "pkt4");
  CHECK_FALSE(readable(dev.fd()));
  n = dev.read_batch(slots);
  REQUIRE(n.ok());
  CHECK(*n == 0);
}

TEST_CASE("FakeDevice: read_batch returns packets read before an error, the error when first") {
  FakeDevice dev;
  std::array<std::byte, 32> big{};
  std::array<std::byte, 2> tiny{};
  std::array<PacketSlot, 2> slots{PacketSlot{big, 0}, PacketSlot{tiny, 0}};
  dev.inject(as_bytes("fits"));
  dev.inject(as_bytes("does not fit"));
  auto n = dev.read_batch(slots);
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK(dev.truncated_drops() == 1);

  dev.inject(as_bytes("x"));
  dev.fail_reads(common::make_error(Errc::io, "boom"));
  n = dev.read_batch(slots);
  REQUIRE_FALSE(n.ok());
  CHECK(std::string(n.error().detail) == "boom");
  dev.fail_reads(std::nullopt);
  n = dev.read_batch(slots);
  REQUIRE(n.ok());
  CHECK(*n == 1);
}

TEST_CASE("FakeDevice: writes are recorded; injected write errors record nothing") {
  FakeDevice dev;
  REQUIRE(dev.write(as_bytes("a")).ok());
  REQUIRE(dev.write(as_bytes("bb")).ok());
  REQUIRE(dev.written().size() == 2);
  CHECK(str(dev.written()[1]) == "bb");

  dev.fail_writes(common::make_error(Errc::io, "no buffer space"));
  auto s = dev.write(as_bytes("c"));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Errc::io);
  CHECK(dev.written().size() == 2);

  std::array<common::ByteSpan, 2> pk{as_bytes("d"), as_bytes("e")};
  auto n = dev.write_batch(pk);
  REQUIRE_FALSE(n.ok());

  dev.fail_writes(std::nullopt);
  n = dev.write_batch(pk);
  REQUIRE(n.ok());
  CHECK(*n == 2);
  auto all = dev.take_written();
  REQUIRE(all.size() == 4);
  CHECK(str(all[3]) == "e");
  CHECK(dev.written().empty());
}

namespace {
// A device whose third write fails, to check write_batch's partial count.
class FlakyDevice final : public tun::Device {
 public:
  common::Result<std::size_t> read(common::MutByteSpan) override { return std::size_t{0}; }
  common::Status write(common::ByteSpan) override {
    if (++writes_ == 3) return common::make_error(Errc::io, "third write fails");
    return {};
  }
  int fd() const override { return -1; }
  const std::string& name() const override { return name_; }

 private:
  int writes_ = 0;
  std::string name_ = "flaky";
};
}  // namespace

TEST_CASE("Device::write_batch stops at the first failure and reports how many went out") {
  FlakyDevice dev;
  std::array<common::ByteSpan, 4> pk{as_bytes("1"), as_bytes("2"), as_bytes("3"), as_bytes("4")};
  auto n = dev.write_batch(pk);
  REQUIRE(n.ok());
  CHECK(*n == 2);
}

TEST_CASE("error texts: interned once, errno text appended") {
  const char* a = tun::intern_detail("same text");
  const char* b = tun::intern_detail(std::string("same ") + "text");
  CHECK(a == b);
  CHECK(std::string(a) == "same text");
  auto e = tun::errno_error("RTM_NEWADDR 10.44.4.6/32 dev x", EEXIST);
  CHECK(e.code == Errc::io);
  CHECK(std::string(e.detail) == "RTM_NEWADDR 10.44.4.6/32 dev x: File exists");
  CHECK(std::string(tun::errno_text(EPERM)) == "Operation not permitted");
}
