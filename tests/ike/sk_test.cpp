// SK payload (RFC 7296 §3.14, RFC 5282, RFC 7634): round trips, an independent check of
// the wire layout with raw OpenSSL EVP calls, SK and SKF bytes pinned per suite,
// tampering, padding and length errors.
#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include "ike/fragment.h"
#include "ike/payload_rules.h"
#include "ike/sk.h"

using common::Bytes;
using common::ByteSpan;
using common::from_hex;
using common::to_hex;
using common::crypto::EncrId;
using common::crypto::IntegId;
using namespace ike;

namespace {

class CountingRandom final : public common::crypto::Random {
 public:
  void fill(common::MutByteSpan out) override {
    for (auto& b : out) b = std::byte{next_++};
  }

 private:
  unsigned char next_ = 0xa0;
};

Bytes key(std::size_t n, unsigned char start) {
  Bytes k(n);
  for (std::size_t i = 0; i < n; ++i) k[i] = std::byte{static_cast<unsigned char>(start + i)};
  return k;
}

Header auth_header() {
  Header h;
  h.spi_i = 0x0102030405060708;
  h.spi_r = 0x1112131415161718;
  h.exchange = ExchangeType::ike_auth;
  h.initiator = true;
  h.message_id = 1;
  return h;
}

std::vector<Payload> auth_payloads() {
  SaPayload sa;
  sa.proposals.push_back(SaProposal{1, ProtocolId::esp, from_hex("c0c1c2c3"),
                                    {{TransformType::encr, 12, 256},
                                     {TransformType::integ, 12, std::nullopt},
                                     {TransformType::esn, 0, std::nullopt}}});
  auto ip = [](const char* s) { return *common::IpAddr::parse(s); };
  return {IdiPayload{IdType::ipv4_addr, from_hex("c0000201")},
          NotifyPayload{ProtocolId::none, {}, NotifyType::initial_contact, {}},
          AuthPayload{AuthMethod::psk, key(32, 0x40)},
          sa,
          TsiPayload{{common::TrafficSelector{ip("10.44.6.1"), ip("10.44.6.1"), 47, 0, 65535}}},
          TsrPayload{{common::TrafficSelector{ip("10.44.6.2"), ip("10.44.6.2"), 47, 0, 65535}}}};
}

struct Suite {
  const char* name;
  EncrId encr;
  std::size_t encr_key_len;
  IntegId integ;
  std::size_t integ_key_len;
};

const Suite kSuites[] = {
    {"AES-CBC-256/HMAC-SHA2-256-128", EncrId::aes_cbc, 32, IntegId::hmac_sha256_128, 32},
    {"AES-GCM-16-256", EncrId::aes_gcm_16, 36, IntegId::none, 0},
    {"ChaCha20-Poly1305", EncrId::chacha20_poly1305, 36, IntegId::none, 0},
};

sk::SkKeys make_keys(const Suite& s, unsigned char seed = 0) {
  auto k = sk::SkKeys::create(s.encr, key(s.encr_key_len, seed), s.integ,
                              key(s.integ_key_len, static_cast<unsigned char>(seed + 0x80)));
  REQUIRE(k.ok());
  return std::move(k).value();
}

// ---- independent reference with raw EVP (no swanless crypto code) ----

Bytes evp_hmac_sha256_128(ByteSpan k, ByteSpan data) {
  unsigned char out[32];
  std::size_t len = 0;
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, k.data(), k.size(), common::u8(data),
                    data.size(), out, sizeof out, &len) != nullptr);
  return Bytes(reinterpret_cast<std::byte*>(out), reinterpret_cast<std::byte*>(out) + 16);
}

// CBC with no padding; encrypt = true/false.
Bytes evp_aes256_cbc(ByteSpan k, ByteSpan iv, ByteSpan in, bool encrypt) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  REQUIRE(EVP_CipherInit_ex(c, EVP_aes_256_cbc(), nullptr, common::u8(k), common::u8(iv), encrypt ? 1 : 0) == 1);
  EVP_CIPHER_CTX_set_padding(c, 0);
  Bytes out(in.size());
  int n = 0;
  REQUIRE(EVP_CipherUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &n, common::u8(in),
                           static_cast<int>(in.size())) == 1);
  int f = 0;
  REQUIRE(EVP_CipherFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()) + n, &f) == 1);
  EVP_CIPHER_CTX_free(c);
  return out;
}

