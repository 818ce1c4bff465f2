// IKEv2 key derivation against NIST CAVP SP 800-135 IKEv2 KDF test vectors (the first
// SHA-1 and SHA-256 cases: Ni/Nr 64 bits, g^ir 256 bits, DKM 1056 bits).
#include <catch2/catch.hpp>

#include "ike/keymat.h"

using namespace common;
using namespace common::crypto;

namespace {

Bytes H(std::string_view hex) { return from_hex(hex); }

Bytes cat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (auto p : parts) append(out, p);
  return out;
}

Bytes prefix(common::ByteSpan b, std::size_t n) { return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)); }

struct CavpCase {
  PrfId prf;
  const char* ni;
  const char* nr;
  const char* gir;
  const char* gir_new;
  std::uint64_t spi_i;
  std::uint64_t spi_r;
  const char* skeyseed;
  const char* dkm;
  const char* dkm_child;     // nullptr when not at hand for this case
  const char* dkm_child_dh;  // idem
  const char* skeyseed_rekey;
};

const CavpCase kSha1 = {
    PrfId::hmac_sha1,
    "32b50d5f4a3763f3",
    "9206a04b26564cb1",
    "4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52",
    "863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330",
    0x34c9e7c188868785ull,
    0x3ff77d760d2b2199ull,
    "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7",
    "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e9"
    "92204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119"
    "8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4",
    "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e"
    "2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf"
    "285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4",
    "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a519"
    "7dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a"
    "05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c",
    "63e81194946ebd05df7df5ebf5d8750056bf1f1d",
};

const CavpCase kSha256 = {
    PrfId::hmac_sha256,
    "3f302be1abcb28e1",
    "8c332ee006064c9b",
    "0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29",
    "25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c",
    0x40dac39e1e1a8640ull,
    0x8619a1cf9a6e4c07ull,
    "5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe",
    "0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531188d16041b3bb936d2dbb3b"
    "4993a6e768a809160de45d0283f273a6cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4"
    "e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986d12d4aad",
    nullptr,
    nullptr,
    "2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398",
};

void check_generic(const CavpCase& c) {
  auto prf = Prf::create(c.prf);
  REQUIRE(prf);
  const Bytes ni = H(c.ni), nr = H(c.nr), gir = H(c.gir), gir_new = H(c.gir_new);

  // SKEYSEED = prf(Ni | Nr, g^ir)
  const common::SecretBytes seed_key = ike::skeyseed(*prf, gir, ni, nr);
  CHECK(to_hex(seed_key) == c.skeyseed);

  // DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
  const Bytes seed = ike::ike_keymat_seed(ni, nr, c.spi_i, c.spi_r);
  REQUIRE(seed.size() == ni.size() + nr.size() + 16);
  const common::SecretBytes dkm = prf_plus(*prf, seed_key, seed, 132);
  CHECK(to_hex(dkm) == c.dkm);

  // SK_d is the first prf-size bytes of DKM.
  const Bytes sk_d = prefix(dkm, prf->size());
  if (c.dkm_child) {
    // DKM(Child SA) = prf+(SK_d, Ni | Nr)
    CHECK(to_hex(prf_plus(*prf, sk_d, cat({ni, nr}), 132)) == c.dkm_child);
  }
  if (c.dkm_child_dh) {
    // DKM(Child SA D-H) = prf+(SK_d, g^ir (new) | Ni | Nr)
    CHECK(to_hex(prf_plus(*prf, sk_d, cat({gir_new, ni, nr}), 132)) == c.dkm_child_dh);
  }
  // SKEYSEED(Rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr)
  CHECK(to_hex(ike::skeyseed_rekey(*prf, sk_d, gir_new, ni, nr)) == c.skeyseed_rekey);
}

}  // namespace

TEST_CASE("keymat: CAVP IKEv2 KDF, HMAC-SHA1, generic pieces", "[ike][keymat]") { check_generic(kSha1); }

TEST_CASE("keymat: CAVP IKEv2 KDF, HMAC-SHA256, generic pieces", "[ike][keymat]") { check_generic(kSha256); }

TEST_CASE("keymat: ike_keymat_seed layout", "[ike][keymat]") {
  CHECK(to_hex(ike::ike_keymat_seed(H("0102"), H("03"), 0x1122334455667788ull, 0x99aabbccddeeff00ull)) ==
        "0102031122334455667788" "99aabbccddeeff00");
}

TEST_CASE("keymat: derive_ike_keys splits the CAVP DKM in RFC 7296 order", "[ike][keymat]") {
  // SHA-1 with AES-CBC-128 + HMAC-SHA1-96: 3*20 + 2*20 + 2*16 = 132 bytes, exactly the DKM.
  const auto& c = kSha1;
  auto k = ike::derive_ike_keys(PrfId::hmac_sha1, EncrId::aes_cbc, 128, IntegId::hmac_sha1_96, H(c.gir), H(c.ni),
                                H(c.nr), c.spi_i, c.spi_r);
  REQUIRE(k.ok());
  CHECK(k->sk_d.size() == 20);
  CHECK(k->sk_ai.size() == 20);
  CHECK(k->sk_ei.size() == 16);
  CHECK(k->sk_pr.size() == 20);
  CHECK(to_hex(cat({k->sk_d, k->sk_ai, k->sk_ar, k->sk_ei, k->sk_er, k->sk_pi, k->sk_pr})) == c.dkm);

  // SHA-256 with AES-GCM-16-128 (20 bytes with salt), no integrity: 3*32 + 2*20 = 136 bytes;
  // the first 132 are the CAVP DKM.
  const auto& d = kSha256;
  auto g = ike::derive_ike_keys(PrfId::hmac_sha256, EncrId::aes_gcm_16, 128, IntegId::none, H(d.gir), H(d.ni),
                                H(d.nr), d.spi_i, d.spi_r);
  REQUIRE(g.ok());
  CHECK(g->sk_ai.empty());
  CHECK(g->sk_ar.empty());
  CHECK(g->sk_ei.size() == 20);
  CHECK(g->sk_er.size() == 20);
  const Bytes all = cat({g->sk_d, g->sk_ai, g->sk_ar, g->sk_ei, g->sk_er, g->sk_pi, g->sk_pr});
  REQUIRE(all.size() == 136);
  CHECK(to_hex(prefix(all, 132)) == d.dkm);
}

