// CERT / CERTREQ contents and certificate identities for IKE_AUTH. See cert.h.
#include "ike/cert.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace ike {

using common::Errc;
using common::make_error;
using common::x509::Certificate;

common::Result<std::optional<PeerCerts>> collect_certs(std::span<const CertPayload* const> certs) {
  std::optional<PeerCerts> out;
  std::size_t n = 0;
  for (const CertPayload* p : certs) {
    if (p->encoding != kCertEncodingX509) continue;
    if (++n > kMaxPeerCerts) return make_error(Errc::malformed, "more than 4 X.509 CERT payloads");
    auto c = Certificate::from_der(p->data);
    if (!c) return c.error();
    if (!out)
      out = PeerCerts{std::move(*c), {}};
    else
      out->intermediates.push_back(std::move(*c));
  }
  return out;
}

common::Result<std::vector<common::ByteSpan>> parse_certreq(const CertReqPayload& p) {
  if (p.encoding != kCertEncodingX509) return make_error(Errc::unsupported, "CERTREQ encoding is not X.509");
  if (p.data.size() % kCaHashSize) return make_error(Errc::truncated, "CERTREQ: CA hashes not a multiple of 20 bytes");
  std::vector<common::ByteSpan> out;
  common::ByteSpan d = p.data;
  for (std::size_t i = 0; i < d.size(); i += kCaHashSize) out.push_back(d.subspan(i, kCaHashSize));
  return out;
}

namespace {
// Appended piece by piece: chains of `"x" + std::string + "y"` trip g++ 12's false
// -Wrestrict at -O3.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

std::string_view text_of(const Identity& id) {
  return {reinterpret_cast<const char*>(id.data.data()), id.data.size()};
}
}  // namespace

bool cert_holds_id(const Certificate& c, const Identity& id) {
  switch (id.type) {
    case Identity::Type::der_asn1_dn: return common::x509::dn_equal(id.data, c.subject_der());
    case Identity::Type::fqdn: return c.has_dns(text_of(id));
    case Identity::Type::rfc822: return c.has_email(text_of(id));
    case Identity::Type::ipv4:
    case Identity::Type::ipv6: return c.has_ip(id.data);
    case Identity::Type::key_id: return false;
  }
  return false;
}

bool id_matches(const Identity& configured, const Identity& got) {
  if (configured.type == Identity::Type::der_asn1_dn && got.type == Identity::Type::der_asn1_dn)
    return common::x509::dn_matches(configured.data, got.data);
  return configured == got;
}

CertCheck check_peer_cert(const PeerConfig& cfg, const Identity& peer_id, std::span<const CertPayload* const> certs,
                          std::optional<std::int64_t> at) {
  CertCheck r;
  auto refuse = [&](CertCheck::Fail f, std::string why) {
    r.fail = f;
    r.why = std::move(why);
    r.end.reset();
    return r;
  };
  auto got = collect_certs(certs);
  if (!got) return refuse(CertCheck::Fail::malformed, cat({"malformed CERT payload: ", got.error().detail}));
  std::vector<Certificate> untrusted;
  if (*got) {
    r.end = (*got)->end;
    untrusted = (*got)->intermediates;
  } else if (cfg.peer_cert) {
    r.end = *cfg.peer_cert;
  } else {
    return refuse(CertCheck::Fail::refused, "the peer sent no certificate, and no rightcert= is configured");
  }
  const Certificate& end = *r.end;
  const std::string subject = cat({"'", end.subject_text(), "'"});
  if (cfg.peer_cert && !(end == *cfg.peer_cert))
    return refuse(CertCheck::Fail::refused, cat({"certificate ", subject, " is not the configured rightcert"}));
  std::size_t chain_len = 1;
  std::string issuer = end.issuer_text();
  // A pinned rightcert is trusted as configured; anything else must chain to our CAs.
  bool pinned = cfg.peer_cert && end == *cfg.peer_cert;
  if (!pinned || (cfg.trust && !cfg.trust->empty())) {
    if (!cfg.trust || cfg.trust->empty())
      return refuse(CertCheck::Fail::refused, cat({"no CA certificate configured to verify ", subject}));
    auto chain = cfg.trust->verify(end, untrusted, at);
    if (!chain)
      return refuse(CertCheck::Fail::refused, cat({"certificate ", subject, " refused: ", chain.error().detail}));
    chain_len = chain->size();
    if (!cfg.peer_ca_dn.empty()) {
      bool found = std::any_of(chain->begin() + 1, chain->end(), [&](const Certificate& c) {
        return common::x509::dn_equal(c.subject_der(), cfg.peer_ca_dn);
      });
      if (!found)
        return refuse(CertCheck::Fail::refused,
                      cat({"certificate ", subject, " is not issued by rightca '",
                           common::x509::dn_to_string(cfg.peer_ca_dn).value_or("?"), "'"}));
    }
  }
  if (!cert_holds_id(end, peer_id))
    return refuse(CertCheck::Fail::refused, cat({"identity '", peer_id.to_string(),
                                                 "' is neither the subject nor a subjectAltName of certificate ",
                                                 subject}));
  r.info = cat({subject, " issued by '", issuer, "'",
                pinned ? " (rightcert)" : cat({", chain of ", std::to_string(chain_len), " verified"})});
  return r;
}

}  // namespace ike
