// IGMP codec (versions 1, 2 and 3) for the router side of a host-facing device: queries
// we send, reports and leaves the hosts send. Whole IPv4 packets in and out, addresses
// host-order std::uint32_t (see gre/ipv4.h).
//
// Every IGMP message starts with the same 8 bytes (RFC 2236 §2, RFC 3376 §4):
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      | Max Resp Code |           Checksum            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Group Address                         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// The checksum is the Internet checksum over the whole IGMP message (the IPv4 payload,
// checksum field zero), not just the part a version defines (RFC 2236 §2.3, RFC 3376
// §4.1.2). v1/v2 reports and v2 leaves are these 8 bytes; longer ones are accepted and the
// extra bytes ignored (RFC 2236 §2.5). In v1/v2 reports the second byte is unused (zero).
//
// A v3 Membership Query (type 0x11, RFC 3376 §4.1) continues after the group:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Resv  |S| QRV |     QQIC      |     Number of Sources (N)     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Source Address [1..N]                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// S: suppress router-side processing (§4.1.5); QRV: the querier's robustness variable,
// 0 when it exceeds 7 (§4.1.6); QQIC: the query interval in seconds (§4.1.7). Bytes past
// the source list count in the checksum and are otherwise ignored (§4.1.10).
// The query's version follows from its length (§7.1): 8 bytes with Max Resp Code 0 is v1,
// 8 bytes with a non-zero code is v2, 12 or more is v3; 9 to 11 bytes is not a query.
//
// Max Resp Code (§4.1.1, tenths of a second) and QQIC (§4.1.7, seconds) share one 8-bit
// floating-point form: below 128 the value itself; otherwise
//   |1| exp (3) | mant (4) |  value = (mant | 0x10) << (exp + 3)
// so 128 is 0x80 and the largest value, 0xff, is 31 << 10 = 31744.
// In v2 queries the Max Resp Time is a plain byte of tenths (RFC 2236 §2.2).
//
// A v3 Membership Report (type 0x22, RFC 3376 §4.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Type = 0x22  |    Reserved   |           Checksum            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Reserved            |  Number of Group Records (M)  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                        Group Record [1..M]                    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Group Record:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Record Type  |  Aux Data Len |     Number of Sources (N)     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Multicast Address                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Source Address [1..N]                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |              Auxiliary Data (Aux Data Len 32-bit words)       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Record types (§4.2.12): 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE (current state),
// 3 CHANGE_TO_INCLUDE_MODE, 4 CHANGE_TO_EXCLUDE_MODE (filter mode change),
// 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES (source list change). Records of other types
// are skipped (and counted in Message::skipped_records); auxiliary data is skipped
// (§4.2.10); bytes after the last record are ignored (§4.2.11).
//
// IPv4 (RFC 3376 §4, RFC 2236 §2): TTL 1, the Router Alert option (RFC 2113: type 0x94,
// length 4, value 0) so the header is 24 bytes; we send with TOS 0xc0. Destinations
// (RFC 3376 §4.1.12, §4.2.14; RFC 2236 §9): General Query to 224.0.0.1, group-specific
// queries to the group, v3 reports to 224.0.0.22, v1/v2 reports to the group, v2 leaves
// to 224.0.0.2. Parsing does not insist on the Router Alert option or the destinations
// (it reports whether the option was there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace pim::igmp {

inline constexpr std::uint8_t kIpProtoIgmp = 2;
inline constexpr std::uint32_t kAllSystems = 0xe0000001;    // 224.0.0.1
inline constexpr std::uint32_t kAllRouters = 0xe0000002;    // 224.0.0.2
inline constexpr std::uint32_t kAllV3Routers = 0xe0000016;  // 224.0.0.22
inline constexpr std::size_t kHeaderSize = 8;               // the common part
inline constexpr std::size_t kV3QueryMinSize = 12;
inline constexpr std::size_t kRecordHeaderSize = 8;
inline constexpr std::uint8_t kOptRouterAlert = 0x94;       // copied flag | class 0 | 20
inline constexpr unsigned kMaxCodeValue = 31744;            // 0xff in the floating form

enum class Type : std::uint8_t {
  query = 0x11,
  v1_report = 0x12,
  v2_report = 0x16,
  v2_leave = 0x17,
  v3_report = 0x22,
};