// AEAD open: returns plaintext, or empty optional-like flag on tag failure.
bool evp_aead_open(const EVP_CIPHER* cipher, ByteSpan k, ByteSpan nonce, ByteSpan aad, ByteSpan ct,
                   ByteSpan tag, Bytes& out) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  REQUIRE(EVP_DecryptInit_ex(c, cipher, nullptr, nullptr, nullptr) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1);
  REQUIRE(EVP_DecryptInit_ex(c, nullptr, nullptr, common::u8(k), common::u8(nonce)) == 1);
  int n = 0;
  REQUIRE(EVP_DecryptUpdate(c, nullptr, &n, common::u8(aad), static_cast<int>(aad.size())) == 1);
  out.resize(ct.size());
  REQUIRE(EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &n, common::u8(ct),
                            static_cast<int>(ct.size())) == 1);
  Bytes t(tag.begin(), tag.end());
  REQUIRE(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(t.size()), t.data()) == 1);
  int f = 0;
  bool ok = EVP_DecryptFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()) + n, &f) == 1;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

// Independently decrypts `wire` per the RFCs and returns the SK plaintext (inner | pad | padlen).
Bytes reference_open(const Suite& s, ByteSpan wire, unsigned char seed = 0) {
  const std::size_t sk_at = Header::kSize;  // our builder puts SK first
  const std::size_t body_at = sk_at + 4;
  Bytes ek = key(s.encr_key_len, seed);
  if (s.encr == EncrId::aes_cbc) {
    Bytes ak = key(s.integ_key_len, static_cast<unsigned char>(seed + 0x80));
    ByteSpan iv = wire.subspan(body_at, 16);
    ByteSpan ct = wire.subspan(body_at + 16, wire.size() - body_at - 16 - 16);
    ByteSpan icv = wire.last(16);
    CHECK(to_hex(evp_hmac_sha256_128(ak, wire.first(wire.size() - 16))) == to_hex(icv));
    return evp_aes256_cbc(ek, iv, ct, false);
  }
  ByteSpan salt = ByteSpan(ek).last(4);
  ByteSpan k = ByteSpan(ek).first(32);
  ByteSpan iv = wire.subspan(body_at, 8);
  Bytes nonce(salt.begin(), salt.end());
  common::append(nonce, iv);
  ByteSpan ct = wire.subspan(body_at + 8, wire.size() - body_at - 8 - 16);
  Bytes out;
  const EVP_CIPHER* c = s.encr == EncrId::aes_gcm_16 ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
  CHECK(evp_aead_open(c, k, nonce, wire.first(body_at), ct, wire.last(16), out));
  return out;
}

// Builds a CBC/HMAC SK message with raw EVP from a caller-chosen plaintext (inner | pad | padlen).
Bytes reference_seal_cbc(Header h, PayloadType first, ByteSpan plaintext) {
  Bytes ek = key(32, 0), ak = key(32, 0x80), iv = key(16, 0x55);
  Bytes ct = evp_aes256_cbc(ek, iv, plaintext, true);
  h.next_payload = PayloadType::sk;
  h.length = static_cast<std::uint32_t>(Header::kSize + 4 + 16 + ct.size() + 16);
  Bytes out;
  common::Writer w(out);
  h.serialize(w);
  w.u8(static_cast<std::uint8_t>(first));
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(4 + 16 + ct.size() + 16));
  w.bytes(iv);
  w.bytes(ct);
  w.bytes(evp_hmac_sha256_128(ak, out));
  return out;
}

}  // namespace

TEST_CASE("SK: round trip and independent EVP check, per suite", "[ike][sk]") {
  for (const Suite& s : kSuites) {
    INFO(s.name);
    sk::SkKeys keys = make_keys(s);
    CountingRandom rng;
    auto inner = auth_payloads();
    auto wire = sk::build_encrypted(auth_header(), inner, keys, rng);
    REQUIRE(wire.ok());

    auto h = Header::parse(*wire);
    REQUIRE(h.ok());
    CHECK(h->next_payload == PayloadType::sk);
    CHECK(h->length == wire->size());
    CHECK(static_cast<std::uint8_t>((*wire)[Header::kSize]) == 35);  // SK's Next Payload: IDi

    // The layout an independent implementation expects.
    Bytes plain = reference_open(s, *wire);
    Bytes expect_inner;
    serialize_payload_chain(inner, expect_inner);
    REQUIRE(plain.size() >= expect_inner.size() + 1);
    std::size_t pad = std::to_integer<std::size_t>(plain.back());
    CHECK(plain.size() == expect_inner.size() + pad + 1);
    CHECK(to_hex(ByteSpan(plain).first(expect_inner.size())) == to_hex(expect_inner));
    if (s.encr == EncrId::aes_cbc) CHECK(plain.size() % 16 == 0);
    else CHECK(pad == 0);

    ParseDiag diag;
    auto m = sk::decrypt(*wire, keys, &diag);
    REQUIRE(m.ok());
    CHECK(m->encrypted);
    CHECK(m->unprotected.empty());
    CHECK(m->header.message_id == 1);
    CHECK(m->payloads == inner);
    CHECK(check_rules(*m).ok());
  }
}

