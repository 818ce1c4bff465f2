// RFC 7296 §3.1 header, message parse/encode, and the payload rules table.
#include <catch2/catch.hpp>

#include "ike/message.h"
#include "ike/payload_rules.h"

using common::Bytes;
using common::ByteSpan;
using common::from_hex;
using common::to_hex;
using namespace ike;

namespace {

// An IKE_SA_INIT request written field by field from RFC 7296 §3 (not by our encoder):
// SA(AES_CBC-256, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, CURVE_25519), KE(31), Ni,
// N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP).
const char* kIkeSaInitHex =
    // header: SPIi, SPIr, next SA(33), 2.0, IKE_SA_INIT(34), I flag, msgid 0, length 208
    "0102030405060708 0000000000000000 21 20 22 08 00000000 000000d0"
    // SA: next KE(34), len 48; proposal last, len 44, #1, IKE, spi 0, 4 transforms
    "22000030 0000002c 01010004"
    "0300000c 0100000c 800e0100"  // ENCR AES_CBC, key length 256
    "03000008 02000005"           // PRF HMAC_SHA2_256
    "03000008 0300000c"           // INTEG HMAC_SHA2_256_128
    "00000008 0400001f"           // DH 31
    // KE: next Nonce(40), len 40, group 31
    "28000028 001f0000"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    // Nonce: next N(41), len 36
    "29000024"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    // N NAT_DETECTION_SOURCE_IP: next N, len 28
    "2900001c 00004004 1112131415161718191a1b1c1d1e1f2021222324"
    // N NAT_DETECTION_DESTINATION_IP: last, len 28
    "0000001c 00004005 3132333435363738393a3b3c3d3e3f4041424344";

Message make(ExchangeType ex, bool response, std::vector<Payload> payloads, bool encrypted) {
  Message m;
  m.header.exchange = ex;
  m.header.response = response;
  m.payloads = std::move(payloads);
  m.encrypted = encrypted;
  return m;
}

SaPayload sa1() {
  SaPayload sa;
  sa.proposals.push_back(SaProposal{1, ProtocolId::esp, from_hex("01020304"),
                                    {{TransformType::encr, 20, 256}, {TransformType::esn, 0, {}}}});
  return sa;
}
TsiPayload tsi() {
  return TsiPayload{{common::TrafficSelector{*common::IpAddr::parse("10.0.0.1"),
                                              *common::IpAddr::parse("10.0.0.1")}}};
}
TsrPayload tsr() {
  return TsrPayload{{common::TrafficSelector{*common::IpAddr::parse("10.0.0.2"),
                                              *common::IpAddr::parse("10.0.0.2")}}};
}
NoncePayload nonce() { return NoncePayload{Bytes(32, std::byte{1})}; }
KePayload ke() { return KePayload{31, Bytes(32, std::byte{2})}; }
NotifyPayload notify(NotifyType t) { return NotifyPayload{ProtocolId::none, {}, t, {}}; }

ParseReason rules_reason(const Message& m, std::uint8_t* type = nullptr) {
  ParseDiag diag;
  auto st = check_rules(m, &diag);
  if (st.ok()) return ParseReason::ok;
  if (type) *type = diag.payload_type;
  return diag.reason;
}

}  // namespace

TEST_CASE("IKE header: exact bytes and flags", "[ike][message]") {
  Header h;
  h.spi_i = 0x1122334455667788;
  h.spi_r = 0x99aabbccddeeff00;
  h.next_payload = PayloadType::sk;
  h.exchange = ExchangeType::ike_auth;
  h.initiator = true;
  h.response = true;
  h.message_id = 1;
  h.length = 0x50;
  Bytes b;
  common::Writer w(b);
  h.serialize(w);
  CHECK(to_hex(b) == "112233445566778899aabbccddeeff002e202328"
                     "00000001"
                     "00000050");
  auto back = Header::parse(b);
  REQUIRE(back.ok());
  CHECK(*back == h);
  for (std::size_t n = 0; n < b.size(); ++n) CHECK_FALSE(Header::parse(ByteSpan(b).first(n)).ok());
  b[19] = std::byte{0x10};  // V flag only
  back = Header::parse(b);
  REQUIRE(back.ok());
  CHECK(back->version);
  CHECK_FALSE(back->initiator);
  CHECK_FALSE(back->response);
}

