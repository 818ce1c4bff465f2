// The one implementation of common/crypto.h, on OpenSSL 3 EVP.
//
// Keyed objects fetch their algorithm and set the key once, at creation; per-packet calls
// only re-initialise the IV (or the HMAC inner state) on that ready context, so they do
// not allocate. Keyless operations (Prf, Dh) are IKE-rate and may allocate.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "common/crypto.h"

namespace common::crypto {

namespace {

// ---------------------------------------------------------------------------------------
// RAII for the OpenSSL handle types used below.
struct MacDel {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
template <typename T>
using Ossl = std::unique_ptr<T, MacDel>;

// OpenSSL treats a NULL key pointer as "keep the previous key"; an empty span may have a
// NULL data(), so give it a valid address.
const unsigned char* key_ptr(ByteSpan s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : u8(s);
}

const char* prf_digest(PrfId id) {
  switch (id) {
    case PrfId::hmac_sha1: return "SHA1";
    case PrfId::hmac_sha256: return "SHA256";
    case PrfId::hmac_sha384: return "SHA384";
    case PrfId::hmac_sha512: return "SHA512";
  }
  return nullptr;
}

const char* integ_digest(IntegId id) {
  switch (id) {
    case IntegId::none: return nullptr;
    case IntegId::hmac_sha1_96: return "SHA1";
    case IntegId::hmac_sha256_128: return "SHA256";
    case IntegId::hmac_sha384_192: return "SHA384";
    case IntegId::hmac_sha512_256: return "SHA512";
  }
  return nullptr;
}

// An HMAC context bound to one digest (key not yet set).
Ossl<EVP_MAC_CTX> new_hmac_ctx(const char* digest) {
  if (!digest) return nullptr;
  Ossl<EVP_MAC> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return nullptr;
  Ossl<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac.get()));  // holds its own reference to mac
  if (!ctx) return nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) return nullptr;
  return ctx;
}

constexpr std::size_t kMaxMac = 64;  // SHA-512

// ---------------------------------------------------------------------------------------
class HmacPrf final : public Prf {
 public:
  HmacPrf(PrfId id, Ossl<EVP_MAC_CTX> ctx) : id_(id), ctx_(std::move(ctx)) {}
  PrfId id() const override { return id_; }
  std::size_t size() const override { return prf_output_size(id_); }
  void compute(ByteSpan key, ByteSpan data, MutByteSpan out) const override {
    std::array<unsigned char, kMaxMac> buf{};
    std::size_t n = 0;
    bool ok = EVP_MAC_init(ctx_.get(), key_ptr(key), key.size(), nullptr) == 1 &&
              (data.empty() || EVP_MAC_update(ctx_.get(), u8(data), data.size()) == 1) &&
              EVP_MAC_final(ctx_.get(), buf.data(), &n, buf.size()) == 1 && n == size();
    // A failure here is a broken library, not bad input: never hand back stale bytes.
    if (!ok) buf.fill(0);
    std::memcpy(out.data(), buf.data(), std::min(out.size(), size()));
    OPENSSL_cleanse(buf.data(), buf.size());
  }

 private:
  PrfId id_;
  // IKE runs single-threaded per SA set; the context is scratch reused across calls.
  Ossl<EVP_MAC_CTX> ctx_;
};

// ---------------------------------------------------------------------------------------
class HmacInteg final : public Integ {
 public:
  HmacInteg(IntegId id, Ossl<EVP_MAC_CTX> ctx) : id_(id), ctx_(std::move(ctx)) {}
  std::size_t icv_size() const override { return integ_icv_size(id_); }
  void compute(ByteSpan a, ByteSpan b, MutByteSpan icv) override {
    std::array<unsigned char, kMaxMac> buf{};
    std::size_t n = 0;
    // init with a NULL key restarts from the stored keyed state: no allocation.
    bool ok = EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) == 1 &&
              (a.empty() || EVP_MAC_update(ctx_.get(), u8(a), a.size()) == 1) &&
              (b.empty() || EVP_MAC_update(ctx_.get(), u8(b), b.size()) == 1) &&
              EVP_MAC_final(ctx_.get(), buf.data(), &n, buf.size()) == 1;
    if (!ok) buf.fill(0);
    std::memcpy(icv.data(), buf.data(), std::min(icv.size(), icv_size()));
  }

 private:
  IntegId id_;
  Ossl<EVP_MAC_CTX> ctx_;
};

