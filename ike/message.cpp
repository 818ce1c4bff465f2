#include "ike/message.h"

namespace ike {

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::Reader;
using common::Result;
using common::Writer;

namespace {

common::Error fail(ParseDiag* diag, ParseReason reason, Errc code, const char* detail,
                   std::uint8_t payload_type = 0) {
  if (diag) {
    diag->reason = reason;
    diag->payload_type = payload_type;
  }
  return common::make_error(code, detail);
}

}  // namespace

std::string_view to_string(ExchangeType e) {
  switch (e) {
    case ExchangeType::ike_sa_init: return "IKE_SA_INIT";
    case ExchangeType::ike_auth: return "IKE_AUTH";
    case ExchangeType::create_child_sa: return "CREATE_CHILD_SA";
    case ExchangeType::informational: return "INFORMATIONAL";
  }
  return "UNKNOWN";
}

std::string_view to_string(ParseReason r) {
  switch (r) {
    case ParseReason::ok: return "ok";
    case ParseReason::header_truncated: return "header truncated";
    case ParseReason::length_mismatch: return "length mismatch";
    case ParseReason::bad_major_version: return "bad major version";
    case ParseReason::payload_truncated: return "payload truncated";
    case ParseReason::payload_malformed: return "payload malformed";
    case ParseReason::unsupported_critical: return "unsupported critical payload";
    case ParseReason::sk_not_last: return "SK payload not last";
    case ParseReason::sk_missing: return "SK payload missing";
    case ParseReason::sk_malformed: return "SK payload malformed";
    case ParseReason::integrity: return "integrity check failed";
    case ParseReason::crypto: return "crypto failure";
    case ParseReason::unknown_exchange: return "unknown exchange type";
    case ParseReason::rule_missing: return "mandatory payload missing";
    case ParseReason::rule_too_many: return "payload repeated too often";
    case ParseReason::rule_not_allowed: return "payload not allowed in exchange";
    case ParseReason::rule_not_encrypted: return "payload outside/inside SK";
  }
  return "unknown";
}

std::optional<NotifyType> notify_for(ParseReason r) {
  switch (r) {
    case ParseReason::ok:
    case ParseReason::header_truncated:
    case ParseReason::length_mismatch:
    case ParseReason::integrity:
    case ParseReason::crypto:
      return std::nullopt;
    case ParseReason::bad_major_version:
      return NotifyType::invalid_major_version;
    case ParseReason::unsupported_critical:
      return NotifyType::unsupported_critical_payload;
    default:
      return NotifyType::invalid_syntax;
  }
}

// ---- header ----

Result<Header> Header::parse(ByteSpan datagram) {
  Reader r(datagram);
  Header h;
  h.spi_i = r.u64();
  h.spi_r = r.u64();
  h.next_payload = static_cast<PayloadType>(r.u8());
  std::uint8_t ver = r.u8();
  h.major_version = ver >> 4;
  h.minor_version = ver & 0x0f;
  h.exchange = static_cast<ExchangeType>(r.u8());
  std::uint8_t flags = r.u8();
  h.initiator = (flags & kFlagInitiator) != 0;
  h.version = (flags & kFlagVersion) != 0;
  h.response = (flags & kFlagResponse) != 0;
  h.message_id = r.u32();
  h.length = r.u32();
  if (!r.ok()) return common::make_error(Errc::truncated, "IKE header");
  return h;
}

void Header::serialize(Writer& w) const {
  w.u64(spi_i);
  w.u64(spi_r);
  w.u8(static_cast<std::uint8_t>(next_payload));
  w.u8(static_cast<std::uint8_t>((major_version << 4) | (minor_version & 0x0f)));
  w.u8(static_cast<std::uint8_t>(exchange));
  w.u8(static_cast<std::uint8_t>((initiator ? kFlagInitiator : 0) | (version ? kFlagVersion : 0) |
                                 (response ? kFlagResponse : 0)));
  w.u32(message_id);
  w.u32(length);
}

// ---- payload chain ----

common::Status parse_payload_chain(PayloadType first, ByteSpan data, bool allow_sk,
                                   std::vector<Payload>& out, ParseDiag* diag) {
  Reader r(data);
  PayloadType type = first;
  while (type != PayloadType::none) {
    const auto type_byte = static_cast<std::uint8_t>(type);
    auto g = GenericHeader::read(r);
    if (!g)
      return fail(diag, ParseReason::payload_truncated, Errc::truncated, "generic payload header",
                  type_byte);
    if (g->length < GenericHeader::kSize)
      return fail(diag, ParseReason::payload_malformed, Errc::malformed, "payload length < 4",
                  type_byte);
    ByteSpan body = r.bytes(g->length - GenericHeader::kSize);
    if (!r.ok())
      return fail(diag, ParseReason::payload_truncated, Errc::truncated,
                  "payload runs past its container", type_byte);

    if (type == PayloadType::sk) {
      if (!allow_sk || !r.empty())
        return fail(diag, ParseReason::sk_not_last, Errc::malformed, "SK payload not last",
                    type_byte);
      out.push_back(SkPayload{static_cast<PayloadType>(g->next), Bytes(body.begin(), body.end())});
      return {};
    }
    if (!is_known_payload(type)) {
      if (g->flags & GenericHeader::kCritical)
        return fail(diag, ParseReason::unsupported_critical, Errc::unsupported,
                    "unknown critical payload", type_byte);
      // §2.5: unknown non-critical payloads are skipped.
    } else {
      auto p = parse_payload_body(type, body);
      if (!p) {
        bool trunc = p.error().code == Errc::truncated;
        return fail(diag, trunc ? ParseReason::payload_truncated : ParseReason::payload_malformed,
                    p.error().code, p.error().detail, type_byte);
      }
      out.push_back(std::move(*p));
    }
    type = static_cast<PayloadType>(g->next);
  }
  if (!r.empty())
    return fail(diag, ParseReason::payload_malformed, Errc::malformed,
                "bytes after the last payload");
  return {};
}

PayloadType serialize_payload_chain(std::span<const Payload> payloads, Bytes& out,
                                    PayloadType after_last) {
  Writer w(out);
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    PayloadType next = i + 1 < payloads.size() ? payload_type(payloads[i + 1]) : after_last;
    if (const auto* sk = std::get_if<SkPayload>(&p)) next = sk->inner_first;
    std::size_t start = out.size();
    GenericHeader{static_cast<std::uint8_t>(next), 0, 0}.write(w);  // length patched below
    serialize_payload_body(p, w);
    w.patch_u16(start + 2, static_cast<std::uint16_t>(out.size() - start));
  }
  return payloads.empty() ? after_last : payload_type(payloads.front());
}

