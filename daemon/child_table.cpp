#include "daemon/child_table.h"

#include "common/log.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::esp;
}  // namespace

bool ChildTable::install(const ike::ChildSaInstall& c) {
  esp::SaConfig in;
  in.spi = c.spi_in;
  in.direction = esp::Direction::inbound;
  in.mode = c.transport ? esp::Mode::transport : esp::Mode::tunnel;
  in.encr = c.encr;
  in.encr_key = c.encr_key_in;
  in.integ = c.integ;
  in.integ_key = c.integ_key_in;
  in.esn = c.esn;
  in.replay_window = c.replay_window;
  in.local_ts = c.local_ts;
  in.remote_ts = c.remote_ts;
  esp::SaConfig out = in;
  out.spi = c.spi_out;
  out.direction = esp::Direction::outbound;
  out.encr_key = c.encr_key_out;
  out.integ_key = c.integ_key_out;
  auto sin = esp::Sa::create(in, rng_);
  auto sout = esp::Sa::create(out, rng_);
  if (!sin || !sout) {
    LOG_ERROR("%s: cannot create ESP SA: %s", c.child_name.c_str(), (!sin ? sin.error() : sout.error()).detail);
    return false;
  }
  auto s1 = sad_.add_inbound(std::move(sin.value()));
  const auto dev = vti_dev(c.child_name);
  common::Status s2;
  if (c.outbound_deferred) pending_out_[c.spi_out] = std::move(sout.value());
  else s2 = sad_.add_outbound(std::move(sout.value()), !dev);
  if (!s1 || !s2) {
    LOG_ERROR("%s: cannot install ESP SA: %s", c.child_name.c_str(), (!s1 ? s1.error() : s2.error()).detail);
    return false;
  }
  out_routes_[c.spi_out] = OutRoute{c.local, c.remote, c.udp_encap};
  InstalledChild ic{c, std::chrono::steady_clock::now()};
  ic.limits = esp::VolumeLimits{c.soft_bytes, c.hard_bytes, c.soft_packets, c.hard_packets};
  ic.info.encr_key_in.clear();
  ic.info.encr_key_out.clear();
  ic.info.integ_key_in.clear();
  ic.info.integ_key_out.clear();
  children_[c.spi_in] = std::move(ic);
  if (dev) {
    vti_in_[c.spi_in] = *dev;
    if (!c.outbound_deferred) vti_out_[*dev] = c.spi_out;
  }
  LOG_INFO("%s: CHILD_SA installed, %s%s, SPIs %08x_i %08x_o, %s", c.child_name.c_str(),
           c.transport ? "transport mode, " : "", c.udp_encap ? "ESP in UDP" : "plain ESP", c.spi_in, c.spi_out,
           c.proposal.c_str());
  return true;
}

void ChildTable::release_outbound(const ike::ChildSaOutbound& c) {
  auto it = pending_out_.find(c.spi_out);
  if (it == pending_out_.end()) return;
  const auto dev = vti_dev(c.child_name);
  auto st = sad_.add_outbound(std::move(it->second), !dev);
  pending_out_.erase(it);
  if (st && dev) vti_out_[*dev] = c.spi_out;
  if (!st) LOG_ERROR("%s: cannot install outbound SA %08x: %s", c.child_name.c_str(), c.spi_out, st.error().detail);
  else LOG_DEBUG("%s: outbound SA %08x now carries traffic", c.child_name.c_str(), c.spi_out);
}

bool ChildTable::has_child(std::string_view name) const {
  for (const auto& [spi, ch] : children_)
    if (ch.info.child_name == name) return true;
  return false;
}

void ChildTable::remove(const ike::ChildSaRemove& c) {
  pending_out_.erase(c.spi_out);
  sad_.remove_inbound(c.spi_in);
  sad_.remove_outbound(c.spi_out);
  out_routes_.erase(c.spi_out);
  children_.erase(c.spi_in);
  if (vti_in_.erase(c.spi_in)) vti_reselect(c.child_name);
  LOG_INFO("%s: CHILD_SA removed, SPIs %08x_i %08x_o", c.child_name.c_str(), c.spi_in, c.spi_out);
}

// The engine may remove children while it is told: the caller gets the list first.
std::vector<VolumeCrossing> ChildTable::volumes_crossed() {
  std::vector<VolumeCrossing> crossed;
  for (auto& [spi_in, ch] : children_) {
    auto c = esp::check_volume(ch.limits, sad_.find_inbound(spi_in), sad_.find_outbound(ch.info.spi_out));
    if (static_cast<int>(c.state) <= static_cast<int>(ch.reported)) continue;
    ch.reported = c.state;
    crossed.push_back({spi_in, c.state == esp::VolumeState::hard, c.what});
  }
  return crossed;
}

void ChildTable::vti_reselect(std::string_view conn) {
  const auto dev = vti_dev(conn);
  if (!dev) return;
  const InstalledChild* best = nullptr;
  for (const auto& [spi_in, ch] : children_)
    if (ch.info.child_name == conn && sad_.find_outbound(ch.info.spi_out) && (!best || ch.installed > best->installed))
      best = &ch;
  if (best) vti_out_[*dev] = best->info.spi_out;
  else vti_out_.erase(*dev);
}

ChildTable::Outbound ChildTable::vti_outbound(std::size_t dev) const {
  auto it = vti_out_.find(dev);
  if (it == vti_out_.end()) return {};
  esp::Sa* sa = sad_.find_outbound(it->second);
  auto route = out_routes_.find(it->second);
  if (!sa || route == out_routes_.end()) return {};
  return {sa, &route->second};
}

ChildTable::Outbound ChildTable::select_outbound(const esp::ip::Flow& flow) const {
  esp::Sa* sa = sad_.select_outbound(flow);
  if (!sa) return {};
  auto route = out_routes_.find(sa->spi());
  if (route == out_routes_.end()) return {};
  return {sa, &route->second};
}

}  // namespace swld
