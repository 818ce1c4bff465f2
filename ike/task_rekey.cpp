// Rekeying (RFC 7296 §1.3.2, §1.3.3, §2.8, §2.18) in both roles:
//
//  CHILD_SA   at lifetime - rekeymargin - random(rekeyfuzz% of the margin) we send
//             CREATE_CHILD_SA {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}; the answer installs
//             the successor (same unique id), then the old SA is DELETEd. The old SA keeps
//             receiving until that DELETE exchange is over (make-before-break). A peer's
//             rekey is answered like a new CHILD_SA; the old one stays until its DELETE.
//  IKE_SA     at ikelifetime - margin - fuzz: CREATE_CHILD_SA {SA(IKE, new SPI), Ni, KEi};
//             SKEYSEED = prf_old(SK_d_old, g^ir_new | Ni | Nr); the CHILD_SAs move to the
//             successor and the rekey initiator deletes the old IKE_SA.
//  Collisions (§2.8.1): both ends rekey the same SA at once; each answers the other. The
//             exchange holding the lowest of the four nonces made the redundant SA; its
//             initiator deletes it, and the winner's initiator deletes the old SA.
//  Failures   (NO_PROPOSAL_CHOSEN, e.g. a PFS mismatch seen only now, TEMPORARY_FAILURE,
//             TS_UNACCEPTABLE, ...): logged, retried after PeerConfig::rekey_retry; the old
//             SA keeps working until its hard lifetime.
#include <algorithm>
#include <cstring>

#include "ike/ike_sa.h"
#include "ike/keymat.h"
#include "ike/proposal_select.h"
#include "ike/proposal_wire.h"
#include "ike/task_util.h"

namespace ike {

using common::LogLevel;
using common::crypto::DhId;

namespace {
constexpr Seconds kRekeyedLinger{30};      // a rekeyed IKE_SA waits this long for the DELETE
constexpr Seconds kDeleteGrace{10};        // hard-expired CHILD_SA: local removal deadline

// Nonces compare as unsigned byte strings; a shorter prefix is lower.
bool nonce_less(const common::Bytes& a, const common::Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}
const common::Bytes& lowest(const common::Bytes& a, const common::Bytes& b) { return nonce_less(b, a) ? b : a; }
// True when the exchange (a_i, a_r) holds a lower nonce than (b_i, b_r): its SA is redundant.
bool exchange_loses(const common::Bytes& a_i, const common::Bytes& a_r, const common::Bytes& b_i,
                    const common::Bytes& b_r) {
  return nonce_less(lowest(a_i, a_r), lowest(b_i, b_r));
}
// A random number in [0, max] (0 without drawing when max is 0).
std::uint64_t random_upto(common::crypto::Random& rng, std::uint64_t max) {
  if (max == 0) return 0;
  std::array<std::byte, 8> b{};
  rng.fill(b);
  common::Reader r(b);
  return r.u64() % (max + 1);
}
}  // namespace

// ---------------------------------------------------------------------------------------
// timers

TimePoint IkeSa::fuzzed_rekey_time(TimePoint from, Seconds life, Seconds margin, unsigned fuzz_percent) {
  using std::chrono::milliseconds;
  if (life.count() <= 0) return from + std::chrono::hours(24 * 365 * 10);
  milliseconds base = life - margin;
  if (base.count() <= 0) base = life / 2;
  auto fuzz_max = static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(margin).count()) *
                  std::min(fuzz_percent, 100u) / 100u;
  std::uint64_t fuzz = random_upto(ctx_.rng, fuzz_max);
  milliseconds at = base - milliseconds(static_cast<std::int64_t>(fuzz));
  if (at < milliseconds(1000)) at = std::min<milliseconds>(milliseconds(1000), life);
  return from + at;
}

void IkeSa::schedule_child(ChildSa& c, TimePoint now) {
  const ChildConfig* cc = child_config(c.name);
  c.rekey_at = fuzzed_rekey_time(now, c.lifetime, c.rekey_margin, cc ? cc->rekey_fuzz_percent : 100);
  c.expire_at = c.lifetime.count() > 0 ? now + c.lifetime : now + std::chrono::hours(24 * 365 * 10);
}

