// Stage 2 for conn sections: a conn's inherited keys typed into a ConnConfig (its two
// hosts, auth, proposals, lifetimes, DPD, volume limits) with the checks that need several
// keys, then the conns grouped into IKE_SAs. See stages.h.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <sstream>

#include "common/x509.h"
#include "config/secrets.h"
#include "config/stages.h"
#include "config/text.h"
#include "config/values.h"

namespace config {
namespace {

using common::Prefix;
using common::TrafficSelector;

constexpr std::uint32_t kMaxReplayWindow = 1u << 20;
constexpr unsigned long long kMaxVolume = 1ULL << 62;

// A DNS name (RFC 1123 letters, digits, '-', dots between labels), not an address typo.
bool looks_like_host_name(std::string_view v) {
  if (v.empty() || v.size() > 253 || v.front() == '.' || v.back() == '.' || v.front() == '%') return false;
  bool letter = false;
  for (char ch : v) {
    if (std::isalpha(static_cast<unsigned char>(ch))) letter = true;
    else if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.') return false;
  }
  return letter && v.find("..") == std::string_view::npos;
}

void type_host(Typer& ty, const KeyMap& m, std::string_view side, HostConfig& h, bool& ok) {
  auto get = [&](std::string_view suffix) -> const RawKey* {
    auto it = m.find(std::string(side) + std::string(suffix));
    return it == m.end() ? nullptr : &it->second;
  };
  if (auto k = get("")) {
    if (k->value == "%any" || k->value == "%any4") {
      h.kind = HostConfig::Kind::any;
    } else if (k->value == "%defaultroute") {
      h.kind = HostConfig::Kind::defaultroute;
    } else if (auto a = parse_ip(k->value)) {
      h.kind = HostConfig::Kind::address;
      h.addr = *a;
      if (!a->is_v4()) {
        ty.err(*k, "only IPv4 endpoints are supported");
        ok = false;
      }
    } else if (side == "right" && looks_like_host_name(k->value)) {
      // strongSwan resolves a peer's name at start (and the daemon again while it runs).
      std::string why = "host names are not resolved here";
      std::optional<common::IpAddr> a;
      if (ty.resolver()) a = ty.resolver()(k->value, why);
      if (!a) {
        ty.err(*k, "cannot resolve '" + k->value + "': " + why);
        ok = false;
      } else {
        h.kind = HostConfig::Kind::address;
        h.addr = *a;
        h.dns_name = k->value;
      }
    } else {
      ty.err(*k, "expected an IP address, %any or %defaultroute" +
                     std::string(side == "right" ? " or the peer's host name" : " (this host's side)") + ", not '" +
                     k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("id")) h.id = k->value;
  ProtoPort pp;
  if (auto k = get("protoport")) {
    if (auto v = parse_protoport(k->value)) {
      pp = *v;
    } else {
      ty.err(*k, "malformed protoport '" + k->value + "' (e.g. gre, 47, tcp/80, udp/%any)");
      ok = false;
    }
  }
  h.protocol = pp.proto;
  h.port_lo = pp.lo;
  h.port_hi = pp.hi;
  // leftsourceip=ADDR: the inner source address (strongSwan's "virtual IP") as an address
  // of our own. Asking the peer for one (%config) or handing them out (rightsourceip=POOL)
  // is IKEv2's configuration payload, which swanless does not have.
  std::optional<common::IpAddr> sourceip;
  if (auto k = get("sourceip")) {
    const std::string& v = k->value;
    if (side == "right") {
      ty.err(*k, "rightsourceip hands the peer a virtual IP (an address pool, IKEv2 configuration payload): not "
                 "implemented; the peer's inner address goes in rightsubnet");
      ok = false;
    } else if (v.rfind("%config", 0) == 0 || v == "%cfg" || v == "%modeconfig" || v == "%modecfg") {
      ty.err(*k, "a virtual IP from the peer (IKEv2 configuration payload, RFC 7296 §3.15) is not implemented; write "
                 "the inner address the peer expects as leftsourceip=ADDR or in leftsubnet");
      ok = false;
    } else if (auto a = parse_ip(v); a && a->is_v4()) {
      sourceip = *a;
      ty.warn(*k, "swanless puts " + v + " on its TUN device as this conn's inner source address and does not ask "
                  "the peer for it (no configuration payload): the peer's selectors must expect it");
    } else {
      ty.err(*k, "expected an IPv4 address or %config, not '" + v + "'");
      ok = false;
    }
  }
  if (auto k = get("subnet")) {
    for (auto item : split_list(k->value)) {
      std::optional<Prefix> written;
      auto ts = parse_subnet_item(item, pp, &written);
      if (!ts) {
        ty.err(*k, "malformed subnet '" + std::string(item) +
                       "' (CIDR, address or range, optional [proto/port])");
        ok = false;
        continue;
      }
      if (!ts->start.is_v4()) {
        // Not yet: the TUN device, the selectors' routes and ESP's inner checks are IPv4.
        ty.err(*k, "IPv6 selector '" + std::string(item) +
                       "': swanless tunnels IPv4 only for now; remove it or write an IPv4 subnet");
        ok = false;
        continue;
      }
      h.subnets.push_back(*ts);
      if (written) h.prefixes.push_back(*written);
    }
  } else if (sourceip) {
    h.subnets.push_back(TrafficSelector::from_prefix(Prefix{*sourceip, 32}, pp.proto, pp.lo, pp.hi));
  } else if (h.kind == HostConfig::Kind::address) {
    h.subnets.push_back(TrafficSelector::from_prefix(
        Prefix{h.addr, static_cast<std::uint8_t>(h.addr.is_v4() ? 32 : 128)}, pp.proto, pp.lo,
        pp.hi));
  } else {
    h.dynamic = true;
  }
  if (sourceip) {
    // First: the device's address and the routes' source.
    if (!h.subnets.empty() && std::none_of(h.subnets.begin(), h.subnets.end(), [&](const TrafficSelector& ts) {
          return ts.contains_addr(*sourceip);
        })) {
      ty.err(m.at(std::string(side) + "sourceip"), "leftsourceip " + sourceip->to_string() + " is not in leftsubnet");
      ok = false;
    }
    h.prefixes.insert(h.prefixes.begin(), Prefix{*sourceip, 32});
  }
  if (auto k = get("ikeport")) {
    if (auto v = ty.uint(*k, 1, 65535))
      h.ike_port = static_cast<std::uint16_t>(*v);
    else
      ok = false;
  }
  auto is_key_file = [](const std::string& v) {  // not a 0s/0x raw key (base64 has '/' too)
    return !v.starts_with("0s") && !v.starts_with("0x") &&
           (v.find('/') != std::string::npos || v.ends_with(".pem") || v.ends_with(".der"));
  };
  if (auto k = get("rsasigkey"); k && is_key_file(k->value)) {
    // strongSwan also takes a key file here; swanless's spelling for that is leftpubkey=.
    if (get("pubkey")) {
      ty.err(*k, "a key file here and in " + std::string(side) + "pubkey=: keep one");
      ok = false;
    } else {
      h.pubkey = ty.path(*k);
      ty.warn(*k, "a key file, read as " + std::string(side) + "pubkey=" + k->value + " (" + std::string(side) +
                      "rsasigkey= takes 0s... raw keys; write " + std::string(side) + "pubkey= for files)");
    }
  } else if (k) {
    auto b = decode_prefixed_binary(k->value);
    if (!b || b->size() < 4) {
      ty.err(*k, "expected a raw RSA key as 0s<base64> or 0x<hex> (see 'swanless showkey')");
      ok = false;
    } else {
      h.rsasigkey = std::move(*b);
    }
  }
  if (auto k = get("pubkey")) h.pubkey = ty.path(*k);
  if (auto k = get("vti")) {
    if (auto p = common::Prefix::parse(k->value); p && p->addr.is_v4()) h.vti = *p;
    else {
      ty.err(*k, "expected the device address as IPv4 ADDR/PREFIX (e.g. 169.254.10.2/30), not '" + k->value + "'");
      ok = false;
    }
  }
  // Certificates: the config's folder first, then strongSwan's ipsec.d layout beside it.
  auto cert_path = [&](const RawKey& k, const char* sub) {
    std::string p = ty.path(k);
    std::error_code ec;
    if (std::filesystem::exists(p, ec) || k.value.starts_with('/')) return p;
    std::string alt = resolve_path(ty.dir(), std::string("ipsec.d/") + sub + "/" + k.value);
    return std::filesystem::exists(alt, ec) ? alt : p;
  };
  if (auto k = get("cert")) h.cert = cert_path(*k, "certs");
  if (auto k = get("ca"); k && k->value != "%same" && k->value != "%any") {
    h.ca = k->value;
    std::string p = cert_path(*k, "cacerts");
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) {
      h.ca_file = p;
    } else if (!common::x509::looks_like_dn(k->value)) {
      ty.err(*k, "expected a CA certificate file or the CA's distinguished name (\"C=CH, O=Example, CN=Root CA\"), "
                 "not '" + k->value + "'");
      ok = false;
    }
  }
}

// Route-based conns. vti=NAME (libreswan: vti-interface=NAME, vti-routing, leftvti) gives
// the conn its own device, selectors 0.0.0.0/0 unless written. Without it, the kernel's
// mark or XFRM interface would decide what enters the tunnel (strongSwan's mark=,
// if_id_*=, AWS's updown script making a VTI): with 0.0.0.0/0 selectors, run as a policy
// tunnel such a conn would pull every packet of the host into the SA, so it is refused,
// naming the vti= lines that would do it.
void type_route_based(Typer& ty, const KeyMap& m, ConnConfig& c, bool& ok) {
  auto get = [&](const char* key) -> const RawKey* {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  };
  if (const RawKey* up = get("leftupdown"))
    ty.warn(*up, "swanless runs no updown script: it puts the addresses and routes on its own TUN devices "
                 "(swanless check shows them)");
  const RawKey* vti = get("vti");
  if (const RawKey* lib = get("vti-interface")) {
    if (vti) {
      ty.err(*lib, "vti= and vti-interface= name the same device: keep one");
      ok = false;
    }
    vti = lib;
  }
  if (vti) {
    const std::string& name = vti->value;
    const bool valid = !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
                       std::all_of(name.begin(), name.end(), [](char ch) {
                         return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
                       });
    if (!valid) {
      ty.err(*vti, "'" + name + "' is not a device name (1 to 15 letters, digits, '-', '_', '.')");
      ok = false;
    }
    if (name == "swanless0") {
      ty.err(*vti, "swanless0 is the device of the policy-based conns; name the route-based one otherwise");
      ok = false;
    }
    c.vti = name;
    // libreswan's default is vti-routing=yes; swanless's own vti= installs no routes.
    c.vti_routing = vti->key == "vti-interface";
    if (const RawKey* r = get("vti-routing")) {
      if (auto b = ty.yes_no(*r)) c.vti_routing = *b;
      else ok = false;
    }
    if (const RawKey* s = get("vti-shared"); s && s->value == "yes") {
      ty.err(*s, "swanless gives each route-based conn a device of its own: give this conn another vti= name");
      ok = false;
    }
    if (c.mode != Mode::tunnel) {
      ty.err(*vti, "a route-based conn is tunnel mode (type=tunnel)");
      ok = false;
    }
    const common::TrafficSelector any = common::TrafficSelector::from_prefix({common::IpAddr::v4(0u), 0});
    for (auto* side : {&c.left, &c.right}) {
      const bool written = m.count(side == &c.left ? "leftsubnet" : "rightsubnet") != 0;
      if (written) continue;
      side->subnets = {any};
      side->prefixes.clear();
      side->dynamic = false;
    }
    for (const char* key : {"mark", "mark_in", "mark_out", "if_id_in", "if_id_out"})
      if (const RawKey* k = get(key))
        ty.warn(*k, "the device vti=" + name + " decides what enters this conn's SA, not a kernel mark or interface ID");
    return;
  }
  if (c.left.vti || c.right.vti) {
    ty.err(m.at(c.left.vti ? "leftvti" : "rightvti"), "an address for a route-based device: give the device with vti=NAME");
    ok = false;
  }
  for (const char* key : {"vti-routing", "vti-shared", "mark", "mark_in", "mark_out", "if_id_in", "if_id_out"}) {
    const RawKey* k = get(key);
    if (!k) continue;
    auto everything = [](const HostConfig& h) {
      return std::any_of(h.subnets.begin(), h.subnets.end(), [](const common::TrafficSelector& ts) {
        return ts.start == common::IpAddr::v4(0u) && ts.end == common::IpAddr::v4(0xffffffffu);
      });
    };
    const bool lib = std::string_view(key).rfind("vti", 0) == 0;
    if (lib || everything(c.left) || everything(c.right)) {
      // AWS's updown script takes the inside address as -ll ADDR/PFX: name it.
      std::string addr = "ADDR/PREFIX";
      if (const RawKey* up = get("leftupdown")) {
        const auto at = up->value.find("-ll ");
        if (at != std::string::npos) addr = up->value.substr(at + 4, up->value.find(' ', at + 4) - at - 4);
      }
      ty.err(*k, std::string("a route-based (VTI) tunnel: ") +
                     (lib ? "vti-routing/vti-shared go with vti-interface=" : "the kernel's mark or XFRM interface would decide what enters it") +
                     "; swanless will not run it as a policy tunnel" + (lib ? "" : " over 0.0.0.0/0") +
                     ". Add vti=NAME (its own TUN device; routes into it are yours) and leftvti=" + addr +
                     " for the device's address, or write the subnets to tunnel in leftsubnet/rightsubnet and drop " +
                     key);
      ok = false;
    } else {
      ty.warn(*k, "it selects kernel XFRM states and policies; swanless keeps its SAs in the process and tunnels "
                  "what leftsubnet/rightsubnet say");
    }
    break;  // one diagnostic per conn
  }
}

std::optional<ConnConfig> type_conn(Typer& ty, const RawSection& sec, const KeyMap& m, const LocalAddress& is_local,
                                     std::vector<std::string>& notes) {
  auto c = section_model<ConnConfig>(sec);
  bool ok = true;
  // strongSwan's type=passthrough|drop|reject conns (pfSense writes a bypass conn for the
  // LAN) only install kernel policies. swanless has none: what it does not route into its
  // TUN device bypasses it already, so such a conn is kept as a template and nothing else.
  if (auto t = m.find("type"); t != m.end() &&
                                (t->second.value == "passthrough" || t->second.value == "drop" ||
                                 t->second.value == "reject" || t->second.value == "pass")) {
    ty.warn(t->second, "type=" + t->second.value +
                           " only installs a kernel policy, and swanless has none: traffic it does not tunnel "
                           "already bypasses it; conn " + c.name + " is ignored");
    c.auto_action = AutoAction::ignore;
    return c;
  }
  type_host(ty, m, "left", c.left, ok);
  type_host(ty, m, "right", c.right, ok);
  auto get = [&](const char* key) -> const RawKey* {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
  };
  if (auto k = get("keyexchange")) {
    if (k->value == "ikev1") {
      ty.err(*k, "IKEv1 is not supported: swanless speaks IKEv2 only (keyexchange=ikev2)");
      ok = false;
    } else if (k->value != "ikev2" && k->value != "ike") {
      ty.err(*k, "expected ikev2, not '" + k->value + "'");
      ok = false;
    }
  }
  // IKEv1-only settings: refused where they would change what is negotiated.
  if (auto k = get("ikev2")) {
    if (k->value == "no" || k->value == "never") {
      ty.err(*k, "ikev2=" + k->value + " asks for IKEv1, which swanless does not speak (IKEv2 only)");
      ok = false;
    } else if (k->value == "permit" || k->value == "propose") {
      ty.warn(*k, "swanless speaks IKEv2 only, as with ikev2=insist");
    } else if (k->value != "yes" && k->value != "insist") {
      ty.err(*k, "expected yes, insist, permit, propose, no or never, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("aggressive")) {
    if (k->value == "yes") {
      ty.err(*k, "aggressive mode is IKEv1, which swanless does not speak (IKEv2 only)");
      ok = false;
    } else if (k->value != "no") {
      ty.err(*k, "expected yes or no, not '" + k->value + "'");
      ok = false;
    } else {
      ty.warn(*k, "an IKEv1 setting; swanless speaks IKEv2 only");
    }
  }
  if (auto k = get("type")) {
    if (k->value == "tunnel") c.mode = Mode::tunnel;
    else if (k->value == "transport") c.mode = Mode::transport;
    else {
      ty.err(*k, "expected tunnel or transport, not '" + k->value + "'");
      ok = false;
    }
  }
  type_route_based(ty, m, c, ok);
  if (auto k = get("authby")) {
    if (k->value == "secret" || k->value == "psk") c.auth = AuthMethod::psk;
    else if (k->value == "rsasig" || k->value == "pubkey" || k->value == "rsa") c.auth = AuthMethod::pubkey;
    else {
      ty.err(*k, "expected secret, psk, rsasig or pubkey, not '" + k->value + "'");
      ok = false;
    }
  }
  // leftauth/rightauth: swanless authenticates both ends the same way (PSK or signatures).
  std::optional<AuthSpec> side_auth[2];
  const char* side_auth_key[2] = {"leftauth", "rightauth"};
  for (int i = 0; i < 2; ++i) {
    const RawKey* k = get(side_auth_key[i]);
    if (!k) continue;
    std::string why;
    side_auth[i] = parse_auth(k->value, why);
    if (!side_auth[i]) {
      ty.err(*k, why);
      ok = false;
    } else if (const RawKey* by = get("authby"); by && side_auth[i]->method != c.auth) {
      ty.err(*k, k->value + " conflicts with authby=" + by->value);
      ok = false;
    } else if (i == 1 && side_auth[0] && side_auth[0]->method != side_auth[1]->method) {
      ty.err(*k, "leftauth and rightauth must both be psk or both public keys: swanless authenticates "
                 "both ends the same way");
      ok = false;
    } else {
      c.auth = side_auth[i]->method;
      (i == 0 ? c.sign : c.require) = side_auth[i]->scheme;
    }
  }
  if (auto k = get("leftsendcert")) {
    if (k->value == "always" || k->value == "yes") c.send_cert = SendCert::always;
    else if (k->value == "ifasked") c.send_cert = SendCert::ifasked;
    else if (k->value == "never" || k->value == "no") c.send_cert = SendCert::never;
    else {
      ty.err(*k, "expected always, ifasked or never, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("auto")) {
    if (k->value == "ignore") c.auto_action = AutoAction::ignore;
    else if (k->value == "add") c.auto_action = AutoAction::add;
    else if (k->value == "start") c.auto_action = AutoAction::start;
    else if (k->value == "route") c.auto_action = AutoAction::route;
    else {
      ty.err(*k, "expected ignore, add, route or start, not '" + k->value + "'");
      ok = false;
    }
  }
  // dpdaction= and closeaction=: none, clear, hold (the conn is trapped once it has been up,
  // as auto=route: the next packet brings it back) or restart (initiated again at once).
  auto action = [&](const char* key, DpdAction& out) {
    const RawKey* k = get(key);
    if (!k) return;
    if (k->value == "none") out = DpdAction::none;
    else if (k->value == "clear") out = DpdAction::clear;
    else if (k->value == "hold") out = DpdAction::hold;
    else if (k->value == "restart") out = DpdAction::restart;
    else {
      ty.err(*k, "expected none, clear, hold or restart, not '" + k->value + "'");
      ok = false;
    }
  };
  action("dpdaction", c.dpd_action);
  action("closeaction", c.close_action);
  if (auto k = get("keyingtries")) {
    if (k->value == "%forever") c.keying_tries = 0;
    else if (auto n = ty.uint(*k, 0, 1000000)) c.keying_tries = static_cast<unsigned>(*n);
    else ok = false;
  }
  auto proposals = [&](const char* key, ike::Protocol proto, ike::ProposalSet& out) {
    const RawKey* k = get(key);
    if (!k) {
      out.proposals = ike::default_proposals(proto);
      out.configured = 0;
      out.strict = false;
      return;
    }
    std::string bad;
    // libreswan writes the DH group after ';' (ike=aes256-sha2;modp2048); strongSwan's
    // syntax has a '-' there. libreswan offers only what is written (strongSwan's '!'), so a
    // list in its spelling is strict.
    std::string text = k->value;
    if (text.find(';') != std::string::npos && !text.ends_with("!")) text += '!';
    std::replace(text.begin(), text.end(), ';', '-');
    auto r = ike::parse_proposals(text, proto, &bad, true);
    if (!r) {
      ty.err(*k, std::string(r.error().detail) + (bad.empty() ? "" : " ('" + bad + "')"));
      ok = false;
      return;
    }
    out = std::move(r).value();
    if (!out.dropped.empty()) {
      std::string list;
      for (const auto& d : out.dropped) list += (list.empty() ? "" : ", ") + d;
      ty.warn(*k, "not implemented by swanless, left out: " + list + "; offering the rest" +
                      (out.configured == 0 ? " (only the defaults remain)" : ""));
    }
  };
  proposals("ike", ike::Protocol::ike, c.ike);
  proposals("esp", ike::Protocol::esp, c.esp);
  // libreswan's pfs=: swanless does PFS exactly when esp= names a DH group.
  if (auto k = get("pfs")) {
    const bool esp_dh = std::any_of(c.esp.proposals.begin(), c.esp.proposals.begin() + c.esp.configured,
                                    [](const ike::Proposal& p) { return !p.dh.empty(); });
    if (k->value == "no") {
      if (esp_dh) {
        ty.err(*k, "pfs=no, but esp= names a DH group, which is PFS; drop one of the two");
        ok = false;
      }
    } else if (k->value == "yes") {
      if (!esp_dh)
        ty.warn(*k, "swanless does PFS only with a DH group in esp= (e.g. esp=aes256-sha256-modp2048); without one, "
                    "rekeyed CHILD_SAs get no PFS, where libreswan would use the IKE_SA's group");
    } else {
      ty.err(*k, "expected yes or no, not '" + k->value + "'");
      ok = false;
    }
  }
  auto dur = [&](const char* key, Seconds& out) {
    if (auto k = get(key)) {
      if (auto d = ty.duration(*k)) out = *d;
      else ok = false;
    }
  };
  dur("ikelifetime", c.ike_lifetime);
  dur("lifetime", c.lifetime);
  dur("rekeymargin", c.rekey_margin);
  dur("dpddelay", c.dpd_delay);
  dur("dpdtimeout", c.dpd_timeout);
  auto yn = [&](const char* key, bool& out) {
    if (auto k = get(key)) {
      if (auto b = ty.yes_no(*k)) out = *b;
      else ok = false;
    }
  };
  yn("rekey", c.rekey);
  yn("reauth", c.reauth);
  yn("forceencaps", c.force_encaps);
  // libreswan's spelling: encapsulation=yes forces ESP in UDP; auto (its default) and no
  // leave it to NAT detection, which is what swanless does without forceencaps.
  if (auto k = get("encapsulation")) {
    if (get("forceencaps")) {
      ty.err(*k, "both forceencaps= and libreswan's encapsulation= are set; keep one");
      ok = false;
    } else if (k->value == "yes") {
      c.force_encaps = true;
    } else if (k->value != "no" && k->value != "auto") {
      ty.err(*k, "expected yes, no or auto, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("phase2")) {  // libreswan
    if (k->value == "ah") {
      ty.err(*k, "AH is not implemented: swanless protects traffic with ESP only (phase2=esp)");
      ok = false;
    } else if (k->value != "esp") {
      ty.err(*k, "expected esp or ah, not '" + k->value + "'");
      ok = false;
    }
  }
  yn("fragmentation", c.fragmentation);
  // Volume limits (strongSwan: plain numbers; 0 = no limit).
  auto count = [&](const char* key, std::uint64_t& out) {
    if (auto k = get(key)) {
      if (auto v = ty.uint(*k, 0, kMaxVolume)) out = *v;
      else ok = false;
    }
  };
  count("lifebytes", c.life_bytes);
  count("lifepackets", c.life_packets);
  count("marginbytes", c.margin_bytes);
  count("marginpackets", c.margin_packets);
  if (auto k = get("rekeyfuzz")) {
    std::string_view v = k->value;
    if (!v.empty() && v.back() == '%') v.remove_suffix(1);
    if (auto n = parse_uint(v, 100000)) {
      c.rekey_fuzz_percent = static_cast<unsigned>(*n);
    } else {
      ty.err(*k, "expected a percentage such as 100%, not '" + k->value + "'");
      ok = false;
    }
  }
  if (auto k = get("replay_window")) {
    if (auto v = ty.uint(*k, 0, kMaxReplayWindow)) c.replay_window = static_cast<std::uint32_t>(*v);
    else ok = false;
  }
  if (!ok) return std::nullopt;

  // Coherence checks, reported at the key that makes them fail.
  // The first of the keys that is set (where the user can fix it), else the section line.
  auto at = [&](const char* key, const char* alt = nullptr) -> RawKey {
    if (auto k = get(key)) return *k;
    if (alt)
      if (auto k = get(alt)) return *k;
    return RawKey{key, "", sec.file, sec.line};
  };
  if (c.ike_lifetime.count() == 0 || c.rekey_margin >= c.ike_lifetime) {
    ty.err(at("ikelifetime", "rekeymargin"), "ikelifetime must be longer than rekeymargin");
    ok = false;
  }
  if (c.life_bytes && c.margin_bytes >= c.life_bytes) {
    ty.err(at("marginbytes", "lifebytes"), "lifebytes must be larger than marginbytes");
    ok = false;
  }
  if (c.life_packets && c.margin_packets >= c.life_packets) {
    ty.err(at("marginpackets", "lifepackets"), "lifepackets must be larger than marginpackets");
    ok = false;
  }
  if (c.lifetime.count() == 0 || c.rekey_margin >= c.lifetime) {
    ty.err(at("lifetime", "rekeymargin"), "lifetime must be longer than rekeymargin");
    ok = false;
  }
  // As strongSwan's starter: the randomised margin (margin + margin * fuzz) should stay
  // below the lifetime, or rekeying may start right after an SA is set up.
  const long long fuzzed = c.rekey_margin.count() * (100LL + c.rekey_fuzz_percent) / 100;
  if (ok && fuzzed >= c.lifetime.count())
    ty.warn(at("rekeyfuzz", "rekeymargin"),
            "rekeymargin + rekeyfuzz can reach lifetime: a CHILD_SA may rekey right after it is set up");
  if (ok && fuzzed >= c.ike_lifetime.count())
    ty.warn(at("rekeyfuzz", "rekeymargin"),
            "rekeymargin + rekeyfuzz can reach ikelifetime: the IKE_SA may rekey right after it is set up");
  // As strongSwan's starter and libreswan's pluto: when right= is an address of this host
  // and left= is not, the conn is read from the other end, so one file serves both hosts.
  bool swapped = false;
  if (is_local && c.left.kind == HostConfig::Kind::address && c.right.kind == HostConfig::Kind::address &&
      !is_local(c.left.addr) && is_local(c.right.addr)) {
    std::swap(c.left, c.right);
    std::swap(c.sign, c.require);
    swapped = true;
    notes.push_back("conn " + c.name + ": right=" + c.left.addr.to_string() +
                    " is an address of this host, so right is the local side here (left=" + c.right.addr.to_string() +
                    " is the peer)");
  }
  if (c.auto_action != AutoAction::ignore) {
    if (c.right.kind == HostConfig::Kind::defaultroute) {
      ty.err(at("right"), "right=%defaultroute makes no sense: the peer's address or %any");
      ok = false;
    }
    if ((c.auto_action == AutoAction::start || c.auto_action == AutoAction::route) &&
        c.right.kind != HostConfig::Kind::address) {
      ty.err(at("right"), "auto=" + std::string(to_string(c.auto_action)) + " needs right= to be the peer's address");
      ok = false;
    }
    // With a certificate of ours, the peer's may come in CERT, checked against the CAs.
    if (c.auth == AuthMethod::pubkey && c.right.pubkey.empty() && c.right.rsasigkey.empty() &&
        c.left.cert.empty() && c.right.cert.empty() && c.right.ca.empty()) {
      ty.err(at("authby"), "authby=pubkey/rsasig needs rightpubkey= (PEM file), rightrsasigkey= (0s...), or "
                           "certificates (leftcert=, rightca= or rightcert=)");
      ok = false;
    }
    if (c.mode == Mode::transport && (m.count("leftsubnet") || m.count("rightsubnet"))) {
      for (const auto* s : {"leftsubnet", "rightsubnet"}) {
        if (!m.count(s)) continue;
        // Transport mode protects the hosts' own traffic: selectors must be the hosts.
        const HostConfig& h = (s[0] == 'l') != swapped ? c.left : c.right;
        for (const auto& ts : h.subnets) {
          if (h.kind == HostConfig::Kind::address && !(ts.start == h.addr && ts.end == h.addr)) {
            ty.err(m.at(s), "type=transport: the subnet must be the host address itself");
            ok = false;
            break;
          }
        }
      }
    }
  }
  if (!ok) return std::nullopt;
  return c;
}

std::string ike_sa_key(const ConnConfig& c) {
  std::ostringstream k;
  auto host = [&](const HostConfig& h) {
    k << h.address_text() << '|' << h.effective_id() << '|' << h.ike_port << '|' << h.pubkey
      << '|' << common::to_hex(h.rsasigkey) << '|' << h.cert << '|' << h.ca << '|';
  };
  host(c.left);
  host(c.right);
  k << to_string(c.auth) << '|' << c.sign.to_string() << '|' << c.require.to_string() << '|'
    << ike::to_string(c.ike) << '|' << c.ike.strict << '|'
    << c.ike_lifetime.count() << '|' << c.reauth << '|' << c.rekey << '|' << c.dpd_delay.count()
    << '|' << c.dpd_timeout.count() << '|' << static_cast<int>(c.dpd_action) << '|'
    << c.force_encaps << '|' << c.fragmentation << '|' << c.keying_tries << '|' << static_cast<int>(c.send_cert);
  return k.str();
}

}  // namespace

void type_conns(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg,
                const LocalAddress& is_local) {
  Inheritance inheritance(secs, r);
  std::map<std::string, std::vector<std::string>> ancestors;  // conn -> self + also chain
  std::set<std::string> active_names;
  for (std::size_t i = 0; i < secs.size(); ++i) {
    const auto& s = secs[i];
    if (s.type != SectionType::conn) continue;
    KeyMap m;
    std::vector<std::string> anc{s.name};
    if (!inheritance.resolve(i, m, anc)) continue;
    std::vector<std::string> notes;
    auto c = type_conn(ty, s, m, is_local, notes);
    if (!c) continue;
    for (auto& n : notes) cfg.notes.push_back(std::move(n));
    ancestors[s.name] = anc;
    if (c->auto_action == AutoAction::ignore) {
      cfg.ignored_conns.push_back(c->name);
    } else {
      if (!c->vti.empty())
        for (const auto& o : cfg.conns)
          if (o.vti == c->vti) {
            r.error(s.file, s.line, "vti",
                    "device " + c->vti + " is already conn " + o.name + "'s: each route-based conn has its own");
            break;
          }
      active_names.insert(c->name);
      cfg.conns.push_back(std::move(*c));
    }
  }

  // IKE_SA groups, in order of first appearance.
  {
    std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
    for (std::size_t i = 0; i < cfg.conns.size(); ++i) {
      std::string key = ike_sa_key(cfg.conns[i]);
      auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
      if (it == groups.end()) groups.push_back({key, {i}});
      else it->second.push_back(i);
    }
    std::set<std::string> used;
    for (auto& [key, members] : groups) {
      std::string name = cfg.conns[members.front()].name;
      if (members.size() > 1) {
        for (const auto& cand : ancestors[name]) {
          bool all = std::all_of(members.begin(), members.end(), [&](std::size_t mi) {
            const auto& a = ancestors[cfg.conns[mi].name];
            return std::find(a.begin(), a.end(), cand) != a.end();
          });
          bool clash = active_names.count(cand) &&
                       std::none_of(members.begin(), members.end(),
                                    [&](std::size_t mi) { return cfg.conns[mi].name == cand; });
          if (all && !clash && !used.count(cand)) {
            name = cand;
            break;
          }
        }
      }
      while (used.count(name)) name += "+";
      used.insert(name);
      IkeSaGroup g{name, {}};
      for (auto mi : members) {
        g.conns.push_back(cfg.conns[mi].name);
        cfg.conns[mi].ike_sa = name;
      }
      cfg.ike_sas.push_back(std::move(g));
    }
  }
}

}  // namespace config
