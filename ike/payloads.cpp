#include "ike/payloads.h"

#include <type_traits>

namespace ike {

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::Reader;
using common::Result;
using common::Writer;

namespace {

common::Error truncated(const char* what) { return common::make_error(Errc::truncated, what); }
common::Error malformed(const char* what) { return common::make_error(Errc::malformed, what); }

Bytes copy(ByteSpan s) { return common::to_bytes(s); }

// Payload length fields are 16 bits; callers keep bodies far below that (IKE messages
// are bounded by the UDP datagram), so a narrowing cast here is a contract, not a check.
std::uint16_t u16_len(std::size_t n) { return static_cast<std::uint16_t>(n); }

constexpr std::uint8_t kLastSubstruc = 0;
constexpr std::uint8_t kMoreProposals = 2;
constexpr std::uint8_t kMoreTransforms = 3;
constexpr std::size_t kProposalHeader = 8;
constexpr std::size_t kTransformHeader = 8;

Result<Transform> parse_transform(Reader& r, bool& last) {
  auto g = GenericHeader::read(r);
  if (!g) return truncated("transform header");
  if (g->next != kLastSubstruc && g->next != kMoreTransforms) return malformed("transform last-substruc");
  if (g->length < kTransformHeader) return malformed("transform length");
  Reader t = r.sub(g->length - GenericHeader::kSize);
  if (!r.ok()) return truncated("transform");
  last = g->next == kLastSubstruc;
  Transform out;
  out.type = static_cast<TransformType>(t.u8());
  t.skip(1);
  out.id = t.u16();
  while (t.ok() && !t.empty()) {
    std::uint16_t at = t.u16();
    bool tv = (at & 0x8000) != 0;
    std::uint16_t type = at & 0x7fff;
    if (tv) {
      std::uint16_t value = t.u16();
      if (!t.ok()) break;
      if (type == kAttrKeyLength && !out.key_length) out.key_length = value;
      else out.unknown_attribute = true;
    } else {
      std::uint16_t alen = t.u16();
      t.skip(alen);
      if (!t.ok()) break;
      out.unknown_attribute = true;
    }
  }
  if (!t.ok()) return truncated("transform attribute");
  return out;
}

Result<SaProposal> parse_proposal(Reader& r, bool& last) {
  auto g = GenericHeader::read(r);
  if (!g) return truncated("proposal header");
  if (g->next != kLastSubstruc && g->next != kMoreProposals) return malformed("proposal last-substruc");
  if (g->length < kProposalHeader) return malformed("proposal length");
  Reader p = r.sub(g->length - GenericHeader::kSize);
  if (!r.ok()) return truncated("proposal");
  last = g->next == kLastSubstruc;
  SaProposal out;
  out.number = p.u8();
  out.protocol = static_cast<ProtocolId>(p.u8());
  std::uint8_t spi_size = p.u8();
  std::uint8_t n_transforms = p.u8();
  out.spi = copy(p.bytes(spi_size));
  if (!p.ok()) return truncated("proposal SPI");
  if (out.number == 0) return malformed("proposal number 0");
  bool tlast = n_transforms == 0;
  for (unsigned i = 0; i < n_transforms; ++i) {
    if (tlast) return malformed("transform count");
    auto t = parse_transform(p, tlast);
    if (!t) return t.error();
    out.transforms.push_back(std::move(*t));
  }
  if (!tlast) return malformed("transform count");
  if (!p.empty()) return malformed("proposal trailing bytes");
  return out;
}

}  // namespace

std::string_view to_string(PayloadType t) {
  switch (t) {
    case PayloadType::none: return "NONE";
    case PayloadType::sa: return "SA";
    case PayloadType::ke: return "KE";
    case PayloadType::idi: return "IDi";
    case PayloadType::idr: return "IDr";
    case PayloadType::cert: return "CERT";
    case PayloadType::certreq: return "CERTREQ";
    case PayloadType::auth: return "AUTH";
    case PayloadType::nonce: return "No";
    case PayloadType::notify: return "N";
    case PayloadType::del: return "D";
    case PayloadType::vendor_id: return "V";
    case PayloadType::tsi: return "TSi";
    case PayloadType::tsr: return "TSr";
    case PayloadType::sk: return "SK";
    case PayloadType::cp: return "CP";
    case PayloadType::eap: return "EAP";
    case PayloadType::skf: return "SKF";
  }
  return "UNKNOWN";
}

std::string_view to_string(NotifyType t) {
  switch (t) {
    case NotifyType::unsupported_critical_payload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case NotifyType::invalid_ike_spi: return "INVALID_IKE_SPI";
    case NotifyType::invalid_major_version: return "INVALID_MAJOR_VERSION";
    case NotifyType::invalid_syntax: return "INVALID_SYNTAX";
    case NotifyType::invalid_message_id: return "INVALID_MESSAGE_ID";
    case NotifyType::invalid_spi: return "INVALID_SPI";
    case NotifyType::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case NotifyType::invalid_ke_payload: return "INVALID_KE_PAYLOAD";
    case NotifyType::authentication_failed: return "AUTHENTICATION_FAILED";
    case NotifyType::single_pair_required: return "SINGLE_PAIR_REQUIRED";
    case NotifyType::no_additional_sas: return "NO_ADDITIONAL_SAS";
    case NotifyType::internal_address_failure: return "INTERNAL_ADDRESS_FAILURE";
    case NotifyType::failed_cp_required: return "FAILED_CP_REQUIRED";
    case NotifyType::ts_unacceptable: return "TS_UNACCEPTABLE";
    case NotifyType::invalid_selectors: return "INVALID_SELECTORS";
    case NotifyType::temporary_failure: return "TEMPORARY_FAILURE";
    case NotifyType::child_sa_not_found: return "CHILD_SA_NOT_FOUND";
    case NotifyType::initial_contact: return "INITIAL_CONTACT";
    case NotifyType::set_window_size: return "SET_WINDOW_SIZE";
    case NotifyType::additional_ts_possible: return "ADDITIONAL_TS_POSSIBLE";
    case NotifyType::ipcomp_supported: return "IPCOMP_SUPPORTED";
    case NotifyType::nat_detection_source_ip: return "NAT_DETECTION_SOURCE_IP";
    case NotifyType::nat_detection_destination_ip: return "NAT_DETECTION_DESTINATION_IP";
    case NotifyType::cookie: return "COOKIE";
    case NotifyType::use_transport_mode: return "USE_TRANSPORT_MODE";
    case NotifyType::http_cert_lookup_supported: return "HTTP_CERT_LOOKUP_SUPPORTED";
    case NotifyType::rekey_sa: return "REKEY_SA";
    case NotifyType::esp_tfc_padding_not_supported: return "ESP_TFC_PADDING_NOT_SUPPORTED";
    case NotifyType::non_first_fragments_also: return "NON_FIRST_FRAGMENTS_ALSO";
    case NotifyType::mobike_supported: return "MOBIKE_SUPPORTED";
    case NotifyType::additional_ip4_address: return "ADDITIONAL_IP4_ADDRESS";
    case NotifyType::additional_ip6_address: return "ADDITIONAL_IP6_ADDRESS";
    case NotifyType::no_additional_addresses: return "NO_ADDITIONAL_ADDRESSES";
    case NotifyType::update_sa_addresses: return "UPDATE_SA_ADDRESSES";
    case NotifyType::cookie2: return "COOKIE2";
    case NotifyType::no_nats_allowed: return "NO_NATS_ALLOWED";
    case NotifyType::auth_lifetime: return "AUTH_LIFETIME";
    case NotifyType::multiple_auth_supported: return "MULTIPLE_AUTH_SUPPORTED";
    case NotifyType::another_auth_follows: return "ANOTHER_AUTH_FOLLOWS";
    case NotifyType::redirect_supported: return "REDIRECT_SUPPORTED";
    case NotifyType::redirect: return "REDIRECT";
    case NotifyType::redirected_from: return "REDIRECTED_FROM";
    case NotifyType::eap_only_authentication: return "EAP_ONLY_AUTHENTICATION";
    case NotifyType::childless_ikev2_supported: return "CHILDLESS_IKEV2_SUPPORTED";
    case NotifyType::ikev2_fragmentation_supported: return "IKEV2_FRAGMENTATION_SUPPORTED";
    case NotifyType::signature_hash_algorithms: return "SIGNATURE_HASH_ALGORITHMS";
  }
  return "UNKNOWN";
}

// ---- generic header ----

std::optional<GenericHeader> GenericHeader::read(Reader& r) {
  GenericHeader g;
  g.next = r.u8();
  g.flags = r.u8();
  g.length = r.u16();
  if (!r.ok()) return std::nullopt;
  return g;
}

void GenericHeader::write(Writer& w) const {
  w.u8(next);
  w.u8(flags);
  w.u16(length);
}

// ---- SA ----

Result<SaPayload> SaPayload::parse(ByteSpan body) {
  Reader r(body);
  SaPayload out;
  bool last = false;
  while (!last) {
    if (r.empty()) return truncated("SA: no last proposal");
    auto p = parse_proposal(r, last);
    if (!p) return p.error();
    if (!out.proposals.empty() && p->number < out.proposals.back().number)
      return malformed("SA: proposal numbers decrease");
    out.proposals.push_back(std::move(*p));
  }
  if (!r.empty()) return malformed("SA: bytes after last proposal");
  return out;
}

void SaPayload::serialize(Writer& w) const {
  for (std::size_t i = 0; i < proposals.size(); ++i) {
    const SaProposal& p = proposals[i];
    std::size_t len = kProposalHeader + p.spi.size();
    for (const Transform& t : p.transforms) len += kTransformHeader + (t.key_length ? 4 : 0);
    GenericHeader{i + 1 == proposals.size() ? kLastSubstruc : kMoreProposals, 0, u16_len(len)}.write(w);
    w.u8(p.number ? p.number : static_cast<std::uint8_t>(i + 1));
    w.u8(static_cast<std::uint8_t>(p.protocol));
    w.u8(static_cast<std::uint8_t>(p.spi.size()));
    w.u8(static_cast<std::uint8_t>(p.transforms.size()));
    w.bytes(p.spi);
    for (std::size_t j = 0; j < p.transforms.size(); ++j) {
      const Transform& t = p.transforms[j];
      GenericHeader{j + 1 == p.transforms.size() ? kLastSubstruc : kMoreTransforms, 0,
                    u16_len(kTransformHeader + (t.key_length ? 4 : 0))}
          .write(w);
      w.u8(static_cast<std::uint8_t>(t.type));
      w.u8(0);
      w.u16(t.id);
      if (t.key_length) {
        w.u16(0x8000 | kAttrKeyLength);
        w.u16(*t.key_length);
      }
    }
  }
}

// ---- KE ----

Result<KePayload> KePayload::parse(ByteSpan body) {
  Reader r(body);
  KePayload out;
  out.dh_group = r.u16();
  r.skip(2);
  if (!r.ok()) return truncated("KE header");
  out.data = copy(r.rest());
  if (out.data.empty()) return malformed("KE: no key exchange data");
  return out;
}

void KePayload::serialize(Writer& w) const {
  w.u16(dh_group);
  w.u16(0);
  w.bytes(data);
}

// ---- ID ----

template <PayloadType T>
Result<IdPayloadOf<T>> IdPayloadOf<T>::parse(ByteSpan body) {
  Reader r(body);
  IdPayloadOf out;
  out.id_type = static_cast<IdType>(r.u8());
  r.skip(3);
  if (!r.ok()) return truncated("ID header");
  out.data = copy(r.rest());
  return out;
}

template <PayloadType T>
void IdPayloadOf<T>::serialize(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(id_type));
  w.zeros(3);
  w.bytes(data);
}

