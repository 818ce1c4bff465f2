// Two IKE Engines wired back to back in memory with a fake clock, shared by the engine
// tests: the dc-tun peer pair of the reference write-up, the Side that records each
// engine's events, and the Wire that carries datagrams (optionally dropping or
// duplicating them) and fires timers.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ike/engine.h"

namespace ike_test {

using namespace ike;
using common::IpAddr;

inline const IpAddr kA = IpAddr::v4(0xc0000201);  // 192.0.2.1
inline const IpAddr kB = IpAddr::v4(0xc0000202);  // 192.0.2.2

inline common::TrafficSelector net(const char* p) { return common::TrafficSelector::from_prefix(*common::Prefix::parse(p)); }

inline std::vector<Proposal> props(const char* text, Protocol proto) {
  auto s = parse_proposals(text, proto);
  REQUIRE(s.ok());
  return s->proposals;
}

inline PeerConfig peer(bool a_side, const char* ike, const char* esp) {
  PeerConfig c;
  c.name = "dc-tun";
  c.local_addr = a_side ? kA : kB;
  c.remote_addr = a_side ? kB : kA;
  c.local_id = Identity::from_string(a_side ? "192.0.2.1" : "192.0.2.2");
  c.remote_id = Identity::from_string(a_side ? "192.0.2.2" : "192.0.2.1");
  c.psk = common::to_bytes(common::as_bytes("long random shared secret"));
  c.ike_proposals = props(ike, Protocol::ike);
  ChildConfig gre;
  gre.name = "dc-tun-gre";
  gre.local_ts = {net(a_side ? "10.44.6.1/32" : "10.44.7.1/32")};
  gre.remote_ts = {net(a_side ? "10.44.7.1/32" : "10.44.6.1/32")};
  gre.esp_proposals = props(esp, Protocol::esp);
  ChildConfig tcp;
  tcp.name = "dc-tun-tcp";
  tcp.local_ts = {net(a_side ? "10.45.8.16/28" : "100.15.30.0/24")};
  tcp.remote_ts = {net(a_side ? "100.15.30.0/24" : "10.45.8.16/28")};
  tcp.esp_proposals = props(esp, Protocol::esp);
  c.children = {gre, tcp};
  return c;
}

// Both ends of dc-tun with one suite for IKE and ESP: {A's config, B's config}.
inline std::pair<PeerConfig, PeerConfig> peers(const char* suite = "aes256-sha256-modp2048!") {
  return {peer(true, suite, suite), peer(false, suite, suite)};
}

// The dc-tun pair authenticating with signatures (no PSK), named `name`, with one CHILD_SA
// `child` between 10.99.0.1 and 10.99.0.2; the caller sets the keys or certificates.
inline PeerConfig signing_peer(bool a_side, const char* name, const char* child) {
  PeerConfig c = peer(a_side, "aes256-sha256-modp2048!", "aes256-sha256!");
  c.name = name;
  c.auth = PeerConfig::Auth::pubkey;
  c.psk.clear();
  c.children.resize(1);
  c.children[0].name = child;
  c.children[0].local_ts = {net(a_side ? "10.99.0.1/32" : "10.99.0.2/32")};
  c.children[0].remote_ts = {net(a_side ? "10.99.0.2/32" : "10.99.0.1/32")};
  return c;
}

struct Side {
  common::crypto::SystemRandom rng;
  Engine e{rng};
  std::vector<ChildSaInstall> installs;
  std::vector<ChildSaRemove> removes;
  std::vector<IkeSaKeys> keys;
  std::vector<std::string> logs;
  std::vector<NatKeepalive> keepalives;
  std::vector<std::string> order;  // I<spi_in> install, R<spi_in> remove, O<spi_in> outbound live
  long pos(char what, std::uint32_t spi) const {
    auto it = std::find(order.begin(), order.end(), what + std::to_string(spi));
    return it == order.end() ? -1 : static_cast<long>(it - order.begin());
  }
  void drain_events() {
    for (auto& ev : e.events()) {
      if (auto* i = std::get_if<ChildSaInstall>(&ev)) installs.push_back(*i);
      if (auto* r = std::get_if<ChildSaRemove>(&ev)) removes.push_back(*r);
      if (auto* k = std::get_if<IkeSaKeys>(&ev)) keys.push_back(*k);
      if (auto* l = std::get_if<LogEvent>(&ev)) logs.push_back(l->text);
      if (auto* n = std::get_if<NatKeepalive>(&ev)) keepalives.push_back(*n);
      if (auto* i = std::get_if<ChildSaInstall>(&ev)) order.push_back("I" + std::to_string(i->spi_in));
      if (auto* r = std::get_if<ChildSaRemove>(&ev)) order.push_back("R" + std::to_string(r->spi_in));
      if (auto* o = std::get_if<ChildSaOutbound>(&ev)) order.push_back("O" + std::to_string(o->spi_in));
    }
    e.events().clear();
  }
  // The process restarts: all state is lost, the same config is loaded again.
  void restart(PeerConfig cfg) {
    e.~Engine();
    new (&e) Engine(rng);
    REQUIRE(e.add_peer(std::move(cfg)).ok());
    installs.clear();
    removes.clear();
    order.clear();
  }
  bool logged(std::string_view s) const {
    for (const auto& l : logs)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }
  std::size_t count_logged(std::string_view s) const {
    return static_cast<std::size_t>(
        std::count_if(logs.begin(), logs.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; }));
  }
  std::string all_logs() const {
    std::string s;
    for (const auto& l : logs) s += l + "\n";
    return s;
  }
};