TEST_CASE("SK: every inner size pads correctly (CBC) and round-trips", "[ike][sk]") {
  sk::SkKeys keys = make_keys(kSuites[0]);
  CountingRandom rng;
  for (std::size_t n = 0; n <= 40; ++n) {
    INFO("vendor id of " << n << " bytes");
    std::vector<Payload> inner{VendorIdPayload{key(n, 1)}};
    auto wire = sk::build_encrypted(auth_header(), inner, keys, rng);
    REQUIRE(wire.ok());
    CHECK((wire->size() - Header::kSize - 4 - 16 - 16) % 16 == 0);
    auto m = sk::decrypt(*wire, keys);
    REQUIRE(m.ok());
    CHECK(m->payloads == inner);
  }
  // An empty INFORMATIONAL (liveness check): no inner payload at all.
  Header h = auth_header();
  h.exchange = ExchangeType::informational;
  for (const Suite& s : kSuites) {
    sk::SkKeys k = make_keys(s);
    auto wire = sk::build_encrypted(h, std::vector<Payload>{}, k, rng);
    REQUIRE(wire.ok());
    CHECK(static_cast<std::uint8_t>((*wire)[Header::kSize]) == 0);
    auto m = sk::decrypt(*wire, k);
    REQUIRE(m.ok());
    CHECK(m->payloads.empty());
    CHECK(check_rules(*m).ok());
  }
}

TEST_CASE("SK: any modified byte is rejected; payload bytes as integrity failures", "[ike][sk]") {
  for (const Suite& s : kSuites) {
    INFO(s.name);
    sk::SkKeys keys = make_keys(s);
    CountingRandom rng;
    auto wire = sk::build_encrypted(auth_header(), auth_payloads(), keys, rng);
    REQUIRE(wire.ok());
    for (std::size_t i = 0; i < wire->size(); ++i) {
      INFO("byte " << i);
      Bytes t = *wire;
      t[i] ^= std::byte{0x01};
      ParseDiag diag;
      CHECK_FALSE(sk::decrypt(t, keys, &diag).ok());
      // SPIs, exchange, flags, message ID, IV, ciphertext and ICV are only caught by the
      // ICV/tag; the next-payload, version and length fields fail earlier.
      bool structural = i == 16 || i == 17 || (i >= 24 && i < 28) || (i >= 28 && i < 32);
      if (!structural) CHECK(diag.reason == ParseReason::integrity);
    }
    // Wrong key.
    sk::SkKeys other = make_keys(s, 9);
    ParseDiag diag;
    auto r = sk::decrypt(*wire, other, &diag);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == common::Errc::integrity);
    CHECK(diag.reason == ParseReason::integrity);
    CHECK_FALSE(notify_for(diag.reason).has_value());  // dropped silently
    CHECK_FALSE(diag.authentic);
  }
}

