// The upstream side of PIM-SM (RFC 7761) for a leaf that only joins: one neighbor (the
// router at the far end of a GRE tunnel), (*,G) joins towards an RP and optional (S,G)
// joins. Sans I/O: packets in through on_packet(), time in as parameters, packets out
// through the outbox as complete IPv4 datagrams (TTL 1, to 224.0.0.13, protocol 103) to be
// encapsulated into the tunnel.
//
// What a real router (FRR pimd) insists on, and how this machine meets it:
// - a Join from a non-neighbor is dropped: start() sends our Hello, then the Join;
// - the Hello carries the Holdtime option (type 1), plus DR priority and Generation ID;
// - the neighbor restarted (new Generation ID) or appeared: re-send Hello + Join at once,
//   but at most once per triggered_holdoff: a neighbor (or someone inside the tunnel
//   forging its Hellos) that changes its Generation ID on every packet gets one triggered
//   Hello + Join per hold-off, the restarts in between are folded into it (counted);
// - Join state lives for the Join/Prune holdtime: refresh every join interval;
// - leaving: shutdown() sends a Prune for every group, then a Hello with holdtime 0.
//
// Timers (RFC 7761 §4.3.1, §4.5): Hello every hello interval; Join refresh every join
// interval (t_periodic), spread over the interval one message at a time when the join set
// needs several; neighbor expiry at its advertised Hello holdtime (0xffff: never).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "pim/codec.h"

namespace pim {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

struct SourceGroup {
  std::uint32_t source = 0;
  std::uint32_t group = 0;
  bool operator==(const SourceGroup&) const = default;
};

// A (*,G) (source 0) or (S,G) entry entering or leaving the set of joins, from a membership
// source such as the IGMP querier (pim/igmp_querier.h).
struct MembershipChange {
  std::uint32_t source = 0;  // 0: (*,G)
  std::uint32_t group = 0;
  bool join = true;
  bool operator==(const MembershipChange&) const = default;
};

// Who wants an entry joined: the config (groups=, sources=) and/or local members (IGMP).
inline constexpr std::uint8_t kOriginConfig = 1;
inline constexpr std::uint8_t kOriginMembers = 2;

// One group of the join set: its (*,G) and its (S,G) entries with their origins. Groups
// keep the order they were first wanted in (config order first).
struct GroupWant {
  std::uint32_t group = 0;
  std::uint8_t star = 0;  // origin bits of the (*,G) join; 0 = no (*,G)
  struct Source {
    std::uint32_t address = 0;
    std::uint8_t origin = 0;
  };
  std::vector<Source> sources;  // (S,G) joins
};

struct UpstreamConfig {
  std::uint32_t local = 0;     // our address on the tunnel (host order)
  std::uint32_t neighbor = 0;  // the upstream router's address on the tunnel
  std::uint32_t rp = 0;        // rendezvous point: the source of (*,G) joins
  std::vector<std::uint32_t> groups;  // (*,G)
  std::vector<SourceGroup> sources;   // (S,G)
  Duration hello_interval = std::chrono::seconds(30);
  Duration join_interval = std::chrono::seconds(60);
  Duration holdtime = std::chrono::seconds(210);  // Join/Prune holdtime sent upstream
  std::optional<Duration> hello_holdtime;  // default 3.5 x hello interval (§4.11)
  std::uint32_t dr_priority = 1;
  std::size_t max_message = 1400;  // split Join/Prunes larger than this (PIM bytes)
  // Shortest time between two triggered (restart/appearance) Hello + Join sends.
  Duration triggered_holdoff = std::chrono::seconds(1);
};

enum class RxDrop : std::uint8_t {
  ip_malformed,       // IPv4 header bad
  not_pim,            // IPv4 protocol is not 103
  truncated,          // PIM message shorter than announced
  malformed,          // PIM message fields invalid
  unsupported,        // PIM version, non-IPv4 encodings
  bad_checksum,
  not_from_neighbor,  // a Hello from someone other than the configured neighbor
  ignored_type,       // Join/Prune, Assert, Bootstrap ... (a leaf does not act on them)
  after_shutdown,
  count_
};
inline constexpr std::size_t kRxDropCount = static_cast<std::size_t>(RxDrop::count_);
std::string_view to_string(RxDrop r);

struct UpstreamCounters {
  std::uint64_t packets_received = 0;
  std::uint64_t hellos_received = 0;  // from the neighbor
  std::uint64_t hellos_sent = 0;
  std::uint64_t joins_sent = 0;   // Join/Prune messages carrying joins
  std::uint64_t prunes_sent = 0;  // Join/Prune messages carrying prunes
  std::uint64_t member_joins = 0;   // entries joined because of local members
  std::uint64_t member_prunes = 0;  // entries pruned because the last member left
  std::uint64_t neighbor_restarts = 0;  // Generation ID changes seen
  std::uint64_t neighbor_expiries = 0;  // neighbor timed out (or said holdtime 0)
  // restarts/appearances within triggered_holdoff of the last triggered send: folded into
  // one deferred Hello + Join instead of one each
  std::uint64_t triggers_deferred = 0;
  std::array<std::uint64_t, kRxDropCount> drops{};
  std::uint64_t drop(RxDrop r) const { return drops[static_cast<std::size_t>(r)]; }
};

struct UpstreamStatus {
  bool started = false;
  bool shut_down = false;
  std::uint32_t generation_id = 0;  // ours
  bool neighbor_up = false;
  std::optional<std::uint32_t> neighbor_generation_id;
  std::uint16_t neighbor_holdtime = 0;  // seconds, as last advertised
  std::optional<TimePoint> neighbor_expires;  // none while down or holdtime 0xffff
  bool joined = false;  // a Join was sent and no Prune since
  std::vector<std::uint32_t> groups;  // every group with a join, config or members (status)
  std::optional<TimePoint> last_hello_sent;
  std::optional<TimePoint> last_join_sent;
  UpstreamCounters counters;
};

class Upstream {
 public:
  // generation_id: a random value from the caller (RFC 7761 §4.3.1: chosen at start-up).
  Upstream(UpstreamConfig cfg, std::uint32_t generation_id);