void IkeSa::schedule_ike(TimePoint now) {
  if (cfg_->ike_lifetime.count() <= 0) {
    ike_rekey_at_.reset();
    ike_expire_at_.reset();
    return;
  }
  ike_rekey_at_ = fuzzed_rekey_time(now, cfg_->ike_lifetime, cfg_->rekey_margin, cfg_->rekey_fuzz_percent);
  ike_expire_at_ = now + cfg_->ike_lifetime;
}

void IkeSa::check_rekey_timers(TimePoint now) {
  if (state_ != IkeSaState::established) return;
  if (ike_expire_at_ && now >= *ike_expire_at_) {
    log(LogLevel::warn, "IKE_SA hard lifetime reached without a successful rekey, deleting it");
    ike_expire_at_.reset();
    ike_rekey_at_.reset();
    queue_.push_front(TaskIkeDelete{});
    start_next_task(now);
    return;
  }
  if (reauth_retry_) {
    reauth_retry_ = false;
    TimePoint retry = now + cfg_->rekey_retry;
    if (!ike_expire_at_ || retry < *ike_expire_at_) ike_rekey_at_ = retry;
    log(LogLevel::warn, "reauthentication failed; " +
                            (ike_rekey_at_ ? "retrying in " + std::to_string(cfg_->rekey_retry.count()) + " s"
                                           : std::string("no time left to retry")) +
                            ", the current IKE_SA stays until its hard lifetime");
  }
  if (ike_rekey_at_ && now >= *ike_rekey_at_) {
    ike_rekey_at_.reset();
    if (cfg_->reauth) start_reauth(now);
    else queue_.push_back(TaskIkeRekey{});
  }
  for (std::size_t i = 0; i < children_.size();) {
    ChildSa& c = children_[i];
    if (now >= c.expire_at) {
      if (c.state == ChildSaState::deleting) {
        remove_child(i, true);  // its DELETE went unanswered: drop it locally
        continue;
      }
      log(LogLevel::warn, "CHILD_SA " + c.name + "{" + std::to_string(c.unique_id) + "} hard lifetime reached" +
                              (c.state == ChildSaState::rekeyed ? " (peer never deleted it)" : "") +
                              ", deleting it");
      c.state = ChildSaState::deleting;
      c.expire_at = now + kDeleteGrace;
      queue_.push_back(TaskChildDelete{c.spi_in});
    } else if (c.state == ChildSaState::installed && now >= c.rekey_at) {
      c.state = ChildSaState::rekeying;
      queue_.push_back(TaskChildRekey{c.spi_in});
    }
    ++i;
  }
  start_next_task(now);
}

// ---------------------------------------------------------------------------------------
// volume limits (lifebytes, lifepackets)

void IkeSa::set_volume_limits(ChildSaInstall& ev, const ChildConfig& cc) {
  // soft = life - margin - random(rekeyfuzz% of margin), as for time (strongSwan applies
  // rekeyfuzz to the volume margins too), so both ends do not rekey at the same packet.
  auto soft = [&](std::uint64_t life, std::uint64_t margin) -> std::uint64_t {
    if (life == 0) return 0;
    std::uint64_t fuzz_max = margin / 100 * std::min(cc.rekey_fuzz_percent, 100u) +
                             margin % 100 * std::min(cc.rekey_fuzz_percent, 100u) / 100;
    std::uint64_t fuzz = random_upto(ctx_.rng, fuzz_max);
    std::uint64_t m = std::min(margin + fuzz, life - 1);
    return life - m;
  };
  ev.hard_bytes = cc.life_bytes;
  ev.hard_packets = cc.life_packets;
  ev.soft_bytes = soft(cc.life_bytes, cc.margin_bytes);
  ev.soft_packets = soft(cc.life_packets, cc.margin_packets);
}

void IkeSa::on_child_volume(std::uint32_t spi_in, bool hard, std::string_view what, TimePoint now) {
  ChildSa* c = find_child_by_in(spi_in);
  if (!c) return;
  std::string name = c->name + "{" + std::to_string(c->unique_id) + "}";
  if (hard) {
    if (c->state == ChildSaState::deleting) return;
    log(LogLevel::warn, "CHILD_SA " + name + " hard " + std::string(what) + " limit reached, deleting it");
    c->state = ChildSaState::deleting;
    c->expire_at = now + kDeleteGrace;
    queue_.push_back(TaskChildDelete{spi_in});
  } else {
    if (c->state != ChildSaState::installed) return;  // already rekeying or replaced
    log(LogLevel::info, "CHILD_SA " + name + " soft " + std::string(what) + " limit reached, rekeying");
    c->state = ChildSaState::rekeying;
    queue_.push_back(TaskChildRekey{spi_in});
  }
  start_next_task(now);
}