TEST_CASE("SK: a message built by raw EVP decrypts; bad padding and sizes", "[ike][sk]") {
  sk::SkKeys keys = make_keys(kSuites[0]);
  Bytes inner;
  std::vector<Payload> payloads{NotifyPayload{ProtocolId::esp, from_hex("01020304"), NotifyType::rekey_sa, {}}};
  PayloadType first = serialize_payload_chain(payloads, inner);
  REQUIRE(inner.size() == 12);

  SECTION("valid, with non-minimal padding (3 + 16 bytes) accepted") {
    Bytes plain = inner;
    plain.resize(12 + 19, std::byte{0xee});
    plain.push_back(std::byte{19});
    REQUIRE(plain.size() == 32);
    auto m = sk::decrypt(reference_seal_cbc(auth_header(), first, plain), keys);
    REQUIRE(m.ok());
    CHECK(m->payloads == payloads);
  }
  SECTION("pad length larger than the plaintext") {
    Bytes plain = inner;
    plain.resize(15, std::byte{0});
    plain.push_back(std::byte{200});
    ParseDiag diag;
    CHECK_FALSE(sk::decrypt(reference_seal_cbc(auth_header(), first, plain), keys, &diag).ok());
    CHECK(diag.reason == ParseReason::sk_malformed);
    CHECK(notify_for(diag.reason) == NotifyType::invalid_syntax);
  }
  SECTION("inner chain does not fill the plaintext") {
    Bytes plain = inner;
    plain.resize(15, std::byte{0});
    plain.push_back(std::byte{1});  // claims 1 pad byte: 2 stray bytes remain
    ParseDiag diag;
    CHECK_FALSE(sk::decrypt(reference_seal_cbc(auth_header(), first, plain), keys, &diag).ok());
    CHECK(diag.reason == ParseReason::payload_malformed);
    CHECK(diag.authentic);  // the ICV held: the peer may be told (INVALID_SYNTAX)
  }
  SECTION("SK inside SK") {
    Bytes plain = from_hex("00000008 00000000");
    plain.resize(15, std::byte{0});
    plain.push_back(std::byte{7});
    ParseDiag diag;
    CHECK_FALSE(sk::decrypt(reference_seal_cbc(auth_header(), PayloadType::sk, plain), keys, &diag).ok());
    CHECK(diag.reason == ParseReason::payload_malformed);
  }
  SECTION("SK body shorter than IV + ICV + one block, or not block aligned") {
    CountingRandom rng;
    auto wire = sk::build_encrypted(auth_header(), auth_payloads(), keys, rng);
    REQUIRE(wire.ok());
    for (std::size_t cut : {1u, 15u, 16u, 17u}) {
      Bytes t(wire->begin(), wire->end() - static_cast<std::ptrdiff_t>(cut));
      common::Writer w(t);
      w.patch_u32(24, static_cast<std::uint32_t>(t.size()));
      w.patch_u16(30, static_cast<std::uint16_t>(t.size() - Header::kSize));
      ParseDiag diag;
      CHECK_FALSE(sk::decrypt(t, keys, &diag).ok());
      bool aligned = (t.size() - Header::kSize - 4 - 32) % 16 == 0;
      CHECK(diag.reason == (aligned ? ParseReason::integrity : ParseReason::sk_malformed));
    }
    Bytes tiny(wire->begin(), wire->begin() + Header::kSize + 4 + 16 + 16);
    common::Writer w(tiny);
    w.patch_u32(24, static_cast<std::uint32_t>(tiny.size()));
    w.patch_u16(30, 36);
    ParseDiag diag;
    CHECK_FALSE(sk::decrypt(tiny, keys, &diag).ok());
    CHECK(diag.reason == ParseReason::sk_malformed);
  }
  SECTION("no SK payload") {
    Message m;
    m.header = auth_header();
    m.payloads = payloads;
    auto wire = encode_message(m);
    REQUIRE(wire.ok());
    ParseDiag diag;
    CHECK_FALSE(sk::decrypt(*wire, keys, &diag).ok());
    CHECK(diag.reason == ParseReason::sk_missing);
  }
}

TEST_CASE("SK: key set-up errors", "[ike][sk]") {
  CHECK_FALSE(sk::SkKeys::create(EncrId::aes_cbc, key(32, 0), IntegId::none, {}).ok());
  CHECK_FALSE(sk::SkKeys::create(EncrId::aes_gcm_16, key(36, 0), IntegId::hmac_sha256_128, key(32, 0)).ok());
  CHECK_FALSE(sk::SkKeys::create(EncrId::aes_cbc, key(31, 0), IntegId::hmac_sha256_128, key(32, 0)).ok());
  auto k = sk::SkKeys::create(EncrId::aes_gcm_16, key(20, 0), IntegId::none, {});  // AES-128 + salt
  REQUIRE(k.ok());
  CHECK(k->aead());
  CHECK(k->iv_size() == 8);
  CHECK(k->icv_size() == 16);
  CHECK(k->block_size() == 1);
}

namespace {
std::string sha256_hex(ByteSpan b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  REQUIRE(EVP_Digest(b.data(), b.size(), md, &n, EVP_sha256(), nullptr) == 1);
  return to_hex(ByteSpan(reinterpret_cast<const std::byte*>(md), n));
}
}  // namespace