// ---- message ----

Result<Message> parse_message(ByteSpan datagram, ParseDiag* diag) {
  auto h = Header::parse(datagram);
  if (!h) return fail(diag, ParseReason::header_truncated, Errc::truncated, "IKE header");
  if (h->major_version != 2)
    return fail(diag, ParseReason::bad_major_version, Errc::unsupported, "IKE major version");
  if (h->length != datagram.size())
    return fail(diag, ParseReason::length_mismatch, Errc::malformed, "IKE length field");
  Message m;
  m.header = *h;
  auto st = parse_payload_chain(h->next_payload, datagram.subspan(Header::kSize), true,
                                m.payloads, diag);
  if (!st) return st.error();
  return m;
}

Result<Bytes> encode_message(const Message& m) {
  if (m.encrypted) return common::make_error(Errc::state, "encrypted message: use sk::build_encrypted");
  for (std::size_t i = 0; i + 1 < m.payloads.size(); ++i)
    if (std::holds_alternative<SkPayload>(m.payloads[i]))
      return common::make_error(Errc::malformed, "SK payload not last");
  Bytes out;
  out.reserve(512);
  Header h = m.header;
  h.next_payload = m.payloads.empty() ? PayloadType::none : payload_type(m.payloads.front());
  Writer w(out);
  h.serialize(w);
  serialize_payload_chain(m.payloads, out);
  if (out.size() > 0xffff) return common::make_error(Errc::malformed, "message too large");
  Writer(out).patch_u32(24, static_cast<std::uint32_t>(out.size()));
  return out;
}

}  // namespace ike
