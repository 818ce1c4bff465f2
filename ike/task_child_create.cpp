// CHILD_SA negotiation (RFC 7296 §1.3, §2.9, §2.17): the responder half shared by IKE_AUTH
// and CREATE_CHILD_SA (config choice by TS narrowing, ESP proposal selection, PFS group
// check), the initiator's check of the answer, the initiator's request and answer
// handling shared by a new CHILD_SA and a rekey (SPI, nonce, PFS key, INVALID_KE retry,
// KEYMAT seed), and the CREATE_CHILD_SA exchange itself (new CHILD_SA with optional PFS; a
// peer's CHILD_SA rekey is answered like a new SA that keeps the conn's unique id, the old
// one going with the peer's DELETE).
#include <algorithm>

#include "ike/ike_sa.h"
#include "ike/proposal_select.h"
#include "ike/proposal_wire.h"
#include "ike/task_util.h"
#include "ike/ts_narrow.h"

namespace ike {

using common::LogLevel;
using common::crypto::DhId;

std::optional<ChildSa> IkeSa::respond_child(const Message& m, bool in_auth, std::vector<Payload>& out,
                                            std::string& why) {
  const auto* sa = m.find<SaPayload>();
  const auto* tsi = m.find<TsiPayload>();
  const auto* tsr = m.find<TsrPayload>();
  if (!sa || !tsi || !tsr) {
    why = "SA/TS payloads missing";
    out.push_back(notify(NotifyType::invalid_syntax));
    return std::nullopt;
  }
  std::vector<Proposal> theirs;
  std::vector<const SaProposal*> raw;
  for (const auto& sp : sa->proposals) {
    auto p = from_sa_proposal(sp);
    if (!p || p->protocol != Protocol::esp || sp.spi.size() != 4) continue;
    theirs.push_back(in_auth ? strip_dh(std::move(*p)) : std::move(*p));
    raw.push_back(&sp);
  }
  const ChildConfig* cc = nullptr;
  TsList local, remote;
  for (const auto& c : cfg_->children) {
    auto r = narrow_ts(tsi->selectors, c.remote_ts);
    auto l = narrow_ts(tsr->selectors, c.local_ts);
    if (!r.empty() && !l.empty()) {
      cc = &c;
      local = std::move(l);
      remote = std::move(r);
      break;
    }
  }
  if (!cc) {
    ++ctx_.counters.ts_unacceptable;
    why = "traffic selectors " + ts_text(tsr->selectors) + " === " + ts_text(tsi->selectors) + " unacceptable";
    log(LogLevel::warn, why);
    out.push_back(notify(NotifyType::ts_unacceptable));
    return std::nullopt;
  }
  std::vector<Proposal> ours;
  for (const auto& p : cc->esp_proposals) ours.push_back(in_auth ? strip_dh(p) : p);
  auto sel = select_proposal(ours, theirs);
  if (!sel) {
    ++ctx_.counters.no_proposal;
    why = "no acceptable proposal: received " + proposals_text(theirs) + ", configured " + proposals_text(ours);
    log(LogLevel::warn, cc->name + ": " + why);
    out.push_back(notify(NotifyType::no_proposal_chosen));
    return std::nullopt;
  }
  if (!in_auth && !sel->chosen.dh.empty()) {
    const auto* ke = m.find<KePayload>();
    if (!ke || ke->dh_group != static_cast<std::uint16_t>(sel->chosen.dh[0])) {
      why = "KE group does not match the chosen PFS group";
      common::Bytes d;
      common::Writer w(d);
      w.u16(static_cast<std::uint16_t>(sel->chosen.dh[0]));
      out.push_back(notify(NotifyType::invalid_ke_payload, d));
      return std::nullopt;
    }
  }
  bool want_transport = m.find_notify(NotifyType::use_transport_mode) != nullptr;
  if (want_transport != cc->transport)
    log(LogLevel::info, cc->name + ": peer asked for " + (want_transport ? "transport" : "tunnel") +
                            " mode, using " + (want_transport && cc->transport ? "transport" : "tunnel"));
  ChildSa c = new_child(*cc, new_esp_spi(), raw[sel->index]->spi, sel->chosen, want_transport && cc->transport,
                        local, remote);
  SaPayload out_sa;
  out_sa.proposals.push_back(to_sa_proposal(c.proposal, raw[sel->index]->number, be32(c.spi_in)));
  out.push_back(std::move(out_sa));
  out.push_back(TsiPayload{remote});
  out.push_back(TsrPayload{local});
  if (c.transport) out.push_back(notify(NotifyType::use_transport_mode));
  return c;
}

std::optional<ChildSa> IkeSa::accept_child_response(const Message& m, const std::string& child,
                                                    std::uint32_t spi_in, bool in_auth, std::string& why) {
  const ChildConfig* cc = child_config(child);
  if (!cc) {
    why = "conn removed";
    return std::nullopt;
  }
  if (const auto* e = m.find_error_notify()) {
    if (e->type == NotifyType::no_proposal_chosen) ++ctx_.counters.no_proposal;
    if (e->type == NotifyType::ts_unacceptable) ++ctx_.counters.ts_unacceptable;
    why = "received " + std::string(to_string(e->type)) + " notify";
    return std::nullopt;
  }
  const auto* sa = m.find<SaPayload>();
  const auto* tsi = m.find<TsiPayload>();
  const auto* tsr = m.find<TsrPayload>();
  if (!sa || !tsi || !tsr || sa->proposals.size() != 1 || sa->proposals[0].spi.size() != 4) {
    why = "SA/TS payloads missing in the answer";
    return std::nullopt;
  }
  auto chosen = from_sa_proposal(sa->proposals[0]);
  std::vector<Proposal> ours;
  for (const auto& p : cc->esp_proposals) ours.push_back(in_auth ? strip_dh(p) : p);
  if (!chosen || chosen->protocol != Protocol::esp || chosen->encr.size() != 1 || chosen->integ.size() > 1 ||
      chosen->dh.size() > 1 || !proposal_acceptable(ours, *chosen)) {
    ++ctx_.counters.no_proposal;
    why = "peer chose a proposal we did not offer";
    return std::nullopt;
  }
  if (!ts_within(tsi->selectors, cc->local_ts) || !ts_within(tsr->selectors, cc->remote_ts)) {
    ++ctx_.counters.ts_unacceptable;
    why = "peer's traffic selectors " + ts_text(tsi->selectors) + " === " + ts_text(tsr->selectors) +
          " are not within ours";
    return std::nullopt;
  }
  bool transport = m.find_notify(NotifyType::use_transport_mode) != nullptr;
  if (transport != cc->transport) {
    why = transport ? "peer wants transport mode" : "peer refused transport mode";
    return std::nullopt;
  }
  return new_child(*cc, spi_in, sa->proposals[0].spi, *chosen, transport, tsi->selectors, tsr->selectors);
}

ChildSa IkeSa::new_child(const ChildConfig& cc, std::uint32_t spi_in, common::ByteSpan spi_out, const Proposal& p,
                         bool transport, const TsList& local, const TsList& remote) {
  ChildSa c;
  c.name = cc.name;
  c.unique_id = 0;
  for (const auto& old : children_)
    if (old.name == cc.name) c.unique_id = old.unique_id;
  if (c.unique_id == 0) c.unique_id = ctx_.next_child_unique_id++;
  c.spi_in = spi_in;
  common::Reader r(spi_out);
  c.spi_out = r.u32();
  c.proposal = p;
  c.transport = transport;
  c.local_ts = local;
  c.remote_ts = remote;
  c.lifetime = cc.lifetime;
  c.rekey_margin = cc.rekey_margin;
  return c;
}

bool IkeSa::child_request_payloads(const ChildConfig& cc, const std::vector<common::TrafficSelector>& local,
                                   const std::vector<common::TrafficSelector>& remote, bool transport,
                                   std::vector<Payload>& pl) {
  if (child_dh_group_ == DhId::none)
    for (const auto& p : cc.esp_proposals)
      if (!p.dh.empty() && p.dh[0] != DhId::none) {
        child_dh_group_ = p.dh[0];
        break;
      }
  active_spi_ = new_esp_spi();
  child_nonce_.assign(kNonceSize, std::byte{0});
  ctx_.rng.fill(child_nonce_);
  child_dh_.reset();
  if (child_dh_group_ != DhId::none) {
    auto dh = common::crypto::Dh::generate(child_dh_group_);
    if (!dh) return false;
    child_dh_ = std::move(*dh);
  }
  SaPayload sa;
  std::uint8_t num = 1;
  for (const auto& p : cc.esp_proposals) sa.proposals.push_back(to_sa_proposal(p, num++, be32(active_spi_)));
  pl.push_back(std::move(sa));
  pl.push_back(NoncePayload{child_nonce_});
  if (child_dh_) pl.push_back(KePayload{static_cast<std::uint16_t>(child_dh_group_), common::to_bytes(child_dh_->public_value())});
  pl.push_back(TsiPayload{local});
  pl.push_back(TsrPayload{remote});
  if (transport) pl.push_back(notify(NotifyType::use_transport_mode));
  return true;
}

std::optional<DhId> IkeSa::requested_group(const Message& m, const std::vector<Proposal>& offered, DhId sent) {
  const auto* n = m.find_notify(NotifyType::invalid_ke_payload);
  if (!n) return std::nullopt;
  common::Reader r(n->data);
  auto group = static_cast<DhId>(r.u16());
  bool ours = false;
  for (const auto& p : offered) ours |= std::find(p.dh.begin(), p.dh.end(), group) != p.dh.end();
  if (!r.ok() || !ours || group == sent) return std::nullopt;
  return group;
}

common::Result<common::SecretBytes> IkeSa::respond_ke(DhId group, common::ByteSpan peer,
                                                std::unique_ptr<common::crypto::Dh>& ours) {
  auto dh = common::crypto::Dh::generate(group);
  if (!dh) return common::make_error(common::Errc::crypto, "dh");
  ours = std::move(*dh);
  return ours->shared_secret(peer);
}

bool IkeSa::child_ke_retry(const Message& m, const std::string& child, std::string_view what) {
  const ChildConfig* cc = child_config(child);
  auto group = cc ? requested_group(m, cc->esp_proposals, child_dh_group_) : std::nullopt;
  if (!group) return false;
  log(LogLevel::info, "peer didn't accept DH group " + std::string(dh_name(child_dh_group_)) + std::string(what) +
                          ", it requested " + std::string(dh_name(*group)));
  child_dh_group_ = *group;
  return true;
}

std::optional<ChildSa> IkeSa::accept_child_answer(const Message& m, const std::string& child, common::SecretBytes& seed,
                                                  std::string& why) {
  auto c = accept_child_response(m, child, active_spi_, false, why);
  const auto* nonce = m.find<NoncePayload>();
  if (c && !nonce) why = "nonce missing", c.reset();
  if (c && !c->proposal.dh.empty()) {
    const auto* ke = m.find<KePayload>();
    if (!child_dh_ || !ke || ke->dh_group != static_cast<std::uint16_t>(child_dh_group_) ||
        c->proposal.dh[0] != child_dh_group_) {
      why = "KE payload missing or of another group";
      c.reset();
    } else if (auto s = child_dh_->shared_secret(ke->data)) {
      seed = std::move(*s);
    } else {
      why = "invalid KE payload";
      c.reset();
    }
  }
  if (!c) return c;
  common::append(seed, child_nonce_);
  common::append(seed, nonce->data);
  return c;
}

void IkeSa::build_child_request(const std::string& child, TimePoint now) {
  const ChildConfig* cc = child_config(child);
  if (!cc) return;
  if (active_child_ != child) child_dh_group_ = DhId::none;  // fresh task, not an INVALID_KE retry
  active_ = Active::child;
  active_child_ = child;
  std::vector<Payload> pl;
  if (!child_request_payloads(*cc, cc->local_ts, cc->remote_ts, cc->transport, pl)) {
    log(LogLevel::error, "cannot generate DH key for CHILD_SA " + child);
    active_ = Active::none;
    active_child_.clear();
    return;
  }
  log(LogLevel::info, "establishing CHILD_SA " + child + " with CREATE_CHILD_SA" +
                          (child_dh_ ? " (PFS " + std::string(dh_name(child_dh_group_)) + ")" : ""));
  send_request(ExchangeType::create_child_sa, std::move(pl), now);
}

void IkeSa::process_child_response(const Message& m, TimePoint now) {
  std::string child = active_child_;
  active_child_.clear();
  if (child_ke_retry(m, child, "")) {
    active_child_ = child;  // marks the retry
    build_child_request(child, now);
    return;
  }
  std::string why;
  common::SecretBytes seed;
  auto c = accept_child_answer(m, child, seed, why);
  if (!c) {
    log(LogLevel::warn, "failed to establish CHILD_SA " + child + ": " + why);
    return;
  }
  install_child(std::move(*c), seed, true, now);
}

void IkeSa::process_child_request(const Message& m, TimePoint now) {
  const auto* sa = m.find<SaPayload>();
  const auto* nonce = m.find<NoncePayload>();
  if (sa && !sa->proposals.empty() && sa->proposals[0].protocol == ProtocolId::ike) {
    process_ike_rekey_request(m, now);
    return;
  }
  std::uint32_t rekeyed_spi = 0;
  if (!check_peer_child_rekey(m, rekeyed_spi)) return;
  if (!nonce) {
    send_response(m.header, {notify(NotifyType::invalid_syntax)});
    return;
  }
  std::vector<Payload> pl;
  std::string why;
  auto c = respond_child(m, false, pl, why);
  if (!c) {
    if (!why.empty()) {
      // Name what the peer gets back, and whether it was a rekey: a PFS mismatch shows
      // only when the peer rekeys the CHILD_SA made without DH in IKE_AUTH.
      std::string answer;
      for (const auto& p : pl)
        if (const auto* n = std::get_if<NotifyPayload>(&p)) answer = ", answered " + std::string(to_string(n->type));
      const ChildSa* old = rekeyed_spi ? find_child_by_in(rekeyed_spi) : nullptr;
      log(LogLevel::warn, (old ? "refused the peer's rekey of CHILD_SA " + old->name + "{" +
                                     std::to_string(old->unique_id) + "}: "
                               : std::string("refused CHILD_SA: ")) +
                              why + answer);
    }
    send_response(m.header, std::move(pl));
    return;
  }
  common::Bytes nr(kNonceSize, std::byte{0});
  ctx_.rng.fill(nr);
  common::SecretBytes seed;  // [g^ir] | Ni | Nr
  if (!c->proposal.dh.empty()) {
    const auto* ke = m.find<KePayload>();
    std::unique_ptr<common::crypto::Dh> dh;
    auto s = respond_ke(c->proposal.dh[0], ke->data, dh);
    if (!s) {
      send_response(m.header, {notify(NotifyType::invalid_syntax)});
      return;
    }
    seed = std::move(*s);
    pl.push_back(KePayload{ke->dh_group, common::to_bytes(dh->public_value())});
  }
  pl.push_back(NoncePayload{nr});
  send_response(m.header, std::move(pl));
  common::append(seed, nonce->data);
  common::append(seed, nr);
  std::uint32_t new_spi = c->spi_in;
  install_child(std::move(*c), seed, false, now, rekeyed_spi != 0);
  if (rekeyed_spi == 0) return;
  ++ctx_.counters.child_rekeys;
  ChildSa* old = find_child_by_in(rekeyed_spi);
  if (!old) return;
  if (old->state == ChildSaState::rekeying && active_ == Active::child_rekey && rekey_old_spi_ == rekeyed_spi) {
    // Our own rekey of this SA is in flight (RFC 7296 §2.8.1): settled by nonces on its answer.
    log(LogLevel::info, "CHILD_SA " + old->name + " rekeyed by the peer while we rekey it too (collision)");
    peer_child_rekeys_.push_back(PeerChildRekey{rekeyed_spi, new_spi, nonce->data, nr});
    return;
  }
  // The old SA keeps receiving until the peer's DELETE (its rekey initiator deletes it);
  // a rekey of ours still queued for it is dropped.
  old->state = ChildSaState::rekeyed;
}

}  // namespace ike
