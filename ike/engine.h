// The IKEv2 core's public contract (sans-I/O). The driver in apps/ feeds it datagrams
// received on the IKE sockets and the time; it answers with datagrams to send and events
// (CHILD_SAs to install/remove in the ESP data path, keys for the keylog, log lines).
// It never opens a socket, reads a clock or logs by itself.
//
// One Engine holds every IKE_SA of the process. A PeerConfig is one IKE_SA's worth of
// configuration (the conns that share left/right/ids/auth), each ChildConfig one conn.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.h"
#include "common/secret.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/net.h"
#include "common/result.h"
#include "ike/proposal.h"

namespace common::crypto {
class RsaPrivateKey;
class RsaPublicKey;
class EcPrivateKey;
class EcPublicKey;
enum class SigHash : std::uint8_t;
}  // namespace common::crypto
namespace common::x509 {
class Certificate;
class TrustStore;
}  // namespace common::x509

namespace ike {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Seconds = std::chrono::seconds;

// RFC 7296 §3.5 ID payload.
struct Identity {
  enum class Type : std::uint8_t { ipv4 = 1, fqdn = 2, rfc822 = 3, ipv6 = 5, der_asn1_dn = 9, key_id = 11 };
  Type type = Type::ipv4;
  common::Bytes data;
  // "192.0.2.1" → ipv4; "user@host" → rfc822; "@name" or other text → fqdn (strongSwan rules).
  static Identity from_string(std::string_view s);
  std::string to_string() const;
  bool operator==(const Identity&) const = default;
};

enum class DpdAction : std::uint8_t { none, clear, hold, restart };
// strongSwan's closeaction, with dpdaction's four values: what follows when the PEER
// deletes a CHILD_SA, or the IKE_SA carrying it, outside a rekey. restart: initiated again
// at once (from our side; needs the peer's address). hold: nothing here; the data path
// traps the conn (ChildConfig::Trap). none, clear: it stays down.
using CloseAction = DpdAction;

struct ChildConfig {
  std::string name;  // the conn's name
  std::vector<common::TrafficSelector> local_ts;
  std::vector<common::TrafficSelector> remote_ts;
  bool transport = false;
  std::vector<Proposal> esp_proposals;
  Seconds lifetime{3600};
  Seconds rekey_margin{540};
  // rekeyfuzz: the rekey happens up to this percentage of rekey_margin EARLIER than
  // lifetime - rekey_margin, chosen at random per SA (strongSwan's default 100).
  unsigned rekey_fuzz_percent = 100;
  std::uint32_t replay_window = 32;
  // Rekey by volume (strongSwan's lifebytes/lifepackets/marginbytes/marginpackets; 0 = no
  // limit): the data path reports the SA reaching life - margin (less rekeyfuzz% of the
  // margin, at random) and life; see Engine::child_volume_reached.
  std::uint64_t life_bytes = 0, life_packets = 0, margin_bytes = 0, margin_packets = 0;
  bool start = false;  // auto=start: initiate at load
  // Trap policy (the data path's, not the engine's): a packet for the conn's selectors with
  // no SA initiates it and waits, bounded, for the SA. always: auto=route, from load on;
  // after_loss: dpdaction=hold or closeaction=hold, once the CHILD_SA has been up.
  enum class Trap : std::uint8_t { none, always, after_loss };
  Trap trap = Trap::none;
  CloseAction close_action = CloseAction::none;
};

struct PeerConfig {
  std::string name;  // IKE_SA name shown in status (the first conn's name, or the also= base)
  common::IpAddr local_addr;
  std::optional<common::IpAddr> remote_addr;  // nullopt: %any (responder only)
  std::uint16_t local_port = 500;
  std::uint16_t remote_port = 500;
  Identity local_id;
  std::optional<Identity> remote_id;  // nullopt: accept any
  // How both ends authenticate (RFC 7296 §2.15): pre-shared key, or RSA signatures (AUTH
  // method 14 with RFC 7427 hashes when the peer announced them, else method 1) checked
  // against a configured raw public key.
  enum class Auth : std::uint8_t { psk, pubkey };
  Auth auth = Auth::psk;
  common::SecretBytes psk;
  std::shared_ptr<const common::crypto::RsaPrivateKey> private_key;  // Auth::pubkey: ours
  std::shared_ptr<const common::crypto::RsaPublicKey> peer_key;      // Auth::pubkey: the peer's
  // ECDSA instead of RSA (`: ECDSA key.pem`, an EC rightpubkey=): AUTH method 14 with
  // ecdsa-with-SHA256/384/512 when the peer announced a hash, else RFC 4754 method 9/10/11.
  std::shared_ptr<const common::crypto::EcPrivateKey> ec_private_key;  // set instead of private_key
  std::shared_ptr<const common::crypto::EcPublicKey> ec_peer_key;      // set instead of peer_key
  // RFC 7427 signature authentication (strongSwan's charon.signature_authentication): send
  // SIGNATURE_HASH_ALGORITHMS and sign with method 14. Off: method 1 only (older peers).
  bool rfc7427 = true;
  // RSA signature schemes (RFC 7427, RFC 8247 §3.2; config leftauth=/rightauth=). We sign
  // with RSASSA-PSS when sign_pss (leftauth=rsa/pss), else PKCS#1 v1.5 (strongSwan's default),
  // with the first of sign_hashes (empty: SHA2-256, -384, -512) the peer announced; with a
  // scheme configured (sign_pss or sign_hashes) there is no method-1 fallback. The peer must
  // sign with RSASSA-PSS when require_pss (rightauth=rsa/pss), and with one of accept_hashes
  // when set (then method 1, SHA-1, is refused); accept_hashes is also what our
  // SIGNATURE_HASH_ALGORITHMS notify announces (empty: SHA2-256, -384, -512).
  bool sign_pss = false;
  std::vector<common::crypto::SigHash> sign_hashes;
  bool require_pss = false;
  std::vector<common::crypto::SigHash> accept_hashes;
  // X.509 (RFC 7296 §3.6/§3.7, RFC 4945; config leftcert=, cadir=/rightca=, rightcert=).
  // With Auth::pubkey and no peer_key, the peer's key comes from its certificate: the one
  // it sends in CERT (verified against trust, CRLs included) or the pinned peer_cert; its
  // IDi/IDr must be the certificate's subject DN or one of its subjectAltNames.
  std::shared_ptr<const common::x509::Certificate> local_cert;  // sent in CERT
  // Intermediate CA certificates sent after local_cert (the rest of the leftcert file).
  std::vector<std::shared_ptr<const common::x509::Certificate>> local_chain;
  enum class SendCert : std::uint8_t { always, ifasked, never };
  SendCert send_cert = SendCert::ifasked;  // ifasked: when the peer sent a CERTREQ
  std::shared_ptr<const common::x509::TrustStore> trust;       // CAs (and CRLs); CERTREQ
  std::shared_ptr<const common::x509::Certificate> peer_cert;  // rightcert=: pinned
  common::Bytes peer_ca_dn;  // rightca="DN": the chain must hold this CA (empty: any of trust)
  std::vector<Proposal> ike_proposals;
  bool force_encaps = false;
  // RFC 7383 (strongSwan's fragmentation=yes|no): announce IKEV2_FRAGMENTATION_SUPPORTED and
  // fragment protected messages larger than the engine's fragment size. Off: neither.
  bool fragmentation = true;
  Seconds ike_lifetime{10800};
  Seconds rekey_margin{540};
  unsigned rekey_fuzz_percent = 100;  // as ChildConfig::rekey_fuzz_percent, for the IKE_SA
  // reauth=yes: at ikelifetime - margin a new IKE_SA is built with a full IKE_AUTH and the
  // CHILD_SAs are re-created under it, then this one is deleted (make-before-break);
  // false: the IKE_SA is rekeyed with CREATE_CHILD_SA (RFC 7296 §2.18).
  bool reauth = false;
  // After a failed rekey (NO_PROPOSAL_CHOSEN, TEMPORARY_FAILURE, TS_UNACCEPTABLE, no answer)
  // the next attempt waits this long (never past the SA's hard expiry).
  Seconds rekey_retry{30};
  Seconds dpd_delay{30};
  Seconds dpd_timeout{150};
  DpdAction dpd_action = DpdAction::none;
  // keyingtries: initiation attempts (each one IKE_SA_INIT/IKE_AUTH run up to the
  // retransmission limit) before an initiation is given up; 0 = %forever. A replacement
  // after dpdaction=restart or closeaction=restart counts its attempts afresh.
  unsigned keying_tries = 3;
  std::vector<ChildConfig> children;
};

// ---- what comes out of the engine ----

struct OutDatagram {
  common::Endpoint local;   // source (port 500 or 4500)
  common::Endpoint remote;  // destination
  common::Bytes data;       // the IKE message, WITHOUT the non-ESP marker (driver adds it on 4500)
};

struct ChildSaInstall {
  std::string child_name;
  std::uint32_t unique_id = 0;  // like strongSwan's reqid: stable across rekeys of one conn
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
  common::crypto::EncrId encr{};
  unsigned key_bits = 0;
  common::crypto::IntegId integ = common::crypto::IntegId::none;
  bool esn = false;
  common::SecretBytes encr_key_in, integ_key_in;    // keys for traffic we receive
  common::SecretBytes encr_key_out, integ_key_out;  // keys for traffic we send
  bool transport = false;
  std::vector<common::TrafficSelector> local_ts, remote_ts;  // negotiated (narrowed)
  common::Endpoint local, remote;  // outer addresses; ports meaningful when udp_encap
  bool udp_encap = false;
  std::uint32_t replay_window = 32;
  std::string proposal;  // "AES_CBC_256/HMAC_SHA2_256_128/MODP_2048" for status
  // Volume limits for the data path (0 = none): either direction's inner bytes/packets at
  // soft → Engine::child_volume_reached(soft), at hard → (hard).
  std::uint64_t soft_bytes = 0, hard_bytes = 0, soft_packets = 0, hard_packets = 0;
  // true for the RESPONDER of a CHILD_SA rekey: install the inbound SA now, but keep
  // sending on the old SA (the peer cannot decrypt the new one before it has our answer);
  // the outbound SA goes live with ChildSaOutbound, when the old SA is deleted.
  bool outbound_deferred = false;
};

// The deferred outbound SA of a rekeyed CHILD_SA (see ChildSaInstall::outbound_deferred)
// may now carry traffic.
struct ChildSaOutbound {
  std::string child_name;
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
};

struct ChildSaRemove {
  std::string child_name;
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
};

// Keys of an IKE_SA for Wireshark's ikev2_decryption_table (keylog).
struct IkeSaKeys {
  std::uint64_t spi_i = 0, spi_r = 0;
  common::crypto::EncrId encr{};
  unsigned key_bits = 0;
  common::crypto::IntegId integ = common::crypto::IntegId::none;
  common::SecretBytes sk_ei, sk_er, sk_ai, sk_ar;  // for the keylog only
};

struct LogEvent {
  common::LogLevel level;
  std::string text;
};

// Behind a NAT (or with force_encaps), every 20 s of the IKE_SA: the driver sends one 0xFF
// byte (RFC 3948 §2.3 NAT-keepalive, no non-ESP marker) from local to remote (port 4500).
struct NatKeepalive {
  common::Endpoint local, remote;
};

using Event = std::variant<ChildSaInstall, ChildSaRemove, IkeSaKeys, LogEvent, NatKeepalive, ChildSaOutbound>;

// ---- status ----

struct ChildSaStatus {
  std::string name;
  std::uint32_t unique_id = 0;
  std::string state;  // INSTALLED, REKEYING, ...
  bool transport = false;
  bool udp_encap = false;
  std::uint32_t spi_in = 0, spi_out = 0;
  std::string proposal;
  std::vector<common::TrafficSelector> local_ts, remote_ts;
  std::optional<Seconds> rekey_in;
};

struct IkeSaStatus {
  std::string name;
  std::uint32_t unique_id = 0;
  std::string state;  // CONNECTING, ESTABLISHED, ...
  std::optional<Seconds> age;  // since established
  common::Endpoint local, remote;
  std::string local_id, remote_id;
  std::uint64_t spi_i = 0, spi_r = 0;
  bool initiator = false;
  std::string proposal;  // "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
  std::string auth;      // "pre-shared key", "public key" (raw) or "certificate"
  std::optional<Seconds> rekey_in;   // reauth=no: the next IKE_SA rekey
  std::optional<Seconds> reauth_in;  // reauth=yes: the next reauthentication
  std::vector<ChildSaStatus> children;
};

// Counters of what the engine dropped or refused, by reason (shown in status).
struct EngineCounters {
  std::uint64_t rx_messages = 0, tx_messages = 0, retransmits = 0;
  std::uint64_t rx_malformed = 0, rx_unknown_spi = 0, rx_bad_integrity = 0;
  std::uint64_t auth_failures = 0, no_proposal = 0, ts_unacceptable = 0;
  std::uint64_t child_rekeys = 0, ike_rekeys = 0, rekey_failures = 0, rekey_collisions = 0;
  // RFC 7296 §2.6 flood defence: COOKIE challenges sent, IKE_SA_INIT requests with a wrong
  // or stale COOKIE, requests dropped at the half-open cap; half_open is a gauge (now).
  std::uint64_t cookies_sent = 0, cookies_rejected = 0, half_open_refused = 0, half_open = 0;
  // Dead peer detection (RFC 7296 §2.4): liveness checks sent (empty INFORMATIONAL
  // requests), peers declared dead (no answer to a request within its limits).
  std::uint64_t dpd_checks = 0, peers_dead = 0;
  // X.509: CERT payloads that did not parse (too many, not DER), peer certificates refused
  // (chain, CRL, validity, identity, key); each also counts as an auth failure.
  std::uint64_t cert_malformed = 0, cert_refused = 0;
};

// strongSwan's charon.fragment_size default: IKE fragments fit a 1280-byte IP datagram.
inline constexpr std::size_t kDefaultFragmentSize = 1280;
inline constexpr std::size_t kMinFragmentSize = 256;

// Limits against half-open IKE_SA floods (RFC 7296 §2.6).
struct DosLimits {
  std::size_t cookie_threshold = 10;  // half-open SAs from which a COOKIE is demanded
  std::size_t half_open_max = 1000;   // beyond this, IKE_SA_INIT requests are dropped
  Seconds cookie_rotation{120};       // how long one cookie secret is used
};

class Engine {
 public:
  explicit Engine(common::crypto::Random& rng);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  common::Status add_peer(PeerConfig cfg);
  void remove_peer(const std::string& name, TimePoint now);  // deletes its SAs
  // Reload of a peer whose IKE-level settings are unchanged (only its conns differ): its
  // running IKE_SAs take the new config. CHILD_SAs of removed conns are deleted, new conns
  // with start=true are created; the other CHILD_SAs keep their SPIs. If a kept conn's
  // CHILD parameters changed (selectors, mode, esp, lifetimes, replay window, volume
  // limits), the peer is restarted instead (its IKE_SAs deleted, the start=true conns
  // initiated again), logged with the conn's name. A name not known yet is added as by
  // add_peer.
  common::Status update_peer(PeerConfig cfg, TimePoint now);
  // A peer known by name (right=NAME) resolved to another address: IKE_SAs initiated from
  // now on go there, and requests from it are matched to this peer. Running SAs stay on
  // the address they were made with. Errc::config for an unknown peer or one with %any.
  common::Status set_peer_address(const std::string& name, const common::IpAddr& addr);
  // Initiate a child (conn name) — bringing up its IKE_SA first if needed — or, given a
  // peer name, all of that peer's children.
  common::Status initiate(const std::string& name, TimePoint now);
  // Delete a child (conn name) or a whole IKE_SA (peer name).
  common::Status terminate(const std::string& name, TimePoint now);
  // Initiates every child with start=true; called once after the peers are added.
  void start(TimePoint now);
  // Sends DELETEs for every IKE_SA (on SIGTERM); the driver flushes the outbox then exits.
  void shutdown(TimePoint now);

