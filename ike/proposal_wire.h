// ike::Proposal (config view, alternatives per transform type) <-> SaProposal (wire,
// RFC 7296 §3.3). Transforms we do not implement are left out when reading, so selection
// never picks them (§3.3.6: unknown transforms are ignored).
#pragma once

#include <optional>

#include "ike/payloads.h"
#include "ike/proposal.h"

namespace ike {

SaProposal to_sa_proposal(const Proposal& p, std::uint8_t number, common::ByteSpan spi);
// nullopt when the protocol is neither IKE nor ESP.
std::optional<Proposal> from_sa_proposal(const SaProposal& p);

}  // namespace ike
