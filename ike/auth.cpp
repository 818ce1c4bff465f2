// The IKE_AUTH AUTH payload (RFC 7296 §2.15) for both authentication methods swanless has,
// and the RFC 7427 §4 SIGNATURE_HASH_ALGORITHMS negotiation that picks the signature hash.
//
//   signed octets (initiator) = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
//   signed octets (responder) = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
//
//   PSK:     AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), signed octets)   method 2
//   pubkey:  AUTH = RSA signature over the signed octets:
//              method 14 (RFC 7427), RSASSA-PKCS1-v1_5 (default) or RSASSA-PSS (sign_pss,
//                        RFC 8247 §3.2: MGF1 with the same hash, salt as long as the hash)
//                        with the first of our hashes (sign_hashes, else SHA2-256/384/512)
//                        the peer announced in SIGNATURE_HASH_ALGORITHMS;
//              method 1, RSASSA-PKCS1-v1_5 with SHA-1, when the peer announced none of them
//                        and no scheme is configured (a configured one never degrades).
//   ECDSA:   method 14 with ecdsa-with-SHA256/384/512 (DER signature) when the peer announced
//            a hash (the curve's first), else RFC 4754 method 9/10/11 (r|s, the curve's hash).
//            We accept method 1 and 14 from the peer (9/10/11 for an ECDSA key); method 14 only with a hash we
//            announced (when we announced any); only PSS with require_pss; no method 1
//            with require_pss or accept_hashes.
#include <algorithm>

#include "common/ecdsa.h"
#include "common/rsa.h"
#include "ike/auth_sig.h"
#include "ike/ike_sa.h"

