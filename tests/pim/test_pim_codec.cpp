#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "gre/pcap_util.h"
#include "pim/codec.h"

using common::Bytes;
using common::ByteSpan;
using common::from_hex;
using common::to_hex;
using gre::ipv4;
using namespace pim;

namespace {

// RFC 7761 §4.9 / §4.9.2 Hello, written out field by field:
//   20        version 2, type 0 (Hello)
//   00        reserved
//   76b7      checksum: ~(0x2000 + 0x0001 + 0x0002 + 0x0069 + 0x0013 + 0x0004 + 0x0000
//                        + 0x0001 + 0x0014 + 0x0004 + 0x1234 + 0x5678) = ~0x8948 = 0x76b7
//   0001 0002 0069            Holdtime option, 105 s
//   0013 0004 00000001        DR Priority option, 1
//   0014 0004 12345678        Generation ID option
const char* kHelloHex = "20 00 76b7  0001 0002 0069  0013 0004 00000001  0014 0004 12345678";

// RFC 7761 §4.9.5 Join/Prune, a (*,G) join of 239.1.2.3 via RP 100.15.30.253 sent to the
// upstream neighbor 10.44.4.5 (the seed write-up's addresses), holdtime 210 s:
const char* kJoinHex =
    "23 00 4fa9"        // version 2, type 3, reserved, checksum
    "01 00 0a2c0405"    // upstream neighbor: Encoded-Unicast, family 1 (IPv4), encoding 0
    "00 01 00d2"        // reserved, 1 group, holdtime 210
    "01 00 00 20 ef010203"  // Encoded-Group: family 1, encoding 0, B/Z 0, mask 32, 239.1.2.3
    "0001 0000"         // 1 joined source, 0 pruned
    "01 00 07 20 640f1efd";  // Encoded-Source: S|W|R, mask 32, 100.15.30.253 (the RP)

}  // namespace

TEST_CASE("pim hello: built bytes equal the hand-encoded RFC 7761 message", "[pim][codec]") {
  Hello h;
  h.holdtime = 105;
  h.dr_priority = 1;
  h.generation_id = 0x12345678;
  Bytes b = build_hello(h);
  CHECK(to_hex(b) == to_hex(from_hex(kHelloHex)));
  CHECK(compute_checksum(b) == 0x76b7);
  auto m = parse_message(b);
  REQUIRE(m.ok());
  CHECK(m->header.type == 0);
  CHECK(m->header.checksum == 0x76b7);
  REQUIRE(std::holds_alternative<Hello>(m->body));
  CHECK(std::get<Hello>(m->body) == h);
}

TEST_CASE("pim hello: all options round-trip, unknown options skipped", "[pim][codec]") {
  Hello h;
  h.holdtime = 0xffff;
  h.lan_prune_delay = LanPruneDelay{true, 500, 2500};
  h.dr_priority = 0xfffffffe;
  h.generation_id = 7;
  Bytes b = build_hello(h);
  auto m = parse_message(b);
  REQUIRE(m.ok());
  CHECK(std::get<Hello>(m->body) == h);

  // Add an Address List option (type 24) and a zero-length unknown option.
  Bytes extra = from_hex("20 00 0000  0001 0002 001e  0018 0006 0100 0a000001  ffff 0000");
  const std::uint16_t c = compute_checksum(extra);
  extra[2] = std::byte(c >> 8);
  extra[3] = std::byte(c & 0xff);
  auto m2 = parse_message(extra);
  REQUIRE(m2.ok());
  const Hello& h2 = std::get<Hello>(m2->body);
  CHECK(h2.holdtime == 30);
  CHECK(h2.unknown_options == 2);
  CHECK_FALSE(h2.generation_id);

  Hello empty;
  Bytes e = build_hello(empty);
  CHECK(e.size() == 4);
  REQUIRE(parse_message(e).ok());
}

TEST_CASE("pim hello: wrong option lengths are malformed", "[pim][codec]") {
  for (const char* body : {"0001 0004 00000069", "0013 0002 0001", "0014 0003 000001", "0002 0002 0001"}) {
    INFO(body);
    auto r = parse_hello_body(from_hex(body));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == common::Errc::malformed);
  }
}

