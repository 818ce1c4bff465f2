// IkeSa's side of RFC 7383 fragmentation: reassembling the peer's SKF messages and
// fragmenting our IKE_AUTH (or any protected message) when it exceeds the path limit.
#include "ike/ike_sa.h"

namespace ike {

common::Result<Message> IkeSa::open_protected(const Header& h, common::ByteSpan raw, TimePoint now,
                                              ParseDiag* diag, bool* pending) {
  *pending = false;
  if (h.next_payload != PayloadType::skf) return sk::decrypt(raw, *sk_in_, diag);
  frag::Reason why{};
  auto f = frag::open_fragment(raw, *sk_in_, &why);
  if (!f) {
    diag->reason = why == frag::Reason::crypto ? ParseReason::integrity : ParseReason::sk_malformed;
    return f.error();
  }
  Message m;
  auto& re = h.response ? frag_responses_ : frag_requests_;
  switch (re.add(std::move(*f), now, &m, &why)) {
    case frag::Reassembler::Outcome::complete: return m;
    case frag::Reassembler::Outcome::incomplete:
      *pending = true;
      return common::make_error(common::Errc::state, "fragment held");
    case frag::Reassembler::Outcome::discarded: break;
  }
  diag->reason = ParseReason::sk_malformed;
  log(common::LogLevel::debug, std::string("fragment discarded: ") + std::string(frag::to_string(why)));
  return common::make_error(common::Errc::malformed, "fragment discarded");
}

std::vector<common::Bytes> IkeSa::fragment_if_needed(const Header& h, const std::vector<Payload>& payloads,
                                                     std::size_t whole_size) {
  // fragment_size is the whole IP datagram (strongSwan's charon.fragment_size): less the
  // IP header, UDP header and the non-ESP marker.
  const std::size_t overhead = (remote_.addr.is_v4() ? 20 : 40) + 8 + 4;
  const std::size_t limit = ctx_.fragment_size > overhead ? ctx_.fragment_size - overhead : 0;
  if (!frag_peer_ || h.exchange == ExchangeType::ike_sa_init || whole_size <= limit || !sk_out_) return {};
  common::Bytes inner;
  PayloadType first = serialize_payload_chain(payloads, inner);
  auto frags = frag::build_fragments(h, first, inner, *sk_out_, ctx_.rng, limit);
  if (!frags) return {};
  log(common::LogLevel::debug, "splitting " + std::string(to_string(h.exchange)) + " of " +
                                   std::to_string(whole_size) + " bytes into " +
                                   std::to_string(frags->size()) + " fragments");
  return std::move(*frags);
}

void IkeSa::resend(const std::vector<common::Bytes>& frags, const common::Bytes& whole,
                   const common::Endpoint& local, const common::Endpoint& remote) {
  if (frags.empty()) {
    ctx_.outbox.push_back(OutDatagram{local, remote, whole});
    return;
  }
  for (const auto& f : frags) ctx_.outbox.push_back(OutDatagram{local, remote, f});
}

bool IkeSa::retransmit_trigger(const Header& h, common::ByteSpan raw) {
  if (h.next_payload != PayloadType::skf) return true;
  common::Reader r(raw.subspan(std::min(raw.size(), Header::kSize + 4)));
  return r.u16() == 1;
}

}  // namespace ike
