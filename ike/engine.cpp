// The Engine: owns every IKE_SA, routes datagrams to them by SPI, creates responder SAs
// for new IKE_SA_INIT requests, and turns conn-level commands (initiate, terminate) into
// tasks queued on the right IKE_SA.
#include "ike/engine.h"

#include <algorithm>

#include "ike/cookie.h"
#include "ike/ike_sa.h"
#include "ike/payload_rules.h"

namespace ike {

using common::Errc;
using common::LogLevel;
using common::make_error;

struct Engine::Impl {
  explicit Impl(common::crypto::Random& r) : rng(r), ctx{r, outbox, events, counters}, cookies(r) {
    ctx.peers = &peers;
    ctx.sas = &sas;
  }
  common::crypto::Random& rng;
  std::vector<OutDatagram> outbox;
  std::vector<Event> events;
  EngineCounters counters;
  EngineCtx ctx;
  std::vector<std::shared_ptr<const PeerConfig>> peers;
  std::vector<std::unique_ptr<IkeSa>> sas;
  DosLimits limits;
  CookieJar cookies;

  std::size_t count_half_open() const {
    std::size_t n = 0;
    for (const auto& sa : sas)
      if (!sa->is_initiator() && sa->state() == IkeSaState::connecting) ++n;
    return n;
  }

  // RFC 7296 §2.6: whether a new IKE_SA_INIT request may create state. Past the threshold
  // it needs a valid COOKIE (else one is sent, statelessly); past the cap it is dropped.
  bool admit_init(const Message& m, const common::Endpoint& local, const common::Endpoint& remote,
                  TimePoint now) {
    std::size_t half = count_half_open();
    counters.half_open = half;
    if (half >= limits.half_open_max) {
      ++counters.half_open_refused;
      return false;
    }
    if (half < limits.cookie_threshold) return true;
    const auto* nonce = m.find<NoncePayload>();
    if (!nonce) return true;  // refused (INVALID_SYNTAX) without state by respond_init
    if (const auto* c = m.find_notify(NotifyType::cookie)) {
      if (cookies.verify(c->data, nonce->data, remote.addr, m.header.spi_i, now)) return true;
      ++counters.cookies_rejected;
    }
    NotifyPayload n;
    n.type = NotifyType::cookie;
    n.data = cookies.make(nonce->data, remote.addr, m.header.spi_i, now);
    if (send_init_notify(m.header, std::move(n), local, remote)) ++counters.cookies_sent;
    return false;
  }

  // A stateless IKE_SA_INIT response (SPIr zero) carrying only the notify n.
  bool send_init_notify(const Header& req, NotifyPayload n, const common::Endpoint& local,
                        const common::Endpoint& remote) {
    Message out;
    out.header.spi_i = req.spi_i;
    out.header.exchange = ExchangeType::ike_sa_init;
    out.header.response = true;
    out.header.message_id = req.message_id;
    out.payloads.push_back(std::move(n));
    auto bytes = encode_message(out);
    if (!bytes) return false;
    outbox.push_back(OutDatagram{local, remote, std::move(*bytes)});
    ++counters.tx_messages;
    return true;
  }

  // The stateless IKE_SA_INIT error response with the notify for diag's reason.
  void answer_init_error(const Header& req, const ParseDiag& diag, const common::Endpoint& local,
                         const common::Endpoint& remote) {
    auto type = notify_for(diag.reason);
    if (!type) return;
    NotifyPayload n;
    n.type = *type;
    if (*type == NotifyType::unsupported_critical_payload) n.data = common::Bytes(1, std::byte{diag.payload_type});
    send_init_notify(req, std::move(n), local, remote);
  }

  void log(LogLevel l, std::string t) { events.push_back(LogEvent{l, std::move(t)}); }

  std::shared_ptr<const PeerConfig> find_peer(std::string_view name) const {
    for (const auto& p : peers)
      if (p->name == name) return p;
    return nullptr;
  }
  std::shared_ptr<const PeerConfig> find_child_peer(std::string_view child) const {
    for (const auto& p : peers)
      for (const auto& c : p->children)
        if (c.name == child) return p;
    return nullptr;
  }
  IkeSa* sa_for(const std::shared_ptr<const PeerConfig>& p) {
    for (auto& sa : sas)
      if ((sa->state() == IkeSaState::established || sa->state() == IkeSaState::connecting ||
           sa->state() == IkeSaState::created) &&
          sa->config().name == p->name)
        return sa.get();
    return nullptr;
  }