// ---------------------------------------------------------------------------------------
// CHILD_SA rekey, initiator

void IkeSa::build_child_rekey(std::uint32_t old_spi_in, TimePoint now) {
  ChildSa* old = find_child_by_in(old_spi_in);
  if (!old || old->state != ChildSaState::rekeying) return;
  const ChildConfig* cc = child_config(old->name);
  if (!cc) return;
  bool retry = active_ == Active::none && rekey_old_spi_ == old_spi_in && child_dh_group_ != DhId::none &&
               active_child_ == old->name;
  // PFS: the group negotiated before, else the first configured one (IKE_AUTH's child had
  // none, so a PFS mismatch first shows here).
  if (!retry) child_dh_group_ = old->proposal.dh.empty() ? DhId::none : old->proposal.dh[0];
  active_ = Active::child_rekey;
  active_child_ = old->name;
  rekey_old_spi_ = old_spi_in;
  std::vector<Payload> pl;
  NotifyPayload rk = notify(NotifyType::rekey_sa);
  rk.protocol = ProtocolId::esp;
  rk.spi = be32(old_spi_in);
  pl.push_back(std::move(rk));
  if (!child_request_payloads(*cc, old->local_ts, old->remote_ts, old->transport, pl)) {
    active_ = Active::none;
    child_rekey_failed(old_spi_in, "cannot generate a DH key", now);
    return;
  }
  log(LogLevel::info, "rekeying CHILD_SA " + old->name + "{" + std::to_string(old->unique_id) + "} (SPIs " +
                          hex32(old->spi_in) + "_i " + hex32(old->spi_out) + "_o)" +
                          (child_dh_ ? " with PFS " + std::string(dh_name(child_dh_group_)) : ""));
  send_request(ExchangeType::create_child_sa, std::move(pl), now);
}

void IkeSa::child_rekey_failed(std::uint32_t old_spi_in, const std::string& why, TimePoint now) {
  ++ctx_.counters.rekey_failures;
  ChildSa* old = find_child_by_in(old_spi_in);
  if (!old) {
    std::erase_if(peer_child_rekeys_, [&](const PeerChildRekey& p) { return p.old_spi_in == old_spi_in; });
    log(LogLevel::info, "rekey of a CHILD_SA that is gone meanwhile: " + why);
    return;
  }
  auto pr = std::find_if(peer_child_rekeys_.begin(), peer_child_rekeys_.end(),
                         [&](const PeerChildRekey& p) { return p.old_spi_in == old_spi_in; });
  if (pr != peer_child_rekeys_.end()) {
    // The peer's rekey of the same SA went through: its successor stands, the peer deletes
    // the old one.
    log(LogLevel::info, "CHILD_SA " + old->name + " rekey refused (" + why + "), the peer's concurrent rekey stands");
    peer_child_rekeys_.erase(pr);
    old->state = ChildSaState::rekeyed;
    return;
  }
  if (old->state == ChildSaState::rekeyed || old->state == ChildSaState::deleting) return;
  old->state = ChildSaState::installed;
  TimePoint retry = now + cfg_->rekey_retry;
  old->rekey_at = retry;
  std::string when = retry < old->expire_at
                         ? "retrying in " + std::to_string(cfg_->rekey_retry.count()) + " s"
                         : "no time left to retry";
  log(LogLevel::warn, "CHILD_SA " + old->name + "{" + std::to_string(old->unique_id) + "} rekey failed: " + why +
                          "; " + when + ", the current SA stays until its hard lifetime (" +
                          std::to_string(std::chrono::duration_cast<Seconds>(old->expire_at - now).count()) +
                          " s)");
}