TEST_CASE("IKE_SA_INIT built from RFC fields parses and re-encodes byte for byte", "[ike][message]") {
  Bytes wire = from_hex(kIkeSaInitHex);
  REQUIRE(wire.size() == 208);
  ParseDiag diag;
  auto m = parse_message(wire, &diag);
  REQUIRE(m.ok());
  CHECK(m->header.spi_i == 0x0102030405060708);
  CHECK(m->header.spi_r == 0);
  CHECK(m->header.exchange == ExchangeType::ike_sa_init);
  CHECK(m->header.initiator);
  CHECK_FALSE(m->header.response);
  REQUIRE(m->payloads.size() == 5);

  const SaPayload* sa = m->find<SaPayload>();
  REQUIRE(sa);
  REQUIRE(sa->proposals.size() == 1);
  const SaProposal& p = sa->proposals[0];
  CHECK(p.number == 1);
  CHECK(p.protocol == ProtocolId::ike);
  CHECK(p.spi.empty());
  REQUIRE(p.transforms.size() == 4);
  CHECK(p.transforms[0] == Transform{TransformType::encr, 12, 256});
  CHECK(p.transforms[1] == Transform{TransformType::prf, 5, std::nullopt});
  CHECK(p.transforms[2] == Transform{TransformType::integ, 12, std::nullopt});
  CHECK(p.transforms[3] == Transform{TransformType::dh, 31, std::nullopt});
  REQUIRE(m->find<KePayload>());
  CHECK(m->find<KePayload>()->dh_group == 31);
  CHECK(m->find<KePayload>()->data.size() == 32);
  REQUIRE(m->find<NoncePayload>());
  CHECK(m->find<NoncePayload>()->data.front() == std::byte{0xc0});
  REQUIRE(m->find_notify(NotifyType::nat_detection_source_ip));
  CHECK(m->find_notify(NotifyType::nat_detection_destination_ip)->data.size() == 20);
  CHECK(m->find_all<NotifyPayload>().size() == 2);
  CHECK_FALSE(m->find_error_notify());
  CHECK(check_rules(*m).ok());

  auto again = encode_message(*m);
  REQUIRE(again.ok());
  CHECK(to_hex(*again) == to_hex(wire));
}

TEST_CASE("message: truncation at every length fails", "[ike][message]") {
  Bytes wire = from_hex(kIkeSaInitHex);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    INFO("length " << n);
    // As received (header length now wrong) ...
    CHECK_FALSE(parse_message(ByteSpan(wire).first(n)).ok());
    // ... and with the header length fixed up, so the payload chain itself is cut.
    if (n >= Header::kSize) {
      Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
      common::Writer(cut).patch_u32(24, static_cast<std::uint32_t>(n));
      ParseDiag diag;
      CHECK_FALSE(parse_message(cut, &diag).ok());
      CHECK(notify_for(diag.reason) == NotifyType::invalid_syntax);
    }
  }
}

TEST_CASE("message: header checks", "[ike][message]") {
  Bytes wire = from_hex(kIkeSaInitHex);
  ParseDiag diag;
  SECTION("major version 3") {
    wire[17] = std::byte{0x30};
    CHECK_FALSE(parse_message(wire, &diag).ok());
    CHECK(diag.reason == ParseReason::bad_major_version);
    CHECK(notify_for(diag.reason) == NotifyType::invalid_major_version);
  }
  SECTION("minor version is ignored") {
    wire[17] = std::byte{0x21};
    CHECK(parse_message(wire).ok());
  }
  SECTION("length field larger than the datagram") {
    wire[27] = std::byte{0xd1};
    CHECK_FALSE(parse_message(wire, &diag).ok());
    CHECK(diag.reason == ParseReason::length_mismatch);
    CHECK_FALSE(notify_for(diag.reason).has_value());
  }
  SECTION("trailing byte after the message") {
    wire.push_back(std::byte{0});
    CHECK_FALSE(parse_message(wire, &diag).ok());
    CHECK(diag.reason == ParseReason::length_mismatch);
  }
  SECTION("a payload length past the end") {
    wire[28 + 48 + 40 + 36 + 28 + 3] = std::byte{0x1d};  // last N claims 29 bytes
    CHECK_FALSE(parse_message(wire, &diag).ok());
    CHECK(diag.reason == ParseReason::payload_truncated);
    CHECK(diag.payload_type == 41);
  }
  SECTION("short header") {
    CHECK_FALSE(parse_message(ByteSpan(wire).first(27), &diag).ok());
    CHECK(diag.reason == ParseReason::header_truncated);
  }
}

