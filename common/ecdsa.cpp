// ECDSA keys and signatures on OpenSSL 3 EVP. See ecdsa.h.
#include "common/ecdsa.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "common/pkey_util.h"

namespace common::crypto {

using namespace pkey;

namespace {

struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using SigPtr = std::unique_ptr<ECDSA_SIG, SigFree>;

// The key's named curve, if it is an EC key on one we take.
Result<EcCurve> curve_of(const EVP_PKEY* k) {
  if (!EVP_PKEY_is_a(k, "EC")) return err(Errc::unsupported, "not an EC key");
  char name[64] = {};
  std::size_t len = 0;
  if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len))
    return err(Errc::unsupported, "EC key without a named curve");
  std::string_view n(name, len);
  if (n == "prime256v1" || n == "P-256") return EcCurve::p256;
  if (n == "secp384r1" || n == "P-384") return EcCurve::p384;
  if (n == "secp521r1" || n == "P-521") return EcCurve::p521;
  return err(Errc::unsupported, "EC curve other than P-256, P-384, P-521");
}

// DER Ecdsa-Sig-Value <-> r|s with fixed-size halves.
Result<Bytes> der_to_raw(ByteSpan der, std::size_t half) {
  const unsigned char* p = u8(der);
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != u8(der) + der.size()) return err(Errc::crypto, "ECDSA signature encoding");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes out(2 * half);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, static_cast<int>(half)) < 0 || BN_bn2binpad(s, o + half, static_cast<int>(half)) < 0)
    return err(Errc::crypto, "ECDSA signature size");
  return out;
}

Result<Bytes> raw_to_der(ByteSpan raw, std::size_t half) {
  if (raw.size() != 2 * half) return make_error(Errc::auth, "ECDSA signature length differs from the curve's");
  SigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(u8(raw), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(u8(raw) + half, static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return err(Errc::crypto, "ECDSA_SIG");
  }
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0) return err(Errc::crypto, "i2d_ECDSA_SIG");
  Bytes out(static_cast<std::size_t>(n));
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  i2d_ECDSA_SIG(sig.get(), &o);
  return out;
}

}  // namespace

std::string_view to_string(EcCurve c) {
  switch (c) {
    case EcCurve::p256: return "P-256";
    case EcCurve::p384: return "P-384";
    case EcCurve::p521: return "P-521";
  }
  return "?";
}

std::size_t ec_scalar_size(EcCurve c) {
  switch (c) {
    case EcCurve::p256: return 32;
    case EcCurve::p384: return 48;
    case EcCurve::p521: return 66;
  }
  return 0;
}

SigHash ec_curve_hash(EcCurve c) {
  switch (c) {
    case EcCurve::p256: return SigHash::sha256;
    case EcCurve::p384: return SigHash::sha384;
    case EcCurve::p521: return SigHash::sha512;
  }
  return SigHash::sha256;
}

// ---------------------------------------------------------------------------------------
// EcPublicKey

Result<EcPublicKey> EcPublicKey::from_spki_der(ByteSpan der) {
  auto k = public_from_spki_der(der);
  if (!k) return k.error();
  auto c = curve_of(k->get());
  if (!c) return c.error();
  return EcPublicKey(std::move(*k), *c);
}

Result<EcPublicKey> EcPublicKey::from_pem(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  if (!bio) return err(Errc::crypto, "BIO_new_mem_buf");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) return err(Errc::malformed, "not a PEM public key");
  auto k = own(raw);
  auto c = curve_of(k.get());
  if (!c) return c.error();
  return EcPublicKey(std::move(k), *c);
}

Result<EcPublicKey> EcPublicKey::load_pem_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return from_pem(*text);
}

Bytes EcPublicKey::spki_der() const { return pkey::spki_der(pkey_.get()); }

std::string EcPublicKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) return {};
  return bio_string(bio.get());
}

bool EcPublicKey::operator==(const EcPublicKey& o) const { return EVP_PKEY_eq(pkey_.get(), o.pkey_.get()) == 1; }

Status EcPublicKey::verify(EcSigForm form, SigHash hash, ByteSpan message, ByteSpan signature) const {
  Bytes der;
  if (form == EcSigForm::raw) {
    auto d = raw_to_der(signature, ec_scalar_size(curve_));
    if (!d) return d.error();
    der = std::move(*d);
    signature = der;
  }
  const EVP_MD* md = md_for(hash);
  if (!md || hash == SigHash::sha1) return err(Errc::unsupported, "ECDSA hash");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1)
    return err(Errc::crypto, "EVP_DigestVerifyInit");
  int rc = EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(message), message.size());
  if (rc != 1) return err(Errc::auth, "ECDSA signature does not verify");
  return {};
}

// ---------------------------------------------------------------------------------------
// EcPrivateKey

Result<EcPrivateKey> EcPrivateKey::from_pem(std::string_view pem, std::string_view passphrase) {
  auto k = private_from_pem(pem, passphrase);
  if (!k) return k.error();
  auto c = curve_of(k->get());
  if (!c) return c.error();
  return EcPrivateKey(std::move(*k), *c);
}

Result<EcPrivateKey> EcPrivateKey::load_pem_file(const std::string& path, std::string_view passphrase) {
  auto text = read_secret_file(path);
  if (!text) return text.error();
  return from_pem(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), passphrase);
}

Result<EcPrivateKey> EcPrivateKey::generate(EcCurve c) {
  const char* name = c == EcCurve::p256 ? "P-256" : c == EcCurve::p384 ? "P-384" : "P-521";
  EVP_PKEY* raw = EVP_EC_gen(name);
  if (!raw) return err(Errc::crypto, "EC key generation");
  return EcPrivateKey(own(raw), c);
}

EcPublicKey EcPrivateKey::public_key() const {
  // The SubjectPublicKeyInfo round trip leaves a key with no private half to share.
  auto pub = EcPublicKey::from_spki_der(pkey::spki_der(pkey_.get()));
  return pub ? std::move(*pub) : EcPublicKey(pkey_, curve_);
}

std::string EcPrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return bio_string(bio.get());
}

Result<Bytes> EcPrivateKey::sign(EcSigForm form, SigHash hash, ByteSpan message) const {
  const EVP_MD* md = md_for(hash);
  if (!md || hash == SigHash::sha1) return err(Errc::unsupported, "ECDSA hash");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1)
    return err(Errc::crypto, "EVP_DigestSignInit");
  auto sig = digest_sign(ctx.get(), message);
  if (!sig || form == EcSigForm::der) return sig;
  return der_to_raw(*sig, ec_scalar_size(curve_));
}

}  // namespace common::crypto
