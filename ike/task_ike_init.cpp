// IKE_SA_INIT (RFC 7296 §1.2): SA, KE, Nonce and NAT detection, both roles; the
// INVALID_KE_PAYLOAD (§1.2, §2.7) and COOKIE (§2.6) retries of the initiator.
#include <algorithm>

#include "ike/ike_sa.h"
#include "ike/nat_detect.h"
#include "ike/proposal_select.h"
#include "ike/proposal_wire.h"
#include "ike/task_util.h"

namespace ike {

using common::LogLevel;
using common::crypto::DhId;

std::vector<Payload> IkeSa::nat_notifies(std::uint64_t spi_r, const common::Endpoint& local,
                                         const common::Endpoint& remote) {
  NatHash src = nat_detection_hash(spi_i_, spi_r, local);
  if (cfg_->force_encaps) ctx_.rng.fill(src);  // a source no one has: the peer sees a NAT
  NatHash dst = nat_detection_hash(spi_i_, spi_r, remote);
  return {notify(NotifyType::nat_detection_source_ip, common::Bytes(src.begin(), src.end())),
          notify(NotifyType::nat_detection_destination_ip, common::Bytes(dst.begin(), dst.end()))};
}

void IkeSa::check_nat(const Message& m, const Header& h, const common::Endpoint& local,
                      const common::Endpoint& remote) {
  NatHash src = nat_detection_hash(h.spi_i, h.spi_r, remote);
  NatHash dst = nat_detection_hash(h.spi_i, h.spi_r, local);
  bool have_src = false, have_dst = false, src_match = false, dst_match = false;
  for (const auto& p : m.payloads) {
    const auto* n = std::get_if<NotifyPayload>(&p);
    if (!n) continue;
    if (n->type == NotifyType::nat_detection_source_ip) {
      have_src = true;
      src_match |= n->data.size() == src.size() && std::equal(src.begin(), src.end(), n->data.begin());
    } else if (n->type == NotifyType::nat_detection_destination_ip) {
      have_dst = true;
      dst_match |= n->data.size() == dst.size() && std::equal(dst.begin(), dst.end(), n->data.begin());
    }
  }
  nat_remote_ = have_src && !src_match;
  nat_local_ = have_dst && !dst_match;
  bool supported = have_src || have_dst;
  natt_ = supported && (nat_remote_ || nat_local_ || cfg_->force_encaps);
  if (nat_local_) log(LogLevel::info, "local host is behind NAT, sending keep alives");
  if (nat_remote_) log(LogLevel::info, "remote host is behind NAT");
  if (!nat_local_ && !nat_remote_ && natt_) log(LogLevel::info, "faking NAT situation to enforce UDP encapsulation");
}

void IkeSa::initiate(const std::string& first_child, TimePoint now) {
  created_at_ = now;
  // A reauthentication copies the old SA's addresses first: they fill in what the config
  // leaves open (left=%any, or a responder config with right=%any).
  common::IpAddr local_addr = cfg_->local_addr.is_unspecified() && !local_.addr.is_unspecified() ? local_.addr
                                                                                               : cfg_->local_addr;
  local_ = common::Endpoint{local_addr, cfg_->local_port};
  remote_ = common::Endpoint{cfg_->remote_addr ? *cfg_->remote_addr : remote_.addr, cfg_->remote_port};
  active_child_ = first_child;
  log(LogLevel::info, "initiating IKE_SA " + cfg_->name + "[" + std::to_string(unique_id_) + "] to " +
                          remote_.addr.to_string());
  build_init_request(now);
}

void IkeSa::build_init_request(TimePoint now) {
  state_ = IkeSaState::connecting;
  active_ = Active::init;
  ++init_attempts_;
  tm_ = TaskManager(ctx_.retransmit);
  spi_r_ = 0;
  if (dh_group_ == DhId::none) {
    for (const auto& p : cfg_->ike_proposals)
      if (!p.dh.empty()) {
        dh_group_ = p.dh[0];
        break;
      }
  }
  auto dh = common::crypto::Dh::generate(dh_group_);
  if (!dh) {
    fail("cannot generate a DH key");
    return;
  }
  dh_ = std::move(*dh);
  // Kept across the COOKIE / INVALID_KE_PAYLOAD retries: a responder's cookie covers Ni
  // (RFC 7296 §2.6), so a fresh nonce would be refused again.
  if (ni_.empty()) {
    ni_.assign(kNonceSize, std::byte{0});
    ctx_.rng.fill(ni_);
  }

  std::vector<Payload> pl;
  if (!cookie_.empty()) pl.push_back(notify(NotifyType::cookie, cookie_));
  SaPayload sa;
  std::uint8_t num = 1;
  for (const auto& p : cfg_->ike_proposals) sa.proposals.push_back(to_sa_proposal(p, num++, {}));
  pl.push_back(std::move(sa));
  KePayload ke;
  ke.dh_group = static_cast<std::uint16_t>(dh_group_);
  ke.data = common::to_bytes(dh_->public_value());
  pl.push_back(std::move(ke));
  pl.push_back(NoncePayload{ni_});
  for (auto& n : nat_notifies(0, local_, remote_)) pl.push_back(std::move(n));
  if (cfg_->fragmentation) pl.push_back(notify(NotifyType::ikev2_fragmentation_supported));
  add_sig_hash_notify(pl);
  send_request(ExchangeType::ike_sa_init, std::move(pl), now);
  if (tm_.request_outstanding()) init_request_ = tm_.request_data();
}

void IkeSa::process_init_response(const Message& m, common::ByteSpan raw, TimePoint now) {
  if (const auto* c = m.find_notify(NotifyType::cookie)) {
    if (init_attempts_ >= 5 || c->data.empty()) return fail("COOKIE loop");
    cookie_ = c->data;
    build_init_request(now);
    return;
  }
  if (const auto* n = m.find_notify(NotifyType::invalid_ke_payload)) {
    common::Reader r(n->data);
    auto group = static_cast<DhId>(r.u16());
    bool ours = false;
    for (const auto& p : cfg_->ike_proposals)
      ours |= std::find(p.dh.begin(), p.dh.end(), group) != p.dh.end();
    if (!r.ok() || !ours || group == dh_group_ || init_attempts_ >= 5) {
      ++ctx_.counters.no_proposal;
      return fail("peer asked for DH group " + std::string(dh_name(group)) + " that we do not offer");
    }
    log(LogLevel::info, "peer didn't accept DH group " + std::string(dh_name(dh_group_)) + ", it requested " +
                            std::string(dh_name(group)));
    dh_group_ = group;
    build_init_request(now);
    return;
  }
  if (const auto* e = m.find_error_notify()) {
    if (e->type == NotifyType::no_proposal_chosen) {
      ++ctx_.counters.no_proposal;
      log(LogLevel::warn, "received NO_PROPOSAL_CHOSEN notify error (configured: " +
                              proposals_text(cfg_->ike_proposals) + ")");
    }
    return fail("IKE_SA_INIT refused with " + std::string(to_string(e->type)));
  }
  const auto* sa = m.find<SaPayload>();
  const auto* ke = m.find<KePayload>();
  const auto* nonce = m.find<NoncePayload>();
  if (!sa || !ke || !nonce || sa->proposals.size() != 1 || m.header.spi_r == 0) {
    ++ctx_.counters.rx_malformed;
    return fail("incomplete IKE_SA_INIT response");
  }
  auto chosen = from_sa_proposal(sa->proposals[0]);
  if (!chosen || chosen->encr.size() != 1 || chosen->prf.size() != 1 || chosen->dh.size() != 1 ||
      chosen->integ.size() > 1 || !proposal_acceptable(cfg_->ike_proposals, *chosen)) {
    ++ctx_.counters.no_proposal;
    return fail("responder chose a proposal we did not offer");
  }
  if (chosen->dh[0] != dh_group_ || ke->dh_group != static_cast<std::uint16_t>(dh_group_)) {
    return fail("responder's KE group does not match");
  }
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) return fail("invalid KE payload from responder");
  ike_proposal_ = *chosen;
  spi_r_ = m.header.spi_r;
  nr_ = nonce->data;
  init_response_ = common::to_bytes(raw);
  frag_peer_ = cfg_->fragmentation && m.find_notify(NotifyType::ikev2_fragmentation_supported) != nullptr;
  note_sig_hashes(m);
  note_certreq(m);
  check_nat(m, m.header, local_, remote_);
  derive_ike_keys(*shared);
  if (!sk_in_ || !sk_out_ || !prf_) return fail("cannot set up IKE keys");
  if (natt_) {
    local_ = nat_port(local_);
    remote_ = nat_port(remote_);
  }
  build_auth_request(now);
}

