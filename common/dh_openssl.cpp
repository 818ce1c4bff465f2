// Diffie-Hellman for IKEv2 (MODP 1024/1536/2048/3072/4096/8192, ECP 256/384/521, Curve25519) on OpenSSL 3
// EVP: key generation, import of a known private value (test vectors), the public value in
// IKE's KE encoding, the shared secret. IKE-rate, so it may allocate.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/crypto.h"
#include "common/ossl.h"

namespace common::crypto {

namespace {

using ossl::Ossl;

// ---------------------------------------------------------------------------------------
// Diffie-Hellman.

enum class DhKind { modp, ecp, x25519 };

DhKind dh_kind(DhId id) {
  switch (id) {
    case DhId::ecp256:
    case DhId::ecp384:
    case DhId::ecp521: return DhKind::ecp;
    case DhId::curve25519: return DhKind::x25519;
    default: return DhKind::modp;
  }
}

// OpenSSL's names for the RFC 3526 MODP groups (not the RFC 7919 "ffdhe" ones). RFC 2409's
// 1024-bit group has none: it is given by its prime and generator (push_modp_group).
const char* modp_group_name(DhId id) {
  switch (id) {
    case DhId::modp1536: return "modp_1536";
    case DhId::modp2048: return "modp_2048";
    case DhId::modp3072: return "modp_3072";
    case DhId::modp4096: return "modp_4096";
    case DhId::modp8192: return "modp_8192";
    default: return nullptr;
  }
}
// The RFC 3526 primes from OpenSSL's built-in table, used to range-check peer values.
Ossl<BIGNUM> modp_prime(DhId id) {
  switch (id) {
    case DhId::modp1024: return Ossl<BIGNUM>(BN_get_rfc2409_prime_1024(nullptr));
    case DhId::modp1536: return Ossl<BIGNUM>(BN_get_rfc3526_prime_1536(nullptr));
    case DhId::modp8192: return Ossl<BIGNUM>(BN_get_rfc3526_prime_8192(nullptr));
    case DhId::modp2048: return Ossl<BIGNUM>(BN_get_rfc3526_prime_2048(nullptr));
    case DhId::modp3072: return Ossl<BIGNUM>(BN_get_rfc3526_prime_3072(nullptr));
    case DhId::modp4096: return Ossl<BIGNUM>(BN_get_rfc3526_prime_4096(nullptr));
    default: return nullptr;
  }
}
const char* ec_group_name(DhId id) { return id == DhId::ecp256 ? "P-256" : id == DhId::ecp384 ? "P-384" : "P-521"; }
int ec_nid(DhId id) {
  return id == DhId::ecp256 ? NID_X9_62_prime256v1 : id == DhId::ecp384 ? NID_secp384r1 : NID_secp521r1;
}

// The group of a MODP key: OpenSSL's name where it has one, else prime and generator 2.
// The BIGNUMs are copied into the builder's parameters when they are built, so they must
// live until then: `keep` holds them.
bool push_modp_group(OSSL_PARAM_BLD* bld, DhId id, std::vector<Ossl<BIGNUM>>& keep) {
  if (const char* name = modp_group_name(id))
    return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, name, 0) == 1;
  Ossl<BIGNUM> p = modp_prime(id);
  Ossl<BIGNUM> g(BN_new());
  if (!p || !g || BN_set_word(g.get(), 2) != 1) return false;
  const bool ok = OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, p.get()) == 1 &&
                  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g.get()) == 1;
  keep.push_back(std::move(p));
  keep.push_back(std::move(g));
  return ok;
}

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

Result<SecretBytes> derive(EVP_PKEY* mine, EVP_PKEY* peer) {
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return crypto_err("dh: derive init");
  // validate_peer = 1: OpenSSL's own public-key check on top of ours.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) != 1)
    return make_error(Errc::malformed, "dh: peer public value rejected");
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return crypto_err("dh: derive size");
  SecretBytes out(len, std::byte{0});
  if (EVP_PKEY_derive(ctx.get(), u8(MutByteSpan(out)), &len) != 1)
    return make_error(Errc::malformed, "dh: derive failed");
  out.resize(len);
  return out;
}

