// ike= / esp= proposal parsing (strongSwan syntax) -> IANA transform IDs.
#include <catch2/catch.hpp>

#include "ike/proposal.h"

using common::crypto::DhId;
using common::crypto::EncrId;
using common::crypto::IntegId;
using common::crypto::PrfId;
using ike::Esn;
using ike::Protocol;

namespace {

ike::Proposal one(std::string_view text, Protocol p) {
  std::string bad;
  auto r = ike::parse_proposal(text, p, &bad);
  INFO(text << " -> " << (r ? "" : r.error().detail) << " bad=" << bad);
  REQUIRE(r.ok());
  return r.value();
}

std::string fails(std::string_view text, Protocol p) {
  std::string bad;
  auto r = ike::parse_proposals(text, p, &bad);
  INFO(text);
  REQUIRE_FALSE(r.ok());
  return bad;
}

}  // namespace

TEST_CASE("ike: aes256-sha256-modp2048 gives integ and PRF of SHA-256") {
  auto p = one("aes256-sha256-modp2048", Protocol::ike);
  REQUIRE(p.encr == std::vector<ike::EncrAlg>{{EncrId::aes_cbc, 256}});
  REQUIRE(p.integ == std::vector<IntegId>{IntegId::hmac_sha256_128});
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha256});
  REQUIRE(p.dh == std::vector<DhId>{DhId::modp2048});
  REQUIRE(p.esn.empty());
  REQUIRE_FALSE(p.is_aead());
  REQUIRE(ike::to_string(p) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
}

TEST_CASE("ike: aes256-sha1-modp2048") {
  auto p = one("aes256-sha1-modp2048", Protocol::ike);
  REQUIRE(p.integ == std::vector<IntegId>{IntegId::hmac_sha1_96});
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha1});
  REQUIRE(ike::to_string(p) == "AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_2048");
}

TEST_CASE("ike: AEAD with explicit PRF") {
  auto p = one("aes128gcm16-prfsha256-ecp256", Protocol::ike);
  REQUIRE(p.encr == std::vector<ike::EncrAlg>{{EncrId::aes_gcm_16, 128}});
  REQUIRE(p.integ.empty());
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha256});
  REQUIRE(p.dh == std::vector<DhId>{DhId::ecp256});
  REQUIRE(p.is_aead());
  REQUIRE(ike::to_string(p) == "AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256");

  auto c = one("chacha20poly1305-prfsha256-curve25519", Protocol::ike);
  REQUIRE(c.encr == std::vector<ike::EncrAlg>{{EncrId::chacha20_poly1305, 0}});
  REQUIRE(c.dh == std::vector<DhId>{DhId::curve25519});
  REQUIRE(ike::to_string(c) == "CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519");

  auto x = one("aes256gcm16-prfsha384-x25519", Protocol::ike);
  REQUIRE(x.encr == std::vector<ike::EncrAlg>{{EncrId::aes_gcm_16, 256}});
  REQUIRE(x.prf == std::vector<PrfId>{PrfId::hmac_sha384});
  REQUIRE(x.dh == std::vector<DhId>{DhId::curve25519});
}

TEST_CASE("ike: AEAD takes its PRF from an integrity keyword, which is then dropped") {
  auto p = one("aes256gcm16-sha384-ecp384", Protocol::ike);
  REQUIRE(p.integ.empty());
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha384});
  REQUIRE(p.dh == std::vector<DhId>{DhId::ecp384});
}

TEST_CASE("ike: explicit PRF wins over derived ones") {
  auto p = one("aes128-sha256-prfsha512-modp3072", Protocol::ike);
  REQUIRE(p.integ == std::vector<IntegId>{IntegId::hmac_sha256_128});
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha512});
  REQUIRE(p.dh == std::vector<DhId>{DhId::modp3072});
}

TEST_CASE("ike: several algorithms of one type in one proposal, duplicates folded") {
  auto p = one("aes128-aes256-aes128-sha256-sha512-modp2048-ecp256-modp4096", Protocol::ike);
  REQUIRE(p.encr == std::vector<ike::EncrAlg>{{EncrId::aes_cbc, 128}, {EncrId::aes_cbc, 256}});
  REQUIRE(p.integ == std::vector<IntegId>{IntegId::hmac_sha256_128, IntegId::hmac_sha512_256});
  REQUIRE(p.prf == std::vector<PrfId>{PrfId::hmac_sha256, PrfId::hmac_sha512});
  REQUIRE(p.dh == std::vector<DhId>{DhId::modp2048, DhId::ecp256, DhId::modp4096});
  REQUIRE(one("aes-sha2_256-modp2048", Protocol::ike).encr.front().key_bits == 128);
  REQUIRE(one("aes192-sha384-modp2048", Protocol::ike).integ.front() == IntegId::hmac_sha384_192);
  REQUIRE(one("AES256-SHA256-MODP2048", Protocol::ike).encr.front().key_bits == 256);
}