TEST_CASE("keymat: derive_child_keys with and without PFS against CAVP child DKMs", "[ike][keymat]") {
  const auto& c = kSha1;
  const Bytes sk_d = prefix(H(c.dkm), 20);
  // AES-CBC-256 + HMAC-SHA2-256-128: 2 * (32 + 32) = 128 bytes, a prefix of the 132-byte DKM.
  auto k = ike::derive_child_keys(PrfId::hmac_sha1, sk_d, EncrId::aes_cbc, 256, IntegId::hmac_sha256_128, {},
                                  H(c.ni), H(c.nr));
  REQUIRE(k.ok());
  CHECK(k->encr_i.size() == 32);
  CHECK(k->integ_i.size() == 32);
  CHECK(to_hex(cat({k->encr_i, k->integ_i, k->encr_r, k->integ_r})) == std::string(c.dkm_child).substr(0, 256));

  auto pfs = ike::derive_child_keys(PrfId::hmac_sha1, sk_d, EncrId::aes_cbc, 256, IntegId::hmac_sha256_128,
                                    H(c.gir_new), H(c.ni), H(c.nr));
  REQUIRE(pfs.ok());
  CHECK(to_hex(cat({pfs->encr_i, pfs->integ_i, pfs->encr_r, pfs->integ_r})) ==
        std::string(c.dkm_child_dh).substr(0, 256));

  // AEAD: encr_* carry the salt, integ_* are empty: encr_i | encr_r.
  auto gcm = ike::derive_child_keys(PrfId::hmac_sha1, sk_d, EncrId::aes_gcm_16, 256, IntegId::none, {}, H(c.ni),
                                    H(c.nr));
  REQUIRE(gcm.ok());
  CHECK(gcm->encr_i.size() == 36);
  CHECK(gcm->integ_i.empty());
  CHECK(to_hex(cat({gcm->encr_i, gcm->encr_r})) == std::string(c.dkm_child).substr(0, 144));
  auto chacha = ike::derive_child_keys(PrfId::hmac_sha1, sk_d, EncrId::chacha20_poly1305, 0, IntegId::none, {},
                                       H(c.ni), H(c.nr));
  REQUIRE(chacha.ok());
  CHECK(chacha->encr_r.size() == 36);
  CHECK(chacha->encr_i == gcm->encr_i);
}

TEST_CASE("keymat: rekeyed IKE SA keys come from the rekey SKEYSEED", "[ike][keymat]") {
  const auto& c = kSha256;
  auto prf = Prf::create(PrfId::hmac_sha256);
  REQUIRE(prf);
  const Bytes sk_d_old = prefix(H(c.dkm), 32);
  const common::SecretBytes s = ike::skeyseed_rekey(*prf, sk_d_old, H(c.gir_new), H(c.ni), H(c.nr));
  REQUIRE(to_hex(s) == c.skeyseed_rekey);
  const std::uint64_t new_spi_i = 0x0102030405060708ull, new_spi_r = 0x1112131415161718ull;
  auto k = ike::ike_keys_from_skeyseed(PrfId::hmac_sha256, s, EncrId::aes_cbc, 256, IntegId::hmac_sha256_128,
                                       H(c.ni), H(c.nr), new_spi_i, new_spi_r);
  REQUIRE(k.ok());
  const common::SecretBytes km = prf_plus(*prf, s, ike::ike_keymat_seed(H(c.ni), H(c.nr), new_spi_i, new_spi_r), 3 * 32 + 4 * 32);
  CHECK(cat({k->sk_d, k->sk_ai, k->sk_ar, k->sk_ei, k->sk_er, k->sk_pi, k->sk_pr}) == km);
}

TEST_CASE("keymat: invalid transform combinations are errors", "[ike][keymat]") {
  const Bytes n = H("0001020304050607");
  const Bytes gir(32, std::byte{1});
  CHECK(ike::derive_ike_keys(PrfId::hmac_sha256, EncrId::aes_gcm_16, 128, IntegId::hmac_sha256_128, gir, n, n, 1, 2)
            .error()
            .code == Errc::malformed);
  CHECK(ike::derive_ike_keys(PrfId::hmac_sha256, EncrId::aes_cbc, 100, IntegId::hmac_sha256_128, gir, n, n, 1, 2)
            .error()
            .code == Errc::unsupported);
  CHECK(ike::derive_ike_keys(static_cast<PrfId>(99), EncrId::aes_cbc, 128, IntegId::hmac_sha256_128, gir, n, n, 1, 2)
            .error()
            .code == Errc::unsupported);
  CHECK(ike::derive_child_keys(PrfId::hmac_sha256, gir, EncrId::chacha20_poly1305, 128, IntegId::none, {}, n, n)
            .error()
            .code == Errc::unsupported);
  CHECK(ike::derive_child_keys(PrfId::hmac_sha256, gir, EncrId::aes_cbc, 128, static_cast<IntegId>(77), {}, n, n)
            .error()
            .code == Errc::unsupported);
}
