// The key table (see keys.h). One row per key and disposition; the left/right variants of
// a conn's side keys are rows of their own so that the table reads as the list of keys a
// config may hold.
#include "config/keys.h"

#include <algorithm>
#include <iterator>

namespace config {
namespace {

using D = Disposition;

// Why a key that pasted strongSwan/libreswan configs carry changes nothing here. Each says
// what swanless does instead, so that the warning is true for that key.
constexpr std::string_view kDaemonOnly = "a charon/pluto daemon setting with no counterpart in swanless";
constexpr std::string_view kLogging = "charon/pluto logging; swanless uses log= and loglevel= (e.g. loglevel=\"info, ike debug\")";
constexpr std::string_view kNoCerts =
    "not implemented: CRLs are read from crldir= (or ipsec.d/crls) when swanless starts or reloads, never fetched "
    "or cached";
constexpr std::string_view kNatT = "NAT traversal (RFC 3948) is always on in swanless";
constexpr std::string_view kNoPools = "swanless assigns no virtual addresses to peers";
constexpr std::string_view kUniqueIds =
    "swanless always acts on a peer's INITIAL_CONTACT (its older SAs are deleted), as uniqueids=yes does";
constexpr std::string_view kKernelState =
    "it selects kernel XFRM states and policies; swanless keeps its SAs in the process and has none";
constexpr std::string_view kNoConfigPayload =
    "DNS servers travel in IKEv2's configuration payload, which swanless does not have: it asks for and hands out "
    "none; configure the resolver yourself";
constexpr std::string_view kUpdown =
    "swanless runs no updown script: it puts the addresses and routes on its own TUN device (swanless check shows "
    "them)";
constexpr std::string_view kFirewall =
    "swanless adds no firewall rules; its ESP arrives on its own sockets, so no kernel policy rule is needed";
constexpr std::string_view kNextHop = "the kernel's routing table picks the next hop of swanless's UDP packets";
constexpr std::string_view kHwOffload = "NIC offload of kernel ESP; swanless's ESP runs in user space";
constexpr std::string_view kCompress =
    "IPComp (RFC 3173) is not implemented: swanless proposes none, and a peer that requires it gets no CHILD_SA";
constexpr std::string_view kTfc = "traffic flow confidentiality padding is not implemented; ESP packets are not padded";
constexpr std::string_view kMobike = "MOBIKE (RFC 4555) is not implemented: an IKE_SA stays on the addresses it was made with";
constexpr std::string_view kInactivity = "not implemented: an idle CHILD_SA stays up until its lifetime ends";
constexpr std::string_view kSha256_96 =
    "swanless always truncates HMAC-SHA-256 to 128 bits (RFC 4868); a peer that uses 96 bits fails every ICV";
constexpr std::string_view kIkev1Only = "an IKEv1 setting; swanless speaks IKEv2 only";
constexpr std::string_view kRetransmit =
    "swanless retransmits IKE requests on strongSwan's default schedule (4 s, then x1.8 each time, 5 retransmissions)";
constexpr std::string_view kPeerType = "a libreswan interop switch; swanless speaks plain RFC 7296 to every peer";
constexpr std::string_view kNarrowing =
    "swanless accepts and makes traffic selectors narrowed within the configured subnets (RFC 7296 §2.9), as "
    "narrowing=yes does; status shows the ones installed";

constexpr KeyRow kKeys[] = {
    // config setup
    {"socket", kInSetup, D::honoured},
    {"socket_group", kInSetup, D::honoured},
    {"metrics", kInSetup, D::honoured},
    {"sample", kInSetup, D::honoured},
    {"user", kInSetup, D::honoured},
    {"group", kInSetup, D::honoured},
    {"dumpable", kInSetup, D::honoured},
    {"secrets", kInSetup, D::honoured},
    {"keylog", kInSetup, D::honoured},
    {"pcap", kInSetup, D::honoured},
    {"loglevel", kInSetup, D::honoured},
    {"log", kInSetup, D::honoured},
    {"fragment_size", kInSetup, D::honoured},
    {"offload", kInSetup, D::honoured},
    {"rcvbuf", kInSetup, D::honoured},
    {"sndbuf", kInSetup, D::honoured},
    {"charondebug", kInSetup, D::warned, kLogging},
    {"uniqueids", kInSetup, D::warned, kUniqueIds},
    {"cachecrls", kInSetup, D::warned, kNoCerts},
    {"strictcrlpolicy", kInSetup, D::honoured},
    {"cadir", kInSetup, D::honoured},
    {"crldir", kInSetup, D::honoured},
    {"plutodebug", kInSetup, D::warned, kLogging},
    {"protostack", kInSetup, D::warned, kKernelState},
    {"interfaces", kInSetup, D::warned, kDaemonOnly},
    {"nat_traversal", kInSetup, D::warned, kNatT},
    {"virtual_private", kInSetup, D::warned, kNoPools},
    {"nhelpers", kInSetup, D::warned, kDaemonOnly},
    {"plutostderrlog", kInSetup, D::warned, kLogging},
    {"logfile", kInSetup, D::warned, kLogging},
    {"dumpdir", kInSetup, D::warned, kDaemonOnly},
    {"charonstart", kInSetup, D::warned, kDaemonOnly},
    {"plutostart", kInSetup, D::warned, kDaemonOnly},

    // conn: both ends
    {"keyexchange", kInConn, D::honoured},
    {"type", kInConn, D::honoured},
    {"authby", kInConn, D::honoured},
    {"ike", kInConn, D::honoured},
    {"esp", kInConn, D::honoured},
    {"ikelifetime", kInConn, D::honoured},
    {"lifetime", kInConn, D::honoured},
    {"rekeymargin", kInConn, D::honoured},
    {"rekeyfuzz", kInConn, D::honoured},
    {"rekey", kInConn, D::honoured},
    {"reauth", kInConn, D::honoured},
    {"dpddelay", kInConn, D::honoured},
    {"dpdtimeout", kInConn, D::honoured},
    {"dpdaction", kInConn, D::honoured},
    {"forceencaps", kInConn, D::honoured},
    {"replay_window", kInConn, D::honoured},
    {"auto", kInConn, D::honoured},
    {"fragmentation", kInConn, D::honoured},
    {"lifebytes", kInConn, D::honoured},
    {"lifepackets", kInConn, D::honoured},
    {"marginbytes", kInConn, D::honoured},
    {"marginpackets", kInConn, D::honoured},
    {"also", kInConn, D::honoured},
    // conn: one end (left = local, right = remote)
    {"left", kInConn, D::honoured},
    {"right", kInConn, D::honoured},
    {"leftid", kInConn, D::honoured},
    {"rightid", kInConn, D::honoured},
    {"leftsubnet", kInConn, D::honoured},
    {"rightsubnet", kInConn, D::honoured},
    {"leftprotoport", kInConn, D::honoured},
    {"rightprotoport", kInConn, D::honoured},
    {"leftrsasigkey", kInConn, D::honoured},
    {"rightrsasigkey", kInConn, D::honoured},
    {"leftpubkey", kInConn, D::honoured},
    {"rightpubkey", kInConn, D::honoured},
    {"leftikeport", kInConn, D::honoured},
    {"rightikeport", kInConn, D::honoured},
    {"leftauth", kInConn, D::honoured},
    {"rightauth", kInConn, D::honoured},
    {"leftcert", kInConn, D::honoured},
    {"rightcert", kInConn, D::honoured},
    {"rightca", kInConn, D::honoured},
    {"leftca", kInConn, D::warned,
     "our CA is the issuer of leftcert=; the CERTREQ swanless sends names the CAs it trusts for the peer"},
    // conn: accepted and ignored
    {"mark", kInConn, D::honoured},  // conn.cpp
    {"mark_in", kInConn, D::honoured},  // conn.cpp
    {"mark_out", kInConn, D::honoured},  // conn.cpp
    {"installpolicy", kInConn, D::warned, kKernelState},
    {"leftsourceip", kInConn, D::honoured},   // conn.cpp
    {"rightsourceip", kInConn, D::honoured},  // conn.cpp: refused there (pools)
    {"leftdns", kInConn, D::warned, kNoConfigPayload},
    {"rightdns", kInConn, D::warned, kNoConfigPayload},
    {"leftupdown", kInConn, D::honoured},  // conn.cpp: warned there, read by the route-based check
    {"rightupdown", kInConn, D::warned, kUpdown},
    {"leftfirewall", kInConn, D::warned, kFirewall},
    {"rightfirewall", kInConn, D::warned, kFirewall},
    {"lefthostaccess", kInConn, D::warned, kFirewall},
    {"righthostaccess", kInConn, D::warned, kFirewall},
    {"compress", kInConn, D::warned, kCompress},
    {"tfc", kInConn, D::warned, kTfc},
    {"reqid", kInConn, D::warned, kKernelState},
    {"if_id_in", kInConn, D::honoured},  // conn.cpp
    {"if_id_out", kInConn, D::honoured},  // conn.cpp
    {"hw_offload", kInConn, D::warned, kHwOffload},
    {"leftnexthop", kInConn, D::warned, kNextHop},
    {"rightnexthop", kInConn, D::warned, kNextHop},
    {"mobike", kInConn, D::warned, kMobike},
    {"keyingtries", kInConn, D::honoured},  // conn.cpp
    {"closeaction", kInConn, D::honoured},  // conn.cpp
    {"inactivity", kInConn, D::warned, kInactivity},
    {"leftsendcert", kInConn, D::honoured},
    {"rightsendcert", kInConn, D::warned,
     "what the peer sends is the peer's choice; swanless asks for its certificate with a CERTREQ when it has CAs"},
    {"ikev2", kInConn, D::honoured},  // conn.cpp
    {"pfs", kInConn, D::honoured},  // conn.cpp
    {"sha256_96", kInConn, D::warned, kSha256_96},
    {"aggressive", kInConn, D::honoured},  // conn.cpp: yes is IKEv1
    {"encapsulation", kInConn, D::honoured},  // libreswan's forceencaps
    {"phase2", kInConn, D::honoured},
    {"crlcheckinterval", kInSetup, D::warned, kNoCerts},
    {"narrowing", kInConn, D::warned, kNarrowing},
    {"remote_peer_type", kInConn, D::warned, kPeerType},
    {"retransmit-timeout", kInConn, D::warned, kRetransmit},
    {"retransmit-interval", kInConn, D::warned, kRetransmit},
    {"ikepad", kInConn, D::warned, kIkev1Only},
    {"vti", kInConn, D::honoured},            // conn.cpp: route-based
    {"leftvti", kInConn, D::honoured},
    {"rightvti", kInConn, D::honoured},
    {"vti-interface", kInConn, D::honoured},  // conn.cpp: = vti
    {"vti-routing", kInConn, D::honoured},
    {"vti-shared", kInConn, D::honoured},

    // gre
    {"local", kInGre, D::honoured},
    {"remote", kInGre, D::honoured},
    {"conn", kInGre, D::honoured},
    {"address", kInGre, D::honoured},
    {"peer", kInGre, D::honoured},
    {"mtu", kInGre, D::honoured},
    {"ttl", kInGre, D::honoured},
    {"key", kInGre, D::honoured},
    {"routes", kInGre, D::honoured},
    {"keepalive", kInGre, D::honoured},
    {"keepalive_retries", kInGre, D::honoured},
    {"tun", kInGre, D::honoured},
    {"mss", kInGre, D::honoured},

    // pim
    {"interface", kInPim, D::honoured},
    {"neighbor", kInPim, D::honoured},
    {"rp", kInPim, D::honoured},
    {"groups", kInPim, D::honoured},
    {"sources", kInPim, D::honoured},
    {"hello", kInPim, D::honoured},
    {"join", kInPim, D::honoured},
    {"holdtime", kInPim, D::honoured},
    {"deliver", kInPim, D::honoured},
    {"upstream", kInPim, D::honoured},
    {"holddown", kInPim, D::honoured},
    {"dedup", kInPim, D::honoured},
    {"dedup_window", kInPim, D::honoured},
    {"allow", kInPim, D::honoured},
    {"deny", kInPim, D::honoured},
    {"ssm", kInPim, D::honoured},
    {"query_interval", kInPim, D::honoured},
    {"last_member_query_interval", kInPim, D::honoured},
    {"robustness", kInPim, D::honoured},
    {"max_groups", kInPim, D::honoured},
};

// strongSwan's other spellings of a key: {alias, canonical}.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"keylife", "lifetime"},
    {"margintime", "rekeymargin"},
    // libreswan's names for the same settings
    {"salifetime", "lifetime"},
    {"phase2alg", "esp"},
};

}  // namespace

std::string_view type_name(SectionType t) {
  switch (t) {
    case SectionType::setup: return "config";
    case SectionType::conn: return "conn";
    case SectionType::gre: return "gre";
    case SectionType::pim: return "pim";
  }
  return "?";
}

std::span<const KeyRow> key_table() { return kKeys; }

const KeyRow* find_key(SectionType t, std::string_view name) {
  auto it = std::find_if(std::begin(kKeys), std::end(kKeys), [&](const KeyRow& r) {
    return r.name == name && (r.sections & section_bit(t)) != 0;
  });
  return it == std::end(kKeys) ? nullptr : &*it;
}

std::string canonical_key(std::string_view k) {
  for (const auto& [alias, canonical] : kAliases)
    if (k == alias) return std::string(canonical);
  return std::string(k);
}

}  // namespace config
