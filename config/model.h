// The resolved configuration: what parse_string/load_file (config/config.h) turn an
// ipsec.conf-syntax file into. The typed `config setup`, conns (one CHILD_SA each), their
// IKE_SA groups, gre and pim sections, and their small methods (model.cpp).
//
// Where CONFIG.md is silent, strongSwan's ipsec.conf(5) defaults apply:
//   ikelifetime 3h, lifetime 1h, rekeymargin 9m, rekeyfuzz 100%, reauth no (strongSwan: yes), rekey yes,
//   dpddelay 30s, dpdtimeout 150s, dpdaction none, authby pubkey, type tunnel,
//   keyexchange ikev2, auto ignore, left/right %any, leftid/rightid = the address,
//   ike/esp: strongSwan's default proposals (see ike/proposal.h), ikeport 500,
//   forceencaps no, replay_window 32, fragmentation yes, fragment_size 1280, no volume
//   limits (lifebytes/lifepackets 0).
#pragma once

#include <chrono>
#include <cstdint>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <functional>
#include <vector>

#include "common/bytes.h"
#include "common/log.h"
#include "common/net.h"
#include "common/rsa.h"
#include "ike/proposal.h"

namespace config {

// Whether an address belongs to this host (config/config.h: system_local_address); used to
// pick the local side of a conn written from the other end.
using LocalAddress = std::function<bool(const common::IpAddr&)>;
// A host name's IPv4 address (config/config.h: system_resolve); nullopt with `error` set
// when it has none.
using HostResolver = std::function<std::optional<common::IpAddr>(const std::string& name, std::string& error)>;

using Seconds = std::chrono::seconds;

struct SetupConfig {
  std::string socket = "/run/swanless/swanless.sock";
  // socket_group: the control socket's group (chgrp), whose members may also use up/down.
  std::optional<gid_t> socket_group;
  std::string socket_group_name;  // as written
  // user=NAME: after opening sockets and devices, run as NAME (its uid and primary group,
  // or group=), keeping only the capabilities the config needs (config/capabilities.h).
  std::string user;
  std::string group;  // group=, as written; empty: the user's primary group
  uid_t user_uid = 0;
  gid_t user_gid = 0;
  // dumpable=yes: allow core dumps and ptrace by the same user (they expose every key);
  // default no: prctl(PR_SET_DUMPABLE, 0) once the secrets are loaded.
  bool dumpable = false;
  // metrics=HOST:PORT: Prometheus text at http://HOST:PORT/metrics; nullopt = off.
  std::optional<common::Endpoint> metrics;
  std::string secrets;  // default: the config's path with .secrets instead of .conf
  std::string keylog;   // empty = off
  std::string pcap;     // empty = off
  common::LogLevel loglevel = common::LogLevel::info;  // every subsystem, unless overridden
  // loglevel="info, ike debug": per-subsystem levels (common::Subsys order)
  std::array<std::optional<common::LogLevel>, common::kSubsystems> subsys_levels{};
  // log=stderr|journal|syslog; nullopt (log=auto): the journal when stderr is journald's
  std::optional<common::LogSink> log;
  // Largest IP datagram of an RFC 7383 IKE fragment we send (strongSwan's
  // charon.fragment_size), 256..65535.
  unsigned fragment_size = 1280;
  bool offload = true;  // TUN TSO + coalescing, UDP GSO/GRO, when the kernel grants them
  // rcvbuf=, sndbuf=: kernel buffers of the IKE/ESP sockets (and the deliver socket's send
  // side), in bytes. A receive burst beyond rcvbuf is lost in the kernel.
  std::size_t rcvbuf = std::size_t{32} << 20;
  std::size_t sndbuf = std::size_t{8} << 20;
  // X.509: folders of CA certificates and CRLs (every regular file in them, PEM or DER).
  // Empty: ipsec.d/cacerts and ipsec.d/crls beside the config, when they exist.
  std::string cadir, crldir;
  bool strict_crl = false;  // strictcrlpolicy=yes: a CA without a CRL fails every check
};

enum class AuthMethod : std::uint8_t { psk, pubkey };
enum class SendCert : std::uint8_t { always, ifasked, never };  // leftsendcert=
enum class Mode : std::uint8_t { tunnel, transport };
enum class AutoAction : std::uint8_t { ignore, add, start, route };
enum class DpdAction : std::uint8_t { none, clear, hold, restart };
using CloseAction = DpdAction;  // closeaction= takes dpdaction's four values

std::string_view to_string(AuthMethod a);
std::string_view to_string(Mode m);
std::string_view to_string(AutoAction a);
std::string_view to_string(DpdAction a);
// "3h", "9m", "30s", "1h30m" style (largest exact units).
std::string format_duration(Seconds s);

// One side of a conn (left = local, right = remote).
struct HostConfig {
  enum class Kind : std::uint8_t { address, any, defaultroute };
  Kind kind = Kind::any;
  common::IpAddr addr;  // valid when kind == address
  // right=vpn.example.net: the name as written; addr is what it resolved to when the file
  // was read (the daemon resolves it again while it runs, daemon/daemon.cpp).
  std::string dns_name;
  std::string id;       // leftid/rightid as written; empty = the address
  // Traffic selectors. When leftsubnet is absent they are the host address (with
  // leftprotoport); when the address is %any/%defaultroute and no subnet is given,
  // `dynamic` is true and `protocol`/ports are applied to the runtime address.
  std::vector<common::TrafficSelector> subnets;
  bool dynamic = false;
  // The leftsubnet CIDR items as written, host bits kept: `leftsubnet=10.45.8.17/28` is
  // the selector 10.45.8.16/28 and puts 10.45.8.17/28 on the TUN device (tunnel mode).
  // Ranges have no entry here. Empty when no subnet was configured.
  std::vector<common::Prefix> prefixes;
  std::uint8_t protocol = 0;  // leftprotoport
  std::uint16_t port_lo = 0, port_hi = 65535;
  std::uint16_t ike_port = 500;
  common::Bytes rsasigkey;  // libreswan 0s... raw RSA key (RFC 3110), decoded
  std::string pubkey;       // PEM file path (resolved against the config's folder)
  // leftvti= (libreswan): the address this side gets on a route-based conn's device.
  std::optional<common::Prefix> vti;
  // leftcert=/rightcert=: certificate file (PEM or DER), resolved against the config's
  // folder, else ipsec.d/certs/ beside it (strongSwan's /etc/ipsec.d/certs layout).
  std::string cert;
  // rightca=: a CA certificate file (the peer's only trust anchor), resolved as cert= is
  // with ipsec.d/cacerts/, or the CA's DN (the chain must pass through it); as written.
  std::string ca;
  std::string ca_file;  // ca resolved to an existing file; empty: ca is a DN (or unset)

