#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/bytes.h"
#include "gre/ipv4.h"
#include "gre/pcap_util.h"
#include "pim/igmp.h"

using common::Bytes;
using common::from_hex;
using common::to_hex;
using gre::ipv4;
using namespace pim::igmp;

namespace {

const std::uint32_t kHost = ipv4(10, 44, 6, 2);
const std::uint32_t kRouter = ipv4(10, 44, 6, 1);
const std::uint32_t kG1 = ipv4(239, 1, 2, 3);
const std::uint32_t kS1 = ipv4(198, 51, 100, 10);
const std::uint32_t kS2 = ipv4(198, 51, 100, 11);

// RFC 3376 §4.1 v3 General Query from 10.44.6.1, IP ID 0x1234, Max Resp 10 s, QRV 2,
// QQI 125 s, derived by hand:
//   IPv4: 46 (v4, IHL 6) c0 (TOS) 0024 (36 bytes) 1234 (ID) 0000 (no flags) 01 (TTL)
//         02 (IGMP) 21b2 (checksum) 0a2c0601 (src) e0000001 (224.0.0.1) 94040000 (Router
//         Alert). Checksum: 46c0 + 0024 + 1234 + 0000 + 0102 + 0a2c + 0601 + e000 + 0001
//         + 9404 + 0000 = 1de4c, folded de4d, complemented 21b2.
//   IGMP: 11 (query) 64 (Max Resp Code 100 tenths) ec1e (checksum) 00000000 (general)
//         02 (S 0, QRV 2) 7d (QQIC 125) 0000 (no sources). Checksum: 1164 + 027d = 13e1,
//         complemented ec1e.
const char* kGeneralQueryHex =
    "46c0 0024 1234 0000 0102 21b2 0a2c0601 e0000001 94040000"
    "1164 ec1e 00000000 027d 0000";

// An independent Internet checksum for the tests (not common/checksum.h).
std::uint16_t sum16(const Bytes& b, std::size_t from, std::size_t to) {
  std::uint32_t s = 0;
  for (std::size_t i = from; i < to; i += 2) {
    const std::uint32_t hi = std::to_integer<std::uint32_t>(b[i]);
    const std::uint32_t lo = i + 1 < to ? std::to_integer<std::uint32_t>(b[i + 1]) : 0;
    s += (hi << 8) | lo;
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

std::size_t ihl(const Bytes& p) { return (std::to_integer<std::size_t>(p[0]) & 0x0f) * 4; }

// Rewrites both checksums after a test edited a packet.
void fix_checksums(Bytes& p) {
  const std::size_t h = ihl(p);
  p[10] = p[11] = std::byte{0};
  std::uint16_t c = static_cast<std::uint16_t>(~sum16(p, 0, h));
  p[10] = std::byte(c >> 8);
  p[11] = std::byte(c & 0xff);
  p[h + 2] = p[h + 3] = std::byte{0};
  c = static_cast<std::uint16_t>(~sum16(p, h, p.size()));
  p[h + 2] = std::byte(c >> 8);
  p[h + 3] = std::byte(c & 0xff);
}

// Appends bytes to the IGMP message and fixes the IPv4 total length and checksums.
Bytes with_tail(Bytes p, const char* hex) {
  common::append(p, from_hex(hex));
  p[2] = std::byte(p.size() >> 8);
  p[3] = std::byte(p.size() & 0xff);
  fix_checksums(p);
  return p;
}

void check_ip_header(const Bytes& p, std::uint32_t dst) {
  REQUIRE(p.size() >= 28);
  CHECK(std::to_integer<int>(p[0]) == 0x46);
  CHECK(std::to_integer<int>(p[1]) == 0xc0);
  CHECK(std::to_integer<int>(p[8]) == 1);
  CHECK(std::to_integer<int>(p[9]) == 2);
  CHECK(to_hex(Bytes(p.begin() + 20, p.begin() + 24)) == "94040000");
  auto h = gre::peek_ipv4(p);
  REQUIRE(h.ok());
  CHECK(h->dst == dst);
  CHECK(h->total_length == p.size());
  CHECK(sum16(p, 0, 24) == 0xffff);
  CHECK(sum16(p, 24, p.size()) == 0xffff);
}

common::Error parse_error(const Bytes& p) {
  auto m = parse(p);
  REQUIRE_FALSE(m.ok());
  return m.error();
}

}  // namespace

TEST_CASE("igmp code: Max Resp Code / QQIC floating form at the boundaries", "[igmp][codec]") {
  CHECK(encode_code(0) == 0);
  CHECK(encode_code(127) == 127);
  CHECK(decode_code(127) == 127);
  CHECK(encode_code(128) == 0x80);  // exp 0, mant 0: 16 << 3
  CHECK(decode_code(0x80) == 128);
  CHECK(encode_code(135) == 0x80);  // rounds down: the next value is 136
  CHECK(encode_code(136) == 0x81);
  CHECK(encode_code(255) == 0x8f);  // 31 << 3 = 248 <= 255 < 256
  CHECK(encode_code(256) == 0x90);  // exp 1
  CHECK(encode_code(1000) == 0xaf);  // 1000 >> 5 = 31: exp 2, mant 15
  CHECK(decode_code(0xaf) == 992);
  CHECK(encode_code(31744) == 0xff);  // the largest: 31 << 10
  CHECK(decode_code(0xff) == 31744);
  CHECK(encode_code(31743) == 0xfe);  // 30 << 10 = 30720
  CHECK(decode_code(0xfe) == 30720);
  CHECK(encode_code(100000) == 0xff);  // clamped
  for (unsigned c = 0; c < 256; ++c) CHECK(encode_code(decode_code(static_cast<std::uint8_t>(c))) == c);
  // Monotonic: encoding never rounds up past the value.
  for (unsigned v = 0; v <= kMaxCodeValue; v += 7) CHECK(decode_code(encode_code(v)) <= v);
}

TEST_CASE("igmp query: built v3 General Query equals the hand-derived bytes", "[igmp][codec]") {
  Query q;  // v3, general, 10 s, QRV 2, QQI 125 s
  Bytes b = build_query(kRouter, q, 0x1234);
  CHECK(to_hex(b) == to_hex(from_hex(kGeneralQueryHex)));
  auto m = parse(b);
  REQUIRE(m.ok());
  CHECK(m->type == Type::query);
  CHECK(m->src == kRouter);
  CHECK(m->dst == kAllSystems);
  CHECK(m->router_alert);
  CHECK(m->query == q);
}

TEST_CASE("igmp query: v3 group-and-source-specific, v2 and v1 forms round-trip", "[igmp][codec]") {
  Query q;
  q.group = kG1;
  q.max_resp_tenths = 10;
  q.suppress = true;
  q.qrv = 7;
  q.qqi_s = 992;
  q.sources = {kS1, kS2};
  Bytes b = build_query(kRouter, q, 1);
  check_ip_header(b, kG1);
  CHECK(b.size() == 24 + 12 + 8);
  auto m = parse(b);
  REQUIRE(m.ok());
  CHECK(m->group == kG1);
  CHECK(m->query == q);

  Query big = q;
  big.qrv = 9;  // §4.1.6: above 7 goes out as 0
  auto mb = parse(build_query(kRouter, big));
  REQUIRE(mb.ok());
  CHECK(mb->query.qrv == 0);

  Query v2;
  v2.version = 2;
  v2.group = kG1;
  v2.max_resp_tenths = 10;
  v2.qrv = 0;
  v2.qqi_s = 0;
  Bytes b2 = build_query(kRouter, v2);
  check_ip_header(b2, kG1);
  CHECK(b2.size() == 24 + 8);
  auto m2 = parse(b2);
  REQUIRE(m2.ok());
  CHECK(m2->query == v2);

  Query v1 = v2;
  v1.version = 1;
  v1.group = 0;
  v1.max_resp_tenths = 0;
  Bytes b1 = build_query(kRouter, v1);
  check_ip_header(b1, kAllSystems);
  auto m1 = parse(b1);
  REQUIRE(m1.ok());
  CHECK(m1->query == v1);
}

TEST_CASE("igmp reports: v1, v2, leave and v3 round-trip to their destinations", "[igmp][codec]") {
  for (Type t : {Type::v1_report, Type::v2_report, Type::v2_leave}) {
    Bytes b = build_report_v2(kHost, t, kG1, 7);
    check_ip_header(b, t == Type::v2_leave ? kAllRouters : kG1);
    CHECK(b.size() == 32);
    auto m = parse(b);
    REQUIRE(m.ok());
    CHECK(m->type == t);
    CHECK(m->group == kG1);
    CHECK(m->src == kHost);
    CHECK(build(*m, 7) == b);
  }
  CHECK(build_report_v2(kHost, Type::query, kG1).empty());

  std::vector<Record> recs = {
      {RecordType::is_include, kG1, {kS1, kS2}}, {RecordType::is_exclude, ipv4(239, 1, 2, 4), {}},
      {RecordType::to_include, ipv4(239, 1, 2, 5), {kS1}}, {RecordType::to_exclude, ipv4(239, 1, 2, 6), {kS2}},
      {RecordType::allow_new, ipv4(232, 1, 1, 1), {kS1}}, {RecordType::block_old, ipv4(232, 1, 1, 1), {kS2}},
  };
  Bytes b = build_report_v3(kHost, recs, 9);
  check_ip_header(b, kAllV3Routers);
  CHECK(b.size() == 24 + 8 + 6 * 8 + 6 * 4);
  auto m = parse(b);
  REQUIRE(m.ok());
  CHECK(m->type == Type::v3_report);
  CHECK(m->records == recs);
  CHECK(m->skipped_records == 0);
  CHECK(build(*m, 9) == b);

  // An empty v3 report is legal (no records).
  auto e = parse(build_report_v3(kHost, {}));
  REQUIRE(e.ok());
  CHECK(e->records.empty());
}

TEST_CASE("igmp v3 report: aux data, unknown record types and trailing bytes are skipped", "[igmp][codec]") {
  Bytes p = build_report_v3(kHost, {});
  // Two records: type 7 (unknown) with one source; type 1 with aux len 1 and one source.
  p[24 + 7] = std::byte{2};
  p = with_tail(p, "07 00 0001 ef010203 c633640a   01 01 0001 ef010203 c633640b deadbeef   ffff");
  auto m = parse(p);
  REQUIRE(m.ok());
  CHECK(m->skipped_records == 1);
  REQUIRE(m->records.size() == 1);
  CHECK(m->records[0] == Record{RecordType::is_include, kG1, {kS2}});

  // A v2 report longer than 8 bytes: the extra bytes are ignored (RFC 2236 §2.5).
  auto m2 = parse(with_tail(build_report_v2(kHost, Type::v2_report, kG1), "00000000"));
  REQUIRE(m2.ok());
  CHECK(m2->group == kG1);
  // A v3 query with bytes after the source list (§4.1.10).
  Query q;
  auto m3 = parse(with_tail(build_query(kRouter, q), "01020304"));
  REQUIRE(m3.ok());
  CHECK(m3->query == q);
}

TEST_CASE("igmp parse: truncated record lists and counts are rejected", "[igmp][codec]") {
  Bytes p = build_report_v3(kHost, {{RecordType::is_include, kG1, {kS1}}});
  // Record count 2 with one record present.
  Bytes two = p;
  two[24 + 7] = std::byte{2};
  fix_checksums(two);
  CHECK(parse_error(two).code == common::Errc::truncated);
  // Record count 0xffff: rejected before anything is reserved.
  Bytes many = p;
  many[24 + 6] = many[24 + 7] = std::byte{0xff};
  fix_checksums(many);
  CHECK(parse_error(many).code == common::Errc::truncated);
  // Source count 2 with one source.
  Bytes src = p;
  src[24 + 8 + 3] = std::byte{2};
  fix_checksums(src);
  CHECK(parse_error(src).code == common::Errc::truncated);
  // Aux data length running past the end.
  Bytes aux = p;
  aux[24 + 8 + 1] = std::byte{1};
  fix_checksums(aux);
  CHECK(parse_error(aux).code == common::Errc::truncated);
  // A second record cut inside its header (count 2, 4 bytes of it present).
  Bytes cut = two;
  cut = with_tail(cut, "01000000");
  CHECK(parse_error(cut).code == common::Errc::truncated);
  // Query source count beyond the buffer.
  Query q;
  q.sources = {kS1};
  Bytes qs = build_query(kRouter, q);
  qs[24 + 11] = std::byte{3};
  fix_checksums(qs);
  CHECK(parse_error(qs).code == common::Errc::truncated);
  // Query of 10 bytes: neither v2 nor v3 (§7.1).
  Bytes q10 = with_tail(build_query(kRouter, Query{2, 0, 100, false, 0, 0, {}}), "0000");
  CHECK(parse_error(q10).code == common::Errc::malformed);
  // IGMP shorter than 8 bytes.
  Bytes shortp = build_report_v2(kHost, Type::v2_report, kG1);
  shortp.resize(30);
  shortp[3] = std::byte{30};
  fix_checksums(shortp);
  CHECK(parse_error(shortp).code == common::Errc::truncated);
}

TEST_CASE("igmp parse: checksums, protocol, fragments, IHL and options are checked", "[igmp][codec]") {
  const Bytes good = build_report_v2(kHost, Type::v2_report, kG1);
  REQUIRE(parse(good).ok());

  Bytes igmp_sum = good;
  igmp_sum[24 + 3] ^= std::byte{1};
  CHECK(parse_error(igmp_sum).code == common::Errc::integrity);

  Bytes ip_sum = good;
  ip_sum[11] ^= std::byte{1};
  CHECK(parse_error(ip_sum).code == common::Errc::malformed);

  Bytes proto = good;
  proto[9] = std::byte{103};
  fix_checksums(proto);
  auto e = parse_error(proto);
  CHECK(e.code == common::Errc::unsupported);
  CHECK(std::string(e.detail) == "igmp: IPv4 protocol is not 2");

  Bytes mf = good;
  mf[6] = std::byte{0x20};  // More Fragments
  fix_checksums(mf);
  CHECK(std::string(parse_error(mf).detail) == "igmp: IPv4 fragment");
  Bytes off = good;
  off[7] = std::byte{0x01};  // fragment offset 8
  fix_checksums(off);
  CHECK(std::string(parse_error(off).detail) == "igmp: IPv4 fragment");

  Bytes ihl4 = good;
  ihl4[0] = std::byte{0x44};
  CHECK(parse_error(ihl4).code == common::Errc::malformed);
  Bytes ihl15 = good;
  ihl15[0] = std::byte{0x4f};  // 60-byte header in a 32-byte packet
  CHECK(parse_error(ihl15).code == common::Errc::malformed);

  Bytes badopt = good;
  badopt[21] = std::byte{9};  // Router Alert claiming 9 bytes inside a 4-byte option area
  fix_checksums(badopt);
  CHECK(parse_error(badopt).code == common::Errc::malformed);

  Bytes noopt = good;  // NOP padding instead of Router Alert: accepted, flag false
  noopt[20] = noopt[21] = noopt[22] = noopt[23] = std::byte{1};
  fix_checksums(noopt);
  auto m = parse(noopt);
  REQUIRE(m.ok());
  CHECK_FALSE(m->router_alert);

  Bytes total = good;  // total length beyond the buffer
  total[3] = std::byte{40};
  fix_checksums(total);
  CHECK(parse_error(total).code == common::Errc::malformed);
  // Ethernet-style padding past total length is ignored.
  Bytes padded = good;
  common::append(padded, from_hex("00000000"));
  CHECK(parse(padded).ok());

  Bytes unknown = good;
  unknown[24] = std::byte{0x13};  // DVMRP
  fix_checksums(unknown);
  CHECK(parse_error(unknown).code == common::Errc::unsupported);
}

TEST_CASE("tshark dissects our IGMP queries and reports cleanly", "[igmp][tshark]") {
  if (!testutil::have_tshark()) {
    WARN("tshark not installed: skipped");
    return;
  }
  Query gsq;
  gsq.group = kG1;
  gsq.max_resp_tenths = 10;
  Query gssq = gsq;
  gssq.sources = {kS1, kS2};
  gssq.suppress = true;
  Query v2q;
  v2q.version = 2;
  std::vector<Record> recs = {{RecordType::is_exclude, kG1, {}}, {RecordType::allow_new, ipv4(232, 1, 1, 1), {kS1, kS2}},
                              {RecordType::block_old, ipv4(232, 1, 1, 1), {kS1}}};
  const std::vector<Bytes> pkts = {build_query(kRouter, Query{}, 1), build_query(kRouter, gsq, 2),
                                   build_query(kRouter, gssq, 3),    build_query(kRouter, v2q, 4),
                                   build_report_v3(kHost, recs, 5),  build_report_v2(kHost, Type::v2_report, kG1, 6),
                                   build_report_v2(kHost, Type::v2_leave, kG1, 7),
                                   build_report_v2(kHost, Type::v1_report, kG1, 8)};
  const std::string path = testutil::temp_pcap("igmp");
  REQUIRE(testutil::write_pcap(path, pkts));
  const std::string out = testutil::tshark_verbose(path);
  if (!std::getenv("SWANLESS_KEEP_PCAP")) std::remove(path.c_str());
  REQUIRE_FALSE(out.empty());
  CHECK(out.find("Malformed") == std::string::npos);
  CHECK(out.find("incorrect") == std::string::npos);
  CHECK(out.find("Bad") == std::string::npos);
  CHECK(out.find("Router Alert") != std::string::npos);
  CHECK(out.find("Membership Query") != std::string::npos);
  CHECK(out.find("Membership Report") != std::string::npos);
  CHECK(out.find("Leave Group") != std::string::npos);
  // Eight IGMP checksums and eight IPv4 header checksums, each verified.
  auto count = [&out](const char* what) {
    std::size_t n = 0;
    for (std::size_t pos = 0; (pos = out.find(what, pos)) != std::string::npos; ++pos) ++n;
    return n;
  };
  CHECK(count("[Checksum Status: Good]") == pkts.size());
  CHECK(count("[Header checksum status: Good]") == pkts.size());
  CHECK(count("IGMP Version: 3") == 4);  // three v3 queries and the v3 report
  CHECK(count("Num Src: 2") == 2);       // the source-specific query, the ALLOW record
}
