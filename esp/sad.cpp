#include "esp/sad.h"

#include <algorithm>
#include <tuple>

namespace esp {

using common::Errc;
using common::make_error;

namespace {

constexpr std::size_t kInitialCapacity = 16;

// Size of the address range of a selector, for "most specific first". IPv6 ranges are
// compared on their low 64 bits only when the high halves are equal (else: widest).
std::uint64_t addr_width(const common::TrafficSelector& ts) {
  if (ts.start.is_v4() && ts.end.is_v4()) {
    const std::uint32_t a = ts.start.v4_host(), b = ts.end.v4_host();
    return b >= a ? b - a : 0;
  }
  for (int i = 0; i < 8; ++i)
    if (ts.start.b[i] != ts.end.b[i]) return UINT64_MAX;
  std::uint64_t a = 0, b = 0;
  for (int i = 8; i < 16; ++i) {
    a = (a << 8) | ts.start.b[i];
    b = (b << 8) | ts.end.b[i];
  }
  return b >= a ? b - a : 0;
}

bool remote_matches(const Sa& sa, const common::IpAddr& dst, std::uint8_t proto, std::uint16_t port) {
  if (sa.remote_ts().empty()) return true;
  for (const auto& ts : sa.remote_ts())
    if (ts.matches(dst, proto, port)) return true;
  return false;
}

}  // namespace

Sad::Sad() { rehash(kInitialCapacity); }
Sad::~Sad() = default;

std::size_t Sad::probe_start(std::uint32_t spi) const {
  // Fibonacci hashing: SPIs chosen by a peer need not be random.
  return static_cast<std::uint32_t>(spi * 0x9E3779B1u) >> shift_;
}

std::size_t Sad::find_slot(std::uint32_t spi) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = probe_start(spi), n = 0; n < slots_.size(); i = (i + 1) & mask, ++n) {
    const Slot& s = slots_[i];
    if (!s.sa && !s.tombstone) break;
    if (s.sa && s.spi == spi) return i;
  }
  return slots_.size();
}

void Sad::rehash(std::size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.clear();
  slots_.resize(capacity);
  shift_ = 32;
  for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
  tombstones_ = 0;
  const std::size_t mask = capacity - 1;
  for (auto& s : old) {
    if (!s.sa) continue;
    std::size_t i = probe_start(s.spi);
    while (slots_[i].sa) i = (i + 1) & mask;
    slots_[i].spi = s.spi;
    slots_[i].sa = std::move(s.sa);
  }
}

common::Status Sad::add_inbound(std::unique_ptr<Sa> sa) {
  if (!sa || sa->direction() != Direction::inbound) return make_error(Errc::state, "not an inbound SA");
  if (find_slot(sa->spi()) != slots_.size()) return make_error(Errc::state, "inbound SPI already installed");
  if ((in_count_ + tombstones_ + 1) * 2 > slots_.size()) {
    const bool grow = (in_count_ + 1) * 4 > slots_.size();
    rehash(grow ? slots_.size() * 2 : slots_.size());
  }
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = probe_start(sa->spi());
  while (slots_[i].sa) i = (i + 1) & mask;
  if (slots_[i].tombstone) --tombstones_;
  slots_[i].tombstone = false;
  slots_[i].spi = sa->spi();
  slots_[i].sa = std::move(sa);
  ++in_count_;
  return {};
}

std::unique_ptr<Sa> Sad::remove_inbound(std::uint32_t spi) {
  const std::size_t i = find_slot(spi);
  if (i == slots_.size()) return nullptr;
  std::unique_ptr<Sa> sa = std::move(slots_[i].sa);
  slots_[i].tombstone = true;
  --in_count_;
  ++tombstones_;
  return sa;
}

Sa* Sad::find_inbound(std::uint32_t spi) const {
  const std::size_t i = find_slot(spi);
  return i == slots_.size() ? nullptr : slots_[i].sa.get();
}

common::Status Sad::add_outbound(std::unique_ptr<Sa> sa, bool by_selectors) {
  if (!sa || sa->direction() != Direction::outbound) return make_error(Errc::state, "not an outbound SA");
  if (find_outbound(sa->spi())) return make_error(Errc::state, "outbound SPI already installed");
  OutEntry e;
  e.addr_width = sa->remote_ts().empty() ? UINT64_MAX : 0;
  e.port_width = sa->remote_ts().empty() ? 65535 : 0;
  if (!sa->remote_ts().empty()) {
    e.addr_width = UINT64_MAX;
    e.port_width = UINT32_MAX;
    for (const auto& ts : sa->remote_ts()) {
      e.addr_width = std::min(e.addr_width, addr_width(ts));
      const std::uint32_t pw = ts.end_port >= ts.start_port ? ts.end_port - ts.start_port : 0;
      e.port_width = std::min(e.port_width, pw);
    }
  }
  e.by_selectors = by_selectors;
  e.sa = std::move(sa);
  auto pos = std::find_if(out_.begin(), out_.end(), [&](const OutEntry& o) {
    return std::tie(o.addr_width, o.port_width) >= std::tie(e.addr_width, e.port_width);
  });
  out_.insert(pos, std::move(e));
  return {};
}

std::unique_ptr<Sa> Sad::remove_outbound(std::uint32_t spi) {
  auto it = std::find_if(out_.begin(), out_.end(), [&](const OutEntry& o) { return o.sa->spi() == spi; });
  if (it == out_.end()) return nullptr;
  std::unique_ptr<Sa> sa = std::move(it->sa);
  out_.erase(it);
  return sa;
}

Sa* Sad::find_outbound(std::uint32_t spi) const {
  for (const auto& o : out_)
    if (o.sa->spi() == spi) return o.sa.get();
  return nullptr;
}

Sa* Sad::select_outbound(const common::IpAddr& dst, std::uint8_t protocol, std::uint16_t dst_port) const {
  for (const auto& o : out_)
    if (o.by_selectors && remote_matches(*o.sa, dst, protocol, dst_port)) return o.sa.get();
  return nullptr;
}

Sa* Sad::select_outbound(const ip::Flow& flow) const {
  for (const auto& o : out_)
    if (o.by_selectors && o.sa->outbound_policy_allows(flow)) return o.sa.get();
  return nullptr;
}

DecapResult Sad::decap(common::MutByteSpan packet, TimePoint now) {
  DecapResult r;
  if (packet.size() < Sa::kEspHeader) {
    ++truncated_;
    r.drop = Drop::truncated;
    return r;
  }
  std::uint32_t spi = 0;
  for (int i = 0; i < 4; ++i) spi = (spi << 8) | std::to_integer<std::uint32_t>(packet[i]);
  Sa* sa = find_inbound(spi);
  if (!sa) {
    ++unknown_spi_;
    r.drop = Drop::bad_spi;
    return r;
  }
  return sa->decap(packet, now);
}

}  // namespace esp