namespace ike {

namespace {

// What our SIGNATURE_HASH_ALGORITHMS notify announces under cfg: the hashes we accept.
std::vector<SigHashId> announced(const PeerConfig& cfg) {
  if (cfg.accept_hashes.empty()) return {SigHashId::sha2_256, SigHashId::sha2_384, SigHashId::sha2_512};
  std::vector<SigHashId> ids;
  for (auto h : cfg.accept_hashes) ids.push_back(sig_hash_id(h));
  return ids;
}

}  // namespace

common::Bytes IkeSa::signed_octets(bool for_initiator, common::ByteSpan id_body) const {
  common::Bytes octets = for_initiator ? init_request_ : init_response_;
  common::append(octets, for_initiator ? nr_ : ni_);
  common::append(octets, prf_->compute(for_initiator ? keys_.sk_pi : keys_.sk_pr, id_body));
  return octets;
}

std::optional<AuthPayload> IkeSa::make_auth(bool for_initiator, common::ByteSpan id_body, std::string& why) {
  common::Bytes octets = signed_octets(for_initiator, id_body);
  if (cfg_->auth == PeerConfig::Auth::psk) {
    common::Bytes pad = prf_->compute(cfg_->psk, common::as_bytes("Key Pad for IKEv2"));
    return AuthPayload{AuthMethod::psk, prf_->compute(pad, octets)};
  }
  if (cfg_->ec_private_key) return make_ecdsa_auth_payload(octets, why);
  if (!cfg_->private_key) {
    why = "no private key configured";
    return std::nullopt;
  }
  AuthMethod method = AuthMethod::rsa_sig;
  SigAlg alg = SigAlg::rsa_pkcs1_sha1;
  if (auto a = select_sig_alg(peer_sig_hashes_, cfg_->sign_pss, cfg_->sign_hashes); a && cfg_->rfc7427) {
    method = AuthMethod::digital_signature;
    alg = *a;
  } else if (cfg_->sign_pss || !cfg_->sign_hashes.empty()) {
    why = std::string(cfg_->sign_pss ? "RSASSA-PSS" : "signing with the configured hashes") +
          " needs RFC 7427 signature authentication, and the peer announced no hash we may use";
    return std::nullopt;
  }
  auto data = make_sig_auth(method, alg, *cfg_->private_key, octets);
  if (!data) {
    why = std::string("signing failed: ") + data.error().detail;
    return std::nullopt;
  }
  log(common::LogLevel::debug, "authenticating with RSA signature, AUTH method " +
                                   std::to_string(static_cast<int>(method)) + " " + std::string(to_string(alg)));
  return AuthPayload{method, std::move(*data)};
}

std::optional<AuthPayload> IkeSa::make_ecdsa_auth_payload(common::ByteSpan octets, std::string& why) {
  const auto& key = *cfg_->ec_private_key;
  AuthMethod method = rfc4754_method(key.curve());
  SigAlg alg = rfc4754_alg(method);
  if (auto a = select_ecdsa_alg(peer_sig_hashes_, key.curve(), cfg_->sign_hashes); a && cfg_->rfc7427) {
    method = AuthMethod::digital_signature;
    alg = *a;
  } else if (!cfg_->sign_hashes.empty()) {
    why = "signing with the configured hashes needs RFC 7427 signature authentication, and the peer announced no "
          "hash we may use";
    return std::nullopt;
  }
  auto data = make_ecdsa_auth(method, alg, key, octets);
  if (!data) {
    why = std::string("signing failed: ") + data.error().detail;
    return std::nullopt;
  }
  log(common::LogLevel::debug, "authenticating with ECDSA " + std::string(common::crypto::to_string(key.curve())) +
                                   " signature, AUTH method " + std::to_string(static_cast<int>(method)) + " " +
                                   std::string(to_string(alg)));
  return AuthPayload{method, std::move(*data)};
}

bool IkeSa::check_auth(const PeerConfig& cfg, bool peer_is_initiator, common::ByteSpan id_body,
                       const AuthPayload& a, const Identity& peer, const Message& m, std::string& why) const {
  common::Bytes octets = signed_octets(peer_is_initiator, id_body);
  if (cfg.auth == PeerConfig::Auth::psk) {
    if (a.method != AuthMethod::psk) {
      why = "peer used AUTH method " + std::to_string(static_cast<int>(a.method)) + ", expected pre-shared key";
      return false;
    }
    common::Bytes pad = prf_->compute(cfg.psk, common::as_bytes("Key Pad for IKEv2"));
    if (!common::equal_ct(prf_->compute(pad, octets), a.data)) {
      why = "pre-shared key mismatch";
      return false;
    }
    return true;
  }
  if (!is_signature_method(a.method)) {
    why = "peer used AUTH method " + std::to_string(static_cast<int>(a.method)) + ", expected a signature";
    return false;
  }
  PeerKey key{cfg.peer_key, cfg.ec_peer_key};
  if (!key) {
    if (!cfg.trust && !cfg.peer_cert) {
      why = "no public key, certificate or CA configured for the peer";
      return false;
    }
    key = cert_key(cfg, peer, m, why);
    if (!key) return false;
  }
  const bool configured = cfg.peer_key || cfg.ec_peer_key;
  std::vector<SigHashId> allowed;
  if (sent_sig_hashes_ || !cfg.accept_hashes.empty()) allowed = announced(cfg);
  if (key.ec) {
    auto st = verify_ecdsa_auth(a.method, a.data, *key.ec, octets, allowed);
    if (!st)
      why = st.error().code == common::Errc::auth
                ? std::string("ECDSA signature does not verify with the ") +
                      (configured ? "configured public key" : "certificate's key")
                : std::string("ECDSA signature refused: ") + st.error().detail;
    return st.ok();
  }
  if (a.method == AuthMethod::rsa_sig && (cfg.require_pss || !cfg.accept_hashes.empty())) {
    why = "peer signed with AUTH method 1 (PKCS#1 v1.5, SHA-1), the configuration requires RFC 7427 " +
          std::string(cfg.require_pss ? "RSASSA-PSS" : "signatures with the configured hashes");
    return false;
  }
  auto st = verify_sig_auth(a.method, a.data, *key.rsa, octets, allowed, cfg.require_pss);
  if (!st) {
    why = st.error().code == common::Errc::auth
              ? std::string("RSA signature does not verify with the ") +
                    (configured ? "configured public key" : "certificate's key")
                                                : std::string("RSA signature refused: ") + st.error().detail;
    return false;
  }
  return true;
}

void IkeSa::add_sig_hash_notify(std::vector<Payload>& pl) {
  // Initiator: when our config signs. Responder: whenever the initiator announced its hashes
  // (we do not know yet which config IKE_AUTH will pick; the notify costs nothing for PSK).
  bool want = initiator_ ? cfg_->auth == PeerConfig::Auth::pubkey : peer_sig_hashes_seen_;
  if (!want || !cfg_->rfc7427) return;
  NotifyPayload n;
  n.type = NotifyType::signature_hash_algorithms;
  n.data = signature_hash_algorithms_data(announced(*cfg_));
  pl.push_back(std::move(n));
  sent_sig_hashes_ = true;
}

void IkeSa::note_sig_hashes(const Message& m) {
  const auto* n = m.find_notify(NotifyType::signature_hash_algorithms);
  if (!n) return;
  auto ids = parse_signature_hash_algorithms(n->data);
  if (!ids) {
    log(common::LogLevel::warn, "ignoring a malformed SIGNATURE_HASH_ALGORITHMS notify");
    return;
  }
  peer_sig_hashes_seen_ = true;
  peer_sig_hashes_ = std::move(*ids);
}

}  // namespace ike
