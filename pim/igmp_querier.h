// The router side of IGMP (RFC 3376 §6, with the RFC 3376 §7.3.2 compatibility rules for
// v1/v2 hosts) on one host-facing device: swanless's GRE TUN, where the kernel is the
// only host. Sans I/O: IPv4 packets read from the device go in through on_packet(), time
// comes in as parameters; out come queries to write into the device (take_outbox) and
// membership edges for the PIM side (take_changes).
//
// We are the only router on this point-to-point device, so we are always the querier:
// queries from anyone else are counted and ignored (no §6.6.2 election).
//
// Per group the state is RFC 3376 §6.2.1's: filter mode, group timer, a source list with
// a timer per source; in EXCLUDE mode sources whose timer ran out are the excluded list
// ("Y"), those still running the requested list ("X"). Reports change it by the tables
// of §6.4.1 (current-state records) and §6.4.2 (state-change records), which also
// trigger Group-Specific and Group-and-Source-Specific Queries (§6.6.3): the group (or
// source) timers are lowered to LMQT and last_member_query_count queries go out
// last_member_query_interval apart, with the S flag set when a timer is above LMQT at the
// time of sending. General Queries: startup_query_count of them startup_query_interval
// apart from start(), then one every query_interval (§8.6, §8.7).
//
// Compatibility (§7.3.2): a v1 or v2 report starts the group's "older host present"
// timer (§8.13); while it runs the group is in v2 mode: v2 leaves act as TO_IN({}),
// BLOCK records are ignored, TO_EX(x) acts as TO_EX({}). A v1/v2 report is IS_EX({}), a
// v2 leave TO_IN({}). v1 hosts are handled as v2 ones (we do not ignore leaves while a
// v1 host is present: the kernel on the device is the only host, and it sends leaves
// only in v2 mode).
//
// Membership for PIM: a group in EXCLUDE mode wants (*,G); a group in INCLUDE mode wants
// (S,G) for each source in its list. Limitation: the excluded sources of an EXCLUDE-mode
// group are not turned into (S,G,rpt) prunes: the device receives all of (*,G). Changes
// come out as edges: a join when an entry becomes wanted, a prune when it stops being
// wanted, never a second join for an entry already joined. Within one group's change,
// joins come before prunes (make before break: EXCLUDE -> INCLUDE gives the (S,G) joins,
// then the (*,G) prune).
//
// Filters, per record (and per v1/v2 report or leave): the group must be multicast and
// not link-local (224.0.0.0/24); deny prefixes win over allow prefixes (empty allow: all
// groups); in the SSM range (RFC 4604 §2.2.1) EXCLUDE-mode records (IS_EX, TO_EX) and
// v1/v2 reports and leaves are ignored; a record that would create a group beyond
// max_groups is refused. Each refusal is counted.
//
// Cost: groups in an unordered_map; each group keeps its earliest deadline, and the
// (deadline, group) pairs sit in an ordered set, so next_expiry() is O(1) and a record is
// O(its sources + the group's sources + log groups).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "pim/igmp.h"

namespace pim::igmp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// An IPv4 prefix, host order: {0xe8000000, 8} is 232.0.0.0/8.
struct Prefix {
  std::uint32_t addr = 0;
  std::uint8_t len = 0;
  bool contains(std::uint32_t a) const {
    if (len == 0) return true;
    const std::uint32_t mask = len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
    return (a & mask) == (addr & mask);
  }
  bool operator==(const Prefix&) const = default;
};

// 232.0.0.0/8, the IPv4 SSM range (RFC 4607 §1). Out of line: an initializer list in
// the member initializer trips g++ 12's -Wmaybe-uninitialized wherever a config is built.
std::vector<Prefix> default_ssm_ranges();

