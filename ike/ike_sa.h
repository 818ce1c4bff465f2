// One IKE_SA: its state machine, keys, CHILD_SAs and the queue of exchanges it still has
// to run (RFC 7296). The engine routes datagrams and timer ticks to it; it answers with
// datagrams and events through the EngineCtx it is given. Each exchange's build/process
// lives in task_<exchange>.cpp as members of IkeSa.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/secret.h"
#include "ike/child_sa.h"
#include "ike/engine.h"
#include "ike/fragment.h"
#include "ike/keymat.h"
#include "ike/message.h"
#include "ike/sk.h"
#include "ike/task_manager.h"

namespace ike {

// rekeyed: an IKE_SA whose CHILD_SAs moved to its successor (RFC 7296 §2.18); it only
// waits for (or sends) its DELETE.
enum class IkeSaState : std::uint8_t { created, connecting, established, rekeyed, deleting, destroyed };
std::string_view to_string(IkeSaState s);

class IkeSa;

// What an IKE_SA needs from the engine that owns it.
struct EngineCtx {
  common::crypto::Random& rng;
  std::vector<OutDatagram>& outbox;
  std::vector<Event>& events;
  EngineCounters& counters;
  std::uint32_t next_child_unique_id = 1;
  // Peers the responder may pick from in IKE_SA_INIT / IKE_AUTH.
  std::vector<std::shared_ptr<const PeerConfig>>* peers = nullptr;
  RetransmitPolicy retransmit{};
  Seconds keepalive_interval{20};
  // RFC 7383: largest IP datagram of an IKE fragment we send (config setup fragment_size).
  std::size_t fragment_size = kDefaultFragmentSize;
  std::uint32_t next_ike_unique_id = 1;
  // IKE_SAs created by an IKE_SA rekey; the engine moves them into its table.
  std::vector<std::unique_ptr<IkeSa>> adopted;
  // The engine's table, read to tell a first contact with a peer (RFC 7296 §2.4).
  const std::vector<std::unique_ptr<IkeSa>>* sas = nullptr;
};

// Exchanges an IKE_SA initiates once established, one at a time (window size 1).
struct TaskChildCreate {
  std::string child;  // ChildConfig name
};
struct TaskChildDelete {
  std::uint32_t spi_in = 0;
};
struct TaskIkeDelete {};
struct TaskDpd {};
struct TaskChildRekey {
  std::uint32_t spi_in = 0;  // the CHILD_SA to replace
};
struct TaskIkeRekey {};
using Task = std::variant<TaskChildCreate, TaskChildDelete, TaskIkeDelete, TaskDpd, TaskChildRekey, TaskIkeRekey>;

using IkeKeys = IkeKeymat;  // ike/keymat.h derives them

// Reload: the first conn of `fresh` also in `old` whose CHILD_SA parameters (selectors,
// mode, esp, lifetimes, fuzz, replay window, volume limits; not auto=) differ.
std::optional<std::string> changed_child(const PeerConfig& old, const PeerConfig& fresh);

class IkeSa {
 public:
  // Initiator: first_child is the CHILD_SA carried by IKE_AUTH.
  IkeSa(EngineCtx& ctx, std::shared_ptr<const PeerConfig> cfg, std::uint32_t unique_id,
        bool initiator);

  // ---- initiator entry ----
  void initiate(const std::string& first_child, TimePoint now);
  void queue(Task t, TimePoint now);

  // ---- responder entry: an IKE_SA_INIT request for a new SA ----
  void respond_init(const Message& m, common::ByteSpan raw, const common::Endpoint& local,
                    const common::Endpoint& remote, TimePoint now);

  // A datagram whose SPIs belong to this SA.
  void on_datagram(const Header& h, common::ByteSpan raw, const common::Endpoint& local,
                   const common::Endpoint& remote, TimePoint now);
  std::optional<TimePoint> next_expiry() const;
  void on_expiry(TimePoint now);

  // Reload: adopt cfg (same IKE settings as old, no conn with changed CHILD parameters, see
  // changed_child); delete the CHILD_SAs of removed conns, create those of added auto=start
  // conns (Engine::update_peer).
  void reconfigure(std::shared_ptr<const PeerConfig> cfg, const PeerConfig& old, TimePoint now);
  // Delete every CHILD_SA locally (events), no message.
  void destroy_children();
  // Local teardown without a message (e.g. after INITIAL_CONTACT from the peer).
  void destroy(std::string_view why);

