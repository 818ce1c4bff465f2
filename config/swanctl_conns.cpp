// swanctl.conf's connections, and the swanless section, translated into the sections the
// ipsec.conf reader produces (stage 2 of swanctl.h). What a key means stays the typing
// stages' business (conn.cpp, config.cpp, gre.cpp, pim.cpp); here each swanctl key gets its
// ipsec.conf name, and swanctl's defaults are written out where they differ from
// ipsec.conf's. Keys swanless has no use for get the key table's reason (keys.cpp).
#include <algorithm>
#include <set>

#include "config/swanctl.h"
#include "config/text.h"
#include "config/values.h"

namespace config {
namespace {

// swanctl.conf(5)'s defaults, where they differ from ipsec.conf(5)'s.
constexpr long long kIkeRekey = 4 * 3600;   // connections.<conn>.rekey_time
constexpr long long kChildRekey = 3600;     // children.<child>.rekey_time
// over_time and the CHILD_SA's life_time: 10% more than the rekey time.
long long ten_percent_more(long long s) { return s + s / 10; }

std::string reason(SectionType t, std::string_view ipsec_key) {
  const KeyRow* row = find_key(t, ipsec_key);
  return row ? std::string(row->reason) : std::string();
}

constexpr std::string_view kNoCerts =
    "not implemented: swanless takes one certificate per end (certs = FILE), the peer's CA as remote { cacerts = FILE } "
    "or swanless { setup { cadir = DIR } }, and CRLs from crldir";
constexpr std::string_view kNoEap = "EAP and XAuth are not implemented: swanless authenticates with PSKs and RSA keys";
constexpr std::string_view kNoVip =
    "swanless neither requests nor assigns virtual IPs (IKEv2 configuration payload); write the tunnelled "
    "addresses in local_ts/remote_ts";
constexpr std::string_view kKernel =
    "it sets kernel XFRM state or policy fields; swanless keeps its SAs in the process and has none";

class Translator {
 public:
  Translator(Reporter& r, SwanctlTranslation& t) : rep_(r), t_(t) {}

  void run(const SwanctlNode& root) {
    for (const auto& n : root.items) {
      if (n.name == "connections" && n.section) {
        for (const auto& c : n.items) {
          if (c.section) connection(c);
          else err(c, c.name, "expected a connection section NAME { ... } in connections");
        }
      } else if (n.name == "secrets" && n.section) {
        // Read by load_secrets (swanctl.cpp); setup.secrets names this file by default.
      } else if (n.name == "swanless" && n.section) {
        swanless(n);
      } else if (n.name == "authorities") {
        warn(n, n.name, "authorities sections (CRL/OCSP URIs, per-CA options) are not read: " + std::string(kNoCerts));
      } else if (n.name == "pools") {
        warn(n, n.name, "address pools are not used: " + std::string(kNoVip));
      } else {
        warn(n, n.name,
             "not a swanctl.conf section (connections, secrets, authorities, pools) nor swanless's own; "
             "ignored, as swanctl ignores it");
      }
    }
  }

 private:
  void warn(const SwanctlNode& n, const std::string& as, std::string msg) {
    rep_.warn(n.file, n.line, as, std::move(msg));
  }
  void err(const SwanctlNode& n, const std::string& as, std::string msg) {
    rep_.error(n.file, n.line, as, std::move(msg));
  }
  // `ipsec`=`value` into `keys`, at `n`'s line; diagnostics there will say `as`.
  void put(std::vector<RawKey>& keys, const std::string& ipsec, std::string value, const SwanctlNode& n,
           const std::string& as) {
    keys.push_back(RawKey{ipsec, std::move(value), n.file, n.line});
    t_.written[{n.file, n.line, ipsec}] = as;
  }
  bool is_key(const SwanctlNode& n, const std::string& as) {
    if (!n.section) return true;
    err(n, as, "expected a key (" + n.name + " = ...), not a section");
    return false;
  }

