// IkeSa plumbing shared by the exchanges: sending requests/responses, dispatching
// received messages to the exchange tasks, key derivation, CHILD_SA install/remove,
// timers (retransmission, DPD, NAT keepalive) and status.
#include "ike/ike_sa.h"

#include <algorithm>

#include "ike/payload_rules.h"
#include "ike/task_util.h"

namespace ike {

using common::LogLevel;

std::string_view to_string(IkeSaState s) {
  switch (s) {
    case IkeSaState::created: return "CREATED";
    case IkeSaState::connecting: return "CONNECTING";
    case IkeSaState::established: return "ESTABLISHED";
    case IkeSaState::rekeyed: return "REKEYED";
    case IkeSaState::deleting: return "DELETING";
    case IkeSaState::destroyed: return "DESTROYED";
  }
  return "?";
}

IkeSa::IkeSa(EngineCtx& ctx, std::shared_ptr<const PeerConfig> cfg, std::uint32_t unique_id,
             bool initiator)
    : ctx_(ctx), cfg_(std::move(cfg)), unique_id_(unique_id), initiator_(initiator),
      tm_(ctx.retransmit) {
  (initiator_ ? spi_i_ : spi_r_) = new_ike_spi();
}

void IkeSa::log(LogLevel l, std::string text) const {
  ctx_.events.push_back(LogEvent{l, cfg_->name + "[" + std::to_string(unique_id_) + "]: " + std::move(text)});
}

common::Result<common::Bytes> IkeSa::encode(const Header& h, std::vector<Payload>& payloads) {
  if (h.exchange == ExchangeType::ike_sa_init) {
    Message m;
    m.header = h;
    m.payloads = std::move(payloads);
    return encode_message(m);
  }
  if (!sk_out_) return common::make_error(common::Errc::state, "no keys");
  return sk::build_encrypted(h, std::span<const Payload>(payloads), *sk_out_, ctx_.rng);
}

void IkeSa::send_request(ExchangeType ex, std::vector<Payload> payloads, TimePoint now) {
  Header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = ex;
  h.initiator = initiator_;
  h.response = false;
  h.message_id = tm_.next_request_id();
  auto bytes = encode(h, payloads);
  if (!bytes) {
    log(LogLevel::error, std::string("cannot encode ") + std::string(to_string(ex)) + " request");
    return;
  }
  frag_request_ = fragment_if_needed(h, payloads, bytes->size());
  resend(frag_request_, *bytes, local_, remote_);
  ++ctx_.counters.tx_messages;
  tm_.on_request_sent(local_, remote_, std::move(*bytes), now);
}

void IkeSa::send_response(const Header& req, std::vector<Payload> payloads) {
  Header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = req.exchange;
  h.initiator = initiator_;
  h.response = true;
  h.message_id = req.message_id;
  auto bytes = encode(h, payloads);
  if (!bytes) {
    log(LogLevel::error, "cannot encode response");
    return;
  }
  frag_response_ = fragment_if_needed(h, payloads, bytes->size());
  resend(frag_response_, *bytes, local_, remote_);
  ++ctx_.counters.tx_messages;
  tm_.on_response_sent(req.message_id, std::move(*bytes));
}

void IkeSa::on_datagram(const Header& h, common::ByteSpan raw, const common::Endpoint& local,
                        const common::Endpoint& remote, TimePoint now) {
  if (state_ == IkeSaState::destroyed) return;
  if (h.response) {
    auto out = tm_.outstanding_id();
    if (!out || *out != h.message_id) {
      ++ctx_.counters.rx_malformed;
      return;
    }
    ParseDiag diag;
    bool pending = false;
    common::Result<Message> m = h.exchange == ExchangeType::ike_sa_init
                                    ? parse_message(raw, &diag)
                                    : (sk_in_ ? open_protected(h, raw, now, &diag, &pending)
                                              : common::Result<Message>(common::make_error(common::Errc::state, "no keys")));
    if (!m) {
      if (pending) return;
      if (diag.reason == ParseReason::integrity) ++ctx_.counters.rx_bad_integrity;
      else ++ctx_.counters.rx_malformed;
      return;
    }
    if (!check_rules(*m, &diag)) {
      ++ctx_.counters.rx_malformed;
      // A malformed answer ends the exchange as failed.
      log(LogLevel::warn, std::string("malformed ") + std::string(to_string(h.exchange)) + " response: " +
                              std::string(to_string(diag.reason)));
      if (active_ == Active::init || active_ == Active::auth) {
        fail("malformed response");
        return;
      }
    }
    if (h.exchange == ExchangeType::ike_sa_init && active_ != Active::init) return;
    tm_.on_response(h.message_id);
    last_rx_ = now;
    Active was = active_;
    active_ = Active::none;
    switch (was) {
      case Active::init: process_init_response(*m, raw, now); break;
      case Active::auth: process_auth_response(*m, now); break;
      case Active::child: process_child_response(*m, now); break;
      case Active::child_rekey: process_child_rekey_response(*m, now); break;
      case Active::ike_rekey: process_ike_rekey_response(*m, now); break;
      case Active::child_delete:
      case Active::ike_delete:
      case Active::dpd:
        last_info_ = was;
        process_info_response(*m, now);
        break;
      case Active::none: break;
    }
    if (state_ != IkeSaState::destroyed) start_next_task(now);
    return;
  }

  // A request from the peer.
  switch (tm_.check_request(h.message_id)) {
    case TaskManager::RequestCheck::retransmit:
      if (!retransmit_trigger(h, raw)) return;
      resend(frag_response_, tm_.cached_response(), local, remote);
      ++ctx_.counters.retransmits;
      return;
    case TaskManager::RequestCheck::drop:
      ++ctx_.counters.rx_malformed;
      return;
    case TaskManager::RequestCheck::fresh: break;
  }
  if (!sk_in_ || h.exchange == ExchangeType::ike_sa_init) {
    ++ctx_.counters.rx_malformed;
    return;
  }
  ParseDiag diag;
  bool pending = false;
  auto m = open_protected(h, raw, now, &diag, &pending);
  if (pending) return;
  if (!m) {
    if (diag.reason == ParseReason::integrity) {
      ++ctx_.counters.rx_bad_integrity;
      return;
    }
    ++ctx_.counters.rx_malformed;
    // Decrypted with a valid ICV, then the inner payloads did not parse: tell the peer
    // (INVALID_SYNTAX, or UNSUPPORTED_CRITICAL_PAYLOAD with the type, §2.5) in an
    // encrypted answer, as for a message that breaks the payload rules below.
    if (auto type = diag.authentic ? notify_for(diag.reason) : std::nullopt) {
      local_ = local;  // authentic: answer where it came from (as below)
      remote_ = remote;
      log(LogLevel::warn, std::string("malformed ") + std::string(to_string(h.exchange)) +
                              " request: " + std::string(to_string(diag.reason)));
      NotifyPayload n;
      n.type = *type;
      if (*type == NotifyType::unsupported_critical_payload) n.data = common::Bytes(1, std::byte{diag.payload_type});
      send_response(h, {n});
    }
    return;
  }
  // Authentic: follow the peer's address/port (it moves to 4500 behind a NAT).
  local_ = local;
  remote_ = remote;
  last_rx_ = now;
  if (!check_rules(*m, &diag)) {
    ++ctx_.counters.rx_malformed;
    NotifyPayload n;
    n.type = NotifyType::invalid_syntax;
    send_response(h, {n});
    return;
  }
  switch (h.exchange) {
    case ExchangeType::ike_auth:
      if (!initiator_ && state_ == IkeSaState::connecting) process_auth_request(*m, now);
      else send_response(h, {});
      break;
    case ExchangeType::create_child_sa:
      if (state_ == IkeSaState::established) {
        process_child_request(*m, now);
      } else {
        NotifyPayload n;
        n.type = NotifyType::temporary_failure;
        send_response(h, {n});
      }
      break;
    case ExchangeType::informational: process_info_request(*m, now); break;
    default: ++ctx_.counters.rx_malformed; return;
  }
  if (state_ != IkeSaState::destroyed) start_next_task(now);
}

void IkeSa::queue(Task t, TimePoint now) {
  queue_.push_back(std::move(t));
  start_next_task(now);
}

void IkeSa::start_next_task(TimePoint now) {
  while ((state_ == IkeSaState::established || state_ == IkeSaState::rekeyed) && !tm_.request_outstanding() &&
         !queue_.empty()) {
    Task t = std::move(queue_.front());
    queue_.pop_front();
    // A rekeyed IKE_SA handed its CHILD_SAs over; all it may still do is delete itself.
    if (state_ == IkeSaState::rekeyed && !std::holds_alternative<TaskIkeDelete>(t)) continue;
    if (auto* c = std::get_if<TaskChildCreate>(&t)) {
      if (has_child(c->child) || !child_config(c->child)) continue;
      build_child_request(c->child, now);
    } else if (auto* d = std::get_if<TaskChildDelete>(&t)) {
      ChildSa* child = find_child_by_in(d->spi_in);
      if (!child) continue;
      child->state = ChildSaState::deleting;
      DeletePayload del;
      del.protocol = ProtocolId::esp;
      del.spis = {d->spi_in};
      active_ = Active::child_delete;
      active_spi_ = d->spi_in;
      log(LogLevel::info, "closing CHILD_SA " + child->name + "{" + std::to_string(child->unique_id) +
                              "} with SPIs " + hex32(child->spi_in) + "_i " + hex32(child->spi_out) + "_o");
      send_request(ExchangeType::informational, {del}, now);
    } else if (std::holds_alternative<TaskIkeDelete>(t)) {
      state_ = IkeSaState::deleting;
      active_ = Active::ike_delete;
      log(LogLevel::info, "deleting IKE_SA with " + remote_.addr.to_string());
      DeletePayload del;
      del.protocol = ProtocolId::ike;
      send_request(ExchangeType::informational, {del}, now);
      return;
    } else if (std::holds_alternative<TaskDpd>(t)) {
      active_ = Active::dpd;
      ++ctx_.counters.dpd_checks;
      send_request(ExchangeType::informational, {}, now);
    } else if (auto* r = std::get_if<TaskChildRekey>(&t)) {
      build_child_rekey(r->spi_in, now);
    } else if (std::holds_alternative<TaskIkeRekey>(t)) {
      build_ike_rekey(now);
    }
  }
  check_reauth_complete(now);
}

void IkeSa::established(TimePoint now) {
  state_ = IkeSaState::established;
  established_at_ = now;
  last_rx_ = now;
  log(LogLevel::info, "IKE_SA " + cfg_->name + "[" + std::to_string(unique_id_) + "] established between " +
                          local_.addr.to_string() + "[" + cfg_->local_id.to_string() + "]..." +
                          remote_.addr.to_string() + "[" + (peer_id_ ? peer_id_->to_string() : "%any") +
                          "] (" + ike::to_string(ike_proposal_) + ")");
  emit_ike_keys();
  if (natt_ && (nat_local_ || cfg_->force_encaps)) next_keepalive_ = now + ctx_.keepalive_interval;
  schedule_ike(now);
}

void IkeSa::fail(std::string_view why) {
  log(LogLevel::warn, "IKE_SA failed: " + std::string(why));
  destroy_children();
  state_ = IkeSaState::destroyed;
  reauth_failed();
}

void IkeSa::destroy(std::string_view why) {
  log(LogLevel::info, "IKE_SA deleted: " + std::string(why));
  destroy_children();
  state_ = IkeSaState::destroyed;
  reauth_failed();
}

void IkeSa::destroy_children() {
  while (!children_.empty()) remove_child(children_.size() - 1, true);
}

std::uint64_t IkeSa::new_ike_spi() {
  std::uint64_t spi = 0;
  while (spi == 0) {
    std::array<std::byte, 8> b{};
    ctx_.rng.fill(b);
    common::Reader r(b);
    spi = r.u64();
  }
  return spi;
}

std::uint32_t IkeSa::new_esp_spi() {
  for (;;) {
    std::array<std::byte, 4> b{};
    ctx_.rng.fill(b);
    common::Reader r(b);
    std::uint32_t v = r.u32();
    // Keep clear of the reserved 1..255 range (RFC 4303 §2.1) and of our own SPIs.
    v |= 0xc0000000u;
    if (!find_child_by_in(v)) return v;
  }
}

ChildSa* IkeSa::find_child_by_in(std::uint32_t spi) {
  for (auto& c : children_)
    if (c.spi_in == spi) return &c;
  return nullptr;
}
ChildSa* IkeSa::find_child_by_out(std::uint32_t spi) {
  for (auto& c : children_)
    if (c.spi_out == spi) return &c;
  return nullptr;
}

bool IkeSa::has_child(std::string_view name) const {
  return std::any_of(children_.begin(), children_.end(), [&](const ChildSa& c) { return c.name == name; });
}

bool IkeSa::has_child_spi(std::uint32_t spi_in) const {
  return std::any_of(children_.begin(), children_.end(), [&](const ChildSa& c) { return c.spi_in == spi_in; });
}

bool IkeSa::child_pending(std::string_view name) const {
  if (active_child_ == name && (active_ == Active::child || active_ == Active::auth || active_ == Active::init))
    return true;
  for (const auto& t : queue_)
    if (auto* c = std::get_if<TaskChildCreate>(&t); c && c->child == name) return true;
  return false;
}

std::vector<std::string> IkeSa::wanted_children() const {
  if (restart_) return restart_children_;
  std::vector<std::string> out;
  for (const auto& c : children_) out.push_back(c.name);
  if (!active_child_.empty() && std::find(out.begin(), out.end(), active_child_) == out.end())
    out.push_back(active_child_);
  for (const auto& t : queue_)
    if (auto* c = std::get_if<TaskChildCreate>(&t)) out.push_back(c->child);
  return out;
}

const ChildConfig* IkeSa::child_config(std::string_view name) const {
  for (const auto& c : cfg_->children)
    if (c.name == name) return &c;
  return nullptr;
}

common::Endpoint IkeSa::nat_port(const common::Endpoint& e) const {
  common::Endpoint o = e;
  if (o.port == 500) o.port = 4500;
  return o;
}

void IkeSa::derive_ike_keys(common::ByteSpan shared) {
  using namespace common::crypto;
  prf_ = Prf::create(ike_proposal_.prf.at(0));
  const auto& e = ike_proposal_.encr.at(0);
  IntegId integ = ike_proposal_.integ.empty() ? IntegId::none : ike_proposal_.integ[0];
  // SKEYSEED = prf(Ni | Nr, g^ir), then prf+ (RFC 7296 §2.14); the proposal was checked
  // when it was chosen, so an error here is a bug, and the SA gets no SK keys.
  auto km = ike::derive_ike_keys(ike_proposal_.prf.at(0), e.id, e.key_bits, integ, shared, ni_, nr_, spi_i_, spi_r_);
  if (!km) {
    log(LogLevel::error, std::string("IKE_SA keys: ") + km.error().detail);
    return;
  }
  keys_ = std::move(*km);
  auto in = sk::SkKeys::create(e.id, initiator_ ? keys_.sk_er : keys_.sk_ei, integ,
                               initiator_ ? keys_.sk_ar : keys_.sk_ai);
  auto out = sk::SkKeys::create(e.id, initiator_ ? keys_.sk_ei : keys_.sk_er, integ,
                                initiator_ ? keys_.sk_ai : keys_.sk_ar);
  if (in && out) {
    sk_in_.emplace(std::move(*in));
    sk_out_.emplace(std::move(*out));
  }
}

void IkeSa::emit_ike_keys() {
  IkeSaKeys k;
  k.spi_i = spi_i_;
  k.spi_r = spi_r_;
  k.encr = ike_proposal_.encr.at(0).id;
  k.key_bits = ike_proposal_.encr.at(0).key_bits;
  k.integ = ike_proposal_.integ.empty() ? common::crypto::IntegId::none : ike_proposal_.integ[0];
  k.sk_ei = keys_.sk_ei;
  k.sk_er = keys_.sk_er;
  k.sk_ai = keys_.sk_ai;
  k.sk_ar = keys_.sk_ar;
  ctx_.events.push_back(std::move(k));
}

common::Bytes IkeSa::psk_auth(bool for_initiator, common::ByteSpan id_body) const {
  // AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)  (RFC 7296 §2.15)
  // SignedOctets = RealMessage | Nonce of the other side | prf(SK_p, RestOfIDPayload)
  common::Bytes octets = for_initiator ? init_request_ : init_response_;
  common::append(octets, for_initiator ? nr_ : ni_);
  common::append(octets, prf_->compute(for_initiator ? keys_.sk_pi : keys_.sk_pr, id_body));
  const common::SecretBytes pad = prf_->compute(cfg_->psk, common::as_bytes("Key Pad for IKEv2"));
  return prf_->compute(pad, octets);
}

void IkeSa::install_child(ChildSa c, common::ByteSpan seed, bool exchange_initiator, TimePoint now,
                          bool defer_outbound) {
  using namespace common::crypto;
  const auto& e = c.proposal.encr.at(0);
  IntegId integ = c.proposal.integ.empty() ? IntegId::none : c.proposal.integ[0];
  // KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr): encr_i | integ_i | encr_r | integ_r (§2.17)
  auto km = ike::child_keys_from_seed(ike_proposal_.prf.at(0), keys_.sk_d, e.id, e.key_bits, integ, seed);
  if (!km) {  // the proposal was checked when it was chosen
    log(LogLevel::error, "CHILD_SA " + c.name + " keys: " + km.error().detail);
    return;
  }
  common::SecretBytes& ei = km->encr_i;
  common::SecretBytes& ai = km->integ_i;
  common::SecretBytes& er = km->encr_r;
  common::SecretBytes& ar = km->integ_r;
  c.state = ChildSaState::installed;
  c.installed_at = now;
  schedule_child(c, now);
  c.udp_encap = natt_;
  ChildSaInstall ev;
  ev.child_name = c.name;
  ev.unique_id = c.unique_id;
  ev.spi_in = c.spi_in;
  ev.spi_out = c.spi_out;
  ev.encr = e.id;
  ev.key_bits = e.key_bits ? e.key_bits : 256;
  ev.integ = integ;
  ev.esn = !c.proposal.esn.empty() && c.proposal.esn[0] == Esn::yes;
  ev.encr_key_out = exchange_initiator ? ei : er;
  ev.integ_key_out = exchange_initiator ? ai : ar;
  ev.encr_key_in = exchange_initiator ? er : ei;
  ev.integ_key_in = exchange_initiator ? ar : ai;
  ev.transport = c.transport;
  ev.local_ts = c.local_ts;
  ev.remote_ts = c.remote_ts;
  ev.local = local_;
  ev.remote = remote_;
  ev.udp_encap = c.udp_encap;
  if (const ChildConfig* cc = child_config(c.name)) {
    ev.replay_window = cc->replay_window;
    set_volume_limits(ev, *cc);
  }
  ev.proposal = ike::to_string(c.proposal);
  // Answering a reauthentication: the peer cannot decrypt the new SA before our answer.
  if (!exchange_initiator && replaces_elsewhere(c.name)) defer_outbound = true;
  ev.outbound_deferred = defer_outbound;
  c.outbound_pending = defer_outbound;
  log(LogLevel::info, "CHILD_SA " + c.name + "{" + std::to_string(c.unique_id) + "} established with SPIs " +
                          hex32(c.spi_in) + "_i " + hex32(c.spi_out) + "_o and TS " + ts_text(c.local_ts) +
                          " === " + ts_text(c.remote_ts) + (c.transport ? " (transport)" : "") +
                          (c.udp_encap ? " (ESP-in-UDP)" : ""));
  ctx_.events.push_back(std::move(ev));
  children_.push_back(std::move(c));
}

void IkeSa::remove_child(std::size_t index, bool event) {
  if (index >= children_.size()) return;
  ChildSa& c = children_[index];
  if (event && c.state != ChildSaState::created) {
    ctx_.events.push_back(ChildSaRemove{c.name, c.spi_in, c.spi_out});
    log(LogLevel::info, "CHILD_SA " + c.name + "{" + std::to_string(c.unique_id) + "} closed (SPIs " +
                            hex32(c.spi_in) + "_i " + hex32(c.spi_out) + "_o)");
  }
  std::string name = c.name;
  bool live = c.state != ChildSaState::created;
  children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(index));
  // A rekey successor whose outbound SA waited for this one to go now sends.
  if (event && live) release_outbound(name);
}