void IkeSa::respond_init(const Message& m, common::ByteSpan raw, const common::Endpoint& local,
                         const common::Endpoint& remote, TimePoint now) {
  state_ = IkeSaState::connecting;
  created_at_ = now;
  last_rx_ = now;
  local_ = local;
  remote_ = remote;
  spi_i_ = m.header.spi_i;
  init_request_ = common::to_bytes(raw);

  auto refuse = [&](NotifyPayload n) {
    std::uint64_t ours = spi_r_;
    spi_r_ = 0;  // §2.6/§1.2: stateless error answers carry a zero responder SPI
    send_response(m.header, {std::move(n)});
    spi_r_ = ours;
    state_ = IkeSaState::destroyed;
  };

  const auto* sa = m.find<SaPayload>();
  const auto* ke = m.find<KePayload>();
  const auto* nonce = m.find<NoncePayload>();
  if (!sa || !ke || !nonce) {
    ++ctx_.counters.rx_malformed;
    return refuse(notify(NotifyType::invalid_syntax));
  }
  std::vector<Proposal> theirs;
  std::vector<std::uint8_t> numbers;
  for (const auto& sp : sa->proposals) {
    if (auto p = from_sa_proposal(sp); p && p->protocol == Protocol::ike && sp.spi.empty()) {
      theirs.push_back(std::move(*p));
      numbers.push_back(sp.number);
    }
  }
  auto sel = select_proposal(cfg_->ike_proposals, theirs);
  if (!sel) {
    ++ctx_.counters.no_proposal;
    log(LogLevel::warn, "no acceptable proposal: received " + proposals_text(theirs) + ", configured " +
                            proposals_text(cfg_->ike_proposals));
    return refuse(notify(NotifyType::no_proposal_chosen));
  }
  DhId group = sel->chosen.dh.at(0);
  if (ke->dh_group != static_cast<std::uint16_t>(group)) {
    log(LogLevel::info, "DH group " + std::string(dh_name(static_cast<DhId>(ke->dh_group))) +
                            " unacceptable, requesting " + std::string(dh_name(group)));
    common::Bytes d;
    common::Writer w(d);
    w.u16(static_cast<std::uint16_t>(group));
    return refuse(notify(NotifyType::invalid_ke_payload, d));
  }
  auto dh = common::crypto::Dh::generate(group);
  if (!dh) return refuse(notify(NotifyType::no_proposal_chosen));
  dh_ = std::move(*dh);
  dh_group_ = group;
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) {
    ++ctx_.counters.rx_malformed;
    return refuse(notify(NotifyType::invalid_syntax));
  }
  ike_proposal_ = sel->chosen;
  ni_ = nonce->data;
  nr_.assign(kNonceSize, std::byte{0});
  ctx_.rng.fill(nr_);
  check_nat(m, m.header, local, remote);
  note_sig_hashes(m);
  derive_ike_keys(*shared);
  if (!sk_in_ || !sk_out_ || !prf_) return refuse(notify(NotifyType::no_proposal_chosen));

  std::vector<Payload> pl;
  SaPayload out_sa;
  out_sa.proposals.push_back(to_sa_proposal(ike_proposal_, numbers[sel->index], {}));
  pl.push_back(std::move(out_sa));
  KePayload out_ke;
  out_ke.dh_group = static_cast<std::uint16_t>(group);
  out_ke.data = common::to_bytes(dh_->public_value());
  pl.push_back(std::move(out_ke));
  pl.push_back(NoncePayload{nr_});
  if (m.find_notify(NotifyType::nat_detection_source_ip))
    for (auto& n : nat_notifies(spi_r_, local_, remote_)) pl.push_back(std::move(n));
  frag_peer_ = cfg_->fragmentation && m.find_notify(NotifyType::ikev2_fragmentation_supported) != nullptr;
  if (frag_peer_) pl.push_back(notify(NotifyType::ikev2_fragmentation_supported));
  add_sig_hash_notify(pl);
  add_certreq(pl);
  send_response(m.header, std::move(pl));
  init_response_ = tm_.cached_response();
  // Wait for IKE_AUTH; a half-open SA is dropped if it never comes.
  destroy_at_ = now + Seconds{30};
}

}  // namespace ike