  // ---- the swanless section: config setup, gre and pim sections ----------------------
  void swanless(const SwanctlNode& s) {
    for (const auto& n : s.items) {
      if (n.name == "setup" && n.section) {
        RawSection sec = raw(SectionType::setup, "setup", n);
        plain_keys(n, SectionType::setup, sec, "setup.");
        t_.sections.push_back(std::move(sec));
      } else if ((n.name == "gre" || n.name == "pim") && n.section) {
        const SectionType ty = n.name == "gre" ? SectionType::gre : SectionType::pim;
        for (const auto& sub : n.items) {
          if (!sub.section) {
            err(sub, sub.name, "expected " + n.name + " { NAME { key = value ... } }");
            continue;
          }
          RawSection sec = raw(ty, sub.name, sub);
          plain_keys(sub, ty, sec, "");
          t_.sections.push_back(std::move(sec));
        }
      } else {
        err(n, n.name, "unknown in the swanless section (setup { }, gre { NAME { } }, pim { NAME { } })");
      }
    }
  }

  RawSection raw(SectionType ty, std::string name, const SwanctlNode& n) {
    RawSection s;
    s.type = ty;
    s.name = std::move(name);
    s.file = n.file;
    s.line = n.line;
    if (!valid_name(s.name)) err(n, n.name, "invalid name (letters, digits, '-', '_')");
    return s;
  }

  // Keys named as in CONFIG.md, checked against the key table as the ipsec.conf reader does.
  void plain_keys(const SwanctlNode& n, SectionType ty, RawSection& sec, const std::string& prefix) {
    for (const auto& k : n.items) {
      if (!is_key(k, k.name)) continue;
      if (check_key(ty, k.name, k.file, k.line, rep_)) put(sec.keys, k.name, k.value, k, prefix + k.name);
    }
  }

  // ---- connections -------------------------------------------------------------------
  // A duration key, in seconds; nullopt when absent, -1 (reported) when malformed.
  std::optional<long long> seconds(const SwanctlNode* n, const std::string& as) {
    if (!n) return std::nullopt;
    if (!is_key(*n, as)) return -1;
    auto d = parse_duration(n->value);
    if (!d) {
      err(*n, as, "expected a time such as 3600, 60m, 1h or 1d, not '" + n->value + "'");
      return -1;
    }
    return d->count();
  }
  std::optional<unsigned long long> number(const SwanctlNode* n, const std::string& as) {
    if (!n || !is_key(*n, as)) return std::nullopt;
    auto v = parse_uint(n->value, 1ULL << 62);
    if (!v) err(*n, as, "expected a number, not '" + n->value + "'");
    return v;
  }

  // proposals / esp_proposals: swanctl's lists are strict unless they name `default`,
  // which stands for strongSwan's default proposals (swanless appends them at the end).
  static std::optional<std::string> proposals(const std::string& v) {
    std::string out;
    bool with_default = false;
    for (auto item : split_list(v)) {
      if (item == "default") {
        with_default = true;
        continue;
      }
      if (!out.empty()) out += ',';
      out += std::string(item);
    }
    if (out.empty()) return with_default ? std::nullopt : std::optional<std::string>(v);
    if (!with_default && out.back() != '!') out += '!';
    return out;
  }

  // local_addrs/remote_addrs: one address or %any.
  void addrs(const SwanctlNode& n, const std::string& ipsec, std::vector<RawKey>& keys) {
    if (!is_key(n, n.name)) return;
    auto items = split_list(n.value);
    if (items.size() != 1) {
      err(n, n.name, "swanless takes one address (or %any) per end of a connection, not a list");
      return;
    }
    std::string v(items[0]);
    if (v == "0.0.0.0/0") v = "%any";
    else if (v.find('/') != std::string::npos || (v.find('-') != std::string::npos && parse_ip(v.substr(0, v.find('-'))))) {
      err(n, n.name, "a subnet or range of addresses: swanless takes one address or %any");
      return;
    }
    put(keys, ipsec, v, n, n.name);
  }