template struct IdPayloadOf<PayloadType::idi>;
template struct IdPayloadOf<PayloadType::idr>;

// ---- CERT / CERTREQ ----

template <PayloadType T>
Result<CertPayloadOf<T>> CertPayloadOf<T>::parse(ByteSpan body) {
  Reader r(body);
  CertPayloadOf out;
  out.encoding = r.u8();
  if (!r.ok()) return truncated("CERT encoding");
  out.data = copy(r.rest());
  return out;
}

template <PayloadType T>
void CertPayloadOf<T>::serialize(Writer& w) const {
  w.u8(encoding);
  w.bytes(data);
}

template struct CertPayloadOf<PayloadType::cert>;
template struct CertPayloadOf<PayloadType::certreq>;

// ---- AUTH ----

Result<AuthPayload> AuthPayload::parse(ByteSpan body) {
  Reader r(body);
  AuthPayload out;
  out.method = static_cast<AuthMethod>(r.u8());
  r.skip(3);
  if (!r.ok()) return truncated("AUTH header");
  out.data = copy(r.rest());
  if (out.data.empty()) return malformed("AUTH: no data");
  return out;
}

void AuthPayload::serialize(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(method));
  w.zeros(3);
  w.bytes(data);
}

// ---- Nonce ----

Result<NoncePayload> NoncePayload::parse(ByteSpan body) {
  if (body.size() < kMinSize) return truncated("Nonce shorter than 16 bytes");
  if (body.size() > kMaxSize) return malformed("Nonce longer than 256 bytes");
  return NoncePayload{copy(body)};
}

