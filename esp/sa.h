// One direction of an ESP Security Association (RFC 4303): encapsulation for an outbound
// SA, decapsulation with anti-replay and the inbound policy check for an inbound one.
// Sans-I/O: the caller gives bytes and `now`; nothing here reads a clock, allocates or
// logs per packet. Crypto goes through common::crypto keyed objects built once per SA.
//
// RFC 4303 §2, the packet this produces and consumes (starting at the SPI):
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//   |               Security Parameters Index (SPI)                 | ^Int.
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//   |                      Sequence Number (low 32 bits)            | |ered
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
//   |                    IV (16: AES-CBC, 8: GCM/ChaCha20-Poly1305) | |   ^
//   ~                    Payload Data (variable)                    ~ |   |
//   +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Conf.
//   |               |     Padding (0-255 bytes: 1, 2, 3, ...)       | |Cov-
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |ered*
//   |                               |  Pad Length   | Next Header   | v   v
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
//   |         Integrity Check Value (ICV: 12/16 bytes, or AEAD tag) |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   (*the IV is not encrypted; for AEADs it is part of neither)
//
// Sequence numbers: with ESN (RFC 4303 §2.2.1) the high 32 bits are not sent but are
// appended to the ICV input after the trailer (§3.3.2.1), or put in the AEAD AAD as
// SPI | seq_hi | seq_lo (RFC 4106 §5, RFC 7634 §3). Without ESN the AAD is SPI | seq.
//
// IVs: AEAD IV = the 64-bit sequence number (unique per key; RFC 4106 §3.1, RFC 7634 §2).
// AES-CBC IV = AES-128 of the sequence number under a random per-SA key drawn at creation
// (NIST SP 800-38A App. C: unpredictable without a random draw per packet).
//
// In-place encapsulation (the wireguard-go offset trick): the caller leaves
// header_size() bytes of headroom before the inner packet and max_trailer_size() bytes
// after it; encap writes the ESP header in front, the trailer and ICV behind, and
// encrypts in place. decap decrypts in place and returns a view into the same buffer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/net.h"
#include "common/result.h"
#include "esp/ip.h"
#include "esp/replay_window.h"

namespace esp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class Direction : std::uint8_t { inbound, outbound };
enum class Mode : std::uint8_t { tunnel, transport };

// Why a packet was not delivered (inbound) or not produced (outbound). Counted per SA.
enum class Drop : std::uint8_t {
  none = 0,         // success
  truncated,        // shorter than header + IV + minimal ciphertext + ICV
  bad_spi,          // SPI is not this SA's (or, in the SAD, no SA has it)
  replay,           // duplicate or left of the replay window
  integrity,        // ICV / AEAD tag did not verify
  bad_length,       // CBC ciphertext not a whole number of blocks
  bad_padding,      // Pad Length too large or pad bytes not 1, 2, 3, ...
  bad_next_header,  // Next Header not allowed in this mode (tunnel: 4 only)
  dummy,            // Next Header 59: dummy packet, discarded by design (RFC 4303 §2.6)
  bad_inner,        // tunnel mode: the inner IPv4 packet is malformed
  policy,           // inner packet outside the SA's traffic selectors (RFC 4301 §5.2)
  wrong_direction,  // encap on an inbound SA or decap on an outbound one
  no_room,          // encap: not enough headroom/tailroom in the caller's buffer
  seq_exhausted,    // encap: sequence number would cycle; rekey (RFC 4303 §3.3.3)
  crypto,           // the crypto library failed
  count_,
};
inline constexpr std::size_t kDropReasons = static_cast<std::size_t>(Drop::count_);
std::string_view to_string(Drop d);

struct SaCounters {
  std::uint64_t packets = 0;  // delivered (inbound) / produced (outbound)
  std::uint64_t bytes = 0;    // inner bytes (tunnel: the inner IP packet; transport: payload)
  TimePoint last_use{};       // `now` of the last successful packet; epoch when never used
  std::array<std::uint64_t, kDropReasons> drops{};
  std::uint64_t drop(Drop d) const { return drops[static_cast<std::size_t>(d)]; }
  std::uint64_t total_drops() const;
};

struct SaConfig {
  std::uint32_t spi = 0;
  Direction direction = Direction::inbound;
  Mode mode = Mode::tunnel;
  common::crypto::EncrId encr = common::crypto::EncrId::aes_gcm_16;
  common::ByteSpan encr_key;  // AEADs: key || 4-byte salt (common::crypto::Aead::create)
  common::crypto::IntegId integ = common::crypto::IntegId::none;  // none for AEADs
  common::ByteSpan integ_key;
  bool esn = false;
  std::uint32_t replay_window = 32;  // inbound: packets (0 = anti-replay off)
  // Inbound tunnel mode: a decapsulated packet must come from remote_ts and go to local_ts
  // (protocol and ports included where a selector sets them). An empty list allows any.
  std::vector<common::TrafficSelector> local_ts;
  std::vector<common::TrafficSelector> remote_ts;
};

struct [[nodiscard]] EncapResult {
  Drop drop = Drop::none;
  common::MutByteSpan packet;  // the ESP packet (SPI..ICV) inside the caller's buffer
  std::uint64_t seq = 0;
  bool ok() const { return drop == Drop::none; }
};

