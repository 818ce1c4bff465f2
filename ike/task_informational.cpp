// INFORMATIONAL (RFC 7296 §1.4): DELETE of CHILD_SAs (answered with our own inbound SPIs
// of the same pairs, §1.4.1) and of the IKE_SA, liveness checks (empty requests), and
// the peer's error notifies.
#include <algorithm>

#include "ike/ike_sa.h"

namespace ike {

using common::LogLevel;

void IkeSa::process_info_request(const Message& m, TimePoint now) {
  std::vector<Payload> pl;
  bool delete_ike = false;
  DeletePayload ours;
  ours.protocol = ProtocolId::esp;
  for (const auto* d : m.find_all<DeletePayload>()) {
    if (d->protocol == ProtocolId::ike) {
      delete_ike = true;
    } else if (d->protocol == ProtocolId::esp) {
      for (std::uint32_t spi : d->spis) {
        ChildSa* c = find_child_by_out(spi);
        if (!c) continue;
        log(LogLevel::info, "received DELETE for ESP CHILD_SA " + c->name);
        ours.spis.push_back(c->spi_in);
        const std::string name = c->name;
        for (std::size_t i = 0; i < children_.size(); ++i)
          if (&children_[i] == c) {
            remove_child(i, true);
            break;
          }
        // closeaction=restart: the peer closed it (not a rekey, which leaves a successor).
        const ChildConfig* cc = child_config(name);
        if (cc && cc->close_action == CloseAction::restart && !has_child(name) && !child_pending(name)) {
          if (cfg_->remote_addr) {
            log(LogLevel::info, "CHILD_SA " + name + " closed by the peer: initiating it again (closeaction=restart)");
            queue(TaskChildCreate{name}, now);
          } else {
            log(LogLevel::warn, "CHILD_SA " + name + " closed by the peer: closeaction=restart cannot initiate to right=%any");
          }
        }
      }
    }
  }
  if (m.find_notify(NotifyType::authentication_failed)) delete_ike = true;
  if (delete_ike) {
    send_response(m.header, {});
    log(LogLevel::info, "received DELETE for IKE_SA");
    // closeaction=restart: its conns are brought up again on a new IKE_SA. A rekeyed SA's
    // CHILD_SAs live on in its successor: nothing to restart for them.
    std::vector<std::string> restart;
    for (const auto& c : children_)
      if (const ChildConfig* cc = child_config(c.name); cc && cc->close_action == CloseAction::restart &&
                                                       std::find(restart.begin(), restart.end(), c.name) == restart.end())
        restart.push_back(c.name);
    if (state_ == IkeSaState::established) request_restart(std::move(restart), 1, "closeaction=restart");
    destroy("deleted by peer");
    return;
  }
  if (!ours.spis.empty()) pl.push_back(std::move(ours));
  send_response(m.header, std::move(pl));
}

void IkeSa::process_info_response(const Message& m, TimePoint now) {
  (void)m;
  (void)now;
  switch (last_info_) {
    case Active::child_delete:
      for (std::size_t i = 0; i < children_.size(); ++i)
        if (children_[i].spi_in == active_spi_) {
          remove_child(i, true);
          break;
        }
      break;
    case Active::ike_delete: destroy("IKE_SA deleted"); break;
    default: break;
  }
}

}  // namespace ike