std::optional<TimePoint> IkeSa::next_expiry() const {
  if (state_ == IkeSaState::destroyed) return std::nullopt;
  std::optional<TimePoint> t = tm_.next_expiry();
  auto earliest = [&](TimePoint x) {
    if (!t || x < *t) t = x;
  };
  if (destroy_at_) earliest(*destroy_at_);
  if (rekeyed_linger_until_) earliest(*rekeyed_linger_until_);
  if (reauth_retry_) earliest(TimePoint::min());
  if (state_ == IkeSaState::established) {
    if (ike_rekey_at_) earliest(*ike_rekey_at_);
    if (ike_expire_at_) earliest(*ike_expire_at_);
    for (const auto& c : children_) {
      if (c.state == ChildSaState::installed) earliest(c.rekey_at);
      earliest(c.expire_at);
    }
  }
  if (next_keepalive_) earliest(*next_keepalive_);
  if (auto dead = dpd_dead_at()) earliest(*dead);
  if (state_ == IkeSaState::established && cfg_->dpd_action != DpdAction::none && !tm_.request_outstanding() &&
      cfg_->dpd_delay.count() > 0)
    earliest(last_rx_ + cfg_->dpd_delay);
  return t;
}

void IkeSa::on_expiry(TimePoint now) {
  if (state_ == IkeSaState::destroyed) return;
  if (destroy_at_ && now >= *destroy_at_) {
    state_ = IkeSaState::destroyed;
    return;
  }
  if (rekeyed_linger_until_ && now >= *rekeyed_linger_until_) {
    log(LogLevel::info, "rekeyed IKE_SA removed (no DELETE from the peer)");
    state_ = IkeSaState::destroyed;
    return;
  }
  check_rekey_timers(now);
  if (state_ == IkeSaState::destroyed) return;
  if (next_keepalive_ && now >= *next_keepalive_) {
    ctx_.events.push_back(NatKeepalive{nat_port(local_), nat_port(remote_)});
    next_keepalive_ = now + ctx_.keepalive_interval;
  }
  if (auto dead = dpd_dead_at(); dead && now >= *dead) {
    peer_dead("no answer from " + remote_.to_string() + " for dpdtimeout " +
              std::to_string(cfg_->dpd_timeout.count()) + " s, peer considered dead (dpdaction " +
              (cfg_->dpd_action == DpdAction::restart ? "restart" : cfg_->dpd_action == DpdAction::hold ? "hold" : "clear") +
              ")");
    return;
  }
  switch (tm_.on_expiry(now)) {
    case TaskManager::Timeout::retransmit:
      ++ctx_.counters.retransmits;
      resend(frag_request_, tm_.request_data(), tm_.request_local(), tm_.request_remote());
      log(LogLevel::debug, "retransmitting request " + std::to_string(*tm_.outstanding_id()));
      return;
    case TaskManager::Timeout::give_up:
      if (active_ == Active::ike_delete) {
        destroy("peer did not answer the DELETE");
        return;
      }
      peer_dead("giving up after " + std::to_string(ctx_.retransmit.tries) + " retransmissions to " +
                remote_.to_string());
      return;
    case TaskManager::Timeout::none: break;
  }
  if (state_ == IkeSaState::established && cfg_->dpd_action != DpdAction::none && !tm_.request_outstanding() &&
      cfg_->dpd_delay.count() > 0 && now >= last_rx_ + cfg_->dpd_delay && queue_.empty()) {
    // Constructed in place: moving a temporary variant in makes g++ 12 -O3 report a false
    // -Wmaybe-uninitialized on the other alternatives.
    queue_.emplace_back(std::in_place_type<TaskDpd>);
    start_next_task(now);
  }
}