TEST_CASE("ike: strict list has only the configured proposals") {
  auto r = ike::parse_proposals("aes256-sha256-modp2048!", Protocol::ike);
  REQUIRE(r.ok());
  REQUIRE(r->strict);
  REQUIRE(r->configured == 1);
  REQUIRE(r->proposals.size() == 1);
  REQUIRE(ike::to_string(*r) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
}

TEST_CASE("ike: non-strict list gets strongSwan's defaults appended") {
  auto r = ike::parse_proposals("aes256-sha256-modp2048, aes128gcm16-prfsha256-ecp256", Protocol::ike);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r->strict);
  REQUIRE(r->configured == 2);
  auto defaults = ike::default_proposals(Protocol::ike);
  REQUIRE(r->proposals.size() == 2 + defaults.size());
  REQUIRE(r->proposals[1].is_aead());
  REQUIRE(std::equal(defaults.begin(), defaults.end(), r->proposals.begin() + 2));
}

TEST_CASE("ike: defaults are well formed and include aes128-sha256-modp3072") {
  for (auto proto : {Protocol::ike, Protocol::esp}) {
    auto d = ike::default_proposals(proto);
    REQUIRE(d.size() == 2);
    for (const auto& p : d) {
      REQUIRE(p.protocol == proto);
      REQUIRE_FALSE(p.encr.empty());
      REQUIRE(p.is_aead() == p.integ.empty());
      if (proto == Protocol::ike) {
        REQUIRE_FALSE(p.prf.empty());
        REQUIRE_FALSE(p.dh.empty());
      } else {
        REQUIRE(p.dh.empty());
        REQUIRE(p.esn == std::vector<Esn>{Esn::no});
      }
    }
  }
  auto ikeds = ike::default_proposals(Protocol::ike);
  const auto& cbc = ikeds[0];
  REQUIRE(std::find(cbc.encr.begin(), cbc.encr.end(), ike::EncrAlg{EncrId::aes_cbc, 128}) != cbc.encr.end());
  REQUIRE(std::find(cbc.integ.begin(), cbc.integ.end(), IntegId::hmac_sha256_128) != cbc.integ.end());
  REQUIRE(std::find(cbc.dh.begin(), cbc.dh.end(), DhId::modp3072) != cbc.dh.end());
}

TEST_CASE("esp: DH group means PFS, ESN defaults to no") {
  auto p = one("aes256-sha256-modp2048", Protocol::esp);
  REQUIRE(p.encr == std::vector<ike::EncrAlg>{{EncrId::aes_cbc, 256}});
  REQUIRE(p.integ == std::vector<IntegId>{IntegId::hmac_sha256_128});
  REQUIRE(p.prf.empty());
  REQUIRE(p.dh == std::vector<DhId>{DhId::modp2048});
  REQUIRE(p.esn == std::vector<Esn>{Esn::no});
  REQUIRE(ike::to_string(p) == "AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/NO_EXT_SEQ");

  auto n = one("aes128-sha1", Protocol::esp);
  REQUIRE(n.dh.empty());
  REQUIRE(ike::to_string(n) == "AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ");
}

TEST_CASE("esp: esn / noesn / both") {
  REQUIRE(one("aes128gcm16-esn", Protocol::esp).esn == std::vector<Esn>{Esn::yes});
  REQUIRE(one("aes128gcm16-noesn", Protocol::esp).esn == std::vector<Esn>{Esn::no});
  REQUIRE(one("aes128gcm16-esn-noesn", Protocol::esp).esn == std::vector<Esn>{Esn::yes, Esn::no});
  REQUIRE(ike::to_string(one("aes256gcm16-esn", Protocol::esp)) == "AES_GCM_16_256/EXT_SEQ");
}

TEST_CASE("esp: AEAD drops integrity, PRF is ignored") {
  auto p = one("aes128gcm16-sha256-prfsha256-ecp256", Protocol::esp);
  REQUIRE(p.is_aead());
  REQUIRE(p.integ.empty());
  REQUIRE(p.prf.empty());
  REQUIRE(p.dh == std::vector<DhId>{DhId::ecp256});
  auto c = one("chacha20poly1305", Protocol::esp);
  REQUIRE(ike::to_string(c) == "CHACHA20_POLY1305/NO_EXT_SEQ");
}

TEST_CASE("esp: strict and non-strict") {
  auto s = ike::parse_proposals("aes256-sha256-modp2048!", Protocol::esp);
  REQUIRE(s.ok());
  REQUIRE(s->proposals.size() == 1);
  auto ns = ike::parse_proposals("aes256-sha256", Protocol::esp);
  REQUIRE(ns.ok());
  REQUIRE(ns->proposals.size() == 1 + ike::default_proposals(Protocol::esp).size());
}

