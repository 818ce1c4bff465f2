// RSA keys and signatures on OpenSSL 3 EVP. See rsa.h for the formats and the contract.
#include "common/rsa.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "common/pkey_util.h"
#include "common/secret.h"

namespace common::crypto {

using namespace pkey;

namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

Bytes bn_param(const EVP_PKEY* k, const char* name) {
  BIGNUM* raw = nullptr;
  if (!EVP_PKEY_get_bn_param(k, name, &raw)) return {};
  BnPtr bn(raw);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Checks a decoded key: RSA (not RSA-PSS-restricted), size and exponent within limits.
Status check_public(const EVP_PKEY* k) {
  if (!EVP_PKEY_is_a(k, "RSA")) return err(Errc::unsupported, "not an RSA key");
  int bits = EVP_PKEY_get_bits(k);
  if (bits < static_cast<int>(kMinPublicBits)) return err(Errc::unsupported, "RSA key too small");
  if (bits > static_cast<int>(kMaxPublicBits)) return err(Errc::unsupported, "RSA key too large");
  Bytes e = bn_param(k, OSSL_PKEY_PARAM_RSA_E);
  if (e.empty() || e.size() > kMaxExponentBytes) return err(Errc::unsupported, "RSA exponent size");
  if ((std::to_integer<unsigned>(e.back()) & 1u) == 0 || (e.size() == 1 && e[0] < std::byte{3}))
    return err(Errc::malformed, "RSA exponent must be odd and >= 3");
  return {};
}

// DigestSign/DigestVerify context set up for one padding and hash.
Status setup_ctx(EVP_MD_CTX* ctx, EVP_PKEY* k, RsaPadding pad, SigHash hash, bool sign) {
  if (pad == RsaPadding::pss && hash == SigHash::sha1)
    return err(Errc::unsupported, "RSA-PSS with SHA-1 not supported");
  const EVP_MD* md = md_for(hash);
  if (!md) return err(Errc::unsupported, "hash");
  EVP_PKEY_CTX* pctx = nullptr;
  int rc = sign ? EVP_DigestSignInit(ctx, &pctx, md, nullptr, k)
                : EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, k);
  if (rc != 1) return err(Errc::crypto, "DigestSign/VerifyInit");
  if (pad == RsaPadding::pss) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
      return err(Errc::crypto, "RSA-PSS parameters");
  } else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return err(Errc::crypto, "RSA PKCS#1 padding");
  }
  return {};
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view to_string(SigHash h) {
  switch (h) {
    case SigHash::sha1: return "sha1";
    case SigHash::sha256: return "sha256";
    case SigHash::sha384: return "sha384";
    case SigHash::sha512: return "sha512";
  }
  return "?";
}

std::size_t sig_hash_size(SigHash h) {
  switch (h) {
    case SigHash::sha1: return 20;
    case SigHash::sha256: return 32;
    case SigHash::sha384: return 48;
    case SigHash::sha512: return 64;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Base64

std::string base64_encode(ByteSpan data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto b = [&](std::size_t j) { return std::to_integer<unsigned>(data[j]); };
  for (; i + 3 <= data.size(); i += 3) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (data.size() - i == 1) {
    unsigned v = b(i) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (data.size() - i == 2) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return make_error(Errc::truncated, "base64 length not a multiple of 4");
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad) return make_error(Errc::malformed, "base64 data after padding");
      v[j] = b64_value(c);
      if (v[j] < 0) return make_error(Errc::malformed, "bad base64 character");
    }
    unsigned w = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                 (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    // Canonical form only: the bits under the padding must be zero.
    if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
      return make_error(Errc::malformed, "base64 non-zero pad bits");
    out.push_back(std::byte((w >> 16) & 0xff));
    if (pad < 2) out.push_back(std::byte((w >> 8) & 0xff));
    if (pad < 1) out.push_back(std::byte(w & 0xff));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// RsaPublicKey

Result<RsaPublicKey> RsaPublicKey::from_components(ByteSpan modulus, ByteSpan exponent) {
  if (modulus.empty() || exponent.empty()) return make_error(Errc::malformed, "empty RSA component");
  if (modulus.size() > kMaxPublicBits / 8 + 1) return make_error(Errc::unsupported, "RSA key too large");
  if (exponent.size() > kMaxExponentBytes + 1) return make_error(Errc::unsupported, "RSA exponent size");
  BnPtr n(BN_bin2bn(u8(modulus), static_cast<int>(modulus.size()), nullptr));
  BnPtr e(BN_bin2bn(u8(exponent), static_cast<int>(exponent.size()), nullptr));
  if (!n || !e) return err(Errc::crypto, "BN_bin2bn");
  if (!BN_is_odd(n.get())) return make_error(Errc::malformed, "RSA modulus must be odd");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return err(Errc::crypto, "OSSL_PARAM_BLD_new");
  OSSL_PARAM* params = nullptr;
  if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get()) == 1)
    params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (!params) return err(Errc::crypto, "OSSL_PARAM_BLD_to_param");
  EVP_PKEY* raw = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &raw, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok || !raw) {
    EVP_PKEY_free(raw);
    return err(Errc::crypto, "EVP_PKEY_fromdata");
  }
  auto k = own(raw);
  if (Status s = check_public(k.get()); !s) return s.error();
  return RsaPublicKey(std::move(k));
}

