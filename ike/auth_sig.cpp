// IKEv2 signature AUTH data (RFC 7296 §3.8 method 1, RFC 7427 method 14). See auth_sig.h.
#include "ike/auth_sig.h"

#include <algorithm>
#include <array>
#include <vector>

namespace ike {

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::make_error;
using common::crypto::RsaPadding;
using common::crypto::SigHash;

namespace {

constexpr std::byte operator""_b(unsigned long long v) { return std::byte(v); }

// RFC 7427 A.1.2-A.1.4: sha{256,384,512}WithRSAEncryption, parameters NULL.
//   30 0d  06 09 2a 86 48 86 f7 0d 01 01 {0b,0c,0d}  05 00
constexpr std::array<std::byte, 15> kPkcs1Sha256 = {0x30_b, 0x0d_b, 0x06_b, 0x09_b, 0x2a_b, 0x86_b, 0x48_b, 0x86_b,
                                                    0xf7_b, 0x0d_b, 0x01_b, 0x01_b, 0x0b_b, 0x05_b, 0x00_b};
constexpr std::array<std::byte, 15> kPkcs1Sha384 = {0x30_b, 0x0d_b, 0x06_b, 0x09_b, 0x2a_b, 0x86_b, 0x48_b, 0x86_b,
                                                    0xf7_b, 0x0d_b, 0x01_b, 0x01_b, 0x0c_b, 0x05_b, 0x00_b};
constexpr std::array<std::byte, 15> kPkcs1Sha512 = {0x30_b, 0x0d_b, 0x06_b, 0x09_b, 0x2a_b, 0x86_b, 0x48_b, 0x86_b,
                                                    0xf7_b, 0x0d_b, 0x01_b, 0x01_b, 0x0d_b, 0x05_b, 0x00_b};

// RFC 7427 A.4.3 (RSASSA-PSS, hash SHA-256, MGF1 with SHA-256, salt 32, trailer default):
//   30 41
//     06 09 2a864886f70d01010a                          id-RSASSA-PSS
//     30 34
//       a0 0f 30 0d 06 09 60864801650304020X 05 00       [0] hashAlgorithm
//       a1 1c 30 1a 06 09 2a864886f70d010108             [1] maskGenAlgorithm id-mgf1
//                   30 0d 06 09 60864801650304020X 05 00       with the same hash
//       a2 03 02 01 SS                                   [2] saltLength
// X = 1/2/3 for SHA-256/384/512 and SS = 0x20/0x30/0x40 (hash length) for the other two.
constexpr std::array<std::byte, 67> pss_alg_id(std::byte hash_oid_last, std::byte salt) {
  return {0x30_b, 0x41_b,
          0x06_b, 0x09_b, 0x2a_b, 0x86_b, 0x48_b, 0x86_b, 0xf7_b, 0x0d_b, 0x01_b, 0x01_b, 0x0a_b,
          0x30_b, 0x34_b,
          0xa0_b, 0x0f_b, 0x30_b, 0x0d_b, 0x06_b, 0x09_b, 0x60_b, 0x86_b, 0x48_b, 0x01_b, 0x65_b, 0x03_b,
          0x04_b, 0x02_b, hash_oid_last, 0x05_b, 0x00_b,
          0xa1_b, 0x1c_b, 0x30_b, 0x1a_b, 0x06_b, 0x09_b, 0x2a_b, 0x86_b, 0x48_b, 0x86_b, 0xf7_b, 0x0d_b,
          0x01_b, 0x01_b, 0x08_b,
          0x30_b, 0x0d_b, 0x06_b, 0x09_b, 0x60_b, 0x86_b, 0x48_b, 0x01_b, 0x65_b, 0x03_b, 0x04_b, 0x02_b,
          hash_oid_last, 0x05_b, 0x00_b,
          0xa2_b, 0x03_b, 0x02_b, 0x01_b, salt};
}
constexpr auto kPssSha256 = pss_alg_id(0x01_b, 0x20_b);
constexpr auto kPssSha384 = pss_alg_id(0x02_b, 0x30_b);
constexpr auto kPssSha512 = pss_alg_id(0x03_b, 0x40_b);

// RFC 7427 A.3.1-A.3.3: ecdsa-with-SHA{256,384,512}, no parameters.
//   30 0a  06 08 2a 86 48 ce 3d 04 03 {02,03,04}
constexpr std::array<std::byte, 12> ecdsa_alg_id(std::byte last) {
  return {0x30_b, 0x0a_b, 0x06_b, 0x08_b, 0x2a_b, 0x86_b, 0x48_b, 0xce_b, 0x3d_b, 0x04_b, 0x03_b, last};
}
constexpr auto kEcdsaSha256 = ecdsa_alg_id(0x02_b);
constexpr auto kEcdsaSha384 = ecdsa_alg_id(0x03_b);
constexpr auto kEcdsaSha512 = ecdsa_alg_id(0x04_b);

constexpr SigAlg kMethod14Algs[] = {SigAlg::rsa_pkcs1_sha256, SigAlg::rsa_pkcs1_sha384, SigAlg::rsa_pkcs1_sha512,
                                    SigAlg::rsa_pss_sha256,   SigAlg::rsa_pss_sha384,   SigAlg::rsa_pss_sha512,
                                    SigAlg::ecdsa_sha256,     SigAlg::ecdsa_sha384,     SigAlg::ecdsa_sha512};

// Method 14 Authentication Data: | length | AlgorithmIdentifier | signature |.
Bytes method14_data(ByteSpan alg_id, ByteSpan sig) {
  Bytes out;
  out.reserve(1 + alg_id.size() + sig.size());
  common::Writer w(out);
  w.u8(static_cast<std::uint8_t>(alg_id.size()));
  w.bytes(alg_id);
  w.bytes(sig);
  return out;
}

bool is_rfc4754(AuthMethod m) {
  return m == AuthMethod::ecdsa_sha256_p256 || m == AuthMethod::ecdsa_sha384_p384 ||
         m == AuthMethod::ecdsa_sha512_p521;
}

}  // namespace

SigAlg rfc4754_alg(AuthMethod m) {
  return m == AuthMethod::ecdsa_sha384_p384   ? SigAlg::ecdsa_sha384
         : m == AuthMethod::ecdsa_sha512_p521 ? SigAlg::ecdsa_sha512
                                              : SigAlg::ecdsa_sha256;
}

namespace {

}  // namespace

SigHashId sig_hash_id(SigHash h) {
  switch (h) {
    case SigHash::sha1: return SigHashId::sha1;
    case SigHash::sha256: return SigHashId::sha2_256;
    case SigHash::sha384: return SigHashId::sha2_384;
    case SigHash::sha512: return SigHashId::sha2_512;
  }
  return SigHashId::sha2_256;
}

std::string_view to_string(SigAlg a) {
  switch (a) {
    case SigAlg::rsa_pkcs1_sha1: return "rsa-pkcs1-sha1";
    case SigAlg::rsa_pkcs1_sha256: return "sha256WithRSAEncryption";
    case SigAlg::rsa_pkcs1_sha384: return "sha384WithRSAEncryption";
    case SigAlg::rsa_pkcs1_sha512: return "sha512WithRSAEncryption";
    case SigAlg::rsa_pss_sha256: return "RSASSA-PSS-SHA256";
    case SigAlg::rsa_pss_sha384: return "RSASSA-PSS-SHA384";
    case SigAlg::rsa_pss_sha512: return "RSASSA-PSS-SHA512";
    case SigAlg::ecdsa_sha256: return "ecdsa-with-SHA256";
    case SigAlg::ecdsa_sha384: return "ecdsa-with-SHA384";
    case SigAlg::ecdsa_sha512: return "ecdsa-with-SHA512";
  }
  return "?";
}

bool is_signature_method(AuthMethod m) {
  return m == AuthMethod::rsa_sig || m == AuthMethod::digital_signature || is_rfc4754(m);
}

bool is_ecdsa(SigAlg a) {
  return a == SigAlg::ecdsa_sha256 || a == SigAlg::ecdsa_sha384 || a == SigAlg::ecdsa_sha512;
}

RsaPadding sig_alg_padding(SigAlg a) {
  switch (a) {
    case SigAlg::rsa_pss_sha256:
    case SigAlg::rsa_pss_sha384:
    case SigAlg::rsa_pss_sha512: return RsaPadding::pss;
    default: return RsaPadding::pkcs1_v15;
  }
}

SigHash sig_alg_hash(SigAlg a) {
  switch (a) {
    case SigAlg::rsa_pkcs1_sha1: return SigHash::sha1;
    case SigAlg::rsa_pkcs1_sha256:
    case SigAlg::rsa_pss_sha256:
    case SigAlg::ecdsa_sha256: return SigHash::sha256;
    case SigAlg::rsa_pkcs1_sha384:
    case SigAlg::rsa_pss_sha384:
    case SigAlg::ecdsa_sha384: return SigHash::sha384;
    case SigAlg::rsa_pkcs1_sha512:
    case SigAlg::rsa_pss_sha512:
    case SigAlg::ecdsa_sha512: return SigHash::sha512;
  }
  return SigHash::sha256;
}

ByteSpan algorithm_identifier(SigAlg a) {
  switch (a) {
    case SigAlg::rsa_pkcs1_sha1: return {};
    case SigAlg::rsa_pkcs1_sha256: return kPkcs1Sha256;
    case SigAlg::rsa_pkcs1_sha384: return kPkcs1Sha384;
    case SigAlg::rsa_pkcs1_sha512: return kPkcs1Sha512;
    case SigAlg::rsa_pss_sha256: return kPssSha256;
    case SigAlg::rsa_pss_sha384: return kPssSha384;
    case SigAlg::rsa_pss_sha512: return kPssSha512;
    case SigAlg::ecdsa_sha256: return kEcdsaSha256;
    case SigAlg::ecdsa_sha384: return kEcdsaSha384;
    case SigAlg::ecdsa_sha512: return kEcdsaSha512;
  }
  return {};
}

common::Result<SigAuthView> parse_sig_auth(AuthMethod method, ByteSpan auth_data) {
  if (method == AuthMethod::rsa_sig) {
    if (auth_data.empty()) return make_error(Errc::truncated, "AUTH: empty RSA signature");
    return SigAuthView{SigAlg::rsa_pkcs1_sha1, {}, auth_data};
  }
  if (is_rfc4754(method)) {
    if (auth_data.empty()) return make_error(Errc::truncated, "AUTH: empty ECDSA signature");
    return SigAuthView{rfc4754_alg(method), {}, auth_data};
  }
  if (method != AuthMethod::digital_signature) return make_error(Errc::unsupported, "AUTH: not a signature method");
  common::Reader r(auth_data);
  std::size_t len = r.u8();
  ByteSpan alg_id = r.bytes(len);
  if (!r.ok()) return make_error(Errc::truncated, "AUTH: AlgorithmIdentifier cut short");
  ByteSpan sig = r.rest();
  for (SigAlg a : kMethod14Algs) {
    ByteSpan known = algorithm_identifier(a);
    if (std::ranges::equal(known, alg_id)) {
      if (sig.empty()) return make_error(Errc::truncated, "AUTH: no signature value");
      return SigAuthView{a, alg_id, sig};
    }
  }
  return make_error(Errc::unsupported, "AUTH: unknown signature AlgorithmIdentifier");
}

common::Result<Bytes> make_sig_auth(AuthMethod method, SigAlg alg, const common::crypto::RsaPrivateKey& key,
                                    ByteSpan signed_octets) {
  if (method == AuthMethod::rsa_sig) {
    if (alg != SigAlg::rsa_pkcs1_sha1) return make_error(Errc::unsupported, "AUTH method 1 is PKCS#1 v1.5 SHA-1 only");
    return key.sign(RsaPadding::pkcs1_v15, SigHash::sha1, signed_octets);
  }
  if (method != AuthMethod::digital_signature) return make_error(Errc::unsupported, "AUTH: not a signature method");
  if (is_ecdsa(alg)) return make_error(Errc::unsupported, "AUTH: an ECDSA algorithm for an RSA key");
  ByteSpan alg_id = algorithm_identifier(alg);
  if (alg_id.empty()) return make_error(Errc::unsupported, "AUTH method 14: SHA-1 not offered");
  auto sig = key.sign(sig_alg_padding(alg), sig_alg_hash(alg), signed_octets);
  if (!sig) return sig.error();
  return method14_data(alg_id, *sig);
}

common::Status verify_sig_auth(AuthMethod method, ByteSpan auth_data, const common::crypto::RsaPublicKey& key,
                               ByteSpan signed_octets, std::span<const SigHashId> allowed, bool pss_only) {
  auto v = parse_sig_auth(method, auth_data);
  if (!v) return v.error();
  if (is_ecdsa(v->alg)) return make_error(Errc::policy, "AUTH: an ECDSA signature, but the peer's key is RSA");
  if (pss_only && sig_alg_padding(v->alg) != RsaPadding::pss)
    return make_error(Errc::policy, "AUTH: not an RSASSA-PSS signature");
  if (method == AuthMethod::digital_signature && !allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), sig_hash_id(sig_alg_hash(v->alg))) == allowed.end())
    return make_error(Errc::policy, "AUTH: signature hash not one we announced");
  return key.verify(sig_alg_padding(v->alg), sig_alg_hash(v->alg), signed_octets, v->signature);
}

