#include <catch2/catch.hpp>

#include "daemon/keylog.h"

using common::crypto::EncrId;
using common::crypto::IntegId;

TEST_CASE("IKE keylog line has Wireshark's ikev2_decryption_table layout") {
  ike::IkeSaKeys k;
  k.spi_i = 0xa62a46f88ff6e9c2ull;
  k.spi_r = 0x50d27be1188d653dull;
  k.encr = EncrId::aes_cbc;
  k.key_bits = 256;
  k.integ = IntegId::hmac_sha256_128;
  k.sk_ei = common::Bytes(32, std::byte{0x11});
  k.sk_er = common::Bytes(32, std::byte{0x22});
  k.sk_ai = common::Bytes(32, std::byte{0x33});
  k.sk_ar = common::Bytes(32, std::byte{0x44});
  std::string l = swld::Keylog::ike_line(k);
  CHECK(l == "a62a46f88ff6e9c2,50d27be1188d653d," + std::string(64, '1') + "," + std::string(64, '2') +
                 ",\"AES-CBC-256 [RFC3602]\"," + std::string(64, '3') + "," + std::string(64, '4') +
                 ",\"HMAC_SHA2_256_128 [RFC4868]\"");
  k.encr = EncrId::aes_gcm_16;
  k.sk_ai.clear();
  k.sk_ar.clear();
  l = swld::Keylog::ike_line(k);
  CHECK_THAT(l, Catch::Contains("\"AES-GCM-256 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\""));
  k.encr = EncrId::chacha20_poly1305;  // Wireshark 4.0 has no name for it
  CHECK(swld::Keylog::ike_line(k).empty());
}

TEST_CASE("ESP keylog line has Wireshark's esp_sa layout") {
  std::string src = "192.0.2.1", dst = "192.0.2.2";
  std::string l = swld::Keylog::esp_line(src, dst, 0x0e1488b7, EncrId::aes_cbc, 256, IntegId::hmac_sha256_128,
                                         common::Bytes(32, std::byte{0xab}), common::Bytes(32, std::byte{0xcd}));
  CHECK(l == "\"IPv4\",\"192.0.2.1\",\"192.0.2.2\",\"0x0e1488b7\",\"AES-CBC [RFC3602]\",\"0x" +
                 [] { std::string s; for (int i = 0; i < 32; ++i) s += "ab"; return s; }() +
                 "\",\"HMAC-SHA-256-128 [RFC4868]\",\"0x" + [] { std::string s; for (int i = 0; i < 32; ++i) s += "cd"; return s; }() + "\"");
  l = swld::Keylog::esp_line(src, dst, 1, EncrId::aes_gcm_16, 256, IntegId::none, common::Bytes(36, std::byte{1}), {});
  CHECK_THAT(l, Catch::EndsWith("\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x" + [] { std::string s; for (int i = 0; i < 36; ++i) s += "01"; return s; }() + "\",\"NULL\",\"\""));
  CHECK(swld::Keylog::esp_line(src, dst, 1, EncrId::chacha20_poly1305, 256, IntegId::none, common::Bytes(36), {}).empty());
}
