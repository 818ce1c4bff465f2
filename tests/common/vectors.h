// Helpers for writing published test vectors in the common/ tests: hex, text and repeated
// bytes as common::Bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace test_vectors {

inline common::Bytes H(std::string_view hex) { return common::from_hex(hex); }
inline common::Bytes S(std::string_view s) { return common::to_bytes(common::as_bytes(s)); }
inline common::Bytes rep(std::uint8_t b, std::size_t n) { return common::Bytes(n, std::byte{b}); }

}  // namespace test_vectors