void NoncePayload::serialize(Writer& w) const { w.bytes(data); }

// ---- Notify ----

Result<NotifyPayload> NotifyPayload::parse(ByteSpan body) {
  Reader r(body);
  NotifyPayload out;
  out.protocol = static_cast<ProtocolId>(r.u8());
  std::uint8_t spi_size = r.u8();
  out.type = static_cast<NotifyType>(r.u16());
  out.spi = copy(r.bytes(spi_size));
  if (!r.ok()) return truncated("Notify header/SPI");
  out.data = copy(r.rest());
  return out;
}

void NotifyPayload::serialize(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(protocol));
  w.u8(static_cast<std::uint8_t>(spi.size()));
  w.u16(static_cast<std::uint16_t>(type));
  w.bytes(spi);
  w.bytes(data);
}

// ---- Delete ----

Result<DeletePayload> DeletePayload::parse(ByteSpan body) {
  Reader r(body);
  DeletePayload out;
  out.protocol = static_cast<ProtocolId>(r.u8());
  std::uint8_t spi_size = r.u8();
  std::uint16_t n = r.u16();
  if (!r.ok()) return truncated("Delete header");
  if (out.protocol == ProtocolId::ike) {
    if (spi_size != 0 || n != 0) return malformed("Delete IKE: SPI size/count not 0");
  } else if (out.protocol == ProtocolId::esp || out.protocol == ProtocolId::ah) {
    if (spi_size != 4) return malformed("Delete ESP/AH: SPI size not 4");
  } else {
    return malformed("Delete: protocol");
  }
  if (r.remaining() < std::size_t{n} * spi_size) return truncated("Delete SPIs");
  out.spis.reserve(n);
  for (unsigned i = 0; i < n; ++i) out.spis.push_back(r.u32());
  if (!r.empty()) return malformed("Delete: trailing bytes");
  return out;
}