struct QuerierConfig {
  std::uint32_t local = 0;  // source address of our queries (host order)
  int version = 3;          // query form: 3, or 2 (then no group-and-source queries)
  Duration query_interval = std::chrono::seconds(125);           // QI, §8.2
  Duration query_response_interval = std::chrono::seconds(10);   // QRI, §8.3
  unsigned robustness = 2;                                       // §8.1
  Duration last_member_query_interval = std::chrono::seconds(1); // LMQI, §8.8
  std::optional<unsigned> last_member_query_count;  // LMQC, §8.9: default robustness
  std::optional<Duration> startup_query_interval;   // §8.6: default QI / 4
  std::optional<unsigned> startup_query_count;      // §8.7: default robustness
  std::vector<Prefix> ssm = default_ssm_ranges();
  std::vector<Prefix> allow;  // empty: every multicast group
  std::vector<Prefix> deny;   // wins over allow
  std::size_t max_groups = 4096;
};

// A membership edge for the PIM side: source 0 is (*,G).
struct Change {
  std::uint32_t source = 0;
  std::uint32_t group = 0;
  bool join = false;
  bool operator==(const Change&) const = default;
};

enum class Drop : std::uint8_t {
  ip_malformed,         // IPv4 header or options bad
  not_igmp,             // IPv4 protocol is not 2
  fragment,             // IPv4 fragment
  truncated,            // IGMP shorter than a length or count says
  bad_checksum,         // IGMP checksum
  malformed,            // IGMP field values (a 9..11 byte query)
  unsupported_type,     // an IGMP type we do not know (DVMRP, mtrace ...)
  not_multicast_group,  // a record for a non-multicast or 224.0.0.0/24 group
  denied,               // allow/deny prefixes
  ssm_exclude_ignored,  // EXCLUDE-mode record or v1/v2 message for an SSM group
  too_many_groups,      // max_groups reached
  foreign_query,        // a query from someone else: we are the only querier
  stopped,              // after stop()
  count_
};
inline constexpr std::size_t kDropCount = static_cast<std::size_t>(Drop::count_);
std::string_view to_string(Drop d);

enum class FilterMode : std::uint8_t { include, exclude };
std::string_view to_string(FilterMode m);

struct QuerierCounters {
  std::uint64_t packets_received = 0;
  std::uint64_t reports_v1 = 0;
  std::uint64_t reports_v2 = 0;
  std::uint64_t reports_v3 = 0;
  std::uint64_t leaves = 0;
  std::array<std::uint64_t, 6> records{};  // by RecordType - 1
  std::uint64_t skipped_records = 0;       // unknown record types inside v3 reports
  std::uint64_t general_queries_sent = 0;
  std::uint64_t group_queries_sent = 0;         // Group-Specific
  std::uint64_t group_source_queries_sent = 0;  // Group-and-Source-Specific
  std::uint64_t groups_created = 0;
  std::uint64_t groups_expired = 0;  // deleted by timer (incl. after last-member queries)
  std::array<std::uint64_t, kDropCount> drops{};  // drops by reason (records count singly)
  std::uint64_t drop(Drop d) const { return drops[static_cast<std::size_t>(d)]; }
  std::uint64_t record(RecordType t) const { return records[static_cast<std::size_t>(t) - 1]; }
};

struct SourceStatus {
  std::uint32_t source = 0;
  std::optional<Duration> remaining;  // none: excluded (timer zero, EXCLUDE mode)
  bool joined = false;                // an (S,G) join was emitted and no prune since
};

struct GroupStatus {
  std::uint32_t group = 0;
  FilterMode mode = FilterMode::include;
  int compat_version = 3;                   // 2 while the older-host-present timer runs
  std::vector<SourceStatus> sources;        // by address
  std::optional<Duration> group_timer;      // EXCLUDE mode only
  std::optional<Duration> older_host;       // older host present timer remaining
  std::uint32_t last_reporter = 0;
  Duration uptime{};
};

struct QuerierStatus {
  bool started = false;
  bool stopped = false;
  std::optional<Duration> next_general_query;
  unsigned startup_queries_left = 0;
  std::vector<GroupStatus> groups;  // by group address
  QuerierCounters counters;
};

class Querier {
 public:
  explicit Querier(QuerierConfig cfg);

