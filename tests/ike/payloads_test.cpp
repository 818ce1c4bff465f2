// RFC 7296 §3 payload codecs: round trips, exact wire bytes, truncation at every length.
#include <catch2/catch.hpp>

#include "ike/message.h"
#include "ike/payloads.h"

using common::Bytes;
using common::ByteSpan;
using common::from_hex;
using common::to_hex;
using namespace ike;

namespace {

common::IpAddr v4(const char* s) { return *common::IpAddr::parse(s); }

template <typename T>
Bytes body_of(const T& p) {
  Bytes out;
  common::Writer w(out);
  p.serialize(w);
  return out;
}

template <typename T>
void check_round_trip(const T& p) {
  Bytes b = body_of(p);
  auto back = T::parse(b);
  REQUIRE(back.ok());
  CHECK(*back == p);
  // Through the generic chain too: one payload, then truncated at every length.
  std::vector<Payload> one{Payload{p}};
  Bytes chain;
  PayloadType first = serialize_payload_chain(one, chain);
  CHECK(first == T::kType);
  REQUIRE(chain.size() == b.size() + 4);
  std::vector<Payload> out;
  REQUIRE(parse_payload_chain(first, chain, false, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(std::get<T>(out[0]) == p);
  for (std::size_t n = 0; n < chain.size(); ++n) {
    std::vector<Payload> tmp;
    ParseDiag diag;
    INFO("truncated chain at " << n);
    CHECK_FALSE(parse_payload_chain(first, ByteSpan(chain).first(n), false, tmp, &diag).ok());
    CHECK(diag.reason != ParseReason::ok);
  }
}

// Payloads whose body has internal lengths/counts: a shorter body must never parse.
template <typename T>
void check_body_truncation(const T& p) {
  Bytes b = body_of(p);
  for (std::size_t n = 0; n < b.size(); ++n) {
    INFO("truncated body at " << n);
    CHECK_FALSE(T::parse(ByteSpan(b).first(n)).ok());
  }
}

SaPayload sample_sa() {
  SaPayload sa;
  SaProposal p1;
  p1.number = 1;
  p1.protocol = ProtocolId::ike;
  p1.transforms = {{TransformType::encr, 12, 256},
                   {TransformType::encr, 12, 128},
                   {TransformType::prf, 5, std::nullopt},
                   {TransformType::integ, 12, std::nullopt},
                   {TransformType::dh, 14, std::nullopt}};
  SaProposal p2;
  p2.number = 2;
  p2.protocol = ProtocolId::ike;
  p2.transforms = {{TransformType::encr, 20, 256},
                   {TransformType::prf, 5, std::nullopt},
                   {TransformType::dh, 31, std::nullopt}};
  sa.proposals = {p1, p2};
  return sa;
}

}  // namespace

TEST_CASE("SA payload: exact wire bytes of one ESP proposal", "[ike][payloads]") {
  SaPayload sa;
  SaProposal p;
  p.protocol = ProtocolId::esp;
  p.spi = from_hex("c1c2c3c4");
  p.transforms = {{TransformType::encr, 12, 256},
                  {TransformType::integ, 12, std::nullopt},
                  {TransformType::esn, 0, std::nullopt}};
  sa.proposals = {p};
  // number 0 is written as 1; last-substruc 0/3; key length attribute 0x800e 0x0100.
  CHECK(to_hex(body_of(sa)) ==
        "00000028"
        "01030403"
        "c1c2c3c4"
        "0300000c"
        "0100000c"
        "800e0100"
        "03000008"
        "0300000c"
        "00000008"
        "05000000");
  auto back = SaPayload::parse(body_of(sa));
  REQUIRE(back.ok());
  REQUIRE(back->proposals.size() == 1);
  CHECK(back->proposals[0].number == 1);
  CHECK(back->proposals[0].spi == from_hex("c1c2c3c4"));
  CHECK(back->proposals[0].transforms == p.transforms);
}

TEST_CASE("SA payload: round trip, truncation, malformed substructures", "[ike][payloads]") {
  SaPayload sa = sample_sa();
  check_round_trip(sa);
  check_body_truncation(sa);

  Bytes b = body_of(sa);
  SECTION("more-proposals flag with nothing after") {
    Bytes one = body_of(SaPayload{{sa.proposals[0]}});
    one[0] = std::byte{2};
    CHECK_FALSE(SaPayload::parse(one).ok());
  }
  SECTION("bad last-substruc value") {
    b[0] = std::byte{1};
    CHECK_FALSE(SaPayload::parse(b).ok());
  }
  SECTION("transform count disagrees with last flags") {
    b[7] = std::byte{4};  // proposal 1 announces 4 transforms, the 4th is not last
    CHECK_FALSE(SaPayload::parse(b).ok());
  }
  SECTION("proposal number 0") {
    b[4] = std::byte{0};
    CHECK_FALSE(SaPayload::parse(b).ok());
  }
  SECTION("trailing bytes") {
    b.push_back(std::byte{0});
    CHECK_FALSE(SaPayload::parse(b).ok());
  }
  SECTION("unknown attribute is flagged, not fatal") {
    Bytes t = from_hex("00000028 01010001 0000001c 01000014 800e0080 00220004 01020304 800f0001 80010001");
    // one proposal, one transform with: key length 128, TLV attr 0x22 (4 bytes), TV 0x0f, TV 0x01
    t[3] = std::byte{static_cast<unsigned char>(t.size())};
    auto r = SaPayload::parse(t);
    REQUIRE(r.ok());
    CHECK(r->proposals[0].transforms[0].key_length == 128);
    CHECK(r->proposals[0].transforms[0].unknown_attribute);
  }
}

TEST_CASE("KE, ID, AUTH, Nonce, CERT, CERTREQ, Vendor ID, EAP round trips", "[ike][payloads]") {
  check_round_trip(KePayload{31, from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")});
  check_round_trip(IdiPayload{IdType::fqdn, Bytes(common::as_bytes("moon.strongswan.org").begin(),
                                                  common::as_bytes("moon.strongswan.org").end())});
  check_round_trip(IdrPayload{IdType::ipv4_addr, from_hex("c0000201")});
  check_round_trip(AuthPayload{AuthMethod::psk, Bytes(32, std::byte{0x5a})});
  check_round_trip(NoncePayload{Bytes(32, std::byte{0x11})});
  check_round_trip(CertPayload{4, from_hex("3082010a")});
  check_round_trip(CertReqPayload{4, Bytes(20, std::byte{0x33})});
  check_round_trip(VendorIdPayload{from_hex("882fe56d6fd20dbc2251613b2ebe5beb")});
  check_round_trip(EapPayload{from_hex("01020008 01616263")});

  CHECK(to_hex(body_of(IdiPayload{IdType::ipv4_addr, from_hex("c0000201")})) == "01000000c0000201");
  CHECK(to_hex(body_of(KePayload{19, from_hex("abcd")})) == "00130000abcd");
  CHECK(to_hex(body_of(AuthPayload{AuthMethod::psk, from_hex("aa")})) == "02000000aa");

  CHECK_FALSE(KePayload::parse(from_hex("00130000")).ok());      // no key data
  CHECK_FALSE(AuthPayload::parse(from_hex("02000000")).ok());    // no auth data
  CHECK_FALSE(NoncePayload::parse(Bytes(15)).ok());              // §3.9: at least 16
  CHECK(NoncePayload::parse(Bytes(16)).ok());
  CHECK(NoncePayload::parse(Bytes(256)).ok());
  CHECK_FALSE(NoncePayload::parse(Bytes(257)).ok());             // at most 256
}

TEST_CASE("Notify payload", "[ike][payloads]") {
  NotifyPayload rekey{ProtocolId::esp, from_hex("01020304"), NotifyType::rekey_sa, {}};
  check_round_trip(rekey);
  CHECK(to_hex(body_of(rekey)) == "0304400901020304");
  NotifyPayload natd{ProtocolId::none, {}, NotifyType::nat_detection_source_ip, Bytes(20, std::byte{7})};
  check_round_trip(natd);
  NotifyPayload err{ProtocolId::none, {}, NotifyType::no_proposal_chosen, {}};
  check_round_trip(err);
  CHECK(is_error(err.type));
  CHECK_FALSE(is_error(natd.type));
  CHECK(to_string(NotifyType::ts_unacceptable) == "TS_UNACCEPTABLE");
  CHECK(to_string(NotifyType::childless_ikev2_supported) == "CHILDLESS_IKEV2_SUPPORTED");
  CHECK(to_string(static_cast<NotifyType>(40000)) == "UNKNOWN");
  // SPI size larger than the body.
  CHECK_FALSE(NotifyPayload::parse(from_hex("0308400901020304")).ok());
  // Unknown notify types are kept as numbers.
  auto unk = NotifyPayload::parse(from_hex("00009c40abcd"));
  REQUIRE(unk.ok());
  CHECK(static_cast<std::uint16_t>(unk->type) == 40000);
}

TEST_CASE("Delete payload", "[ike][payloads]") {
  DeletePayload ike_del{ProtocolId::ike, {}};
  check_round_trip(ike_del);
  CHECK(to_hex(body_of(ike_del)) == "01000000");
  DeletePayload esp_del{ProtocolId::esp, {0xc0010203, 0x0a0b0c0d}};
  check_round_trip(esp_del);
  check_body_truncation(esp_del);
  CHECK(to_hex(body_of(esp_del)) == "03040002c00102030a0b0c0d");
  CHECK_FALSE(DeletePayload::parse(from_hex("01040001c0010203")).ok());  // IKE with SPI
  CHECK_FALSE(DeletePayload::parse(from_hex("03080001c0010203c0010203")).ok());  // size 8
  CHECK_FALSE(DeletePayload::parse(from_hex("03040001c001020300")).ok());  // trailing
  CHECK_FALSE(DeletePayload::parse(from_hex("07000000")).ok());  // unknown protocol
}

TEST_CASE("TS payloads: IPv4 and IPv6 ranges", "[ike][payloads]") {
  TsiPayload tsi;
  tsi.selectors.push_back(common::TrafficSelector{v4("10.44.6.1"), v4("10.44.6.1"), 47, 0, 65535});
  tsi.selectors.push_back(common::TrafficSelector{v4("192.0.2.0"), v4("192.0.2.255"), 6, 80, 80});
  check_round_trip(tsi);
  check_body_truncation(tsi);
  CHECK(to_hex(body_of(TsiPayload{{common::TrafficSelector{v4("10.0.0.1"), v4("10.0.0.2"), 0, 0, 65535}}})) ==
        "01000000" "07000010" "0000ffff" "0a000001" "0a000002");

  TsrPayload tsr;
  tsr.selectors.push_back(
      common::TrafficSelector{*common::IpAddr::parse("2001:db8::"), *common::IpAddr::parse("2001:db8::ffff"), 0, 0, 65535});
  check_round_trip(tsr);
  check_body_truncation(tsr);
  CHECK(body_of(tsr).size() == 4 + 40);

  SECTION("unknown selector types are skipped") {
    // one type-9 selector of 12 bytes, then one IPv4 selector
    auto r = TsiPayload::parse(from_hex("02000000 0900000c 00000000 00000000 07000010 0000ffff 0a000001 0a000002"));
    REQUIRE(r.ok());
    REQUIRE(r->selectors.size() == 1);
    CHECK(r->selectors[0].start == v4("10.0.0.1"));
  }
  SECTION("wrong selector length for the type") {
    CHECK_FALSE(TsiPayload::parse(from_hex("01000000 07000014 0000ffff 0a000001 0a000002 00000000")).ok());
  }
  SECTION("zero selectors") { CHECK_FALSE(TsiPayload::parse(from_hex("00000000")).ok()); }
  SECTION("more selectors announced than present") {
    CHECK_FALSE(TsiPayload::parse(from_hex("02000000 07000010 0000ffff 0a000001 0a000002")).ok());
  }
}

TEST_CASE("CP payload", "[ike][payloads]") {
  CpPayload cp{CfgType::request, {{1, {}}, {3, {}}}};
  check_round_trip(cp);
  CpPayload reply{CfgType::reply, {{1, from_hex("0a000005")}}};
  check_round_trip(reply);
  CHECK(to_hex(body_of(reply)) == "02000000000100040a000005");
  CHECK_FALSE(CpPayload::parse(from_hex("02000000000100040a0000")).ok());
}

TEST_CASE("payload chain: unknown payloads", "[ike][payloads]") {
  // An unknown payload type 200 (non-critical) between two known payloads is skipped.
  Bytes chain = from_hex("c8000008 deadbeef" "00000008 00000000");  // 200 → V(43)? fixed below
  chain[0] = std::byte{43};  // next after the unknown one is Vendor ID
  std::vector<Payload> out;
  REQUIRE(parse_payload_chain(static_cast<PayloadType>(200), chain, false, out).ok());
  REQUIRE(out.size() == 1);
  CHECK(std::holds_alternative<VendorIdPayload>(out[0]));

  // The same with the critical bit set fails, naming the type.
  chain[1] = std::byte{0x80};
  ParseDiag diag;
  out.clear();
  CHECK_FALSE(parse_payload_chain(static_cast<PayloadType>(200), chain, false, out, &diag).ok());
  CHECK(diag.reason == ParseReason::unsupported_critical);
  CHECK(diag.payload_type == 200);
  CHECK(notify_for(diag.reason) == NotifyType::unsupported_critical_payload);

  // A critical bit on a known payload is fine.
  Bytes v = from_hex("00800008 01020304");
  out.clear();
  CHECK(parse_payload_chain(PayloadType::vendor_id, v, false, out).ok());

  // Length < 4, bytes after the last payload.
  out.clear();
  CHECK_FALSE(parse_payload_chain(PayloadType::vendor_id, from_hex("00000003"), false, out).ok());
  out.clear();
  CHECK_FALSE(parse_payload_chain(PayloadType::vendor_id, from_hex("00000004 00"), false, out).ok());
}

TEST_CASE("generic header: exact bytes, round trip, every truncation", "[ike][payloads]") {
  GenericHeader g{41, GenericHeader::kCritical, 0x1234};
  Bytes b;
  common::Writer w(b);
  g.write(w);
  CHECK(to_hex(b) == "29801234");
  CHECK(b.size() == GenericHeader::kSize);
  common::Reader r(b);
  auto back = GenericHeader::read(r);
  REQUIRE(back.has_value());
  CHECK(*back == g);
  CHECK(r.empty());
  for (std::size_t n = 0; n < GenericHeader::kSize; ++n) {
    INFO(n);
    common::Reader cut(ByteSpan(b).first(n));
    CHECK_FALSE(GenericHeader::read(cut).has_value());
    CHECK_FALSE(cut.ok());
  }
  // Each payload of a chain starts with one: Next Payload, flags 0, the length with it.
  std::vector<Payload> pl{NoncePayload{from_hex("0102030405060708")}, VendorIdPayload{from_hex("aa")}};
  Bytes chain;
  CHECK(serialize_payload_chain(pl, chain) == PayloadType::nonce);
  common::Reader cr(chain);
  auto first = GenericHeader::read(cr);
  REQUIRE(first.has_value());
  CHECK(*first == GenericHeader{43, 0, 12});
  cr.skip(8);
  auto second = GenericHeader::read(cr);
  REQUIRE(second.has_value());
  CHECK(*second == GenericHeader{0, 0, 5});
}

TEST_CASE("SA payload: proposal and transform headers cut or too short are rejected", "[ike][payloads]") {
  // One ESP proposal (SPI c0c1c2c3) with one ENCR transform: header lengths 8 + 4 and 8.
  Bytes sa = from_hex("00000014 01030401 c0c1c2c3 00000008 0100000c");
  REQUIRE(SaPayload::parse(sa).ok());
  for (std::size_t n = 1; n < sa.size(); ++n) {
    INFO(n);
    CHECK_FALSE(SaPayload::parse(ByteSpan(sa).first(n)).ok());
  }
  Bytes short_proposal = sa;
  short_proposal[3] = std::byte{7};  // proposal length below its 8-byte header
  CHECK(SaPayload::parse(short_proposal).error().code == common::Errc::malformed);
  Bytes short_transform = sa;
  short_transform[15] = std::byte{7};  // transform length below its 8-byte header
  CHECK_FALSE(SaPayload::parse(short_transform).ok());
  Bytes bad_more = sa;
  bad_more[12] = std::byte{2};  // a transform header with the proposals' "more" value
  CHECK(SaPayload::parse(bad_more).error().code == common::Errc::malformed);
}
