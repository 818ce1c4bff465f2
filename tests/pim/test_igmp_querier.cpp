#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "pim/igmp.h"
#include "pim/igmp_querier.h"

using common::Bytes;
using gre::ipv4;
using namespace pim::igmp;
using namespace std::chrono_literals;

namespace {

const std::uint32_t kLocal = ipv4(10, 44, 6, 1);
const std::uint32_t kHost = ipv4(10, 44, 6, 2);
const std::uint32_t kG = ipv4(239, 1, 2, 3);
const std::uint32_t kSsmG = ipv4(232, 1, 1, 1);
const std::uint32_t kS1 = ipv4(198, 51, 100, 10);
const std::uint32_t kS2 = ipv4(198, 51, 100, 11);
const TimePoint kT0 = TimePoint{} + 1000s;

struct Sent {
  TimePoint at;
  Message msg;
};

// A querier on a clock the test moves; everything it sends is parsed back, every change
// collected, and after each expiry next_expiry() must lie in the future.
struct Rig {
  Querier q;
  TimePoint now = kT0;
  std::vector<Sent> sent;
  std::vector<Change> changes;

  explicit Rig(QuerierConfig cfg = base()) : q(std::move(cfg)) {
    q.start(now);
    collect();
  }
  static QuerierConfig base() {
    QuerierConfig c;
    c.local = kLocal;
    return c;
  }
  void collect() {
    for (const Bytes& p : q.take_outbox()) {
      auto m = parse(p);
      REQUIRE(m.ok());
      CHECK(m->src == kLocal);
      sent.push_back(Sent{now, *m});
    }
    for (const Change& c : q.take_changes()) changes.push_back(c);
  }
  bool feed(const Bytes& p) {
    const bool ok = q.on_packet(p, now);
    collect();
    return ok;
  }
  bool v3(const std::vector<Record>& recs) { return feed(build_report_v3(kHost, recs)); }
  bool v2(Type t, std::uint32_t g) { return feed(build_report_v2(kHost, t, g)); }
  void advance_to(TimePoint t) {
    while (auto e = q.next_expiry()) {
      if (*e > t) break;
      REQUIRE(*e >= now);
      now = *e;
      q.on_expiry(now);
      collect();
      auto after = q.next_expiry();
      REQUIRE(after);
      REQUIRE(*after > now);
    }
    now = t;
  }
  void advance(Duration d) { advance_to(now + d); }
  std::vector<Change> take_changes() {
    std::vector<Change> out;
    out.swap(changes);
    return out;
  }
  std::vector<Sent> take_sent() {
    std::vector<Sent> out;
    out.swap(sent);
    return out;
  }
  const GroupStatus* group(std::uint32_t g) {
    status_ = q.status(now);
    for (const auto& gs : status_.groups)
      if (gs.group == g) return &gs;
    return nullptr;
  }
  QuerierStatus status_;
};

Change join(std::uint32_t s, std::uint32_t g) { return Change{s, g, true}; }
Change prune(std::uint32_t s, std::uint32_t g) { return Change{s, g, false}; }

}  // namespace

TEST_CASE("igmp querier: startup and general query timing", "[igmp][querier]") {
  Rig r;
  auto s = r.take_sent();
  REQUIRE(s.size() == 1);
  const Message& m = s[0].msg;
  CHECK(m.type == Type::query);
  CHECK(m.dst == kAllSystems);
  CHECK(m.router_alert);
  CHECK(m.query.version == 3);
  CHECK(m.query.group == 0);
  CHECK(m.query.max_resp_tenths == 100);
  CHECK(m.query.qrv == 2);
  CHECK(m.query.qqi_s == 125);
  // Startup: robustness (2) queries a quarter of the query interval apart, then 125 s.
  CHECK(r.q.next_expiry() == kT0 + 31250ms);
  r.advance_to(kT0 + 31250ms);
  CHECK(r.take_sent().size() == 1);
  CHECK(r.q.next_expiry() == kT0 + 31250ms + 125s);
  r.advance(125s);
  CHECK(r.take_sent().size() == 1);
  r.advance(125s * 3);
  CHECK(r.take_sent().size() == 3);
  CHECK(r.q.counters().general_queries_sent == 6);

  QuerierConfig c = Rig::base();
  c.startup_query_count = 3;
  c.startup_query_interval = 10s;
  c.query_interval = 60s;
  Rig r3(c);
  r3.advance(20s);
  auto s3 = r3.take_sent();
  REQUIRE(s3.size() == 3);
  CHECK(s3[1].at == kT0 + 10s);
  CHECK(s3[2].at == kT0 + 20s);
  CHECK(s3[2].msg.query.qqi_s == 60);
  CHECK(r3.q.next_expiry() == kT0 + 80s);

  c.version = 2;
  Rig r2(c);
  auto s2 = r2.take_sent();
  REQUIRE(s2.size() == 1);
  CHECK(s2[0].msg.query.version == 2);
  CHECK(s2[0].msg.query.max_resp_tenths == 100);
}