  // local/remote: one authentication round.
  void side(const SwanctlNode& s, bool local, std::vector<RawKey>& keys) {
    const std::string l = local ? "left" : "right";
    const std::string at = s.name + ".";
    bool auth = false, id = false;
    for (const auto& k : s.items) {
      const std::string as = at + k.name;
      if (k.name == "auth" && is_key(k, as)) {
        if (k.value.rfind("eap", 0) == 0 || k.value.rfind("xauth", 0) == 0) {
          err(k, as, std::string(kNoEap));
        } else {
          put(keys, l + "auth", k.value, k, as);
        }
        auth = true;
      } else if (k.name == "id" && is_key(k, as)) {
        put(keys, l + "id", k.value, k, as);
        id = true;
      } else if (k.name == "pubkeys" && is_key(k, as)) {
        auto items = split_list(k.value);
        if (items.size() != 1 || items[0].empty()) {
          err(k, as, "swanless takes one public key per end");
          continue;
        }
        // As swanctl: a relative path is in the pubkey/ folder next to swanctl.conf.
        std::string p(items[0]);
        put(keys, l + "pubkey", p.front() == '/' ? p : "pubkey/" + p, k, as);
      } else if ((k.name == "certs" || (k.name == "cacerts" && !local)) && is_key(k, as)) {
        // As swanctl: a relative file is in x509/ (x509ca/ for CAs) next to swanctl.conf.
        auto items = split_list(k.value);
        if (items.size() != 1 || items[0].empty()) {
          err(k, as, "swanless takes one " + std::string(k.name == "certs" ? "certificate" : "CA certificate") +
                         " per end");
          continue;
        }
        std::string p(items[0]);
        const std::string dir = k.name == "certs" ? "x509/" : "x509ca/";
        put(keys, k.name == "certs" ? l + "cert" : std::string("rightca"), p.front() == '/' ? p : dir + p, k, as);
      } else if (k.name == "cacerts" || k.name == "ca_id" || k.name == "cert_policy" || k.name == "revocation" ||
                 k.name == "groups" || k.name.rfind("cert", 0) == 0 || k.name.rfind("cacert", 0) == 0) {
        warn(k, as, std::string(kNoCerts) + "; ignored");
      } else if (k.name == "eap_id" || k.name == "aaa_id" || k.name == "xauth_id") {
        warn(k, as, std::string(kNoEap) + "; ignored");
      } else if (k.name == "round") {
        warn(k, as, "swanless has one authentication round per end; ignored");
      } else {
        err(k, as, "unknown key in " + s.name + " (auth, id, pubkeys, certs, cacerts, ...)");
      }
    }
    // swanctl's defaults: both ends authenticate with public keys; the remote id is %any.
    if (!auth) put(keys, l + "auth", "pubkey", s, at + "auth");
    if (!id && !local) put(keys, "rightid", "%any", s, at + "id");
  }

