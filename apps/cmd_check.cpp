// `swanless check -c FILE`: loads the config and its secrets file, prints the resolved
// conns, IKE_SA groups, gre and pim sections to `out` and every diagnostic to `err`.
#include <ostream>

#include "apps/commands.h"
#include "common/x509.h"
#include "config/capabilities.h"
#include "config/config.h"
#include "config/peers.h"
#include "config/secrets.h"
#include "config/x509_load.h"

namespace apps {

using common::TrafficSelector;
using config::AuthMethod;
using config::Config;
using config::format_duration;
using config::GreConfig;
using config::HostConfig;
using config::Mode;
using config::Secrets;

namespace {

// The identities as the engine will use them: with leftcert, leftid unset or %fromcert is
// its subject DN, and rightid unset is "any the certificate holds" (config/peers.cpp).
std::string shown_local_id(const config::ConnConfig& c) {
  if (!c.left.cert.empty() && (c.left.id.empty() || c.left.id == "%fromcert")) {
    auto cert = common::x509::Certificate::load_file(c.left.cert);
    return cert ? cert->subject_text() : std::string("subject of leftcert");
  }
  return c.left.effective_id();
}
std::string shown_remote_id(const config::ConnConfig& c) {
  if (c.auth == config::AuthMethod::pubkey && config::uses_certs(c) &&
      (c.right.id.empty() || c.right.id == "%fromcert")) {
    if (!c.right.cert.empty()) {
      auto cert = common::x509::Certificate::load_file(c.right.cert);
      return cert ? cert->subject_text() : std::string("subject of rightcert");
    }
    return "any in its certificate";
  }
  return c.right.effective_id();
}

std::string ts_list(const HostConfig& h) {
  if (h.dynamic) {
    std::string s = "dynamic";
    if (h.protocol != 0) {
      TrafficSelector t;
      t.protocol = h.protocol;
      t.start_port = h.port_lo;
      t.end_port = h.port_hi;
      std::string full = t.to_string();
      auto br = full.find('[');
      if (br != std::string::npos) s += full.substr(br);
    }
    return s;
  }
  std::string s;
  for (const auto& t : h.subnets) {
    if (!s.empty()) s += ", ";
    s += t.to_string();
  }
  return s;
}

std::string proposals_text(const ike::ProposalSet& p) {
  std::string s;
  for (std::size_t i = 0; i < p.configured && i < p.proposals.size(); ++i) {
    if (!s.empty()) s += ", ";
    s += ike::to_string(p.proposals[i]);
  }
  if (p.configured == 0) s = "(strongSwan defaults)";
  else if (p.strict) s += " (strict)";
  else s += " + strongSwan defaults";
  return s;
}

}  // namespace

int run_check(const std::string& path, std::ostream& out, std::ostream& err) {
  auto res = config::load_file(path);
  for (const auto& w : res.warnings) err << "warning: " << w.to_string() << "\n";
  for (const auto& e : res.errors) err << "error: " << e.to_string() << "\n";
  if (!res.ok()) {
    err << path << ": " << res.errors.size() << " error(s)\n";
    return 1;
  }
  const Config& cfg = *res.config;
  int errors = 0;
  for (const auto& n : cfg.notes) out << "note: " << n << "\n";

  auto sec = config::load_secrets(cfg.setup.secrets);
  for (const auto& w : sec.warnings) err << "warning: " << w.to_string() << "\n";
  for (const auto& e : sec.errors) {
    err << "error: " << e.to_string() << "\n";
    ++errors;
  }

  out << "config " << cfg.path << "\n";
  out << "  socket:  " << cfg.setup.socket;
  if (cfg.setup.socket_group)
    out << " (group " << cfg.setup.socket_group_name << ", gid " << *cfg.setup.socket_group
        << ": its members may also use up/down)";
  out << "\n";
  out << "  secrets: " << cfg.setup.secrets << "\n";
  if (cfg.setup.metrics) {
    out << "  metrics: http://" << cfg.setup.metrics->to_string() << "/metrics";
    if (!(cfg.setup.metrics->addr.is_v4() && cfg.setup.metrics->addr.b[0] == 127))
      out << " (not loopback: anyone who can reach it reads the tunnels' state)";
    out << "\n";
  }
  if (!cfg.setup.keylog.empty()) out << "  keylog:  " << cfg.setup.keylog << " (debugging only)\n";
  if (!cfg.setup.pcap.empty()) out << "  pcap:    " << cfg.setup.pcap << "\n";
  out << "  fragment_size: " << cfg.setup.fragment_size << " bytes\n";
  if (!cfg.setup.user.empty())
    out << "  user:    " << cfg.setup.user << " (uid " << cfg.setup.user_uid << ", gid " << cfg.setup.user_gid
        << "), after start-up, keeping the capabilities below\n";
  for (const auto& g : cfg.ike_sas) {
    out << "ike_sa " << g.name << ":";
    for (const auto& c : g.conns) out << " " << c;
    out << "\n";
  }
  for (const auto& c : cfg.conns) {
    out << "conn " << c.name << " (IKE_SA " << c.ike_sa << ", auto=" << to_string(c.auto_action)
        << ")\n";
    out << "  local:  " << c.left.address_text() << "[" << shown_local_id(c) << "] port " << c.left.ike_port
        << "\n";
    out << "  remote: " << c.right.address_text() << "[" << shown_remote_id(c) << "] port " << c.right.ike_port
        << (c.right.dns_name.empty() ? std::string()
                                     : " (" + c.right.dns_name + " resolved now; swanless resolves it again every 60 s)")
        << "\n";
    out << "  auth:   " << to_string(c.auth);
    if (c.auth == AuthMethod::pubkey)
      out << " (leftauth=" << c.sign.to_string() << ", rightauth=" << c.require.to_string() << ")";
    if (!c.right.pubkey.empty()) out << ", rightpubkey " << c.right.pubkey;
    if (!c.right.rsasigkey.empty()) out << ", rightrsasigkey " << c.right.rsasigkey.size() << " bytes";
    out << "\n";
    if (c.auth == AuthMethod::pubkey && config::uses_certs(c)) {
      out << "  x509:  ";
      if (!c.left.cert.empty()) out << " leftcert " << c.left.cert << ",";
      if (!c.right.cert.empty()) out << " rightcert " << c.right.cert << ",";
      if (!c.right.ca_file.empty()) {
        out << " CA " << c.right.ca_file;
      } else {
        if (!c.right.ca.empty()) out << " rightca \"" << c.right.ca << "\",";
        std::string dir = config::effective_cadir(cfg);
        out << " CAs from " << (dir.empty() ? std::string("(none)") : dir);
      }
      std::string crls = config::effective_crldir(cfg);
      out << ", CRLs from " << (crls.empty() ? std::string("(none)") : crls)
          << (cfg.setup.strict_crl ? " (strict)" : "") << "\n";
    }
    out << "  mode:   " << to_string(c.mode) << (c.force_encaps ? ", forceencaps" : "") << "\n";
    // What the daemon will put on swanless0 for this conn (the same plan it applies).
    if (const auto plan = config::ipsec_tun_plan(cfg, {c.name}); !plan.empty() || !plan.unrouted.empty()) {
      out << "  swanless0: address";
      if (plan.addrs.empty()) out << " none (leftsubnet names no host address)";
      for (const auto& a : plan.addrs) out << " " << a.to_string();
      out << "; route";
      if (plan.routes.empty()) out << " none";
      for (const auto& r : plan.routes)
        out << " " << r.dst.to_string() << (r.src ? " src " + r.src->to_string() : "");
      for (const auto& u : plan.unrouted) out << "; no route for " << u;
      out << "\n";
    }
    if (!c.vti.empty()) {
      const auto plan = config::vti_plan(c);
      out << "  " << plan.dev << ": route-based (vti=), address";
      if (plan.addrs.empty()) out << " none (no leftvti=)";
      for (const auto& a : plan.addrs) out << " " << a.to_string();
      out << "; route";
      if (plan.routes.empty()) out << " none (what you or a routing daemon route into " << plan.dev << " is tunnelled)";
      for (const auto& r : plan.routes)
        out << " " << r.dst.to_string() << (r.src ? " src " + r.src->to_string() : "");
      for (const auto& u : plan.unrouted) out << "; no route for " << u;
      out << "\n";
    }
    out << "  local_ts:  " << ts_list(c.left) << "\n";
    out << "  remote_ts: " << ts_list(c.right) << "\n";
    out << "  ike: " << proposals_text(c.ike) << "\n";
    out << "  esp: " << proposals_text(c.esp) << "\n";
    out << "  ikelifetime " << format_duration(c.ike_lifetime) << ", lifetime "
        << format_duration(c.lifetime) << ", rekeymargin " << format_duration(c.rekey_margin)
        << ", rekeyfuzz " << c.rekey_fuzz_percent << "%, rekey " << (c.rekey ? "yes" : "no")
        << ", reauth " << (c.reauth ? "yes" : "no") << ", fragmentation "
        << (c.fragmentation ? "yes" : "no") << "\n";
    if (c.life_bytes || c.life_packets)
      out << "  volume: lifebytes " << c.life_bytes << ", marginbytes " << c.margin_bytes
          << ", lifepackets " << c.life_packets << ", marginpackets " << c.margin_packets << "\n";
    out << "  dpd: delay " << format_duration(c.dpd_delay) << ", timeout "
        << format_duration(c.dpd_timeout) << ", action " << to_string(c.dpd_action)
        << "; closeaction " << to_string(c.close_action) << "; keyingtries "
        << (c.keying_tries ? std::to_string(c.keying_tries) : std::string("%forever")) << "; replay_window "
        << c.replay_window << "\n";
    if (c.auto_action == config::AutoAction::route || c.dpd_action == config::DpdAction::hold || c.close_action == config::CloseAction::hold)
      out << "  trap: "
          << (c.auto_action == config::AutoAction::route ? "from start" : "once the CHILD_SA has been up (hold)")
          << ": a packet for its selectors with no SA initiates it and waits (at most 64 packets, 15 s)\n";

    // Where its secret comes from; a missing or unusable one is build_peers' error below.
    if (sec.ok()) {
      const Secrets& s = *sec.secrets;
      if (c.auth == AuthMethod::psk) {
        if (auto* e = s.find_psk(c.left.effective_id(), c.right.effective_id()))
          out << "  psk: " << e->file << ":" << e->line << "\n";
      } else if (auto* e = s.find_private_key(c.left.effective_id())) {
        out << "  private key: " << e->key_path << " (" << e->file << ":" << e->line << ")\n";
      }
    }
  }
  // The daemon's own start-up step: every PSK and private key found and loaded, the peers'
  // public keys read, and leftrsasigkey/leftpubkey the public half of our private key.
  if (sec.ok()) {
    for (const auto& e : config::build_peers(cfg, *sec.secrets).errors) {
      err << "error: " << e << "\n";
      ++errors;
    }
  }
  for (const auto& n : cfg.ignored_conns) out << "conn " << n << " (auto=ignore: template only)\n";
  for (const auto& g : cfg.gres) {
    out << "gre " << g.name << " (conn " << g.conn << ")\n";
    out << "  local " << g.local.to_string() << " remote " << g.remote.to_string();
    if (g.key) out << " key " << *g.key;
    out << " ttl " << g.ttl << "\n";
    out << "  address " << g.address.to_string() << " peer " << g.peer.to_string() << " mtu "
        << g.mtu << (g.tun ? " (TUN device " + g.name + ")" : " (no TUN device)") << "\n";
    out << "  keepalive ";
    switch (g.keepalive) {
      case GreConfig::Keepalive::reply: out << "reply-only"; break;
      case GreConfig::Keepalive::off: out << "off"; break;
      case GreConfig::Keepalive::send:
        if (g.keepalive_interval.count() % 1000 == 0)
          out << "every " << format_duration(std::chrono::duration_cast<std::chrono::seconds>(g.keepalive_interval));
        else
          out << "every " << g.keepalive_interval.count() << "ms";
        out << ", down after "
            << g.keepalive_retries << " misses";
        break;
    }
    out << "\n";
    if (!g.routes.empty()) {
      out << "  routes";
      for (const auto& r : g.routes) out << " " << r.to_string();
      out << "\n";
    }
  }
  for (const auto& p : cfg.pims) {
    out << "pim " << p.name << " (on gre " << p.interface << ")\n";
    out << "  neighbor " << p.neighbor.to_string() << " rp " << p.rp.to_string() << "\n";
    out << "  groups";
    for (const auto& g : p.groups) out << " " << g.to_string();
    if (p.igmp) out << " auto";
    out << "\n";
    if (p.igmp) {
      // What members on the device may join, and the querier's timers.
      auto list = [&out](const char* what, const std::vector<common::Prefix>& v) {
        out << " " << what;
        if (v.empty()) out << " any";
        for (const auto& x : v) out << " " << x.to_string();
      };
      out << "  members (IGMP querier on " << p.interface << "):";
      list("allow", p.allow);
      if (!p.deny.empty()) list("deny", p.deny);
      list("ssm", p.ssm);
      out << "\n  query " << format_duration(p.query_interval) << " last member query "
          << p.last_member_query_interval.count() << "ms robustness " << p.robustness << " max groups " << p.max_groups
          << "\n";
    }
    if (!p.sources.empty()) {
      out << "  sources";
      for (const auto& sg : p.sources)
        out << " (" << sg.source.to_string() << "," << sg.group.to_string() << ")";
      out << "\n";
    }
    out << "  hello " << format_duration(p.hello) << " join " << format_duration(p.join)
        << " holdtime " << format_duration(p.holdtime) << "\n";
    out << "  deliver";
    if (p.deliver_tun) out << " tun";
    for (const auto& u : p.deliver_udp) out << " udp:" << u.to_string();
    out << "\n";
  }
  const auto caps = config::capabilities_needed(cfg);
  out << "capabilities:";
  if (caps.empty()) out << " none (runs as any user)";
  out << "\n";
  for (const auto& need : caps)
    for (const auto& why : need.reasons)
      out << "  " << need.name << (need.optional ? " (optional)" : "") << ": " << why << "\n";
  if (errors) {
    err << path << ": " << errors << " error(s)\n";
    return 1;
  }
  out << "configuration OK\n";
  return 0;
}

}  // namespace apps