AuthMethod rfc4754_method(common::crypto::EcCurve c) {
  switch (c) {
    case common::crypto::EcCurve::p256: return AuthMethod::ecdsa_sha256_p256;
    case common::crypto::EcCurve::p384: return AuthMethod::ecdsa_sha384_p384;
    case common::crypto::EcCurve::p521: return AuthMethod::ecdsa_sha512_p521;
  }
  return AuthMethod::ecdsa_sha256_p256;
}

common::Result<Bytes> make_ecdsa_auth(AuthMethod method, SigAlg alg, const common::crypto::EcPrivateKey& key,
                                      ByteSpan signed_octets) {
  using common::crypto::EcSigForm;
  if (!is_ecdsa(alg)) return make_error(Errc::unsupported, "AUTH: not an ECDSA algorithm");
  if (is_rfc4754(method)) {
    if (method != rfc4754_method(key.curve()) || rfc4754_alg(method) != alg)
      return make_error(Errc::unsupported, "AUTH: RFC 4754 method of another curve or hash");
    return key.sign(EcSigForm::raw, sig_alg_hash(alg), signed_octets);
  }
  if (method != AuthMethod::digital_signature) return make_error(Errc::unsupported, "AUTH: not a signature method");
  auto sig = key.sign(EcSigForm::der, sig_alg_hash(alg), signed_octets);
  if (!sig) return sig.error();
  return method14_data(algorithm_identifier(alg), *sig);
}

