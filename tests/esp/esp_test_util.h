// Helpers shared by the ESP tests: deterministic randomness, key material per suite,
// IPv4 packet construction, SA pairs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"
#include "esp/sa.h"

namespace esp_test {

using common::Bytes;
namespace crypto = common::crypto;

// Deterministic: fills with a counter-derived pattern so runs are reproducible.
class CounterRandom final : public crypto::Random {
 public:
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte(static_cast<std::uint8_t>(state_++ * 131u + 7u));
  }

 private:
  std::uint32_t state_ = 1;
};

struct Suite {
  const char* name;
  crypto::EncrId encr;
  std::size_t encr_key_len;  // key (+ 4-byte salt for AEADs)
  crypto::IntegId integ;
  std::size_t integ_key_len;
};

inline const std::vector<Suite>& suites() {
  static const std::vector<Suite> s = {
      {"aes-cbc-256/hmac-sha256-128", crypto::EncrId::aes_cbc, 32, crypto::IntegId::hmac_sha256_128, 32},
      {"aes-cbc-128/hmac-sha1-96", crypto::EncrId::aes_cbc, 16, crypto::IntegId::hmac_sha1_96, 20},
      {"aes-gcm-128", crypto::EncrId::aes_gcm_16, 16 + 4, crypto::IntegId::none, 0},
      {"aes-gcm-256", crypto::EncrId::aes_gcm_16, 32 + 4, crypto::IntegId::none, 0},
      {"chacha20-poly1305", crypto::EncrId::chacha20_poly1305, 32 + 4, crypto::IntegId::none, 0},
      // Legacy peers (issue 13): 8-byte blocks and IVs.
      {"3des-cbc/hmac-md5-96", crypto::EncrId::des3_cbc, 24, crypto::IntegId::hmac_md5_96, 16},
      {"3des-cbc/hmac-sha1-96", crypto::EncrId::des3_cbc, 24, crypto::IntegId::hmac_sha1_96, 20},
  };
  return s;
}

inline Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = std::byte(static_cast<std::uint8_t>(seed + i * 7));
  return b;
}

struct Keys {
  Bytes encr, integ;
};
inline Keys keys_for(const Suite& s, std::uint8_t seed = 0x40) {
  return {pattern(s.encr_key_len, seed), pattern(s.integ_key_len, static_cast<std::uint8_t>(seed + 0x55))};
}

inline esp::SaConfig config_for(const Suite& s, const Keys& k, esp::Direction dir, esp::Mode mode, bool esn,
                                std::uint32_t spi = 0xc0ffee01, std::uint32_t window = 64) {
  esp::SaConfig c;
  c.spi = spi;
  c.direction = dir;
  c.mode = mode;
  c.encr = s.encr;
  c.encr_key = k.encr;
  c.integ = s.integ;
  c.integ_key = k.integ;
  c.esn = esn;
  c.replay_window = window;
  return c;
}

struct Pair {
  std::unique_ptr<esp::Sa> out;
  std::unique_ptr<esp::Sa> in;
};
inline Pair make_pair(const Suite& s, esp::Mode mode, bool esn, std::uint32_t window = 64,
                      std::vector<common::TrafficSelector> local_ts = {},
                      std::vector<common::TrafficSelector> remote_ts = {}) {
  static CounterRandom rng;
  Keys k = keys_for(s);
  auto oc = config_for(s, k, esp::Direction::outbound, mode, esn, 0xc0ffee01, window);
  auto ic = config_for(s, k, esp::Direction::inbound, mode, esn, 0xc0ffee01, window);
  ic.local_ts = std::move(local_ts);
  ic.remote_ts = std::move(remote_ts);
  auto o = esp::Sa::create(oc, rng);
  auto i = esp::Sa::create(ic, rng);
  Pair p;
  if (o) p.out = std::move(o.value());
  if (i) p.in = std::move(i.value());
  return p;
}

inline std::uint32_t v4(const char* text) { return common::IpAddr::parse(text)->v4_host(); }

// An IPv4 packet of total length 20 + 8 + payload_len (a TCP/UDP-style 8-byte port header
// for any protocol, which the policy check reads only for TCP/UDP).
inline Bytes ipv4_packet(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::uint16_t sport,
                         std::uint16_t dport, std::size_t payload_len) {
  Bytes b;
  common::Writer w(b);
  const std::size_t total = 20 + 8 + payload_len;
  w.u8(0x45);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(total));
  w.u16(0x1234);
  w.u16(0);
  w.u8(64);
  w.u8(proto);
  w.u16(0);
  w.u32(src);
  w.u32(dst);
  w.u16(sport);
  w.u16(dport);
  w.u16(static_cast<std::uint16_t>(8 + payload_len));
  w.u16(0);
  common::append(b, pattern(payload_len, 0x11));
  return b;
}

// The inner packet placed in a buffer with the headroom/tailroom encap needs.
struct Framed {
  Bytes buf;
  std::size_t offset = 0;
  std::size_t length = 0;
};
inline Framed frame(const esp::Sa& sa, const Bytes& inner, std::size_t extra_tail = 0) {
  Framed f;
  f.offset = sa.header_size();
  f.length = inner.size();
  f.buf.assign(f.offset + inner.size() + sa.max_trailer_size() + extra_tail, std::byte{0xee});
  std::copy(inner.begin(), inner.end(), f.buf.begin() + static_cast<std::ptrdiff_t>(f.offset));
  return f;
}

inline esp::TimePoint t(int seconds) { return esp::TimePoint{} + std::chrono::seconds(seconds); }

}  // namespace esp_test

namespace esp_test {
inline common::Bytes from_hex_bytes(const char* h) { return common::from_hex(h); }
}  // namespace esp_test
