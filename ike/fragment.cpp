// RFC 7383 fragmentation: see fragment.h.
#include "ike/fragment.h"

namespace ike::frag {

using common::ByteSpan;
using common::Bytes;
using common::Errc;

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::ok: return "ok";
    case Reason::not_skf: return "not an SKF message";
    case Reason::truncated: return "truncated";
    case Reason::bad_numbers: return "bad fragment numbers";
    case Reason::crypto: return "integrity check failed";
    case Reason::too_many: return "too many fragments";
    case Reason::too_large: return "reassembled message too large";
    case Reason::stale: return "fewer fragments than the message in progress";
    case Reason::duplicate: return "duplicate fragment";
    case Reason::inner_malformed: return "reassembled payloads malformed";
  }
  return "?";
}

namespace {
common::Error fail(Reason* why, Reason r, Errc c, const char* detail) {
  if (why) *why = r;
  return common::make_error(c, detail);
}
}  // namespace

common::Result<Fragment> open_fragment(ByteSpan datagram, sk::SkKeys& keys, Reason* why) {
  auto h = Header::parse(datagram);
  if (!h) return fail(why, Reason::truncated, Errc::truncated, "SKF: short header");
  if (h->next_payload != PayloadType::skf) return fail(why, Reason::not_skf, Errc::malformed, "not SKF");
  if (h->length != datagram.size() || datagram.size() < Header::kSize + kFixedSize)
    return fail(why, Reason::truncated, Errc::truncated, "SKF: length mismatch");
  common::Reader r(datagram.subspan(Header::kSize));
  Fragment f;
  f.header = *h;
  auto g = GenericHeader::read(r);
  f.number = r.u16();
  f.total = r.u16();
  if (!g || !r.ok() || g->length != datagram.size() - Header::kSize)
    return fail(why, Reason::truncated, Errc::truncated, "SKF: payload length mismatch");
  f.first_inner = static_cast<PayloadType>(g->next);
  if (f.number == 0 || f.total == 0 || f.number > f.total)
    return fail(why, Reason::bad_numbers, Errc::malformed, "SKF: bad fragment numbers");
  ParseDiag diag;
  auto plain = sk::open_body(datagram, Header::kSize + kFixedSize, keys, &diag);
  if (!plain) {
    if (diag.reason == ParseReason::integrity || diag.reason == ParseReason::crypto)
      return fail(why, Reason::crypto, Errc::integrity, "SKF: integrity");
    return fail(why, Reason::truncated, Errc::malformed, "SKF: body malformed");
  }
  f.plain = std::move(*plain);
  if (why) *why = Reason::ok;
  return f;
}

common::Result<std::vector<Bytes>> build_fragments(const Header& h, PayloadType first_inner, ByteSpan inner,
                                                   sk::SkKeys& keys, common::crypto::Random& rng,
                                                   std::size_t max_datagram) {
  const std::size_t fixed = Header::kSize + kFixedSize + keys.iv_size() + keys.icv_size();
  const std::size_t bs = keys.block_size();
  if (max_datagram > 0xffff) max_datagram = 0xffff;
  if (max_datagram < fixed + bs * 2) return common::make_error(Errc::malformed, "SKF: no room for content");
  // Largest plaintext (content | padding | pad length) that fits, a multiple of the block.
  const std::size_t plain_max = (max_datagram - fixed) / bs * bs;
  const std::size_t chunk = plain_max - 1;
  const std::size_t n = inner.empty() ? 1 : (inner.size() + chunk - 1) / chunk;
  if (n > 0xffff) return common::make_error(Errc::malformed, "SKF: too many fragments");
  std::vector<Bytes> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ByteSpan part = inner.subspan(i * chunk, std::min(chunk, inner.size() - i * chunk));
    const std::size_t total = Header::kSize + kFixedSize + sk::body_size(keys, part.size());
    Bytes d;
    d.reserve(total);
    common::Writer w(d);
    Header hdr = h;
    hdr.next_payload = PayloadType::skf;
    hdr.length = static_cast<std::uint32_t>(total);
    hdr.serialize(w);
    GenericHeader{static_cast<std::uint8_t>(i == 0 ? first_inner : PayloadType::none), 0,
                  static_cast<std::uint16_t>(total - Header::kSize)}
        .write(w);
    w.u16(static_cast<std::uint16_t>(i + 1));
    w.u16(static_cast<std::uint16_t>(n));
    if (auto st = sk::seal_body(d, part, keys, rng); !st) return st.error();
    out.push_back(std::move(d));
  }
  return out;
}

void Reassembler::clear() {
  active_ = false;
  parts_.clear();
  bytes_ = count_ = 0;
  total_ = 0;
}

Reassembler::Outcome Reassembler::add(Fragment f, TimePoint now, Message* out, Reason* why) {
  auto discard = [&](Reason r) {
    if (why) *why = r;
    return Outcome::discarded;
  };
  if (active_ && (now - started_ > limits_.timeout || f.header.message_id != mid_)) clear();
  if (f.total > limits_.max_fragments) return discard(Reason::too_many);
  if (f.number == 0 || f.number > f.total) return discard(Reason::bad_numbers);
  if (active_ && f.total < total_) return discard(Reason::stale);
  if (active_ && f.total > total_) clear();  // re-fragmented smaller: start over (§2.6.2)
  if (!active_) {
    active_ = true;
    mid_ = f.header.message_id;
    total_ = f.total;
    started_ = now;
    parts_.assign(f.total, std::nullopt);
  }
  auto& slot = parts_[f.number - 1];
  if (slot) return discard(Reason::duplicate);
  if (bytes_ + f.plain.size() > limits_.max_bytes) {
    clear();
    return discard(Reason::too_large);
  }
  if (f.number == 1) {
    header_ = f.header;
    first_inner_ = f.first_inner;
  }
  bytes_ += f.plain.size();
  ++count_;
  slot = std::move(f.plain);
  if (count_ < total_) {
    if (why) *why = Reason::ok;
    return Outcome::incomplete;
  }
  Bytes inner;
  inner.reserve(bytes_);
  for (const auto& p : parts_) inner.insert(inner.end(), p->begin(), p->end());
  Message m;
  m.header = header_;
  m.header.next_payload = PayloadType::sk;
  m.encrypted = true;
  PayloadType first = first_inner_;
  clear();
  if (!parse_payload_chain(first, inner, false, m.payloads)) return discard(Reason::inner_malformed);
  if (out) *out = std::move(m);
  if (why) *why = Reason::ok;
  return Outcome::complete;
}

}  // namespace ike::frag
