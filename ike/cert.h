// What IKE_AUTH does with certificates (RFC 7296 §3.6, §3.7; RFC 4945 §3.1): the contents of
// CERT and CERTREQ payloads, and whether an IKE identity is held by a certificate.
//
// CERT (§3.6), one certificate per payload; we take encoding 4 only:
//   | Cert Encoding (4 = X.509 Certificate - Signature) | DER certificate ~
// The first X.509 CERT is the end-entity certificate, the others intermediates (§3.6:
// "the first certificate provided MUST contain the public key used to verify AUTH").
// Other encodings (hash-and-URL, raw keys, ...) are skipped and do not count.
//
// CERTREQ (§3.7): | Cert Encoding (4) | SHA-1(CA SubjectPublicKeyInfo), 20 bytes each ~
// An empty list means "any CA" (strongSwan sends that when it has no CA).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "common/x509.h"
#include "ike/engine.h"
#include "ike/payloads.h"

namespace ike {

inline constexpr std::uint8_t kCertEncodingX509 = 4;
// End certificate plus intermediates we parse from one message; more is Errc::malformed.
inline constexpr std::size_t kMaxPeerCerts = 4;
inline constexpr std::size_t kCaHashSize = 20;

struct PeerCerts {
  common::x509::Certificate end;
  std::vector<common::x509::Certificate> intermediates;
};

// nullopt without an error when no CERT has encoding 4. Errors: more than kMaxPeerCerts
// X.509 CERTs, or one that is not exactly one DER certificate.
common::Result<std::optional<PeerCerts>> collect_certs(std::span<const CertPayload* const> certs);

// The 20-byte CA hashes of a CERTREQ with encoding 4 (empty list allowed). Errc::truncated
// when the data is not a multiple of 20 bytes, Errc::unsupported for another encoding.
common::Result<std::vector<common::ByteSpan>> parse_certreq(const CertReqPayload& p);

// RFC 4945 §3.1 as in common/x509.h: DN = subject, FQDN/RFC822/IP = subjectAltName.
bool cert_holds_id(const common::x509::Certificate& c, const Identity& id);

// Is `got` (from the wire) the configured identity? DNs compare canonically, "*" values of
// a configured DN match any value (strongSwan's wildcards); the rest byte for byte.
bool id_matches(const Identity& configured, const Identity& got);

// The outcome of checking a peer's certificates under a config, for AUTH.
struct CertCheck {
  enum class Fail : std::uint8_t { none, malformed, refused };
  Fail fail = Fail::none;
  std::string why;                                        // when fail != none
  std::optional<common::x509::Certificate> end;           // the certificate whose key signs
  std::string info;                                       // "'CN=x' issued by 'CN=ca'"
};
// The peer's certificate for AUTH under cfg: from the CERT payloads (verified against
// cfg.trust, its CRLs, cfg.peer_ca_dn) or cfg.peer_cert (pinned: trusted as configured),
// and holding peer_id. `at`: verification time for tests (nullopt: now).
CertCheck check_peer_cert(const PeerConfig& cfg, const Identity& peer_id, std::span<const CertPayload* const> certs,
                          std::optional<std::int64_t> at = std::nullopt);

}  // namespace ike