  // Sends our first Hello and the Join, arms the timers.
  void start(TimePoint now);
  // Hello and Join again at once (the path to the neighbor has just come up, e.g. the
  // CHILD_SA that carries the tunnel was installed); no-op before start/after shutdown.
  void refresh(TimePoint now);
  // One IPv4 packet carrying PIM, from the tunnel. Returns false when dropped (counted).
  bool on_packet(common::ByteSpan ipv4, TimePoint now);
  std::optional<TimePoint> next_expiry() const;
  void on_expiry(TimePoint now);
  // Prune for every group, then a Hello with holdtime 0; timers stop.
  void shutdown(TimePoint now);
  // Entries wanted or no longer wanted by local members, in order. A join of an entry
  // that is already joined (by config or members) and a prune of one the config still
  // wants change only the origin; the rest goes upstream at once as one packed batch of
  // Join/Prune messages (before start() or after shutdown() only the set changes).
  void update_members(const std::vector<MembershipChange>& changes, TimePoint now);

  const std::vector<GroupWant>& wants() const { return wants_; }

  // Whether this upstream carries the joins (default yes). With two tunnels to two
  // gateways in active-standby, one does: going inactive prunes every entry at once,
  // going active joins them all at once. An inactive upstream still says Hello (its
  // neighbor stays known) and follows the join set without sending it.
  void set_active(bool active, TimePoint now);
  bool active() const { return active_; }

  // IPv4 packets to encapsulate and send, in order.
  std::vector<common::Bytes> take_outbox();
  const std::vector<common::Bytes>& outbox() const { return outbox_; }

  const UpstreamStatus& status() const { return status_; }
  const UpstreamConfig& config() const { return cfg_; }

  // The Join/Prune messages (PIM bytes, no IPv4) that a join or a prune of all our
  // groups consists of; exposed for tests.
  std::vector<JoinPrune> join_prune_messages(bool prune) const;

 private:
  bool drop(RxDrop r) {
    ++status_.counters.drops[static_cast<std::size_t>(r)];
    return false;
  }
  void send_hello(TimePoint now, std::uint16_t holdtime);
  void send_join_prune(TimePoint now, bool prune);
  std::vector<JoinPrune> pack(std::vector<GroupEntry> entries) const;
  GroupEntry entry_of(const GroupWant& w, bool prune) const;
  void refresh_step(TimePoint now);  // one message of the spread periodic refresh
  GroupWant& want(std::uint32_t group);
  void erase_if_empty(std::uint32_t group);
  void add_want(std::uint32_t source, std::uint32_t group, std::uint8_t origin);
  void emit(const common::Bytes& pim);
  std::uint16_t hello_holdtime_s() const;
  void on_hello(const Hello& h, TimePoint now);
  void trigger(TimePoint now);  // triggered Hello + Join, at most once per hold-off

  UpstreamConfig cfg_;
  UpstreamStatus status_;
  std::optional<TimePoint> next_hello_;
  std::optional<TimePoint> next_join_;
  std::optional<TimePoint> last_triggered_;
  bool trigger_pending_ = false;  // a deferred triggered Hello + Join is due
  std::uint16_t ip_id_ = 0;
  std::vector<common::Bytes> outbox_;
  std::vector<GroupWant> wants_;
  bool active_ = true;
  std::size_t refresh_cursor_ = 0;   // next entry of wants_ the periodic refresh sends
  TimePoint period_start_{};         // when the current refresh period began
  std::size_t period_messages_ = 1;  // messages the refresh needs this period
  std::unordered_map<std::uint32_t, std::size_t> want_index_;  // group -> index in wants_
};

}  // namespace pim