TEST_CASE("pim join/prune: built bytes equal the RFC 7761 §4.9.5 layout field by field", "[pim][codec]") {
  JoinPrune jp;
  jp.upstream_neighbor = ipv4(10, 44, 4, 5);
  jp.holdtime = 210;
  GroupEntry g;
  g.group = ipv4(239, 1, 2, 3);
  g.joins.push_back(EncodedSource{ipv4(100, 15, 30, 253), kSourceFlagsStarG, 32});
  jp.groups.push_back(g);
  Bytes b = build_join_prune(jp);
  const Bytes want = from_hex(kJoinHex);
  CHECK(to_hex(b) == to_hex(want));
  REQUIRE(b.size() == 34);
  CHECK(jp.encoded_size() == b.size());
  // Field by field, so a failure says which one.
  const auto* p = common::u8(ByteSpan(b));
  CHECK(p[0] == 0x23);                     // PIM version 2, type 3
  CHECK(p[4] == 1);                        // upstream neighbor family IPv4
  CHECK(p[5] == 0);                        // native encoding
  CHECK(p[11] == 1);                       // number of groups
  CHECK(((p[12] << 8) | p[13]) == 210);    // holdtime
  CHECK(p[17] == 32);                      // group mask length
  CHECK(((p[22] << 8) | p[23]) == 1);      // joined sources
  CHECK(((p[24] << 8) | p[25]) == 0);      // pruned sources
  CHECK(p[28] == 0x07);                    // S|W|R
  CHECK(p[29] == 32);                      // source mask length
  CHECK(compute_checksum(b) == 0x4fa9);

  auto m = parse_message(b);
  REQUIRE(m.ok());
  REQUIRE(std::holds_alternative<JoinPrune>(m->body));
  CHECK(std::get<JoinPrune>(m->body) == jp);
}

TEST_CASE("pim join/prune: several groups, joins and prunes round-trip", "[pim][codec]") {
  JoinPrune jp;
  jp.upstream_neighbor = ipv4(10, 44, 4, 5);
  jp.holdtime = 0;
  for (int i = 0; i < 5; ++i) {
    GroupEntry g;
    g.group = ipv4(239, 0, 0, static_cast<std::uint8_t>(i + 1));
    g.joins.push_back(EncodedSource{ipv4(198, 51, 100, 1), kSourceFlagS, 32});
    for (int k = 0; k < i; ++k)
      g.prunes.push_back(EncodedSource{ipv4(203, 0, 113, static_cast<std::uint8_t>(k)), kSourceFlagS | kSourceFlagR, 32});
    jp.groups.push_back(g);
  }
  Bytes b = build_join_prune(jp);
  CHECK(b.size() == jp.encoded_size());
  auto m = parse_message(b);
  REQUIRE(m.ok());
  CHECK(std::get<JoinPrune>(m->body) == jp);
}

TEST_CASE("pim: every truncated length fails (the checksum fixed up each time)", "[pim][codec]") {
  for (const char* hex : {kHelloHex, kJoinHex}) {
    const Bytes full = from_hex(hex);
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      if (n >= 4) {
        cut[2] = cut[3] = std::byte{0};
        const std::uint16_t c = compute_checksum(cut);
        cut[2] = std::byte(c >> 8);
        cut[3] = std::byte(c & 0xff);
      }
      INFO(hex << " cut to " << n);
      auto r = parse_message(cut);
      // A Hello cut at an option boundary is a valid shorter Hello; anything else fails.
      const bool hello_boundary = full[0] == std::byte{0x20} && (n == 4 || n == 10 || n == 18);
      if (hello_boundary) {
        CHECK(r.ok());
      } else {
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == common::Errc::truncated);
      }
    }
  }
}

TEST_CASE("pim: checksum, version and encodings are enforced", "[pim][codec]") {
  const Bytes good = from_hex(kJoinHex);
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x01};
    INFO("byte " << i);
    auto r = parse_message(bad);
    REQUIRE_FALSE(r.ok());
    // Flipping the low bit of byte 0 changes the type (3 -> 2) and still breaks the sum;
    // every other flip is caught by the checksum.
    CHECK(r.error().code == common::Errc::integrity);
  }
  auto fix = [](Bytes b) {
    b[2] = b[3] = std::byte{0};
    const std::uint16_t c = compute_checksum(b);
    b[2] = std::byte(c >> 8);
    b[3] = std::byte(c & 0xff);
    return b;
  };
  Bytes v1 = good;
  v1[0] = std::byte{0x13};
  CHECK(parse_message(fix(v1)).error().code == common::Errc::unsupported);
  Bytes v6 = good;
  v6[4] = std::byte{2};  // IPv6 upstream neighbor
  CHECK(parse_message(fix(v6)).error().code == common::Errc::unsupported);
  Bytes enc = good;
  enc[15] = std::byte{1};  // group encoding type 1
  CHECK(parse_message(fix(enc)).error().code == common::Errc::unsupported);
  Bytes mask = good;
  mask[29] = std::byte{33};
  CHECK(parse_message(fix(mask)).error().code == common::Errc::malformed);
  Bytes flags = good;
  flags[28] = std::byte{0x0f};
  CHECK(parse_message(fix(flags)).error().code == common::Errc::malformed);
  Bytes trailing = good;
  trailing.push_back(std::byte{0});
  CHECK(parse_message(fix(trailing)).error().code == common::Errc::malformed);
  Bytes many = good;
  many[11] = std::byte{200};  // 200 groups announced, 1 present
  CHECK(parse_message(fix(many)).error().code == common::Errc::truncated);
  Bytes sources = good;
  sources[23] = std::byte{0xff};  // 255 joined sources announced
  CHECK(parse_message(fix(sources)).error().code == common::Errc::truncated);
}