  void connection(const SwanctlNode& c) {
    std::vector<RawKey> ike;
    std::vector<const SwanctlNode*> locals, remotes;
    const SwanctlNode* children = nullptr;
    std::map<std::string, const SwanctlNode*> times;  // rekey_time, reauth_time, over_time, rand_time
    std::map<std::string, const SwanctlNode*> child_defaults;  // if_id_in, if_id_out
    for (const auto& k : c.items) {
      const std::string& n = k.name;
      if (k.section && n.rfind("local", 0) == 0) locals.push_back(&k);
      else if (k.section && n.rfind("remote", 0) == 0) remotes.push_back(&k);
      else if (n == "children" && k.section) children = &k;
      else if (!is_key(k, n)) continue;
      else if (n == "version") {
        if (k.value == "1") err(k, n, "IKEv1, which swanless does not speak (IKEv2 only); write version = 2");
        else if (k.value == "0") warn(k, n, "swanless speaks IKEv2 only: as a responder it does not accept IKEv1, as "
                                            "version = 0 would");
        else if (k.value != "2") err(k, n, "expected 0, 1 or 2, not '" + k.value + "'");
      } else if (n == "local_addrs") addrs(k, "left", ike);
      else if (n == "remote_addrs") addrs(k, "right", ike);
      else if (n == "local_port") put(ike, "leftikeport", k.value, k, n);
      else if (n == "remote_port") put(ike, "rightikeport", k.value, k, n);
      else if (n == "proposals") {
        if (auto p = proposals(k.value)) put(ike, "ike", *p, k, n);
      } else if (n == "encap") put(ike, "forceencaps", k.value, k, n);
      else if (n == "dpd_delay") put(ike, "dpddelay", k.value, k, n);
      else if (n == "dpd_timeout") {
        warn(k, n, "strongSwan uses dpd_timeout for IKEv1 only; swanless applies it to IKEv2 liveness checks, as "
                   "ipsec.conf's dpdtimeout");
        put(ike, "dpdtimeout", k.value, k, n);
      } else if (n == "fragmentation") {
        if (k.value == "accept" || k.value == "force") {
          warn(k, n, "swanless announces fragmentation and fragments messages larger than fragment_size, as with "
                     "fragmentation = yes");
          put(ike, "fragmentation", "yes", k, n);
        } else {
          put(ike, "fragmentation", k.value, k, n);
        }
      } else if (n == "aggressive") {
        if (k.value != "no") put(ike, "aggressive", k.value, k, n);  // no: swanctl's default
      }
      else if (n == "mobike") {
        if (k.value != "no") warn(k, n, reason(SectionType::conn, "mobike"));
      } else if (n == "rekey_time" || n == "reauth_time" || n == "over_time" || n == "rand_time") times[n] = &k;
      else if (n == "if_id_in" || n == "if_id_out") child_defaults[n] = &k;
      else if (n == "vips" || n == "pools") err(k, n, std::string(kNoVip));
      else if (n == "pull") warn(k, n, "only used with vips, which swanless does not request; ignored");
      else if (n == "send_cert") put(ike, "leftsendcert", k.value, k, n);
      else if (n == "send_certreq") {
        if (k.value != "yes") warn(k, n, "swanless sends a CERTREQ whenever it has CAs for the peer; ignored");
      } else if (n == "ocsp") warn(k, n, "OCSP is not implemented: CRLs from crldir are checked; ignored");
      else if (n == "keyingtries") put(ike, "keyingtries", k.value == "0" ? "%forever" : k.value, k, n);
      else if (n == "unique") warn(k, n, reason(SectionType::setup, "uniqueids"));
      else if (n == "childless") warn(k, n, "swanless creates the first CHILD_SA with IKE_AUTH (RFC 7296); ignored");
      else if (n == "dscp") warn(k, n, "swanless sends IKE packets with the default DSCP; ignored");
      else if (n == "ppk_id") warn(k, n, "post-quantum preshared keys (RFC 8784) are not implemented; ignored");
      else if (n == "ppk_required") {
        if (k.value == "yes") err(k, n, "post-quantum preshared keys (RFC 8784) are not implemented");
      } else if (n == "mediation" || n == "mediated_by" || n == "mediation_peer")
        warn(k, n, "strongSwan's mediation extension is not implemented; swanless talks to remote_addrs directly");
      else err(k, n, "unknown key in a connection (see swanctl.conf(5); docs/CONFIG.md lists what swanless reads)");
    }
    if (locals.size() > 1 || remotes.size() > 1) {
      const SwanctlNode& n = locals.size() > 1 ? *locals[1] : *remotes[1];
      err(n, n.name, "a second authentication round: swanless authenticates each end once (one local, one remote)");
    }
    if (!locals.empty()) side(*locals[0], true, ike);
    else put(ike, "leftauth", "pubkey", c, "local.auth");
    if (!remotes.empty()) side(*remotes[0], false, ike);
    else {
      put(ike, "rightauth", "pubkey", c, "remote.auth");
      put(ike, "rightid", "%any", c, "remote.id");
    }
    if (!c.find("dpd_delay")) put(ike, "dpddelay", "0", c, "dpd_delay");  // swanctl: no DPD
    if (!c.find("keyingtries")) put(ike, "keyingtries", "1", c, "keyingtries");  // swanctl: one attempt
    if (!children || children->items.empty()) {
      warn(c, c.name,
           "no children: an IKE_SA without a CHILD_SA carries nothing, and swanless makes none; connection ignored");
      return;
    }
    // The IKE_SA takes its rekey margin from its first CHILD_SA (config/peers.cpp).
    const auto first = child_times(children->items.front());
    ike_times(c, times, first ? first->margin : ten_percent_more(kChildRekey) - kChildRekey, ike);
    const std::string dpd = dpd_action(*children);
    for (const auto& ch : children->items) {
      if (!ch.section) {
        err(ch, ch.name, "expected a child section NAME { ... } in children");
        continue;
      }
      child(c, ch, ike, child_defaults, dpd);
    }
  }

  // swanctl's dpd_action as ipsec.conf's dpdaction; empty when malformed (reported).
  std::string dpd_value(const SwanctlNode& k) {
    if (k.value == "clear" || k.value == "none") return k.value;
    if (k.value == "trap" || k.value == "route") return "hold";
    if (k.value == "restart" || k.value == "start") return "restart";
    err(k, k.name, "expected clear, trap or restart, not '" + k.value + "'");
    return {};
  }