void IkeSa::process_child_rekey_response(const Message& m, TimePoint now) {
  std::string child = active_child_;
  std::uint32_t old_spi = rekey_old_spi_;
  if (child_ke_retry(m, child, " for the rekey")) {
    build_child_rekey(old_spi, now);  // active_ is none: marks the retry
    return;
  }
  active_child_.clear();
  std::string why;
  common::SecretBytes seed;
  auto c = accept_child_answer(m, child, seed, why);
  if (c && c->proposal.dh.empty() && child_dh_) {
    why = "peer answered without PFS although we asked for " + std::string(dh_name(child_dh_group_));
    c.reset();
  }
  if (!c) {
    if (const ChildConfig* cc = child_config(child); cc && m.find_notify(NotifyType::no_proposal_chosen))
      why += " (offered " + proposals_text(cc->esp_proposals) + "; a PFS group mismatch shows first here)";
    child_rekey_failed(old_spi, why, now);
    return;
  }
  const auto* nonce = m.find<NoncePayload>();
  std::uint32_t new_spi = c->spi_in;
  install_child(std::move(*c), seed, true, now);
  ++ctx_.counters.child_rekeys;
  ChildSa* old = find_child_by_in(old_spi);
  if (!old) return;  // deleted by the peer meanwhile
  auto pr = std::find_if(peer_child_rekeys_.begin(), peer_child_rekeys_.end(),
                         [&](const PeerChildRekey& p) { return p.old_spi_in == old_spi; });
  if (pr != peer_child_rekeys_.end()) {
    ++ctx_.counters.rekey_collisions;
    bool we_lose = exchange_loses(child_nonce_, nonce->data, pr->ni, pr->nr);
    ChildSa* theirs = find_child_by_in(pr->new_spi_in);
    old->state = ChildSaState::rekeyed;
    if (we_lose) {
      log(LogLevel::info, "CHILD_SA " + child + " rekey collision lost (lowest nonce ours), deleting redundant SA " +
                              hex32(new_spi) + "_i");
      if (ChildSa* mine = find_child_by_in(new_spi)) mine->state = ChildSaState::rekeyed;
      queue_.push_front(TaskChildDelete{new_spi});
    } else {
      log(LogLevel::info, "CHILD_SA " + child + " rekey collision won, the peer deletes its redundant SA");
      if (theirs) theirs->state = ChildSaState::rekeyed;
      queue_.push_front(TaskChildDelete{old_spi});
    }
    peer_child_rekeys_.erase(pr);
    return;
  }
  old->state = ChildSaState::rekeyed;
  queue_.push_front(TaskChildDelete{old_spi});
}

// ---------------------------------------------------------------------------------------
// CHILD_SA rekey, responder

bool IkeSa::check_peer_child_rekey(const Message& m, std::uint32_t& old_spi_in) {
  const auto* rk = m.find_notify(NotifyType::rekey_sa);
  old_spi_in = 0;
  if (!rk) return true;
  if (rk->protocol != ProtocolId::esp || rk->spi.size() != 4) {
    send_response(m.header, {notify(NotifyType::invalid_syntax)});
    return false;
  }
  common::Reader r(rk->spi);
  std::uint32_t spi = r.u32();
  ChildSa* old = find_child_by_out(spi);
  if (!old) {
    log(LogLevel::info, "peer wants to rekey unknown CHILD_SA " + hex32(spi) + ": CHILD_SA_NOT_FOUND");
    NotifyPayload n = notify(NotifyType::child_sa_not_found);
    n.protocol = ProtocolId::esp;
    n.spi = rk->spi;
    send_response(m.header, {n});
    return false;
  }
  if (old->state == ChildSaState::rekeyed || old->state == ChildSaState::deleting) {
    // Already replaced (we won or finished our own rekey): the peer's attempt is redundant.
    log(LogLevel::info, "peer wants to rekey CHILD_SA " + old->name + " which is already rekeyed/deleting: TEMPORARY_FAILURE");
    send_response(m.header, {notify(NotifyType::temporary_failure)});
    return false;
  }
  old_spi_in = old->spi_in;
  return true;
}

// ---------------------------------------------------------------------------------------
// IKE_SA rekey

