// IKE message fragmentation (RFC 7383): the Encrypted Fragment payload (SKF, type 53),
// splitting a protected message into SKF datagrams, and bounded reassembly.
//
// RFC 7383 §2.5, Encrypted Fragment payload:
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |        Fragment Number        |        Total Fragments        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// ~                      Encrypted content                        ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// ~                    Integrity Checksum Data                    ~
//
// Each fragment is a whole IKE message (same header, Message ID and exchange; Length of
// this datagram) whose only payload is SKF, protected like SK (§2.5: the AAD / ICV cover the
// header and the SKF fixed fields). Next Payload is the first inner payload's type in
// fragment 1, zero in the others. Fragment Number runs 1..Total Fragments.
// Reassembly (§2.6.2): each fragment is authenticated on arrival; a higher Total Fragments
// for the same message restarts it (the sender re-fragmented smaller), a lower one is
// dropped. Our bounds: fragments per message, total bytes, and a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/result.h"
#include "ike/message.h"
#include "ike/sk.h"

namespace ike::frag {

// IKE message bytes (no non-ESP marker) above which we fragment: an IPv4 path of 1280
// minus the IP (20) and UDP (8) headers and the non-ESP marker (4).
constexpr std::size_t kDefaultLimit = 1280 - 20 - 8 - 4;
constexpr std::size_t kFixedSize = 8;  // SKF generic header + number + total

enum class Reason : std::uint8_t {
  ok = 0,
  not_skf,           // the header's Next Payload is not SKF
  truncated,         // shorter than header + SKF fixed fields, or lengths disagree
  bad_numbers,       // Fragment Number 0, Total 0, or Number > Total
  crypto,            // ICV / tag mismatch or decryption failure
  too_many,          // Total Fragments above our limit
  too_large,         // the reassembled message would exceed our byte limit
  stale,             // fewer Total Fragments than the message being reassembled
  duplicate,         // this fragment number is already held
  inner_malformed,   // the reassembled inner payload chain does not parse
};
std::string_view to_string(Reason r);

// One authenticated, decrypted fragment.
struct Fragment {
  Header header;
  std::uint16_t number = 0, total = 0;
  PayloadType first_inner = PayloadType::none;  // meaningful in fragment 1
  common::Bytes plain;                          // this fragment's share of the inner chain
};

// Parses, verifies and decrypts one SKF datagram.
common::Result<Fragment> open_fragment(common::ByteSpan datagram, sk::SkKeys& keys, Reason* why = nullptr);

// Splits the inner payload chain (first_inner, inner) of message h into SKF datagrams of
// at most max_datagram bytes each. Fails if that needs more than 0xffff fragments or
// max_datagram leaves no room for content.
common::Result<std::vector<common::Bytes>> build_fragments(const Header& h, PayloadType first_inner,
                                                           common::ByteSpan inner, sk::SkKeys& keys,
                                                           common::crypto::Random& rng,
                                                           std::size_t max_datagram = kDefaultLimit);

struct ReassemblyLimits {
  std::size_t max_fragments = 64;
  std::size_t max_bytes = 64 * 1024;
  std::chrono::seconds timeout{30};
};

// Reassembles one message at a time (IKE's window of 1 per direction; one Reassembler for
// requests and one for responses).
class Reassembler {
 public:
  using Limits = ReassemblyLimits;
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit Reassembler(Limits l = {}) : limits_(l) {}

  enum class Outcome : std::uint8_t { incomplete, complete, discarded };
  // Adds an authenticated fragment. complete: *out is the whole message (encrypted = true,
  // payloads = the inner chain), and the state is cleared. discarded: *why says why.
  Outcome add(Fragment f, TimePoint now, Message* out, Reason* why = nullptr);
  void clear();
  bool active() const { return active_; }
  std::size_t held_bytes() const { return bytes_; }
  std::size_t held_fragments() const { return count_; }

 private:
  Limits limits_;
  bool active_ = false;
  std::uint32_t mid_ = 0;
  std::uint16_t total_ = 0;
  std::size_t bytes_ = 0, count_ = 0;
  TimePoint started_{};
  Header header_;
  PayloadType first_inner_ = PayloadType::none;
  std::vector<std::optional<common::Bytes>> parts_;
};

}  // namespace ike::frag
