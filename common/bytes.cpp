#include "common/bytes.h"

#include <stdexcept>

#include "common/result.h"

namespace common {

namespace {
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Bytes from_hex(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t' || c == ':' || c == '\r') continue;
    int v = hexval(c);
    if (v < 0) throw std::invalid_argument("from_hex: bad digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(std::byte((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("from_hex: odd number of digits");
  return out;
}

std::string to_hex(ByteSpan b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto x : b) {
    auto v = std::to_integer<unsigned>(x);
    s.push_back(d[v >> 4]);
    s.push_back(d[v & 15]);
  }
  return s;
}

bool equal_ct(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  unsigned acc = 0;
  for (std::size_t i = 0; i < a.size(); ++i) acc |= std::to_integer<unsigned>(a[i] ^ b[i]);
  return acc == 0;
}

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::truncated: return "truncated";
    case Errc::malformed: return "malformed";
    case Errc::unsupported: return "unsupported";
    case Errc::integrity: return "integrity";
    case Errc::replay: return "replay";
    case Errc::unknown_spi: return "unknown_spi";
    case Errc::policy: return "policy";
    case Errc::crypto: return "crypto";
    case Errc::state: return "state";
    case Errc::io: return "io";
    case Errc::config: return "config";
    case Errc::auth: return "auth";
    case Errc::no_proposal: return "no_proposal";
  }
  return "?";
}

}  // namespace common