TEST_CASE("igmp querier: IS_EX join, no duplicate joins, expiry after GMI", "[igmp][querier]") {
  Rig r;
  r.take_sent();
  CHECK(r.q.group_membership_interval() == 260s);
  REQUIRE(r.v3({{RecordType::is_exclude, kG, {}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(0, kG)});
  const GroupStatus* gs = r.group(kG);
  REQUIRE(gs);
  CHECK(gs->mode == FilterMode::exclude);
  CHECK(gs->compat_version == 3);
  CHECK(gs->group_timer == Duration(260s));
  CHECK(gs->last_reporter == kHost);
  // The same report again: no second join, the timer refreshed.
  r.advance(100s);
  REQUIRE(r.v3({{RecordType::is_exclude, kG, {}}}));
  CHECK(r.take_changes().empty());
  gs = r.group(kG);
  CHECK(gs->group_timer == Duration(260s));
  CHECK(gs->uptime == Duration(100s));
  CHECK(r.q.counters().record(RecordType::is_exclude) == 2);
  CHECK(r.q.counters().reports_v3 == 2);
  // Nobody reports any more: the group goes at GMI after the last report.
  r.advance(259s);
  CHECK(r.q.group_count() == 1);
  CHECK(r.take_changes().empty());
  r.advance(1s);
  CHECK(r.take_changes() == std::vector<Change>{prune(0, kG)});
  CHECK(r.q.group_count() == 0);
  CHECK(r.q.counters().groups_expired == 1);
  // Only general queries went out: no report asked for a group query.
  for (const auto& s : r.take_sent()) CHECK(s.msg.query.group == 0);
}

TEST_CASE("igmp querier: TO_IN({}) leaves after last-member queries, re-report keeps", "[igmp][querier]") {
  Rig r;
  r.advance(40s);  // past the startup queries
  r.take_sent();
  REQUIRE(r.v3({{RecordType::to_exclude, kG, {}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(0, kG)});
  CHECK(r.take_sent().empty());  // TO_EX({}) on a new group: Q(G,A*B) has no sources

  SECTION("nobody answers") {
    const TimePoint leave = r.now;
    REQUIRE(r.v3({{RecordType::to_include, kG, {}}}));
    auto s = r.take_sent();
    REQUIRE(s.size() == 1);
    CHECK(s[0].msg.dst == kG);
    CHECK(s[0].msg.query.group == kG);
    CHECK(s[0].msg.query.max_resp_tenths == 10);
    CHECK_FALSE(s[0].msg.query.suppress);
    CHECK(s[0].msg.query.sources.empty());
    CHECK(r.group(kG)->group_timer == Duration(2s));  // lowered to LMQT
    CHECK(r.q.next_expiry() == leave + 1s);           // the retransmission
    r.advance(1s);
    s = r.take_sent();
    REQUIRE(s.size() == 1);
    CHECK(s[0].at == leave + 1s);
    CHECK_FALSE(s[0].msg.query.suppress);
    CHECK(r.q.next_expiry() == leave + 2s);  // the group timer
    CHECK(r.take_changes().empty());
    r.advance(1s);
    CHECK(r.take_changes() == std::vector<Change>{prune(0, kG)});
    CHECK(r.take_sent().empty());  // LMQC = 2: no third query
    CHECK(r.q.group_count() == 0);
    CHECK(r.q.counters().group_queries_sent == 2);
  }
  SECTION("the host re-reports between the queries") {
    REQUIRE(r.v3({{RecordType::to_include, kG, {}}}));
    r.take_sent();
    r.advance(500ms);
    REQUIRE(r.v3({{RecordType::is_exclude, kG, {}}}));
    r.advance(500ms);
    auto s = r.take_sent();
    REQUIRE(s.size() == 1);
    CHECK(s[0].msg.query.suppress);  // §6.6.3.1: the group timer is above LMQT again
    r.advance(10s);
    CHECK(r.take_changes().empty());
    CHECK(r.group(kG)->group_timer == Duration(260s - 10500ms));
  }
}

TEST_CASE("igmp querier: v2 report, v2 leave, v2 compatibility mode", "[igmp][querier]") {
  Rig r;
  r.take_sent();
  REQUIRE(r.v2(Type::v2_report, kG));
  CHECK(r.take_changes() == std::vector<Change>{join(0, kG)});
  const GroupStatus* gs = r.group(kG);
  REQUIRE(gs);
  CHECK(gs->compat_version == 2);
  CHECK(gs->mode == FilterMode::exclude);
  CHECK(gs->older_host == Duration(260s));
  // In v2 mode: BLOCK ignored, TO_EX(x) is TO_EX({}).
  REQUIRE(r.v3({{RecordType::block_old, kG, {kS1}}}));
  CHECK(r.take_sent().empty());
  REQUIRE(r.v3({{RecordType::to_exclude, kG, {kS1}}}));
  CHECK(r.group(kG)->sources.empty());
  CHECK(r.take_changes().empty());

  SECTION("leave") {
    REQUIRE(r.v2(Type::v2_leave, kG));
    CHECK(r.q.counters().leaves == 1);
    auto s = r.take_sent();
    REQUIRE(s.size() == 1);
    CHECK(s[0].msg.query.group == kG);
    r.advance(1s);
    CHECK(r.take_sent().size() == 1);
    r.advance(1s);
    CHECK(r.take_changes() == std::vector<Change>{prune(0, kG)});
    CHECK(r.q.group_count() == 0);
    // A leave for a group we do not have: accepted, nothing happens.
    REQUIRE(r.v2(Type::v2_leave, kG));
    CHECK(r.take_sent().empty());
  }
  SECTION("v1 report, and back to v3 when the older host timer runs out") {
    REQUIRE(r.v2(Type::v1_report, kG));
    CHECK(r.q.counters().reports_v1 == 1);
    r.advance(200s);
    REQUIRE(r.v3({{RecordType::is_exclude, kG, {}}}));  // keeps the group, not the v2 mode
    r.advance(60s);
    CHECK(r.group(kG)->compat_version == 3);
    REQUIRE(r.v3({{RecordType::block_old, kG, {kS1}}}));  // now acted upon
    auto s = r.take_sent();
    bool gssq = false;
    for (const auto& x : s) gssq |= x.msg.query.sources == std::vector<std::uint32_t>{kS1};
    CHECK(gssq);
    CHECK(r.take_changes().empty());
  }
}

TEST_CASE("igmp querier: INCLUDE sources, BLOCK one, only that one is pruned", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1, kS2}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(kS1, kG), join(kS2, kG)});
  const GroupStatus* gs = r.group(kG);
  REQUIRE(gs);
  CHECK(gs->mode == FilterMode::include);
  REQUIRE(gs->sources.size() == 2);
  CHECK(gs->sources[0].remaining == Duration(260s));
  CHECK_FALSE(gs->group_timer);

  const TimePoint block = r.now;
  REQUIRE(r.v3({{RecordType::block_old, kG, {kS1}}}));
  auto s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.dst == kG);
  CHECK(s[0].msg.query.sources == std::vector<std::uint32_t>{kS1});
  CHECK_FALSE(s[0].msg.query.suppress);
  CHECK(r.q.next_expiry() == block + 1s);
  r.advance(1s);
  s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.sources == std::vector<std::uint32_t>{kS1});
  CHECK(r.q.next_expiry() == block + 2s);
  r.advance(1s);
  CHECK(r.take_changes() == std::vector<Change>{prune(kS1, kG)});
  gs = r.group(kG);
  REQUIRE(gs);
  REQUIRE(gs->sources.size() == 1);
  CHECK(gs->sources[0].source == kS2);
  CHECK(r.q.counters().group_source_queries_sent == 2);

  // ALLOW brings S1 back; the last source timing out deletes the group.
  REQUIRE(r.v3({{RecordType::allow_new, kG, {kS1}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(kS1, kG)});
  r.advance(260s);
  auto c = r.take_changes();
  CHECK(c.size() == 2);
  CHECK(r.q.group_count() == 0);
}

TEST_CASE("igmp querier: a re-report answering a source query keeps the source", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1, kS2}}}));
  REQUIRE(r.v3({{RecordType::to_include, kG, {kS2}}}));  // Q(G, A-B) = Q(G, {S1})
  auto s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.sources == std::vector<std::uint32_t>{kS1});
  r.advance(300ms);
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1, kS2}}}));
  r.advance(700ms);
  s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.suppress);  // S1's timer is back above LMQT
  r.advance(5s);
  r.take_changes();
  REQUIRE(r.group(kG)->sources.size() == 2);
}