  // swanless acts on a dead peer per IKE_SA, strongSwan per CHILD_SA: the connection gets
  // the strongest of its children's actions (restart > trap > clear > none).
  std::string dpd_action(const SwanctlNode& children) {
    static constexpr std::string_view kRank[] = {"none", "clear", "hold", "restart"};
    auto rank = [](std::string_view v) {
      return std::find(std::begin(kRank), std::end(kRank), v) - std::begin(kRank);
    };
    std::string best = "clear";  // swanctl's default
    bool first = true;
    for (const auto& ch : children.items) {
      const SwanctlNode* k = ch.section ? ch.find("dpd_action") : nullptr;
      const std::string v = k && !k->section ? dpd_value(*k) : "clear";
      if (v.empty()) continue;
      if (first || rank(v) > rank(best)) best = v;
      first = false;
    }
    return best;
  }

  // The IKE_SA's times. swanctl rekeys (or reauthenticates, with reauth_time) at
  // rekey_time minus up to rand_time, and gives up over_time later. swanless rekeys an
  // IKE_SA at ikelifetime - rekeymargin - up to rekeymargin x rekeyfuzz, with its first
  // CHILD_SA's margin and fuzz: ikelifetime = rekey_time + that margin starts the rekeying
  // no later than strongSwan would, and ends the IKE_SA that margin after rekey_time.
  void ike_times(const SwanctlNode& c, std::map<std::string, const SwanctlNode*>& t, long long child_margin,
                 std::vector<RawKey>& ike) {
    auto rekey = seconds(t["rekey_time"], "rekey_time");
    auto reauth = seconds(t["reauth_time"], "reauth_time");
    auto over = seconds(t["over_time"], "over_time");
    if (rekey == -1 || reauth == -1 || over == -1) return;
    for (const char* k : {"rand_time", "over_time"})
      if (t[k])
        warn(*t[k], k,
             "swanless spreads an IKE_SA's rekeying and ends it by its first child's margin (life_time - "
             "rekey_time) and rand_time; ignored");
    long long base = rekey.value_or(kIkeRekey);
    const SwanctlNode* at = t["rekey_time"] ? t["rekey_time"] : &c;
    std::string as = "rekey_time";
    if (reauth.value_or(0) > 0) {
      if (rekey.value_or(0) > 0)
        warn(*t["rekey_time"], "rekey_time",
             "with reauth_time set, swanless reauthenticates the IKE_SA at reauth_time and does not rekey it in "
             "between");
      base = *reauth;
      at = t["reauth_time"];
      as = "reauth_time";
      put(ike, "reauth", "yes", *at, as);
    }
    if (base == 0) {
      warn(*at, as, "an IKE_SA that is never rekeyed is not implemented: swanless rekeys it after 4h");
      base = kIkeRekey;
    }
    put(ike, "ikelifetime", std::to_string(base + child_margin), *at, as);
  }

  // Volume: rekey at rekey_X, removed at life_X (default 10% more).
  void volume(const SwanctlNode& ch, const char* what, std::vector<RawKey>& keys) {
    const std::string w(what);
    const SwanctlNode* rk = ch.find("rekey_" + w);
    const SwanctlNode* lk = ch.find("life_" + w);
    auto rekey = number(rk, "rekey_" + w);
    auto life = number(lk, "life_" + w);
    if (const SwanctlNode* rand = ch.find("rand_" + w))
      warn(*rand, rand->name, "swanless rekeys at exactly rekey_" + w + "; ignored");
    if ((rk && !rekey) || (lk && !life) || (!rekey && !life)) return;
    // Newer strongSwan: a life_X without rekey_X rekeys 10% before it.
    const unsigned long long l = life ? *life : rekey.value_or(0) + rekey.value_or(0) / 10;
    const unsigned long long r = rekey ? *rekey : l >= 10 ? l - l / 10 : 0;
    if (l == 0) return;
    if (r >= l) {
      err(lk ? *lk : *rk, lk ? lk->name : rk->name, "life_" + w + " must be larger than rekey_" + w);
      return;
    }
    const SwanctlNode& at = lk ? *lk : *rk;
    put(keys, "life" + w, std::to_string(l), at, at.name);
    put(keys, "margin" + w, std::to_string(r ? l - r : 0), at, at.name);
  }