std::unique_ptr<IkeSa> IkeSa::make_successor(bool we_initiated, std::uint64_t spi_i, std::uint64_t spi_r,
                                             const Proposal& p, common::ByteSpan shared, common::ByteSpan ni,
                                             common::ByteSpan nr, TimePoint now, std::string& why) {
  using namespace common::crypto;
  auto n = std::make_unique<IkeSa>(ctx_, cfg_, ctx_.next_ike_unique_id++, we_initiated);
  n->spi_i_ = spi_i;
  n->spi_r_ = spi_r;
  n->frag_peer_ = frag_peer_;  // RFC 7383 §2.3: support carries over to the rekeyed SA
  const auto& e = p.encr.at(0);
  IntegId integ = p.integ.empty() ? IntegId::none : p.integ[0];
  const common::SecretBytes seed = skeyseed_rekey(*prf_, keys_.sk_d, shared, ni, nr);
  auto km = ike_keys_from_skeyseed(p.prf.at(0), seed, e.id, e.key_bits, integ, ni, nr, spi_i, spi_r);
  n->prf_ = Prf::create(p.prf.at(0));
  if (!km || !n->prf_) {
    why = "cannot derive the new IKE_SA keys";
    return nullptr;
  }
  auto in = sk::SkKeys::create(e.id, we_initiated ? km->sk_er : km->sk_ei, integ, we_initiated ? km->sk_ar : km->sk_ai);
  auto out = sk::SkKeys::create(e.id, we_initiated ? km->sk_ei : km->sk_er, integ, we_initiated ? km->sk_ai : km->sk_ar);
  n->keys_ = std::move(*km);
  if (!in || !out) {
    why = "cannot set up the new IKE_SA ciphers";
    return nullptr;
  }
  n->sk_in_.emplace(std::move(*in));
  n->sk_out_.emplace(std::move(*out));
  n->ike_proposal_ = p;
  n->dh_group_ = p.dh.empty() ? DhId::none : p.dh[0];
  n->ni_ = common::to_bytes(ni);
  n->nr_ = common::to_bytes(nr);
  n->local_ = local_;
  n->remote_ = remote_;
  n->nat_local_ = nat_local_;
  n->nat_remote_ = nat_remote_;
  n->natt_ = natt_;
  n->peer_id_ = peer_id_;
  n->created_at_ = now;
  n->established(now);
  return n;
}

void IkeSa::hand_over(IkeSa& to, TimePoint now) {
  for (auto& c : children_) to.children_.push_back(std::move(c));
  children_.clear();
  for (auto& t : queue_)
    if (!std::holds_alternative<TaskIkeRekey>(t) && !std::holds_alternative<TaskDpd>(t) &&
        !std::holds_alternative<TaskIkeDelete>(t))
      to.queue_.push_back(std::move(t));
  queue_.clear();
  for (auto& p : peer_child_rekeys_) to.peer_child_rekeys_.push_back(std::move(p));
  peer_child_rekeys_.clear();
  state_ = IkeSaState::rekeyed;
  ike_rekey_at_.reset();
  ike_expire_at_.reset();
  next_keepalive_.reset();
  log(LogLevel::info, "IKE_SA rekeyed: CHILD_SAs moved to " + cfg_->name + "[" + std::to_string(to.unique_id_) + "]");
  to.start_next_task(now);
}

void IkeSa::build_ike_rekey(TimePoint now) {
  if (state_ != IkeSaState::established) return;
  bool retry = ike_rekey_group_ != DhId::none && active_ == Active::none && !ike_rekey_nonce_.empty();
  if (!retry) {
    ike_rekey_group_ = DhId::none;
    for (const auto& p : cfg_->ike_proposals)
      if (std::find(p.dh.begin(), p.dh.end(), dh_group_) != p.dh.end()) ike_rekey_group_ = dh_group_;
    if (ike_rekey_group_ == DhId::none && !cfg_->ike_proposals.empty() && !cfg_->ike_proposals[0].dh.empty())
      ike_rekey_group_ = cfg_->ike_proposals[0].dh[0];
  }
  auto dh = common::crypto::Dh::generate(ike_rekey_group_);
  if (!dh) {
    ike_rekey_failed("cannot generate a DH key", now);
    return;
  }
  ike_rekey_dh_ = std::move(*dh);
  ike_rekey_spi_ = new_ike_spi();
  ike_rekey_nonce_.assign(kNonceSize, std::byte{0});
  ctx_.rng.fill(ike_rekey_nonce_);
  std::vector<Payload> pl;
  SaPayload sa;
  std::uint8_t num = 1;
  for (const auto& p : cfg_->ike_proposals) sa.proposals.push_back(to_sa_proposal(p, num++, be64(ike_rekey_spi_)));
  pl.push_back(std::move(sa));
  pl.push_back(NoncePayload{ike_rekey_nonce_});
  pl.push_back(KePayload{static_cast<std::uint16_t>(ike_rekey_group_), common::to_bytes(ike_rekey_dh_->public_value())});
  active_ = Active::ike_rekey;
  log(LogLevel::info, "rekeying IKE_SA (" + std::string(dh_name(ike_rekey_group_)) + ")");
  send_request(ExchangeType::create_child_sa, std::move(pl), now);
}