// ---------------------------------------------------------------------------------------
const char* aes_cbc_name(std::size_t key_len) {
  switch (key_len) {
    case 16: return "AES-128-CBC";
    case 24: return "AES-192-CBC";
    case 32: return "AES-256-CBC";
    default: return nullptr;
  }
}
const char* aes_gcm_name(std::size_t key_len) {
  switch (key_len) {
    case 16: return "AES-128-GCM";
    case 24: return "AES-192-GCM";
    case 32: return "AES-256-GCM";
    default: return nullptr;
  }
}

// A cipher context with the key set and the direction fixed; the IV comes per call.
Ossl<EVP_CIPHER_CTX> new_cipher_ctx(const EVP_CIPHER* c, ByteSpan key, int enc, bool pad_off) {
  Ossl<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  if (EVP_CipherInit_ex2(ctx.get(), c, u8(key), nullptr, enc, nullptr) != 1) return nullptr;
  if (pad_off && EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) return nullptr;
  return ctx;
}

class AesCbc final : public Cipher {
 public:
  AesCbc(Ossl<EVP_CIPHER_CTX> enc, Ossl<EVP_CIPHER_CTX> dec) : enc_(std::move(enc)), dec_(std::move(dec)) {}
  std::size_t block_size() const override { return 16; }
  std::size_t iv_size() const override { return 16; }
  Status encrypt(ByteSpan iv, MutByteSpan inout) override { return run(enc_.get(), iv, inout); }
  Status decrypt(ByteSpan iv, MutByteSpan inout) override { return run(dec_.get(), iv, inout); }

 private:
  static Status run(EVP_CIPHER_CTX* ctx, ByteSpan iv, MutByteSpan inout) {
    if (iv.size() != 16) return make_error(Errc::malformed, "cbc: iv length");
    if (inout.size() % 16 != 0 || inout.size() > INT_MAX)
      return make_error(Errc::malformed, "cbc: not a whole number of blocks");
    int n = 0;
    if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, u8(iv), -1, nullptr) != 1)
      return make_error(Errc::crypto, "cbc: set iv");
    if (!inout.empty() &&
        EVP_CipherUpdate(ctx, u8(inout), &n, u8(inout), static_cast<int>(inout.size())) != 1)
      return make_error(Errc::crypto, "cbc: update");
    if (static_cast<std::size_t>(n) != inout.size()) return make_error(Errc::crypto, "cbc: short output");
    return {};
  }
  Ossl<EVP_CIPHER_CTX> enc_;
  Ossl<EVP_CIPHER_CTX> dec_;
};

// ---------------------------------------------------------------------------------------
// AES-GCM-16 and ChaCha20-Poly1305 with a 12-byte nonce = 4-byte salt || 8-byte IV.
class EvpAead final : public Aead {
 public:
  EvpAead(Ossl<EVP_CIPHER_CTX> enc, Ossl<EVP_CIPHER_CTX> dec, ByteSpan salt)
      : enc_(std::move(enc)), dec_(std::move(dec)) {
    std::memcpy(nonce_.data(), salt.data(), 4);
  }
  std::size_t iv_size() const override { return 8; }
  std::size_t icv_size() const override { return 16; }

  Status seal(ByteSpan iv, ByteSpan aad, MutByteSpan inout, MutByteSpan tag) override {
    if (tag.size() != 16) return make_error(Errc::malformed, "aead: tag length");
    if (Status s = start(enc_.get(), iv, aad, inout); !s) return s;
    int n = 0;
    unsigned char dummy[16];
    if (EVP_CipherFinal_ex(enc_.get(), dummy, &n) != 1) return make_error(Errc::crypto, "aead: final");
    if (EVP_CIPHER_CTX_ctrl(enc_.get(), EVP_CTRL_AEAD_GET_TAG, 16, u8(tag)) != 1)
      return make_error(Errc::crypto, "aead: get tag");
    return {};
  }

