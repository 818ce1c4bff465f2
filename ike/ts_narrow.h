// Traffic selector narrowing (RFC 7296 §2.9). The responder intersects what the
// initiator proposed with its own configuration, per side; an empty side means
// TS_UNACCEPTABLE. The initiator checks that what came back lies within what it asked.
#pragma once

#include <optional>
#include <vector>

#include "common/net.h"

namespace ike {

using TsList = std::vector<common::TrafficSelector>;

// Every non-empty pairwise intersection of `proposed` with `configured`, duplicates removed.
TsList narrow_ts(const TsList& proposed, const TsList& configured);
// Is every selector of `got` inside some selector of `allowed`?
bool ts_within(const TsList& got, const TsList& allowed);
// Same selectors, order ignored.
bool ts_equal(const TsList& a, const TsList& b);

}  // namespace ike