  bool is_initiator() const { return initiator_; }
  std::uint32_t unique_id() const { return unique_id_; }
  IkeSaState state() const { return state_; }
  std::uint64_t spi_i() const { return spi_i_; }
  std::uint64_t spi_r() const { return spi_r_; }
  std::uint64_t our_spi() const { return initiator_ ? spi_i_ : spi_r_; }
  const PeerConfig& config() const { return *cfg_; }
  const std::shared_ptr<const PeerConfig>& config_ptr() const { return cfg_; }
  const std::vector<ChildSa>& children() const { return children_; }
  const common::Endpoint& remote() const { return remote_; }
  const common::Endpoint& local() const { return local_; }
  const std::optional<Identity>& peer_id() const { return peer_id_; }
  bool has_child(std::string_view name) const;
  bool has_child_spi(std::uint32_t spi_in) const;
  // The data path's volume report (Engine::child_volume_reached): soft rekeys, hard deletes.
  void on_child_volume(std::uint32_t spi_in, bool hard, std::string_view what, TimePoint now);
  bool child_pending(std::string_view name) const;
  // Children to bring up again when this SA is given up with dpd_action=restart.
  std::vector<std::string> wanted_children() const;
  // The engine starts a new IKE_SA for restart_children() once this one is destroyed:
  // after dpdaction=restart or closeaction=restart (attempt 1), or after a failed attempt
  // of an initiation that keyingtries allows again (next_attempt() > 1).
  bool restart_requested() const { return restart_; }
  unsigned next_attempt() const { return next_attempt_; }
  const std::string& restart_reason() const { return restart_reason_; }
  // Which keyingtries attempt this initiation is (1 = the first).
  void set_attempt(unsigned n) { attempt_ = n; }
  IkeSaStatus status(TimePoint now) const;
  // The IKE_SA_INIT request that created this (responder) SA, to answer retransmissions.
  bool is_init_retransmit(common::ByteSpan raw) const;
  // Set when the peer sent INITIAL_CONTACT: the engine drops older SAs with that peer.
  bool take_initial_contact() {
    bool b = got_initial_contact_;
    got_initial_contact_ = false;
    return b;
  }

 private:
  // ---- message plumbing (ike_sa.cpp) ----
  void send_request(ExchangeType ex, std::vector<Payload> payloads, TimePoint now);
  void send_response(const Header& req, std::vector<Payload> payloads);
  common::Result<common::Bytes> encode(const Header& h, std::vector<Payload>& payloads);
  void log(common::LogLevel l, std::string text) const;
  void start_next_task(TimePoint now);
  void established(TimePoint now);
  void fail(std::string_view why);  // give up: SA destroyed (children removed)
  // The peer did not answer (retransmissions exhausted, or silent for dpdtimeout):
  // dpdaction applies (restart: the children are brought up again by the engine).
  void peer_dead(const std::string& why);
  // Marks `children` for a new IKE_SA after this one is destroyed (Engine cleanup).
  void request_restart(std::vector<std::string> children, unsigned attempt, std::string reason);
  // dpdtimeout (DPD on): when the peer, silent since our outstanding request was first
  // sent, is declared dead.
  std::optional<TimePoint> dpd_dead_at() const;
  std::uint32_t new_esp_spi();
  std::uint64_t new_ike_spi();  // random, not 0
  void install_child(ChildSa child, common::ByteSpan keymat_seed, bool exchange_initiator, TimePoint now,
                     bool defer_outbound = false);
  void remove_child(std::size_t index, bool event);
  ChildSa* find_child_by_in(std::uint32_t spi);
  ChildSa* find_child_by_out(std::uint32_t spi);
  const ChildConfig* child_config(std::string_view name) const;
  common::Bytes psk_auth(bool for_initiator, common::ByteSpan id_body) const;
  void derive_ike_keys(common::ByteSpan shared);
  void emit_ike_keys();
  common::Endpoint nat_port(const common::Endpoint& e) const;
  // RFC 7296 §2.4: whether another usable IKE_SA with this peer (address and identity)
  // exists; INITIAL_CONTACT is sent only when none does.
  bool has_contact() const;

