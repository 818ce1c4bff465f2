#include "daemon/keylog.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "common/log.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::ike;
}  // namespace

using common::crypto::EncrId;
using common::crypto::IntegId;

namespace {

// Names as Wireshark's IKEv2 and ESP dissectors spell them (character for character).
const char* ike_encr_name(EncrId e, unsigned bits) {
  switch (e) {
    case EncrId::des3_cbc: return "3DES [RFC2451]";
    case EncrId::aes_cbc:
      return bits == 128 ? "AES-CBC-128 [RFC3602]" : bits == 192 ? "AES-CBC-192 [RFC3602]" : bits == 256 ? "AES-CBC-256 [RFC3602]" : nullptr;
    case EncrId::aes_gcm_16:
      return bits == 128 ? "AES-GCM-128 with 16 octet ICV [RFC5282]" : bits == 192 ? "AES-GCM-192 with 16 octet ICV [RFC5282]"
             : bits == 256 ? "AES-GCM-256 with 16 octet ICV [RFC5282]" : nullptr;
    case EncrId::chacha20_poly1305:
      return nullptr;  // not in Wireshark 4.0's table
  }
  return nullptr;
}

const char* ike_integ_name(IntegId i) {
  switch (i) {
    case IntegId::none: return "NONE [RFC4306]";
    case IntegId::hmac_md5_96: return "HMAC_MD5_96 [RFC2403]";
    case IntegId::hmac_sha1_96: return "HMAC_SHA1_96 [RFC2404]";
    case IntegId::hmac_sha256_128: return "HMAC_SHA2_256_128 [RFC4868]";
    case IntegId::hmac_sha384_192: return "HMAC_SHA2_384_192 [RFC4868]";
    case IntegId::hmac_sha512_256: return "HMAC_SHA2_512_256 [RFC4868]";
  }
  return nullptr;
}

const char* esp_encr_name(EncrId e) {
  switch (e) {
    case EncrId::des3_cbc: return "TripleDES-CBC [RFC2451]";
    case EncrId::aes_cbc: return "AES-CBC [RFC3602]";
    case EncrId::aes_gcm_16: return "AES-GCM with 16 octet ICV [RFC4106]";
    case EncrId::chacha20_poly1305: return nullptr;
  }
  return nullptr;
}

const char* esp_integ_name(IntegId i) {
  switch (i) {
    case IntegId::none: return "NULL";
    case IntegId::hmac_md5_96: return "HMAC-MD5-96 [RFC2403]";
    case IntegId::hmac_sha1_96: return "HMAC-SHA-1-96 [RFC2404]";
    case IntegId::hmac_sha256_128: return "HMAC-SHA-256-128 [RFC4868]";
    case IntegId::hmac_sha384_192: return "HMAC-SHA-384-192 [RFC4868]";
    case IntegId::hmac_sha512_256: return "HMAC-SHA-512-256 [RFC4868]";
  }
  return nullptr;
}

std::string hex(common::ByteSpan b) { return common::to_hex(b); }

}  // namespace

Keylog::Keylog(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  ::mkdir(dir_.c_str(), 0700);
  for (const char* f : {"ikev2_decryption_table", "esp_sa"}) {
    std::ofstream(dir_ + "/" + f, std::ios::trunc);
    ::chmod((dir_ + "/" + f).c_str(), 0600);
  }
}

std::string Keylog::ike_line(const ike::IkeSaKeys& k) {
  const char* en = ike_encr_name(k.encr, k.key_bits);
  const char* in = ike_integ_name(common::crypto::encr_is_aead(k.encr) ? IntegId::none : k.integ);
  if (!en || !in) return {};
  char spis[64];
  std::snprintf(spis, sizeof spis, "%016llx,%016llx", static_cast<unsigned long long>(k.spi_i),
                static_cast<unsigned long long>(k.spi_r));
  return std::string(spis) + "," + hex(k.sk_ei) + "," + hex(k.sk_er) + ",\"" + en + "\"," + hex(k.sk_ai) + "," +
         hex(k.sk_ar) + ",\"" + in + "\"";
}

std::string Keylog::esp_line(const std::string& src, const std::string& dst, std::uint32_t spi, EncrId encr,
                             unsigned /*key_bits*/, IntegId integ, common::ByteSpan encr_key,
                             common::ByteSpan integ_key) {
  const char* en = esp_encr_name(encr);
  const char* in = esp_integ_name(common::crypto::encr_is_aead(encr) ? IntegId::none : integ);
  if (!en || !in) return {};
  char spi_s[16];
  std::snprintf(spi_s, sizeof spi_s, "0x%08x", spi);
  std::string fam = src.find(':') == std::string::npos ? "IPv4" : "IPv6";
  std::string ikey = integ_key.empty() ? "" : "0x" + hex(integ_key);
  return "\"" + fam + "\",\"" + src + "\",\"" + dst + "\",\"" + spi_s + "\",\"" + en +
         "\",\"0x" + hex(encr_key) + "\",\"" + in + "\",\"" + ikey + "\"";
}

void Keylog::on_ike_sa(const ike::IkeSaKeys& k) {
  if (!enabled()) return;
  auto line = ike_line(k);
  if (line.empty()) {
    LOG_WARN("keylog: Wireshark has no name for this IKE suite; IKE_SA %016llx not logged",
             static_cast<unsigned long long>(k.spi_i));
    return;
  }
  append("ikev2_decryption_table", line);
}

void Keylog::on_child_sa(const ike::ChildSaInstall& c) {
  if (!enabled()) return;
  // Addresses as "*": behind a NAT the outer addresses a capture shows are not the ones
  // this host knows; the SPI identifies the SA.
  auto in = esp_line("*", "*", c.spi_in, c.encr, c.key_bits, c.integ, c.encr_key_in, c.integ_key_in);
  auto out = esp_line("*", "*", c.spi_out, c.encr, c.key_bits, c.integ, c.encr_key_out, c.integ_key_out);
  if (in.empty()) {
    LOG_WARN("keylog: Wireshark has no name for the ESP suite of %s; not logged", c.child_name.c_str());
    return;
  }
  append("esp_sa", in);
  append("esp_sa", out);
}

void Keylog::append(const char* file, const std::string& line) {
  std::ofstream f(dir_ + "/" + file, std::ios::app);
  f << line << "\n";
  if (!f) LOG_WARN("keylog: cannot write %s/%s", dir_.c_str(), file);
}

}  // namespace swld
