// swanless keygen / showkey (apps/cmd_keys.cpp).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/commands.h"
#include "common/rsa.h"

using common::crypto::RsaPrivateKey;
using common::crypto::RsaPublicKey;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/swl-keys-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};
int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
// The value after "<side>rsasigkey=" on its line, or "".
std::string key_line_value(const std::string& text, const std::string& side) {
  const std::string tag = "\t" + side + "rsasigkey=";
  auto at = text.find(tag);
  if (at == std::string::npos) return {};
  auto end = text.find('\n', at);
  return text.substr(at + tag.size(), end - at - tag.size());
}

}  // namespace

TEST_CASE("keygen: writes a 0600 PEM key and prints its leftrsasigkey", "[keys]") {
  TempDir d;
  const std::string path = d.file("host.pem");
  std::ostringstream out, err;
  REQUIRE(apps::run_keygen(2048, path, out, err) == 0);
  CHECK(err.str().empty());
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto key = RsaPrivateKey::load_pem_file(path);
  REQUIRE(key.ok());
  CHECK(key->bits() == 2048);
  CHECK(out.str().find(path) != std::string::npos);
  const std::string printed = key_line_value(out.str(), "left");
  CHECK(printed == key->public_key().to_libreswan());
  CHECK(printed.rfind("0sAwEAA", 0) == 0);  // e = 65537

  // The CLI agrees it is a valid RSA key.
  CHECK(sh("openssl rsa -check -noout -in " + path) == 0);

  // Refuses to overwrite, too small, too large, no output path.
  std::ostringstream o2, e2;
  CHECK(apps::run_keygen(2048, path, o2, e2) == 1);
  CHECK(e2.str().find("exists") != std::string::npos);
  CHECK(RsaPrivateKey::load_pem_file(path)->public_key() == key->public_key());
  std::ostringstream o3, e3;
  CHECK(apps::run_keygen(1024, d.file("small.pem"), o3, e3) == 1);
  CHECK(e3.str().find("--bits") != std::string::npos);
  CHECK(!std::filesystem::exists(d.file("small.pem")));
  std::ostringstream o4, e4;
  CHECK(apps::run_keygen(2048, "", o4, e4) == 1);
}

TEST_CASE("showkey: private and public PEM files, left/right, --pem", "[keys]") {
  TempDir d;
  const std::string priv = d.file("k.pem"), pub = d.file("pub.pem"), trad = d.file("trad.pem");
  REQUIRE(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + priv) == 0);
  REQUIRE(sh("openssl pkey -in " + priv + " -pubout -out " + pub) == 0);
  REQUIRE(sh("openssl rsa -in " + priv + " -traditional -out " + trad) == 0);
  const RsaPublicKey want = RsaPrivateKey::load_pem_file(priv)->public_key();

  for (const std::string& f : {priv, pub, trad}) {
    INFO(f);
    std::ostringstream out, err;
    REQUIRE(apps::run_showkey(f, true, out, err) == 0);
    CHECK(key_line_value(out.str(), "left") == want.to_libreswan());
    CHECK(key_line_value(out.str(), "right").empty());
    CHECK(out.str().find("(2048 bits)") != std::string::npos);
    CHECK(out.str().find("BEGIN PUBLIC KEY") == std::string::npos);
    // And the printed line reads back as the same key.
    auto back = RsaPublicKey::from_libreswan(key_line_value(out.str(), "left"));
    REQUIRE(back.ok());
    CHECK(*back == want);
  }
  std::ostringstream out, err;
  REQUIRE(apps::run_showkey(priv, false, true, out, err) == 0);
  CHECK(key_line_value(out.str(), "right") == want.to_libreswan());
  CHECK(key_line_value(out.str(), "left").empty());
  auto pem_at = out.str().find("-----BEGIN PUBLIC KEY-----");
  REQUIRE(pem_at != std::string::npos);
  CHECK(out.str().substr(pem_at) == read_all(pub));
}

TEST_CASE("showkey: clear errors for missing, encrypted and non-key files", "[keys]") {
  TempDir d;
  std::ostringstream o1, e1;
  CHECK(apps::run_showkey(d.file("missing.pem"), true, o1, e1) == 1);
  CHECK(e1.str().find("missing.pem") != std::string::npos);
  CHECK(o1.str().empty());

  const std::string enc = d.file("enc.pem");
  REQUIRE(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes256 -pass pass:pw -out " + enc) == 0);
  std::ostringstream o2, e2;
  CHECK(apps::run_showkey(enc, true, o2, e2) == 1);
  CHECK(e2.str().find("encrypted") != std::string::npos);

  const std::string junk = d.file("junk.pem");
  std::ofstream(junk) << "hello\n";
  std::ostringstream o3, e3;
  CHECK(apps::run_showkey(junk, true, o3, e3) == 1);
  CHECK(e3.str().find("not an RSA") != std::string::npos);
  CHECK(o3.str().empty());
}
