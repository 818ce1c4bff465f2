// The secrets file, ipsec.secrets(5) syntax (config/secrets.cpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "config/config.h"
#include "config/secrets.h"
#include "config_test_util.h"

using namespace config;
using namespace config_test;
using common::IpAddr;

namespace {

std::string psk_text(const SecretEntry* e) {
  REQUIRE(e);
  std::string s;
  for (auto b : e->psk) s += static_cast<char>(b);
  return s;
}

}  // namespace

TEST_CASE("secrets: forms of PSK and RSA entries") {
  auto r = parse_secrets_string(
      "# comment\n"
      "222.45.67.1 177.54.214.20 : PSK \"long random shared secret\"\n"
      "@a.example.org @b.example.org : PSK 0x6b6579\n"
      "@c.example.org : PSK 0sa2V5Mg==\n"
      "@d.example.org: PSK 'single # quoted'\n"
      "@e.example.org\n"
      "    : PSK \"continued\"\n"
      ": RSA host-key.pem\n"
      ": RSA /abs/key.pem \"pass phrase\"\n",
      "/etc/swanless/x.secrets");
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  const auto& s = *r.secrets;
  REQUIRE(s.entries.size() == 7);
  REQUIRE(s.entries[0].ids == std::vector<std::string>{"222.45.67.1", "177.54.214.20"});
  REQUIRE(s.entries[0].line == 2);
  REQUIRE(psk_text(&s.entries[0]) == "long random shared secret");
  REQUIRE(psk_text(&s.entries[1]) == "key");
  REQUIRE(psk_text(&s.entries[2]) == "key2");
  REQUIRE(psk_text(&s.entries[3]) == "single # quoted");
  REQUIRE(s.entries[3].ids == std::vector<std::string>{"@d.example.org"});
  REQUIRE(psk_text(&s.entries[4]) == "continued");
  REQUIRE(s.entries[4].line == 6);
  REQUIRE(s.entries[5].type == SecretEntry::Type::rsa);
  REQUIRE(s.entries[5].key_path == "/etc/swanless/host-key.pem");
  REQUIRE(s.entries[5].ids.empty());
  REQUIRE(s.entries[6].key_path == "/abs/key.pem");
  REQUIRE(s.entries[6].passphrase == "pass phrase");
}

TEST_CASE("secrets: best match as strongSwan (both > one > wildcard)") {
  auto r = parse_secrets_string(
      ": PSK \"wild\"\n"
      "192.0.2.1 : PSK \"local-only\"\n"
      "192.0.2.1 198.51.100.1 : PSK \"both\"\n"
      "@peer : PSK \"peer-only\"\n"
      "%any 198.51.100.9 : PSK \"any-and-remote\"\n",
      "s");
  REQUIRE(r.ok());
  const auto& s = *r.secrets;
  REQUIRE(psk_text(s.find_psk("192.0.2.1", "198.51.100.1")) == "both");
  REQUIRE(psk_text(s.find_psk("198.51.100.1", "192.0.2.1")) == "both");  // order of ids free
  REQUIRE(psk_text(s.find_psk("192.0.2.1", "198.51.100.2")) == "local-only");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "peer")) == "peer-only");       // "@peer" == "peer"
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "@PEER")) == "peer-only");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "198.51.100.9")) == "any-and-remote");
  REQUIRE(psk_text(s.find_psk("10.0.0.1", "10.0.0.2")) == "wild");
  auto none = parse_secrets_string("@x : PSK \"a\"\n", "s");
  REQUIRE(none.ok());
  REQUIRE(none.secrets->find_psk("10.0.0.1", "10.0.0.2") == nullptr);
  REQUIRE(none.secrets->find_private_key("10.0.0.1") == nullptr);
  auto rsa = parse_secrets_string(": RSA a.pem\n@me : RSA b.pem\n", "/k/s");
  REQUIRE(rsa.ok());
  REQUIRE(rsa.secrets->find_private_key("@me")->key_path == "/k/b.pem");
  REQUIRE(rsa.secrets->find_private_key("10.0.0.1")->key_path == "/k/a.pem");
}

TEST_CASE("secrets: id matching") {
  REQUIRE(id_match("192.0.2.1", "192.0.2.1") == 20);
  REQUIRE(id_match("192.0.2.1", "192.0.2.2") == 0);
  REQUIRE(id_match("%any", "192.0.2.2") == 1);
  REQUIRE(id_match("@a.org", "a.org") == 20);
  REQUIRE(id_match("a.org", "192.0.2.1") == 0);
  REQUIRE(id_match("user@a.org", "user@a.org") == 20);
  REQUIRE(id_match("x", "") == 0);
}

TEST_CASE("secrets: malformed entries name file and line") {
  const std::pair<const char*, const char*> cases[] = {
      {"a b PSK \"x\"\n", "s:1: expected '[ids] : TYPE value'"},
      {"a :\n", "s:1: missing secret type"},
      {"a : PSK\n", "s:1: PSK takes one value"},
      {"a : PSK \"x\" \"y\"\n", "s:1: PSK takes one value"},
      {"a : PSK plain\n", "s:1: PSK must be"},
      {"a : PSK 0xabc\n", "s:1: PSK must be"},
      {"a : PSK 0xzz\n", "s:1: PSK must be"},
      {"a : PSK 0s!!\n", "s:1: PSK must be"},
      {"a : PSK \"\"\n", "s:1: empty PSK"},
      {"\n\na : PSK \"x\n", "s:3: unterminated quoted string"},
      {"a : XAUTH \"x\"\n", "s:1: unsupported secret type 'XAUTH'"},
      {": RSA\n", "s:1: RSA takes"},
      {"include /etc/x\n", "s:1: include needs the file on disk"},
  };
  for (const auto& [text, expect] : cases) {
    auto r = parse_secrets_string(text, "s");
    REQUIRE_FALSE(r.ok());
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    INFO(text << " -> " << all);
    REQUIRE(all.find(expect) != std::string::npos);
  }
}

