#include "pim/igmp_querier.h"

#include <algorithm>

namespace pim::igmp {

namespace {

constexpr Duration kMinInterval = std::chrono::milliseconds(1);

unsigned tenths(Duration d) {
  const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 100;
  return static_cast<unsigned>(std::clamp<long long>(t, 0, kMaxCodeValue));
}

unsigned seconds(Duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return static_cast<unsigned>(std::clamp<long long>(s, 0, kMaxCodeValue));
}

bool any_contains(const std::vector<Prefix>& ps, std::uint32_t a) {
  return std::any_of(ps.begin(), ps.end(), [a](const Prefix& p) { return p.contains(a); });
}

bool is_exclude_record(RecordType t) { return t == RecordType::is_exclude || t == RecordType::to_exclude; }

// Sources per query: a 1500-byte packet holds the 24-byte IPv4 header, the 12-byte query
// and 366 addresses.
constexpr std::size_t kMaxQuerySources = 366;

}  // namespace

std::string_view to_string(Drop d) {
  switch (d) {
    case Drop::ip_malformed: return "ip_malformed";
    case Drop::not_igmp: return "not_igmp";
    case Drop::fragment: return "fragment";
    case Drop::truncated: return "truncated";
    case Drop::bad_checksum: return "bad_checksum";
    case Drop::malformed: return "malformed";
    case Drop::unsupported_type: return "unsupported_type";
    case Drop::not_multicast_group: return "not_multicast_group";
    case Drop::denied: return "denied";
    case Drop::ssm_exclude_ignored: return "ssm_exclude_ignored";
    case Drop::too_many_groups: return "too_many_groups";
    case Drop::foreign_query: return "foreign_query";
    case Drop::stopped: return "stopped";
    case Drop::count_: break;
  }
  return "?";
}

std::vector<Prefix> default_ssm_ranges() {
  std::vector<Prefix> v;
  v.push_back(Prefix{0xe8000000, 8});
  return v;
}

std::string_view to_string(FilterMode m) { return m == FilterMode::include ? "include" : "exclude"; }

Querier::Querier(QuerierConfig cfg) : cfg_(std::move(cfg)) {
  // Zero intervals would make a timer re-arm at the instant it fired.
  cfg_.robustness = std::max(cfg_.robustness, 1u);
  cfg_.query_interval = std::max(cfg_.query_interval, kMinInterval);
  lmqi_ = std::max(cfg_.last_member_query_interval, kMinInterval);
  lmqc_ = cfg_.last_member_query_count.value_or(cfg_.robustness);
  startup_interval_ = std::max(cfg_.startup_query_interval.value_or(cfg_.query_interval / 4), kMinInterval);
}

Duration Querier::group_membership_interval() const {
  return cfg_.query_interval * cfg_.robustness + cfg_.query_response_interval;
}
Duration Querier::last_member_query_time() const { return lmqi_ * lmqc_; }
Duration Querier::older_host_present_interval() const { return group_membership_interval(); }

// ---- queries ----

void Querier::emit_query(const Query& q) { outbox_.push_back(build_query(cfg_.local, q, ip_id_++)); }

void Querier::send_general_query(TimePoint now) {
  Query q;
  q.version = cfg_.version == 2 ? 2 : 3;
  q.max_resp_tenths = tenths(cfg_.query_response_interval);
  q.qrv = static_cast<std::uint8_t>(std::min(cfg_.robustness, 8u));  // 8 and up go out as 0
  q.qqi_s = seconds(cfg_.query_interval);
  emit_query(q);
  ++counters_.general_queries_sent;
  if (startup_left_ > 0) --startup_left_;
  next_general_ = now + (startup_left_ > 0 ? startup_interval_ : cfg_.query_interval);
}

void Querier::start(TimePoint now) {
  if (started_ || stopped_) return;
  started_ = true;
  startup_left_ = std::max(cfg_.startup_query_count.value_or(cfg_.robustness), 1u);
  send_general_query(now);  // the first of the startup queries (§8.7)
}

void Querier::send_last_member_queries(Group& g, TimePoint now) {
  const TimePoint lmqt = now + last_member_query_time();
  Query q;
  q.version = cfg_.version == 2 ? 2 : 3;
  q.group = g.addr;
  q.max_resp_tenths = tenths(lmqi_);
  q.qrv = static_cast<std::uint8_t>(std::min(cfg_.robustness, 8u));
  q.qqi_s = seconds(cfg_.query_interval);
  if (g.group_retransmits > 0) {
    // §6.6.3.1: S set when a report raised the group timer above LMQT since the first.
    q.suppress = g.group_timer && *g.group_timer > lmqt;
    emit_query(q);
    ++counters_.group_queries_sent;
    --g.group_retransmits;
  }
  // §6.6.3.2: the sources still to be queried, split by whether their timer is above
  // LMQT (S set) or not (S clear); one query per list (or more for long lists).
  Sources above, below;
  bool pending = g.group_retransmits > 0;
  for (auto& [addr, s] : g.sources) {
    if (s.retransmits == 0) continue;
    (s.timer && *s.timer > lmqt ? above : below).push_back(addr);
    pending |= --s.retransmits > 0;
  }
  for (bool suppress : {true, false}) {
    const Sources& list = suppress ? above : below;
    for (std::size_t i = 0; i < list.size(); i += kMaxQuerySources) {
      const std::size_t n = std::min(kMaxQuerySources, list.size() - i);
      q.suppress = suppress;
      q.sources.assign(list.begin() + static_cast<std::ptrdiff_t>(i), list.begin() + static_cast<std::ptrdiff_t>(i + n));
      emit_query(q);
      ++counters_.group_source_queries_sent;
    }
  }
  g.next_query = pending ? std::optional<TimePoint>(now + lmqi_) : std::nullopt;
}

void Querier::query_group(Group& g, TimePoint now) {
  const TimePoint lmqt = now + last_member_query_time();
  if (g.group_timer && *g.group_timer > lmqt) g.group_timer = lmqt;
  g.group_retransmits = lmqc_;
  send_last_member_queries(g, now);
}

void Querier::query_sources(Group& g, const Sources& srcs, TimePoint now) {
  // No v2 form for a source list: without the query no host could keep the sources,
  // so their timers are not lowered either.
  if (srcs.empty() || cfg_.version == 2) return;
  const TimePoint lmqt = now + last_member_query_time();
  bool any = false;
  for (std::uint32_t a : srcs) {
    auto it = g.sources.find(a);
    if (it == g.sources.end() || !it->second.timer) continue;
    if (*it->second.timer > lmqt) it->second.timer = lmqt;
    it->second.retransmits = lmqc_;
    any = true;
  }
  if (any) send_last_member_queries(g, now);
}

// ---- records ----

bool Querier::is_ssm(std::uint32_t group) const { return any_contains(cfg_.ssm, group); }

bool Querier::group_allowed(std::uint32_t group) {
  if (!is_multicast(group) || is_link_local_multicast(group)) return drop(Drop::not_multicast_group);
  if (any_contains(cfg_.deny, group)) return drop(Drop::denied);
  if (!cfg_.allow.empty() && !any_contains(cfg_.allow, group)) return drop(Drop::denied);
  return true;
}

Querier::Group* Querier::find_or_create(std::uint32_t group, bool create, TimePoint now) {
  if (auto it = groups_.find(group); it != groups_.end()) return &it->second;
  if (!create) return nullptr;
  if (groups_.size() >= cfg_.max_groups) {
    drop(Drop::too_many_groups);
    return nullptr;
  }
  Group& g = groups_[group];
  g.addr = group;
  g.created = now;
  ++counters_.groups_created;
  return &g;
}

void Querier::erase_source(Group& g, std::map<std::uint32_t, Source>::iterator it) {
  if (it->second.joined) prunes_.push_back(Change{it->first, g.addr, false});
  g.sources.erase(it);
}

// RFC 3376 §6.4.1 and §6.4.2. In INCLUDE mode A is the source list; in EXCLUDE mode X
// (running timers) and Y (timer zero) together are the source list. B is the record's.
void Querier::apply_record(Group& g, RecordType type, const Sources& b, TimePoint now) {
  const TimePoint gmi = now + group_membership_interval();
  // Membership tests against B from a sorted copy: O((|A| + |B|) log |B|) per record
  // rather than |A| * |B| for long source lists.
  Sources sorted_b = b;
  std::sort(sorted_b.begin(), sorted_b.end());
  auto in_b = [&sorted_b](std::uint32_t a) { return std::binary_search(sorted_b.begin(), sorted_b.end(), a); };
  auto refresh_b = [&] {  // (B) = GMI: adds B to A, or to X (out of Y)
    for (std::uint32_t a : b) g.sources[a].timer = gmi;
  };
  if (g.mode == FilterMode::include) {
    switch (type) {
      case RecordType::is_include:
      case RecordType::allow_new:  // INCLUDE(A+B); (B)=GMI
        refresh_b();
        return;
      case RecordType::to_include: {  // INCLUDE(A+B); (B)=GMI; Q(G,A-B)
        Sources a_minus_b;
        for (const auto& [a, s] : g.sources)
          if (!in_b(a)) a_minus_b.push_back(a);
        refresh_b();
        query_sources(g, a_minus_b, now);
        return;
      }
      case RecordType::block_old: {  // INCLUDE(A); Q(G,A*B)
        Sources a_and_b;
        for (std::uint32_t a : b)
          if (g.sources.count(a)) a_and_b.push_back(a);
        query_sources(g, a_and_b, now);
        return;
      }
      case RecordType::is_exclude:
      case RecordType::to_exclude: {  // EXCLUDE(A*B, B-A); (B-A)=0; delete (A-B); GT=GMI
        for (auto it = g.sources.begin(); it != g.sources.end();) {
          auto next = std::next(it);
          if (!in_b(it->first)) erase_source(g, it);
          it = next;
        }
        Sources a_and_b;
        for (std::uint32_t a : b) {
          auto [it, fresh] = g.sources.try_emplace(a);
          if (!fresh && it->second.timer) a_and_b.push_back(a);
        }
        g.mode = FilterMode::exclude;
        g.group_timer = gmi;
        if (type == RecordType::to_exclude) query_sources(g, a_and_b, now);  // Q(G,A*B)
        return;
      }
    }
    return;
  }
  // EXCLUDE(X,Y)
  switch (type) {
    case RecordType::is_include:
    case RecordType::allow_new:  // EXCLUDE(X+A, Y-A); (A)=GMI
      refresh_b();
      return;
    case RecordType::to_include: {  // EXCLUDE(X+A, Y-A); (A)=GMI; Q(G,X-A); Q(G)
      Sources x_minus_a;
      for (const auto& [a, s] : g.sources)
        if (s.timer && !in_b(a)) x_minus_a.push_back(a);
      refresh_b();
      query_sources(g, x_minus_a, now);
      query_group(g, now);
      return;
    }
    case RecordType::block_old: {  // EXCLUDE(X+(A-Y), Y); (A-X-Y)=GT; Q(G,A-Y)
      Sources a_minus_y;
      for (std::uint32_t a : b) {
        auto [it, fresh] = g.sources.try_emplace(a);
        if (fresh) it->second.timer = g.group_timer;
        if (it->second.timer) a_minus_y.push_back(a);
      }
      query_sources(g, a_minus_y, now);
      return;
    }
    case RecordType::is_exclude:
    case RecordType::to_exclude: {
      // EXCLUDE(A-Y, Y*A); delete (X-A), (Y-A); IS_EX: (A-X-Y)=GMI; TO_EX: (A-X-Y)=GT and
      // Q(G,A-Y); both: GT=GMI.
      for (auto it = g.sources.begin(); it != g.sources.end();) {
        auto next = std::next(it);
        if (!in_b(it->first)) erase_source(g, it);
        it = next;
      }
      const bool to_ex = type == RecordType::to_exclude;
      Sources a_minus_y;
      for (std::uint32_t a : b) {
        auto [it, fresh] = g.sources.try_emplace(a);
        if (fresh) it->second.timer = to_ex ? g.group_timer : std::optional<TimePoint>(gmi);
        if (it->second.timer) a_minus_y.push_back(a);
      }
      if (to_ex) query_sources(g, a_minus_y, now);
      g.group_timer = gmi;
      return;
    }
  }
}

void Querier::on_v3_record(const Record& rec, std::uint32_t reporter, TimePoint now) {
  ++counters_.records[static_cast<std::size_t>(rec.type) - 1];
  if (!group_allowed(rec.group)) return;
  const bool exclude = is_exclude_record(rec.type);
  if (exclude && is_ssm(rec.group)) {
    drop(Drop::ssm_exclude_ignored);
    return;
  }
  RecordType type = rec.type;
  const Sources* srcs = &rec.sources;
  const Sources none;
  if (auto it = groups_.find(rec.group); it != groups_.end() && it->second.older_host) {
    // §7.3.2, group in v2 compatibility: BLOCK(x) ignored, TO_EX(x) as TO_EX({}).
    if (type == RecordType::block_old) return;
    if (type == RecordType::to_exclude) srcs = &none;
  }
  // Only records that add to the state create a group: an INCLUDE({}) result is none.
  const bool adds = exclude || (type != RecordType::block_old && !srcs->empty());
  Group* g = find_or_create(rec.group, adds, now);
  if (!g) return;
  g->last_reporter = reporter;
  apply_record(*g, type, *srcs, now);
  settle(*g);
}

bool Querier::on_v1v2(Type type, std::uint32_t group, std::uint32_t reporter, TimePoint now) {
  if (type == Type::v1_report) ++counters_.reports_v1;
  if (type == Type::v2_report) ++counters_.reports_v2;
  if (type == Type::v2_leave) ++counters_.leaves;
  if (!group_allowed(group)) return false;
  if (is_ssm(group)) return drop(Drop::ssm_exclude_ignored);  // RFC 4604 §2.2.1
  if (type == Type::v2_leave) {  // TO_IN({})
    Group* g = find_or_create(group, false, now);
    if (!g) return true;  // nothing to leave
    apply_record(*g, RecordType::to_include, {}, now);
    settle(*g);
    return true;
  }
  Group* g = find_or_create(group, true, now);
  if (!g) return false;
  g->last_reporter = reporter;
  g->older_host = now + older_host_present_interval();
  apply_record(*g, RecordType::is_exclude, {}, now);  // IS_EX({})
  settle(*g);
  return true;
}

bool Querier::on_packet(common::ByteSpan ipv4, TimePoint now) {
  ++counters_.packets_received;
  if (!started_ || stopped_) return drop(Drop::stopped);
  IpInfo ip;
  switch (check_ipv4(ipv4, ip)) {
    case IpReject::none: break;
    case IpReject::bad_header: return drop(Drop::ip_malformed);
    case IpReject::not_igmp: return drop(Drop::not_igmp);
    case IpReject::fragment: return drop(Drop::fragment);
  }
  auto m = parse_igmp(ip.igmp);
  if (!m) {
    switch (m.error().code) {
      case common::Errc::truncated: return drop(Drop::truncated);
      case common::Errc::integrity: return drop(Drop::bad_checksum);
      case common::Errc::unsupported: return drop(Drop::unsupported_type);
      default: return drop(Drop::malformed);
    }
  }
  switch (m->type) {
    case Type::query: return drop(Drop::foreign_query);
    case Type::v3_report:
      ++counters_.reports_v3;
      counters_.skipped_records += m->skipped_records;
      for (const Record& rec : m->records) on_v3_record(rec, ip.src, now);
      return true;
    default: return on_v1v2(m->type, m->group, ip.src, now);
  }
}

// ---- timers and changes ----

std::optional<TimePoint> Querier::group_deadline(const Group& g) const {
  std::optional<TimePoint> d;
  auto take = [&d](const std::optional<TimePoint>& t) {
    if (t && (!d || *t < *d)) d = t;
  };
  if (g.mode == FilterMode::exclude) take(g.group_timer);
  take(g.older_host);
  take(g.next_query);
  for (const auto& [a, s] : g.sources) take(s.timer);
  return d;
}

void Querier::reconcile(Group& g) {
  // Joins first, then prunes (make before break).
  const bool want_star = g.mode == FilterMode::exclude;
  if (want_star && !g.star_joined) {
    changes_.push_back(Change{0, g.addr, true});
    g.star_joined = true;
  }
  for (auto& [a, s] : g.sources) {
    const bool want = !want_star && s.timer.has_value();
    if (want && !s.joined) changes_.push_back(Change{a, g.addr, true});
    if (!want && s.joined) prunes_.push_back(Change{a, g.addr, false});
    s.joined = want;
  }
  if (!want_star && g.star_joined) {
    prunes_.push_back(Change{0, g.addr, false});
    g.star_joined = false;
  }
  changes_.insert(changes_.end(), prunes_.begin(), prunes_.end());
  prunes_.clear();
}

void Querier::erase_group(Group& g) {
  g.mode = FilterMode::include;
  for (auto it = g.sources.begin(); it != g.sources.end();) {
    auto next = std::next(it);
    erase_source(g, it);
    it = next;
  }
  reconcile(g);
  if (g.deadline) deadlines_.erase({*g.deadline, g.addr});
  groups_.erase(g.addr);
}

void Querier::settle(Group& g) {
  if (g.mode == FilterMode::include && g.sources.empty()) {
    ++counters_.groups_expired;
    erase_group(g);
    return;
  }
  reconcile(g);
  const std::optional<TimePoint> d = group_deadline(g);
  if (d == g.deadline) return;
  if (g.deadline) deadlines_.erase({*g.deadline, g.addr});
  if (d) deadlines_.insert({*d, g.addr});
  g.deadline = d;
}

void Querier::run_group_timers(Group& g, TimePoint now) {
  if (g.older_host && *g.older_host <= now) g.older_host.reset();  // back to v3 (§7.3.2)
  if (g.next_query && *g.next_query <= now) send_last_member_queries(g, now);
  for (auto it = g.sources.begin(); it != g.sources.end();) {
    auto next = std::next(it);
    if (it->second.timer && *it->second.timer <= now) {
      // §6.3: INCLUDE: the source goes; EXCLUDE: it moves to the excluded list.
      if (g.mode == FilterMode::include)
        erase_source(g, it);
      else
        it->second.timer.reset();
    }
    it = next;
  }
  if (g.mode == FilterMode::exclude && g.group_timer && *g.group_timer <= now) {
    // §6.2.2: to INCLUDE with the sources still running; the excluded ones go. With none
    // running the group is INCLUDE({}), which settle() deletes.
    g.mode = FilterMode::include;
    g.group_timer.reset();
    for (auto it = g.sources.begin(); it != g.sources.end();) {
      auto next = std::next(it);
      if (!it->second.timer) erase_source(g, it);
      it = next;
    }
  }
}

std::optional<TimePoint> Querier::next_expiry() const {
  if (!started_ || stopped_) return std::nullopt;
  std::optional<TimePoint> d = next_general_;
  if (!deadlines_.empty() && (!d || deadlines_.begin()->first < *d)) d = deadlines_.begin()->first;
  return d;
}

void Querier::on_expiry(TimePoint now) {
  if (!started_ || stopped_) return;
  if (next_general_ && *next_general_ <= now) send_general_query(now);
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Group& g = groups_.at(deadlines_.begin()->second);
    run_group_timers(g, now);
    settle(g);  // re-keys the deadline past now, or deletes the group
  }
}