  common::Status initiate_child(const std::shared_ptr<const PeerConfig>& p, const std::string& child,
                                TimePoint now, unsigned attempt = 1) {
    if (!p->remote_addr) return make_error(Errc::config, "peer address is %any: cannot initiate");
    if (IkeSa* sa = sa_for(p)) {
      if (sa->has_child(child) || sa->child_pending(child)) return {};
      sa->queue(TaskChildCreate{child}, now);
      return {};
    }
    auto sa = std::make_unique<IkeSa>(ctx, p, ctx.next_ike_unique_id++, true);
    sa->set_attempt(attempt);
    sa->initiate(child, now);
    sas.push_back(std::move(sa));
    return {};
  }

  void cleanup(TimePoint now) {
    // Successors of rekeyed IKE_SAs join the table.
    for (auto& n : ctx.adopted) sas.push_back(std::move(n));
    ctx.adopted.clear();
    struct Restart {
      std::shared_ptr<const PeerConfig> peer;
      std::vector<std::string> children;
      unsigned attempt;
      std::string reason;
    };
    std::vector<Restart> restarts;
    for (auto& sa : sas)
      if (sa->state() == IkeSaState::destroyed && sa->restart_requested())
        restarts.push_back({sa->config_ptr(), sa->wanted_children(), sa->next_attempt(), sa->restart_reason()});
    std::erase_if(sas, [](const auto& sa) { return sa->state() == IkeSaState::destroyed; });
    counters.half_open = count_half_open();
    for (auto& r : restarts) {
      // Only the peer as configured now (a reload may have removed or replaced it).
      auto p = find_peer(r.peer->name);
      if (!p || !p->remote_addr) continue;
      log(LogLevel::info, p->name + ": initiating again (" + r.reason + ")");
      for (const auto& c : r.children)
        if (std::any_of(p->children.begin(), p->children.end(), [&](const ChildConfig& cc) { return cc.name == c; }))
          (void)initiate_child(p, c, now, r.attempt);
    }
  }