  // The identity used in IKE: id if set, else the address as text (empty for %any).
  std::string effective_id() const;
  std::string address_text() const;  // "1.2.3.4", "%any", "%defaultroute"
};

struct ConnConfig {
  std::string name;
  std::string file;
  int line = 0;
  HostConfig left, right;
  AuthMethod auth = AuthMethod::pubkey;
  Mode mode = Mode::tunnel;
  AutoAction auto_action = AutoAction::ignore;
  ike::ProposalSet ike;
  ike::ProposalSet esp;
  // leftauth=/rightauth= (strongSwan's ipsec.conf(5) syntax): the RSA signature scheme we
  // sign with (sign) and the one the peer must use (require). pss: RSASSA-PSS (rsa/pss);
  // hashes: the RFC 7427 hashes in order of preference (-sha256 ...), empty = any of
  // SHA2-256/384/512. Defaults: PKCS#1 v1.5 to sign, any scheme accepted.
  struct SigScheme {
    bool pss = false;
    std::vector<common::crypto::SigHash> hashes;
    bool operator==(const SigScheme&) const = default;
    std::string to_string() const;  // "rsa/pss-sha256", "pubkey"
  };
  SigScheme sign, require;
  SendCert send_cert = SendCert::ifasked;  // strongSwan's default
  Seconds ike_lifetime{3 * 3600};
  Seconds lifetime{3600};
  Seconds rekey_margin{9 * 60};
  unsigned rekey_fuzz_percent = 100;
  bool rekey = true;
  bool reauth = false;  // swanless's default (strongSwan's is yes): see docs/CONFIG.md
  Seconds dpd_delay{30};
  Seconds dpd_timeout{150};
  DpdAction dpd_action = DpdAction::none;
  // What follows when the peer closes the CHILD_SA or its IKE_SA (ike::CloseAction).
  CloseAction close_action = CloseAction::none;
  // Initiation attempts before giving up (strongSwan's default 3); 0 = %forever.
  unsigned keying_tries = 3;
  bool force_encaps = false;
  bool fragmentation = true;  // RFC 7383 announced and used (strongSwan's fragmentation=yes)
  // Rekey by volume: the CHILD_SA is rekeyed when its bytes/packets (either direction)
  // reach life - margin, and removed at life. 0 = no limit.
  std::uint64_t life_bytes = 0, life_packets = 0, margin_bytes = 0, margin_packets = 0;
  std::uint32_t replay_window = 32;
  std::string ike_sa;  // name of the IkeSaGroup this conn's CHILD_SA lives under
  // Route-based (vti=NAME, libreswan's vti-interface=NAME): the conn has a TUN device of
  // its own, and what the host routes into it goes to this conn's SA (selectors default to
  // 0.0.0.0/0). The device gets leftvti's address and no routes, unless vti_routing
  // (libreswan's vti-routing=yes) routes the remote selectors into it.
  std::string vti;
  bool vti_routing = false;
};

// Conns that share one IKE_SA (same endpoints, ids, auth and IKE parameters).
struct IkeSaGroup {
  std::string name;                // the common also= parent if there is one, else first conn
  std::vector<std::string> conns;  // each one CHILD_SA
};

struct GreConfig {
  enum class Keepalive : std::uint8_t { reply, off, send };
  std::string name;
  std::string file;
  int line = 0;
  common::IpAddr local, remote;
  std::string conn;  // resolved (explicit or the covering conn)
  common::Prefix address;
  common::IpAddr peer;
  unsigned mtu = 1476;
  // TCP MSS clamp on SYNs crossing the tunnel: nullopt = automatic (mtu - 40), 0 = off.
  std::optional<unsigned> mss;
  unsigned ttl = 255;
  std::optional<std::uint32_t> key;
  std::vector<common::Prefix> routes;
  Keepalive keepalive = Keepalive::reply;
  std::chrono::milliseconds keepalive_interval{0};  // when keepalive == send
  unsigned keepalive_retries = 3;
  bool keepalive_written = false;  // keepalive= or keepalive_retries= given (else defaults may change)
  bool tun = true;
};

struct PimConfig {
  struct SourceGroup {
    common::IpAddr source, group;
    bool operator==(const SourceGroup&) const = default;
  };
  std::string name;
  std::string file;
  int line = 0;
  std::string interface;  // a gre section's name: the first (preferred) of `interfaces`
  // interface=gre1,gre2: two tunnels, each to its own gateway, and how they share the joins
  std::vector<std::string> interfaces;
  std::vector<common::IpAddr> neighbors;  // per interface: its gre's peer (or neighbor=)
  enum class Upstream : std::uint8_t { single, active_standby, both };
  Upstream upstream = Upstream::single;
  Seconds holddown{60};  // active-standby: the preferred tunnel must be healthy this long to switch back
  struct Dedup {
    bool hash = false;        // dedup=hash: a hash of the payload, else its sequence number
    std::size_t offset = 0;   // dedup=sequence:OFFSET:WIDTH[:le]
    std::uint8_t width = 4;
    bool little_endian = false;
    std::uint64_t window = 65536;  // sequence numbers remembered per flow
    std::chrono::milliseconds hash_window{1000};
  };
  std::optional<Dedup> dedup;
  common::IpAddr neighbor;
  common::IpAddr rp;
  std::vector<common::IpAddr> groups;
  std::vector<SourceGroup> sources;
  // groups=auto (alone or in the list): local members on the gre's TUN device, as its IGMP
  // reports say, add and remove joins (swanless is the IGMP querier there).
  bool igmp = false;
  std::vector<common::Prefix> allow;  // groups members may join; empty = any multicast group
  std::vector<common::Prefix> deny;   // groups members may not join (deny wins)
  std::vector<common::Prefix> ssm;    // source-specific only: members' (*,G) ignored (RFC 4604)
  Seconds query_interval{125};        // IGMP general query interval
  std::chrono::milliseconds last_member_query_interval{1000};
  unsigned robustness = 2;
  unsigned max_groups = 4096;         // member-driven groups at most
  Seconds hello{30};
  Seconds join{60};
  Seconds holdtime{210};
  bool deliver_tun = false;
  std::vector<common::Endpoint> deliver_udp;
};

struct Config {
  std::string path;
  SetupConfig setup;
  std::vector<ConnConfig> conns;  // auto=add|start only; auto=ignore ones are templates
  std::vector<std::string> ignored_conns;
  // What swanless decided while reading, for check and the log ("conn x: right=... is an
  // address of this host, so right is the local side here").
  std::vector<std::string> notes;
  std::vector<IkeSaGroup> ike_sas;
  std::vector<GreConfig> gres;
  std::vector<PimConfig> pims;

  const ConnConfig* find_conn(std::string_view name) const;
  const GreConfig* find_gre(std::string_view name) const;
  const IkeSaGroup* find_ike_sa(std::string_view name) const;
};

}  // namespace config
