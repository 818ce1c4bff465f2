// SIGHUP reload at CHILD_SA granularity (Engine::update_peer): the IKE_SA keeps running
// with the new config; only the CHILD_SAs whose conn was removed are deleted, new
// auto=start conns are created. A conn whose CHILD parameters changed is not handled here:
// Engine::update_peer re-establishes the whole IKE_SA instead (changed_child).
#include <algorithm>

#include "ike/ike_sa.h"

namespace ike {

using common::LogLevel;

namespace {
// Everything of a conn that is baked into its CHILD_SA (auto= is not).
bool same_child(const ChildConfig& a, const ChildConfig& b) {
  return a.local_ts == b.local_ts && a.remote_ts == b.remote_ts && a.transport == b.transport &&
         a.esp_proposals == b.esp_proposals && a.lifetime == b.lifetime && a.rekey_margin == b.rekey_margin &&
         a.rekey_fuzz_percent == b.rekey_fuzz_percent && a.replay_window == b.replay_window &&
         a.life_bytes == b.life_bytes && a.life_packets == b.life_packets && a.margin_bytes == b.margin_bytes &&
         a.margin_packets == b.margin_packets;
}
const ChildConfig* find(const PeerConfig& p, std::string_view name) {
  for (const auto& c : p.children)
    if (c.name == name) return &c;
  return nullptr;
}
}  // namespace

std::optional<std::string> changed_child(const PeerConfig& old, const PeerConfig& fresh) {
  for (const auto& nc : fresh.children)
    if (const ChildConfig* oc = find(old, nc.name); oc && !same_child(*oc, nc)) return nc.name;
  return std::nullopt;
}

void IkeSa::reconfigure(std::shared_ptr<const PeerConfig> cfg, const PeerConfig& old, TimePoint now) {
  cfg_ = std::move(cfg);
  if (state_ != IkeSaState::established) return;
  for (auto& c : children_) {
    if (c.state == ChildSaState::deleting || find(*cfg_, c.name)) continue;
    log(LogLevel::info, "reload: conn " + c.name + " removed: deleting its CHILD_SA");
    queue_.push_back(TaskChildDelete{c.spi_in});
  }
  for (const auto& nc : cfg_->children)
    if (nc.start && !find(old, nc.name) && !has_child(nc.name) && !child_pending(nc.name)) {
      log(LogLevel::info, "reload: conn " + nc.name + " added: creating its CHILD_SA");
      queue_.push_back(TaskChildCreate{nc.name});
    }
  start_next_task(now);
}

}  // namespace ike
