// PIM-SM version 2 message codecs, RFC 7761 §4.9: the common header and checksum, Hello
// (§4.9.2) and Join/Prune (§4.9.5) with the encoded address formats of §4.9.1 (IPv4
// only: address family 1, native encoding 0). Other message types parse as a header and
// a raw body. Addresses are host-order std::uint32_t (see gre/ipv4.h).
//
// Common header (§4.9):
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |PIM Ver| Type  |   Reserved    |           Checksum            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// The checksum is the Internet checksum of the whole PIM message (checksum field zero),
// except for Register (type 1), where it covers only the 8-byte Register header.
//
// Hello option (§4.9.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |          OptionType           |         OptionLength          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          OptionValue                          |
// |                              ...                              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Holdtime (type 1, length 2): seconds, 0xffff = never time out, 0 = neighbor leaving.
// LAN Prune Delay (type 2, length 4): |T| Propagation_Delay (15) | Override_Interval (16) |
// DR Priority (type 19, length 4), Generation ID (type 20, length 4).
//
// Encoded-Unicast (§4.9.1), 6 bytes for IPv4:
// | Addr Family (1) | Encoding Type (0) | Unicast Address (4 bytes) ...
// Encoded-Group, 8 bytes:
// | Addr Family | Encoding Type |B| Reserved  |Z|  Mask Len     |
// |                Group multicast Address                        |
// Encoded-Source, 8 bytes:
// | Addr Family | Encoding Type | Rsrvd   |S|W|R|  Mask Len     |
// |                        Source Address                         |
//
// Join/Prune (§4.9.5):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |PIM Ver| Type  |   Reserved    |           Checksum            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Upstream Neighbor Address (Encoded-Unicast format)     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Reserved     | Num groups    |          Holdtime             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Multicast Group Address 1 (Encoded-Group format)      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Number of Joined Sources    |   Number of Pruned Sources    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Joined Source Address 1 .. n (Encoded-Source format)   |
// |        Pruned Source Address 1 .. n (Encoded-Source format)   |
// |                 ... further groups ...                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace pim {

inline constexpr std::uint8_t kPimVersion = 2;
inline constexpr std::size_t kPimHeaderSize = 4;
inline constexpr std::uint32_t kAllPimRouters = 0xe000000d;  // 224.0.0.13

enum class MessageType : std::uint8_t {
  hello = 0,
  register_ = 1,
  register_stop = 2,
  join_prune = 3,
  bootstrap = 4,
  assert_ = 5,
  graft = 6,
  graft_ack = 7,
  candidate_rp_adv = 8,
};

// Hello option types (§4.9.2, IANA "PIM-Hello Options").
inline constexpr std::uint16_t kOptHoldtime = 1;
inline constexpr std::uint16_t kOptLanPruneDelay = 2;
inline constexpr std::uint16_t kOptDrPriority = 19;
inline constexpr std::uint16_t kOptGenerationId = 20;

// Encoded address constants (§4.9.1).
inline constexpr std::uint8_t kFamilyIpv4 = 1;
inline constexpr std::uint8_t kEncodingNative = 0;
inline constexpr std::uint8_t kSourceFlagS = 0x04;  // sparse bit, always 1 in PIM-SM
inline constexpr std::uint8_t kSourceFlagW = 0x02;  // wildcard: (*,G)
inline constexpr std::uint8_t kSourceFlagR = 0x01;  // RPT: towards the RP
inline constexpr std::uint8_t kSourceFlagsStarG = kSourceFlagS | kSourceFlagW | kSourceFlagR;

struct LanPruneDelay {
  bool t_bit = false;
  std::uint16_t propagation_delay_ms = 0;  // 15 bits
  std::uint16_t override_interval_ms = 0;
  bool operator==(const LanPruneDelay&) const = default;
};

struct Hello {
  std::optional<std::uint16_t> holdtime;
  std::optional<LanPruneDelay> lan_prune_delay;
  std::optional<std::uint32_t> dr_priority;
  std::optional<std::uint32_t> generation_id;
  std::size_t unknown_options = 0;  // parse only: options skipped (e.g. address list)
  bool operator==(const Hello& o) const {
    return holdtime == o.holdtime && lan_prune_delay == o.lan_prune_delay &&
           dr_priority == o.dr_priority && generation_id == o.generation_id;
  }
};

struct EncodedSource {
  std::uint32_t address = 0;
  std::uint8_t flags = kSourceFlagS;  // S|W|R bits
  std::uint8_t mask_len = 32;
  bool operator==(const EncodedSource&) const = default;
};

struct GroupEntry {
  std::uint32_t group = 0;
  std::uint8_t mask_len = 32;
  std::uint8_t group_flags = 0;  // B and Z bits of the Encoded-Group, as received
  std::vector<EncodedSource> joins;
  std::vector<EncodedSource> prunes;
  bool operator==(const GroupEntry&) const = default;
};

struct JoinPrune {
  std::uint32_t upstream_neighbor = 0;
  std::uint16_t holdtime = 210;  // seconds
  std::vector<GroupEntry> groups;
  bool operator==(const JoinPrune&) const = default;
  std::size_t encoded_size() const;  // including the PIM header
};

struct Header {
  std::uint8_t version = kPimVersion;
  std::uint8_t type = 0;
  std::uint8_t reserved = 0;
  std::uint16_t checksum = 0;
};

struct Message {
  Header header;
  // Hello and Join/Prune are decoded; other types keep their raw body.
  std::variant<common::ByteSpan, Hello, JoinPrune> body;
};

// Parses one PIM message (an IPv4 payload): version 2, checksum verified, body bounds
// checked. Errors: truncated, malformed (bad lengths, counts, families, mask lengths),
// unsupported (version != 2, non-IPv4 encodings), integrity (checksum).
common::Result<Message> parse_message(common::ByteSpan pim);
common::Result<Hello> parse_hello_body(common::ByteSpan body);
common::Result<JoinPrune> parse_join_prune_body(common::ByteSpan body);

// Builds whole messages, header and checksum included.
common::Bytes build_hello(const Hello& h);
common::Bytes build_join_prune(const JoinPrune& jp);

// The checksum a message should carry (checksum field treated as zero).
std::uint16_t compute_checksum(common::ByteSpan pim);

// PIM in IPv4 (§4.9 / §6.1): TTL 1, to ALL-PIM-ROUTERS 224.0.0.13, protocol 103.
common::Bytes build_ipv4_packet(std::uint32_t src, common::ByteSpan pim, std::uint16_t ip_id = 0);

}  // namespace pim