void DeletePayload::serialize(Writer& w) const {
  bool ike = protocol == ProtocolId::ike;
  w.u8(static_cast<std::uint8_t>(protocol));
  w.u8(ike ? 0 : 4);
  w.u16(ike ? 0 : static_cast<std::uint16_t>(spis.size()));
  if (!ike)
    for (std::uint32_t s : spis) w.u32(s);
}

// ---- Vendor ID ----

Result<VendorIdPayload> VendorIdPayload::parse(ByteSpan body) {
  return VendorIdPayload{copy(body)};
}

void VendorIdPayload::serialize(Writer& w) const { w.bytes(data); }

// ---- TS ----

template <PayloadType T>
Result<TsPayloadOf<T>> TsPayloadOf<T>::parse(ByteSpan body) {
  Reader r(body);
  TsPayloadOf out;
  std::uint8_t n = r.u8();
  r.skip(3);
  if (!r.ok()) return truncated("TS header");
  if (n == 0) return malformed("TS: no selectors");
  for (unsigned i = 0; i < n; ++i) {
    std::uint8_t type = r.u8();
    std::uint8_t proto = r.u8();
    std::uint16_t len = r.u16();
    if (!r.ok()) return truncated("selector header");
    if (len < 8) return malformed("selector length");
    Reader s = r.sub(len - 4);
    if (!r.ok()) return truncated("selector");
    std::size_t alen = type == kTsIpv4AddrRange ? 4 : type == kTsIpv6AddrRange ? 16 : 0;
    if (alen == 0) continue;  // unknown selector type: skipped, never widened
    if (len != 8 + 2 * alen) return malformed("selector length for type");
    common::TrafficSelector ts;
    ts.protocol = proto;
    ts.start_port = s.u16();
    ts.end_port = s.u16();
    ByteSpan a = s.bytes(alen);
    ByteSpan b = s.bytes(alen);
    if (!s.ok()) return truncated("selector addresses");
    ts.start = alen == 4 ? common::IpAddr::v4_bytes(a) : common::IpAddr::v6_bytes(a);
    ts.end = alen == 4 ? common::IpAddr::v4_bytes(b) : common::IpAddr::v6_bytes(b);
    out.selectors.push_back(ts);
  }
  if (!r.empty()) return malformed("TS: trailing bytes");
  return out;
}

