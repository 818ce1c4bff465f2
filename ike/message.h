// IKEv2 message: header (RFC 7296 §3.1) and the payload chain (§3.2).
//
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Flags: |X|X|R|V|I|X|X|X|  (R 0x20 response, V 0x10 version, I 0x08 original initiator)
//
// Receiving, in order:
//   1. Header::parse(datagram)          -- SPIs / message ID for the SA lookup
//   2. parse_message(datagram)          -- unencrypted messages (IKE_SA_INIT), or
//      sk::decrypt(datagram, keys)      -- messages with an SK payload (ike/sk.h)
//   3. check_rules(message)             -- payload_rules.h: which payloads, how many, where
// Any failure fills a ParseDiag; notify_for(reason) says which error notify answers it
// (nullopt: drop silently, e.g. an integrity failure).
//
// Sending: encode_message(message) for unencrypted messages, sk::build_encrypted(...) for
// protected ones. Both compute every length and the next-payload chain.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "ike/payloads.h"

namespace ike {

enum class ExchangeType : std::uint8_t {
  ike_sa_init = 34,
  ike_auth = 35,
  create_child_sa = 36,
  informational = 37,
};
std::string_view to_string(ExchangeType e);  // "IKE_SA_INIT", ... or "UNKNOWN"

struct Header {
  static constexpr std::size_t kSize = 28;
  static constexpr std::uint8_t kFlagInitiator = 0x08;
  static constexpr std::uint8_t kFlagVersion = 0x10;
  static constexpr std::uint8_t kFlagResponse = 0x20;

  std::uint64_t spi_i = 0;
  std::uint64_t spi_r = 0;
  PayloadType next_payload = PayloadType::none;  // filled by the encoders
  std::uint8_t major_version = 2;
  std::uint8_t minor_version = 0;
  ExchangeType exchange = ExchangeType::ike_sa_init;  // may hold values outside the enum
  bool initiator = false;  // I: sent by the original initiator of the IKE_SA
  bool version = false;    // V: sender can speak a higher major version (never set by us)
  bool response = false;   // R
  std::uint32_t message_id = 0;
  std::uint32_t length = 0;  // whole message; filled by the encoders

  // Reads the 28 header bytes only (no semantic checks): Errc::truncated if shorter.
  static common::Result<Header> parse(common::ByteSpan datagram);
  void serialize(common::Writer& w) const;
  bool operator==(const Header&) const = default;
};

// Why a received message was rejected: a counter per reason, and the notify to answer.
enum class ParseReason : std::uint8_t {
  ok = 0,
  header_truncated,          // shorter than 28 bytes
  length_mismatch,           // header Length != datagram size
  bad_major_version,         // major version != 2
  payload_truncated,         // a generic header or payload body runs past its bounds
  payload_malformed,         // a payload body violates its format
  unsupported_critical,      // unknown payload with the critical bit set
  sk_not_last,               // bytes follow the SK payload / SK inside SK
  sk_missing,                // sk::decrypt given a message without SK
  sk_malformed,              // SK payload too short for IV/ICV, or bad padding
  integrity,                 // ICV / AEAD tag mismatch (drop silently, count)
  crypto,                    // the crypto library failed
  unknown_exchange,          // exchange type not in the rules table
  rule_missing,              // a mandatory payload is absent
  rule_too_many,             // a payload occurs more often than allowed
  rule_not_allowed,          // a payload the exchange does not allow
  rule_not_encrypted,        // a payload outside SK that must be inside (or vice versa)
};
std::string_view to_string(ParseReason r);

struct ParseDiag {
  ParseReason reason = ParseReason::ok;
  std::uint8_t payload_type = 0;  // the offending payload type, where there is one
  // The SK payload's ICV verified: the failure is in what the authentic peer encrypted,
  // so it may be answered (RFC 7296 §3.10.1: only in an encrypted, valid message).
  bool authentic = false;
};

// The error notify that answers a rejected message (RFC 7296 §2.21, §3.10.1):
// INVALID_MAJOR_VERSION, UNSUPPORTED_CRITICAL_PAYLOAD (data: the 1-byte payload type in
// ParseDiag::payload_type), INVALID_SYNTAX, or nullopt = drop silently (integrity, crypto,
// truncated header, length mismatch).
std::optional<NotifyType> notify_for(ParseReason r);

struct Message {
  Header header;
  // Plain messages: every payload, in order (SK included as a raw SkPayload if present
  // and not decrypted). Messages from sk::decrypt: the decrypted inner payloads.
  std::vector<Payload> payloads;
  // sk::decrypt only: payloads that preceded SK, unprotected (normally none).
  std::vector<Payload> unprotected;
  bool encrypted = false;  // payloads came from (sk::decrypt) an SK payload

  template <typename T>
  const T* find() const {
    for (const auto& p : payloads)
      if (const T* t = std::get_if<T>(&p)) return t;
    return nullptr;
  }
  template <typename T>
  std::vector<const T*> find_all() const {
    std::vector<const T*> out;
    for (const auto& p : payloads)
      if (const T* t = std::get_if<T>(&p)) out.push_back(t);
    return out;
  }
  const NotifyPayload* find_notify(NotifyType t) const {
    for (const auto& p : payloads)
      if (const auto* n = std::get_if<NotifyPayload>(&p); n && n->type == t) return n;
    return nullptr;
  }
  // The first error notify (type < 16384), if any.
  const NotifyPayload* find_error_notify() const {
    for (const auto& p : payloads)
      if (const auto* n = std::get_if<NotifyPayload>(&p); n && is_error(n->type)) return n;
    return nullptr;
  }
};

// Parses a whole datagram (non-ESP marker already stripped): header checks (length,
// major version 2), then the payload chain. An SK payload must be last and is kept raw.
// Unknown non-critical payloads are skipped; unknown critical ones fail.
common::Result<Message> parse_message(common::ByteSpan datagram, ParseDiag* diag = nullptr);

// Parses a payload chain that starts with type `first` and fills exactly `data`.
// allow_sk: an SK payload may end the chain (outer chain) or not (inner chain).
common::Status parse_payload_chain(PayloadType first, common::ByteSpan data, bool allow_sk,
                                   std::vector<Payload>& out, ParseDiag* diag = nullptr);

// Appends generic header + body of each payload, chained; the last payload's Next
// Payload is `after_last` (none, or e.g. sk when an SK payload follows).
// Returns the type of the first payload (none when empty), for the preceding Next field.
PayloadType serialize_payload_chain(std::span<const Payload> payloads, common::Bytes& out,
                                    PayloadType after_last = PayloadType::none);

// Encodes an unencrypted message: header (next payload and length computed) + payloads.
// The payloads may end with an SkPayload (kept as given; for tests and fuzzing).
common::Result<common::Bytes> encode_message(const Message& m);

}  // namespace ike