  // local_ts/remote_ts: `dynamic` (the default) is the end's own address.
  void ts(const SwanctlNode& k, const std::string& l, std::vector<RawKey>& keys) {
    auto items = split_list(k.value);
    std::string subnets;
    std::size_t dynamic = 0;
    for (auto item : items) {
      if (item.substr(0, 7) == "dynamic") {
        ++dynamic;
        std::string_view rest = item.substr(7);
        if (rest.size() > 2 && rest.front() == '[' && rest.back() == ']')
          put(keys, l + "protoport", std::string(rest.substr(1, rest.size() - 2)), k, k.name);
        else if (!rest.empty()) err(k, k.name, "malformed '" + std::string(item) + "' (dynamic or dynamic[proto/port])");
        continue;
      }
      if (!subnets.empty()) subnets += ',';
      subnets += std::string(item);
    }
    if (dynamic > 1 || (dynamic && !subnets.empty())) {
      err(k, k.name, "dynamic together with other selectors: swanless takes either dynamic or a list of subnets");
      return;
    }
    if (!subnets.empty()) put(keys, l + "subnet", subnets, k, k.name);
  }

  void child(const SwanctlNode& c, const SwanctlNode& ch, const std::vector<RawKey>& ike,
             const std::map<std::string, const SwanctlNode*>& defaults, const std::string& dpd) {
    if (auto it = t_.connection_of.find(ch.name); it != t_.connection_of.end()) {
      err(ch, ch.name,
          "a child of this name is in connection " + it->second +
              " too: swanless names each CHILD_SA's conn after its child, so child names must be unique");
      return;
    }
    RawSection sec = raw(SectionType::conn, ch.name, ch);
    std::vector<RawKey>& keys = sec.keys;
    // conn.cpp reports a missing key at the section's line, by its ipsec.conf name.
    for (const auto& [ipsec, as] : {std::pair{"authby", "remote.pubkeys"}, std::pair{"right", "remote_addrs"},
                                    std::pair{"ikelifetime", "rekey_time"}, std::pair{"lifetime", "life_time"}})
      t_.written[{ch.file, ch.line, ipsec}] = as;
    std::map<std::string, const SwanctlNode*> seen;
    for (const auto& k : ch.items) {
      const std::string& n = k.name;
      if (!is_key(k, n)) continue;
      seen[n] = &k;
      if (n == "local_ts") ts(k, "left", keys);
      else if (n == "remote_ts") ts(k, "right", keys);
      else if (n == "esp_proposals") {
        if (auto p = proposals(k.value)) put(keys, "esp", *p, k, n);
      } else if (n == "ah_proposals") err(k, n, "AH is not implemented: swanless protects traffic with ESP only");
      else if (n == "mode") {
        if (k.value == "tunnel" || k.value == "transport") put(keys, "type", k.value, k, n);
        else if (k.value == "pass" || k.value == "drop") put(keys, "type", k.value == "pass" ? "passthrough" : "drop", k, n);
        else if (k.value == "beet") err(k, n, "BEET mode is not implemented: use tunnel or transport");
        else err(k, n, "expected tunnel, transport, beet, pass or drop, not '" + k.value + "'");
      } else if (n == "start_action") {
        if (k.value == "none") put(keys, "auto", "add", k, n);
        else if (k.value == "start") put(keys, "auto", "start", k, n);
        else if (k.value == "trap" || k.value == "route") put(keys, "auto", "route", k, n);
        else if (k.value == "trap|start" || k.value == "start|trap") {
          warn(k, n, "swanless traps the CHILD_SA (as start_action = trap) and does not also start it at load: its "
                     "first packet brings it up");
          put(keys, "auto", "route", k, n);
        } else {
          err(k, n, "expected none, trap or start, not '" + k.value + "'");
        }
      } else if (n == "dpd_action") {
        const std::string v = dpd_value(k);
        if (!v.empty() && v != dpd)
          warn(k, n, "swanless acts on a dead peer per IKE_SA: all children of " + c.name + " get " +
                         (dpd == "hold" ? std::string("trap") : dpd) + ", the strongest of their dpd_action");
        put(keys, "dpdaction", dpd, k, n);
      } else if (n == "close_action") {
        // swanctl's names and the aliases its parser takes (route, restart).
        if (k.value == "none" || k.value == "clear") put(keys, "closeaction", k.value, k, n);
        else if (k.value == "trap" || k.value == "route") put(keys, "closeaction", "hold", k, n);
        else if (k.value == "start" || k.value == "restart") put(keys, "closeaction", "restart", k, n);
        else err(k, n, "expected none, clear, trap or start, not '" + k.value + "'");
      } else if (n == "replay_window") put(keys, "replay_window", k.value, k, n);
      else if (n == "mark_in" || n == "mark_out" || n == "if_id_in" || n == "if_id_out") put(keys, n, k.value, k, n);
      else if (n == "updown") warn(k, n, reason(SectionType::conn, "rightupdown"));  // leftupdown is read by conn.cpp, same words
      else if (n == "hostaccess") warn(k, n, reason(SectionType::conn, "lefthostaccess"));
      else if (n == "ipcomp") {
        if (k.value != "no") warn(k, n, reason(SectionType::conn, "compress"));
      } else if (n == "inactivity") warn(k, n, reason(SectionType::conn, "inactivity"));
      else if (n == "tfc_padding") warn(k, n, reason(SectionType::conn, "tfc"));
      else if (n == "hw_offload") warn(k, n, reason(SectionType::conn, "hw_offload"));
      else if (n == "sha256_96") warn(k, n, reason(SectionType::conn, "sha256_96"));
      else if (n == "reqid" || n == "priority" || n == "interface" || n == "policies" || n == "policies_fwd_out" ||
               n == "set_mark_in" || n == "set_mark_out" || n == "copy_df" || n == "copy_ecn" || n == "copy_dscp" ||
               n == "label" || n == "label_mode" || n == "per_cpu_sas" || n == "mark_in_sa")
        warn(k, n, std::string(kKernel));
      else if (n == "rekey_time" || n == "life_time" || n == "rand_time" || n == "rekey_bytes" ||
               n == "life_bytes" || n == "rand_bytes" || n == "rekey_packets" || n == "life_packets" ||
               n == "rand_packets") {
        // below
      } else {
        err(k, n, "unknown key in a child (see swanctl.conf(5); docs/CONFIG.md lists what swanless reads)");
      }
    }
    // swanctl's defaults for a child, where they differ from ipsec.conf's.
    if (!seen.count("start_action")) put(keys, "auto", "add", ch, "start_action");
    if (!seen.count("dpd_action")) put(keys, "dpdaction", dpd, ch, "dpd_action");
    for (const auto& [n, k] : defaults)
      if (!seen.count(n)) put(keys, n, k->value, *k, n);
    if (auto times = child_times(ch)) {
      const SwanctlNode& at = times->at ? *times->at : ch;
      put(keys, "lifetime", std::to_string(times->life), at, times->as);
      put(keys, "rekeymargin", std::to_string(times->margin), at, times->as);
      put(keys, "rekeyfuzz", std::to_string(times->fuzz) + "%", times->rand ? *times->rand : at,
          times->rand ? "rand_time" : times->as);
    }
    volume(ch, "bytes", keys);
    volume(ch, "packets", keys);
    for (const auto& k : ike) keys.push_back(k);
    t_.connection_of[ch.name] = c.name;
    t_.sections.push_back(std::move(sec));
  }

