// Errors as values: Result<T> carries either a T or an Error (an enum code plus a short
// static detail string). No exceptions on the packet path.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace common {

enum class Errc : std::uint8_t {
  truncated,      // input ended before a field it announced
  malformed,      // a field has a value the format does not allow
  unsupported,    // well formed, but something we do not implement
  integrity,      // ICV / tag / checksum mismatch
  replay,         // sequence number already seen or left of the window
  unknown_spi,    // no SA for this SPI
  policy,         // traffic selector / policy violation
  crypto,         // the crypto library failed
  state,          // not allowed in the current state
  io,             // system call failed
  config,         // configuration error
  auth,           // authentication failed
  no_proposal,    // no acceptable proposal
};

std::string_view to_string(Errc e);

struct Error {
  Errc code;
  const char* detail;  // static string, never owned
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) {}                 // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error e) : ok_(false), e_(e) {}  // NOLINT
  static Status success() { return {}; }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return e_; }

 private:
  bool ok_ = true;
  Error e_{Errc::state, ""};
};

inline Error make_error(Errc c, const char* detail) { return Error{c, detail}; }

}  // namespace common
