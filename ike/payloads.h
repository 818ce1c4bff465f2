// IKEv2 payloads (RFC 7296 §3.2-§3.16): one plain struct per payload, each with
//   static Result<X> parse(ByteSpan body)   -- body = the bytes after the generic header
//   void serialize(Writer& w) const          -- writes the body only
// The generic payload header (§3.2) is GenericHeader below; next-payload chaining is
// message.h's.
// A payload is the std::variant `Payload` at the bottom of this file.
//
// Generic payload header (§3.2):
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +---------------+---------------+---------------+---------------+
//
// Wire-level structs only: conversion to/from ike::Proposal, ike::Identity etc. is the
// state machine's job.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"

namespace ike {

// §3.2 payload type values (IANA "IKEv2 Payload Types").
enum class PayloadType : std::uint8_t {
  none = 0,
  sa = 33,
  ke = 34,
  idi = 35,
  idr = 36,
  cert = 37,
  certreq = 38,
  auth = 39,
  nonce = 40,  // Ni or Nr
  notify = 41,
  del = 42,
  vendor_id = 43,
  tsi = 44,
  tsr = 45,
  sk = 46,
  cp = 47,
  eap = 48,
  skf = 53,  // RFC 7383 encrypted fragment (not supported: treated as unknown)
};
std::string_view to_string(PayloadType t);  // "SA", "KE", "IDi", ... or "UNKNOWN"

// §3.3.1 Protocol ID (SA proposals, Notify, Delete).
enum class ProtocolId : std::uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };

// §3.3.2 transform types.
enum class TransformType : std::uint8_t { encr = 1, prf = 2, integ = 3, dh = 4, esn = 5 };

// §3.3.5 attribute type of the one attribute we know (TV format, AF bit set).
inline constexpr std::uint16_t kAttrKeyLength = 14;

