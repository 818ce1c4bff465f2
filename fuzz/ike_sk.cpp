// libFuzzer target: SK payload decryption (ike/sk.h) and the inner payload parser.
//
// Input layout: byte 0 selects the suite (low 2 bits: AES-CBC-256/HMAC-SHA2-256-128,
// AES-GCM-16-256, ChaCha20-Poly1305) and the mode (bit 7):
//   mode 0: the rest is a datagram, decrypted with fixed keys (seeds are valid messages
//           made with these keys, so mutations reach the ICV, padding and inner parser);
//   mode 1: byte 1 is the first inner payload type, the rest the inner plaintext; it is
//           encrypted with the same keys and decrypted again, so the fuzzer drives the
//           inner chain parser directly. A round trip of a valid inner chain must succeed.
// Keys are fixed, the IV source deterministic.
//
// Seeds: fuzz/corpus/ike_sk/. Regenerate with IKE_SK_WRITE_SEEDS=<dir>.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "fuzz/fixed_random.h"
#include "ike/payload_rules.h"
#include "ike/sk.h"

namespace {

using namespace ike;
using common::Bytes;
using common::ByteSpan;
namespace crypto = common::crypto;

struct Suite {
  crypto::EncrId encr;
  std::size_t encr_key_len;
  crypto::IntegId integ;
  std::size_t integ_key_len;
};
constexpr Suite kSuites[] = {
    {crypto::EncrId::aes_cbc, 32, crypto::IntegId::hmac_sha256_128, 32},
    {crypto::EncrId::aes_gcm_16, 36, crypto::IntegId::none, 0},
    {crypto::EncrId::chacha20_poly1305, 36, crypto::IntegId::none, 0},
};

Bytes key(std::size_t n, unsigned char start) {
  Bytes k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = std::byte{static_cast<unsigned char>(start + i)};
  return k;
}

sk::SkKeys& keys_for(std::size_t i) {
  static std::optional<sk::SkKeys> keys[3];
  if (!keys[i]) {
    const Suite& s = kSuites[i];
    auto k = sk::SkKeys::create(s.encr, key(s.encr_key_len, 1), s.integ, key(s.integ_key_len, 0x81));
    if (!k) std::abort();
    keys[i].emplace(std::move(k).value());
  }
  return *keys[i];
}

Header header(ExchangeType ex) {
  Header h;
  h.spi_i = 0x0102030405060708;
  h.spi_r = 0x1112131415161718;
  h.exchange = ex;
  h.initiator = true;
  h.message_id = 1;
  return h;
}

void write(const std::string& dir, const std::string& name, std::uint8_t sel, const Bytes& b) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.put(static_cast<char>(sel));
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_seeds(const std::string& dir) {
  fuzz::FixedRandom rng(0, 0x5a);
  auto ip = [](const char* s) { return *common::IpAddr::parse(s); };
  SaPayload sa;
  sa.proposals.push_back(SaProposal{1, ProtocolId::esp, common::from_hex("c0c1c2c3"),
                                    {{TransformType::encr, 20, 256}, {TransformType::esn, 0, {}}}});
  std::vector<Payload> auth{IdiPayload{IdType::ipv4_addr, common::from_hex("c0000201")},
                            AuthPayload{AuthMethod::psk, Bytes(32, std::byte{7})}, sa,
                            TsiPayload{{common::TrafficSelector{ip("10.44.6.1"), ip("10.44.6.1"), 47}}},
                            TsrPayload{{common::TrafficSelector{ip("10.44.6.2"), ip("10.44.6.2"), 47}}}};
  std::vector<Payload> info{DeletePayload{ProtocolId::esp, {0xc0000001}}};
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto a = sk::build_encrypted(header(ExchangeType::ike_auth), auth, keys_for(i), rng);
    auto d = sk::build_encrypted(header(ExchangeType::informational), info, keys_for(i), rng);
    write(dir, "auth_suite" + std::to_string(i), i, *a);
    write(dir, "delete_suite" + std::to_string(i), i, *d);
    Bytes inner;
    PayloadType first = serialize_payload_chain(auth, inner);
    inner.insert(inner.begin(), std::byte{static_cast<unsigned char>(first)});
    write(dir, "inner_auth_suite" + std::to_string(i), static_cast<std::uint8_t>(0x80 | i), inner);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("IKE_SK_WRITE_SEEDS")) write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t suite = (data[0] & 3) % 3;
  sk::SkKeys& keys = keys_for(suite);
  ByteSpan rest = common::as_bytes(data + 1, size - 1);
  if ((data[0] & 0x80) == 0) {
    ParseDiag diag;
    auto m = sk::decrypt(rest, keys, &diag);
    if (!m) {
      if (diag.reason == ParseReason::ok) std::abort();
      return 0;
    }
    (void)check_rules(*m, &diag);
    return 0;
  }
  if (rest.empty()) return 0;
  const auto first = static_cast<PayloadType>(std::to_integer<std::uint8_t>(rest[0]));
  ByteSpan inner = rest.subspan(1);
  fuzz::FixedRandom rng(0, 0x5a);
  auto wire = sk::build_encrypted(header(ExchangeType::informational), first, inner, keys, rng);
  if (!wire) return 0;  // too large
  std::vector<Payload> direct;
  bool valid = parse_payload_chain(first, inner, false, direct).ok();
  auto m = sk::decrypt(*wire, keys);
  if (m.ok() != valid) std::abort();  // the SK layer must neither add nor hide errors
  if (m && !(m->payloads == direct)) std::abort();
  return 0;
}