  // swanctl: rekey at rekey_time minus up to rand_time, gone at life_time; ipsec.conf:
  // lifetime, rekeymargin = life_time - rekey_time, rekeyfuzz = rand_time / rekeymargin.
  struct ChildTimes {
    long long life = 0, margin = 0, fuzz = 100;
    const SwanctlNode* at = nullptr;    // where the lifetime comes from (nullptr: the child)
    const SwanctlNode* rand = nullptr;  // rand_time, if written
    std::string as;
  };
  std::optional<ChildTimes> child_times(const SwanctlNode& ch) {
    if (!ch.section) return std::nullopt;
    const SwanctlNode* rk = ch.find("rekey_time");
    const SwanctlNode* lk = ch.find("life_time");
    const SwanctlNode* dk = ch.find("rand_time");
    auto rekey = seconds(rk, "rekey_time");
    auto life = seconds(lk, "life_time");
    auto rand = seconds(dk, "rand_time");
    if (rekey == -1 || life == -1 || rand == -1) return std::nullopt;
    // Newer strongSwan: a life_time without rekey_time rekeys 10% before it.
    long long r = rekey ? *rekey : life ? *life - *life / 10 : kChildRekey;
    if (r == 0) {
      warn(*rk, "rekey_time", "a CHILD_SA that is never rekeyed is not implemented: swanless rekeys it after 1h");
      r = kChildRekey;
    }
    ChildTimes t;
    t.life = life.value_or(ten_percent_more(r));
    t.at = lk ? lk : rk;
    t.rand = dk;
    t.as = lk ? "life_time" : "rekey_time";
    if (t.life <= r) {
      err(t.at ? *t.at : ch, t.as, "life_time must be longer than rekey_time");
      return std::nullopt;
    }
    t.margin = t.life - r;
    t.fuzz = rand.value_or(t.margin) * 100 / t.margin;
    return t;
  }

