// The legacy transforms that vendor boxes still propose (issue 13): 3DES-CBC (RFC 2451),
// HMAC-MD5-96 and PRF_HMAC_MD5 (RFC 2403, RFC 2104), MODP-1024 (RFC 2409 §6.2), MODP-1536
// and MODP-8192 (RFC 3526), ECP-521 (RFC 5903). Vectors from their published sources; the
// MODP primes are written here from the RFCs' formula p = 2^n - 2^(n-64) - 1 + 2^64 *
// ([2^(n-130) pi] + c), computed independently of OpenSSL.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "common/crypto.h"
#include "vectors.h"

using namespace common;
using namespace common::crypto;
using namespace test_vectors;

TEST_CASE("3DES-CBC: the DES-EDE3-CBC vector of OpenSSL's cipher tests (from SP 800-67's key)", "[crypto][cbc][legacy]") {
  auto c = Cipher::create(EncrId::des3_cbc, H("0123456789abcdeff1e0d3c2b5a49786fedcba9876543210"));
  REQUIRE(c);
  CHECK(c->block_size() == 8);
  CHECK(c->iv_size() == 8);
  const Bytes pt = H("37363534333231204e6f77206973207468652074696d6520666f722000000000");
  Bytes buf = pt;
  REQUIRE(c->encrypt(H("fedcba9876543210"), buf).ok());
  CHECK(to_hex(buf) == "3fe301c962ac01d02213763c1cbd4cdc799657c064ecf5d41c673812cfde9675");
  REQUIRE(c->decrypt(H("fedcba9876543210"), buf).ok());
  CHECK(buf == pt);
  // Sizes: a 16-byte key, an IV of 16 and a partial block are refused.
  CHECK_FALSE(Cipher::create(EncrId::des3_cbc, rep(1, 16)));
  CHECK_FALSE(c->encrypt(rep(0, 16), buf).ok());
  Bytes odd(12);
  CHECK_FALSE(c->encrypt(rep(0, 8), odd).ok());
  CHECK(encr_keymat_size(EncrId::des3_cbc, 0) == 24);
  CHECK(encr_keymat_size(EncrId::des3_cbc, 128) == 0);
  CHECK(encr_iv_size(EncrId::des3_cbc) == 8);
  CHECK(encr_block_size(EncrId::des3_cbc) == 8);
}

TEST_CASE("HMAC-MD5: RFC 2202 §2 vectors, as PRF and truncated to 96 bits (RFC 2403)", "[crypto][prf][integ][legacy]") {
  auto prf = Prf::create(PrfId::hmac_md5);
  REQUIRE(prf);
  CHECK(prf->size() == 16);
  CHECK(to_hex(prf->compute(rep(0x0b, 16), S("Hi There"))) == "9294727a3638bb1c13f48ef8158bfc9d");
  CHECK(to_hex(prf->compute(S("Jefe"), S("what do ya want for nothing?"))) == "750c783e6ab0b503eaa86e310a5db738");
  CHECK(to_hex(prf->compute(rep(0xaa, 16), rep(0xdd, 50))) == "56be34521d144c88dbb8c733f0e8b3f6");
  auto integ = Integ::create(IntegId::hmac_md5_96, rep(0x0b, 16));
  REQUIRE(integ);
  CHECK(integ->icv_size() == 12);
  Bytes icv(12);
  integ->compute(S("Hi There"), {}, icv);
  CHECK(to_hex(icv) == "9294727a3638bb1c13f48ef8");
  CHECK(integ->verify(S("Hi There"), {}, icv));
  CHECK_FALSE(Integ::create(IntegId::hmac_md5_96, rep(0x0b, 20)));  // the key is 16 bytes
  CHECK(integ_key_size(IntegId::hmac_md5_96) == 16);
  CHECK(prf_output_size(PrfId::hmac_md5) == 16);
}

