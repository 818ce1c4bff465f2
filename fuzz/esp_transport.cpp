// libFuzzer target: ESP transport mode over IPv4 (esp/transport.h), both ways.
//
// Input byte 0 picks the path, the rest is the packet:
//   even: what a raw IPPROTO_ESP socket hands the driver: parse_outer → SAD decap
//         (AES-GCM-128 transport SA, fixed key) → prepend_ipv4 in the receive buffer's
//         headroom. Seeds are valid packets, so the fuzzer reaches past the tag check.
//   odd:  an IPv4 packet the overlay sends: encap_ipv4 in place, then the result must
//         parse as protocol 50 and decrypt back to the same payload (a round trip).
// Seeds: build fuzz_esp_transport and run it with ESP_TRANSPORT_WRITE_SEEDS=<dir>.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"
#include "esp/sa.h"
#include "esp/sad.h"
#include "esp/transport.h"
#include "fuzz/fixed_random.h"

namespace {

namespace crypto = common::crypto;
using common::Bytes;

constexpr std::uint32_t kSpi = 0x5e5e0047;
constexpr std::uint32_t kLocal = 0xc6336401;   // 198.51.100.1
constexpr std::uint32_t kRemote = 0xc0000202;  // 192.0.2.2
constexpr std::size_t kHeadroom = 32;

std::unique_ptr<esp::Sa> make_sa(esp::Direction dir) {
  static fuzz::FixedRandom rng(37, 1);
  static const Bytes key = [] {
    Bytes k(20);
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::byte(static_cast<std::uint8_t>(0x31 + 11 * i));
    return k;
  }();
  esp::SaConfig c;
  c.spi = kSpi;
  c.direction = dir;
  c.mode = esp::Mode::transport;
  c.encr = crypto::EncrId::aes_gcm_16;
  c.encr_key = key;
  c.replay_window = 64;
  // As the inbound SA of gateway A: the peer is remote, we are local, GRE only.
  auto host = [](std::uint32_t a) {
    return common::TrafficSelector::from_prefix(common::Prefix{common::IpAddr::v4(a), 32}, 47);
  };
  c.local_ts = {host(dir == esp::Direction::inbound ? kLocal : kRemote)};
  c.remote_ts = {host(dir == esp::Direction::inbound ? kRemote : kLocal)};
  auto sa = esp::Sa::create(c, rng);
  if (!sa) std::abort();
  return std::move(sa.value());
}

// A GRE-shaped IPv4 packet remote → local of `len` payload bytes.
Bytes gre_packet(std::size_t len) {
  Bytes p(20 + len, std::byte{0x42});
  const std::uint8_t h[] = {0x45, 0, static_cast<std::uint8_t>((20 + len) >> 8), static_cast<std::uint8_t>(20 + len),
                            0,    0, 0,  0, 255, 47, 0, 0, 192, 0, 2, 2, 198, 51, 100, 1};
  std::memcpy(p.data(), h, sizeof h);
  return p;
}

void write_seeds(const char* dir) {
  auto out = make_sa(esp::Direction::outbound);
  int n = 0;
  for (std::size_t len : {4u, 28u, 300u}) {
    Bytes pkt = gre_packet(len);
    Bytes buf(esp::Sa::kMaxHeader + pkt.size() + esp::Sa::kMaxTrailer);
    std::copy(pkt.begin(), pkt.end(), buf.begin() + esp::Sa::kMaxHeader);
    auto e = esp::transport::encap_ipv4(*out, buf, esp::Sa::kMaxHeader, pkt.size(), {});
    if (!e.ok()) std::abort();
    for (std::uint8_t path : {0, 1}) {
      Bytes file{std::byte{path}};
      if (path == 0) common::append(file, e.ipv4);
      else common::append(file, pkt);
      std::ofstream(std::string(dir) + "/seed_" + std::to_string(n++), std::ios::binary)
          .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
  }
}

void raw_path(common::ByteSpan pkt) {
  esp::Sad sad;
  if (!sad.add_inbound(make_sa(esp::Direction::inbound))) std::abort();
  Bytes buf(kHeadroom + pkt.size());
  std::copy(pkt.begin(), pkt.end(), buf.begin() + kHeadroom);
  auto o = esp::transport::parse_outer(common::ByteSpan(buf).subspan(kHeadroom));
  if (!o.ok) return;
  if (o.outer.esp_offset + o.outer.esp_length > pkt.size()) std::abort();
  common::MutByteSpan room(buf);
  auto r = sad.decap(room.subspan(kHeadroom + o.outer.esp_offset, o.outer.esp_length), {});
  if (!r.ok()) return;
  esp::Sa* sa = sad.find_inbound(kSpi);
  const auto& h = o.outer.header;
  auto ip = esp::transport::prepend_ipv4(*sa, room, r.inner, r.next_header, {h.src, h.dst, h.ttl, 0});
  if (ip.empty()) return;
  // The rebuilt packet ends where the payload ends and starts inside the buffer.
  if (ip.data() < buf.data() || ip.data() + ip.size() != r.inner.data() + r.inner.size()) std::abort();
  if (esp::transport::ipv4_header_checksum(ip.first(20)) != 0) std::abort();
}

void encap_path(common::ByteSpan pkt) {
  auto out = make_sa(esp::Direction::outbound);
  Bytes buf(esp::Sa::kMaxHeader + pkt.size() + esp::Sa::kMaxTrailer);
  std::copy(pkt.begin(), pkt.end(), buf.begin() + esp::Sa::kMaxHeader);
  auto e = esp::transport::encap_ipv4(*out, buf, esp::Sa::kMaxHeader, pkt.size(), {});
  if (!e.ok()) return;
  // Round trip: what went out parses as ESP and opens to the original payload.
  auto o = esp::transport::parse_outer(e.ipv4);
  if (!o.ok || o.outer.esp_offset + o.outer.esp_length != e.ipv4.size()) std::abort();
  auto in = make_sa(esp::Direction::inbound);
  Bytes wire(e.esp.packet.begin(), e.esp.packet.end());
  auto d = in->decap(wire, {});
  if (!d.ok()) std::abort();
  auto h = esp::ip::parse_ipv4(pkt);
  if (!h || d.next_header != h->protocol || d.inner.size() != h->total_length - h->header_length) std::abort();
  if (std::memcmp(d.inner.data(), pkt.data() + h->header_length, d.inner.size()) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool seeded = [] {
    if (const char* dir = std::getenv("ESP_TRANSPORT_WRITE_SEEDS")) write_seeds(dir);
    return true;
  }();
  (void)seeded;
  if (size == 0) return 0;
  common::ByteSpan pkt = common::as_bytes(data + 1, size - 1);
  if (data[0] % 2 == 0) raw_path(pkt);
  else encap_path(pkt);
  return 0;
}
