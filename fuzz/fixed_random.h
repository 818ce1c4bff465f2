// The deterministic Random the fuzz targets give their SAs and engines: byte i of the
// stream is (i * step + offset) mod 256, so a crash input replays exactly (IVs, nonces and
// SPIs come out the same every run). step 0 gives a constant byte.
#pragma once

#include <cstdint>

#include "common/crypto.h"

namespace fuzz {

class FixedRandom final : public common::crypto::Random {
 public:
  FixedRandom(std::uint8_t step, std::uint8_t offset) : step_(step), offset_(offset) {}
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte(static_cast<std::uint8_t>(n_++ * step_ + offset_));
  }

 private:
  std::uint32_t n_ = 0;
  std::uint32_t step_, offset_;
};

}  // namespace fuzz
