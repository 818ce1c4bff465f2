// Certificates in IKE_SA_INIT and IKE_AUTH (RFC 7296 §3.6, §3.7, RFC 4945):
//   IKE_SA_INIT response: CERTREQ (our CAs) when the responder's config has CAs;
//   IKE_AUTH request:     IDi [CERT] [CERTREQ] [IDr] AUTH ...;
//   IKE_AUTH response:    IDr [CERT] AUTH ...
// CERT (ours, then the intermediates of local_chain) goes out with send_cert=always, or ifasked when the peer sent a CERTREQ (strongSwan's
// default). What a received CERT must be is check_peer_cert's (ike/cert.h).
#include "common/ecdsa.h"
#include "common/rsa.h"
#include "common/x509.h"
#include "ike/cert.h"
#include "ike/ike_sa.h"

namespace ike {

using common::LogLevel;

void IkeSa::add_certreq(std::vector<Payload>& pl) const {
  if (!cfg_->trust || cfg_->trust->empty()) return;
  CertReqPayload p;
  p.encoding = kCertEncodingX509;
  p.data = cfg_->trust->certreq_data();
  pl.push_back(std::move(p));
}

void IkeSa::add_cert(std::vector<Payload>& pl) const {
  if (!cfg_->local_cert) return;
  using SC = PeerConfig::SendCert;
  if (cfg_->send_cert == SC::never || (cfg_->send_cert == SC::ifasked && !certreq_seen_)) {
    log(LogLevel::debug, "not sending our certificate (the peer asked for none)");
    return;
  }
  CertPayload p;
  p.encoding = kCertEncodingX509;
  p.data = cfg_->local_cert->der();
  log(LogLevel::debug, "sending certificate '" + cfg_->local_cert->subject_text() + "'");
  pl.push_back(std::move(p));
  for (const auto& c : cfg_->local_chain) {
    CertPayload i;
    i.encoding = kCertEncodingX509;
    i.data = c->der();
    log(LogLevel::debug, "sending intermediate certificate '" + c->subject_text() + "'");
    pl.push_back(std::move(i));
  }
}

void IkeSa::note_certreq(const Message& m) {
  for (const CertReqPayload* p : m.find_all<CertReqPayload>()) {
    auto hashes = parse_certreq(*p);
    if (!hashes) {
      log(LogLevel::debug, std::string("ignoring a CERTREQ: ") + hashes.error().detail);
      continue;
    }
    certreq_seen_ = true;
    std::size_t known = 0;
    for (auto h : *hashes)
      if (cfg_->trust && cfg_->trust->has_ca_hash(h)) ++known;
    log(LogLevel::debug, "peer requested certificates from " + std::to_string(hashes->size()) + " CA(s), " +
                             std::to_string(known) + " of them ours");
  }
}

IkeSa::PeerKey IkeSa::cert_key(const PeerConfig& cfg, const Identity& peer, const Message& m,
                               std::string& why) const {
  auto certs = m.find_all<CertPayload>();
  CertCheck c = check_peer_cert(cfg, peer, certs);
  if (c.fail != CertCheck::Fail::none) {
    ++(c.fail == CertCheck::Fail::malformed ? ctx_.counters.cert_malformed : ctx_.counters.cert_refused);
    why = c.why;
    return {};
  }
  PeerKey key;
  const char* problem = nullptr;
  if (c.end->key_type() == "EC") {
    auto k = common::crypto::EcPublicKey::from_spki_der(c.end->spki_der());
    if (k) key.ec = std::make_shared<const common::crypto::EcPublicKey>(std::move(*k));
    else problem = k.error().detail;
  } else {
    auto k = common::crypto::RsaPublicKey::from_spki_der(c.end->spki_der());
    if (k) key.rsa = std::make_shared<const common::crypto::RsaPublicKey>(std::move(*k));
    else problem = k.error().detail;
  }
  if (!key) {
    ++ctx_.counters.cert_refused;
    why = "certificate '" + c.end->subject_text() + "' has a " + c.end->key_type() +
          " key swanless cannot verify with: " + problem;
    return {};
  }
  log(LogLevel::info, "certificate " + c.info + ", " +
                          (key.ec ? "ECDSA " + std::string(common::crypto::to_string(key.ec->curve())) : "RSA") +
                          " key");
  return key;
}

}  // namespace ike
