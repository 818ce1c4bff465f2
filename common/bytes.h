// Bounds-checked big-endian Reader and Writer over byte spans.
//
// Reader: every read checks the remaining length; after the first failed read the reader
// stays failed (ok() == false) and further reads return zeros / empty spans, so a parser
// may read a whole fixed header and check ok() once.
//
// Writer: appends into a caller-owned std::vector<std::byte>, or writes into a fixed span
// (for in-place encapsulation with reserved headroom). Overflowing a fixed span sets the
// writer failed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace common {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;
using MutByteSpan = std::span<std::byte>;

inline ByteSpan as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline ByteSpan as_bytes(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const std::byte*>(p), n};
}
inline const std::uint8_t* u8(ByteSpan s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }
inline std::uint8_t* u8(MutByteSpan s) { return reinterpret_cast<std::uint8_t*>(s.data()); }

Bytes from_hex(std::string_view hex);  // ignores spaces/newlines/colons; throws on bad digit
std::string to_hex(ByteSpan b);
// Sized first, then one memcpy of a checked length. The iterator-range forms
// (Bytes(first, last), insert(end, first, last)) are equivalent, but g++ 12 at -O3 loses
// track of the sizes across the inlined reallocation and reports false -Warray-bounds,
// -Wstringop-overflow and -Wfree-nonheap-object for them. The length check is the one
// insert() makes (no span is that long); without it old + size could wrap and resize()
// would shrink. `s` must not point into `out`.
inline void append(Bytes& out, ByteSpan s) {
  if (s.empty()) return;
  const std::size_t old = out.size();
  if (s.size() > out.max_size() - old) throw std::length_error("common::append");
  out.resize(old + s.size());
  std::memcpy(out.data() + old, s.data(), s.size());
}
inline Bytes to_bytes(ByteSpan s) {
  Bytes b;
  append(b, s);
  return b;
}
// Constant-time comparison for MACs and authentication data.
bool equal_ct(ByteSpan a, ByteSpan b);

class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}

  bool ok() const { return ok_; }
  std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  std::uint16_t u16() {
    if (!need(2)) return 0;
    std::uint16_t v = static_cast<std::uint16_t>((std::to_integer<unsigned>(data_[pos_]) << 8) |
                                                 std::to_integer<unsigned>(data_[pos_ + 1]));
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(data_[pos_ + i]);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(data_[pos_ + i]);
    pos_ += 8;
    return v;
  }
  ByteSpan bytes(std::size_t n) {
    if (!need(n)) return {};
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  ByteSpan rest() { return bytes(remaining()); }
  void skip(std::size_t n) { (void)bytes(n); }
  // A sub-reader over the next n bytes (consumed from this reader).
  Reader sub(std::size_t n) {
    ByteSpan s = bytes(n);
    Reader r(s);
    if (!ok_) r.ok_ = false;
    return r;
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  ByteSpan data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

class Writer {
 public:
  // Growable: appends to out.
  explicit Writer(Bytes& out) : vec_(&out) {}
  // Fixed: writes into buf, never past its end.
  explicit Writer(MutByteSpan buf) : fixed_(buf) {}

  bool ok() const { return ok_; }
  std::size_t size() const { return vec_ ? vec_->size() : pos_; }

  void u8(std::uint8_t v) { put(&v, 1); }
  void u16(std::uint16_t v) {
    std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    put(b, 2);
  }
  void u32(std::uint32_t v) {
    std::uint8_t b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
    put(b, 4);
  }
  void u64(std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
    put(b, 8);
  }
  void bytes(ByteSpan s) { put(s.data(), s.size()); }
  void zeros(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) u8(0);
  }
  // Patch a big-endian u16 at an absolute offset already written (e.g. a length field).
  void patch_u16(std::size_t at, std::uint16_t v) {
    std::byte* p = at_ptr(at, 2);
    if (!p) return;
    p[0] = std::byte(v >> 8);
    p[1] = std::byte(v & 0xff);
  }
  void patch_u32(std::size_t at, std::uint32_t v) {
    std::byte* p = at_ptr(at, 4);
    if (!p) return;
    for (int i = 0; i < 4; ++i) p[i] = std::byte((v >> (24 - 8 * i)) & 0xff);
  }
  void patch_u8(std::size_t at, std::uint8_t v) {
    std::byte* p = at_ptr(at, 1);
    if (p) p[0] = std::byte(v);
  }

 private:
  void put(const void* p, std::size_t n) {
    if (!ok_) return;
    if (vec_) {
      append(*vec_, ByteSpan(static_cast<const std::byte*>(p), n));
      return;
    }
    if (fixed_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    if (n) std::memcpy(fixed_.data() + pos_, p, n);
    pos_ += n;
  }
  std::byte* at_ptr(std::size_t at, std::size_t n) {
    if (!ok_ || at + n > size()) {
      ok_ = false;
      return nullptr;
    }
    return vec_ ? vec_->data() + at : fixed_.data() + at;
  }
  Bytes* vec_ = nullptr;
  MutByteSpan fixed_{};
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace common