TEST_CASE("secrets: base64 and 0x/0s decoding") {
  auto s = [](std::string_view t) {
    auto b = decode_base64(t);
    REQUIRE(b);
    return std::string(reinterpret_cast<const char*>(b->data()), b->size());
  };
  // RFC 4648 §10 test vectors.
  REQUIRE(s("") == "");
  REQUIRE(s("Zg==") == "f");
  REQUIRE(s("Zm8=") == "fo");
  REQUIRE(s("Zm9v") == "foo");
  REQUIRE(s("Zm9vYg==") == "foob");
  REQUIRE(s("Zm9vYmE=") == "fooba");
  REQUIRE(s("Zm9vYmFy") == "foobar");
  REQUIRE(s("Zm9v\nYmFy") == "foobar");
  REQUIRE(s("Zm9vYg") == "foob");  // padding optional
  for (auto bad : {"Z", "Zm9vY", "Zg=a", "Zg===", "Zh==", "Zm9v!"}) REQUIRE_FALSE(decode_base64(bad));
  REQUIRE(decode_prefixed_binary("0x0102") == common::Bytes{std::byte{1}, std::byte{2}});
  REQUIRE(decode_prefixed_binary("0X01_02") == common::Bytes{std::byte{1}, std::byte{2}});
  REQUIRE(decode_prefixed_binary("0sAQI=") == common::Bytes{std::byte{1}, std::byte{2}});
  for (auto bad : {"", "0", "0x", "0s", "0x1", "0q12", "1x12"}) REQUIRE_FALSE(decode_prefixed_binary(bad));
}

TEST_CASE("secrets: file permissions are enforced") {
  TempDir d;
  auto p = d.write("a.secrets", ": PSK \"x\"\n", 0600);
  auto ok = load_secrets(p);
  REQUIRE(ok.ok());
  REQUIRE(ok.secrets->entries.size() == 1);
  for (mode_t m : {0640, 0604, 0660, 0644, 0602}) {
    chmod(p.c_str(), m);
    auto r = load_secrets(p);
    INFO(m);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.errors.at(0).message.find("refusing a secrets file") != std::string::npos);
  }
  chmod(p.c_str(), 0400);
  REQUIRE(load_secrets(p).ok());
  REQUIRE_FALSE(load_secrets(d.path + "/missing").ok());
  REQUIRE_FALSE(load_secrets(d.path).ok());  // a directory
}

TEST_CASE("secrets: include, in place, with the same permission check; a missing file warns") {
  TempDir d;
  ::mkdir((d.path + "/inc").c_str(), 0700);
  d.write("inc/b.secrets", "@b : PSK \"bee\"\n", 0600);
  d.write("inc/c.secrets", "@c : PSK \"sea\"\n", 0600);
  d.write("late.secrets", "@a : PSK \"late\"\n", 0600);
  // Debian's ipsec.secrets ends with an include of a file that often does not exist.
  auto p = d.write("main.secrets",
                   "@a : PSK \"first\"\n"
                   "include inc/*.secrets\n"
                   "include /var/lib/swanless-test-no-such/ipsec.secrets.inc\n"
                   "include nothing-*.secrets\n"
                   "include " + d.path + "/late.secrets\n",
                   0600);
  auto r = load_secrets(p);
  for (const auto& e : r.errors) INFO(e.to_string());
  REQUIRE(r.ok());
  REQUIRE(r.secrets->entries.size() == 4);
  CHECK(r.secrets->entries[1].ids.at(0) == "@b");  // in the include's place, glob order
  CHECK(r.secrets->entries[2].ids.at(0) == "@c");
  CHECK(r.secrets->entries[1].file == d.path + "/inc/b.secrets");
  // The first of two equal matches wins: the main file's @a, not the later include's.
  const auto* a = r.secrets->find_psk("@x", "@a");
  REQUIRE(a);
  CHECK(a->psk == common::to_bytes(common::as_bytes("first")));
  REQUIRE(r.warnings.size() == 1);  // the missing plain path; the empty glob is silent
  CHECK(r.warnings[0].line == 3);
  CHECK(r.warnings[0].message.find("no such file, skipped") != std::string::npos);

  // An included file readable by others is refused like the main one.
  d.write("inc/c.secrets", "@c : PSK \"sea\"\n", 0644);
  ::chmod((d.path + "/inc/c.secrets").c_str(), 0644);
  auto open = load_secrets(p);
  REQUIRE_FALSE(open.ok());
  CHECK(open.errors.at(0).message.find("refusing a secrets file") != std::string::npos);
  ::chmod((d.path + "/inc/c.secrets").c_str(), 0600);

  // A file that includes itself stops at the depth limit with an error.
  auto loop = d.write("loop.secrets", "include loop.secrets\n", 0600);
  auto l = load_secrets(loop);
  REQUIRE_FALSE(l.ok());
  CHECK(l.errors.at(0).message.find("nested too deeply") != std::string::npos);
}

TEST_CASE("secrets: every truncation parses or fails cleanly") {
  const std::string text = "222.45.67.1 177.54.214.20 : PSK \"secret\"\n@x : PSK 0sa2V5\n: RSA k.pem \"p\"\n";
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto r = parse_secrets_string(std::string_view(text).substr(0, n), "s");
    REQUIRE((r.ok() || !r.errors.empty()));
  }
}