  Status open(ByteSpan iv, ByteSpan aad, MutByteSpan inout, ByteSpan tag) override {
    if (tag.size() != 16) return make_error(Errc::malformed, "aead: tag length");
    if (Status s = start(dec_.get(), iv, aad, inout); !s) return s;
    if (EVP_CIPHER_CTX_ctrl(dec_.get(), EVP_CTRL_AEAD_SET_TAG, 16,
                            const_cast<unsigned char*>(u8(tag))) != 1)
      return make_error(Errc::crypto, "aead: set tag");
    int n = 0;
    unsigned char dummy[16];
    if (EVP_CipherFinal_ex(dec_.get(), dummy, &n) != 1) return make_error(Errc::integrity, "aead: tag mismatch");
    return {};
  }

 private:
  Status start(EVP_CIPHER_CTX* ctx, ByteSpan iv, ByteSpan aad, MutByteSpan inout) {
    if (iv.size() != 8) return make_error(Errc::malformed, "aead: iv length");
    if (aad.size() > INT_MAX || inout.size() > INT_MAX) return make_error(Errc::malformed, "aead: too long");
    std::memcpy(nonce_.data() + 4, iv.data(), 8);
    if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce_.data(), -1, nullptr) != 1)
      return make_error(Errc::crypto, "aead: set nonce");
    int n = 0;
    if (!aad.empty() && EVP_CipherUpdate(ctx, nullptr, &n, u8(aad), static_cast<int>(aad.size())) != 1)
      return make_error(Errc::crypto, "aead: aad");
    if (!inout.empty() &&
        EVP_CipherUpdate(ctx, u8(inout), &n, u8(inout), static_cast<int>(inout.size())) != 1)
      return make_error(Errc::crypto, "aead: update");
    return {};
  }
  Ossl<EVP_CIPHER_CTX> enc_;
  Ossl<EVP_CIPHER_CTX> dec_;
  std::array<unsigned char, 12> nonce_{};
};

// ---------------------------------------------------------------------------------------
// Diffie-Hellman.

enum class DhKind { modp, ecp, x25519 };

DhKind dh_kind(DhId id) {
  switch (id) {
    case DhId::ecp256:
    case DhId::ecp384: return DhKind::ecp;
    case DhId::curve25519: return DhKind::x25519;
    default: return DhKind::modp;
  }
}

// OpenSSL's names for the RFC 3526 MODP groups (not the RFC 7919 "ffdhe" ones).
const char* modp_group_name(DhId id) {
  switch (id) {
    case DhId::modp2048: return "modp_2048";
    case DhId::modp3072: return "modp_3072";
    case DhId::modp4096: return "modp_4096";
    default: return nullptr;
  }
}
// The RFC 3526 primes from OpenSSL's built-in table, used to range-check peer values.
Ossl<BIGNUM> modp_prime(DhId id) {
  switch (id) {
    case DhId::modp2048: return Ossl<BIGNUM>(BN_get_rfc3526_prime_2048(nullptr));
    case DhId::modp3072: return Ossl<BIGNUM>(BN_get_rfc3526_prime_3072(nullptr));
    case DhId::modp4096: return Ossl<BIGNUM>(BN_get_rfc3526_prime_4096(nullptr));
    default: return nullptr;
  }
}
const char* ec_group_name(DhId id) { return id == DhId::ecp256 ? "P-256" : "P-384"; }
int ec_nid(DhId id) { return id == DhId::ecp256 ? NID_X9_62_prime256v1 : NID_secp384r1; }

Error crypto_err(const char* what) { return make_error(Errc::crypto, what); }