Result<RsaPublicKey> RsaPublicKey::from_rfc3110(ByteSpan raw) {
  Reader r(raw);
  std::size_t elen = r.u8();
  if (!r.ok()) return make_error(Errc::truncated, "RFC 3110 key: empty");
  if (elen == 0) {
    elen = r.u16();
    if (!r.ok()) return make_error(Errc::truncated, "RFC 3110 key: exponent length");
    if (elen <= 255) return make_error(Errc::malformed, "RFC 3110 key: long length form for short exponent");
  }
  ByteSpan e = r.bytes(elen);
  if (!r.ok()) return make_error(Errc::truncated, "RFC 3110 key: exponent");
  ByteSpan n = r.rest();
  if (n.empty()) return make_error(Errc::truncated, "RFC 3110 key: no modulus");
  if (e[0] == std::byte{0}) return make_error(Errc::malformed, "RFC 3110 key: exponent has a leading zero");
  if (n[0] == std::byte{0}) return make_error(Errc::malformed, "RFC 3110 key: modulus has a leading zero");
  if (e.size() > kMaxExponentBytes) return make_error(Errc::unsupported, "RFC 3110 key: exponent too long");
  return from_components(n, e);
}

Result<RsaPublicKey> RsaPublicKey::from_libreswan(std::string_view text) {
  if (text.size() < 2 || text[0] != '0') return make_error(Errc::malformed, "raw RSA key must start 0s or 0x");
  std::string_view body = text.substr(2);
  if (text[1] == 's') {
    auto b = base64_decode(body);
    if (!b) return b.error();
    return from_rfc3110(*b);
  }
  if (text[1] == 'x' || text[1] == 'X') {
    if (body.size() % 2) return make_error(Errc::malformed, "0x key: odd number of hex digits");
    Bytes b;
    b.reserve(body.size() / 2);
    for (std::size_t i = 0; i < body.size(); i += 2) {
      int hi = hex_value(body[i]), lo = hex_value(body[i + 1]);
      if (hi < 0 || lo < 0) return make_error(Errc::malformed, "0x key: bad hex digit");
      b.push_back(std::byte(hi << 4 | lo));
    }
    return from_rfc3110(b);
  }
  return make_error(Errc::malformed, "raw RSA key must start 0s or 0x");
}

Result<RsaPublicKey> RsaPublicKey::from_pem(std::string_view pem) {
  BioPtr bio = mem_bio(pem);
  if (!bio) return err(Errc::crypto, "BIO_new_mem_buf");
  EVP_PKEY* raw = nullptr;
  // No structure given: the decoder takes SubjectPublicKeyInfo and PKCS#1 RSAPublicKey.
  OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, "RSA",
                                                         EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  if (!dctx) return err(Errc::crypto, "OSSL_DECODER_CTX_new_for_pkey");
  int rc = OSSL_DECODER_from_bio(dctx, bio.get());
  OSSL_DECODER_CTX_free(dctx);
  if (rc != 1 || !raw) {
    EVP_PKEY_free(raw);
    return err(Errc::malformed, "not a PEM RSA public key");
  }
  auto k = own(raw);
  if (Status s = check_public(k.get()); !s) return s.error();
  // Keep only the public half even if the PEM held more (it cannot here, but be explicit).
  return from_components(bn_param(k.get(), OSSL_PKEY_PARAM_RSA_N), bn_param(k.get(), OSSL_PKEY_PARAM_RSA_E));
}

Result<RsaPublicKey> RsaPublicKey::load_pem_file(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return from_pem(*text);
}

Result<RsaPublicKey> RsaPublicKey::from_spki_der(ByteSpan der) {
  auto k = public_from_spki_der(der);
  if (!k) return k.error();
  if (Status s = check_public(k->get()); !s) return s.error();
  return RsaPublicKey(std::move(*k));
}

Bytes RsaPublicKey::spki_der() const { return pkey::spki_der(pkey_.get()); }

