// The implementation of common/crypto.h on OpenSSL 3 EVP: random, PRF, integrity, ciphers
// and AEADs, sizes (Diffie-Hellman is in dh_openssl.cpp).
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
#include "common/ossl.h"

namespace common::crypto {

namespace {

using ossl::Ossl;
using ossl::key_ptr;

const char* prf_digest(PrfId id) {
  switch (id) {
    case PrfId::hmac_md5: return "MD5";
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
    case IntegId::hmac_md5_96: return "MD5";
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

// AES-CBC (16-byte blocks) and 3DES-CBC (8-byte blocks); the IV is one block.
class EvpCbc final : public Cipher {
 public:
  EvpCbc(Ossl<EVP_CIPHER_CTX> enc, Ossl<EVP_CIPHER_CTX> dec, std::size_t block)
      : enc_(std::move(enc)), dec_(std::move(dec)), block_(block) {}
  std::size_t block_size() const override { return block_; }
  std::size_t iv_size() const override { return block_; }
  Status encrypt(ByteSpan iv, MutByteSpan inout) override { return run(enc_.get(), iv, inout); }
  Status decrypt(ByteSpan iv, MutByteSpan inout) override { return run(dec_.get(), iv, inout); }

 private:
  Status run(EVP_CIPHER_CTX* ctx, ByteSpan iv, MutByteSpan inout) const {
    if (iv.size() != block_) return make_error(Errc::malformed, "cbc: iv length");
    if (inout.size() % block_ != 0 || inout.size() > INT_MAX)
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
  std::size_t block_;
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

}  // namespace

// =======================================================================================
// Sizes and capabilities.

bool encr_is_aead(EncrId id) { return id == EncrId::aes_gcm_16 || id == EncrId::chacha20_poly1305; }

std::size_t encr_keymat_size(EncrId id, unsigned key_bits) {
  switch (id) {
    case EncrId::des3_cbc: return (key_bits == 0 || key_bits == 192) ? 24 : 0;
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
    case EncrId::des3_cbc: return 8;
    case EncrId::aes_cbc: return 16;
    case EncrId::aes_gcm_16:
    case EncrId::chacha20_poly1305: return 8;
  }
  return 0;
}

std::size_t encr_block_size(EncrId id) {
  switch (id) {
    case EncrId::des3_cbc: return 8;
    case EncrId::aes_cbc: return 16;
    default: return 4;
  }
}

std::size_t aead_icv_size(EncrId id) { return encr_is_aead(id) ? 16 : 0; }

std::size_t integ_key_size(IntegId id) {
  switch (id) {
    case IntegId::none: return 0;
    case IntegId::hmac_md5_96: return 16;
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
    case IntegId::hmac_md5_96: return 12;
    case IntegId::hmac_sha1_96: return 12;
    case IntegId::hmac_sha256_128: return 16;
    case IntegId::hmac_sha384_192: return 24;
    case IntegId::hmac_sha512_256: return 32;
  }
  return 0;
}

std::size_t prf_output_size(PrfId id) {
  switch (id) {
    case PrfId::hmac_md5: return 16;
    case PrfId::hmac_sha1: return 20;
    case PrfId::hmac_sha256: return 32;
    case PrfId::hmac_sha384: return 48;
    case PrfId::hmac_sha512: return 64;
  }
  return 0;
}

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

SecretBytes prf_plus(const Prf& prf, ByteSpan key, ByteSpan seed, std::size_t len) {
  // T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); at most 255 blocks (RFC 7296 §2.13).
  // Every Tn is key material, and so is every input after the first: all SecretBytes.
  const std::size_t h = prf.size();
  SecretBytes out;
  if (h == 0 || len > 255 * h) return out;
  out.reserve(len + h);
  SecretBytes block;
  SecretBytes input;
  input.reserve(h + seed.size() + 1);
  for (unsigned n = 1; out.size() < len; ++n) {
    input.clear();
    append(input, block);
    append(input, seed);
    input.push_back(std::byte(n));
    block.resize(h);
    prf.compute(key, input, block);
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
  const char* name = nullptr;
  if (id == EncrId::aes_cbc) name = aes_cbc_name(key.size());
  if (id == EncrId::des3_cbc && key.size() == 24) name = "DES-EDE3-CBC";
  if (!name) return nullptr;
  Ossl<EVP_CIPHER> c(EVP_CIPHER_fetch(nullptr, name, nullptr));
  if (!c) return nullptr;
  auto enc = new_cipher_ctx(c.get(), key, 1, true);
  auto dec = new_cipher_ctx(c.get(), key, 0, true);
  if (!enc || !dec) return nullptr;
  return std::make_unique<EvpCbc>(std::move(enc), std::move(dec), id == EncrId::des3_cbc ? 8 : 16);
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

}  // namespace common::crypto