// Builds an EVP_PKEY of the given algorithm from a parameter builder.
Result<Ossl<EVP_PKEY>> pkey_from(const char* alg, OSSL_PARAM_BLD* bld, int selection) {
  Ossl<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return crypto_err("dh: params");
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return crypto_err("dh: fromdata init");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1 || !raw)
    return make_error(Errc::malformed, "dh: key import rejected");
  return Ossl<EVP_PKEY>(raw);
}

Result<Bytes> derive(EVP_PKEY* mine, EVP_PKEY* peer) {
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return crypto_err("dh: derive init");
  // validate_peer = 1: OpenSSL's own public-key check on top of ours.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) != 1)
    return make_error(Errc::malformed, "dh: peer public value rejected");
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return crypto_err("dh: derive size");
  Bytes out(len);
  if (EVP_PKEY_derive(ctx.get(), u8(MutByteSpan(out)), &len) != 1)
    return make_error(Errc::malformed, "dh: derive failed");
  out.resize(len);
  return out;
}

Bytes left_pad(Bytes v, std::size_t size) {
  if (v.size() >= size) return v;
  Bytes out(size - v.size(), std::byte{0});
  append(out, v);
  return out;
}

class EvpDh final : public Dh {
 public:
  EvpDh(DhId id, Ossl<EVP_PKEY> key, Bytes pub) : id_(id), key_(std::move(key)), pub_(std::move(pub)) {}
  DhId id() const override { return id_; }
  ByteSpan public_value() const override { return pub_; }

  Result<Bytes> shared_secret(ByteSpan peer) const override {
    const std::size_t size = dh_public_size(id_);
    if (peer.size() != size) return make_error(Errc::malformed, "dh: peer public value length");
    switch (dh_kind(id_)) {
      case DhKind::modp: return modp_shared(peer, size);
      case DhKind::ecp: return ecp_shared(peer);
      case DhKind::x25519: return x25519_shared(peer);
    }
    return make_error(Errc::unsupported, "dh: group");
  }

 private:
  Result<Bytes> modp_shared(ByteSpan peer, std::size_t size) const {
    Ossl<BIGNUM> y(BN_bin2bn(u8(peer), static_cast<int>(peer.size()), nullptr));
    Ossl<BIGNUM> pm1 = modp_prime(id_);
    if (!y || !pm1 || BN_sub_word(pm1.get(), 1) != 1) return crypto_err("dh: bignum");
    // RFC 7296 §2.12 / SP 800-56A: 1 < y < p-1.
    if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), pm1.get()) >= 0)
      return make_error(Errc::malformed, "dh: peer value out of range");
    Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, modp_group_name(id_), 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1)
      return crypto_err("dh: params");
    auto pk = pkey_from("DH", bld.get(), EVP_PKEY_PUBLIC_KEY);
    if (!pk) return pk.error();
    auto s = derive(key_.get(), pk->get());
    if (!s) return s;
    return left_pad(std::move(s.value()), size);  // OpenSSL strips leading zeros
  }

  Result<Bytes> ecp_shared(ByteSpan peer) const {
    Bytes enc;
    enc.reserve(peer.size() + 1);
    enc.push_back(std::byte{0x04});  // RFC 5903 §7: x||y is the uncompressed point sans tag
    append(enc, peer);
    Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ec_group_name(id_), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, enc.data(), enc.size()) != 1)
      return crypto_err("dh: params");
    // The import decodes the point and fails if it is not on the curve.
    auto pk = pkey_from("EC", bld.get(), EVP_PKEY_PUBLIC_KEY);
    if (!pk) return make_error(Errc::malformed, "dh: peer point not on curve");
    auto s = derive(key_.get(), pk->get());
    if (!s) return s;
    return left_pad(std::move(s.value()), dh_public_size(id_) / 2);
  }

  Result<Bytes> x25519_shared(ByteSpan peer) const {
    Ossl<EVP_PKEY> pk(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u8(peer), peer.size()));
    if (!pk) return make_error(Errc::malformed, "dh: x25519 peer value");
    auto s = derive(key_.get(), pk.get());
    if (!s) return make_error(Errc::malformed, "dh: x25519 derive (low-order point?)");
    Bytes zero(32, std::byte{0});
    if (s->size() != 32 || equal_ct(*s, zero))
      return make_error(Errc::malformed, "dh: x25519 all-zero shared secret");
    return s;
  }

  DhId id_;
  Ossl<EVP_PKEY> key_;
  Bytes pub_;
};

