// Stateless COOKIE challenge against half-open floods (RFC 7296 §2.6).
//
// When too many IKE_SAs are half-open, the responder answers an IKE_SA_INIT request that
// carries no (valid) COOKIE with only a COOKIE notify and keeps no state. The initiator
// repeats its request with the COOKIE as the first payload; the responder recomputes it
// and only then does the DH work. The cookie format is ours (§2.6 leaves it open):
//
//   Cookie data (36 octets):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   !                    VersionIDofSecret (32 bits)                !
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   !                                                               !
//   ~      HMAC-SHA2-256(secret, Ni | IPi | SPIi)  (32 octets)      ~
//   !                                                               !
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The secret is replaced every rotation interval; the previous one stays valid for one
// more interval so that a cookie handed out just before a rotation still works.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"

namespace ike {

class CookieJar {
 public:
  static constexpr std::size_t kSecretSize = 32;
  static constexpr std::size_t kCookieSize = 4 + 32;

  // rotation: how long one secret is used to hand out cookies.
  CookieJar(common::crypto::Random& rng, std::chrono::seconds rotation = std::chrono::seconds{120});

  // The cookie for (ni, ipi, spi_i) under the current secret (rotating first if due).
  common::Bytes make(common::ByteSpan ni, const common::IpAddr& ipi, std::uint64_t spi_i,
                     std::chrono::steady_clock::time_point now);
  // Whether cookie is one we handed out for these values under the current or the previous
  // secret. Constant-time comparison of the hash part.
  bool verify(common::ByteSpan cookie, common::ByteSpan ni, const common::IpAddr& ipi,
              std::uint64_t spi_i, std::chrono::steady_clock::time_point now);

  std::uint32_t version() const { return current_.version; }
  void set_rotation(std::chrono::seconds rotation) { rotation_ = rotation; }

 private:
  struct Secret {
    std::uint32_t version = 0;
    std::array<std::byte, kSecretSize> key{};
  };
  void rotate_if_due(std::chrono::steady_clock::time_point now);
  std::array<std::byte, 32> hash(const Secret& s, common::ByteSpan ni, const common::IpAddr& ipi,
                                 std::uint64_t spi_i) const;

  common::crypto::Random& rng_;
  std::chrono::seconds rotation_;
  std::unique_ptr<common::crypto::Prf> prf_;
  Secret current_;
  std::optional<Secret> previous_;
  std::optional<std::chrono::steady_clock::time_point> rotated_at_;
};

}  // namespace ike