TEST_CASE("igmp querier: EXCLUDE <-> INCLUDE transitions", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(kS1, kG)});
  // INCLUDE(A) + IS_EX(B={}): EXCLUDE, S1 deleted. Join (*,G) before pruning (S1,G).
  REQUIRE(r.v3({{RecordType::is_exclude, kG, {}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(0, kG), prune(kS1, kG)});
  CHECK(r.group(kG)->sources.empty());
  // EXCLUDE + TO_IN({S2}): S2 requested, Q(G) lowers the group timer.
  REQUIRE(r.v3({{RecordType::to_include, kG, {kS2}}}));
  auto s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.group == kG);
  CHECK(s[0].msg.query.sources.empty());
  CHECK(r.take_changes().empty());  // still EXCLUDE: (*,G) covers S2
  r.advance(2s);
  CHECK(r.take_sent().size() == 1);  // the retransmitted Q(G)
  // Group timer out with S2 running: INCLUDE({S2}).
  CHECK(r.take_changes() == std::vector<Change>{join(kS2, kG), prune(0, kG)});
  const GroupStatus* gs = r.group(kG);
  REQUIRE(gs);
  CHECK(gs->mode == FilterMode::include);
  REQUIRE(gs->sources.size() == 1);
  CHECK(gs->sources[0].joined);

  // INCLUDE({S2}) + TO_EX({S2, S1}): EXCLUDE(A*B={S2}, B-A={S1}); Q(G,{S2}).
  REQUIRE(r.v3({{RecordType::to_exclude, kG, {kS2, kS1}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(0, kG), prune(kS2, kG)});
  s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.sources == std::vector<std::uint32_t>{kS2});
  gs = r.group(kG);
  REQUIRE(gs->sources.size() == 2);
  CHECK_FALSE(gs->sources[0].remaining);  // S1 excluded (timer zero)
  CHECK(gs->sources[1].remaining == Duration(2s));
  // S2 times out into the excluded list: still (*,G), nothing changes.
  r.advance(3s);
  CHECK(r.take_changes().empty());
  gs = r.group(kG);
  REQUIRE(gs->sources.size() == 2);
  CHECK_FALSE(gs->sources[1].remaining);
  // EXCLUDE + IS_IN({S1}): S1 requested again (X), still EXCLUDE.
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1}}}));
  CHECK(r.group(kG)->sources[0].remaining == Duration(260s));
  CHECK(r.take_changes().empty());
  // Group timer expiry, S1 still running: INCLUDE({S1}); S2 (excluded) dropped.
  r.advance(256s);
  CHECK(r.take_changes().empty());
  r.advance(1s);  // 260 s after the TO_EX
  CHECK(r.take_changes() == std::vector<Change>{join(kS1, kG), prune(0, kG)});
  gs = r.group(kG);
  REQUIRE(gs);
  REQUIRE(gs->sources.size() == 1);
  CHECK(gs->sources[0].source == kS1);
}