template <PayloadType T>
void TsPayloadOf<T>::serialize(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(selectors.size()));
  w.zeros(3);
  for (const auto& ts : selectors) {
    bool v4 = ts.start.is_v4();
    std::size_t alen = v4 ? 4 : 16;
    w.u8(v4 ? kTsIpv4AddrRange : kTsIpv6AddrRange);
    w.u8(ts.protocol);
    w.u16(u16_len(8 + 2 * alen));
    w.u16(ts.start_port);
    w.u16(ts.end_port);
    w.bytes(ts.start.bytes());
    // The end address is written in the start's family (a mixed selector is a caller bug).
    ByteSpan end = ts.end.bytes();
    if (end.size() == alen) w.bytes(end);
    else w.zeros(alen);
  }
}

template struct TsPayloadOf<PayloadType::tsi>;
template struct TsPayloadOf<PayloadType::tsr>;

// ---- SK (raw) ----

Result<SkPayload> SkPayload::parse(ByteSpan body) {
  return SkPayload{PayloadType::none, copy(body)};
}

void SkPayload::serialize(Writer& w) const { w.bytes(data); }

// ---- CP ----

Result<CpPayload> CpPayload::parse(ByteSpan body) {
  Reader r(body);
  CpPayload out;
  out.cfg_type = static_cast<CfgType>(r.u8());
  r.skip(3);
  if (!r.ok()) return truncated("CP header");
  while (!r.empty()) {
    CpAttribute a;
    a.type = r.u16() & 0x7fff;
    std::uint16_t len = r.u16();
    a.value = copy(r.bytes(len));
    if (!r.ok()) return truncated("CP attribute");
    out.attributes.push_back(std::move(a));
  }
  return out;
}

void CpPayload::serialize(Writer& w) const {
  w.u8(static_cast<std::uint8_t>(cfg_type));
  w.zeros(3);
  for (const auto& a : attributes) {
    w.u16(a.type & 0x7fff);
    w.u16(u16_len(a.value.size()));
    w.bytes(a.value);
  }
}

// ---- EAP ----

Result<EapPayload> EapPayload::parse(ByteSpan body) {
  if (body.size() < 4) return truncated("EAP header");
  return EapPayload{copy(body)};
}

void EapPayload::serialize(Writer& w) const { w.bytes(data); }

// ---- the variant ----

PayloadType payload_type(const Payload& p) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kType; }, p);
}

bool is_known_payload(PayloadType t) {
  switch (t) {
    case PayloadType::sa:
    case PayloadType::ke:
    case PayloadType::idi:
    case PayloadType::idr:
    case PayloadType::cert:
    case PayloadType::certreq:
    case PayloadType::auth:
    case PayloadType::nonce:
    case PayloadType::notify:
    case PayloadType::del:
    case PayloadType::vendor_id:
    case PayloadType::tsi:
    case PayloadType::tsr:
    case PayloadType::sk:
    case PayloadType::cp:
    case PayloadType::eap:
      return true;
    default:
      return false;
  }
}

namespace {
template <typename X>
Result<Payload> lift(Result<X> r) {
  if (!r) return r.error();
  return Payload{std::move(*r)};
}
}  // namespace

Result<Payload> parse_payload_body(PayloadType t, ByteSpan body) {
  switch (t) {
    case PayloadType::sa: return lift(SaPayload::parse(body));
    case PayloadType::ke: return lift(KePayload::parse(body));
    case PayloadType::idi: return lift(IdiPayload::parse(body));
    case PayloadType::idr: return lift(IdrPayload::parse(body));
    case PayloadType::cert: return lift(CertPayload::parse(body));
    case PayloadType::certreq: return lift(CertReqPayload::parse(body));
    case PayloadType::auth: return lift(AuthPayload::parse(body));
    case PayloadType::nonce: return lift(NoncePayload::parse(body));
    case PayloadType::notify: return lift(NotifyPayload::parse(body));
    case PayloadType::del: return lift(DeletePayload::parse(body));
    case PayloadType::vendor_id: return lift(VendorIdPayload::parse(body));
    case PayloadType::tsi: return lift(TsiPayload::parse(body));
    case PayloadType::tsr: return lift(TsrPayload::parse(body));
    case PayloadType::sk: return lift(SkPayload::parse(body));
    case PayloadType::cp: return lift(CpPayload::parse(body));
    case PayloadType::eap: return lift(EapPayload::parse(body));
    default: return common::make_error(Errc::unsupported, "unknown payload type");
  }
}

void serialize_payload_body(const Payload& p, Writer& w) {
  std::visit([&w](const auto& x) { x.serialize(w); }, p);
}

}  // namespace ike
