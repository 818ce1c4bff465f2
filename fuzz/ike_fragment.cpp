// libFuzzer target: RFC 7383 SKF fragments (ike/fragment.h): open_fragment and the
// bounded Reassembler.
//
// Input layout: byte 0 selects the mode (low 2 bits):
//   0: the rest is one datagram, opened with fixed AES-GCM keys (seeds are valid fragments
//      made with those keys) and, if authentic, fed to a Reassembler;
//   1: the rest is a list of synthetic fragments (message ID, number, total, length, then
//      that many bytes) fed to one Reassembler with small limits; its bounds must hold;
//   2: byte 1 is a datagram limit, the rest an inner chain: it is fragmented, every
//      fragment opened again and reassembled; the plaintext must come back unchanged.
// Seeds: fuzz/corpus/ike_fragment/. Regenerate with IKE_FRAGMENT_WRITE_SEEDS=<dir>.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "fuzz/fixed_random.h"
#include "ike/fragment.h"

namespace {

using namespace ike;
using common::Bytes;
using common::ByteSpan;
namespace crypto = common::crypto;

sk::SkKeys& keys() {
  static std::optional<sk::SkKeys> k;
  if (!k) {
    Bytes key(36);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = std::byte{static_cast<unsigned char>(i + 1)};
    auto r = sk::SkKeys::create(crypto::EncrId::aes_gcm_16, key, crypto::IntegId::none, {});
    if (!r) std::abort();
    k.emplace(std::move(*r));
  }
  return *k;
}

Header header() {
  Header h;
  h.spi_i = 0x0102030405060708;
  h.spi_r = 0x1112131415161718;
  h.exchange = ExchangeType::ike_auth;
  h.initiator = true;
  h.message_id = 1;
  return h;
}

const auto kNow = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

void write_seeds(const char* dir) {
  fuzz::FixedRandom rng(0, 0x3c);
  NotifyPayload n;
  n.type = NotifyType::initial_contact;
  n.data.assign(300, std::byte{0x42});
  std::vector<Payload> pl{n, n};
  Bytes inner;
  PayloadType first = serialize_payload_chain(pl, inner);
  auto frags = frag::build_fragments(header(), first, inner, keys(), rng, 200);
  if (!frags) std::abort();
  int i = 0;
  for (const auto& d : *frags) {
    std::ofstream f(std::string(dir) + "/frag" + std::to_string(i++), std::ios::binary);
    f.put(0);
    f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
  }
  std::ofstream f(std::string(dir) + "/roundtrip", std::ios::binary);
  f.put(2);
  f.put(static_cast<char>(120));
  f.write(reinterpret_cast<const char*>(inner.data()), static_cast<std::streamsize>(inner.size()));
  std::ofstream g(std::string(dir) + "/synthetic", std::ios::binary);
  const unsigned char syn[] = {1, 7, 1, 2, 3, 'a', 'b', 'c', 7, 2, 2, 0, 7, 2, 3, 1, 'x'};
  g.write(reinterpret_cast<const char*>(syn), sizeof syn);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("IKE_FRAGMENT_WRITE_SEEDS")) write_seeds(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ByteSpan rest = common::as_bytes(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0: {
      auto f = frag::open_fragment(rest, keys());
      if (f) {
        frag::Reassembler re;
        Message m;
        (void)re.add(std::move(*f), kNow, &m);
      }
      break;
    }
    case 1: {
      frag::Reassembler re(frag::ReassemblyLimits{8, 64, std::chrono::seconds(30)});
      common::Reader r(rest);
      while (r.ok()) {
        frag::Fragment f;
        f.header = header();
        f.header.message_id = r.u8();
        f.number = r.u8();
        f.total = r.u8();
        std::size_t len = r.u8();
        auto body = r.bytes(len);
        if (!r.ok()) break;
        f.plain.assign(body.begin(), body.end());
        f.first_inner = PayloadType::notify;
        Message m;
        (void)re.add(std::move(f), kNow, &m);
        if (re.held_bytes() > 64 || re.held_fragments() > 8) std::abort();
      }
      break;
    }
    default: {
      if (rest.empty()) return 0;
      std::size_t limit = 40 + std::to_integer<std::size_t>(rest[0]) * 4;
      ByteSpan inner = rest.subspan(1);
      fuzz::FixedRandom rng(0, 0x3c);
      auto frags = frag::build_fragments(header(), PayloadType::notify, inner, keys(), rng, limit);
      if (!frags) break;
      Bytes back;
      for (const auto& d : *frags) {
        if (d.size() > limit) std::abort();
        auto f = frag::open_fragment(d, keys());
        if (!f) std::abort();
        back.insert(back.end(), f->plain.begin(), f->plain.end());
      }
      if (back.size() != inner.size() || !std::equal(back.begin(), back.end(), inner.begin())) std::abort();
      break;
    }
  }
  return 0;
}
