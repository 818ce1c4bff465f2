// The resolved config as the IKE engine's PeerConfigs, and their fingerprints for reloads.
// See peers.h.
#include "config/peers.h"

#include <memory>

#include "common/ecdsa.h"
#include "common/rsa.h"
#include "common/x509.h"
#include "config/x509_load.h"

namespace config {

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

// authby=pubkey/rsasig: our private key (the secrets file's RSA or ECDSA entry for our
// identity) and the peer's public key (rightpubkey= PEM file, RSA or ECDSA, else
// rightrsasigkey=0s...) unless certificates give it. A configured leftpubkey=/leftrsasigkey=
// and leftcert= must hold the public half of that private key. false (errors added, naming
// the file) when a key is missing, unreadable or does not fit.
bool load_sig_keys(const ConnConfig& c, const std::string& lid, const Secrets& secrets, ike::PeerConfig& p,
                   std::vector<std::string>& errors) {
  using common::crypto::EcPrivateKey;
  using common::crypto::EcPublicKey;
  using common::crypto::RsaPrivateKey;
  using common::crypto::RsaPublicKey;
  bool ok = true;
  auto fail = [&](std::string msg) {
    errors.push_back(p.name + ": " + std::move(msg));
    ok = false;
  };
  const SecretEntry* s = secrets.find_private_key(lid);
  if (!s) {
    fail("no private key (': RSA FILE' or ': ECDSA FILE') in " + secrets.path + " for '" + lid + "'");
  } else {
    const bool ec = s->type == SecretEntry::Type::ecdsa;
    const char* detail = nullptr;
    if (ec) {
      auto k = EcPrivateKey::load_pem_file(s->key_path, s->passphrase);
      if (k) p.ec_private_key = std::make_shared<const EcPrivateKey>(std::move(*k));
      else detail = k.error().detail;
    } else {
      auto k = RsaPrivateKey::load_pem_file(s->key_path, s->passphrase);
      if (k) p.private_key = std::make_shared<const RsaPrivateKey>(std::move(*k));
      else detail = k.error().detail;
    }
    if (detail)
      fail(std::string("cannot load ") + (ec ? "ECDSA" : "RSA") + " private key " + s->key_path + " (" + s->file +
           ":" + std::to_string(s->line) + "): " + detail);
  }

  // One side's configured public key: RSA (PEM or 0s) or ECDSA (PEM).
  struct Pub {
    std::shared_ptr<const RsaPublicKey> rsa;
    std::shared_ptr<const EcPublicKey> ec;
  };
  auto side_key = [&](const HostConfig& h, const std::string& side) -> Pub {
    if (!h.pubkey.empty()) {
      auto k = RsaPublicKey::load_pem_file(h.pubkey);
      if (k) return {std::make_shared<const RsaPublicKey>(std::move(*k)), nullptr};
      auto e = EcPublicKey::load_pem_file(h.pubkey);
      if (e) return {nullptr, std::make_shared<const EcPublicKey>(std::move(*e))};
      // Both readers say the same when the file cannot be opened: say it once.
      const std::string rsa_why = k.error().detail, ec_why = e.error().detail;
      fail("cannot load " + side + "pubkey " + h.pubkey + ": " +
           (rsa_why == ec_why ? rsa_why : "not an RSA key (" + rsa_why + ") nor an ECDSA one (" + ec_why + ")"));
      return {};
    }
    if (!h.rsasigkey.empty()) {
      auto k = RsaPublicKey::from_rfc3110(h.rsasigkey);
      if (k) return {std::make_shared<const RsaPublicKey>(std::move(*k)), nullptr};
      fail(side + "rsasigkey is not a valid RSA public key: " + k.error().detail);
    }
    return {};
  };
  Pub peer = side_key(c.right, "right");
  p.peer_key = peer.rsa;
  p.ec_peer_key = peer.ec;
  if (ok && !p.peer_key && !p.ec_peer_key && !p.trust && !p.peer_cert)
    fail("authby=pubkey needs rightpubkey= (PEM file), rightrsasigkey= (0s...) or certificates");
  // The SubjectPublicKeyInfo of our private key, to compare what left= configures with it.
  common::Bytes ours = p.private_key      ? p.private_key->public_key().spki_der()
                       : p.ec_private_key ? p.ec_private_key->public_key().spki_der()
                                          : common::Bytes{};
  if (p.local_cert && !ours.empty() && p.local_cert->spki_der() != ours)
    fail("leftcert ('" + p.local_cert->subject_text() + "') does not hold the public half of the private key " +
         s->key_path);
  Pub mine = side_key(c.left, "left");
  common::Bytes configured = mine.rsa ? mine.rsa->spki_der() : mine.ec ? mine.ec->spki_der() : common::Bytes{};
  if (!configured.empty() && !ours.empty() && configured != ours)
    fail("left" + (c.left.pubkey.empty() ? std::string("rsasigkey") : "pubkey " + c.left.pubkey) +
         " is not the public half of the private key " + s->key_path);
  return ok;
}

// Identities with certificates: leftid unset or %fromcert is leftcert's subject DN (not the
// address), as strongSwan does; rightid=%fromcert is rightcert's subject. rightid unset
// (or %fromcert without rightcert) accepts whatever identity the peer's verified
// certificate holds, and no IDr is sent: the certificate binds the peer's identity.
void apply_cert_ids(const ConnConfig& c, const ike::PeerConfig& p, std::string& lid, std::string& rid) {
  if (p.local_cert && (c.left.id.empty() || c.left.id == "%fromcert")) lid = p.local_cert->subject_text();
  if (!uses_certs(c)) return;
  if (c.right.id == "%fromcert" || c.right.id.empty()) rid = p.peer_cert ? p.peer_cert->subject_text() : std::string();
}

}  // namespace

