// Multicast delivery policy: which decapsulated inner packets are datagrams for us.
// A packet is delivered when it is an unfragmented IPv4 UDP datagram to one of our
// groups, from any source for a (*,G) group, or from a listed source for a group we only
// joined as (S,G). The result is a view of the UDP payload (for deliver=udp:HOST:PORT,
// which forwards each payload unchanged) plus the addressing; counters per verdict.
// No allocation per packet.
//
// UDP header (RFC 768):
// |          Source Port          |       Destination Port        |
// |            Length             |           Checksum            |
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "pim/upstream.h"

namespace pim {

enum class Verdict : std::uint8_t {
  deliver,
  malformed,           // IPv4 or UDP header bad, UDP length inconsistent
  fragment,            // no reassembly
  not_multicast,       // destination outside 224.0.0.0/4
  not_udp,
  not_our_group,
  source_not_allowed,  // (S,G)-only group, source not listed
  bad_udp_checksum,
  count_
};
inline constexpr std::size_t kVerdictCount = static_cast<std::size_t>(Verdict::count_);
std::string_view to_string(Verdict v);

struct Datagram {
  Verdict verdict = Verdict::malformed;
  std::uint32_t source = 0;
  std::uint32_t group = 0;
  std::uint16_t source_port = 0;
  std::uint16_t dest_port = 0;
  common::ByteSpan payload;  // the UDP payload, a view into the packet
};

struct GroupDelivery {
  std::uint32_t group = 0;
  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
};

struct DeliveryCounters {
  std::uint64_t datagrams = 0;  // delivered
  std::uint64_t bytes = 0;      // delivered UDP payload bytes
  std::vector<GroupDelivery> per_group;  // one entry per group, in the order they were added
  std::array<std::uint64_t, kVerdictCount> verdicts{};
  std::uint64_t count(Verdict v) const { return verdicts[static_cast<std::size_t>(v)]; }
};

class DeliveryPolicy {
 public:
  DeliveryPolicy(std::vector<std::uint32_t> groups, std::vector<SourceGroup> sources,
                 bool verify_udp_checksum = true);
  static DeliveryPolicy from(const UpstreamConfig& cfg) { return DeliveryPolicy(cfg.groups, cfg.sources); }
  // Follows the upstream's join set (config plus local members): groups come and go as
  // members join and leave. A group's counters go with it.
  void set(const std::vector<GroupWant>& wants);

  // One hash lookup per packet for the group, then a scan of that group's (S,G) sources.
  Datagram classify(common::ByteSpan inner_ipv4);
  const DeliveryCounters& counters() const { return counters_; }

 private:
  Datagram verdict(Datagram d) {
    ++counters_.verdicts[static_cast<std::size_t>(d.verdict)];
    return d;
  }
  struct Entry {
    bool any_source = false;             // (*,G)
    std::vector<std::uint32_t> sources;  // (S,G)
    std::size_t counters = 0;            // index into counters_.per_group
  };
  void add(std::uint32_t group, std::uint32_t source);  // source 0: any
  std::unordered_map<std::uint32_t, Entry> groups_;
  bool verify_udp_checksum_;
  DeliveryCounters counters_;
};

}  // namespace pim