// Digests of the datagrams as built before SK and SKF shared one seal/open body: the same
// keys and IV source must give the same bytes, and they must open to the same payloads.
TEST_CASE("SK and SKF: pinned wire bytes per suite, and they open again", "[ike][sk]") {
  const char* sk_digest[] = {
      "55672ace250cb05c223d9ff681e63cf06673a738657ec3b502c62603f63d5e56",
      "f170910d55d0009be3c3be739e1b64c47d03963e17423ddf2f5ae8b3d5ca5ba0",
      "6fbf00b556a081b2620d83718674d000e188b0464051a66f662769fbdc35b111",
  };
  const char* skf_digest[] = {
      "36057a9c00d7de656e55841a2733e0ea39fa74f2aa9949150f998b08de993c82",
      "6b10f5d081235590e2fd03efe000a6f50f4d7122541555a36a594e6a20b559ec",
      "03b1209a973a8a698f9f59f1ba9a38455a40e538462ddbd8e2f64d9cac8ca35c",
  };
  for (std::size_t i = 0; i < std::size(kSuites); ++i) {
    const Suite& s = kSuites[i];
    INFO(s.name);
    sk::SkKeys keys = make_keys(s, 0x30);
    CountingRandom rng;
    auto inner = auth_payloads();
    auto wire = sk::build_encrypted(auth_header(), inner, keys, rng);
    REQUIRE(wire.ok());
    CHECK(sha256_hex(*wire) == sk_digest[i]);
    auto m = sk::decrypt(*wire, keys);
    REQUIRE(m.ok());
    CHECK(m->payloads == inner);

    Bytes chain;
    PayloadType first = serialize_payload_chain(inner, chain);
    auto frags = frag::build_fragments(auth_header(), first, chain, keys, rng, 200);
    REQUIRE(frags.ok());
    REQUIRE(frags->size() > 1);
    Bytes all;
    Bytes plain;
    for (std::size_t n = 0; n < frags->size(); ++n) {
      common::append(all, (*frags)[n]);
      auto f = frag::open_fragment((*frags)[n], keys);
      REQUIRE(f.ok());
      CHECK(f->number == n + 1);
      CHECK(f->total == frags->size());
      if (n == 0) CHECK(f->first_inner == first);
      common::append(plain, f->plain);
    }
    CHECK(to_hex(plain) == to_hex(chain));
    CHECK(sha256_hex(all) == skf_digest[i]);
  }
}

// The body routines SK and SKF share: any authenticated prefix, then IV | ciphertext | ICV.
TEST_CASE("SK body: seal and open after any prefix; bounds, sizes, tampering", "[ike][sk]") {
  for (const Suite& s : kSuites) {
    INFO(s.name);
    sk::SkKeys keys = make_keys(s, 0x10);
    CountingRandom rng;
    for (std::size_t prefix : {0u, 8u, 36u}) {
      for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 100u}) {
        INFO("prefix " << prefix << ", inner " << len);
        Bytes out = key(prefix, 0x70);
        Bytes inner = key(len, 0x01);
        REQUIRE(sk::seal_body(out, inner, keys, rng).ok());
        CHECK(out.size() == prefix + sk::body_size(keys, len));
        CHECK(to_hex(ByteSpan(out).first(prefix)) == to_hex(key(prefix, 0x70)));  // prefix untouched
        auto back = sk::open_body(out, prefix, keys);
        REQUIRE(back.ok());
        CHECK(to_hex(*back) == to_hex(inner));
        if (prefix > 0) {  // the prefix is authenticated
          Bytes bad = out;
          bad[0] ^= std::byte{1};
          ParseDiag diag;
          CHECK_FALSE(sk::open_body(bad, prefix, keys, &diag).ok());
          CHECK(diag.reason == ParseReason::integrity);
        }
      }
    }
    Bytes out = key(8, 0x70);
    REQUIRE(sk::seal_body(out, key(20, 0x01), keys, rng).ok());
    ParseDiag diag;
    CHECK_FALSE(sk::open_body(out, out.size() + 1, keys, &diag).ok());
    CHECK(diag.reason == ParseReason::sk_malformed);
    diag = {};
    CHECK_FALSE(sk::open_body(ByteSpan(out).first(8 + keys.iv_size() + keys.icv_size()), 8, keys, &diag).ok());
    CHECK(diag.reason == ParseReason::sk_malformed);
    if (keys.block_size() > 1) {
      diag = {};
      CHECK_FALSE(sk::open_body(ByteSpan(out).first(out.size() - 1), 8, keys, &diag).ok());
      CHECK(diag.reason == ParseReason::sk_malformed);
    }
  }
}
