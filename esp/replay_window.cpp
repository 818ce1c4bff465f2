#include "esp/replay_window.h"

#include <algorithm>

namespace esp {

namespace {
std::uint64_t next_pow2(std::uint64_t v) {
  std::uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}
}  // namespace

ReplayWindow::ReplayWindow(std::uint32_t size, bool esn) : size_(std::min(size, kMaxSize)), esn_(esn) {
  if (size_ != 0) {
    // The top word is partly in use, so one spare word keeps size_ older numbers in the ring.
    std::uint64_t words = next_pow2((size_ + 63) / 64 + 1);
    words_.assign(words, 0);
    word_mask_ = words - 1;
  }
}

std::optional<std::uint64_t> ReplayWindow::infer(std::uint32_t seq_low) const {
  if (!esn_) {
    if (seq_low == 0) return std::nullopt;  // the first packet of an SA carries 1 (§3.3.3)
    return seq_low;
  }
  // RFC 4303 Appendix A2.2: pick the high half that puts the number closest to the window.
  const std::uint32_t w = size_ ? size_ : kInferenceSizeWhenOff;
  const auto tl = static_cast<std::uint32_t>(top_);
  const auto th = static_cast<std::uint32_t>(top_ >> 32);
  const std::uint32_t bottom = tl - w + 1;  // mod 2^32 by design
  std::uint32_t hi;
  if (tl >= w - 1) {
    // Window lies within one 2^32 subspace: below the window means the next subspace.
    if (seq_low >= bottom) {
      hi = th;
    } else {
      if (th == UINT32_MAX) return std::nullopt;
      hi = th + 1;
    }
  } else {
    // Window straddles two subspaces: at or above `bottom` belongs to the previous one.
    if (seq_low >= bottom) {
      if (th == 0) return std::nullopt;
      hi = th - 1;
    } else {
      hi = th;
    }
  }
  std::uint64_t full = (std::uint64_t(hi) << 32) | seq_low;
  if (full == 0) return std::nullopt;
  return full;
}

bool ReplayWindow::seen(std::uint64_t seq) const {
  const std::uint64_t word = words_[(seq >> 6) & word_mask_];
  return (word >> (seq & 63)) & 1;
}

std::optional<std::uint64_t> ReplayWindow::check(std::uint32_t seq_low) const {
  auto full = infer(seq_low);
  if (!full || size_ == 0) return full;
  if (*full > top_) return full;
  if (top_ - *full >= size_) return std::nullopt;  // left of the window
  if (seen(*full)) return std::nullopt;            // duplicate
  return full;
}

bool ReplayWindow::commit(std::uint64_t seq) {
  if (seq == 0) return false;
  if (size_ == 0) {
    top_ = std::max(top_, seq);
    return true;
  }
  if (seq > top_) {
    const std::uint64_t old_word = top_ >> 6;
    const std::uint64_t new_word = seq >> 6;
    const std::uint64_t clear = std::min<std::uint64_t>(new_word - old_word, words_.size());
    for (std::uint64_t i = 1; i <= clear; ++i) words_[(old_word + i) & word_mask_] = 0;
    top_ = seq;
  } else if (top_ - seq >= size_ || seen(seq)) {
    return false;
  }
  words_[(seq >> 6) & word_mask_] |= std::uint64_t{1} << (seq & 63);
  return true;
}

void ReplayWindow::reset(std::uint64_t highest) {
  std::fill(words_.begin(), words_.end(), 0);
  top_ = highest;
  if (size_ != 0 && highest != 0) words_[(highest >> 6) & word_mask_] |= std::uint64_t{1} << (highest & 63);
}

}  // namespace esp