  // ---- RFC 7383 fragmentation (ike_sa_fragment.cpp) ----
  // Decrypts an SK message, or collects an SKF fragment: *pending when more are needed.
  common::Result<Message> open_protected(const Header& h, common::ByteSpan raw, TimePoint now,
                                         ParseDiag* diag, bool* pending);
  // The SKF datagrams for an encoded message too large for the path, if the peer
  // announced support; empty when it goes whole.
  std::vector<common::Bytes> fragment_if_needed(const Header& h, const std::vector<Payload>& payloads,
                                                std::size_t whole_size);
  // Sends our last request or response again: all fragments, or the whole message.
  void resend(const std::vector<common::Bytes>& frags, const common::Bytes& whole,
              const common::Endpoint& local, const common::Endpoint& remote);
  // Whether a retransmitted request should be answered (§2.6.1: only its fragment 1).
  static bool retransmit_trigger(const Header& h, common::ByteSpan raw);

  // ---- IKE_SA_INIT (task_ike_init.cpp) ----
  void build_init_request(TimePoint now);
  void process_init_response(const Message& m, common::ByteSpan raw, TimePoint now);
  void check_nat(const Message& m, const Header& h, const common::Endpoint& local,
                 const common::Endpoint& remote);
  std::vector<Payload> nat_notifies(std::uint64_t spi_r, const common::Endpoint& local,
                                    const common::Endpoint& remote);

  // ---- AUTH payload data and signature hash negotiation (auth.cpp) ----
  // RFC 7296 §2.15 signed octets of the initiator's (or responder's) IKE_AUTH.
  common::Bytes signed_octets(bool for_initiator, common::ByteSpan id_body) const;
  // Our AUTH payload under cfg_ (PSK MAC, or an RSA signature); nullopt when signing fails.
  std::optional<AuthPayload> make_auth(bool for_initiator, common::ByteSpan id_body, std::string& why);
  std::optional<AuthPayload> make_ecdsa_auth_payload(common::ByteSpan octets, std::string& why);
  // Checks the peer's AUTH under cfg (PSK, the configured public key, or the key of the
  // peer's certificate from m's CERT payloads, which must hold `peer`); why says what failed.
  bool check_auth(const PeerConfig& cfg, bool peer_is_initiator, common::ByteSpan id_body,
                  const AuthPayload& a, const Identity& peer, const Message& m, std::string& why) const;
  // IKE_SA_INIT: our SIGNATURE_HASH_ALGORITHMS notify if due, and recording the peer's.
  void add_sig_hash_notify(std::vector<Payload>& pl);
  void note_sig_hashes(const Message& m);

  // ---- certificates (auth_cert.cpp) ----
  // CERTREQ with our CAs' key hashes, when cfg_ has CAs (IKE_SA_INIT response, IKE_AUTH request).
  void add_certreq(std::vector<Payload>& pl) const;
  // Our CERT, when cfg_ has a certificate and send_cert says so.
  void add_cert(std::vector<Payload>& pl) const;
  // Records that the peer asked for certificates (a CERTREQ, malformed ones logged).
  void note_certreq(const Message& m);
  // A peer's signature key: RSA or ECDSA.
  struct PeerKey {
    std::shared_ptr<const common::crypto::RsaPublicKey> rsa;
    std::shared_ptr<const common::crypto::EcPublicKey> ec;
    explicit operator bool() const { return rsa || ec; }
  };
  // The key of the peer's certificate under cfg (check_peer_cert), counted and logged;
  // empty with why set when the certificate is refused.
  PeerKey cert_key(const PeerConfig& cfg, const Identity& peer, const Message& m, std::string& why) const;

  // ---- IKE_AUTH (task_ike_auth.cpp) ----
  void build_auth_request(TimePoint now);
  void process_auth_request(const Message& m, TimePoint now);
  void process_auth_response(const Message& m, TimePoint now);