struct [[nodiscard]] DecapResult {
  Drop drop = Drop::none;
  // Tunnel: the inner IP packet (trimmed to its total length, TFC padding removed).
  // Transport: the upper-layer payload. Points into the caller's buffer.
  common::MutByteSpan inner;
  std::uint8_t next_header = 0;
  std::uint64_t seq = 0;  // full (ESN-inferred) sequence number
  bool ok() const { return drop == Drop::none; }
};

class Sa {
 public:
  static constexpr std::size_t kEspHeader = 8;  // SPI + Sequence Number
  // Upper bounds over every supported suite, for sizing buffers once at start:
  // header + 16-byte CBC IV; 15 bytes of CBC padding + 2 + a 32-byte HMAC-SHA-512-256 ICV.
  static constexpr std::size_t kMaxHeader = kEspHeader + 16;
  static constexpr std::size_t kMaxTrailer = 15 + 2 + 32;

  // rng: only used here, to draw the AES-CBC IV key. Errors: Errc::config with a reason.
  static common::Result<std::unique_ptr<Sa>> create(const SaConfig& cfg, common::crypto::Random& rng);
  ~Sa();
  Sa(const Sa&) = delete;
  Sa& operator=(const Sa&) = delete;

  // ---- sizes, for buffer layout and MTU ----
  std::size_t header_size() const { return kEspHeader + iv_size_; }  // headroom encap needs
  std::size_t max_trailer_size() const { return block_size_ - 1 + 2 + icv_size_; }  // tailroom
  std::size_t encap_size(std::size_t inner_len) const;  // exact ESP packet size for inner_len
  std::size_t iv_size() const { return iv_size_; }
  std::size_t icv_size() const { return icv_size_; }
  std::size_t block_size() const { return block_size_; }

  // ---- outbound ----
  // buf holds the inner packet at [offset, offset + length); the ESP packet is built in
  // place at [offset - header_size(), offset + length + trailer) and returned.
  // Tunnel mode: Next Header from the IP version nibble (4 → 4, 6 → 41).
  EncapResult encap(common::MutByteSpan buf, std::size_t offset, std::size_t length, TimePoint now);
  // Any mode, explicit Next Header (transport: the upper-layer protocol, e.g. 47 for GRE).
  EncapResult encap(common::MutByteSpan buf, std::size_t offset, std::size_t length,
                    std::uint8_t next_header, TimePoint now);

  // ---- inbound ----
  // packet: from the SPI to the end of the ICV (UDP header / non-ESP marker removed).
  // Order (RFC 4303 §3.4): length, SPI, replay check, ICV/AEAD verify, replay commit,
  // decrypt, padding, Next Header, then (tunnel mode) inner IPv4 + policy check.
  DecapResult decap(common::MutByteSpan packet, TimePoint now);
  // RFC 4301 inbound policy: src within remote TS, dst within local TS (protocol/ports
  // where set). Tunnel-mode decap calls it; transport-mode callers pass the outer
  // addresses themselves. Empty selector lists allow everything.
  bool policy_allows(const ip::Flow& flow) const;
  // Same check, outbound sense: src within local TS, dst within remote TS.
  bool outbound_policy_allows(const ip::Flow& flow) const;

  // Count a drop decided outside the SA (e.g. by the SAD); no-op for Drop::none.
  void count_drop(Drop d);

  // ---- state ----
  std::uint32_t spi() const { return spi_; }
  Direction direction() const { return direction_; }
  Mode mode() const { return mode_; }
  bool esn() const { return esn_; }
  bool is_aead() const { return aead_ != nullptr; }
  common::crypto::EncrId encr() const { return encr_; }
  common::crypto::IntegId integ() const { return integ_id_; }
  std::uint64_t seq_out() const { return seq_out_; }  // last sequence number sent
  void set_seq_out(std::uint64_t last_sent) { seq_out_ = last_sent; }  // HA sync / tests
  const ReplayWindow& replay() const { return replay_; }
  ReplayWindow& replay() { return replay_; }
  const SaCounters& counters() const { return counters_; }
  const std::vector<common::TrafficSelector>& local_ts() const { return local_ts_; }
  const std::vector<common::TrafficSelector>& remote_ts() const { return remote_ts_; }

 private:
  Sa() = default;
  DecapResult fail(Drop d);
  EncapResult fail_encap(Drop d);

  std::uint32_t spi_ = 0;
  Direction direction_ = Direction::inbound;
  Mode mode_ = Mode::tunnel;
  bool esn_ = false;
  common::crypto::EncrId encr_{};
  common::crypto::IntegId integ_id_ = common::crypto::IntegId::none;
  std::size_t iv_size_ = 0;
  std::size_t icv_size_ = 0;
  std::size_t block_size_ = 4;  // padding alignment
  std::unique_ptr<common::crypto::Aead> aead_;
  std::unique_ptr<common::crypto::Cipher> cipher_;
  std::unique_ptr<common::crypto::Integ> integ_;
  std::unique_ptr<common::crypto::Cipher> iv_gen_;  // AES-CBC only: IV = E_ivkey(seq)
  std::uint64_t seq_out_ = 0;
  ReplayWindow replay_;
  std::vector<common::TrafficSelector> local_ts_;
  std::vector<common::TrafficSelector> remote_ts_;
  SaCounters counters_;
};

}  // namespace esp
