// INFORMATIONAL (RFC 7296 §1.4): DELETE of CHILD_SAs (answered with our own inbound SPIs
// of the same pairs, §1.4.1) and of the IKE_SA, liveness checks (empty requests), and
// the peer's error notifies.
#include "ike/ike_sa.h"

namespace ike {

using common::LogLevel;

void IkeSa::process_info_request(const Message& m, TimePoint now) {
  (void)now;
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
        for (std::size_t i = 0; i < children_.size(); ++i)
          if (&children_[i] == c) {
            remove_child(i, true);
            break;
          }
      }
    }
  }
  if (m.find_notify(NotifyType::authentication_failed)) delete_ike = true;
  if (delete_ike) {
    send_response(m.header, {});
    log(LogLevel::info, "received DELETE for IKE_SA");
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