  // ---- CREATE_CHILD_SA (task_child_create.cpp) ----
  void build_child_request(const std::string& child, TimePoint now);
  void process_child_request(const Message& m, TimePoint now);
  void process_child_response(const Message& m, TimePoint now);
  // Responder half shared by IKE_AUTH and CREATE_CHILD_SA: selects config, proposal, TS;
  // appends the answer's payloads; returns the child to install or nullopt (notify added).
  std::optional<ChildSa> respond_child(const Message& m, bool in_auth, std::vector<Payload>& out,
                                       std::string& why);
  std::optional<ChildSa> accept_child_response(const Message& m, const std::string& child,
                                               std::uint32_t spi_in, bool in_auth,
                                               std::string& why);
  // The negotiated CHILD_SA of conn cc (unique id: the conn's, or a new one); spi_out is
  // the peer's 4-byte SPI.
  ChildSa new_child(const ChildConfig& cc, std::uint32_t spi_in, common::ByteSpan spi_out, const Proposal& p,
                    bool transport, const std::vector<common::TrafficSelector>& local,
                    const std::vector<common::TrafficSelector>& remote);
  // Initiator half shared by a new CHILD_SA and its rekey: PFS group (child_dh_group_, else
  // the first configured), fresh inbound SPI, nonce and DH key; appends SA, Ni, [KEi], TSi,
  // TSr, [USE_TRANSPORT_MODE] to pl. False: no DH key could be made.
  bool child_request_payloads(const ChildConfig& cc, const std::vector<common::TrafficSelector>& local,
                              const std::vector<common::TrafficSelector>& remote, bool transport,
                              std::vector<Payload>& pl);
  // An INVALID_KE_PAYLOAD answer asking for another group `child` offers: logged (`what`
  // names the exchange), child_dh_group_ set to it; true when the request is to be resent.
  bool child_ke_retry(const Message& m, const std::string& child, std::string_view what);
  // The group an INVALID_KE_PAYLOAD in m asks for, if `offered` has it and it is not `sent`.
  static std::optional<common::crypto::DhId> requested_group(const Message& m, const std::vector<Proposal>& offered,
                                                             common::crypto::DhId sent);
  // Responder side of a CREATE_CHILD_SA key exchange (PFS or IKE rekey): a new key of
  // `group` in `ours` and the secret it shares with the peer's public value.
  static common::Result<common::SecretBytes> respond_ke(common::crypto::DhId group, common::ByteSpan peer,
                                                  std::unique_ptr<common::crypto::Dh>& ours);
  // The answer to child_request_payloads(): accept_child_response, Nr, and KEr when the
  // chosen proposal has PFS; seed = g^ir (PFS only) | Ni | Nr.
  std::optional<ChildSa> accept_child_answer(const Message& m, const std::string& child, common::SecretBytes& seed,
                                             std::string& why);

  // ---- rekeying (task_rekey.cpp) ----
  TimePoint fuzzed_rekey_time(TimePoint from, Seconds life, Seconds margin, unsigned fuzz_percent);
  void schedule_child(ChildSa& c, TimePoint now);
  // lifebytes/lifepackets of the child's conn as soft/hard limits in its install event.
  void set_volume_limits(ChildSaInstall& ev, const ChildConfig& cc);
  void schedule_ike(TimePoint now);
  void check_rekey_timers(TimePoint now);
  void build_child_rekey(std::uint32_t old_spi_in, TimePoint now);
  void process_child_rekey_response(const Message& m, TimePoint now);
  void child_rekey_failed(std::uint32_t old_spi_in, const std::string& why, TimePoint now);
  // A peer's CREATE_CHILD_SA with REKEY_SA: answered like a new CHILD_SA; the old one stays
  // until the peer's DELETE. Returns false (answer sent) when refused.
  bool check_peer_child_rekey(const Message& m, std::uint32_t& old_spi_in);
  void build_ike_rekey(TimePoint now);
  void process_ike_rekey_request(const Message& m, TimePoint now);
  void process_ike_rekey_response(const Message& m, TimePoint now);
  void ike_rekey_failed(const std::string& why, TimePoint now);
  // The successor IKE_SA of a CREATE_CHILD_SA IKE rekey (RFC 7296 §2.18).
  std::unique_ptr<IkeSa> make_successor(bool we_initiated, std::uint64_t spi_i, std::uint64_t spi_r,
                                        const Proposal& p, common::ByteSpan shared, common::ByteSpan ni,
                                        common::ByteSpan nr, TimePoint now, std::string& why);
  void hand_over(IkeSa& to, TimePoint now);

  // ---- reauthentication (task_reauth.cpp) ----
  // Old SA: builds the successor (full IKE_SA_INIT + IKE_AUTH, then each CHILD_SA).
  void start_reauth(TimePoint now);
  // New SA: once established with every child tried, the old SA is deleted.
  void check_reauth_complete(TimePoint now);
  // New SA given up: the old one retries later (reauth_retry_).
  void reauth_failed();
  IkeSa* find_sa(std::uint32_t unique_id) const;
  // A rekey/reauth successor whose outbound SA waited for the removed child `name` sends now
  // (this SA's children and those of other IKE_SAs of the same peer).
  void release_outbound(const std::string& name);
  // Whether another IKE_SA with this peer holds a CHILD_SA of that conn (we answer its
  // reauthentication): the new SA's outbound waits until the old one goes.
  bool replaces_elsewhere(std::string_view child) const;

  // ---- INFORMATIONAL (task_informational.cpp) ----
  void process_info_request(const Message& m, TimePoint now);
  void process_info_response(const Message& m, TimePoint now);

