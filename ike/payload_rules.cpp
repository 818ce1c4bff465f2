#include "ike/payload_rules.h"

#include <array>

namespace ike {

namespace {

using P = PayloadType;
constexpr std::uint8_t kMany = 255;

// RFC 7296 §1.2 (IKE_SA_INIT, IKE_AUTH), §1.3 (CREATE_CHILD_SA), §1.4 (INFORMATIONAL).
constexpr PayloadRule kIkeSaInitRequest[] = {
    {P::sa, 1, 1, false, false},       {P::ke, 1, 1, false, false},
    {P::nonce, 1, 1, false, false},    {P::notify, 0, kMany, false, false},
    {P::vendor_id, 0, kMany, false, false}, {P::certreq, 0, kMany, false, false},
};
constexpr PayloadRule kIkeSaInitResponse[] = {
    {P::notify, 0, kMany, false, true}, {P::sa, 1, 1, false, false},
    {P::ke, 1, 1, false, false},        {P::nonce, 1, 1, false, false},
    {P::vendor_id, 0, kMany, false, false}, {P::certreq, 0, kMany, false, false},
};
constexpr PayloadRule kIkeAuthRequest[] = {
    {P::notify, 0, kMany, true, false}, {P::idi, 1, 1, true, false},
    {P::cert, 0, kMany, true, false},   {P::certreq, 0, kMany, true, false},
    {P::idr, 0, 1, true, false},        {P::auth, 1, 1, true, false},
    {P::eap, 0, 1, true, false},        {P::cp, 0, 1, true, false},
    {P::sa, 0, 1, true, false},         {P::tsi, 0, 1, true, false},
    {P::tsr, 0, 1, true, false},        {P::vendor_id, 0, kMany, true, false},
};
constexpr PayloadRule kIkeAuthResponse[] = {
    {P::notify, 0, kMany, true, true}, {P::idr, 1, 1, true, false},
    {P::cert, 0, kMany, true, false},  {P::certreq, 0, kMany, true, false},
    {P::auth, 1, 1, true, false},
    {P::eap, 0, 1, true, false},       {P::cp, 0, 1, true, false},
    {P::sa, 0, 1, true, false},        {P::tsi, 0, 1, true, false},
    {P::tsr, 0, 1, true, false},       {P::vendor_id, 0, kMany, true, false},
};
constexpr PayloadRule kCreateChildSaRequest[] = {
    {P::notify, 0, kMany, true, false}, {P::sa, 1, 1, true, false},
    {P::nonce, 1, 1, true, false},      {P::ke, 0, 1, true, false},
    {P::tsi, 0, 1, true, false},        {P::tsr, 0, 1, true, false},
    {P::cp, 0, 1, true, false},         {P::vendor_id, 0, kMany, true, false},
};
constexpr PayloadRule kCreateChildSaResponse[] = {
    {P::notify, 0, kMany, true, true}, {P::sa, 1, 1, true, false},
    {P::nonce, 1, 1, true, false},     {P::ke, 0, 1, true, false},
    {P::tsi, 0, 1, true, false},       {P::tsr, 0, 1, true, false},
    {P::cp, 0, 1, true, false},        {P::vendor_id, 0, kMany, true, false},
};
constexpr PayloadRule kInformational[] = {
    {P::notify, 0, kMany, true, false}, {P::del, 0, kMany, true, false},
    {P::cp, 0, 1, true, false},         {P::vendor_id, 0, kMany, true, false},
};

common::Status violation(ParseDiag* diag, ParseReason reason, PayloadType t, const char* detail) {
  if (diag) {
    diag->reason = reason;
    diag->payload_type = static_cast<std::uint8_t>(t);
  }
  return common::make_error(common::Errc::malformed, detail);
}

// Does a notify in m waive the other mandatory payloads (a "sufficient" notify row)?
bool has_sufficient_notify(const Message& m, std::span<const PayloadRule> rules) {
  bool sufficient = false;
  for (const auto& r : rules)
    if (r.type == PayloadType::notify) sufficient = r.sufficient;
  if (!sufficient) return false;
  for (const auto* list : {&m.payloads, &m.unprotected})
    for (const auto& p : *list)
      if (const auto* n = std::get_if<NotifyPayload>(&p)) {
        if (is_error(n->type)) return true;
        if (m.header.exchange == ExchangeType::ike_sa_init && n->type == NotifyType::cookie)
          return true;
      }
  return false;
}

}  // namespace

std::span<const PayloadRule> payload_rules(ExchangeType exchange, bool response) {
  switch (exchange) {
    case ExchangeType::ike_sa_init:
      return response ? std::span<const PayloadRule>(kIkeSaInitResponse) : kIkeSaInitRequest;
    case ExchangeType::ike_auth:
      return response ? std::span<const PayloadRule>(kIkeAuthResponse) : kIkeAuthRequest;
    case ExchangeType::create_child_sa:
      return response ? std::span<const PayloadRule>(kCreateChildSaResponse)
                      : kCreateChildSaRequest;
    case ExchangeType::informational:
      return kInformational;
  }
  return {};
}

common::Status check_rules(const Message& m, ParseDiag* diag) {
  auto rules = payload_rules(m.header.exchange, m.header.response);
  if (rules.empty())
    return violation(diag, ParseReason::unknown_exchange, PayloadType::none, "unknown exchange");

  std::array<unsigned, 256> count{};
  auto tally = [&](const std::vector<Payload>& list, bool inside_sk) -> common::Status {
    for (const auto& p : list) {
      PayloadType t = payload_type(p);
      const PayloadRule* rule = nullptr;
      for (const auto& r : rules)
        if (r.type == t) rule = &r;
      if (!rule) return violation(diag, ParseReason::rule_not_allowed, t, "payload not allowed");
      if (rule->encrypted != inside_sk)
        return violation(diag, ParseReason::rule_not_encrypted, t,
                         inside_sk ? "payload must not be encrypted" : "payload must be encrypted");
      if (++count[static_cast<std::uint8_t>(t)] > rule->max)
        return violation(diag, ParseReason::rule_too_many, t, "payload repeated");
    }
    return {};
  };
  if (auto st = tally(m.payloads, m.encrypted); !st) return st;
  if (auto st = tally(m.unprotected, false); !st) return st;

  if (has_sufficient_notify(m, rules)) return {};
  for (const auto& r : rules)
    if (count[static_cast<std::uint8_t>(r.type)] < r.min)
      return violation(diag, ParseReason::rule_missing, r.type, "mandatory payload missing");

  auto n = [&](PayloadType t) { return count[static_cast<std::uint8_t>(t)]; };
  if (m.header.exchange == ExchangeType::ike_auth &&
      !(n(P::sa) == n(P::tsi) && n(P::tsi) == n(P::tsr))) {
    PayloadType missing = n(P::sa) == 0 ? P::sa : n(P::tsi) == 0 ? P::tsi : P::tsr;
    return violation(diag, ParseReason::rule_missing, missing, "SA, TSi and TSr go together");
  }
  if (m.header.exchange == ExchangeType::create_child_sa && n(P::tsi) != n(P::tsr))
    return violation(diag, ParseReason::rule_missing, n(P::tsi) == 0 ? P::tsi : P::tsr,
                     "TSi and TSr go together");
  return {};
}

}  // namespace ike