// Delivers datagrams between the two engines; `filter` may drop or duplicate
// (returns how many copies to deliver).
struct Wire {
  Side a, b;
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::function<int(bool from_a, const OutDatagram&)> filter = [](bool, const OutDatagram&) { return 1; };
  std::vector<OutDatagram> sent_a, sent_b;

  void pump(int max_rounds = 50) {
    for (int i = 0; i < max_rounds; ++i) {
      a.drain_events();
      b.drain_events();
      auto oa = std::move(a.e.outbox());
      a.e.outbox().clear();
      auto ob = std::move(b.e.outbox());
      b.e.outbox().clear();
      if (oa.empty() && ob.empty()) return;
      for (auto& d : oa) {
        sent_a.push_back(d);
        int n = filter(true, d);
        for (int k = 0; k < n; ++k) b.e.on_datagram(d.remote, d.local, d.data, now);
      }
      for (auto& d : ob) {
        sent_b.push_back(d);
        int n = filter(false, d);
        for (int k = 0; k < n; ++k) a.e.on_datagram(d.remote, d.local, d.data, now);
      }
    }
  }
  // Advance the clock to the next timer of either side and fire it.
  bool tick() {
    auto ea = a.e.next_expiry(), eb = b.e.next_expiry();
    std::optional<TimePoint> t = ea;
    if (eb && (!t || *eb < *t)) t = eb;
    if (!t) return false;
    if (*t > now) now = *t;
    a.e.on_expiry(now);
    b.e.on_expiry(now);
    pump();
    return true;
  }
};

inline void check_mirror(const ChildSaInstall& x, const ChildSaInstall& y) {
  CHECK(x.spi_in == y.spi_out);
  CHECK(x.spi_out == y.spi_in);
  CHECK(x.encr_key_in == y.encr_key_out);
  CHECK(x.encr_key_out == y.encr_key_in);
  CHECK(x.integ_key_in == y.integ_key_out);
  CHECK(x.integ_key_out == y.integ_key_in);
  CHECK(x.encr_key_in != x.encr_key_out);
  CHECK(x.local_ts == y.remote_ts);
  CHECK(x.remote_ts == y.local_ts);
  CHECK(x.encr == y.encr);
  CHECK(x.integ == y.integ);
  CHECK(x.child_name == y.child_name);
  CHECK(!x.encr_key_in.empty());
}

