// Proposal selection (RFC 7296 §2.7, §3.3.6): the responder picks one transform of each
// type from one of the initiator's proposals. Like strongSwan (prefer_configured_proposals),
// our configured order wins: for each of our proposals, each received proposal is tried.
#pragma once

#include <optional>
#include <vector>

#include "ike/proposal.h"

namespace ike {

// The intersection of two proposals with one transform per type, our order of
// preference; nullopt when some mandatory type has no common transform.
// ESP DH (PFS) groups: both empty, or a common group.
std::optional<Proposal> intersect_proposal(const Proposal& ours, const Proposal& theirs);

struct Selection {
  Proposal chosen;
  std::size_t index = 0;  // index into `theirs` (its proposal number - 1 when numbered 1..n)
};
std::optional<Selection> select_proposal(const std::vector<Proposal>& ours,
                                         const std::vector<Proposal>& theirs);

// The proposal without DH groups (IKE_AUTH's first CHILD_SA never does a key exchange).
Proposal strip_dh(Proposal p);

// Is `chosen` (one transform per type, from the responder) acceptable under `offered`?
bool proposal_acceptable(const std::vector<Proposal>& offered, const Proposal& chosen);

}  // namespace ike