void Querier::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::vector<std::uint32_t> addrs;
  addrs.reserve(groups_.size());
  for (const auto& [a, g] : groups_) addrs.push_back(a);
  std::sort(addrs.begin(), addrs.end());
  for (std::uint32_t a : addrs) erase_group(groups_.at(a));
  deadlines_.clear();
  next_general_.reset();
}

std::vector<common::Bytes> Querier::take_outbox() {
  std::vector<common::Bytes> out;
  out.swap(outbox_);
  return out;
}

std::vector<Change> Querier::take_changes() {
  std::vector<Change> out;
  out.swap(changes_);
  return out;
}

QuerierStatus Querier::status(TimePoint now) const {
  QuerierStatus st;
  st.started = started_;
  st.stopped = stopped_;
  if (next_general_) st.next_general_query = *next_general_ - now;
  st.startup_queries_left = startup_left_;
  st.counters = counters_;
  auto left = [now](const std::optional<TimePoint>& t) -> std::optional<Duration> {
    if (!t) return std::nullopt;
    return std::max(*t - now, Duration::zero());
  };
  st.groups.reserve(groups_.size());
  for (const auto& [addr, g] : groups_) {
    GroupStatus gs;
    gs.group = addr;
    gs.mode = g.mode;
    gs.compat_version = g.older_host ? 2 : 3;
    gs.group_timer = g.mode == FilterMode::exclude ? left(g.group_timer) : std::nullopt;
    gs.older_host = left(g.older_host);
    gs.last_reporter = g.last_reporter;
    gs.uptime = now - g.created;
    for (const auto& [a, s] : g.sources) gs.sources.push_back(SourceStatus{a, left(s.timer), s.joined});
    st.groups.push_back(std::move(gs));
  }
  std::sort(st.groups.begin(), st.groups.end(), [](const GroupStatus& x, const GroupStatus& y) { return x.group < y.group; });
  return st;
}

}  // namespace pim::igmp