TEST_CASE("igmp querier: EXCLUDE BLOCK and TO_EX source rules", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  REQUIRE(r.v3({{RecordType::is_exclude, kG, {kS1}}}));  // EXCLUDE({}, {S1})
  r.take_changes();
  // BLOCK({S2}): S2 gets the group timer (X), Q(G,{S2}).
  REQUIRE(r.v3({{RecordType::block_old, kG, {kS2}}}));
  auto s = r.take_sent();
  REQUIRE(s.size() == 1);
  CHECK(s[0].msg.query.sources == std::vector<std::uint32_t>{kS2});
  // BLOCK({S1}) of an excluded source: A-Y empty, no query.
  REQUIRE(r.v3({{RecordType::block_old, kG, {kS1}}}));
  CHECK(r.take_sent().empty());
  CHECK(r.take_changes().empty());
  CHECK(r.q.status(r.now).groups[0].mode == FilterMode::exclude);
}

TEST_CASE("igmp querier: SSM range, allow and deny, link-local and unicast groups", "[igmp][querier]") {
  QuerierConfig c = Rig::base();
  c.allow = {Prefix{ipv4(239, 0, 0, 0), 8}, Prefix{ipv4(232, 0, 0, 0), 8}};
  c.deny = {Prefix{ipv4(239, 255, 0, 0), 16}};
  Rig r(c);
  REQUIRE(r.v3({{RecordType::is_exclude, kSsmG, {}}, {RecordType::to_exclude, kSsmG, {kS1}}}));
  CHECK(r.q.counters().drop(Drop::ssm_exclude_ignored) == 2);
  CHECK_FALSE(r.v2(Type::v2_report, kSsmG));
  CHECK(r.q.counters().drop(Drop::ssm_exclude_ignored) == 3);
  REQUIRE(r.v3({{RecordType::is_include, kSsmG, {kS1}}}));
  CHECK(r.take_changes() == std::vector<Change>{join(kS1, kSsmG)});

  REQUIRE(r.v3({{RecordType::is_exclude, ipv4(239, 255, 1, 1), {}},
                {RecordType::is_exclude, ipv4(238, 1, 1, 1), {}},
                {RecordType::is_exclude, ipv4(224, 0, 0, 251), {}},
                {RecordType::is_exclude, ipv4(10, 0, 0, 1), {}},
                {RecordType::is_exclude, ipv4(239, 1, 1, 1), {}}}));
  CHECK(r.q.counters().drop(Drop::denied) == 2);
  CHECK(r.q.counters().drop(Drop::not_multicast_group) == 2);
  CHECK(r.take_changes() == std::vector<Change>{join(0, ipv4(239, 1, 1, 1))});
  CHECK_FALSE(r.v2(Type::v2_report, ipv4(239, 255, 9, 9)));
  CHECK(r.q.group_count() == 2);

  // An empty allow list allows every multicast group.
  Rig open;
  REQUIRE(open.v2(Type::v2_report, ipv4(238, 1, 1, 1)));
  CHECK(open.take_changes().size() == 1);
}