common::Status verify_ecdsa_auth(AuthMethod method, ByteSpan auth_data, const common::crypto::EcPublicKey& key,
                                 ByteSpan signed_octets, std::span<const SigHashId> allowed) {
  using common::crypto::EcSigForm;
  auto v = parse_sig_auth(method, auth_data);
  if (!v) return v.error();
  if (!is_ecdsa(v->alg)) return make_error(Errc::policy, "AUTH: an RSA signature, but the peer's key is ECDSA");
  if (is_rfc4754(method)) {
    if (method != rfc4754_method(key.curve()))
      return make_error(Errc::policy, "AUTH: RFC 4754 method of another curve than the peer's key");
    return key.verify(EcSigForm::raw, sig_alg_hash(v->alg), signed_octets, v->signature);
  }
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), sig_hash_id(sig_alg_hash(v->alg))) == allowed.end())
    return make_error(Errc::policy, "AUTH: signature hash not one we announced");
  return key.verify(EcSigForm::der, sig_alg_hash(v->alg), signed_octets, v->signature);
}

std::optional<SigAlg> select_ecdsa_alg(std::span<const std::uint16_t> peer_hashes, common::crypto::EcCurve c,
                                       std::span<const SigHash> preferred) {
  std::vector<SigHash> order(preferred.begin(), preferred.end());
  if (order.empty()) order = {common::crypto::ec_curve_hash(c), SigHash::sha256, SigHash::sha384, SigHash::sha512};
  for (SigHash h : order) {
    auto id = static_cast<std::uint16_t>(sig_hash_id(h));
    if (std::find(peer_hashes.begin(), peer_hashes.end(), id) == peer_hashes.end()) continue;
    switch (h) {
      case SigHash::sha1: continue;
      case SigHash::sha256: return SigAlg::ecdsa_sha256;
      case SigHash::sha384: return SigAlg::ecdsa_sha384;
      case SigHash::sha512: return SigAlg::ecdsa_sha512;
    }
  }
  return std::nullopt;
}