TunPlan ipsec_tun_plan(const Config& cfg, const std::vector<std::string>& conns) {
  TunPlan plan;
  for (const auto& name : conns) {
    const ConnConfig* c = cfg.find_conn(name);
    if (!c || c->mode != Mode::tunnel || !c->vti.empty()) continue;  // route-based: vti_plan
    if (std::any_of(cfg.gres.begin(), cfg.gres.end(), [&](const GreConfig& g) { return g.conn == name; }))
      continue;  // its traffic is GRE built in-process
    std::optional<common::IpAddr> src;
    for (const auto& w : c->left.prefixes) {
      if (w.len < 32 && w.addr == w.first()) continue;  // a network, not a host of it
      if (!src) src = w.addr;
      const common::Prefix host{w.addr, 32};
      if (std::find(plan.addrs.begin(), plan.addrs.end(), host) == plan.addrs.end()) plan.addrs.push_back(host);
    }
    for (const auto& ts : selectors(c->right)) {
      // A route that holds the peer's own address would pull swanless's IKE and ESP
      // packets to the peer back into the device (a loop): host-to-host traffic is what
      // transport mode is for.
      if (c->right.kind == HostConfig::Kind::address && !(c->right.addr < ts.start) && !(ts.end < c->right.addr)) {
        plan.unrouted.push_back(name + ": " + ts.to_string() + " (it holds the peer's address " +
                                c->right.addr.to_string() +
                                ": swanless's own IKE and ESP would loop into the tunnel; for the hosts' own "
                                "traffic use type=transport)");
        continue;
      }
      bool routed = false;
      for (std::uint8_t len = 0; len <= 32 && !routed; ++len) {
        const common::Prefix pf{ts.start, len};
        if (pf.first() == ts.start && pf.last() == ts.end) {
          plan.routes.push_back({pf, src});
          routed = true;
        }
      }
      if (!routed) plan.unrouted.push_back(name + ": " + ts.to_string() + " (a range, not a prefix)");
    }
  }
  return plan;
}

TunPlan vti_plan(const ConnConfig& c) {
  TunPlan plan;
  plan.dev = c.vti;
  if (c.left.vti) plan.addrs.push_back(*c.left.vti);
  if (!c.vti_routing) return plan;
  for (const auto& ts : selectors(c.right)) {
    std::optional<common::Prefix> pf;
    for (std::uint8_t len = 0; len <= 32 && !pf; ++len)
      if (common::Prefix p{ts.start, len}; p.first() == ts.start && p.last() == ts.end) pf = p;
    if (!pf) plan.unrouted.push_back(c.name + ": " + ts.to_string() + " (a range, not a prefix)");
    else if (pf->len == 0)
      plan.unrouted.push_back(c.name + ": 0.0.0.0/0 (vti-routing would make the device the default route, "
                              "IKE and ESP to the peer included; add the routes you mean by hand)");
    else plan.routes.push_back({*pf, c.left.vti ? std::optional<common::IpAddr>(c.left.vti->addr) : std::nullopt});
  }
  return plan;
}

namespace {
void add_field(std::string& f, const std::string& x) {
  f += x;
  f += '\x1f';
}
}  // namespace