void IkeSa::ike_rekey_failed(const std::string& why, TimePoint now) {
  ++ctx_.counters.rekey_failures;
  ike_rekey_group_ = DhId::none;
  ike_rekey_nonce_.clear();
  if (ike_collision_) {
    // The peer's concurrent IKE rekey went through: it becomes the successor and the peer
    // deletes this SA.
    log(LogLevel::info, "IKE_SA rekey refused (" + why + "), the peer's concurrent rekey stands");
    auto succ = std::move(ike_collision_);
    hand_over(*succ, now);
    rekeyed_linger_until_ = now + kRekeyedLinger;
    ctx_.adopted.push_back(std::move(succ));
    return;
  }
  TimePoint retry = now + cfg_->rekey_retry;
  if (!ike_expire_at_ || retry < *ike_expire_at_) ike_rekey_at_ = retry;
  log(LogLevel::warn, "IKE_SA rekey failed: " + why + "; " +
                          (ike_rekey_at_ ? "retrying in " + std::to_string(cfg_->rekey_retry.count()) + " s"
                                         : std::string("no time left to retry")) +
                          ", the current IKE_SA stays until its hard lifetime");
}

void IkeSa::process_ike_rekey_response(const Message& m, TimePoint now) {
  if (auto group = requested_group(m, cfg_->ike_proposals, ike_rekey_group_); group && !ike_collision_) {
    log(LogLevel::info, "peer didn't accept DH group " + std::string(dh_name(ike_rekey_group_)) +
                            " for the IKE rekey, it requested " + std::string(dh_name(*group)));
    ike_rekey_group_ = *group;
    build_ike_rekey(now);
    return;
  }
  if (const auto* e = m.find_error_notify()) {
    std::string why = "received " + std::string(to_string(e->type)) + " notify";
    if (e->type == NotifyType::no_proposal_chosen) {
      ++ctx_.counters.no_proposal;
      why += " (offered " + proposals_text(cfg_->ike_proposals) + ")";
    }
    return ike_rekey_failed(why, now);
  }
  const auto* sa = m.find<SaPayload>();
  const auto* ke = m.find<KePayload>();
  const auto* nonce = m.find<NoncePayload>();
  if (!sa || !ke || !nonce || sa->proposals.size() != 1 || sa->proposals[0].spi.size() != 8)
    return ike_rekey_failed("incomplete answer", now);
  auto chosen = from_sa_proposal(sa->proposals[0]);
  if (!chosen || chosen->protocol != Protocol::ike || chosen->encr.size() != 1 || chosen->prf.size() != 1 ||
      chosen->dh.size() != 1 || chosen->integ.size() > 1 || !proposal_acceptable(cfg_->ike_proposals, *chosen)) {
    ++ctx_.counters.no_proposal;
    return ike_rekey_failed("peer chose a proposal we did not offer", now);
  }
  if (chosen->dh[0] != ike_rekey_group_ || ke->dh_group != static_cast<std::uint16_t>(ike_rekey_group_))
    return ike_rekey_failed("peer's KE group does not match", now);
  auto shared = ike_rekey_dh_->shared_secret(ke->data);
  if (!shared) return ike_rekey_failed("invalid KE payload", now);
  common::Reader r(sa->proposals[0].spi);
  std::uint64_t peer_spi = r.u64();
  std::string why;
  auto succ = make_successor(true, ike_rekey_spi_, peer_spi, *chosen, *shared, ike_rekey_nonce_, nonce->data, now, why);
  common::Bytes ni = ike_rekey_nonce_;
  ike_rekey_group_ = DhId::none;
  ike_rekey_nonce_.clear();
  if (!succ) return ike_rekey_failed(why, now);
  ++ctx_.counters.ike_rekeys;
  if (ike_collision_) {
    ++ctx_.counters.rekey_collisions;
    auto theirs = std::move(ike_collision_);
    if (exchange_loses(ni, nonce->data, ike_collision_ni_, ike_collision_nr_)) {
      log(LogLevel::info, "IKE_SA rekey collision lost (lowest nonce ours), deleting our redundant IKE_SA");
      hand_over(*theirs, now);
      rekeyed_linger_until_ = now + kRekeyedLinger;  // the peer deletes this one
      succ->queue(TaskIkeDelete{}, now);
    } else {
      log(LogLevel::info, "IKE_SA rekey collision won, the peer deletes its redundant IKE_SA");
      hand_over(*succ, now);
      queue_.push_back(TaskIkeDelete{});
      theirs->rekeyed_linger_until_ = now + kRekeyedLinger;  // unless the peer deletes it first
    }
    ctx_.adopted.push_back(std::move(theirs));
    ctx_.adopted.push_back(std::move(succ));
    return;
  }
  hand_over(*succ, now);
  ctx_.adopted.push_back(std::move(succ));
  queue_.push_back(TaskIkeDelete{});  // start_next_task runs after this (rekeyed may delete)
}