TEST_CASE("igmp querier: max_groups refuses new groups, keeps serving old ones", "[igmp][querier]") {
  QuerierConfig c = Rig::base();
  c.max_groups = 2;
  Rig r(c);
  REQUIRE(r.v2(Type::v2_report, ipv4(239, 0, 0, 1)));
  REQUIRE(r.v2(Type::v2_report, ipv4(239, 0, 0, 2)));
  CHECK_FALSE(r.v2(Type::v2_report, ipv4(239, 0, 0, 3)));
  REQUIRE(r.v3({{RecordType::is_exclude, ipv4(239, 0, 0, 4), {}}, {RecordType::is_exclude, ipv4(239, 0, 0, 1), {}}}));
  CHECK(r.q.counters().drop(Drop::too_many_groups) == 2);
  CHECK(r.q.group_count() == 2);
  CHECK(r.take_changes().size() == 2);
  // A TO_IN({}) for an unknown group creates nothing and is not refused.
  REQUIRE(r.v3({{RecordType::to_include, ipv4(239, 0, 0, 5), {}}}));
  CHECK(r.q.counters().drop(Drop::too_many_groups) == 2);
}

TEST_CASE("igmp querier: foreign queries and bad packets are counted", "[igmp][querier]") {
  Rig r;
  CHECK_FALSE(r.feed(build_query(ipv4(10, 44, 6, 9), Query{})));
  CHECK(r.q.counters().drop(Drop::foreign_query) == 1);
  Bytes bad = build_report_v2(kHost, Type::v2_report, kG);
  bad.back() ^= std::byte{1};
  CHECK_FALSE(r.feed(bad));
  CHECK(r.q.counters().drop(Drop::bad_checksum) == 1);
  CHECK_FALSE(r.feed(Bytes(10)));
  CHECK(r.q.counters().drop(Drop::ip_malformed) == 1);
  gre::Ipv4Header h;
  h.protocol = 17;
  h.src = kHost;
  h.dst = kG;
  CHECK_FALSE(r.feed(gre::build_ipv4(h, Bytes(8))));
  CHECK(r.q.counters().drop(Drop::not_igmp) == 1);
  CHECK(to_string(Drop::ssm_exclude_ignored) == "ssm_exclude_ignored");
  CHECK(r.q.group_count() == 0);
  CHECK(r.q.counters().packets_received == 4);
  // Before start() nothing is accepted.
  Querier idle(Rig::base());
  CHECK_FALSE(idle.on_packet(build_report_v2(kHost, Type::v2_report, kG), kT0));
  CHECK_FALSE(idle.next_expiry());
}

