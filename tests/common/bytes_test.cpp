#include <catch2/catch.hpp>

#include "common/bytes.h"
#include "common/result.h"

using namespace common;

namespace {
// A fixed record: u8 u16 u32 u64 then 3 raw bytes = 18 bytes.
const Bytes kRecord = from_hex("01 0203 04050607 08090a0b0c0d0e0f 414243");

struct Parsed {
  std::uint8_t a;
  std::uint16_t b;
  std::uint32_t c;
  std::uint64_t d;
  Bytes e;
};

bool parse(ByteSpan in, Parsed& out) {
  Reader r(in);
  out.a = r.u8();
  out.b = r.u16();
  out.c = r.u32();
  out.d = r.u64();
  out.e = to_bytes(r.bytes(3));
  return r.ok();
}
}  // namespace

TEST_CASE("Reader: reads big-endian fields", "[bytes]") {
  Parsed p{};
  REQUIRE(parse(kRecord, p));
  CHECK(p.a == 0x01);
  CHECK(p.b == 0x0203);
  CHECK(p.c == 0x04050607u);
  CHECK(p.d == 0x08090a0b0c0d0e0full);
  CHECK(p.e == from_hex("414243"));
}

TEST_CASE("Reader: fails at every truncated length and stays failed", "[bytes]") {
  for (std::size_t n = 0; n < kRecord.size(); ++n) {
    INFO("length " << n);
    Parsed p{};
    CHECK_FALSE(parse(ByteSpan(kRecord).first(n), p));
  }
  // After a failure later reads return zero/empty even if bytes would be available for them.
  Reader r(kRecord);
  (void)r.bytes(17);
  CHECK(r.u16() == 0);  // only 1 byte left: fails
  CHECK_FALSE(r.ok());
  CHECK(r.u8() == 0);
  CHECK(r.remaining() == 0);
  CHECK(r.rest().empty());
  CHECK(r.empty());
}

TEST_CASE("Reader: sub-readers and rest", "[bytes]") {
  Reader r(kRecord);
  r.skip(1);
  Reader s = r.sub(2);
  CHECK(s.u16() == 0x0203);
  CHECK(s.empty());
  CHECK_FALSE((s.u8(), s.ok()));
  CHECK(r.ok());
  CHECK(r.position() == 3);
  CHECK(r.rest().size() == kRecord.size() - 3);
  Reader t(kRecord);
  Reader u = t.sub(kRecord.size() + 1);
  CHECK_FALSE(t.ok());
  CHECK_FALSE(u.ok());
}

TEST_CASE("Writer: growable round trip", "[bytes]") {
  Bytes out;
  Writer w(out);
  w.u8(0x01);
  w.u16(0x0203);
  w.u32(0x04050607u);
  w.u64(0x08090a0b0c0d0e0full);
  w.bytes(from_hex("414243"));
  REQUIRE(w.ok());
  CHECK(out == kRecord);
  w.patch_u16(1, 0xbeef);
  w.patch_u8(0, 0xff);
  w.patch_u32(3, 0xdeadbeef);
  CHECK(to_hex(ByteSpan(out).first(7)) == "ffbeefdeadbeef");
  w.patch_u16(out.size() - 1, 0);  // past the end
  CHECK_FALSE(w.ok());
}

TEST_CASE("Writer: fixed buffer fails at every short length and stays failed", "[bytes]") {
  for (std::size_t n = 0; n <= kRecord.size(); ++n) {
    INFO("buffer " << n);
    Bytes buf(n, std::byte{0xee});
    Writer w{MutByteSpan(buf)};
    w.u8(0x01);
    w.u16(0x0203);
    w.u32(0x04050607u);
    w.u64(0x08090a0b0c0d0e0full);
    w.bytes(from_hex("414243"));
    if (n == kRecord.size()) {
      CHECK(w.ok());
      CHECK(buf == kRecord);
    } else {
      CHECK_FALSE(w.ok());
      CHECK(w.size() <= n);
      w.u8(0);  // still failed, still no write
      CHECK_FALSE(w.ok());
    }
  }
  Bytes buf(4);
  Writer w{MutByteSpan(buf)};
  w.zeros(5);
  CHECK_FALSE(w.ok());
}

TEST_CASE("hex and constant-time compare", "[bytes]") {
  CHECK(to_hex(from_hex("00:ff 10\n7f")) == "00ff107f");
  CHECK_THROWS(from_hex("0g"));
  CHECK_THROWS(from_hex("abc"));
  CHECK(equal_ct(from_hex("0102"), from_hex("0102")));
  CHECK_FALSE(equal_ct(from_hex("0102"), from_hex("0103")));
  CHECK_FALSE(equal_ct(from_hex("0102"), from_hex("01")));
  CHECK(to_string(Errc::integrity) == "integrity");
}

TEST_CASE("append and to_bytes: every split of a buffer joins back to it", "[bytes]") {
  const Bytes all = from_hex("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 ff");
  const ByteSpan s(all);
  CHECK(to_bytes(ByteSpan{}).empty());
  CHECK(to_bytes(s) == all);
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    INFO("cut at " << cut);
    Bytes joined = to_bytes(s.first(cut));
    REQUIRE(joined.size() == cut);
    append(joined, ByteSpan{});  // an empty append changes nothing
    append(joined, s.subspan(cut));
    CHECK(joined == all);
  }
  // Growing one byte at a time through several reallocations keeps what was there.
  Bytes grown;
  for (std::size_t i = 0; i < all.size(); ++i) append(grown, s.subspan(i, 1));
  CHECK(grown == all);
}