void IkeSa::process_ike_rekey_request(const Message& m, TimePoint now) {
  if (active_ == Active::child || active_ == Active::child_rekey || active_ == Active::child_delete ||
      active_ == Active::ike_delete || state_ != IkeSaState::established) {
    // Our own exchange on this SA's CHILD_SAs is in flight; the peer retries later (§2.25.2).
    log(LogLevel::info, "peer wants to rekey the IKE_SA while our exchange is active: TEMPORARY_FAILURE");
    send_response(m.header, {notify(NotifyType::temporary_failure)});
    return;
  }
  const auto* sa = m.find<SaPayload>();
  const auto* ke = m.find<KePayload>();
  const auto* nonce = m.find<NoncePayload>();
  if (!sa || !ke || !nonce) {
    send_response(m.header, {notify(NotifyType::invalid_syntax)});
    return;
  }
  std::vector<Proposal> theirs;
  std::vector<const SaProposal*> raw;
  for (const auto& sp : sa->proposals)
    if (auto p = from_sa_proposal(sp); p && p->protocol == Protocol::ike && sp.spi.size() == 8) {
      theirs.push_back(std::move(*p));
      raw.push_back(&sp);
    }
  auto sel = select_proposal(cfg_->ike_proposals, theirs);
  if (!sel || sel->chosen.dh.empty()) {
    ++ctx_.counters.no_proposal;
    log(LogLevel::warn, "peer's IKE rekey: no acceptable proposal: received " + proposals_text(theirs) +
                            ", configured " + proposals_text(cfg_->ike_proposals));
    send_response(m.header, {notify(NotifyType::no_proposal_chosen)});
    return;
  }
  DhId group = sel->chosen.dh[0];
  if (ke->dh_group != static_cast<std::uint16_t>(group)) {
    common::Bytes d;
    common::Writer w(d);
    w.u16(static_cast<std::uint16_t>(group));
    send_response(m.header, {notify(NotifyType::invalid_ke_payload, d)});
    return;
  }
  std::unique_ptr<common::crypto::Dh> dh;
  auto shared = respond_ke(group, ke->data, dh);
  if (!shared) {
    send_response(m.header, {notify(NotifyType::invalid_syntax)});
    return;
  }
  std::uint64_t our_spi = new_ike_spi();
  common::Reader r(raw[sel->index]->spi);
  std::uint64_t peer_spi = r.u64();
  common::Bytes nr(kNonceSize, std::byte{0});
  ctx_.rng.fill(nr);
  std::string why;
  auto succ = make_successor(false, peer_spi, our_spi, sel->chosen, *shared, nonce->data, nr, now, why);
  if (!succ) {
    send_response(m.header, {notify(NotifyType::no_proposal_chosen)});
    return;
  }
  std::vector<Payload> pl;
  SaPayload out_sa;
  out_sa.proposals.push_back(to_sa_proposal(sel->chosen, raw[sel->index]->number, be64(our_spi)));
  pl.push_back(std::move(out_sa));
  pl.push_back(NoncePayload{nr});
  pl.push_back(KePayload{static_cast<std::uint16_t>(group), common::to_bytes(dh->public_value())});
  send_response(m.header, std::move(pl));
  ++ctx_.counters.ike_rekeys;
  if (active_ == Active::ike_rekey) {
    // Collision: decided when our own answer arrives.
    log(LogLevel::info, "peer rekeys the IKE_SA while we do too (collision)");
    ike_collision_ = std::move(succ);
    ike_collision_ni_ = nonce->data;
    ike_collision_nr_ = nr;
    return;
  }
  log(LogLevel::info, "IKE_SA rekeyed by the peer");
  hand_over(*succ, now);
  rekeyed_linger_until_ = now + kRekeyedLinger;
  ctx_.adopted.push_back(std::move(succ));
}

}  // namespace ike