TEST_CASE("igmp querier: 2000 groups in packed v3 reports, then all expire", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  std::vector<Record> recs;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    recs.push_back(Record{RecordType::is_exclude, ipv4(239, 10, 0, 0) + i, {}});
    if (recs.size() == 500) {
      REQUIRE(r.v3(recs));
      recs.clear();
    }
  }
  CHECK(r.q.group_count() == 2000);
  auto c = r.take_changes();
  REQUIRE(c.size() == 2000);
  for (const auto& x : c) CHECK(x.join);
  CHECK(r.q.next_expiry() == kT0 + 156250ms);  // the next general query comes first
  // Half of them re-reported 100 s later live on.
  r.advance(100s);
  for (std::uint32_t i = 0; i < 1000; ++i) recs.push_back(Record{RecordType::is_exclude, ipv4(239, 10, 0, 0) + i, {}});
  REQUIRE(r.v3(recs));
  CHECK(r.take_changes().empty());
  r.advance(160s);
  c = r.take_changes();
  CHECK(c.size() == 1000);
  for (const auto& x : c) CHECK_FALSE(x.join);
  CHECK(r.q.group_count() == 1000);
  r.advance(100s);
  CHECK(r.take_changes().size() == 1000);
  CHECK(r.q.group_count() == 0);
  CHECK(r.q.counters().groups_expired == 2000);
}

TEST_CASE("igmp querier: stop() prunes every joined entry and goes quiet", "[igmp][querier]") {
  Rig r;
  REQUIRE(r.v3({{RecordType::is_include, kG, {kS1, kS2}}, {RecordType::is_exclude, ipv4(239, 9, 9, 9), {}}}));
  REQUIRE(r.v2(Type::v2_report, ipv4(239, 8, 8, 8)));
  CHECK(r.take_changes().size() == 4);
  r.take_sent();
  r.q.stop();
  r.collect();
  auto c = r.take_changes();
  CHECK(c == std::vector<Change>{prune(kS1, kG), prune(kS2, kG), prune(0, ipv4(239, 8, 8, 8)),
                                 prune(0, ipv4(239, 9, 9, 9))});
  CHECK_FALSE(r.q.next_expiry());
  CHECK(r.q.group_count() == 0);
  CHECK_FALSE(r.v2(Type::v2_report, kG));
  CHECK(r.q.counters().drop(Drop::stopped) == 1);
  r.q.on_expiry(r.now + 1000s);
  r.collect();
  CHECK(r.take_sent().empty());
  CHECK(r.take_changes().empty());
  r.q.stop();  // twice is harmless
  CHECK(r.q.take_changes().empty());
}

TEST_CASE("igmp querier: long source lists go out in queries that fit 1500 bytes", "[igmp][querier]") {
  Rig r;
  r.advance(40s);
  r.take_sent();
  std::vector<std::uint32_t> srcs;
  for (std::uint32_t i = 0; i < 400; ++i) srcs.push_back(ipv4(198, 18, 0, 0) + i);
  REQUIRE(r.v3({{RecordType::is_include, kG, srcs}}));
  CHECK(r.take_changes().size() == 400);
  REQUIRE(r.v3({{RecordType::to_include, kG, {}}}));  // Q(G, A) for all 400
  auto s = r.take_sent();
  REQUIRE(s.size() == 2);
  CHECK(s[0].msg.query.sources.size() == 366);
  CHECK(s[1].msg.query.sources.size() == 34);
  CHECK(build_query(kLocal, s[0].msg.query).size() == 1500);
  r.advance(2s);
  CHECK(r.take_changes().size() == 400);
  CHECK(r.q.group_count() == 0);
}
