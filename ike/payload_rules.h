// Which payloads each exchange allows, how many, and whether inside SK: ONE table
// (RFC 7296 §1.2-§1.5, §2.21; the shape of strongSwan's payload rules).
//
// A row {type, min, max, encrypted, sufficient}: the payload must occur min..max times
// and inside SK iff `encrypted`. A `sufficient` Notify row means: a message carrying an
// error notify (or COOKIE / INVALID_KE_PAYLOAD answers of IKE_SA_INIT) needs no other
// mandatory payload (e.g. an IKE_SA_INIT response holding only NO_PROPOSAL_CHOSEN).
// Additional cross-payload rule: SA, TSi and TSr come together or not at all in IKE_AUTH
// (childless, RFC 6023), and TSi/TSr together in CREATE_CHILD_SA (absent for IKE rekey).
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"
#include "ike/message.h"

namespace ike {

struct PayloadRule {
  PayloadType type;
  std::uint8_t min;
  std::uint8_t max;
  bool encrypted;
  bool sufficient;
};

// The rules for one exchange and direction; empty span for an unknown exchange.
std::span<const PayloadRule> payload_rules(ExchangeType exchange, bool response);

// Checks m (payloads + unprotected) against the table: Errc::malformed with diag set
// (rule_* reasons, notify_for() → INVALID_SYNTAX) on violation.
common::Status check_rules(const Message& m, ParseDiag* diag = nullptr);

}  // namespace ike