void IkeSa::peer_dead(const std::string& why) {
  ++ctx_.counters.peers_dead;
  log(LogLevel::warn, why);
  if (state_ != IkeSaState::established && initiator_) {
    // An initiation that got no answer: keyingtries decides whether another one follows.
    const unsigned tries = cfg_->keying_tries;
    const std::string of = tries ? " of " + std::to_string(tries) : " (keyingtries=%forever)";
    if (tries == 0 || attempt_ < tries) {
      request_restart(wanted_children(), attempt_ + 1, "attempt " + std::to_string(attempt_ + 1) + of);
    } else {
      log(LogLevel::warn, "giving up after attempt " + std::to_string(attempt_) + of);
    }
  } else if (cfg_->dpd_action == DpdAction::restart) {
    request_restart(wanted_children(), 1, "dpdaction=restart");
  }
  fail("peer not responding");
}

void IkeSa::request_restart(std::vector<std::string> children, unsigned attempt, std::string reason) {
  if (children.empty()) return;
  // wanted_children() answers from restart_children_ once restart_ is set.
  restart_children_ = std::move(children);
  restart_ = true;
  next_attempt_ = attempt;
  restart_reason_ = std::move(reason);
}

std::optional<TimePoint> IkeSa::dpd_dead_at() const {
  if (state_ != IkeSaState::established || cfg_->dpd_action == DpdAction::none || cfg_->dpd_timeout.count() <= 0 ||
      active_ == Active::ike_delete)
    return std::nullopt;
  auto sent = tm_.request_first_sent();
  if (!sent || last_rx_ > *sent) return std::nullopt;
  return *sent + cfg_->dpd_timeout;
}