TEST_CASE("proposal errors name the offending token") {
  REQUIRE(fails("aes256-sha256-bogus", Protocol::ike) == "bogus");
  REQUIRE(fails("blowfish-sha1-modp1024", Protocol::ike) == "blowfish");
  REQUIRE(fails("aes256-aesxcbc-modp2048", Protocol::ike) == "aesxcbc");
  REQUIRE(fails("aes256-sha256-modp768", Protocol::ike) == "modp768");
  REQUIRE(fails("aes128gcm8-prfsha256-ecp256", Protocol::ike) == "aes128gcm8");
  REQUIRE(fails("aes256-sha256-modp2048-esn", Protocol::ike) == "esn");
  // missing mandatory parts
  fails("aes256-sha256", Protocol::ike);            // no DH in IKE
  fails("aes128gcm16-ecp256", Protocol::ike);       // AEAD without PRF
  fails("sha256-modp2048", Protocol::ike);          // no cipher
  fails("aes256-modp2048", Protocol::ike);          // classic cipher without integrity
  fails("aes256", Protocol::esp);                   // classic cipher without integrity
  fails("aes256-aes128gcm16-sha256-modp2048", Protocol::ike);  // mixed AEAD/classic
  // syntax
  fails("", Protocol::ike);
  fails("!", Protocol::ike);
  fails("aes256--sha256-modp2048", Protocol::ike);
  fails("aes256-sha256-modp2048-", Protocol::ike);
  fails("aes256-sha256-modp2048,", Protocol::ike);
  fails(",aes256-sha256-modp2048", Protocol::ike);
  fails("aes256-sha256-modp2048!!", Protocol::ike);
  fails("aes256-sha256-modp2048!,aes128-sha256-modp2048", Protocol::ike);
}

TEST_CASE("proposal parser survives every prefix of valid strings") {
  // Each truncation either parses or fails cleanly; never crashes.
  for (std::string_view s : {"aes128gcm16-prfsha256-ecp256,aes256-sha256-modp2048!",
                             "chacha20poly1305-prfsha256-curve25519"}) {
    for (std::size_t n = 0; n <= s.size(); ++n) {
      auto r = ike::parse_proposals(s.substr(0, n), Protocol::ike);
      if (r) REQUIRE_FALSE(r->proposals.empty());
    }
  }
}

TEST_CASE("legacy transforms vendor boxes still propose: 3des, md5, modp1024/1536/8192, ecp521") {
  auto p = one("3des-md5-modp1024", Protocol::ike);
  CHECK(p.encr == std::vector<ike::EncrAlg>{{EncrId::des3_cbc, 0}});
  CHECK(p.integ == std::vector<IntegId>{IntegId::hmac_md5_96});
  CHECK(p.prf == std::vector<PrfId>{PrfId::hmac_md5});  // the PRF follows the integrity
  CHECK(p.dh == std::vector<DhId>{DhId::modp1024});
  CHECK(ike::to_string(p) == "3DES_CBC/HMAC_MD5_96/PRF_HMAC_MD5/MODP_1024");
  CHECK(ike::to_string(one("3des-sha1-modp1536", Protocol::ike)) == "3DES_CBC/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1536");
  CHECK(ike::to_string(one("aes256-sha512-ecp521", Protocol::ike)) ==
        "AES_CBC_256/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/ECP_521");
  CHECK(ike::to_string(one("aes256-sha256-prfmd5-modp8192", Protocol::ike)) ==
        "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_MD5/MODP_8192");
  CHECK(ike::to_string(one("3des-md5-modp1024", Protocol::esp)) == "3DES_CBC/HMAC_MD5_96/MODP_1024/NO_EXT_SEQ");
}

TEST_CASE("unimplemented algorithms are left out of a list with drop_unsupported, as strongSwan does") {
  std::string bad;
  // One algorithm of a proposal: left out, the proposal stays.
  auto r = ike::parse_proposals("aes256-blowfish-sha256-modp2048,camellia-sha256-modp2048", Protocol::ike, &bad, true);
  REQUIRE(r.ok());
  CHECK(r->configured == 1);
  CHECK(ike::to_string(r->proposals[0]) == "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048");
  CHECK(r->dropped == std::vector<std::string>{"blowfish", "camellia", "proposal camellia-sha256-modp2048"});
  CHECK(r->proposals.size() == 1 + ike::default_proposals(Protocol::ike).size());  // not strict
  // Strict: what is left is offered alone; nothing left is an error.
  auto strict = ike::parse_proposals("aes256-sha256-modp2048-modp768!", Protocol::ike, &bad, true);
  REQUIRE(strict.ok());
  CHECK(strict->proposals.size() == 1);
  CHECK(strict->dropped == std::vector<std::string>{"modp768"});
  auto empty = ike::parse_proposals("camellia-sha256-modp2048!", Protocol::ike, &bad, true);
  REQUIRE_FALSE(empty.ok());
  CHECK(std::string(empty.error().detail).find("strict") != std::string::npos);
  // Unknown words stay errors: a typo must not vanish.
  CHECK_FALSE(ike::parse_proposals("aes256-sha256-modp2084", Protocol::ike, &bad, true).ok());
  CHECK(bad == "modp2084");
}
