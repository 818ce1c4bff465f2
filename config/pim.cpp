// Stage 2 for pim sections: the gre interface a PIM-SM neighbour is on, its RP, groups and
// (S,G) sources, timers, and where received multicast goes (the TUN device or UDP). See
// stages.h.
#include "config/stages.h"
#include "config/text.h"
#include "config/values.h"

namespace config {

void type_pims(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg) {
  for (const auto& s : secs) {
    if (s.type != SectionType::pim) continue;
    auto p = section_model<PimConfig>(s);
    SectionKeys keys(s, r, ty);
    bool& ok = keys.ok;
    const GreConfig* gre = nullptr;
    std::vector<const GreConfig*> gres;
    if (auto k = keys.required("interface")) {
      for (auto item : split_list(k->value)) {
        const GreConfig* g = cfg.find_gre(item);
        if (!g) {
          std::string msg = "no (valid) gre section named '";  // g++ 12's false -Wrestrict, as below
          msg += item;
          keys.err(*k, msg + "'");
          continue;
        }
        for (const auto* other : gres)
          if (other == g) keys.err(*k, "gre " + g->name + " named twice");
        gres.push_back(g);
        p.interfaces.emplace_back(item);
      }
      if (p.interfaces.size() > 2) keys.err(*k, "at most two gre sections (a preferred tunnel and a second one)");
      if (!gres.empty()) {
        gre = gres.front();
        p.interface = gre->name;
      }
    }
    if (gre) p.neighbor = gre->peer;
    keys.ipv4("neighbor", p.neighbor, false);
    if (gres.size() > 1 && keys.get("neighbor"))
      keys.error("neighbor", "with two interfaces each neighbor is its gre's peer");
    for (const auto* g : gres) p.neighbors.push_back(gres.size() > 1 || !keys.get("neighbor") ? g->peer : p.neighbor);
    if (gres.size() > 1) {
      for (std::size_t i = 0; i < gres.size(); ++i)
        for (std::size_t j = i + 1; j < gres.size(); ++j)
          if (!gres[i]->conn.empty() && gres[i]->conn == gres[j]->conn)
            keys.error("interface", "gre " + gres[i]->name + " and " + gres[j]->name + " ride the same conn " +
                                        gres[i]->conn + ": two upstreams need two tunnels to two gateways");
      p.upstream = PimConfig::Upstream::active_standby;
    }
    if (auto k = keys.get("upstream")) {
      if (k->value == "active-standby") p.upstream = PimConfig::Upstream::active_standby;
      else if (k->value == "both") p.upstream = PimConfig::Upstream::both;
      else ty.err(*k, "expected active-standby or both");
      if (gres.size() < 2) ty.err(*k, "needs two interfaces (interface=gre1,gre2)");
      if (gres.size() < 2 || (k->value != "active-standby" && k->value != "both")) ok = false;
    }
    if (auto k = keys.get("dedup")) {
      PimConfig::Dedup d;
      auto parts = split_list(k->value, ':');
      bool good = !parts.empty();
      if (good && parts[0] == "hash" && parts.size() == 1) {
        d.hash = true;
      } else if (good && parts[0] == "sequence" && (parts.size() == 3 || parts.size() == 4)) {
        auto off = parse_uint(parts[1], 65507);
        auto w = parse_uint(parts[2], 8);
        good = off && w && *w >= 1 && (parts.size() == 3 || parts[3] == "le" || parts[3] == "be");
        if (good) {
          d.offset = static_cast<std::size_t>(*off);
          d.width = static_cast<std::uint8_t>(*w);
          d.little_endian = parts.size() == 4 && parts[3] == "le";
        }
      } else {
        good = false;
      }
      if (!good) ty.err(*k, "expected sequence:OFFSET:WIDTH[:le] (the feed's sequence number: WIDTH 1 to 8 bytes at "
                            "OFFSET in the UDP payload) or hash");
      else p.dedup = d;
      ok = ok && good;
    }
    if (auto k = keys.get("dedup_window")) {
      if (!p.dedup) keys.error("dedup_window", "needs dedup=");
      else if (p.dedup->hash) {
        auto d = parse_duration_ms(k->value);
        if (!d || d->count() < 1 || d->count() > 60000) ty.err(*k, "with dedup=hash: a time from 1ms to 60s"), ok = false;
        else p.dedup->hash_window = *d;
      } else {
        auto n = parse_uint(k->value, 1ULL << 24);
        if (!n || *n < 64) ty.err(*k, "with dedup=sequence: a count of sequence numbers from 64 to 16777216"), ok = false;
        else p.dedup->window = *n;
      }
    }
    if (p.upstream == PimConfig::Upstream::both && !p.dedup)
      keys.error("upstream", "upstream=both needs dedup= (sequence:OFFSET:WIDTH or hash): without it every datagram "
                             "is delivered twice");
    if (auto k = keys.get("holddown")) {
      auto d = ty.duration(*k);
      if (!d || d->count() < 0 || d->count() > 86400) ty.err(*k, "must be from 0s to 1d"), ok = false;
      else p.holddown = *d;
    }
    keys.ipv4("rp", p.rp, true);
    if (auto k = keys.required("groups")) {
      for (auto item : split_list(k->value)) {
        if (item == "auto") {
          p.igmp = true;
          continue;
        }
        auto a = parse_ip(item);
        if (!a || !a->is_v4() || !is_multicast(*a)) {
          std::string msg = "'";  // not `"'" + std::string(item)`: g++ 12's false -Wrestrict at -O3
          msg += item;
          ty.err(*k, msg + "' is not an IPv4 multicast group");
          ok = false;
          continue;
        }
        p.groups.push_back(*a);
      }
    }
    if (auto k = keys.get("sources")) {
      // Items: "(S,G)" for one group, or "S" for every group of groups=.
      std::string_view v = k->value;
      std::size_t i = 0;
      while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == ',' || v[i] == '\t')) ++i;
        if (i >= v.size()) break;
        std::string_view item;
        if (v[i] == '(') {
          std::size_t close = v.find(')', i);
          if (close == std::string_view::npos) {
            ty.err(*k, "unterminated (S,G)");
            ok = false;
            break;
          }
          item = v.substr(i, close - i + 1);
          i = close + 1;
          auto inner = split_list(item.substr(1, item.size() - 2));
          auto sa = inner.size() == 2 ? parse_ip(inner[0]) : std::nullopt;
          auto ga = inner.size() == 2 ? parse_ip(inner[1]) : std::nullopt;
          if (!sa || !ga || !sa->is_v4() || !ga->is_v4() || !is_multicast(*ga) || is_multicast(*sa)) {
            ty.err(*k, "malformed source '" + std::string(item) + "' (expected (S,G))");
            ok = false;
            continue;
          }
          p.sources.push_back({*sa, *ga});
        } else {
          std::size_t j = i;
          while (j < v.size() && v[j] != ',' && v[j] != ' ' && v[j] != '\t') ++j;
          item = v.substr(i, j - i);
          i = j;
          auto sa = parse_ip(item);
          if (!sa || !sa->is_v4() || is_multicast(*sa)) {
            ty.err(*k, "malformed source '" + std::string(item) + "' (expected S or (S,G))");
            ok = false;
            continue;
          }
          for (const auto& gaddr : p.groups) p.sources.push_back({*sa, gaddr});
        }
      }
    }
    auto dur = [&](const char* key, Seconds& out, long long max) {
      if (auto k = keys.get(key)) {
        auto d = ty.duration(*k);
        if (!d) { ok = false; return; }
        if (d->count() <= 0 || d->count() > max) {
          ty.err(*k, "must be from 1s to " + std::to_string(max) + "s");
          ok = false;
          return;
        }
        out = *d;
      }
    };
    // Member-driven joins (groups=auto): which groups, and the querier's timers.
    auto prefixes = [&](const char* key, std::vector<common::Prefix>& out) {
      auto k = keys.get(key);
      if (!k) return;
      out.clear();
      for (auto item : split_list(k->value)) {
        auto pf = parse_prefix(item);
        if (!pf || !pf->addr.is_v4() || !is_multicast(pf->addr) || pf->len < 4) {
          std::string msg = "'";  // g++ 12's false -Wrestrict, as above
          msg += item;
          ty.err(*k, msg + "' is not an IPv4 multicast prefix (e.g. 239.1.0.0/16)");
          ok = false;
          continue;
        }
        out.push_back(*pf);
      }
      if (!p.igmp) ty.warn(*k, std::string(key) + "= applies to member-driven joins only (groups=auto)");
    };
    p.ssm = {*parse_prefix("232.0.0.0/8")};
    prefixes("allow", p.allow);
    prefixes("deny", p.deny);
    prefixes("ssm", p.ssm);
    if (auto k = keys.get("last_member_query_interval")) {
      auto d = parse_duration_ms(k->value);
      if (!d || d->count() < 100 || d->count() > 25500) {
        ty.err(*k, "must be from 100ms to 25.5s (e.g. 1s, 500ms)");
        ok = false;
      } else {
        p.last_member_query_interval = *d;
      }
    }
    keys.number("robustness", p.robustness, 1, 7);  // RFC 3376 QRV is 3 bits
    keys.number("max_groups", p.max_groups, 1, 65536);
    dur("query_interval", p.query_interval, 3175);  // QQIC's largest value (RFC 3376 §4.1.7)
    if (p.igmp && gre && !gre->tun) {
      keys.error("groups", "groups=auto needs gre " + gre->name +
                               "'s TUN device (tun=yes): the members' IGMP reports come from it");
    }
    dur("hello", p.hello, 18000);     // Hello holdtime is 3.5x hello in a 16-bit field
    dur("join", p.join, 18000);
    dur("holdtime", p.holdtime, 65535);  // 16-bit field (RFC 7761 §4.9.5)
    if (auto k = keys.get("deliver")) {
      for (auto item : split_list(k->value)) {
        if (item == "tun") {
          if (gre && !gre->tun) {
            ty.err(*k, "deliver=tun but gre " + gre->name + " has tun=no");
            ok = false;
          }
          p.deliver_tun = true;
        } else if (item.substr(0, 4) == "udp:") {
          auto e = parse_host_port(item.substr(4));
          if (!e) {
            ty.err(*k, "malformed '" + std::string(item) + "' (expected udp:HOST:PORT)");
            ok = false;
            continue;
          }
          p.deliver_udp.push_back(*e);
        } else {
          ty.err(*k, "unknown delivery '" + std::string(item) + "' (tun or udp:HOST:PORT)");
          ok = false;
        }
      }
    } else if (gre) {
      if (gre->tun) p.deliver_tun = true;
      else {
        keys.error("deliver", "required: gre " + gre->name + " has tun=no");
      }
    }
    // Two tunnels fail over on a tunnel's health, and keepalives are what notice a dead
    // one within seconds: a gre section of such a pim without keepalive= sends its own
    // every second, down after two misses (a Cisco-style far end reflects them).
    if (ok && p.interfaces.size() > 1)
      for (const auto& name : p.interfaces)
        for (auto& g : cfg.gres)
          if (g.name == name && !g.keepalive_written) {
            g.keepalive = GreConfig::Keepalive::send;
            g.keepalive_interval = std::chrono::seconds(1);
            g.keepalive_retries = 2;
            cfg.notes.push_back("gre " + g.name + ": keepalive=1s, keepalive_retries=2 (pim " + p.name +
                                " fails over between its two tunnels on them; set keepalive= to choose)");
          }
    if (ok) cfg.pims.push_back(std::move(p));
  }
}

}  // namespace config