Result<Bytes> modp_public(EVP_PKEY* pk, std::size_t size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1) return crypto_err("dh: get pub");
  Ossl<BIGNUM> y(raw);
  Bytes out(size);
  if (BN_bn2binpad(y.get(), u8(MutByteSpan(out)), static_cast<int>(size)) != static_cast<int>(size))
    return crypto_err("dh: pub size");
  return out;
}

Result<Bytes> ecp_public(EVP_PKEY* pk, std::size_t size) {
  unsigned char buf[1 + 2 * 66];
  std::size_t n = 0;
  if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf, &n) != 1 ||
      n != size + 1 || buf[0] != 0x04)
    return crypto_err("dh: ec pub encoding");
  return to_bytes(as_bytes(buf + 1, size));
}

Result<Bytes> x25519_public(EVP_PKEY* pk) {
  Bytes out(32);
  std::size_t n = out.size();
  if (EVP_PKEY_get_raw_public_key(pk, u8(MutByteSpan(out)), &n) != 1 || n != 32)
    return crypto_err("dh: x25519 pub");
  return out;
}

Result<std::unique_ptr<Dh>> wrap(DhId id, Ossl<EVP_PKEY> pk) {
  Result<Bytes> pub = crypto_err("dh: group");
  switch (dh_kind(id)) {
    case DhKind::modp: pub = modp_public(pk.get(), dh_public_size(id)); break;
    case DhKind::ecp: pub = ecp_public(pk.get(), dh_public_size(id)); break;
    case DhKind::x25519: pub = x25519_public(pk.get()); break;
  }
  if (!pub) return pub.error();
  return std::unique_ptr<Dh>(new EvpDh(id, std::move(pk), std::move(pub.value())));
}

}  // namespace

// =======================================================================================
// Sizes and capabilities.

bool encr_is_aead(EncrId id) { return id == EncrId::aes_gcm_16 || id == EncrId::chacha20_poly1305; }

std::size_t encr_keymat_size(EncrId id, unsigned key_bits) {
  switch (id) {
    case EncrId::aes_cbc:
      return (key_bits == 128 || key_bits == 192 || key_bits == 256) ? key_bits / 8 : 0;
    case EncrId::aes_gcm_16:
      return (key_bits == 128 || key_bits == 192 || key_bits == 256) ? key_bits / 8 + 4 : 0;
    case EncrId::chacha20_poly1305: return (key_bits == 0 || key_bits == 256) ? 32 + 4 : 0;
  }
  return 0;
}

std::size_t encr_iv_size(EncrId id) {
  switch (id) {
    case EncrId::aes_cbc: return 16;
    case EncrId::aes_gcm_16:
    case EncrId::chacha20_poly1305: return 8;
  }
  return 0;
}

std::size_t encr_block_size(EncrId id) { return id == EncrId::aes_cbc ? 16 : 4; }

std::size_t aead_icv_size(EncrId id) { return encr_is_aead(id) ? 16 : 0; }

std::size_t integ_key_size(IntegId id) {
  switch (id) {
    case IntegId::none: return 0;
    case IntegId::hmac_sha1_96: return 20;
    case IntegId::hmac_sha256_128: return 32;
    case IntegId::hmac_sha384_192: return 48;
    case IntegId::hmac_sha512_256: return 64;
  }
  return 0;
}

std::size_t integ_icv_size(IntegId id) {
  switch (id) {
    case IntegId::none: return 0;
    case IntegId::hmac_sha1_96: return 12;
    case IntegId::hmac_sha256_128: return 16;
    case IntegId::hmac_sha384_192: return 24;
    case IntegId::hmac_sha512_256: return 32;
  }
  return 0;
}