  EngineCtx& ctx_;
  std::shared_ptr<const PeerConfig> cfg_;
  std::uint32_t unique_id_;
  bool initiator_;
  IkeSaState state_ = IkeSaState::created;
  std::uint64_t spi_i_ = 0, spi_r_ = 0;
  common::Endpoint local_, remote_;
  TaskManager tm_;

  // IKE_SA_INIT material
  Proposal ike_proposal_;  // chosen
  common::crypto::DhId dh_group_ = common::crypto::DhId::none;
  std::unique_ptr<common::crypto::Dh> dh_;
  common::Bytes ni_, nr_;
  common::Bytes init_request_, init_response_;
  common::Bytes cookie_;
  unsigned init_attempts_ = 0;
  bool nat_local_ = false, nat_remote_ = false, natt_ = false;

  IkeKeys keys_;
  std::unique_ptr<common::crypto::Prf> prf_;
  std::optional<sk::SkKeys> sk_in_, sk_out_;
  std::optional<Identity> peer_id_;
  // RFC 7427 §4: the peer's SIGNATURE_HASH_ALGORITHMS (seen: it sent the notify at all),
  // and whether we announced ours.
  std::vector<std::uint16_t> peer_sig_hashes_;
  bool peer_sig_hashes_seen_ = false, sent_sig_hashes_ = false;
  bool got_initial_contact_ = false;
  bool certreq_seen_ = false;  // the peer sent a CERTREQ (send_cert=ifasked)

  std::vector<ChildSa> children_;
  std::deque<Task> queue_;
  // The exchange we are waiting on (window size 1).
  enum class Active : std::uint8_t { none, init, auth, child, child_delete, ike_delete, dpd, child_rekey, ike_rekey };
  Active active_ = Active::none;
  std::string active_child_;           // init/auth/child: the ChildConfig name
  std::uint32_t active_spi_ = 0;       // auth/child: our inbound SPI; child_delete: which
  common::Bytes child_nonce_;          // CREATE_CHILD_SA: our nonce
  std::unique_ptr<common::crypto::Dh> child_dh_;
  common::crypto::DhId child_dh_group_ = common::crypto::DhId::none;

  // CHILD_SA rekey we initiated: the SA being replaced (active_spi_ is the new inbound SPI).
  std::uint32_t rekey_old_spi_ = 0;
  // Peer rekeys we answered while our own rekey of the same CHILD_SA was outstanding
  // (RFC 7296 §2.8.1 collision): resolved by nonces when our answer arrives.
  struct PeerChildRekey {
    std::uint32_t old_spi_in = 0, new_spi_in = 0;
    common::Bytes ni, nr;
  };
  std::vector<PeerChildRekey> peer_child_rekeys_;
  // IKE_SA rekey we initiated.
  std::uint64_t ike_rekey_spi_ = 0;
  common::Bytes ike_rekey_nonce_;
  std::unique_ptr<common::crypto::Dh> ike_rekey_dh_;
  common::crypto::DhId ike_rekey_group_ = common::crypto::DhId::none;
  // The peer's IKE rekey we answered while ours was outstanding (collision).
  std::unique_ptr<IkeSa> ike_collision_;
  common::Bytes ike_collision_ni_, ike_collision_nr_;
  std::optional<TimePoint> ike_rekey_at_, ike_expire_at_;
  std::optional<TimePoint> rekeyed_linger_until_;  // rekeyed: give up waiting for the DELETE

  Active last_info_ = Active::none;  // which INFORMATIONAL request a response answers
  TimePoint created_at_{}, established_at_{}, last_rx_{};
  std::optional<TimePoint> next_keepalive_;
  std::optional<TimePoint> destroy_at_;  // responder: linger to answer retransmissions
  bool restart_ = false;
  unsigned attempt_ = 1, next_attempt_ = 1;
  std::string restart_reason_;
  // RFC 7383: the peer sent IKEV2_FRAGMENTATION_SUPPORTED; reassembly of its requests and
  // responses; our last request/response as fragments (empty: sent whole).
  bool frag_peer_ = false;
  frag::Reassembler frag_requests_, frag_responses_;
  std::vector<common::Bytes> frag_request_, frag_response_;
  std::vector<std::string> restart_children_;
  // Reauthentication: the old SA knows its successor in the making, the new one the SA it
  // replaces (unique ids; either may be gone meanwhile).
  std::uint32_t reauth_new_id_ = 0, reauth_old_id_ = 0;
  bool reauth_retry_ = false;
};

}  // namespace ike