TEST_CASE("message: SK payload must be last, kept raw", "[ike][message]") {
  Message m = make(ExchangeType::ike_auth, false,
                   {NotifyPayload{ProtocolId::none, {}, NotifyType::initial_contact, {}},
                    SkPayload{PayloadType::idi, from_hex("00112233445566778899")}},
                   false);
  auto wire = encode_message(m);
  REQUIRE(wire.ok());
  auto back = parse_message(*wire);
  REQUIRE(back.ok());
  REQUIRE(back->payloads.size() == 2);
  const auto& sk = std::get<SkPayload>(back->payloads[1]);
  CHECK(sk.inner_first == PayloadType::idi);
  CHECK(sk.data == from_hex("00112233445566778899"));

  // Anything after SK: rejected.
  Bytes extra = *wire;
  extra.insert(extra.end(), {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{4}});
  extra[27] = std::byte{static_cast<unsigned char>(extra.size())};
  ParseDiag diag;
  CHECK_FALSE(parse_message(extra, &diag).ok());
  CHECK(diag.reason == ParseReason::sk_not_last);

  // The encoder refuses SK in the middle.
  Message bad = make(ExchangeType::ike_auth, false,
                     {SkPayload{PayloadType::none, {}}, notify(NotifyType::initial_contact)}, false);
  CHECK_FALSE(encode_message(bad).ok());
}

TEST_CASE("message: encode computes lengths and chaining", "[ike][message]") {
  Message m = make(ExchangeType::informational, true, {}, false);
  m.header.spi_i = 1;
  m.header.spi_r = 2;
  m.header.message_id = 7;
  auto empty = encode_message(m);
  REQUIRE(empty.ok());
  CHECK(to_hex(*empty) == "00000000000000010000000000000002" "00" "20" "25" "20" "00000007" "0000001c");

  m.payloads = {DeletePayload{ProtocolId::esp, {0xc0000001}}, VendorIdPayload{from_hex("aabb")}};
  auto two = encode_message(m);
  REQUIRE(two.ok());
  CHECK(to_hex(*two) == "00000000000000010000000000000002" "2a" "20" "25" "20" "00000007" "0000002e"
                        "2b00000c03040001c0000001" "00000006aabb");
  auto back = parse_message(*two);
  REQUIRE(back.ok());
  CHECK(back->payloads == m.payloads);

  Message enc = m;
  enc.encrypted = true;
  CHECK_FALSE(encode_message(enc).ok());
}