  // An IKE message (non-ESP marker already stripped) received on local from remote.
  void on_datagram(const common::Endpoint& local, const common::Endpoint& remote,
                   common::ByteSpan data, TimePoint now);
  std::optional<TimePoint> next_expiry() const;
  void on_expiry(TimePoint now);

  // The data path saw the CHILD_SA whose inbound SPI is spi_in reach its soft volume limit
  // (a rekey starts) or its hard one (the CHILD_SA is deleted); `what` names the counter
  // for the log ("bytes", "packets", "sequence numbers"). Reported once per limit.
  void child_volume_reached(std::uint32_t spi_in, bool hard, std::string_view what, TimePoint now);

  // Drained by the driver after every call above.
  std::vector<OutDatagram>& outbox();
  std::vector<Event>& events();

  std::vector<IkeSaStatus> status(TimePoint now) const;
  const EngineCounters& counters() const;
  void set_dos_limits(const DosLimits& limits);
  // Largest IP datagram (bytes, >= kMinFragmentSize) of an RFC 7383 fragment we send; a
  // protected message above it goes as fragments when both ends support them.
  void set_fragment_size(std::size_t bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Defaults filled in (proposals, host selectors); an error for an unusable IKE proposal.
  static common::Status complete_peer(PeerConfig& cfg);
};

}  // namespace ike