IkeSaStatus IkeSa::status(TimePoint now) const {
  IkeSaStatus s;
  s.name = cfg_->name;
  s.unique_id = unique_id_;
  s.state = std::string(to_string(state_));
  if (state_ == IkeSaState::established)
    s.age = std::chrono::duration_cast<Seconds>(now - established_at_);
  s.local = local_;
  s.remote = remote_;
  s.local_id = cfg_->local_id.to_string();
  s.remote_id = peer_id_ ? peer_id_->to_string() : (cfg_->remote_id ? cfg_->remote_id->to_string() : "%any");
  s.spi_i = spi_i_;
  s.spi_r = spi_r_;
  s.initiator = initiator_;
  if (!ike_proposal_.encr.empty()) s.proposal = ike::to_string(ike_proposal_);
  if (cfg_->auth == PeerConfig::Auth::psk) s.auth = "pre-shared key";
  else s.auth = cfg_->peer_key || cfg_->ec_peer_key ? "public key" : "certificate";
  if (state_ == IkeSaState::established && ike_rekey_at_) {
    auto due = *ike_rekey_at_;
    auto left = std::chrono::duration_cast<Seconds>(due - now);
    (cfg_->reauth ? s.reauth_in : s.rekey_in) = left.count() > 0 ? left : Seconds{0};
  }
  for (const auto& c : children_) s.children.push_back(c.status(now));
  return s;
}

bool IkeSa::is_init_retransmit(common::ByteSpan raw) const {
  return !initiator_ && !init_request_.empty() && raw.size() == init_request_.size() &&
         std::equal(raw.begin(), raw.end(), init_request_.begin());
}

}  // namespace ike