TEST_CASE("payload rules table", "[ike][rules]") {
  std::uint8_t type = 0;
  using E = ExchangeType;

  SECTION("IKE_SA_INIT request") {
    CHECK(rules_reason(make(E::ike_sa_init, false, {sa1(), ke(), nonce()}, false)) == ParseReason::ok);
    CHECK(rules_reason(make(E::ike_sa_init, false, {sa1(), nonce()}, false), &type) ==
          ParseReason::rule_missing);
    CHECK(type == 34);
    CHECK(rules_reason(make(E::ike_sa_init, false, {sa1(), sa1(), ke(), nonce()}, false), &type) ==
          ParseReason::rule_too_many);
    CHECK(type == 33);
    CHECK(rules_reason(make(E::ike_sa_init, false, {sa1(), ke(), nonce(), tsi()}, false), &type) ==
          ParseReason::rule_not_allowed);
    CHECK(type == 44);
    CHECK(rules_reason(make(E::ike_sa_init, false, {sa1(), ke(), nonce()}, true)) ==
          ParseReason::rule_not_encrypted);
    // A COOKIE does not waive anything in a request.
    CHECK(rules_reason(make(E::ike_sa_init, false, {notify(NotifyType::cookie)}, false)) ==
          ParseReason::rule_missing);
  }
  SECTION("IKE_SA_INIT response: error notify or COOKIE alone is enough") {
    CHECK(rules_reason(make(E::ike_sa_init, true, {sa1(), ke(), nonce()}, false)) == ParseReason::ok);
    CHECK(rules_reason(make(E::ike_sa_init, true, {notify(NotifyType::no_proposal_chosen)}, false)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::ike_sa_init, true, {notify(NotifyType::invalid_ke_payload)}, false)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::ike_sa_init, true, {notify(NotifyType::cookie)}, false)) == ParseReason::ok);
    CHECK(rules_reason(make(E::ike_sa_init, true, {notify(NotifyType::initial_contact)}, false)) ==
          ParseReason::rule_missing);
    // An error notify waives minimums, not maximums or placement.
    CHECK(rules_reason(make(E::ike_sa_init, true, {notify(NotifyType::no_proposal_chosen), ke(), ke()},
                            false)) == ParseReason::rule_too_many);
  }
  SECTION("IKE_AUTH request") {
    IdiPayload idi{IdType::fqdn, from_hex("6d6f6f6e")};
    AuthPayload auth{AuthMethod::psk, Bytes(32)};
    CHECK(rules_reason(make(E::ike_auth, false, {idi, auth, sa1(), tsi(), tsr()}, true)) == ParseReason::ok);
    // childless (RFC 6023)
    CHECK(rules_reason(make(E::ike_auth, false, {idi, auth}, true)) == ParseReason::ok);
    CHECK(rules_reason(make(E::ike_auth, false, {idi, auth, sa1(), tsi()}, true), &type) ==
          ParseReason::rule_missing);
    CHECK(type == 45);
    CHECK(rules_reason(make(E::ike_auth, false, {auth, sa1(), tsi(), tsr()}, true), &type) ==
          ParseReason::rule_missing);
    CHECK(type == 35);
    CHECK(rules_reason(make(E::ike_auth, false, {idi, auth, sa1(), tsi(), tsr()}, false)) ==
          ParseReason::rule_not_encrypted);
    CHECK(rules_reason(make(E::ike_auth, false, {idi, auth, ke()}, true)) == ParseReason::rule_not_allowed);
    // Unprotected payloads before SK are checked too.
    Message m = make(E::ike_auth, false, {idi, auth}, true);
    m.unprotected = {notify(NotifyType::initial_contact)};
    CHECK(rules_reason(m) == ParseReason::rule_not_encrypted);
    CHECK(notify_for(ParseReason::rule_not_encrypted) == NotifyType::invalid_syntax);
  }
  SECTION("IKE_AUTH response") {
    IdrPayload idr{IdType::fqdn, from_hex("73756e")};
    AuthPayload auth{AuthMethod::psk, Bytes(32)};
    CHECK(rules_reason(make(E::ike_auth, true, {idr, auth, sa1(), tsi(), tsr()}, true)) == ParseReason::ok);
    CHECK(rules_reason(make(E::ike_auth, true, {notify(NotifyType::authentication_failed)}, true)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::ike_auth, true, {idr, auth, notify(NotifyType::ts_unacceptable)}, true)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::ike_auth, true, {idr}, true)) == ParseReason::rule_missing);
  }
  SECTION("CREATE_CHILD_SA") {
    CHECK(rules_reason(make(E::create_child_sa, false, {sa1(), nonce(), tsi(), tsr()}, true)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::create_child_sa, false, {sa1(), nonce(), ke()}, true)) ==
          ParseReason::ok);  // IKE rekey
    CHECK(rules_reason(make(E::create_child_sa, false, {sa1(), nonce(), tsr()}, true)) ==
          ParseReason::rule_missing);
    CHECK(rules_reason(make(E::create_child_sa, false, {nonce(), tsi(), tsr()}, true)) ==
          ParseReason::rule_missing);
    CHECK(rules_reason(make(E::create_child_sa, true, {notify(NotifyType::no_additional_sas)}, true)) ==
          ParseReason::ok);
    CHECK(rules_reason(make(E::create_child_sa, true, {sa1(), nonce(), ke(), ke()}, true)) ==
          ParseReason::rule_too_many);
  }
  SECTION("INFORMATIONAL") {
    CHECK(rules_reason(make(E::informational, false, {}, true)) == ParseReason::ok);
    CHECK(rules_reason(make(E::informational, true, {}, true)) == ParseReason::ok);
    CHECK(rules_reason(make(E::informational, false,
                            {DeletePayload{ProtocolId::esp, {1, 2}}, DeletePayload{ProtocolId::esp, {3}}},
                            true)) == ParseReason::ok);
    CHECK(rules_reason(make(E::informational, false, {sa1()}, true)) == ParseReason::rule_not_allowed);
    CHECK(rules_reason(make(E::informational, false, {DeletePayload{}}, false)) ==
          ParseReason::rule_not_encrypted);
  }
  SECTION("unknown exchange") {
    CHECK(rules_reason(make(static_cast<E>(43), false, {}, true)) == ParseReason::unknown_exchange);
  }
}