  void initial_contact(IkeSa* fresh) {
    if (!fresh->take_initial_contact()) return;
    for (auto& sa : sas) {
      if (sa.get() == fresh || sa->state() == IkeSaState::destroyed) continue;
      if (sa->config().name == fresh->config().name && sa->peer_id() == fresh->peer_id())
        sa->destroy("peer sent INITIAL_CONTACT, replaced by a new IKE_SA");
    }
  }
};

Engine::Engine(common::crypto::Random& rng) : impl_(std::make_unique<Impl>(rng)) {}
Engine::~Engine() = default;

common::Status Engine::add_peer(PeerConfig cfg) {
  if (cfg.name.empty()) return make_error(Errc::config, "peer without a name");
  if (impl_->find_peer(cfg.name)) return make_error(Errc::config, "duplicate peer name");
  for (const auto& c : cfg.children)
    if (impl_->find_child_peer(c.name) || impl_->find_peer(c.name))
      if (c.name != cfg.name) return make_error(Errc::config, "duplicate conn name");
  if (auto st = complete_peer(cfg); !st) return st;
  impl_->peers.push_back(std::make_shared<const PeerConfig>(std::move(cfg)));
  return {};
}

common::Status Engine::update_peer(PeerConfig cfg, TimePoint now) {
  auto& I = *impl_;
  auto it = std::find_if(I.peers.begin(), I.peers.end(), [&](const auto& p) { return p->name == cfg.name; });
  if (it == I.peers.end()) return add_peer(std::move(cfg));
  for (const auto& c : cfg.children)
    if (auto other = I.find_child_peer(c.name); (other && other->name != cfg.name) || (c.name != cfg.name && I.find_peer(c.name)))
      return make_error(Errc::config, "duplicate conn name");
  if (auto st = complete_peer(cfg); !st) return st;
  std::shared_ptr<const PeerConfig> old = *it;
  // A conn kept with other CHILD parameters: the safe way is the old one, the whole IKE_SA
  // is re-established (replacing the CHILD_SA in place would have both ends, each reloading,
  // replace it: two new pairs).
  if (auto changed = changed_child(*old, cfg)) {
    I.log(LogLevel::info, "reload: conn " + *changed + " changed its CHILD_SA parameters: re-establishing IKE_SA " +
                              cfg.name);
    std::vector<std::string> starts;
    for (const auto& c : cfg.children)
      if (c.start) starts.push_back(c.name);
    remove_peer(cfg.name, now);
    I.peers.push_back(std::make_shared<const PeerConfig>(std::move(cfg)));
    for (const auto& c : starts) (void)initiate(c, now);
    return {};
  }
  auto fresh = std::make_shared<const PeerConfig>(std::move(cfg));
  *it = fresh;
  for (std::size_t i = 0; i < I.sas.size(); ++i)
    if (I.sas[i]->config().name == fresh->name && I.sas[i]->state() != IkeSaState::destroyed)
      I.sas[i]->reconfigure(fresh, *old, now);
  I.cleanup(now);
  return {};
}

common::Status Engine::set_peer_address(const std::string& name, const common::IpAddr& addr) {
  auto& I = *impl_;
  auto it = std::find_if(I.peers.begin(), I.peers.end(), [&](const auto& p) { return p->name == name; });
  if (it == I.peers.end()) return make_error(Errc::config, "no such peer");
  if (!(*it)->remote_addr) return make_error(Errc::config, "peer address is %any");
  if (*(*it)->remote_addr == addr) return {};
  auto fresh = std::make_shared<PeerConfig>(**it);
  I.log(LogLevel::info, name + ": peer address " + fresh->remote_addr->to_string() + " -> " + addr.to_string() +
                            " for IKE_SAs from now on");
  fresh->remote_addr = addr;
  *it = std::move(fresh);
  return {};
}

common::Status Engine::complete_peer(PeerConfig& cfg) {
  if (cfg.ike_proposals.empty()) cfg.ike_proposals = default_proposals(Protocol::ike);
  for (const auto& p : cfg.ike_proposals)
    if (p.protocol != Protocol::ike || p.dh.empty() || p.prf.empty() || p.encr.empty())
      return make_error(Errc::config, "IKE proposal without cipher, PRF or DH group");
  for (auto& c : cfg.children) {
    if (c.esp_proposals.empty()) c.esp_proposals = default_proposals(Protocol::esp);
    if (c.local_ts.empty() || c.remote_ts.empty()) {
      // No subnet: the hosts themselves (strongSwan's default).
      if (c.local_ts.empty())
        c.local_ts.push_back(common::TrafficSelector{cfg.local_addr, cfg.local_addr});
      if (c.remote_ts.empty() && cfg.remote_addr)
        c.remote_ts.push_back(common::TrafficSelector{*cfg.remote_addr, *cfg.remote_addr});
    }
  }
  return {};
}

void Engine::remove_peer(const std::string& name, TimePoint now) {
  (void)terminate(name, now);
  std::erase_if(impl_->peers, [&](const auto& p) { return p->name == name; });
}

common::Status Engine::initiate(const std::string& name, TimePoint now) {
  if (auto p = impl_->find_peer(name)) {
    if (p->children.empty()) return make_error(Errc::config, "peer has no conn to initiate");
    for (const auto& c : p->children) {
      auto s = impl_->initiate_child(p, c.name, now);
      if (!s) return s;
    }
    return {};
  }
  if (auto p = impl_->find_child_peer(name)) return impl_->initiate_child(p, name, now);
  return make_error(Errc::config, "no such conn");
}

common::Status Engine::terminate(const std::string& name, TimePoint now) {
  if (auto p = impl_->find_peer(name)) {
    for (auto& sa : impl_->sas) {
      if (sa->config().name != name || sa->state() == IkeSaState::destroyed) continue;
      if (sa->state() == IkeSaState::established) sa->queue(TaskIkeDelete{}, now);
      else if (sa->state() != IkeSaState::deleting) sa->destroy("terminated before established");
    }
    impl_->cleanup(now);
    return {};
  }
  for (auto& sa : impl_->sas) {
    for (const auto& c : sa->children())
      if (c.name == name && c.state == ChildSaState::installed) {
        sa->queue(TaskChildDelete{c.spi_in}, now);
        return {};
      }
  }
  if (impl_->find_child_peer(name)) return make_error(Errc::state, "conn has no CHILD_SA");
  return make_error(Errc::config, "no such conn");
}

void Engine::start(TimePoint now) {
  for (const auto& p : impl_->peers)
    for (const auto& c : p->children)
      if (c.start) {
        auto s = impl_->initiate_child(p, c.name, now);
        if (!s) impl_->log(LogLevel::warn, c.name + ": cannot initiate: " + s.error().detail);
      }
}

void Engine::shutdown(TimePoint now) {
  for (auto& sa : impl_->sas) {
    if (sa->state() == IkeSaState::established) sa->queue(TaskIkeDelete{}, now);
    else if (sa->state() != IkeSaState::deleting) sa->destroy("shutting down");
  }
  impl_->cleanup(now);
}

void Engine::on_datagram(const common::Endpoint& local, const common::Endpoint& remote,
                         common::ByteSpan data, TimePoint now) {
  auto& I = *impl_;
  ++I.counters.rx_messages;
  auto h = Header::parse(data);
  if (!h || h->major_version != 2) {
    ++I.counters.rx_malformed;
    return;
  }
  IkeSa* target = nullptr;
  if (h->exchange == ExchangeType::ike_sa_init && !h->response && h->spi_r == 0 && h->initiator) {
    for (auto& sa : I.sas)
      if (!sa->is_initiator() && sa->spi_i() == h->spi_i && sa->remote() == remote &&
          sa->state() != IkeSaState::destroyed)
        target = sa.get();
    if (!target) {
      ParseDiag diag;
      auto m = parse_message(data, &diag);
      if (!m || !check_rules(*m, &diag)) {
        ++I.counters.rx_malformed;
        // §2.5: a request with an unknown critical payload MUST be answered with
        // UNSUPPORTED_CRITICAL_PAYLOAD naming its type. Stateless, and shorter than the
        // request, so it amplifies nothing; other malformed requests are dropped silently.
        if (diag.reason == ParseReason::unsupported_critical) I.answer_init_error(*h, diag, local, remote);
        return;
      }
      if (!I.admit_init(*m, local, remote, now)) return;
      std::shared_ptr<const PeerConfig> cfg;
      for (const auto& p : I.peers) {
        if (!p->local_addr.is_unspecified() && p->local_addr != local.addr) continue;
        if (p->remote_addr && *p->remote_addr != remote.addr) continue;
        cfg = p;
        break;
      }
      if (!cfg) {
        ++I.counters.rx_unknown_spi;
        I.log(LogLevel::info, "no IKE config found for " + local.addr.to_string() + "..." +
                                  remote.addr.to_string() + ", IKE_SA_INIT ignored");
        return;
      }
      auto sa = std::make_unique<IkeSa>(I.ctx, cfg, I.ctx.next_ike_unique_id++, false);
      I.log(LogLevel::info, remote.to_string() + " is initiating an IKE_SA (" + cfg->name + ")");
      sa->respond_init(*m, data, local, remote, now);
      I.sas.push_back(std::move(sa));
      I.cleanup(now);
      return;
    }
  } else {
    bool we_initiated = !h->initiator;
    std::uint64_t ours = we_initiated ? h->spi_i : h->spi_r;
    for (auto& sa : I.sas)
      if (sa->is_initiator() == we_initiated && sa->our_spi() == ours && sa->state() != IkeSaState::destroyed)
        target = sa.get();
  }
  if (!target) {
    ++I.counters.rx_unknown_spi;
    return;
  }
  target->on_datagram(*h, data, local, remote, now);
  I.initial_contact(target);
  I.cleanup(now);
}

void Engine::child_volume_reached(std::uint32_t spi_in, bool hard, std::string_view what, TimePoint now) {
  for (auto& sa : impl_->sas)
    if (sa->state() == IkeSaState::established && sa->has_child_spi(spi_in)) {
      sa->on_child_volume(spi_in, hard, what, now);
      break;
    }
  impl_->cleanup(now);
}

std::optional<TimePoint> Engine::next_expiry() const {
  std::optional<TimePoint> t;
  for (const auto& sa : impl_->sas)
    if (auto e = sa->next_expiry(); e && (!t || *e < *t)) t = e;
  return t;
}

void Engine::on_expiry(TimePoint now) {
  for (std::size_t i = 0; i < impl_->sas.size(); ++i) {
    auto e = impl_->sas[i]->next_expiry();
    if (e && *e <= now) impl_->sas[i]->on_expiry(now);
  }
  impl_->cleanup(now);
}

std::vector<OutDatagram>& Engine::outbox() { return impl_->outbox; }
std::vector<Event>& Engine::events() { return impl_->events; }

std::vector<IkeSaStatus> Engine::status(TimePoint now) const {
  std::vector<IkeSaStatus> out;
  for (const auto& sa : impl_->sas)
    if (sa->state() != IkeSaState::destroyed) out.push_back(sa->status(now));
  return out;
}

const EngineCounters& Engine::counters() const { return impl_->counters; }

void Engine::set_dos_limits(const DosLimits& limits) {
  impl_->limits = limits;
  impl_->cookies.set_rotation(limits.cookie_rotation);
}

void Engine::set_fragment_size(std::size_t bytes) {
  impl_->ctx.fragment_size = std::max(bytes, kMinFragmentSize);
}

}  // namespace ike
