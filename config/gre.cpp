// Stage 2 for gre sections: endpoints, the overlay address, MTU/MSS, key, routes and
// keepalives, and the conn whose CHILD_SA carries the GRE packets (named with conn= or the
// one whose traffic selectors cover the endpoints). See stages.h.
#include <algorithm>

#include "config/stages.h"
#include "config/text.h"
#include "config/values.h"

namespace config {
namespace {

using common::IpAddr;

// Whether the host's selectors take GRE (or any protocol) to or from `a`.
bool covers(const HostConfig& h, const IpAddr& a) {
  if (h.dynamic) return h.protocol == 0 || h.protocol == 47;
  for (const auto& ts : h.subnets)
    if (ts.contains_addr(a) && (ts.protocol == 0 || ts.protocol == 47)) return true;
  return false;
}

}  // namespace

void type_gres(const std::vector<RawSection>& secs, Reporter& r, Typer& ty, Config& cfg) {
  for (const auto& s : secs) {
    if (s.type != SectionType::gre) continue;
    auto g = section_model<GreConfig>(s);
    SectionKeys keys(s, r, ty);
    keys.ipv4("local", g.local, true);
    keys.ipv4("remote", g.remote, true);
    if (auto k = keys.required("address")) {
      auto p = k->value.find('/') != std::string::npos ? parse_prefix(k->value) : std::nullopt;
      if (p && p->addr.is_v4()) g.address = *p;
      else keys.err(*k, "expected an IPv4 address with its prefix length, e.g. 10.44.4.6/30");
    }
    keys.ipv4("peer", g.peer, true);
    keys.number("mtu", g.mtu, 576, 65535);
    if (auto k = keys.get("mss")) {
      if (k->value == "off" || k->value == "no") g.mss = 0u;
      else if (k->value != "auto") {
        // 88: the smallest MSS Linux accepts; 65495 fills a 65535-byte packet.
        if (auto v = parse_uint(k->value, 65495); v && *v >= 88) g.mss = static_cast<unsigned>(*v);
        else keys.err(*k, "expected auto, off or a number from 88 to 65495");
      }
    }
    keys.number("ttl", g.ttl, 1, 255);
    if (auto k = keys.get("key")) {
      if (auto v = parse_uint(k->value, 0xffffffffULL)) {
        g.key = static_cast<std::uint32_t>(*v);
      } else if (auto a = parse_ip(k->value); a && a->is_v4()) {
        g.key = a->v4_host();  // `ip tunnel ... key a.b.c.d` form
      } else {
        keys.err(*k, "expected a 32-bit number or a dotted quad");
      }
    }
    if (auto k = keys.get("routes")) {
      for (auto item : split_list(k->value)) {
        auto p = parse_prefix(item);
        if (!p || !p->addr.is_v4()) {
          keys.err(*k, "malformed route '" + std::string(item) + "' (IPv4 CIDR)");
          continue;
        }
        g.routes.push_back(*p);
      }
    }
    g.keepalive_written = keys.get("keepalive") || keys.get("keepalive_retries");
    if (auto k = keys.get("keepalive")) {
      if (k->value == "reply") g.keepalive = GreConfig::Keepalive::reply;
      else if (k->value == "off" || k->value == "no") g.keepalive = GreConfig::Keepalive::off;
      else if (auto d = parse_duration_ms(k->value); d && d->count() >= 100) {
        g.keepalive = GreConfig::Keepalive::send;
        g.keepalive_interval = *d;
      } else {
        keys.err(*k, "expected reply, off or an interval of 100ms or more, such as 10s or 300ms");
      }
    }
    keys.number("keepalive_retries", g.keepalive_retries, 1, 255);
    if (auto k = keys.get("tun")) {
      if (auto b = ty.yes_no(*k)) g.tun = *b;
      else keys.ok = false;
    }
    if (!keys.ok) continue;
    // Which CHILD_SA carries the GRE packets.
    if (auto k = keys.get("conn")) {
      const ConnConfig* c = cfg.find_conn(k->value);
      if (!c) {
        bool ignored = std::find(cfg.ignored_conns.begin(), cfg.ignored_conns.end(), k->value) !=
                       cfg.ignored_conns.end();
        ty.err(*k, ignored ? "conn '" + k->value + "' has auto=ignore (a template), it carries no traffic"
                           : "no conn named '" + k->value + "'");
        continue;
      }
      if (!c->vti.empty()) {
        ty.err(*k, "conn '" + k->value + "' is route-based (vti=" + c->vti +
                       "): its traffic is what enters that device, not GRE built by swanless");
        continue;
      }
      if (!covers(c->left, g.local) || !covers(c->right, g.remote)) {
        ty.err(*k, "conn '" + k->value + "' traffic selectors do not cover local " +
                       g.local.to_string() + " / remote " + g.remote.to_string() + " for GRE");
        continue;
      }
      g.conn = k->value;
    } else {
      std::vector<std::string> found;
      for (const auto& c : cfg.conns)
        if (c.vti.empty() && covers(c.left, g.local) && covers(c.right, g.remote)) found.push_back(c.name);
      if (found.empty()) {
        r.error(s.file, s.line, "conn",
                     "no conn's traffic selectors cover local " + g.local.to_string() +
                         " / remote " + g.remote.to_string() + ": set conn=");
        continue;
      }
      if (found.size() > 1)
        r.warn(s.file, s.line, "conn",
                    "several conns cover this tunnel; using '" + found.front() + "' (set conn=)");
      g.conn = found.front();
    }
    for (const auto& o : cfg.gres) {
      if (o.local == g.local && o.remote == g.remote && o.key == g.key) {
        keys.error("", "gre " + g.name + " has the same local, remote and key as gre " + o.name);
      }
    }
    if (keys.ok) cfg.gres.push_back(std::move(g));
  }
}

}  // namespace config