Bytes signature_hash_algorithms_data(std::span<const SigHashId> ids) {
  Bytes out;
  common::Writer w(out);
  for (SigHashId id : ids) w.u16(static_cast<std::uint16_t>(id));
  return out;
}

Bytes default_signature_hash_algorithms_data() {
  constexpr SigHashId ids[] = {SigHashId::sha2_256, SigHashId::sha2_384, SigHashId::sha2_512};
  return signature_hash_algorithms_data(ids);
}

common::Result<std::vector<std::uint16_t>> parse_signature_hash_algorithms(ByteSpan data) {
  if (data.empty()) return make_error(Errc::malformed, "SIGNATURE_HASH_ALGORITHMS: empty list");
  if (data.size() % 2) return make_error(Errc::truncated, "SIGNATURE_HASH_ALGORITHMS: odd length");
  std::vector<std::uint16_t> ids;
  ids.reserve(data.size() / 2);
  common::Reader r(data);
  while (!r.empty()) ids.push_back(r.u16());
  return ids;
}

std::optional<SigAlg> select_sig_alg(std::span<const std::uint16_t> peer_hashes, bool pss,
                                     std::span<const SigHash> preferred) {
  constexpr SigHash kDefault[] = {SigHash::sha256, SigHash::sha384, SigHash::sha512};
  if (preferred.empty()) preferred = kDefault;
  for (SigHash h : preferred) {
    auto id = static_cast<std::uint16_t>(sig_hash_id(h));
    if (std::find(peer_hashes.begin(), peer_hashes.end(), id) == peer_hashes.end()) continue;
    switch (h) {
      case SigHash::sha1: continue;  // RFC 8247 §3.2: never with method 14
      case SigHash::sha256: return pss ? SigAlg::rsa_pss_sha256 : SigAlg::rsa_pkcs1_sha256;
      case SigHash::sha384: return pss ? SigAlg::rsa_pss_sha384 : SigAlg::rsa_pkcs1_sha384;
      case SigHash::sha512: return pss ? SigAlg::rsa_pss_sha512 : SigAlg::rsa_pkcs1_sha512;
    }
  }
  return std::nullopt;
}

}  // namespace ike