std::size_t prf_output_size(PrfId id) {
  switch (id) {
    case PrfId::hmac_sha1: return 20;
    case PrfId::hmac_sha256: return 32;
    case PrfId::hmac_sha384: return 48;
    case PrfId::hmac_sha512: return 64;
  }
  return 0;
}

std::size_t dh_public_size(DhId id) {
  switch (id) {
    case DhId::none: return 0;
    case DhId::modp2048: return 256;
    case DhId::modp3072: return 384;
    case DhId::modp4096: return 512;
    case DhId::ecp256: return 64;
    case DhId::ecp384: return 96;
    case DhId::curve25519: return 32;
  }
  return 0;
}

bool dh_supported(DhId id) { return dh_public_size(id) != 0; }

// =======================================================================================

void SystemRandom::fill(MutByteSpan out) {
  if (out.empty()) return;
  // RAND_bytes failing means the process has no entropy source; continuing would produce
  // predictable SPIs, nonces and keys.
  if (RAND_bytes(u8(out), static_cast<int>(out.size())) != 1) std::abort();
}

std::unique_ptr<Prf> Prf::create(PrfId id) {
  auto ctx = new_hmac_ctx(prf_digest(id));
  if (!ctx) return nullptr;
  return std::make_unique<HmacPrf>(id, std::move(ctx));
}

Bytes Prf::compute(ByteSpan key, ByteSpan data) const {
  Bytes out(size());
  compute(key, data, out);
  return out;
}

Bytes prf_plus(const Prf& prf, ByteSpan key, ByteSpan seed, std::size_t len) {
  // T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); at most 255 blocks (RFC 7296 §2.13).
  const std::size_t h = prf.size();
  Bytes out;
  if (h == 0 || len > 255 * h) return out;
  out.reserve(len + h);
  Bytes block;
  Bytes input;
  for (unsigned n = 1; out.size() < len; ++n) {
    input.clear();
    append(input, block);
    append(input, seed);
    input.push_back(std::byte(n));
    block = prf.compute(key, input);
    append(out, block);
  }
  out.resize(len);
  return out;
}

std::unique_ptr<Integ> Integ::create(IntegId id, ByteSpan key) {
  if (id == IntegId::none || key.size() != integ_key_size(id)) return nullptr;
  auto ctx = new_hmac_ctx(integ_digest(id));
  if (!ctx || EVP_MAC_init(ctx.get(), key_ptr(key), key.size(), nullptr) != 1) return nullptr;
  return std::make_unique<HmacInteg>(id, std::move(ctx));
}

bool Integ::verify(ByteSpan a, ByteSpan b, ByteSpan icv) {
  std::array<std::byte, kMaxMac> buf{};
  const std::size_t n = icv_size();
  if (icv.size() != n) return false;
  compute(a, b, MutByteSpan(buf.data(), n));
  return equal_ct(ByteSpan(buf.data(), n), icv);
}

std::unique_ptr<Cipher> Cipher::create(EncrId id, ByteSpan key) {
  if (id != EncrId::aes_cbc) return nullptr;
  const char* name = aes_cbc_name(key.size());
  if (!name) return nullptr;
  Ossl<EVP_CIPHER> c(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!c) return nullptr;
  auto enc = new_cipher_ctx(c.get(), key, 1, true);
  auto dec = new_cipher_ctx(c.get(), key, 0, true);
  if (!enc || !dec) return nullptr;
  return std::make_unique<AesCbc>(std::move(enc), std::move(dec));
}

