// Security Association Database (RFC 4301 §4.4.2) for the data path.
//
// Inbound: SPI → SA in an open-addressing hash table (linear probing, power-of-two size,
// load <= 1/2), so a lookup is a few probes and never allocates. Installing may grow the
// table; that happens on the control path (IKE install/rekey), not per packet.
//
// Outbound: SA selection for a packet to send, over the installed outbound SAs' traffic
// selectors. A small table kept sorted most specific first (narrowest remote address
// range, then narrowest port range), newest first among equals so that after a rekey
// the new SA wins while the old one is still installed. Linear scan: a handful of SAs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"
#include "esp/ip.h"
#include "esp/sa.h"

namespace esp {

class Sad {
 public:
  Sad();
  ~Sad();
  Sad(const Sad&) = delete;
  Sad& operator=(const Sad&) = delete;

  // Takes ownership. Errc::state if the direction is wrong or the SPI is already used.
  common::Status add_inbound(std::unique_ptr<Sa> sa);
  // by_selectors = false: a route-based conn's SA (its own device decides what it carries,
  // daemon/child_table.h): found by SPI, never chosen by select_outbound.
  common::Status add_outbound(std::unique_ptr<Sa> sa, bool by_selectors = true);
  // Returns the removed SA (nullptr if none), e.g. to read its final counters.
  std::unique_ptr<Sa> remove_inbound(std::uint32_t spi);
  std::unique_ptr<Sa> remove_outbound(std::uint32_t spi);

  Sa* find_inbound(std::uint32_t spi) const;
  Sa* find_outbound(std::uint32_t spi) const;

  // Outbound SA whose remote TS holds (dst, protocol, dst_port) (pass port 0 when the
  // protocol has none); nullptr when none does.
  Sa* select_outbound(const common::IpAddr& dst, std::uint8_t protocol, std::uint16_t dst_port) const;
  // Stricter: also the source against the local TS (Sa::outbound_policy_allows).
  Sa* select_outbound(const ip::Flow& flow) const;

  // Inbound entry point: SPI lookup then Sa::decap. Drops before an SA is found (too
  // short for an ESP header, unknown SPI) are counted here.
  DecapResult decap(common::MutByteSpan packet, TimePoint now);

  std::uint64_t unknown_spi_drops() const { return unknown_spi_; }
  std::uint64_t truncated_drops() const { return truncated_; }
  std::size_t inbound_count() const { return in_count_; }
  std::size_t outbound_count() const { return out_.size(); }

  // For status: visit every SA.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& s : slots_)
      if (s.sa) f(*s.sa);
    for (const auto& o : out_) f(*o.sa);
  }

 private:
  struct Slot {
    std::unique_ptr<Sa> sa;
    std::uint32_t spi = 0;
    bool tombstone = false;
  };
  struct OutEntry {
    std::unique_ptr<Sa> sa;
    std::uint64_t addr_width = 0;  // sort key: narrowest remote TS address range
    std::uint32_t port_width = 0;
    bool by_selectors = true;
  };

  std::size_t probe_start(std::uint32_t spi) const;
  std::size_t find_slot(std::uint32_t spi) const;  // index or slots_.size()
  void rehash(std::size_t capacity);

  std::vector<Slot> slots_;
  std::size_t in_count_ = 0;
  std::size_t tombstones_ = 0;
  unsigned shift_ = 0;  // 32 - log2(capacity)
  std::vector<OutEntry> out_;
  std::uint64_t unknown_spi_ = 0;
  std::uint64_t truncated_ = 0;
};

}  // namespace esp