enum class RecordType : std::uint8_t {
  is_include = 1,
  is_exclude = 2,
  to_include = 3,
  to_exclude = 4,
  allow_new = 5,
  block_old = 6,
};

struct Record {
  RecordType type = RecordType::is_include;
  std::uint32_t group = 0;
  std::vector<std::uint32_t> sources;
  bool operator==(const Record&) const = default;
};

struct Query {
  int version = 3;                // 1, 2 or 3 (parse: from the length and code, §7.1)
  std::uint32_t group = 0;        // 0: General Query
  unsigned max_resp_tenths = 100; // v3: decoded Max Resp Code; v2: the byte; v1: 0
  bool suppress = false;          // S flag (v3 only)
  std::uint8_t qrv = 2;           // v3 only; build writes 0 when above 7
  unsigned qqi_s = 125;           // v3 only: decoded QQIC
  std::vector<std::uint32_t> sources;  // v3 only: group-and-source-specific query
  bool operator==(const Query&) const = default;
};

struct Message {
  Type type = Type::query;
  std::uint32_t src = 0, dst = 0;  // from the IPv4 header
  bool router_alert = false;       // the IPv4 header carried the Router Alert option
  std::uint32_t group = 0;         // queries, v1/v2 reports, leaves (v3 report: 0)
  Query query;                     // type == query
  std::vector<Record> records;     // type == v3_report
  std::size_t skipped_records = 0; // v3 report records of unknown type
  bool operator==(const Message&) const = default;
};

// Why the IPv4 layer refused a packet, so a caller can count each cause apart.
enum class IpReject : std::uint8_t { none, bad_header, not_igmp, fragment };

struct IpInfo {
  std::uint32_t src = 0, dst = 0;
  bool router_alert = false;
  common::ByteSpan igmp;  // the IPv4 payload, total length respected
};

// IPv4 header valid (gre::parse_ipv4: version, IHL, total length, header checksum, plus a
// well-formed option list), protocol 2, not a fragment.
IpReject check_ipv4(common::ByteSpan ipv4, IpInfo& out);

// One IGMP message (an IPv4 payload), checksum verified. Errors: truncated (shorter than
// a length or count says), integrity (checksum), malformed (a 9..11 byte query),
// unsupported (a type we do not know). src/dst/router_alert stay zero.
common::Result<Message> parse_igmp(common::ByteSpan igmp);
// A whole IPv4 packet: check_ipv4, then parse_igmp. IP-layer errors: malformed (header),
// unsupported (not IGMP, or a fragment).
common::Result<Message> parse(common::ByteSpan ipv4);

// Whole IPv4 packets (TTL 1, TOS 0xc0, Router Alert), both checksums computed. Empty when
// the message would not fit in 65535 bytes (callers split large source lists and reports).
// build_query: v3 form unless q.version is 1 or 2; to 224.0.0.1 for a General Query
// (group 0), to the group otherwise.
common::Bytes build_query(std::uint32_t src, const Query& q, std::uint16_t ip_id = 0);
// To 224.0.0.22.
common::Bytes build_report_v3(std::uint32_t src, const std::vector<Record>& records, std::uint16_t ip_id = 0);
// type v1_report or v2_report (to the group) or v2_leave (to 224.0.0.2); other types
// give an empty result.
common::Bytes build_report_v2(std::uint32_t src, Type type, std::uint32_t group, std::uint16_t ip_id = 0);
// The builder for m.type, from m.src (the round trip of the fuzz target).
common::Bytes build(const Message& m, std::uint16_t ip_id = 0);

// The floating-point form of Max Resp Code and QQIC (§4.1.1, §4.1.7). encode_code rounds
// down to the nearest value the form can hold and clamps at kMaxCodeValue.
std::uint8_t encode_code(unsigned value);
unsigned decode_code(std::uint8_t code);

// 224.0.0.0/4
constexpr bool is_multicast(std::uint32_t a) { return (a >> 28) == 0xe; }
// 224.0.0.0/24: never routed, never reported upstream.
constexpr bool is_link_local_multicast(std::uint32_t a) { return (a >> 8) == 0xe00000; }

}  // namespace pim::igmp
