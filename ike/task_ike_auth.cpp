// IKE_AUTH with pre-shared keys or RSA signatures (RFC 7296 §1.2, §2.15, RFC 7427; the AUTH
// data itself is in auth.cpp), carrying the first CHILD_SA
// (never with a DH exchange, §1.2), both roles.
#include <algorithm>

#include "ike/auth_sig.h"
#include "ike/cert.h"
#include "ike/ike_sa.h"
#include "ike/proposal_select.h"
#include "ike/proposal_wire.h"
#include "ike/task_util.h"

namespace ike {

using common::LogLevel;

namespace {

template <typename IdP>
common::Bytes id_body(const IdP& p) {
  common::Bytes b;
  common::Writer w(b);
  p.serialize(w);
  return b;
}

template <typename IdP>
IdP id_payload(const Identity& id) {
  IdP p;
  p.id_type = static_cast<IdType>(id.type);
  p.data = id.data;
  return p;
}

template <typename IdP>
Identity to_identity(const IdP& p) {
  Identity id;
  id.type = static_cast<Identity::Type>(p.id_type);
  id.data = p.data;
  return id;
}

std::string_view auth_text(const PeerConfig& c) {
  if (c.auth == PeerConfig::Auth::psk) return "pre-shared key";
  if (c.peer_key) return "RSA signature";
  if (c.ec_peer_key) return "ECDSA signature";
  return "signature (certificate)";
}

// Does an AUTH method fit how a config authenticates its peer (responder config choice)?
bool method_fits(const PeerConfig& c, AuthMethod m) {
  if (c.auth == PeerConfig::Auth::psk) return m == AuthMethod::psk;
  return is_signature_method(m);
}

}  // namespace

bool IkeSa::has_contact() const {
  if (!ctx_.sas) return false;
  for (const auto& sa : *ctx_.sas) {
    if (sa.get() == this) continue;
    if (sa->state_ != IkeSaState::established && sa->state_ != IkeSaState::rekeyed) continue;
    if (sa->remote_.addr != remote_.addr) continue;
    if (cfg_->remote_id && sa->peer_id_ != cfg_->remote_id) continue;
    return true;
  }
  return false;
}

void IkeSa::build_auth_request(TimePoint now) {
  active_ = Active::auth;
  const ChildConfig* cc = child_config(active_child_);
  std::vector<Payload> pl;
  auto idi = id_payload<IdiPayload>(cfg_->local_id);
  std::string why;
  auto auth = make_auth(true, id_body(idi), why);
  if (!auth) return fail("cannot build AUTH: " + why);
  pl.push_back(idi);
  add_cert(pl);
  add_certreq(pl);
  if (!has_contact()) pl.push_back(notify(NotifyType::initial_contact));
  else log(LogLevel::debug, "an IKE_SA with this peer exists: no INITIAL_CONTACT");
  // A DN with wildcards names a set of peers, not one: no IDr then (as strongSwan does).
  if (cfg_->remote_id && !(cfg_->remote_id->type == Identity::Type::der_asn1_dn &&
                           common::x509::dn_has_wildcard(cfg_->remote_id->data)))
    pl.push_back(id_payload<IdrPayload>(*cfg_->remote_id));
  pl.push_back(std::move(*auth));
  if (cc) {
    active_spi_ = new_esp_spi();
    common::Bytes spi;
    common::Writer w(spi);
    w.u32(active_spi_);
    SaPayload sa;
    std::uint8_t num = 1;
    for (const auto& p : cc->esp_proposals) sa.proposals.push_back(to_sa_proposal(strip_dh(p), num++, spi));
    if (cc->transport) pl.push_back(notify(NotifyType::use_transport_mode));
    pl.push_back(std::move(sa));
    pl.push_back(TsiPayload{cc->local_ts});
    pl.push_back(TsrPayload{cc->remote_ts});
  }
  log(LogLevel::info, "establishing CHILD_SA " + active_child_ + " in IKE_AUTH, local " + local_.to_string() +
                          " remote " + remote_.to_string());
  send_request(ExchangeType::ike_auth, std::move(pl), now);
}

void IkeSa::process_auth_request(const Message& m, TimePoint now) {
  const auto* idi = m.find<IdiPayload>();
  const auto* auth = m.find<AuthPayload>();
  const auto* idr = m.find<IdrPayload>();
  auto refuse = [&](const std::string& id, const std::string& why = {}) {
    ++ctx_.counters.auth_failures;
    log(LogLevel::warn, "authentication of '" + id + "' with " + std::string(auth_text(*cfg_)) + " failed" +
                            (why.empty() ? "" : ": " + why));
    send_response(m.header, {notify(NotifyType::authentication_failed)});
    state_ = IkeSaState::destroyed;
  };
  if (!idi || !auth) return refuse("?");
  Identity peer = to_identity(*idi);
  std::optional<Identity> wanted_local;
  if (idr) wanted_local = to_identity(*idr);

  // Pick the configuration this peer authenticates against: addresses, its ID, ours.
  std::shared_ptr<const PeerConfig> best;
  auto fits = [&](const PeerConfig& c) {
    if (c.local_addr != local_.addr && !c.local_addr.is_unspecified()) return false;
    if (c.remote_addr && *c.remote_addr != remote_.addr) return false;
    if (c.remote_id && !id_matches(*c.remote_id, peer)) return false;
    if (wanted_local && !id_matches(c.local_id, *wanted_local)) return false;
    return method_fits(c, auth->method);
  };
  // Among configs that fit, one that authenticates by certificate is taken only if the
  // peer's certificate passes its CAs, CRLs and identity check (strongSwan picks by CA
  // too); when none passes, the first that fits, so its refusal is the one logged.
  auto certs = m.find_all<CertPayload>();
  auto cert_ok = [&](const PeerConfig& c) {
    if (c.auth != PeerConfig::Auth::pubkey || c.peer_key || c.ec_peer_key) return true;
    return check_peer_cert(c, peer, certs).fail == CertCheck::Fail::none;
  };
  std::shared_ptr<const PeerConfig> first;
  auto consider = [&](const std::shared_ptr<const PeerConfig>& c) {
    if (best || !fits(*c)) return;
    if (!first) first = c;
    if (cert_ok(*c)) best = c;
  };
  consider(cfg_);
  if (ctx_.peers)
    for (const auto& c : *ctx_.peers) consider(c);
  if (!best) best = first;
  if (!best) {
    log(LogLevel::warn, "no peer config found for '" + peer.to_string() + "'");
    return refuse(peer.to_string());
  }
  cfg_ = best;
  note_certreq(m);
  std::string auth_why;
  if (!check_auth(*cfg_, true, id_body(*idi), *auth, peer, m, auth_why)) return refuse(peer.to_string(), auth_why);
  log(LogLevel::info, "authentication of '" + peer.to_string() + "' with " + std::string(auth_text(*cfg_)) +
                          " successful");
  peer_id_ = peer;
  got_initial_contact_ = m.find_notify(NotifyType::initial_contact) != nullptr;
  if (got_initial_contact_) log(LogLevel::debug, "peer sent INITIAL_CONTACT");

  std::vector<Payload> pl;
  auto our_idr = id_payload<IdrPayload>(cfg_->local_id);
  auto our_auth = make_auth(false, id_body(our_idr), auth_why);
  if (!our_auth) {
    log(LogLevel::error, "cannot build our AUTH: " + auth_why);
    send_response(m.header, {notify(NotifyType::authentication_failed)});
    state_ = IkeSaState::destroyed;
    return;
  }
  pl.push_back(our_idr);
  add_cert(pl);
  pl.push_back(std::move(*our_auth));
  std::optional<ChildSa> child;
  std::string why;
  if (m.find<SaPayload>()) child = respond_child(m, true, pl, why);
  send_response(m.header, std::move(pl));
  destroy_at_.reset();
  established(now);
  if (child) {
    common::Bytes seed = ni_;
    common::append(seed, nr_);
    install_child(std::move(*child), seed, false, now);
  } else if (!why.empty()) {
    log(LogLevel::warn, "failed to establish CHILD_SA: " + why);
  }
}

void IkeSa::process_auth_response(const Message& m, TimePoint now) {
  if (m.find_notify(NotifyType::authentication_failed)) {
    ++ctx_.counters.auth_failures;
    log(LogLevel::warn, "received AUTHENTICATION_FAILED notify error");
    return fail("authentication failed");
  }
  const auto* idr = m.find<IdrPayload>();
  const auto* auth = m.find<AuthPayload>();
  if (!idr || !auth) {
    const auto* e = m.find_error_notify();
    return fail(std::string("IKE_AUTH refused") + (e ? " with " + std::string(to_string(e->type)) : ""));
  }
  Identity peer = to_identity(*idr);
  if (cfg_->remote_id && !id_matches(*cfg_->remote_id, peer)) {
    ++ctx_.counters.auth_failures;
    log(LogLevel::warn, "peer identity '" + peer.to_string() + "' does not match configured '" +
                            cfg_->remote_id->to_string() + "'");
    return fail("wrong peer identity");
  }
  std::string auth_why;
  if (!check_auth(*cfg_, false, id_body(*idr), *auth, peer, m, auth_why)) {
    ++ctx_.counters.auth_failures;
    log(LogLevel::warn, "authentication of '" + peer.to_string() + "' with " + std::string(auth_text(*cfg_)) +
                            " failed: " + auth_why);
    return fail("authentication failed");
  }
  log(LogLevel::info, "authentication of '" + peer.to_string() + "' with " + std::string(auth_text(*cfg_)) +
                          " successful");
  peer_id_ = peer;
  established(now);
  std::string child_name = std::move(active_child_);
  active_child_.clear();
  if (!child_config(child_name)) return;
  std::string why;
  auto child = accept_child_response(m, child_name, active_spi_, true, why);
  if (!child) {
    log(LogLevel::warn, "failed to establish CHILD_SA " + child_name + ": " + why);
    return;
  }
  common::Bytes seed = ni_;
  common::append(seed, nr_);
  install_child(std::move(*child), seed, true, now);
}

}  // namespace ike
