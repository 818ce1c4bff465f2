// Identity parsing and printing (RFC 7296 §3.5), with strongSwan's rules for how a text
// identity in the config maps to an ID type: an IP address literal is ID_IPV4_ADDR /
// ID_IPV6_ADDR, "user@host" is ID_RFC822_ADDR, "@name" is ID_FQDN without the '@',
// "@#hex" is ID_KEY_ID, "C=CH, O=x, CN=y" (KEY=VALUE parts that parse) is ID_DER_ASN1_DN,
// anything else is ID_FQDN.
#include <cctype>

#include "common/x509.h"
#include "ike/engine.h"

namespace ike {

Identity Identity::from_string(std::string_view s) {
  Identity id;
  if (auto ip = common::IpAddr::parse(s)) {
    id.type = ip->is_v4() ? Type::ipv4 : Type::ipv6;
    id.data = common::to_bytes(ip->bytes());
    return id;
  }
  if (s.size() >= 2 && s[0] == '@' && s[1] == '#') {
    id.type = Type::key_id;
    std::string_view hex = s.substr(2);
    bool ok = hex.size() % 2 == 0;
    for (char c : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(c));
    if (ok) {
      id.data = common::from_hex(hex);
      return id;
    }
    id.data = common::to_bytes(common::as_bytes(hex));
    return id;
  }
  if (!s.empty() && s[0] == '@') {
    id.type = Type::fqdn;
    id.data = common::to_bytes(common::as_bytes(s.substr(1)));
    return id;
  }
  if (common::x509::looks_like_dn(s)) {
    id.type = Type::der_asn1_dn;
    id.data = *common::x509::dn_from_string(s);
    return id;
  }
  id.type = s.find('@') != std::string_view::npos ? Type::rfc822 : Type::fqdn;
  id.data = common::to_bytes(common::as_bytes(s));
  return id;
}

std::string Identity::to_string() const {
  switch (type) {
    case Type::ipv4:
      if (data.size() == 4) return common::IpAddr::v4_bytes(data).to_string();
      break;
    case Type::ipv6:
      if (data.size() == 16) return common::IpAddr::v6_bytes(data).to_string();
      break;
    case Type::fqdn:
    case Type::rfc822: {
      std::string out;
      for (std::byte b : data) {
        auto c = static_cast<unsigned char>(b);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
      }
      return out;
    }
    case Type::key_id:
      return "@#" + common::to_hex(data);
    case Type::der_asn1_dn:
      if (auto t = common::x509::dn_to_string(data)) return *t;
      return "DN:" + common::to_hex(data);
  }
  // Appended piece by piece: `"(" + std::string&&` trips g++ 12's false -Wrestrict at -O3.
  std::string out = "(";
  out += std::to_string(static_cast<int>(type));
  out += "):";
  out += common::to_hex(data);
  return out;
}

}  // namespace ike
