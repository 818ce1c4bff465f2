// libFuzzer target: ESP decapsulation (esp::Sa::decap through esp::Sad::decap) for every
// suite, tunnel and transport, with and without ESN, plus the UDP/4500 classifier and
// the IPv4 parser. Keys are fixed so the seed corpus (valid packets made by the same
// keys, see fuzz/corpus/esp_decap/) reaches past the ICV into the trailer, inner IPv4
// and policy code.
//
// Input layout: byte 0 selects the SA (suite x mode x ESN), the rest is the ESP packet
// (SPI..ICV). The inbound SAs are rebuilt per input so the replay window starts fresh
// and a seed is always deliverable.
//
// Seeds: build fuzz_esp_decap and run it with ESP_DECAP_WRITE_SEEDS=<dir> to regenerate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"
#include "esp/ip.h"
#include "esp/sa.h"
#include "esp/sad.h"
#include "esp/udp_encap.h"
#include "fuzz/fixed_random.h"

namespace {

namespace crypto = common::crypto;
using common::Bytes;

struct Suite {
  crypto::EncrId encr;
  std::size_t encr_key_len;
  crypto::IntegId integ;
  std::size_t integ_key_len;
};
constexpr Suite kSuites[] = {
    {crypto::EncrId::aes_cbc, 32, crypto::IntegId::hmac_sha256_128, 32},
    {crypto::EncrId::aes_gcm_16, 20, crypto::IntegId::none, 0},
    {crypto::EncrId::aes_gcm_16, 36, crypto::IntegId::none, 0},
    {crypto::EncrId::chacha20_poly1305, 36, crypto::IntegId::none, 0},
};
constexpr std::size_t kVariants = std::size(kSuites) * 4;  // x {tunnel, transport} x {esn, not}
constexpr std::uint32_t kSpi = 0x0badcafe;

Bytes key(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = std::byte(static_cast<std::uint8_t>(seed + 13 * i));
  return b;
}

esp::SaConfig config(std::size_t variant, esp::Direction dir, const Bytes& ek, const Bytes& ik) {
  const Suite& s = kSuites[variant % std::size(kSuites)];
  esp::SaConfig c;
  c.spi = kSpi;
  c.direction = dir;
  c.mode = (variant / std::size(kSuites)) % 2 ? esp::Mode::transport : esp::Mode::tunnel;
  c.esn = (variant / std::size(kSuites) / 2) % 2 != 0;
  c.encr = s.encr;
  c.encr_key = ek;
  c.integ = s.integ;
  c.integ_key = ik;
  c.replay_window = 64;
  c.local_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.1.0.0/16"))};
  c.remote_ts = {common::TrafficSelector::from_prefix(*common::Prefix::parse("10.2.0.0/16"))};
  return c;
}

struct Keys {
  Bytes ek, ik;
};
const Keys& keys(std::size_t variant) {
  static std::vector<Keys> k = [] {
    std::vector<Keys> v;
    for (const auto& s : kSuites) v.push_back({key(s.encr_key_len, 0x21), key(s.integ_key_len, 0x77)});
    return v;
  }();
  return k[variant % std::size(kSuites)];
}

void write_seeds(const char* dir) {
  fuzz::FixedRandom rng(29, 3);
  for (std::size_t v = 0; v < kVariants; ++v) {
    const Keys& k = keys(v);
    auto out = esp::Sa::create(config(v, esp::Direction::outbound, k.ek, k.ik), rng);
    if (!out) std::abort();
    for (std::size_t len : {20, 61}) {
      Bytes inner(len, std::byte{0x5a});
      // A minimal IPv4 header 10.2.0.1 -> 10.1.0.1, UDP, for tunnel-mode policy to pass.
      const std::uint8_t hdr[] = {0x45, 0, 0, static_cast<std::uint8_t>(len), 0, 0, 0, 0, 64, 17, 0, 0,
                                  10,   2, 0, 1,                              10, 1, 0, 1};
      for (std::size_t i = 0; i < sizeof(hdr); ++i) inner[i] = std::byte(hdr[i]);
      Bytes buf(64 + len + 64);
      std::copy(inner.begin(), inner.end(), buf.begin() + 64);
      auto e = out.value()->encap(buf, 64, len, 4, {});
      if (!e.ok()) std::abort();
      Bytes file{std::byte(static_cast<std::uint8_t>(v))};
      common::append(file, e.packet);
      std::ofstream(std::string(dir) + "/seed_v" + std::to_string(v) + "_" + std::to_string(len), std::ios::binary)
          .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool seeded = [] {
    if (const char* dir = std::getenv("ESP_DECAP_WRITE_SEEDS")) write_seeds(dir);
    return true;
  }();
  (void)seeded;
  if (size == 0) return 0;

  common::ByteSpan in = common::as_bytes(data, size);
  (void)esp::udp_encap::classify(in.subspan(1));
  if (auto h = esp::ip::parse_ipv4(in.subspan(1))) (void)esp::ip::flow_of(*h, in.subspan(1));

  const std::size_t variant = data[0] % kVariants;
  static fuzz::FixedRandom rng(29, 3);
  const Keys& k = keys(variant);
  auto sa = esp::Sa::create(config(variant, esp::Direction::inbound, k.ek, k.ik), rng);
  if (!sa) std::abort();
  esp::Sad sad;
  if (!sad.add_inbound(std::move(sa.value()))) std::abort();

  Bytes pkt(in.begin() + 1, in.end());
  const std::uint64_t before = sad.find_inbound(kSpi)->replay().highest();
  auto r = sad.decap(pkt, {});
  esp::Sa* s = sad.find_inbound(kSpi);
  if (r.ok()) {
    // The inner view must lie inside the packet, and only authenticated packets get here.
    if (r.inner.data() < pkt.data() || r.inner.data() + r.inner.size() > pkt.data() + pkt.size()) std::abort();
    if (s->counters().packets != 1) std::abort();
  }
  // The window moves only past the ICV check.
  const bool authenticated = r.ok() || r.drop == esp::Drop::bad_padding || r.drop == esp::Drop::dummy ||
                             r.drop == esp::Drop::bad_next_header || r.drop == esp::Drop::bad_inner ||
                             r.drop == esp::Drop::policy;
  if (!authenticated && s->replay().highest() != before) std::abort();
  return 0;
}