TEST_CASE("pim: other message types keep their body; Register checksum covers 8 bytes", "[pim][codec]") {
  // Register: header, flags word, then a data packet not covered by the checksum.
  Bytes reg = from_hex("21 00 0000 00000000 4500001c");
  const std::uint16_t c = compute_checksum(reg);
  CHECK(c == static_cast<std::uint16_t>(~0x2100 & 0xffff));
  reg[2] = std::byte(c >> 8);
  reg[3] = std::byte(c & 0xff);
  reg.back() ^= std::byte{0xff};  // data change does not matter
  auto m = parse_message(reg);
  REQUIRE(m.ok());
  CHECK(m->header.type == 1);
  REQUIRE(std::holds_alternative<ByteSpan>(m->body));
  CHECK(std::get<ByteSpan>(m->body).size() == 8);
}

TEST_CASE("pim ipv4: TTL 1, to 224.0.0.13, protocol 103", "[pim][codec]") {
  Bytes pim = from_hex(kHelloHex);
  Bytes ip = build_ipv4_packet(ipv4(10, 44, 4, 6), pim, 9);
  auto v = gre::parse_ipv4(ip);
  REQUIRE(v.ok());
  CHECK(v->header.ttl == 1);
  CHECK(v->header.dst == ipv4(224, 0, 0, 13));
  CHECK(v->header.protocol == 103);
  CHECK(v->header.src == ipv4(10, 44, 4, 6));
  CHECK(v->header.id == 9);
  CHECK(to_hex(v->payload) == to_hex(pim));
}

TEST_CASE("tshark dissects our Hello and Join/Prune with correct checksums", "[pim][tshark]") {
  if (!testutil::have_tshark()) {
    WARN("tshark not installed: skipped");
    return;
  }
  const std::uint32_t src = ipv4(10, 44, 4, 6);
  Hello h;
  h.holdtime = 105;
  h.dr_priority = 1;
  h.generation_id = 0x12345678;
  h.lan_prune_delay = LanPruneDelay{false, 500, 2500};
  JoinPrune jp;
  jp.upstream_neighbor = ipv4(10, 44, 4, 5);
  jp.holdtime = 210;
  GroupEntry g;
  g.group = ipv4(239, 1, 2, 3);
  g.joins.push_back(EncodedSource{ipv4(100, 15, 30, 253), kSourceFlagsStarG, 32});
  g.joins.push_back(EncodedSource{ipv4(198, 51, 100, 10), kSourceFlagS, 32});
  jp.groups.push_back(g);
  JoinPrune prune = jp;
  std::swap(prune.groups[0].joins, prune.groups[0].prunes);
  const std::string path = testutil::temp_pcap("pim");
  REQUIRE(testutil::write_pcap(path, {build_ipv4_packet(src, build_hello(h), 1),
                                      build_ipv4_packet(src, build_join_prune(jp), 2),
                                      build_ipv4_packet(src, build_join_prune(prune), 3)}));
  const std::string out = testutil::tshark_verbose(path);
  if (!std::getenv("SWANLESS_KEEP_PCAP")) std::remove(path.c_str());
  REQUIRE_FALSE(out.empty());
  CHECK(out.find("Malformed") == std::string::npos);
  CHECK(out.find("incorrect") == std::string::npos);
  CHECK(out.find("Protocol Independent Multicast") != std::string::npos);
  CHECK(out.find("Holdtime: 105") != std::string::npos);
  CHECK(out.find("Generation ID: 305419896") != std::string::npos);
  CHECK(out.find("Upstream-neighbor: 10.44.4.5") != std::string::npos);
  CHECK(out.find("Group 0: 239.1.2.3/32") != std::string::npos);
  CHECK(out.find("IP address: 100.15.30.253/32 (SWR)") != std::string::npos);
  // Three PIM checksums, each verified.
  std::size_t correct = 0;
  for (std::size_t pos = 0; (pos = out.find("[Checksum Status: Good]", pos)) != std::string::npos; ++pos) ++correct;
  CHECK(correct == 3);
}