std::unique_ptr<Aead> Aead::create(EncrId id, ByteSpan key_and_salt) {
  if (key_and_salt.size() < 4) return nullptr;
  ByteSpan key = key_and_salt.first(key_and_salt.size() - 4);
  ByteSpan salt = key_and_salt.last(4);
  const char* name = nullptr;
  if (id == EncrId::aes_gcm_16) name = aes_gcm_name(key.size());
  if (id == EncrId::chacha20_poly1305 && key.size() == 32) name = "ChaCha20-Poly1305";
  if (!name) return nullptr;
  Ossl<EVP_CIPHER> c(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!c) return nullptr;
  auto enc = new_cipher_ctx(c.get(), key, 1, false);
  auto dec = new_cipher_ctx(c.get(), key, 0, false);
  if (!enc || !dec) return nullptr;
  // Both ciphers default to a 12-byte nonce; say so explicitly so a changed default fails loudly.
  if (EVP_CIPHER_CTX_ctrl(enc.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(dec.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1)
    return nullptr;
  return std::make_unique<EvpAead>(std::move(enc), std::move(dec), salt);
}

Result<std::unique_ptr<Dh>> Dh::generate(DhId id) {
  if (!dh_supported(id)) return make_error(Errc::unsupported, "dh: group");
  Ossl<EVP_PKEY_CTX> ctx;
  switch (dh_kind(id)) {
    case DhKind::modp: ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr)); break;
    case DhKind::ecp: ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)); break;
    case DhKind::x25519: ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr)); break;
  }
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return crypto_err("dh: keygen init");
  if (dh_kind(id) != DhKind::x25519) {
    const char* group = dh_kind(id) == DhKind::modp ? modp_group_name(id) : ec_group_name(id);
    if (EVP_PKEY_CTX_set_group_name(ctx.get(), group) != 1) return crypto_err("dh: group name");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1 || !raw) return crypto_err("dh: keygen");
  return wrap(id, Ossl<EVP_PKEY>(raw));
}

Result<std::unique_ptr<Dh>> Dh::from_private(DhId id, ByteSpan priv) {
  if (!dh_supported(id)) return make_error(Errc::unsupported, "dh: group");
  if (priv.empty()) return make_error(Errc::malformed, "dh: empty private value");
  if (dh_kind(id) == DhKind::x25519) {
    if (priv.size() != 32) return make_error(Errc::malformed, "dh: x25519 private length");
    Ossl<EVP_PKEY> pk(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(priv), priv.size()));
    if (!pk) return crypto_err("dh: x25519 import");
    return wrap(id, std::move(pk));
  }
  Ossl<BIGNUM> x(BN_bin2bn(u8(priv), static_cast<int>(priv.size()), nullptr));
  Ossl<BN_CTX> bnctx(BN_CTX_new());
  Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!x || !bnctx || !bld) return crypto_err("dh: alloc");
  if (dh_kind(id) == DhKind::modp) {
    // Importing a private key needs its public value too: y = 2^x mod p.
    Ossl<BIGNUM> p = modp_prime(id);
    Ossl<BIGNUM> g(BN_new());
    Ossl<BIGNUM> y(BN_new());
    if (!p || !g || !y || BN_set_word(g.get(), 2) != 1 ||
        BN_mod_exp(y.get(), g.get(), x.get(), p.get(), bnctx.get()) != 1)
      return crypto_err("dh: modexp");
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, modp_group_name(id), 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1)
      return crypto_err("dh: params");
    auto pk = pkey_from("DH", bld.get(), EVP_PKEY_KEYPAIR);
    if (!pk) return pk.error();
    return wrap(id, std::move(pk.value()));
  }
  // ECP: Q = d*G.
  Ossl<EC_GROUP> group(EC_GROUP_new_by_curve_name(ec_nid(id)));
  if (!group) return crypto_err("dh: ec group");
  Ossl<EC_POINT> q(EC_POINT_new(group.get()));
  unsigned char enc[1 + 2 * 66];
  if (!q || EC_POINT_mul(group.get(), q.get(), x.get(), nullptr, nullptr, bnctx.get()) != 1)
    return crypto_err("dh: ec mul");
  std::size_t n = EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, enc, sizeof enc,
                                     bnctx.get());
  if (n != dh_public_size(id) + 1) return make_error(Errc::malformed, "dh: ec private value");
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ec_group_name(id), 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, enc, n) != 1)
    return crypto_err("dh: params");
  auto pk = pkey_from("EC", bld.get(), EVP_PKEY_KEYPAIR);
  if (!pk) return pk.error();
  return wrap(id, std::move(pk.value()));
}

}  // namespace common::crypto
