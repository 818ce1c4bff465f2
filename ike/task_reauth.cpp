// Reauthentication (strongSwan's reauth=yes, RFC 7296 §2.8.3), make-before-break:
//
//  old IKE_SA   at ikelifetime - margin - fuzz, instead of a CREATE_CHILD_SA rekey, builds a
//               successor: IKE_SA_INIT + IKE_AUTH (full authentication, the first CHILD_SA
//               in it, no INITIAL_CONTACT since this SA is still up), then CREATE_CHILD_SA
//               for each other conn. The old IKE_SA and its CHILD_SAs keep carrying traffic.
//  new IKE_SA   once established and every CHILD_SA tried, it has the old IKE_SA deleted
//               (INFORMATIONAL DELETE); the peer then removes the old CHILD_SAs.
//  responder    a new IKE_SA from a peer that still has one, with a CHILD_SA for a conn the
//               old one carries: the new outbound SA waits (as for a rekey we answer) until
//               the old CHILD_SA of that conn is removed, since the peer installs its inbound
//               SA only when our answer arrives.
//  failure      the new IKE_SA given up (no answer, AUTHENTICATION_FAILED, ...): the old one
//               retries after rekey_retry and stays until its hard lifetime.
#include <algorithm>

#include "ike/ike_sa.h"

namespace ike {

using common::LogLevel;

IkeSa* IkeSa::find_sa(std::uint32_t id) const {
  if (id == 0) return nullptr;
  if (ctx_.sas)
    for (const auto& sa : *ctx_.sas)
      if (sa->unique_id_ == id && sa->state_ != IkeSaState::destroyed) return sa.get();
  for (const auto& sa : ctx_.adopted)
    if (sa->unique_id_ == id && sa->state_ != IkeSaState::destroyed) return sa.get();
  return nullptr;
}

void IkeSa::start_reauth(TimePoint now) {
  if (find_sa(reauth_new_id_)) return;  // one already under way
  auto n = std::make_unique<IkeSa>(ctx_, cfg_, ctx_.next_ike_unique_id++, true);
  n->reauth_old_id_ = unique_id_;
  n->local_ = local_;
  n->remote_ = remote_;
  // The conns to carry over, in config order (each once, whatever its rekey state).
  std::vector<std::string> names;
  for (const auto& cc : cfg_->children)
    if (has_child(cc.name)) names.push_back(cc.name);
  log(LogLevel::info, "reauthenticating: building " + cfg_->name + "[" + std::to_string(n->unique_id_) +
                          "] with a full IKE_AUTH and " + std::to_string(names.size()) +
                          " CHILD_SA(s); this IKE_SA stays until it is up");
  n->initiate(names.empty() ? std::string() : names.front(), now);
  for (std::size_t i = 1; i < names.size(); ++i) n->queue_.push_back(TaskChildCreate{names[i]});
  reauth_new_id_ = n->unique_id_;
  ctx_.adopted.push_back(std::move(n));
}

void IkeSa::check_reauth_complete(TimePoint now) {
  if (reauth_old_id_ == 0 || state_ != IkeSaState::established || tm_.request_outstanding()) return;
  for (const auto& t : queue_)
    if (std::holds_alternative<TaskChildCreate>(t)) return;
  IkeSa* old = find_sa(reauth_old_id_);
  reauth_old_id_ = 0;
  if (!old || old->state_ != IkeSaState::established) return;
  log(LogLevel::info, "reauthentication complete with " + std::to_string(children_.size()) +
                          " CHILD_SA(s), deleting the old IKE_SA " + cfg_->name + "[" +
                          std::to_string(old->unique_id_) + "]");
  old->reauth_new_id_ = 0;
  old->queue(TaskIkeDelete{}, now);
}

void IkeSa::reauth_failed() {
  if (reauth_old_id_ == 0) return;
  IkeSa* old = find_sa(reauth_old_id_);
  reauth_old_id_ = 0;
  if (!old || old->reauth_new_id_ != unique_id_) return;
  old->reauth_new_id_ = 0;
  old->reauth_retry_ = true;  // picked up at its next expiry, which is now
}

void IkeSa::release_outbound(const std::string& name) {
  auto release = [&](IkeSa& sa) {
    for (auto& o : sa.children_)
      if (o.name == name && o.outbound_pending) {
        o.outbound_pending = false;
        ctx_.events.push_back(ChildSaOutbound{o.name, o.spi_in, o.spi_out});
      }
  };
  release(*this);
  if (!ctx_.sas) return;
  for (const auto& sa : *ctx_.sas)
    if (sa.get() != this && sa->state_ != IkeSaState::destroyed && sa->cfg_->name == cfg_->name &&
        sa->remote_.addr == remote_.addr)
      release(*sa);
}

bool IkeSa::replaces_elsewhere(std::string_view child) const {
  if (!ctx_.sas) return false;
  for (const auto& sa : *ctx_.sas) {
    if (sa.get() == this || sa->state_ != IkeSaState::established || sa->cfg_->name != cfg_->name ||
        sa->remote_.addr != remote_.addr)
      continue;
    for (const auto& c : sa->children_)
      if (c.name == child && c.state != ChildSaState::created && c.state != ChildSaState::deleting) return true;
  }
  return false;
}

}  // namespace ike
