// ESP anti-replay window (RFC 4303 §3.4.3) with 32-bit or 64-bit extended sequence
// numbers (RFC 4303 §2.2.1, high-order bits inferred per Appendix A2.2).
//
// Two phases, so an unauthenticated packet can never move the window:
//   1. check(seq_low)  before the ICV is verified: rejects duplicates and packets left of
//      the window and returns the full 64-bit sequence number (the one the ICV/AAD covers);
//   2. commit(seq)     only after the ICV verified: marks seq as seen, sliding the window
//      right when seq is beyond the highest seen so far.
//
// Storage is a ring of 64-bit words (the RFC 6479 layout): sliding clears whole words and
// never shifts the bitmap, so the cost per packet is O(1) whatever the window size. The
// bitmap is allocated once at construction; check/commit never allocate.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace esp {

class ReplayWindow {
 public:
  static constexpr std::uint32_t kMaxSize = 1u << 16;  // packets
  // Size used for ESN inference when anti-replay is off (RFC 4303 Appendix A2.2 needs one).
  static constexpr std::uint32_t kInferenceSizeWhenOff = 64;

  // size: packets the window spans (1..kMaxSize); 0 turns duplicate/age checks off
  // (RFC 4303 §3.4.3 lets the receiver disable anti-replay) but keeps ESN inference.
  // Sizes above kMaxSize are clamped to it.
  explicit ReplayWindow(std::uint32_t size = 32, bool esn = false);

  // Full sequence number for seq_low if the packet may be new; nullopt when it is a
  // duplicate, left of the window, or otherwise impossible (0, or an ESN that would wrap).
  std::optional<std::uint64_t> check(std::uint32_t seq_low) const;
  // Marks seq seen. Returns false (and changes nothing) when seq is no longer acceptable,
  // e.g. a second packet with the same number was committed between check and commit.
  bool commit(std::uint64_t seq);

  // Forget everything and continue as if `highest` had been the last committed number
  // (SA migration / HA sync, and test vectors that start mid-sequence).
  void reset(std::uint64_t highest);

  std::uint64_t highest() const { return top_; }
  std::uint32_t size() const { return size_; }
  bool esn() const { return esn_; }
  bool enabled() const { return size_ != 0; }

 private:
  std::optional<std::uint64_t> infer(std::uint32_t seq_low) const;
  bool seen(std::uint64_t seq) const;

  std::uint32_t size_;
  bool esn_;
  std::uint64_t top_ = 0;       // highest committed sequence number (0: none yet)
  std::uint64_t word_mask_ = 0; // words_.size() - 1 (a power of two)
  std::vector<std::uint64_t> words_;
};

}  // namespace esp
