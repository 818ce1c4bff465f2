// Reauthentication (reauth=yes) between two in-memory Engines with a fake clock: a new
// IKE_SA with a full IKE_AUTH replaces the old one, from either side, make-before-break
// (the CHILD_SAs are re-created before the old IKE_SA and its CHILD_SAs are deleted, the
// answering side's new outbound SAs wait for the old ones to go), no INITIAL_CONTACT; a
// reauthentication that fails leaves the old IKE_SA in place and is retried.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "ike/engine.h"
#include "ike/message.h"
#include "tests/ike/two_peers.h"

using namespace ike;
using namespace ike_test;

namespace {

// The reauthenticating side: IKE_SA lifetime 60 s, margin 8 s, no fuzz (reauth at 52 s);
// the other side's IKE_SA would not rekey before 600 s. CHILD_SAs do not rekey.
void reauth_on(PeerConfig& me, PeerConfig& other) {
  short_lifetimes(me, Seconds{3600}, Seconds{60});
  short_lifetimes(other, Seconds{3600}, Seconds{600});
  me.reauth = true;
}

}  // namespace

TEST_CASE("reauth=yes: a new IKE_SA with full IKE_AUTH replaces the old, make-before-break, from either side") {
  bool a_reauths = GENERATE(true, false);
  INFO("reauthenticating: " << (a_reauths ? "A (IKE initiator)" : "B (IKE responder)"));
  Wire w;
  auto [pa, pb] = peers();
  if (a_reauths) reauth_on(pa, pb);
  else reauth_on(pb, pa);
  bring_up(w, pa, pb);
  Side& r = a_reauths ? w.a : w.b;  // reauthenticates
  Side& o = a_reauths ? w.b : w.a;  // answers
  const TimePoint t0 = w.now;
  auto st = r.e.status(w.now);
  REQUIRE(st.size() == 1);
  CHECK(st[0].reauth_in == Seconds{52});
  CHECK_FALSE(st[0].rekey_in);
  CHECK(o.e.status(w.now).at(0).rekey_in);
  CHECK_FALSE(o.e.status(w.now).at(0).reauth_in);
  const std::uint64_t old_spi = st[0].spi_i;
  const auto old_live_r = live(r), old_live_o = live(o);

  run_until(w, t0 + Seconds{51});
  CHECK_FALSE(r.logged("reauthenticating"));
  run_until(w, t0 + Seconds{70});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(r.logged("reauthenticating: building dc-tun"));
  CHECK(r.logged("reauthentication complete with 2 CHILD_SA(s), deleting the old IKE_SA"));
  // A full IKE_AUTH on the new IKE_SA: each side authenticated the other twice in all.
  CHECK(w.a.count_logged("with pre-shared key successful") == 2);
  CHECK(w.b.count_logged("with pre-shared key successful") == 2);
  // INITIAL_CONTACT went with the first contact only.
  CHECK(w.a.count_logged("peer sent INITIAL_CONTACT") + w.b.count_logged("peer sent INITIAL_CONTACT") == 1);
  CHECK(w.a.e.counters().ike_rekeys == 0);
  CHECK(w.b.e.counters().ike_rekeys == 0);
  // One IKE_SA each, the new one (the reauthenticating side initiated it).
  auto sr = r.e.status(w.now), so = o.e.status(w.now);
  REQUIRE(sr.size() == 1);
  REQUIRE(so.size() == 1);
  CHECK(sr[0].state == "ESTABLISHED");
  CHECK(so[0].state == "ESTABLISHED");
  CHECK(sr[0].spi_i != old_spi);
  CHECK(sr[0].initiator);
  CHECK(sr[0].spi_i == so[0].spi_i);
  CHECK(sr[0].children.size() == 2);
  CHECK(so[0].children.size() == 2);
  CHECK(sr[0].reauth_in);  // the next one is scheduled
  // The old CHILD_SAs are gone on both sides, new mirrored pairs took over, and every
  // removal came after its successor's install (no gap in the data path).
  check_one_pair_each(w);
  for (const auto& [spi, i] : old_live_r) CHECK(live(r).count(spi) == 0);
  for (const auto& [spi, i] : old_live_o) CHECK(live(o).count(spi) == 0);
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  // The answering side held its new outbound SAs back until the old CHILD_SAs went.
  for (const auto& [spi, i] : live(o)) {
    CHECK(i.outbound_deferred);
    long out = o.pos('O', spi);
    CHECK(out >= 0);
    for (const auto& [old, x] : old_live_o)
      if (x.child_name == i.child_name) CHECK(o.pos('R', old) < out);
  }
  for (const auto& [spi, i] : live(r)) CHECK_FALSE(i.outbound_deferred);
}

TEST_CASE("reauth=yes: a failed reauthentication keeps the old IKE_SA and is retried") {
  Wire w;
  auto [pa, pb] = peers();
  short_lifetimes(pa, Seconds{3600}, Seconds{1000});
  short_lifetimes(pb, Seconds{3600}, Seconds{3000});
  pa.rekey_margin = Seconds{300};  // reauth at 700 s, hard lifetime 1000 s
  pa.reauth = true;
  bring_up(w, pa, pb);
  const TimePoint t0 = w.now;
  const auto old_live = live(w.a);
  // B does not hear A's IKE_SA_INIT for a while: the new IKE_SA is given up.
  bool deaf = true;
  w.filter = [&](bool from_a, const OutDatagram& d) {
    auto h = Header::parse(d.data);
    return deaf && from_a && h && h->exchange == ExchangeType::ike_sa_init ? 0 : 1;
  };
  run_until(w, t0 + Seconds{880});
  INFO(w.a.all_logs() << "---\n" << w.b.all_logs());
  CHECK(w.a.logged("reauthenticating: building dc-tun"));
  CHECK(w.a.logged("reauthentication failed; retrying in 30 s"));
  // Untouched meanwhile: the same CHILD_SAs, nothing removed.
  CHECK(w.a.removes.empty());
  for (const auto& [spi, i] : old_live) CHECK(live(w.a).count(spi) == 1);
  CHECK(w.a.e.status(w.now).size() == 1);
  deaf = false;
  run_until(w, t0 + Seconds{960});
  CHECK(w.a.logged("reauthentication complete"));
  check_one_pair_each(w);
  check_make_before_break(w.a);
  check_make_before_break(w.b);
  auto sa = w.a.e.status(w.now), sb = w.b.e.status(w.now);
  REQUIRE(sa.size() == 1);
  REQUIRE(sb.size() == 1);
  CHECK(sa[0].spi_i == sb[0].spi_i);
  for (const auto& [spi, i] : old_live) CHECK(live(w.a).count(spi) == 0);
}
