#include "ike/proposal_select.h"

#include <algorithm>

namespace ike {
namespace {

template <typename T>
std::optional<T> pick(const std::vector<T>& ours, const std::vector<T>& theirs) {
  for (const auto& o : ours)
    if (std::find(theirs.begin(), theirs.end(), o) != theirs.end()) return o;
  return std::nullopt;
}

}  // namespace

std::optional<Proposal> intersect_proposal(const Proposal& ours, const Proposal& theirs) {
  if (ours.protocol != theirs.protocol) return std::nullopt;
  Proposal out;
  out.protocol = ours.protocol;
  auto e = pick(ours.encr, theirs.encr);
  if (!e) return std::nullopt;
  out.encr = {*e};
  bool aead = common::crypto::encr_is_aead(e->id);
  if (!aead) {
    auto i = pick(ours.integ, theirs.integ);
    if (!i) return std::nullopt;
    out.integ = {*i};
  } else {
    // An AEAD proposal carries no integrity transform (or only NONE).
    auto has_real = [](const std::vector<common::crypto::IntegId>& v) {
      return std::any_of(v.begin(), v.end(), [](auto x) { return x != common::crypto::IntegId::none; });
    };
    if (has_real(theirs.integ)) return std::nullopt;
  }
  if (ours.protocol == Protocol::ike) {
    auto p = pick(ours.prf, theirs.prf);
    if (!p) return std::nullopt;
    out.prf = {*p};
    auto d = pick(ours.dh, theirs.dh);
    if (!d) return std::nullopt;
    out.dh = {*d};
  } else {
    auto strip_none = [](std::vector<common::crypto::DhId> v) {
      v.erase(std::remove(v.begin(), v.end(), common::crypto::DhId::none), v.end());
      return v;
    };
    auto od = strip_none(ours.dh), td = strip_none(theirs.dh);
    if (!od.empty() || !td.empty()) {
      auto d = pick(od, td);
      if (!d) return std::nullopt;
      out.dh = {*d};
    }
    std::vector<Esn> oe = ours.esn.empty() ? std::vector<Esn>{Esn::no} : ours.esn;
    std::vector<Esn> te = theirs.esn.empty() ? std::vector<Esn>{Esn::no} : theirs.esn;
    auto n = pick(oe, te);
    if (!n) return std::nullopt;
    out.esn = {*n};
  }
  return out;
}

std::optional<Selection> select_proposal(const std::vector<Proposal>& ours,
                                         const std::vector<Proposal>& theirs) {
  for (const auto& o : ours) {
    for (std::size_t i = 0; i < theirs.size(); ++i) {
      if (auto c = intersect_proposal(o, theirs[i])) return Selection{std::move(*c), i};
    }
  }
  return std::nullopt;
}

Proposal strip_dh(Proposal p) {
  p.dh.clear();
  return p;
}

bool proposal_acceptable(const std::vector<Proposal>& offered, const Proposal& chosen) {
  for (const auto& o : offered) {
    auto c = intersect_proposal(o, chosen);
    if (c && *c == chosen) return true;
  }
  return false;
}

}  // namespace ike
