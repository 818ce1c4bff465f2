#include "pim/upstream.h"

#include <algorithm>

#include "gre/ipv4.h"

namespace pim {

namespace {

std::uint16_t to_seconds_u16(Duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return static_cast<std::uint16_t>(std::clamp<long long>(s, 0, 0xffff));
}

std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

std::string_view to_string(RxDrop r) {
  switch (r) {
    case RxDrop::ip_malformed: return "ip_malformed";
    case RxDrop::not_pim: return "not_pim";
    case RxDrop::truncated: return "truncated";
    case RxDrop::malformed: return "malformed";
    case RxDrop::unsupported: return "unsupported";
    case RxDrop::bad_checksum: return "bad_checksum";
    case RxDrop::not_from_neighbor: return "not_from_neighbor";
    case RxDrop::ignored_type: return "ignored_type";
    case RxDrop::after_shutdown: return "after_shutdown";
    case RxDrop::count_: break;
  }
  return "?";
}

Upstream::Upstream(UpstreamConfig cfg, std::uint32_t generation_id) : cfg_(std::move(cfg)) {
  status_.generation_id = generation_id;
  for (std::uint32_t g : cfg_.groups) add_want(0, g, kOriginConfig);
  for (const auto& sg : cfg_.sources) add_want(sg.source, sg.group, kOriginConfig);
}

GroupWant& Upstream::want(std::uint32_t group) {
  if (auto it = want_index_.find(group); it != want_index_.end()) return wants_[it->second];
  want_index_.emplace(group, wants_.size());
  status_.groups.push_back(group);
  wants_.emplace_back().group = group;
  return wants_.back();
}

void Upstream::erase_if_empty(std::uint32_t group) {
  auto it = want_index_.find(group);
  if (it == want_index_.end()) return;
  const std::size_t i = it->second;
  if (wants_[i].star || !wants_[i].sources.empty()) return;
  // Rare (the last member of a group left): keep the order, re-index what follows.
  wants_.erase(wants_.begin() + static_cast<std::ptrdiff_t>(i));
  status_.groups.erase(status_.groups.begin() + static_cast<std::ptrdiff_t>(i));
  want_index_.erase(it);
  for (std::size_t j = i; j < wants_.size(); ++j) want_index_[wants_[j].group] = j;
}

void Upstream::add_want(std::uint32_t source, std::uint32_t group, std::uint8_t origin) {
  GroupWant& w = want(group);
  if (source == 0) {
    w.star |= origin;
    return;
  }
  for (auto& s : w.sources)
    if (s.address == source) {
      s.origin |= origin;
      return;
    }
  w.sources.push_back({source, origin});
}

std::uint16_t Upstream::hello_holdtime_s() const {
  if (cfg_.hello_holdtime) return to_seconds_u16(*cfg_.hello_holdtime);
  return to_seconds_u16(cfg_.hello_interval * 7 / 2);
}

void Upstream::emit(const common::Bytes& pim) {
  outbox_.push_back(build_ipv4_packet(cfg_.local, pim, ip_id_++));
}

void Upstream::send_hello(TimePoint now, std::uint16_t holdtime) {
  Hello h;
  h.holdtime = holdtime;
  h.dr_priority = cfg_.dr_priority;
  h.generation_id = status_.generation_id;
  emit(build_hello(h));
  ++status_.counters.hellos_sent;
  status_.last_hello_sent = now;
  next_hello_ = now + cfg_.hello_interval;
}

// A group's entry of a Join/Prune: the (*,G) join (source = RP, S|W|R) and the group's
// (S,G) joins, as joins or as prunes.
GroupEntry Upstream::entry_of(const GroupWant& w, bool prune) const {
  GroupEntry e;
  e.group = w.group;
  auto& list = prune ? e.prunes : e.joins;
  if (w.star) list.push_back(EncodedSource{cfg_.rp, kSourceFlagsStarG, 32});
  for (const auto& src : w.sources) list.push_back(EncodedSource{src.address, kSourceFlagS, 32});
  return e;
}

std::vector<JoinPrune> Upstream::join_prune_messages(bool prune) const {
  std::vector<GroupEntry> entries;  // one per group, in the order of wants_
  entries.reserve(wants_.size());
  for (const auto& w : wants_) entries.push_back(entry_of(w, prune));
  return pack(std::move(entries));
}

// The periodic refresh of a join set that needs several messages is spread over the join
// interval, one message per tick, so thousands of groups do not leave as one burst that
// the router (and the tunnel) must take at once. Each message is built when it is sent,
// from the entries as they are then: a group pruned since the period began is not
// joined again by a stale copy. When the set shrinks during a period an entry may be
// skipped once; the holdtime (3.5 join intervals by default) covers that.
void Upstream::refresh_step(TimePoint now) {
  if (refresh_cursor_ == 0 || refresh_cursor_ >= wants_.size()) {
    refresh_cursor_ = 0;
    period_start_ = now;
    period_messages_ = std::max<std::size_t>(1, join_prune_messages(false).size());
  }
  JoinPrune jp;
  jp.upstream_neighbor = cfg_.neighbor;
  jp.holdtime = to_seconds_u16(cfg_.holdtime);
  std::size_t size = jp.encoded_size();
  while (refresh_cursor_ < wants_.size()) {
    GroupEntry e = entry_of(wants_[refresh_cursor_], false);
    const std::size_t add = 8 + 4 + 8 * e.joins.size();
    if (!jp.groups.empty() && (jp.groups.size() == 255 || size + add > cfg_.max_message)) break;
    jp.groups.push_back(std::move(e));
    size += add;
    ++refresh_cursor_;
  }
  if (!jp.groups.empty()) {
    emit(build_join_prune(jp));
    ++status_.counters.joins_sent;
    status_.last_join_sent = now;
  }
  status_.joined = !wants_.empty();
  if (refresh_cursor_ >= wants_.size()) {
    refresh_cursor_ = 0;
    next_join_ = std::max(now, period_start_ + cfg_.join_interval);
  } else {
    next_join_ = now + cfg_.join_interval / static_cast<long>(period_messages_);
  }
}

// Packs group entries into as few Join/Prune messages as fit max_message (RFC 7761
// §4.9.5: many groups per message; a message holds at most 255 groups).
std::vector<JoinPrune> Upstream::pack(std::vector<GroupEntry> entries) const {
  std::vector<JoinPrune> out;
  JoinPrune cur;
  cur.upstream_neighbor = cfg_.neighbor;
  cur.holdtime = to_seconds_u16(cfg_.holdtime);
  std::size_t size = cur.encoded_size();
  for (auto& e : entries) {
    const std::size_t add = 8 + 4 + 8 * (e.joins.size() + e.prunes.size());
    if (!cur.groups.empty() && (cur.groups.size() == 255 || size + add > cfg_.max_message)) {
      out.push_back(cur);
      cur.groups.clear();
      size = cur.encoded_size();
    }
    cur.groups.push_back(std::move(e));
    size += add;
  }
  if (!cur.groups.empty()) out.push_back(std::move(cur));
  return out;
}

void Upstream::update_members(const std::vector<MembershipChange>& changes, TimePoint now) {
  // Entries whose upstream state changes, per group in the order first touched.
  std::vector<GroupEntry> entries;
  std::unordered_map<std::uint32_t, std::size_t> at;
  auto entry = [&](std::uint32_t g) -> GroupEntry& {
    auto [it, fresh] = at.emplace(g, entries.size());
    if (fresh) entries.emplace_back().group = g;
    return entries[it->second];
  };
  auto source_of = [this](std::uint32_t s) {
    return s == 0 ? EncodedSource{cfg_.rp, kSourceFlagsStarG, 32} : EncodedSource{s, kSourceFlagS, 32};
  };
  // A join then a prune of the same entry in one batch: the last one wins upstream.
  auto record = [&](const MembershipChange& c) {
    GroupEntry& e = entry(c.group);
    const EncodedSource s = source_of(c.source);
    std::erase(e.joins, s);
    std::erase(e.prunes, s);
    (c.join ? e.joins : e.prunes).push_back(s);
  };
  for (const auto& c : changes) {
    if (c.join) {
      auto it = want_index_.find(c.group);
      std::uint8_t before = 0;
      if (it != want_index_.end()) {
        const GroupWant& w = wants_[it->second];
        if (c.source == 0) before = w.star;
        for (const auto& s : w.sources)
          if (c.source != 0 && s.address == c.source) before = s.origin;
      }
      if (before & kOriginMembers) continue;  // already joined for members
      add_want(c.source, c.group, kOriginMembers);
      ++status_.counters.member_joins;
      if (!before) record(c);
      continue;
    }
    auto it = want_index_.find(c.group);
    if (it == want_index_.end()) continue;
    GroupWant& w = wants_[it->second];
    std::uint8_t* origin = c.source == 0 ? &w.star : nullptr;
    for (auto& s : w.sources)
      if (c.source != 0 && s.address == c.source) origin = &s.origin;
    if (!origin || !(*origin & kOriginMembers)) continue;
    *origin &= static_cast<std::uint8_t>(~kOriginMembers);
    ++status_.counters.member_prunes;
    if (*origin) continue;  // the config still wants it
    if (c.source != 0) std::erase_if(w.sources, [](const GroupWant::Source& s) { return s.origin == 0; });
    record(c);
    erase_if_empty(c.group);
  }
  std::erase_if(entries, [](const GroupEntry& e) { return e.joins.empty() && e.prunes.empty(); });
  if (entries.empty() || !status_.started || status_.shut_down || !active_) return;
  for (const auto& jp : pack(std::move(entries))) {
    emit(build_join_prune(jp));
    bool joins = false, prunes = false;
    for (const auto& e : jp.groups) {
      joins |= !e.joins.empty();
      prunes |= !e.prunes.empty();
    }
    if (joins) {
      ++status_.counters.joins_sent;
      status_.last_join_sent = now;
    }
    if (prunes) ++status_.counters.prunes_sent;
  }
  status_.joined = !wants_.empty();
  if (status_.joined && !next_join_) next_join_ = now + cfg_.join_interval;
}

void Upstream::set_active(bool active, TimePoint now) {
  if (active == active_) return;
  const bool live = status_.started && !status_.shut_down;
  if (!active && live) send_join_prune(now, true);  // prune while still active
  active_ = active;
  if (active && live) send_join_prune(now, false);
}

void Upstream::send_join_prune(TimePoint now, bool prune) {
  if (!active_) {  // nothing joined here, nothing to refresh or prune
    status_.joined = false;
    next_join_ = now + cfg_.join_interval;
    return;
  }
  for (const auto& jp : join_prune_messages(prune)) {
    emit(build_join_prune(jp));
    ++(prune ? status_.counters.prunes_sent : status_.counters.joins_sent);
  }
  if (prune) {
    status_.joined = false;
    next_join_.reset();
  } else {
    status_.joined = !wants_.empty();
    if (status_.joined) status_.last_join_sent = now;
    next_join_ = now + cfg_.join_interval;
    refresh_cursor_ = 0;  // a full send: the next period starts from the beginning
  }
}

void Upstream::start(TimePoint now) {
  if (status_.started) return;
  status_.started = true;
  send_hello(now, hello_holdtime_s());
  send_join_prune(now, false);
}

void Upstream::refresh(TimePoint now) {
  if (!status_.started || status_.shut_down) return;
  send_hello(now, hello_holdtime_s());
  send_join_prune(now, false);
}

void Upstream::trigger(TimePoint now) {
  if (last_triggered_ && now < *last_triggered_ + cfg_.triggered_holdoff) {
    // Too soon after the last one: move both timers up to the end of the hold-off, where
    // on_expiry sends one Hello and one Join for all the restarts seen until then.
    const TimePoint due = *last_triggered_ + cfg_.triggered_holdoff;
    if (!next_hello_ || due < *next_hello_) next_hello_ = due;
    if (!next_join_ || due < *next_join_) next_join_ = due;
    trigger_pending_ = true;
    ++status_.counters.triggers_deferred;
    return;
  }
  last_triggered_ = now;
  send_hello(now, hello_holdtime_s());
  send_join_prune(now, false);
}

void Upstream::on_hello(const Hello& h, TimePoint now) {
  ++status_.counters.hellos_received;
  // §4.9.2: without the option the default holdtime, 3.5 x the default 30 s interval.
  const std::uint16_t holdtime = h.holdtime.value_or(105);
  if (holdtime == 0) {  // the neighbor is leaving
    if (status_.neighbor_up) ++status_.counters.neighbor_expiries;
    status_.neighbor_up = false;
    status_.neighbor_expires.reset();
    status_.neighbor_holdtime = 0;
    return;
  }
  const bool was_up = status_.neighbor_up;
  const bool restarted = was_up && h.generation_id && status_.neighbor_generation_id &&
                         *h.generation_id != *status_.neighbor_generation_id;
  status_.neighbor_up = true;
  status_.neighbor_holdtime = holdtime;
  if (h.generation_id) status_.neighbor_generation_id = h.generation_id;
  if (holdtime == 0xffff)
    status_.neighbor_expires.reset();
  else
    status_.neighbor_expires = now + std::chrono::seconds(holdtime);
  if (restarted) ++status_.counters.neighbor_restarts;
  // A new or restarted neighbor has no state from us: tell it who we are and what we
  // want now rather than at the next refresh (§4.3.1 triggered Hello, §4.5 Join).
  if ((!was_up || restarted) && status_.started && !status_.shut_down) trigger(now);
}

bool Upstream::on_packet(common::ByteSpan ipv4, TimePoint now) {
  ++status_.counters.packets_received;
  if (status_.shut_down) return drop(RxDrop::after_shutdown);
  auto ip = gre::parse_ipv4(ipv4);
  if (!ip) return drop(RxDrop::ip_malformed);
  if (ip->header.protocol != gre::kIpProtoPim) return drop(RxDrop::not_pim);
  auto m = parse_message(ip->payload);
  if (!m) {
    switch (m.error().code) {
      case common::Errc::truncated: return drop(RxDrop::truncated);
      case common::Errc::integrity: return drop(RxDrop::bad_checksum);
      case common::Errc::unsupported: return drop(RxDrop::unsupported);
      default: return drop(RxDrop::malformed);
    }
  }
  const Hello* h = std::get_if<Hello>(&m->body);
  if (!h) return drop(RxDrop::ignored_type);
  if (ip->header.src != cfg_.neighbor) return drop(RxDrop::not_from_neighbor);
  on_hello(*h, now);
  return true;
}

std::optional<TimePoint> Upstream::next_expiry() const {
  if (!status_.started || status_.shut_down) return std::nullopt;
  return earliest(earliest(next_hello_, next_join_), status_.neighbor_up ? status_.neighbor_expires : std::nullopt);
}

void Upstream::on_expiry(TimePoint now) {
  if (!status_.started || status_.shut_down) return;
  if (status_.neighbor_up && status_.neighbor_expires && now >= *status_.neighbor_expires) {
    status_.neighbor_up = false;
    status_.neighbor_expires.reset();
    ++status_.counters.neighbor_expiries;
  }
  if (next_hello_ && now >= *next_hello_) send_hello(now, hello_holdtime_s());
  if (next_join_ && now >= *next_join_) {
    if (trigger_pending_) {
      // the deferred triggered send, all at once; the next hold-off starts from it
      send_join_prune(now, false);
      last_triggered_ = now;
      trigger_pending_ = false;
    } else if (active_) {
      refresh_step(now);
    } else {
      next_join_ = now + cfg_.join_interval;
    }
  }
}

void Upstream::shutdown(TimePoint now) {
  if (status_.shut_down) return;
  if (status_.started) {
    // Prune first: after our holdtime-0 Hello the router forgets us and would drop it.
    send_join_prune(now, true);
    send_hello(now, 0);
  }
  status_.shut_down = true;
  next_hello_.reset();
  next_join_.reset();
}

std::vector<common::Bytes> Upstream::take_outbox() {
  std::vector<common::Bytes> out;
  out.swap(outbox_);
  return out;
}

}  // namespace pim
