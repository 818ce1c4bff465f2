// IKEv2 AUTH payload data for RSA and ECDSA signatures, and the SIGNATURE_HASH_ALGORITHMS
// notify.
//
// Method 1, RSA Digital Signature (RFC 7296 §3.8): the Authentication Data is a
// RSASSA-PKCS1-v1_5 signature with SHA-1 over the signed octets, nothing else.
//
// Method 14, Digital Signature (RFC 7427 §3): the Authentication Data is
//
//     1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    | ASN.1 Length  | AlgorithmIdentifier ASN.1 object              |
//    +-+-+-+-+-+-+-+-+                                               +
//    ~                                                               ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    ~                         Signature Value                       ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The AlgorithmIdentifier is the DER encoding, compared byte for byte with the ones we
// know (RFC 7427 Appendix A.1.2-A.1.4 for PKCS#1 v1.5, A.3.1-A.3.3 for ecdsa-with-SHA256/
// 384/512, whose Signature Value is the DER Ecdsa-Sig-Value; A.4.3 for RSASSA-PSS with SHA-256;
// the SHA-384/512 PSS ones follow A.4.3 with the hash OID and salt length changed). Any
// other AlgorithmIdentifier, SHA-1 ones included (RFC 8247 §3.2), is rejected.
//
// Methods 9, 10, 11, ECDSA with SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521
// (RFC 4754 §3, §7): the Authentication Data is r | s, each as long as the curve's order.
//
// SIGNATURE_HASH_ALGORITHMS notify (type 16431, RFC 7427 §4): the notification data is a
// list of 2-byte hash algorithm identifiers (IANA "IKEv2 Hash Algorithms").
//
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |     Hash Algorithm 1          |     Hash Algorithm 2   ...    ~
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The signed octets (RFC 7296 §2.15) are built by the IKE_AUTH task, not here.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/ecdsa.h"
#include "common/rsa.h"
#include "ike/payloads.h"

namespace ike {

enum class SigAlg : std::uint8_t {
  rsa_pkcs1_sha1,  // only for AuthMethod::rsa_sig (method 1)
  rsa_pkcs1_sha256,
  rsa_pkcs1_sha384,
  rsa_pkcs1_sha512,
  rsa_pss_sha256,
  rsa_pss_sha384,
  rsa_pss_sha512,
  ecdsa_sha256,  // method 14 (DER signature) or 9 (r|s, P-256)
  ecdsa_sha384,  // method 14 or 10 (P-384)
  ecdsa_sha512,  // method 14 or 11 (P-521)
};
bool is_ecdsa(SigAlg a);
// Methods 1, 9, 10, 11 and 14: the ones a public key (raw or in a certificate) checks.
bool is_signature_method(AuthMethod m);
std::string_view to_string(SigAlg a);
common::crypto::RsaPadding sig_alg_padding(SigAlg a);
common::crypto::SigHash sig_alg_hash(SigAlg a);

// IANA IKEv2 Hash Algorithm Transform IDs (RFC 7427 §7, RFC 8420).
enum class SigHashId : std::uint16_t {
  sha1 = 1,
  sha2_256 = 2,
  sha2_384 = 3,
  sha2_512 = 4,
  identity = 5,
};
inline constexpr std::uint16_t kNotifySignatureHashAlgorithms = 16431;
SigHashId sig_hash_id(common::crypto::SigHash h);

// DER AlgorithmIdentifier used in method 14 for alg; empty for rsa_pkcs1_sha1.
common::ByteSpan algorithm_identifier(SigAlg a);

// A parsed method-1 or method-14 Authentication Data (views into the input).
struct SigAuthView {
  SigAlg alg = SigAlg::rsa_pkcs1_sha1;
  common::ByteSpan algorithm_id;  // empty for method 1
  common::ByteSpan signature;
};

// Errors: truncated (length byte or AlgorithmIdentifier cut short, or no signature),
// unsupported (unknown AlgorithmIdentifier, or a method that is not 1 or 14).
common::Result<SigAuthView> parse_sig_auth(AuthMethod method, common::ByteSpan auth_data);

// Authentication Data for method (rsa_sig: alg must be rsa_pkcs1_sha1; digital_signature:
// any alg but rsa_pkcs1_sha1).
common::Result<common::Bytes> make_sig_auth(AuthMethod method, SigAlg alg,
                                            const common::crypto::RsaPrivateKey& key,
                                            common::ByteSpan signed_octets);

// ECDSA: methods 9/10/11 (alg must be the curve's, RFC 4754) or 14 (any ecdsa alg).
common::Result<common::Bytes> make_ecdsa_auth(AuthMethod method, SigAlg alg, const common::crypto::EcPrivateKey& key,
                                              common::ByteSpan signed_octets);
// As verify_sig_auth, for an ECDSA key: an RSA signature or a method of another curve is
// Errc::policy.
common::Status verify_ecdsa_auth(AuthMethod method, common::ByteSpan auth_data, const common::crypto::EcPublicKey& key,
                                 common::ByteSpan signed_octets, std::span<const SigHashId> allowed = {});
// The RFC 4754 method of a curve (9, 10, 11), and the algorithm a method 9/10/11 means.
AuthMethod rfc4754_method(common::crypto::EcCurve c);
SigAlg rfc4754_alg(AuthMethod m);
// The method-14 ECDSA algorithm: the first of `preferred` (empty: the curve's hash, then
// SHA2-256/384/512) that the peer announced; nullopt when none is shared.
std::optional<SigAlg> select_ecdsa_alg(std::span<const std::uint16_t> peer_hashes, common::crypto::EcCurve c,
                                       std::span<const common::crypto::SigHash> preferred = {});

// Errc::auth when the signature does not verify; parse_sig_auth's errors otherwise.
// If allowed is not empty, a method-14 signature whose hash is not in it is Errc::policy
// (RFC 7427 §4: the peer must use one of the hashes we announced). With pss_only, anything
// but an RSASSA-PSS signature (method 1 included) is Errc::policy.
common::Status verify_sig_auth(AuthMethod method, common::ByteSpan auth_data,
                               const common::crypto::RsaPublicKey& key,
                               common::ByteSpan signed_octets,
                               std::span<const SigHashId> allowed = {}, bool pss_only = false);

// SIGNATURE_HASH_ALGORITHMS notification data.
common::Bytes signature_hash_algorithms_data(std::span<const SigHashId> ids);
// What we announce: SHA2-256, SHA2-384, SHA2-512.
common::Bytes default_signature_hash_algorithms_data();
// Raw 2-byte IDs, unknown ones included. Empty or odd-length data: Errc::malformed/truncated.
common::Result<std::vector<std::uint16_t>> parse_signature_hash_algorithms(common::ByteSpan data);

// The method-14 algorithm to sign with, given the peer's announced hashes: the first of
// `preferred` (empty: SHA2-256, SHA2-384, SHA2-512; SHA-1 is never chosen) that the peer
// lists, PSS or PKCS#1 v1.5 as asked. nullopt when none is shared.
std::optional<SigAlg> select_sig_alg(std::span<const std::uint16_t> peer_hashes, bool pss,
                                     std::span<const common::crypto::SigHash> preferred = {});

}  // namespace ike