  Reporter& rep_;
  SwanctlTranslation& t_;
};

}  // namespace

SwanctlTranslation translate_swanctl(SwanctlNode root, Reporter& r) {
  SwanctlTranslation t;
  Translator(r, t).run(root);
  // swanless.setup.secrets names another secrets file: the secrets block here is not read.
  const SwanctlNode* block = root.find("secrets");
  const SwanctlNode* s = root.find("swanless");
  const SwanctlNode* setup = s ? s->find("setup") : nullptr;
  if (block && setup && setup->find("secrets"))
    r.warn(block->file, block->line, "secrets",
           "not read: swanless { setup { secrets = ... } } names the secrets file to use instead");
  wipe_swanctl(root);
  return t;
}

void finish_swanctl(const SwanctlTranslation& t, Config& cfg, std::vector<Diagnostic>& errors,
                    std::vector<Diagnostic>& warnings) {
  // The typing stages' words for ipsec.conf keys, in swanctl's terms.
  static constexpr std::pair<std::string_view, std::string_view> kWords[] = {
      {"authby=pubkey/rsasig needs rightpubkey= (PEM file), rightrsasigkey= (0s...), or certificates (leftcert=, "
       "rightca= or rightcert=)",
       "remote auth = pubkey needs remote { pubkeys = FILE.pem }, or certificates (local { certs = FILE }, "
       "remote { cacerts = FILE } or remote { certs = FILE })"},
      {"auto=start needs right= to be the peer's address", "start_action = start needs remote_addrs to be the peer's "
                                                           "address"},
      {"auto=route needs right= to be the peer's address", "start_action = trap needs remote_addrs to be the peer's "
                                                           "address"},
      {"leftauth and rightauth must both be psk or both public keys",
       "local.auth and remote.auth must both be psk or both pubkey (swanctl's default)"},
      {"leftsubnet/rightsubnet", "local_ts/remote_ts"},
      {"type=transport: the subnet must be the host address itself",
       "mode = transport: the selector must be the host address itself (dynamic)"},
  };
  for (auto* list : {&errors, &warnings})
    for (auto& d : *list) {
      if (auto it = t.written.find({d.file, d.line, d.key}); it != t.written.end()) d.key = it->second;
      for (const auto& [ipsec, swanctl] : kWords)
        if (auto at = d.message.find(ipsec); at != std::string::npos) d.message.replace(at, ipsec.size(), swanctl);
    }

  // IKE_SAs named after their swanctl connection, when all their conns come from it and no
  // other conn or IKE_SA has that name.
  std::set<std::string> taken;
  for (const auto& c : cfg.conns) taken.insert(c.name);
  for (const auto& g : cfg.ike_sas) taken.insert(g.name);
  for (auto& g : cfg.ike_sas) {
    std::set<std::string> from;
    for (const auto& c : g.conns)
      if (auto it = t.connection_of.find(c); it != t.connection_of.end()) from.insert(it->second);
    if (from.size() != 1 || *from.begin() == g.name) continue;
    const std::string& name = *from.begin();
    const bool own_conn = std::find(g.conns.begin(), g.conns.end(), name) != g.conns.end();
    if (taken.count(name) && !own_conn) continue;
    taken.insert(name);
    for (auto& c : cfg.conns)
      if (c.ike_sa == g.name) c.ike_sa = name;
    g.name = name;
  }
}

}  // namespace config