TEST_CASE("MODP-1024 and MODP-1536: the RFC primes, generated keys agree, range checks", "[crypto][dh][legacy]") {
  struct G {
    DhId id;
    std::size_t size;
    const char* p_minus_2;  // from the RFC formula, see the top of the file
    const char* two_pow_n;  // 2^n mod p for the n-bit group: 2^n - p
  };
  const G groups[] = {
      {DhId::modp1024, 128,
      "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd"
      "ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
      "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381fffffffffffffffd",
      "000000000000000036f0255dde973dcb3b399d747f23e32ed6fdb1f77598338bfdf44159c4ec64ddaeb5f78671cbfb22"
      "106ae64c32c5bce4cfd4f5920da0ebc8b01eca9292ae3dba1b7a4a899da181390bb3bd1659c81294f400a3490bf94812"
      "11c79404a576605a5160dbee83b4e019b6d799ae1319ac7e0000000000000001"},
      {DhId::modp1536, 192,
      "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd"
      "ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed"
      "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f"
      "83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca237327fffffffffffffffd",
      "000000000000000036f0255dde973dcb3b399d747f23e32ed6fdb1f77598338bfdf44159c4ec64ddaeb5f78671cbfb22"
      "106ae64c32c5bce4cfd4f5920da0ebc8b01eca9292ae3dba1b7a4a899da181390bb3bd1659c81294f400a3490bf94812"
      "11c79404a576605a5160dbee83b4e019b6d799ae131ba4c23dff83475e9c40fa6725b7c9e3aa2c6596e9c05702db30a0"
      "7c9aa2dc235c5269e39d0ca9df7aad44612ad6f88f69699298f3cab1b54367fb0e8b93f735dc8cd80000000000000001"},
  };
  for (const auto& g : groups) {
    INFO(static_cast<int>(g.id));
    CHECK(dh_public_size(g.id) == g.size);
    // The public value of the private value n (the group's size in bits) is 2^n mod p,
    // which pins both the prime and the generator.
    const std::uint16_t n = static_cast<std::uint16_t>(g.size * 8);
    const Bytes n_bytes{std::byte(n >> 8), std::byte(n & 0xff)};
    auto kn = Dh::from_private(g.id, n_bytes);
    REQUIRE(kn);
    CHECK(to_hex((*kn)->public_value()) == g.two_pow_n);
    auto one = Dh::from_private(g.id, H("01"));
    REQUIRE(one);
    CHECK(to_hex((*one)->public_value()) == std::string(2 * g.size - 2, '0') + "02");
    // p-1 and above, 1 and below are refused (RFC 7296 §2.12).
    Bytes pm1 = H(g.p_minus_2);
    pm1.back() = std::byte{0xfe};
    CHECK_FALSE((*one)->shared_secret(pm1));
    Bytes value_one(g.size, std::byte{0});
    value_one.back() = std::byte{1};
    CHECK_FALSE((*one)->shared_secret(value_one));
    // Two generated keys agree.
    auto a = Dh::generate(g.id);
    auto b = Dh::generate(g.id);
    REQUIRE(a);
    REQUIRE(b);
    CHECK((*a)->public_value().size() == g.size);
    auto s1 = (*a)->shared_secret((*b)->public_value());
    auto s2 = (*b)->shared_secret((*a)->public_value());
    REQUIRE(s1);
    REQUIRE(s2);
    CHECK(*s1 == *s2);
    CHECK(s1->size() == g.size);
  }
}

TEST_CASE("MODP-8192: generated keys agree", "[crypto][dh][legacy][slow]") {
  auto a = Dh::generate(DhId::modp8192);
  auto b = Dh::generate(DhId::modp8192);
  REQUIRE(a);
  REQUIRE(b);
  CHECK((*a)->public_value().size() == 1024);
  auto s1 = (*a)->shared_secret((*b)->public_value());
  auto s2 = (*b)->shared_secret((*a)->public_value());
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(*s1 == *s2);
}

TEST_CASE("ECP-521: NIST's multiples of the base point (kG for k = 1, 2), ECDH and the curve check", "[crypto][dh][legacy]") {
  // P-521 G and 2G, as in the NIST point multiplication test vectors.
  const std::string g =
      "00C6858E06B70404E9CD9E3ECB662395B4429C648139053FB521F828AF606B4D3DBAA14B5E77EFE75928FE1DC127A2FFA8DE3348B3C1856A429BF97E7E31C2E5BD66"
      "011839296A789A3BC0045C8A5FB42C7D1BD998F54449579B446817AFBD17273E662C97EE72995EF42640C550B9013FAD0761353C7086A272C24088BE94769FD16650";
  const std::string g2x =
      "00433C219024277E7E682FCB288148C282747403279B1CCC06352C6E5505D769BE97B3B204DA6EF55507AA104A3A35C5AF41CF2FA364D60FD967F43E3933BA6D783D";
  const std::string g2y =
      "00F4BB8CC7F86DB26700A7F3ECEEEED3F0B5C6B5107C4DA97740AB21A29906C42DBBB3E377DE9F251F6B93937FA99A3248F4EAFCBE95EDC0F4F71BE356D661F41B02";
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  CHECK(dh_public_size(DhId::ecp521) == 132);
  auto k1 = Dh::from_private(DhId::ecp521, H("01"));
  auto k2 = Dh::from_private(DhId::ecp521, H("02"));
  REQUIRE(k1);
  REQUIRE(k2);
  CHECK(to_hex((*k1)->public_value()) == lower(g));
  CHECK(to_hex((*k2)->public_value()) == lower(g2x + g2y));
  // 2 * G: the shared secret is the x coordinate of 2G, 66 bytes with its leading zero.
  auto s = (*k2)->shared_secret(H(g));
  REQUIRE(s);
  CHECK(to_hex(*s) == lower(g2x));
  // A point off the curve is refused.
  Bytes bad = H(g);
  bad.back() ^= std::byte{1};
  CHECK_FALSE((*k2)->shared_secret(bad));
  // Generated keys agree.
  auto a = Dh::generate(DhId::ecp521);
  auto b = Dh::generate(DhId::ecp521);
  REQUIRE(a);
  REQUIRE(b);
  auto s1 = (*a)->shared_secret((*b)->public_value());
  auto s2 = (*b)->shared_secret((*a)->public_value());
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK(*s1 == *s2);
  CHECK(s1->size() == 66);
}
