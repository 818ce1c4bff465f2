// CookieJar: see cookie.h (RFC 7296 §2.6).
#include "ike/cookie.h"

namespace ike {

CookieJar::CookieJar(common::crypto::Random& rng, std::chrono::seconds rotation)
    : rng_(rng), rotation_(rotation), prf_(common::crypto::Prf::create(common::crypto::PrfId::hmac_sha256)) {}

void CookieJar::rotate_if_due(std::chrono::steady_clock::time_point now) {
  if (rotated_at_ && now - *rotated_at_ < rotation_) return;
  if (rotated_at_) {
    // More than two intervals idle: the old secret is of no use any more.
    if (now - *rotated_at_ < 2 * rotation_) previous_ = current_;
    else previous_.reset();
  }
  current_.version += 1;
  rng_.fill(current_.key);
  rotated_at_ = now;
}

std::array<std::byte, 32> CookieJar::hash(const Secret& s, common::ByteSpan ni, const common::IpAddr& ipi,
                                          std::uint64_t spi_i) const {
  common::Bytes data;
  data.reserve(ni.size() + 16 + 8);
  data.insert(data.end(), ni.begin(), ni.end());
  auto ip = ipi.bytes();
  data.insert(data.end(), ip.begin(), ip.end());
  common::Writer w(data);
  w.u64(spi_i);
  std::array<std::byte, 32> out{};
  prf_->compute(s.key, data, out);
  return out;
}

common::Bytes CookieJar::make(common::ByteSpan ni, const common::IpAddr& ipi, std::uint64_t spi_i,
                              std::chrono::steady_clock::time_point now) {
  rotate_if_due(now);
  common::Bytes c;
  c.reserve(kCookieSize);
  common::Writer w(c);
  w.u32(current_.version);
  auto h = hash(current_, ni, ipi, spi_i);
  c.insert(c.end(), h.begin(), h.end());
  return c;
}

bool CookieJar::verify(common::ByteSpan cookie, common::ByteSpan ni, const common::IpAddr& ipi,
                       std::uint64_t spi_i, std::chrono::steady_clock::time_point now) {
  rotate_if_due(now);
  if (cookie.size() != kCookieSize) return false;
  common::Reader r(cookie);
  std::uint32_t v = r.u32();
  const Secret* s = nullptr;
  if (v == current_.version) s = &current_;
  else if (previous_ && v == previous_->version) s = &*previous_;
  if (!s) return false;
  auto h = hash(*s, ni, ipi, spi_i);
  std::byte diff{0};
  for (std::size_t i = 0; i < h.size(); ++i) diff |= h[i] ^ cookie[4 + i];
  return diff == std::byte{0};
}

}  // namespace ike