  // Sends the first General Query; startup queries follow.
  void start(TimePoint now);
  // One IPv4 packet read from the device. False when the whole packet was dropped
  // (counted by reason); records refused inside an accepted report are counted only.
  bool on_packet(common::ByteSpan ipv4, TimePoint now);
  // The earliest timer, O(1); none before start() and after stop().
  std::optional<TimePoint> next_expiry() const;
  // Runs every timer due at `now`; afterwards next_expiry() is later than now.
  void on_expiry(TimePoint now);
  // Drops every membership (a prune Change for each joined entry), sends no more queries.
  void stop();

  std::vector<common::Bytes> take_outbox();
  std::vector<Change> take_changes();

  QuerierStatus status(TimePoint now) const;  // O(groups): for `swanless status`
  const QuerierCounters& counters() const { return counters_; }
  const QuerierConfig& config() const { return cfg_; }
  std::size_t group_count() const { return groups_.size(); }

  // Derived timer values (§8.4, §8.5, §8.13), exposed for tests.
  Duration group_membership_interval() const;  // robustness * QI + QRI
  Duration last_member_query_time() const;     // LMQI * LMQC
  Duration older_host_present_interval() const;

 private:
  struct Source {
    std::optional<TimePoint> timer;  // none: excluded (EXCLUDE mode only)
    unsigned retransmits = 0;        // group-and-source queries still to send for it
    bool joined = false;
  };
  struct Group {
    std::uint32_t addr = 0;
    FilterMode mode = FilterMode::include;
    std::optional<TimePoint> group_timer;  // EXCLUDE mode only
    std::map<std::uint32_t, Source> sources;
    std::optional<TimePoint> older_host;  // v2 compatibility while set
    unsigned group_retransmits = 0;       // group-specific queries still to send
    std::optional<TimePoint> next_query;  // next last-member query send
    bool star_joined = false;
    std::uint32_t last_reporter = 0;
    TimePoint created{};
    std::optional<TimePoint> deadline;  // the key in deadlines_
  };
  using Sources = std::vector<std::uint32_t>;

  bool drop(Drop d) {
    ++counters_.drops[static_cast<std::size_t>(d)];
    return false;
  }
  // Filter checks shared by v3 records and v1/v2 messages; counts the refusal.
  bool group_allowed(std::uint32_t group);
  bool is_ssm(std::uint32_t group) const;
  // The group for a record, created in INCLUDE({}) when absent and `create` is set;
  // nullptr when absent (or refused: counted too_many_groups).
  Group* find_or_create(std::uint32_t group, bool create, TimePoint now);
  void apply_record(Group& g, RecordType type, const Sources& srcs, TimePoint now);
  void on_v3_record(const Record& rec, std::uint32_t reporter, TimePoint now);
  bool on_v1v2(Type type, std::uint32_t group, std::uint32_t reporter, TimePoint now);

  // §6.6.3: lower the timers, schedule the retransmissions, send the first at once.
  void query_group(Group& g, TimePoint now);
  void query_sources(Group& g, const Sources& srcs, TimePoint now);
  void send_last_member_queries(Group& g, TimePoint now);
  void send_general_query(TimePoint now);
  void emit_query(const Query& q);

  // After any change to a group: emit its Changes, delete it when it holds no state,
  // re-key its deadline. g is invalid afterwards when it was deleted.
  void settle(Group& g);
  void reconcile(Group& g);
  void erase_group(Group& g);
  // Removes a source; its prune (when joined) waits in prunes_ for the next reconcile.
  void erase_source(Group& g, std::map<std::uint32_t, Source>::iterator it);
  void run_group_timers(Group& g, TimePoint now);
  std::optional<TimePoint> group_deadline(const Group& g) const;

  QuerierConfig cfg_;
  unsigned lmqc_ = 2;
  Duration lmqi_{};
  Duration startup_interval_{};
  unsigned startup_left_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  std::optional<TimePoint> next_general_;
  std::unordered_map<std::uint32_t, Group> groups_;
  std::set<std::pair<TimePoint, std::uint32_t>> deadlines_;
  std::uint16_t ip_id_ = 0;
  std::vector<common::Bytes> outbox_;
  std::vector<Change> changes_;
  std::vector<Change> prunes_;  // collected during a group's update, flushed after its joins
  QuerierCounters counters_;
};

}  // namespace pim::igmp
