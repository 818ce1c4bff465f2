#include "apps/peers.h"

namespace apps {

namespace {

ike::DpdAction to_ike(DpdAction a) {
  switch (a) {
    case DpdAction::none: return ike::DpdAction::none;
    case DpdAction::clear: return ike::DpdAction::clear;
    case DpdAction::hold: return ike::DpdAction::hold;
    case DpdAction::restart: return ike::DpdAction::restart;
  }
  return ike::DpdAction::none;
}

// Selectors of one side: the configured subnets, or the host address itself.
std::vector<common::TrafficSelector> selectors(const HostConfig& h) {
  if (!h.subnets.empty()) return h.subnets;
  if (h.kind == HostConfig::Kind::address) {
    common::Prefix p{h.addr, static_cast<std::uint8_t>(h.addr.is_v4() ? 32 : 128)};
    return {common::TrafficSelector::from_prefix(p, h.protocol, h.port_lo, h.port_hi)};
  }
  // %any: any address; narrowing against the peer's proposal decides.
  common::TrafficSelector any;
  any.start = common::IpAddr::v4(0);
  any.end = common::IpAddr::v4(0xffffffffu);
  any.protocol = h.protocol;
  any.start_port = h.port_lo;
  any.end_port = h.port_hi;
  return {any};
}

}  // namespace

std::optional<common::IpAddr> tun_address_for(const common::TrafficSelector& ts) {
  if (ts.start == ts.end) return ts.start;
  return std::nullopt;
}

PeersResult build_peers(const Config& cfg, const Secrets& secrets) {
  PeersResult r;
  for (const auto& group : cfg.ike_sas) {
    ike::PeerConfig p;
    p.name = group.name;
    const ConnConfig* first = nullptr;
    for (const auto& cname : group.conns) {
      const ConnConfig* c = cfg.find_conn(cname);
      if (!c) continue;
      if (!first) first = c;
      ike::ChildConfig ch;
      ch.name = c->name;
      ch.local_ts = selectors(c->left);
      ch.remote_ts = selectors(c->right);
      ch.transport = c->mode == Mode::transport;
      ch.esp_proposals = c->esp.proposals;
      ch.lifetime = c->lifetime;
      ch.rekey_margin = c->rekey_margin;
      ch.replay_window = c->replay_window;
      ch.rekey_fuzz_percent = c->rekey_fuzz_percent;
      ch.start = c->auto_action == AutoAction::start;
      p.children.push_back(std::move(ch));
    }
    if (!first) continue;
    const ConnConfig& c = *first;
    p.local_addr = c.left.kind == HostConfig::Kind::address ? c.left.addr : common::IpAddr::v4(0);
    if (c.right.kind == HostConfig::Kind::address) p.remote_addr = c.right.addr;
    p.local_port = c.left.ike_port;
    p.remote_port = c.right.ike_port;
    std::string lid = c.left.effective_id();
    std::string rid = c.right.effective_id();
    p.local_id = ike::Identity::from_string(lid.empty() ? p.local_addr.to_string() : lid);
    if (!rid.empty() && rid != "%any") p.remote_id = ike::Identity::from_string(rid);
    p.ike_proposals = c.ike.proposals;
    p.force_encaps = c.force_encaps;
    p.ike_lifetime = c.ike_lifetime;
    p.rekey_margin = c.rekey_margin;
    p.dpd_delay = c.dpd_delay;
    p.dpd_timeout = c.dpd_timeout;
    p.dpd_action = to_ike(c.dpd_action);
    p.rekey_fuzz_percent = c.rekey_fuzz_percent;
    if (c.auth == AuthMethod::psk) {
      const SecretEntry* s = secrets.find_psk(lid, rid);
      if (!s) {
        r.errors.push_back(p.name + ": no PSK in " + secrets.path + " for '" + lid + "' <-> '" + rid + "'");
        continue;
      }
      p.psk = s->psk;
    } else {
      r.errors.push_back(p.name + ": authby=pubkey/rsasig is not supported yet; use authby=secret");
      continue;
    }
    r.peers.push_back(std::move(p));
  }
  return r;
}

}  // namespace apps