std::string ike_fingerprint(const ike::PeerConfig& p) {
  std::string f;
  auto add = [&](const std::string& x) { add_field(f, x); };
  add(p.name);
  add(p.local_addr.to_string() + ":" + std::to_string(p.local_port));
  add((p.remote_addr ? p.remote_addr->to_string() : "%any") + ":" + std::to_string(p.remote_port));
  add(p.local_id.to_string());
  add(p.remote_id ? p.remote_id->to_string() : "%any");
  add(common::to_hex(p.psk));
  // authby=pubkey: a changed key pair (either end) restarts the IKE_SA on reload.
  add(p.auth == ike::PeerConfig::Auth::pubkey ? "pubkey" : "psk");
  std::string schemes = std::to_string(p.sign_pss) + "/" + std::to_string(p.require_pss);
  for (const auto* hs : {&p.sign_hashes, &p.accept_hashes}) {
    schemes += "/";
    for (auto h : *hs) schemes += std::string(common::crypto::to_string(h)) + ",";
  }
  add(schemes);
  add(p.private_key ? p.private_key->public_key().to_libreswan() : "");
  add(p.peer_key ? p.peer_key->to_libreswan() : "");
  add(p.ec_private_key ? p.ec_private_key->public_key().to_pem() : "");
  add(p.ec_peer_key ? p.ec_peer_key->to_pem() : "");
  // Certificates and trust: a new certificate, CA or CRL restarts the IKE_SA on reload.
  add(p.local_cert ? common::to_hex(p.local_cert->der()) : "");
  for (const auto& c : p.local_chain) add(common::to_hex(c->der()));
  add(p.peer_cert ? common::to_hex(p.peer_cert->der()) : "");
  add(std::to_string(static_cast<int>(p.send_cert)) + "/" + common::to_hex(p.peer_ca_dn));
  add(p.trust ? common::to_hex(p.trust->digest()) + "/" + std::to_string(p.trust->strict_crl()) : "");
  for (const auto& pr : p.ike_proposals) add(ike::to_string(pr));
  add(std::to_string(p.force_encaps) + "/" + std::to_string(p.fragmentation) + "/" + std::to_string(p.reauth) + "/" + std::to_string(p.ike_lifetime.count()) + "/" +
      std::to_string(p.rekey_margin.count()) + "/" + std::to_string(p.dpd_delay.count()) + "/" +
      std::to_string(p.dpd_timeout.count()) + "/" + std::to_string(static_cast<int>(p.dpd_action)) + "/" +
      std::to_string(p.rekey_fuzz_percent) + "/" + std::to_string(p.keying_tries));
  return f;
}

std::string fingerprint(const ike::PeerConfig& p) {
  std::string f = ike_fingerprint(p);
  auto add = [&](const std::string& x) { add_field(f, x); };
  for (const auto& c : p.children) {
    add("child " + c.name);
    for (const auto& t : c.local_ts) add(t.to_string());
    add("===");
    for (const auto& t : c.remote_ts) add(t.to_string());
    for (const auto& pr : c.esp_proposals) add(ike::to_string(pr));
    add(std::to_string(c.transport) + "/" + std::to_string(c.lifetime.count()) + "/" +
        std::to_string(c.rekey_margin.count()) + "/" + std::to_string(c.replay_window) + "/" +
        std::to_string(c.start) + "/" + std::to_string(c.rekey_fuzz_percent) + "/" +
        std::to_string(c.life_bytes) + "/" + std::to_string(c.margin_bytes) + "/" +
        std::to_string(c.life_packets) + "/" + std::to_string(c.margin_packets) + "/" +
        std::to_string(static_cast<int>(c.trap)) + "/" + std::to_string(static_cast<int>(c.close_action)));
  }
  return f;
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
      ch.life_bytes = c->life_bytes;
      ch.life_packets = c->life_packets;
      ch.margin_bytes = c->margin_bytes;
      ch.margin_packets = c->margin_packets;
      ch.start = c->auto_action == AutoAction::start;
      ch.close_action = to_ike(c->close_action);
      if (c->auto_action == AutoAction::route) ch.trap = ike::ChildConfig::Trap::always;
      else if (c->dpd_action == DpdAction::hold || c->close_action == CloseAction::hold)
        ch.trap = ike::ChildConfig::Trap::after_loss;
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
    if (c.auth == AuthMethod::pubkey && !load_x509(cfg, c, p, r.errors)) continue;
    apply_cert_ids(c, p, lid, rid);
    p.local_id = ike::Identity::from_string(lid.empty() ? p.local_addr.to_string() : lid);
    if (!rid.empty() && rid != "%any" && rid != "%fromcert") p.remote_id = ike::Identity::from_string(rid);
    if (p.local_cert && p.local_id.type == ike::Identity::Type::der_asn1_dn &&
        common::x509::dn_equal(p.local_id.data, p.local_cert->subject_der()))
      p.local_id.data = p.local_cert->subject_der();  // the certificate's own encoding of its DN
    p.ike_proposals = c.ike.proposals;
    p.force_encaps = c.force_encaps;
    p.fragmentation = c.fragmentation;
    p.reauth = c.reauth;
    p.ike_lifetime = c.ike_lifetime;
    p.rekey_margin = c.rekey_margin;
    p.dpd_delay = c.dpd_delay;
    p.dpd_timeout = c.dpd_timeout;
    p.dpd_action = to_ike(c.dpd_action);
    p.keying_tries = c.keying_tries;
    p.rekey_fuzz_percent = c.rekey_fuzz_percent;
    if (c.auth == AuthMethod::psk) {
      const SecretEntry* s = secrets.find_psk(lid, rid);
      if (!s) {
        r.errors.push_back(p.name + ": no PSK in " + secrets.path + " for '" + lid + "' <-> '" + rid + "'");
        continue;
      }
      p.psk = s->psk;
    } else {
      p.auth = ike::PeerConfig::Auth::pubkey;
      p.sign_pss = c.sign.pss;
      p.sign_hashes = c.sign.hashes;
      p.require_pss = c.require.pss;
      p.accept_hashes = c.require.hashes;
      if (!load_sig_keys(c, lid, secrets, p, r.errors)) continue;
    }
    r.peers.push_back(std::move(p));
  }
  return r;
}

}  // namespace config
