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
    if (auto k = keys.required("interface")) {
      gre = cfg.find_gre(k->value);
      if (!gre) keys.err(*k, "no (valid) gre section named '" + k->value + "'");
      else p.interface = k->value;
    }
    if (gre) p.neighbor = gre->peer;
    keys.ipv4("neighbor", p.neighbor, false);
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
    if (ok) cfg.pims.push_back(std::move(p));
  }
}

}  // namespace config
