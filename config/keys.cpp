// The key table (see keys.h). One row per key and disposition; the left/right variants of
// a conn's side keys are rows of their own so that the table reads as the list of keys a
// config may hold.
#include "config/keys.h"

#include <algorithm>
#include <iterator>

namespace config {
namespace {

using D = Disposition;

// They only steer a kernel IPsec stack or charon features that swanless does not have, and
// pasted strongSwan/libreswan configs often carry them.
constexpr std::string_view kIgnored =
    "ignored (only meaningful for a kernel IPsec stack / not used by swanless)";

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
    {"charondebug", kInSetup, D::warned, kIgnored},
    {"uniqueids", kInSetup, D::warned, kIgnored},
    {"cachecrls", kInSetup, D::warned, kIgnored},
    {"strictcrlpolicy", kInSetup, D::warned, kIgnored},
    {"plutodebug", kInSetup, D::warned, kIgnored},
    {"protostack", kInSetup, D::warned, kIgnored},
    {"interfaces", kInSetup, D::warned, kIgnored},
    {"nat_traversal", kInSetup, D::warned, kIgnored},
    {"virtual_private", kInSetup, D::warned, kIgnored},
    {"nhelpers", kInSetup, D::warned, kIgnored},
    {"plutostderrlog", kInSetup, D::warned, kIgnored},
    {"logfile", kInSetup, D::warned, kIgnored},
    {"dumpdir", kInSetup, D::warned, kIgnored},
    {"charonstart", kInSetup, D::warned, kIgnored},
    {"plutostart", kInSetup, D::warned, kIgnored},

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
    // conn: accepted and ignored
    {"mark", kInConn, D::warned, kIgnored},
    {"mark_in", kInConn, D::warned, kIgnored},
    {"mark_out", kInConn, D::warned, kIgnored},
    {"installpolicy", kInConn, D::warned, kIgnored},
    {"leftupdown", kInConn, D::warned, kIgnored},
    {"rightupdown", kInConn, D::warned, kIgnored},
    {"leftfirewall", kInConn, D::warned, kIgnored},
    {"rightfirewall", kInConn, D::warned, kIgnored},
    {"lefthostaccess", kInConn, D::warned, kIgnored},
    {"righthostaccess", kInConn, D::warned, kIgnored},
    {"compress", kInConn, D::warned, kIgnored},
    {"tfc", kInConn, D::warned, kIgnored},
    {"reqid", kInConn, D::warned, kIgnored},
    {"if_id_in", kInConn, D::warned, kIgnored},
    {"if_id_out", kInConn, D::warned, kIgnored},
    {"hw_offload", kInConn, D::warned, kIgnored},
    {"leftnexthop", kInConn, D::warned, kIgnored},
    {"rightnexthop", kInConn, D::warned, kIgnored},
    {"mobike", kInConn, D::warned, kIgnored},
    {"keyingtries", kInConn, D::warned, kIgnored},
    {"closeaction", kInConn, D::warned, kIgnored},
    {"inactivity", kInConn, D::warned, kIgnored},
    {"leftsendcert", kInConn, D::warned, kIgnored},
    {"rightsendcert", kInConn, D::warned, kIgnored},
    {"ikev2", kInConn, D::warned, kIgnored},
    {"pfs", kInConn, D::warned, kIgnored},
    {"sha256_96", kInConn, D::warned, kIgnored},

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
};

// strongSwan's other spellings of a key: {alias, canonical}.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"keylife", "lifetime"},
    {"margintime", "rekeymargin"},
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
