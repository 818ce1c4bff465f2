// Small helpers the IkeSa exchange files (ike_sa.cpp, task_*.cpp) share: the nonce size
// we send, notify payloads, SPIs as big-endian bytes, and the text of SPIs, traffic
// selectors and proposals in log lines. Internal to ike/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "ike/payloads.h"
#include "ike/proposal.h"

namespace ike {

inline constexpr std::size_t kNonceSize = 32;  // Ni / Nr we send (RFC 7296 §2.10: at least 16)

inline NotifyPayload notify(NotifyType t, common::Bytes data = {}) {
  NotifyPayload n;
  n.type = t;
  n.data = std::move(data);
  return n;
}

inline common::Bytes be32(std::uint32_t v) {
  common::Bytes b;
  common::Writer w(b);
  w.u32(v);
  return b;
}
inline common::Bytes be64(std::uint64_t v) {
  common::Bytes b;
  common::Writer w(b);
  w.u64(v);
  return b;
}

// An SPI as 8 lower-case hex digits.
inline std::string hex32(std::uint32_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = d[v & 0xf];
  return s;
}

// Two appends each: avoids g++ 12's false -Wrestrict at -O3.
inline std::string ts_text(const std::vector<common::TrafficSelector>& v) {
  std::string s;
  for (const auto& t : v) {
    if (!s.empty()) s += ' ';
    s += t.to_string();
  }
  return s;
}
inline std::string proposals_text(const std::vector<Proposal>& v) {
  std::string s;
  for (const auto& p : v) {
    if (!s.empty()) s += ", ";
    s += to_string(p);
  }
  return s;
}

}  // namespace ike