inline bool established(const Engine& e, TimePoint now) {
  auto s = e.status(now);
  return s.size() == 1 && s[0].state == "ESTABLISHED";
}

// Short lifetimes: CHILD_SAs rekey at 20-8 s, IKE_SA at 60-8 s, no fuzz unless asked.
inline void short_lifetimes(PeerConfig& c, Seconds child_life, Seconds ike_life, unsigned fuzz = 0) {
  c.ike_lifetime = ike_life;
  c.rekey_margin = Seconds{8};
  c.rekey_fuzz_percent = fuzz;
  for (auto& ch : c.children) {
    ch.lifetime = child_life;
    ch.rekey_margin = Seconds{8};
    ch.rekey_fuzz_percent = fuzz;
  }
}

// Both peers added, A initiates `child`, the wire runs until quiet (whatever the outcome).
inline void start_child(Wire& w, PeerConfig a, PeerConfig b, const char* child) {
  REQUIRE(w.a.e.add_peer(std::move(a)).ok());
  REQUIRE(w.b.e.add_peer(std::move(b)).ok());
  REQUIRE(w.a.e.initiate(child, w.now).ok());
  w.pump();
}

// Brings both sides up (A initiates), returns after both children are installed.
inline void bring_up(Wire& w, PeerConfig a, PeerConfig b) {
  REQUIRE(w.a.e.add_peer(std::move(a)).ok());
  REQUIRE(w.b.e.add_peer(std::move(b)).ok());
  REQUIRE(w.a.e.initiate("dc-tun", w.now).ok());
  w.pump();
  REQUIRE(established(w.a.e, w.now));
  REQUIRE(established(w.b.e, w.now));
  REQUIRE(w.a.installs.size() == 2);
  REQUIRE(w.b.installs.size() == 2);
}

// Advances the clock timer by timer until `until`.
inline void run_until(Wire& w, TimePoint until) {
  for (int i = 0; i < 10000; ++i) {
    auto ea = w.a.e.next_expiry(), eb = w.b.e.next_expiry();
    std::optional<TimePoint> t = ea;
    if (eb && (!t || *eb < *t)) t = eb;
    if (!t || *t > until) break;
    w.tick();
  }
  w.now = until;
  w.a.e.on_expiry(w.now);
  w.b.e.on_expiry(w.now);
  w.pump();
}

// The SAs a side has installed and not removed, by inbound SPI.
inline std::map<std::uint32_t, ChildSaInstall> live(const Side& s) {
  std::map<std::uint32_t, ChildSaInstall> m;
  for (const auto& i : s.installs) m[i.spi_in] = i;
  for (const auto& r : s.removes) m.erase(r.spi_in);
  return m;
}

// Both sides hold exactly one live, mirrored SA per conn.
inline void check_one_pair_each(const Wire& w) {
  auto la = live(w.a), lb = live(w.b);
  REQUIRE(la.size() == 2);
  REQUIRE(lb.size() == 2);
  std::set<std::string> names;
  for (const auto& [spi, x] : la) {
    names.insert(x.child_name);
    REQUIRE(lb.count(x.spi_out) == 1);
    check_mirror(x, lb.at(x.spi_out));
  }
  CHECK(names.size() == 2);
}

// Every removal of an SA on either side comes after its successor (same conn) was
// installed on that side: traffic always has an SA to go to.
inline void check_make_before_break(const Side& s) {
  for (const auto& r : s.removes) {
    long rp = s.pos('R', r.spi_in);
    bool successor_first = false;
    for (const auto& i : s.installs)
      if (i.child_name == r.child_name && i.spi_in != r.spi_in && s.pos('I', i.spi_in) < rp) successor_first = true;
    CHECK(successor_first);
  }
}

inline std::uint32_t unique_id_of(const Side& s, const std::string& name) {
  for (const auto& i : s.installs)
    if (i.child_name == name) return i.unique_id;
  return 0;
}

}  // namespace ike_test