// The generic payload header drawn above (§3.2), read and written by the payload chain,
// SK and SKF; the proposal and transform substructure headers (§3.3.1, §3.3.2) have the
// same layout, Last Substruc for Next Payload and RESERVED for the flags. Length counts
// these 4 bytes.
struct GenericHeader {
  static constexpr std::size_t kSize = 4;
  static constexpr std::uint8_t kCritical = 0x80;
  std::uint8_t next = 0;
  std::uint8_t flags = 0;
  std::uint16_t length = 0;
  // The next 4 bytes of r; nullopt (r no longer ok) when fewer are left.
  static std::optional<GenericHeader> read(common::Reader& r);
  void write(common::Writer& w) const;
  bool operator==(const GenericHeader&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.3 Security Association payload.
//
// Proposal substructure:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |         Proposal Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        SPI (variable)                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        <Transforms>                           ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Last Substruc: 0 last proposal, 2 more follow.
//
// Transform substructure:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Last Substruc |   RESERVED    |        Transform Length       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Transform Type |   RESERVED    |          Transform ID         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Transform Attributes                     ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Last Substruc: 0 last transform, 3 more follow.
// Attribute (§3.3.5), TV form (AF=1): |1| type(15) | value(16) |; TLV form (AF=0):
// |0| type(15) | length(16) | value |.

struct Transform {
  TransformType type = TransformType::encr;
  std::uint16_t id = 0;
  std::optional<std::uint16_t> key_length;  // Key Length attribute, bits
  // The transform carried an attribute other than Key Length (or a second one): per
  // §3.3.6 such a transform must not be selected. serialize() writes no such attribute.
  bool unknown_attribute = false;
  bool operator==(const Transform&) const = default;
};

struct SaProposal {
  std::uint8_t number = 0;  // 1-based; serialize() writes index+1 when 0
  ProtocolId protocol = ProtocolId::ike;
  common::Bytes spi;  // empty (initial IKE_SA_INIT), 8 bytes (IKE rekey) or 4 (ESP/AH)
  std::vector<Transform> transforms;
  bool operator==(const SaProposal&) const = default;
};

struct SaPayload {
  static constexpr PayloadType kType = PayloadType::sa;
  std::vector<SaProposal> proposals;
  static common::Result<SaPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const SaPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.4 Key Exchange payload.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   Diffie-Hellman Group Num    |           RESERVED            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Key Exchange Data                       ~
struct KePayload {
  static constexpr PayloadType kType = PayloadType::ke;
  std::uint16_t dh_group = 0;
  common::Bytes data;
  static common::Result<KePayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const KePayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.5 Identification payloads (IDi, IDr).
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   ID Type     |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Identification Data                         ~
// The AUTH computation (§2.15) signs exactly serialize()'s output ("RestOfIDPayload").
enum class IdType : std::uint8_t {
  ipv4_addr = 1, fqdn = 2, rfc822_addr = 3, ipv6_addr = 5, der_asn1_dn = 9, der_asn1_gn = 10,
  key_id = 11,
};
template <PayloadType T>
struct IdPayloadOf {
  static constexpr PayloadType kType = T;
  IdType id_type = IdType::ipv4_addr;  // may hold values outside the enum
  common::Bytes data;
  static common::Result<IdPayloadOf> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const IdPayloadOf&) const = default;
};
using IdiPayload = IdPayloadOf<PayloadType::idi>;
using IdrPayload = IdPayloadOf<PayloadType::idr>;

// ---------------------------------------------------------------------------------------
// §3.6 Certificate / §3.7 Certificate Request: parsed and kept opaque.
// | Cert Encoding |  Certificate Data (or CA hashes for CERTREQ) ~
template <PayloadType T>
struct CertPayloadOf {
  static constexpr PayloadType kType = T;
  std::uint8_t encoding = 0;  // 4 = X.509 signature
  common::Bytes data;
  static common::Result<CertPayloadOf> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const CertPayloadOf&) const = default;
};
using CertPayload = CertPayloadOf<PayloadType::cert>;
using CertReqPayload = CertPayloadOf<PayloadType::certreq>;

// ---------------------------------------------------------------------------------------
// §3.8 Authentication payload.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Auth Method   |                RESERVED                       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                      Authentication Data                      ~
enum class AuthMethod : std::uint8_t {
  rsa_sig = 1, psk = 2, dss_sig = 3, ecdsa_sha256_p256 = 9, ecdsa_sha384_p384 = 10,
  ecdsa_sha512_p521 = 11, digital_signature = 14,  // RFC 7427
};
struct AuthPayload {
  static constexpr PayloadType kType = PayloadType::auth;
  AuthMethod method = AuthMethod::psk;
  common::Bytes data;
  static common::Result<AuthPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const AuthPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.9 Nonce payload: | Nonce Data (16..256 bytes) ~ . parse() rejects other sizes.
struct NoncePayload {
  static constexpr PayloadType kType = PayloadType::nonce;
  static constexpr std::size_t kMinSize = 16, kMaxSize = 256;
  common::Bytes data;
  static common::Result<NoncePayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const NoncePayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.10 Notify payload.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                Security Parameter Index (SPI)                 ~
// ~                       Notification Data                       ~
// §3.10.1 (and the IANA registry) notify message types; < 16384 are errors.
enum class NotifyType : std::uint16_t {
  // errors
  unsupported_critical_payload = 1,
  invalid_ike_spi = 4,
  invalid_major_version = 5,
  invalid_syntax = 7,
  invalid_message_id = 9,
  invalid_spi = 11,
  no_proposal_chosen = 14,
  invalid_ke_payload = 17,
  authentication_failed = 24,
  single_pair_required = 34,
  no_additional_sas = 35,
  internal_address_failure = 36,
  failed_cp_required = 37,
  ts_unacceptable = 38,
  invalid_selectors = 39,
  temporary_failure = 43,
  child_sa_not_found = 44,
  // status
  initial_contact = 16384,
  set_window_size = 16385,
  additional_ts_possible = 16386,
  ipcomp_supported = 16387,
  nat_detection_source_ip = 16388,
  nat_detection_destination_ip = 16389,
  cookie = 16390,
  use_transport_mode = 16391,
  http_cert_lookup_supported = 16392,
  rekey_sa = 16393,
  esp_tfc_padding_not_supported = 16394,
  non_first_fragments_also = 16395,
  mobike_supported = 16396,
  additional_ip4_address = 16397,
  additional_ip6_address = 16398,
  no_additional_addresses = 16399,
  update_sa_addresses = 16400,
  cookie2 = 16401,
  no_nats_allowed = 16402,
  auth_lifetime = 16403,
  multiple_auth_supported = 16404,
  another_auth_follows = 16405,
  redirect_supported = 16406,
  redirect = 16407,
  redirected_from = 16408,
  eap_only_authentication = 16417,
  childless_ikev2_supported = 16418,
  ikev2_fragmentation_supported = 16430,
  signature_hash_algorithms = 16431,
};
inline constexpr bool is_error(NotifyType t) { return static_cast<std::uint16_t>(t) < 16384; }
std::string_view to_string(NotifyType t);  // RFC name, e.g. "NO_PROPOSAL_CHOSEN"; "UNKNOWN"

struct NotifyPayload {
  static constexpr PayloadType kType = PayloadType::notify;
  ProtocolId protocol = ProtocolId::none;  // none for IKE_SA-wide notifies
  common::Bytes spi;                       // empty, or 4 bytes for ESP/AH (e.g. REKEY_SA)
  NotifyType type = NotifyType::initial_contact;  // may hold values outside the enum
  common::Bytes data;
  static common::Result<NotifyPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const NotifyPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.11 Delete payload.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Protocol ID   |   SPI Size    |          Num of SPIs          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~               Security Parameter Index(es) (SPI)              ~
// IKE: SPI size 0 and no SPIs (the SA of the message is deleted). ESP/AH: 4-byte SPIs.
struct DeletePayload {
  static constexpr PayloadType kType = PayloadType::del;
  ProtocolId protocol = ProtocolId::ike;
  std::vector<std::uint32_t> spis;  // ESP/AH only; the SPI the sender of the DELETE receives on
  static common::Result<DeletePayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const DeletePayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.12 Vendor ID payload: | Vendor ID (VID) ~
struct VendorIdPayload {
  static constexpr PayloadType kType = PayloadType::vendor_id;
  common::Bytes data;
  static common::Result<VendorIdPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const VendorIdPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.13 Traffic Selector payloads (TSi, TSr).
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Number of TSs |                 RESERVED                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       <Traffic Selectors>                     ~
// §3.13.1 Traffic Selector:
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   TS Type     |IP Protocol ID*|       Selector Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Start Port*         |           End Port*           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                         Starting Address*                     ~
// ~                         Ending Address*                       ~
// TS types: 7 TS_IPV4_ADDR_RANGE (selector length 16), 8 TS_IPV6_ADDR_RANGE (40).
// Selectors of other types are skipped (never widened), so `selectors` may be empty after
// parse (answer TS_UNACCEPTABLE); a wire count of 0 is rejected.
inline constexpr std::uint8_t kTsIpv4AddrRange = 7;
inline constexpr std::uint8_t kTsIpv6AddrRange = 8;
template <PayloadType T>
struct TsPayloadOf {
  static constexpr PayloadType kType = T;
  std::vector<common::TrafficSelector> selectors;
  static common::Result<TsPayloadOf> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const TsPayloadOf&) const = default;
};
using TsiPayload = TsPayloadOf<PayloadType::tsi>;
using TsrPayload = TsPayloadOf<PayloadType::tsr>;

// ---------------------------------------------------------------------------------------
// §3.14 Encrypted and Authenticated payload, kept raw here; ike/sk.h encrypts/decrypts.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Next Payload  |C|  RESERVED   |         Payload Length        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                     Initialization Vector                     |
// ~                    Encrypted IKE Payloads                     ~
// +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |               |             Padding (0-255 octets)            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                               |  Pad Length   |
// ~                    Integrity Checksum Data                    ~
// The generic header's Next Payload is the type of the first inner payload.
struct SkPayload {
  static constexpr PayloadType kType = PayloadType::sk;
  PayloadType inner_first = PayloadType::none;  // the SK payload's own Next Payload field
  common::Bytes data;                           // IV | ciphertext | ICV
  static common::Result<SkPayload> parse(common::ByteSpan body);  // inner_first left none
  void serialize(common::Writer& w) const;
  bool operator==(const SkPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.15 Configuration payload.
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   CFG Type    |                    RESERVED                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Configuration Attributes                    ~
// Attribute: |R| Attribute Type (15) |  Length (16) | Value ~
enum class CfgType : std::uint8_t { request = 1, reply = 2, set = 3, ack = 4 };
struct CpAttribute {
  std::uint16_t type = 0;  // e.g. 1 INTERNAL_IP4_ADDRESS, 3 INTERNAL_IP4_DNS
  common::Bytes value;
  bool operator==(const CpAttribute&) const = default;
};
struct CpPayload {
  static constexpr PayloadType kType = PayloadType::cp;
  CfgType cfg_type = CfgType::request;
  std::vector<CpAttribute> attributes;
  static common::Result<CpPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const CpPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
// §3.16 EAP payload: kept opaque (EAP is not supported).
struct EapPayload {
  static constexpr PayloadType kType = PayloadType::eap;
  common::Bytes data;
  static common::Result<EapPayload> parse(common::ByteSpan body);
  void serialize(common::Writer& w) const;
  bool operator==(const EapPayload&) const = default;
};

// ---------------------------------------------------------------------------------------
using Payload = std::variant<SaPayload, KePayload, IdiPayload, IdrPayload, CertPayload,
                             CertReqPayload, AuthPayload, NoncePayload, NotifyPayload,
                             DeletePayload, VendorIdPayload, TsiPayload, TsrPayload, SkPayload,
                             CpPayload, EapPayload>;

PayloadType payload_type(const Payload& p);
// Is t one of the payload types above (i.e. parse_payload_body knows it)?
bool is_known_payload(PayloadType t);
// Parses a payload body of a known type (Errc::unsupported for an unknown type).
common::Result<Payload> parse_payload_body(PayloadType t, common::ByteSpan body);
// Writes the body only.
void serialize_payload_body(const Payload& p, common::Writer& w);

}  // namespace ike
