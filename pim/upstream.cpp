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
  auto add = [this](std::uint32_t g) {
    if (std::find(status_.groups.begin(), status_.groups.end(), g) == status_.groups.end())
      status_.groups.push_back(g);
  };
  for (std::uint32_t g : cfg_.groups) add(g);
  for (const auto& sg : cfg_.sources) add(sg.group);
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

std::vector<JoinPrune> Upstream::join_prune_messages(bool prune) const {
  // One entry per group, in configuration order: the (*,G) join (source = RP, S|W|R)
  // and the group's (S,G) joins.
  std::vector<GroupEntry> entries;
  auto entry = [&entries](std::uint32_t g) -> GroupEntry& {
    for (auto& e : entries)
      if (e.group == g) return e;
    entries.emplace_back().group = g;
    return entries.back();
  };
  auto add = [&](std::uint32_t g, EncodedSource s) {
    auto& list = prune ? entry(g).prunes : entry(g).joins;
    if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);  // duplicates in config
  };
  for (std::uint32_t g : cfg_.groups) add(g, EncodedSource{cfg_.rp, kSourceFlagsStarG, 32});
  for (const auto& sg : cfg_.sources) add(sg.group, EncodedSource{sg.source, kSourceFlagS, 32});
  std::vector<JoinPrune> out;
  JoinPrune cur;
  cur.upstream_neighbor = cfg_.neighbor;
  cur.holdtime = to_seconds_u16(cfg_.holdtime);
  for (auto& e : entries) {
    const std::size_t add = 8 + 4 + 8 * (e.joins.size() + e.prunes.size());
    if (!cur.groups.empty() && (cur.groups.size() == 255 || cur.encoded_size() + add > cfg_.max_message)) {
      out.push_back(cur);
      cur.groups.clear();
    }
    cur.groups.push_back(std::move(e));
  }
  if (!cur.groups.empty()) out.push_back(std::move(cur));
  return out;
}

void Upstream::send_join_prune(TimePoint now, bool prune) {
  for (const auto& jp : join_prune_messages(prune)) {
    emit(build_join_prune(jp));
    ++(prune ? status_.counters.prunes_sent : status_.counters.joins_sent);
  }
  if (prune) {
    status_.joined = false;
    next_join_.reset();
  } else {
    status_.joined = true;
    status_.last_join_sent = now;
    next_join_ = now + cfg_.join_interval;
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
    send_join_prune(now, false);
    // the deferred triggered send: the next hold-off starts from it
    if (trigger_pending_) last_triggered_ = now;
    trigger_pending_ = false;
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