template <class V>  // Bytes for a public value, SecretBytes for a shared secret
V left_pad(V v, std::size_t size) {
  if (v.size() >= size) return v;
  V out(size - v.size(), std::byte{0});
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

class EvpDh final : public Dh {
 public:
  EvpDh(DhId id, Ossl<EVP_PKEY> key, Bytes pub) : id_(id), key_(std::move(key)), pub_(std::move(pub)) {}
  DhId id() const override { return id_; }
  ByteSpan public_value() const override { return pub_; }

  Result<SecretBytes> shared_secret(ByteSpan peer) const override {
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
  Result<SecretBytes> modp_shared(ByteSpan peer, std::size_t size) const {
    Ossl<BIGNUM> y(BN_bin2bn(u8(peer), static_cast<int>(peer.size()), nullptr));
    Ossl<BIGNUM> pm1 = modp_prime(id_);
    if (!y || !pm1 || BN_sub_word(pm1.get(), 1) != 1) return crypto_err("dh: bignum");
    // RFC 7296 §2.12 / SP 800-56A: 1 < y < p-1.
    if (BN_cmp(y.get(), BN_value_one()) <= 0 || BN_cmp(y.get(), pm1.get()) >= 0)
      return make_error(Errc::malformed, "dh: peer value out of range");
    Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    std::vector<Ossl<BIGNUM>> keep;
    if (!bld || !push_modp_group(bld.get(), id_, keep) ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1)
      return crypto_err("dh: params");
    auto pk = pkey_from("DH", bld.get(), EVP_PKEY_PUBLIC_KEY);
    if (!pk) return pk.error();
    auto s = derive(key_.get(), pk->get());
    if (!s) return s;
    return left_pad(std::move(s.value()), size);  // OpenSSL strips leading zeros
  }

  Result<SecretBytes> ecp_shared(ByteSpan peer) const {
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

  Result<SecretBytes> x25519_shared(ByteSpan peer) const {
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

std::size_t dh_public_size(DhId id) {
  switch (id) {
    case DhId::none: return 0;
    case DhId::modp1024: return 128;
    case DhId::modp1536: return 192;
    case DhId::modp8192: return 1024;
    case DhId::modp2048: return 256;
    case DhId::modp3072: return 384;
    case DhId::modp4096: return 512;
    case DhId::ecp256: return 64;
    case DhId::ecp384: return 96;
    case DhId::ecp521: return 132;
    case DhId::curve25519: return 32;
  }
  return 0;
}

bool dh_supported(DhId id) { return dh_public_size(id) != 0; }

Result<std::unique_ptr<Dh>> Dh::generate(DhId id) {
  if (!dh_supported(id)) return make_error(Errc::unsupported, "dh: group");
  Ossl<EVP_PKEY_CTX> ctx;
  if (dh_kind(id) == DhKind::modp && !modp_group_name(id)) {
    // A group OpenSSL has no name for: key generation from explicit domain parameters.
    Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    std::vector<Ossl<BIGNUM>> keep;
    if (!bld || !push_modp_group(bld.get(), id, keep)) return crypto_err("dh: params");
    auto params = pkey_from("DH", bld.get(), EVP_PKEY_KEY_PARAMETERS);
    if (!params) return params.error();
    Ossl<EVP_PKEY_CTX> gen(EVP_PKEY_CTX_new_from_pkey(nullptr, params->get(), nullptr));
    if (!gen || EVP_PKEY_keygen_init(gen.get()) != 1) return crypto_err("dh: keygen init");
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_generate(gen.get(), &raw) != 1 || !raw) return crypto_err("dh: keygen");
    return wrap(id, Ossl<EVP_PKEY>(raw));
  }
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
    std::vector<Ossl<BIGNUM>> keep;
    if (!push_modp_group(bld.get(), id, keep) ||
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