Bytes RsaPublicKey::modulus() const { return bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N); }
Bytes RsaPublicKey::exponent() const { return bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E); }
unsigned RsaPublicKey::bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(pkey_.get())); }
std::size_t RsaPublicKey::size() const { return static_cast<std::size_t>(EVP_PKEY_get_size(pkey_.get())); }

Bytes RsaPublicKey::to_rfc3110() const {
  // RFC 3110 §2: exponent length (1 byte, or 0 then 2 bytes), exponent, modulus. The
  // vector is sized once and filled with memcpy: appending byte by byte to an empty
  // vector makes g++ 12 -O3 report a false -Wstringop-overflow inside vector::insert.
  Bytes e = exponent(), n = modulus();
  const std::size_t len_field = e.size() <= 255 ? 1 : 3;
  Bytes out(len_field + e.size() + n.size());
  if (len_field == 1) {
    out[0] = std::byte(e.size());
  } else {
    out[0] = std::byte{0};
    out[1] = std::byte((e.size() >> 8) & 0xff);
    out[2] = std::byte(e.size() & 0xff);
  }
  if (!e.empty()) std::memcpy(out.data() + len_field, e.data(), e.size());
  if (!n.empty()) std::memcpy(out.data() + len_field + e.size(), n.data(), n.size());
  return out;
}

std::string RsaPublicKey::to_libreswan() const { return "0s" + base64_encode(to_rfc3110()); }

std::string RsaPublicKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_string(bio.get());
}

bool RsaPublicKey::operator==(const RsaPublicKey& o) const {
  return EVP_PKEY_eq(pkey_.get(), o.pkey_.get()) == 1;
}

Status RsaPublicKey::verify(RsaPadding padding, SigHash hash, ByteSpan message, ByteSpan signature) const {
  if (signature.size() != size()) return make_error(Errc::auth, "RSA signature length differs from modulus");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return err(Errc::crypto, "EVP_MD_CTX_new");
  if (Status s = setup_ctx(ctx.get(), pkey_.get(), padding, hash, false); !s) return s;
  int rc = EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(message), message.size());
  if (rc != 1) return err(Errc::auth, "RSA signature does not verify");
  return {};
}

// ---------------------------------------------------------------------------------------
// RsaPrivateKey

Result<RsaPrivateKey> RsaPrivateKey::from_pem(std::string_view pem, std::string_view passphrase) {
  auto k = private_from_pem(pem, passphrase);
  if (!k) return k.error();
  if (Status s = check_public(k->get()); !s) return s.error();
  return RsaPrivateKey(std::move(*k));
}

Result<RsaPrivateKey> RsaPrivateKey::load_pem_file(const std::string& path, std::string_view passphrase) {
  auto text = read_secret_file(path);
  if (!text) return text.error();
  return from_pem(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), passphrase);
}

Result<RsaPrivateKey> RsaPrivateKey::generate(unsigned bits) {
  if (bits < kMinKeygenBits) return make_error(Errc::config, "RSA key size below 2048 bits");
  if (bits > kMaxPublicBits) return make_error(Errc::config, "RSA key size above 16384 bits");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* raw = nullptr;
  bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, static_cast<int>(bits)) == 1 &&
            EVP_PKEY_generate(ctx, &raw) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || !raw) {
    EVP_PKEY_free(raw);
    return err(Errc::crypto, "RSA key generation");
  }
  return RsaPrivateKey(own(raw));
}

std::string RsaPrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_string(bio.get());
}

Status RsaPrivateKey::write_pem_file(const std::string& path) const {
  std::string pem = to_pem();
  if (pem.empty()) return err(Errc::crypto, "PEM encoding of the private key");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(Errc::io, errno == EEXIST ? "key file already exists" : "cannot create key file");
  bool ok = ::fchmod(fd, 0600) == 0;  // whatever the umask did, the key is owner-only
  std::size_t off = 0;
  while (ok && off < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + off, pem.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else off += static_cast<std::size_t>(n);
  }
  if (ok && ::fsync(fd) != 0) ok = false;
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    ::unlink(path.c_str());
    return make_error(Errc::io, "cannot write key file");
  }
  return {};
}

RsaPublicKey RsaPrivateKey::public_key() const {
  // The key was checked when loaded, so this cannot fail short of memory exhaustion.
  auto r = RsaPublicKey::from_components(bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N),
                                         bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E));
  return std::move(r).value();
}

unsigned RsaPrivateKey::bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(pkey_.get())); }

Result<Bytes> RsaPrivateKey::sign(RsaPadding padding, SigHash hash, ByteSpan message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return err(Errc::crypto, "EVP_MD_CTX_new");
  if (Status s = setup_ctx(ctx.get(), pkey_.get(), padding, hash, true); !s) return s.error();
  return digest_sign(ctx.get(), message);
}

}  // namespace common::crypto
