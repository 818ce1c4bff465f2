// IKEv2 signature AUTH data (ike/auth_sig.h): RFC 7427 AlgorithmIdentifiers byte for byte,
// AUTH data made by us and by the openssl CLI verified, every truncation rejected.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/ecdsa.h"
#include "common/rsa.h"
#include "ike/auth_sig.h"

using namespace common;
using namespace common::crypto;
using ike::AuthMethod;
using ike::SigAlg;
using ike::SigHashId;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/swl-authsig-test-XXXXXX";
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
void write_file(const std::string& path, ByteSpan data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(f.good());
}
Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return to_bytes(as_bytes(ss.str()));
}
int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
bool contains(ByteSpan hay, ByteSpan needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// One key for the whole file, made by the openssl CLI (so the tests also cover its PEM).
struct CliKey {
  TempDir dir;
  std::string pem = dir.file("k.pem");
  RsaPrivateKey key = make();
  RsaPrivateKey make() {
    REQUIRE(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + pem) == 0);
    return RsaPrivateKey::load_pem_file(pem).value();
  }
};
CliKey& cli_key() {
  static CliKey k;
  return k;
}

constexpr SigAlg kAll14[] = {SigAlg::rsa_pkcs1_sha256, SigAlg::rsa_pkcs1_sha384, SigAlg::rsa_pkcs1_sha512,
                             SigAlg::rsa_pss_sha256,   SigAlg::rsa_pss_sha384,   SigAlg::rsa_pss_sha512};

// RFC 7427 Appendix A, copied from the RFC's hex dumps.
const char* kRfcSha256WithRsa = "300d 0609 2a86 4886 f70d 0101 0b05 00";   // A.1.2
const char* kRfcSha384WithRsa = "300d 0609 2a86 4886 f70d 0101 0c05 00";   // A.1.3
const char* kRfcSha512WithRsa = "300d 0609 2a86 4886 f70d 0101 0d05 00";   // A.1.4
const char* kRfcSha1WithRsa = "300d 0609 2a86 4886 f70d 0101 0505 00";     // A.1.1 (we refuse it)
const char* kRfcPssSha256 =                                                 // A.4.3
    "3041 0609 2a86 4886 f70d 0101 0a30 34a0"
    "0f30 0d06 0960 8648 0165 0304 0201 0500"
    "a11c 301a 0609 2a86 4886 f70d 0101 0830"
    "0d06 0960 8648 0165 0304 0201 0500 a203"
    "0201 20";
const char* kRfcPssDefault =                                                // A.4.2 (SHA-1: refused)
    "303e 0609 2a86 4886 f70d 0101 0a30 31a0"
    "0b30 0906 052b 0e03 021a 0500 a118 3016"
    "0609 2a86 4886 f70d 0101 0830 0906 052b"
    "0e03 021a 0500 a203 0201 14a3 0302 0101";

// The RSASSA-PSS algorithms with the openssl digest name and the salt length RFC 8247 §3.2
// asks for (the hash length).
struct PssCase {
  SigAlg alg;
  const char* md;
  int salt;
};
const PssCase kPssCases[] = {{SigAlg::rsa_pss_sha256, "sha256", 32},
                             {SigAlg::rsa_pss_sha384, "sha384", 48},
                             {SigAlg::rsa_pss_sha512, "sha512", 64}};

const Bytes kOctets = to_bytes(as_bytes("RealMessage1 | Nr | prf(SK_pi, IDi') stand-in"));

}  // namespace

TEST_CASE("auth_sig: AlgorithmIdentifiers are RFC 7427 Appendix A byte for byte", "[auth_sig][rfc7427]") {
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::rsa_pkcs1_sha256)) == to_hex(from_hex(kRfcSha256WithRsa)));
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::rsa_pkcs1_sha384)) == to_hex(from_hex(kRfcSha384WithRsa)));
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::rsa_pkcs1_sha512)) == to_hex(from_hex(kRfcSha512WithRsa)));
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::rsa_pss_sha256)) == to_hex(from_hex(kRfcPssSha256)));
  CHECK(ike::algorithm_identifier(SigAlg::rsa_pkcs1_sha1).empty());
}

TEST_CASE("auth_sig: every AlgorithmIdentifier is the one OpenSSL puts in a certificate", "[auth_sig][cli]") {
  // The PSS SHA-384/512 ones are not in RFC 7427: check them (and the others) against the
  // signatureAlgorithm OpenSSL writes when signing a certificate with the same parameters.
  TempDir d;
  const std::string& key = cli_key().pem;
  struct C {
    SigAlg alg;
    const char* opts;
  };
  const C cs[] = {
      {SigAlg::rsa_pkcs1_sha256, "-sha256"},
      {SigAlg::rsa_pkcs1_sha384, "-sha384"},
      {SigAlg::rsa_pkcs1_sha512, "-sha512"},
      {SigAlg::rsa_pss_sha256, "-sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256"},
      {SigAlg::rsa_pss_sha384, "-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha384"},
      {SigAlg::rsa_pss_sha512, "-sha512 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha512"},
  };
  for (const C& c : cs) {
    INFO(ike::to_string(c.alg));
    const std::string cert = d.file("c.der");
    REQUIRE(sh("openssl req -x509 -new -key " + key + " -subj /CN=swanless -days 1 -outform DER -out " + cert + " " + c.opts) == 0);
    CHECK(contains(read_all(cert), ike::algorithm_identifier(c.alg)));
  }
}

TEST_CASE("auth_sig: make/verify round trip, method 1 and every method-14 algorithm", "[auth_sig]") {
  const RsaPrivateKey& k = cli_key().key;
  const RsaPublicKey pub = k.public_key();
  auto other = RsaPrivateKey::generate(2048);
  REQUIRE(other.ok());
  const RsaPublicKey wrong = other->public_key();

  auto m1 = ike::make_sig_auth(AuthMethod::rsa_sig, SigAlg::rsa_pkcs1_sha1, k, kOctets);
  REQUIRE(m1.ok());
  CHECK(m1->size() == 256);  // the bare signature
  CHECK(pub.verify(RsaPadding::pkcs1_v15, SigHash::sha1, kOctets, *m1).ok());
  CHECK(ike::verify_sig_auth(AuthMethod::rsa_sig, *m1, pub, kOctets).ok());
  CHECK(ike::verify_sig_auth(AuthMethod::rsa_sig, *m1, wrong, kOctets).error().code == Errc::auth);
  CHECK(!ike::verify_sig_auth(AuthMethod::digital_signature, *m1, pub, kOctets).ok());

  for (SigAlg a : kAll14) {
    INFO(ike::to_string(a));
    auto auth = ike::make_sig_auth(AuthMethod::digital_signature, a, k, kOctets);
    REQUIRE(auth.ok());
    ByteSpan id = ike::algorithm_identifier(a);
    REQUIRE(auth->size() == 1 + id.size() + 256);
    CHECK(std::to_integer<std::size_t>((*auth)[0]) == id.size());
    CHECK(std::equal(id.begin(), id.end(), auth->begin() + 1));
    auto v = ike::parse_sig_auth(AuthMethod::digital_signature, *auth);
    REQUIRE(v.ok());
    CHECK(v->alg == a);
    CHECK(v->signature.size() == 256);
    CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, *auth, pub, kOctets).ok());
    Bytes octets2 = kOctets;
    octets2.back() ^= std::byte{0x80};
    CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, *auth, pub, octets2).error().code == Errc::auth);
    CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, *auth, wrong, kOctets).error().code == Errc::auth);
    // The signature is bound to the algorithm: relabel it with another one and it fails.
    for (SigAlg b : kAll14) {
      if (b == a) continue;
      Bytes relabeled;
      ByteSpan bid = ike::algorithm_identifier(b);
      relabeled.push_back(std::byte(bid.size()));
      append(relabeled, bid);
      append(relabeled, v->signature);
      CHECK(!ike::verify_sig_auth(AuthMethod::digital_signature, relabeled, pub, kOctets).ok());
    }
  }
}

TEST_CASE("auth_sig: AUTH data signed by the openssl CLI verifies", "[auth_sig][cli]") {
  TempDir d;
  const std::string key = cli_key().pem, msg = d.file("octets.bin"), sig = d.file("sig.bin");
  write_file(msg, kOctets);
  const RsaPublicKey pub = cli_key().key.public_key();

  REQUIRE(sh("openssl dgst -sha1 -sign " + key + " -out " + sig + " " + msg) == 0);
  CHECK(ike::verify_sig_auth(AuthMethod::rsa_sig, read_all(sig), pub, kOctets).ok());

  struct C {
    const char* rfc_id;
    const char* opts;
  };
  const C cs[] = {
      {kRfcSha256WithRsa, "-sha256"},
      {kRfcSha384WithRsa, "-sha384"},
      {kRfcSha512WithRsa, "-sha512"},
      {kRfcPssSha256, "-sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest"},
  };
  for (const C& c : cs) {
    INFO(c.opts);
    REQUIRE(sh(std::string("openssl dgst ") + c.opts + " -sign " + key + " -out " + sig + " " + msg) == 0);
    Bytes id = from_hex(c.rfc_id);
    Bytes auth{std::byte(id.size())};
    append(auth, id);
    append(auth, read_all(sig));
    CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, auth, pub, kOctets).ok());
  }
}

TEST_CASE("auth_sig: every truncation and unknown AlgorithmIdentifier is rejected", "[auth_sig]") {
  const RsaPrivateKey& k = cli_key().key;
  const RsaPublicKey pub = k.public_key();
  for (SigAlg a : kAll14) {
    INFO(ike::to_string(a));
    Bytes auth = ike::make_sig_auth(AuthMethod::digital_signature, a, k, kOctets).value();
    const std::size_t hdr = 1 + ike::algorithm_identifier(a).size();
    for (std::size_t n = 0; n < auth.size(); ++n) {
      INFO(n);
      auto p = ike::parse_sig_auth(AuthMethod::digital_signature, ByteSpan(auth).first(n));
      if (n == 0 || n < hdr) {
        REQUIRE(!p.ok());
        CHECK(p.error().code == Errc::truncated);
      } else if (n == hdr) {
        REQUIRE(!p.ok());
        CHECK(p.error().code == Errc::truncated);
      }
      CHECK(!ike::verify_sig_auth(AuthMethod::digital_signature, ByteSpan(auth).first(n), pub, kOctets).ok());
    }
    // Length byte off by one either way; any one bit flipped inside the identifier.
    for (int delta : {-1, 1}) {
      Bytes bad = auth;
      bad[0] = std::byte(std::to_integer<int>(bad[0]) + delta);
      CHECK(!ike::parse_sig_auth(AuthMethod::digital_signature, bad).ok());
    }
    for (std::size_t i = 1; i < hdr; ++i) {
      Bytes bad = auth;
      bad[i] ^= std::byte{0x01};
      auto p = ike::parse_sig_auth(AuthMethod::digital_signature, bad);
      // A flip may land on another known identifier (sha384 0c -> sha512 0d): then the
      // algorithm differs and the signature does not verify under it.
      if (p.ok()) CHECK(p->alg != a);
      else CHECK(p.error().code == Errc::unsupported);
      CHECK(!ike::verify_sig_auth(AuthMethod::digital_signature, bad, pub, kOctets).ok());
    }
  }
  Bytes m1 = ike::make_sig_auth(AuthMethod::rsa_sig, SigAlg::rsa_pkcs1_sha1, k, kOctets).value();
  for (std::size_t n = 0; n < m1.size(); ++n)
    CHECK(!ike::verify_sig_auth(AuthMethod::rsa_sig, ByteSpan(m1).first(n), pub, kOctets).ok());

  // SHA-1 identifiers (A.1.1, A.4.2 default PSS) and an empty one are refused as unknown.
  for (const char* id_hex : {kRfcSha1WithRsa, kRfcPssDefault}) {
    Bytes id = from_hex(id_hex);
    Bytes auth{std::byte(id.size())};
    append(auth, id);
    append(auth, Bytes(256, std::byte{1}));
    auto p = ike::parse_sig_auth(AuthMethod::digital_signature, auth);
    REQUIRE(!p.ok());
    CHECK(p.error().code == Errc::unsupported);
  }
  CHECK(ike::parse_sig_auth(AuthMethod::digital_signature, from_hex("00 0102")).error().code == Errc::unsupported);
  CHECK(ike::parse_sig_auth(AuthMethod::psk, from_hex("00 0102")).error().code == Errc::unsupported);
}

TEST_CASE("auth_sig: method/algorithm mismatches and the announced-hash policy", "[auth_sig]") {
  const RsaPrivateKey& k = cli_key().key;
  const RsaPublicKey pub = k.public_key();
  CHECK(ike::make_sig_auth(AuthMethod::rsa_sig, SigAlg::rsa_pkcs1_sha256, k, kOctets).error().code == Errc::unsupported);
  CHECK(ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::rsa_pkcs1_sha1, k, kOctets).error().code ==
        Errc::unsupported);
  CHECK(ike::make_sig_auth(AuthMethod::psk, SigAlg::rsa_pss_sha256, k, kOctets).error().code == Errc::unsupported);

  Bytes auth = ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::rsa_pss_sha384, k, kOctets).value();
  const SigHashId only256[] = {SigHashId::sha2_256};
  const SigHashId with384[] = {SigHashId::sha2_256, SigHashId::sha2_384};
  CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, auth, pub, kOctets, only256).error().code == Errc::policy);
  CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, auth, pub, kOctets, with384).ok());
}

TEST_CASE("auth_sig: SIGNATURE_HASH_ALGORITHMS notify data (RFC 7427 section 4)", "[auth_sig][notify]") {
  CHECK(ike::kNotifySignatureHashAlgorithms == 16431);
  CHECK(to_hex(ike::default_signature_hash_algorithms_data()) == "000200030004");
  const SigHashId ids[] = {SigHashId::sha1, SigHashId::sha2_512, SigHashId::identity};
  CHECK(to_hex(ike::signature_hash_algorithms_data(ids)) == "000100040005");

  auto p = ike::parse_signature_hash_algorithms(from_hex("0002 0003 0004 1234"));
  REQUIRE(p.ok());
  CHECK(*p == std::vector<std::uint16_t>{2, 3, 4, 0x1234});
  CHECK(ike::parse_signature_hash_algorithms({}).error().code == Errc::malformed);
  Bytes d = from_hex("000200030004");
  for (std::size_t n = 1; n < d.size(); n += 2)
    CHECK(ike::parse_signature_hash_algorithms(ByteSpan(d).first(n)).error().code == Errc::truncated);

  // strongSwan announces 1,2,3,4 (and 5); libreswan 2,3,4.
  const std::uint16_t swan[] = {1, 2, 3, 4, 5};
  CHECK(ike::select_sig_alg(swan, true) == SigAlg::rsa_pss_sha256);
  CHECK(ike::select_sig_alg(swan, false) == SigAlg::rsa_pkcs1_sha256);
  const std::uint16_t only512[] = {4};
  CHECK(ike::select_sig_alg(only512, true) == SigAlg::rsa_pss_sha512);
  const std::uint16_t only384[] = {1, 3};
  CHECK(ike::select_sig_alg(only384, false) == SigAlg::rsa_pkcs1_sha384);
  const std::uint16_t sha1only[] = {1, 5};
  CHECK(!ike::select_sig_alg(sha1only, true).has_value());
  CHECK(!ike::select_sig_alg({}, true).has_value());
}

TEST_CASE("auth_sig: our RSASSA-PSS AUTH data verifies with the openssl CLI under RFC 8247 parameters only",
          "[auth_sig][cli][pss]") {
  // RFC 8247 §3.2 / RFC 7427 A.4.3: MGF1 with the signature's hash, salt as long as the hash.
  // The CLI checks an explicit salt length exactly, so verifying with saltlen = hash length
  // passes and with any other length fails: that pins down what we sign.
  TempDir d;
  const std::string msg = d.file("octets.bin"), sig = d.file("sig.bin"), pub = d.file("pub.pem");
  write_file(msg, kOctets);
  REQUIRE(sh("openssl pkey -in " + cli_key().pem + " -pubout -out " + pub) == 0);
  for (const PssCase& c : kPssCases) {
    INFO(ike::to_string(c.alg));
    Bytes auth = ike::make_sig_auth(AuthMethod::digital_signature, c.alg, cli_key().key, kOctets).value();
    auto v = ike::parse_sig_auth(AuthMethod::digital_signature, auth);
    REQUIRE(v.ok());
    CHECK(v->alg == c.alg);
    write_file(sig, v->signature);
    auto verify = [&](int salt, const char* mgf1) {
      return sh(std::string("openssl dgst -") + c.md + " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:" +
                std::to_string(salt) + " -sigopt rsa_mgf1_md:" + mgf1 + " -verify " + pub + " -signature " + sig +
                " " + msg);
    };
    CHECK(verify(c.salt, c.md) == 0);
    CHECK(verify(c.salt - 1, c.md) != 0);
    CHECK(verify(20, c.md) != 0);
    CHECK(verify(c.salt, "sha1") != 0);
    // Not PKCS#1 v1.5 either.
    CHECK(sh(std::string("openssl dgst -") + c.md + " -verify " + pub + " -signature " + sig + " " + msg) != 0);
  }
}

TEST_CASE("auth_sig: RSASSA-PSS with another salt length than the hash's is rejected", "[auth_sig][cli][pss]") {
  TempDir d;
  const std::string msg = d.file("octets.bin"), sig = d.file("sig.bin");
  write_file(msg, kOctets);
  const RsaPublicKey pub = cli_key().key.public_key();
  for (const PssCase& c : kPssCases) {
    auto signed_with = [&](const std::string& salt) {
      REQUIRE(sh(std::string("openssl dgst -") + c.md + " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:" + salt +
                 " -sigopt rsa_mgf1_md:" + c.md + " -sign " + cli_key().pem + " -out " + sig + " " + msg) == 0);
      ByteSpan id = ike::algorithm_identifier(c.alg);
      Bytes auth{std::byte(id.size())};
      append(auth, id);
      append(auth, read_all(sig));
      return auth;
    };
    INFO(ike::to_string(c.alg));
    CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, signed_with(std::to_string(c.salt)), pub, kOctets).ok());
    for (const std::string& salt : {std::string("0"), std::string("20"), std::to_string(c.salt + 1), std::string("max")}) {
      INFO("salt " << salt);
      auto st = ike::verify_sig_auth(AuthMethod::digital_signature, signed_with(salt), pub, kOctets);
      REQUIRE(!st.ok());
      CHECK(st.error().code == Errc::auth);
    }
  }
}

TEST_CASE("auth_sig: PSS-only policy and configured hash preference", "[auth_sig][pss]") {
  const RsaPrivateKey& k = cli_key().key;
  const RsaPublicKey pub = k.public_key();
  Bytes pss = ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::rsa_pss_sha256, k, kOctets).value();
  Bytes pkcs1 = ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::rsa_pkcs1_sha256, k, kOctets).value();
  Bytes m1 = ike::make_sig_auth(AuthMethod::rsa_sig, SigAlg::rsa_pkcs1_sha1, k, kOctets).value();
  CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, pss, pub, kOctets, {}, true).ok());
  CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, pkcs1, pub, kOctets, {}, true).error().code == Errc::policy);
  CHECK(ike::verify_sig_auth(AuthMethod::rsa_sig, m1, pub, kOctets, {}, true).error().code == Errc::policy);
  CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, pkcs1, pub, kOctets).ok());

  CHECK(ike::sig_hash_id(SigHash::sha1) == SigHashId::sha1);
  CHECK(ike::sig_hash_id(SigHash::sha256) == SigHashId::sha2_256);
  CHECK(ike::sig_hash_id(SigHash::sha384) == SigHashId::sha2_384);
  CHECK(ike::sig_hash_id(SigHash::sha512) == SigHashId::sha2_512);
  const std::uint16_t swan[] = {1, 2, 3, 4, 5};
  const SigHash pref[] = {SigHash::sha512, SigHash::sha256};
  CHECK(ike::select_sig_alg(swan, true, pref) == SigAlg::rsa_pss_sha512);
  CHECK(ike::select_sig_alg(swan, false, pref) == SigAlg::rsa_pkcs1_sha512);
  const std::uint16_t no512[] = {2, 3};
  CHECK(ike::select_sig_alg(no512, true, pref) == SigAlg::rsa_pss_sha256);
  const SigHash only384[] = {SigHash::sha384};
  const std::uint16_t no384[] = {2, 4};
  CHECK(!ike::select_sig_alg(no384, true, only384).has_value());
  const SigHash sha1[] = {SigHash::sha1};
  CHECK(!ike::select_sig_alg(swan, false, sha1).has_value());  // never SHA-1 with method 14
}

TEST_CASE("auth_sig: ECDSA, RFC 7427 A.3 AlgorithmIdentifiers and RFC 4754 methods", "[auth_sig][ecdsa]") {
  // RFC 7427 A.3.1-A.3.3: ecdsa-with-sha256/384/512
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::ecdsa_sha256)) == "300a06082a8648ce3d040302");
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::ecdsa_sha384)) == "300a06082a8648ce3d040303");
  CHECK(to_hex(ike::algorithm_identifier(SigAlg::ecdsa_sha512)) == "300a06082a8648ce3d040304");
  CHECK(ike::rfc4754_method(EcCurve::p256) == AuthMethod::ecdsa_sha256_p256);
  CHECK(ike::rfc4754_method(EcCurve::p384) == AuthMethod::ecdsa_sha384_p384);
  CHECK(ike::is_signature_method(AuthMethod::ecdsa_sha384_p384));
  CHECK_FALSE(ike::is_signature_method(AuthMethod::psk));

  for (EcCurve c : {EcCurve::p256, EcCurve::p384}) {
    INFO(to_string(c));
    auto k = EcPrivateKey::generate(c);
    REQUIRE(k.ok());
    EcPublicKey pub = k->public_key();
    auto other = EcPrivateKey::generate(c);
    REQUIRE(other.ok());
    // method 9/10: r|s with the curve's hash
    AuthMethod m = ike::rfc4754_method(c);
    auto raw = ike::make_ecdsa_auth(m, ike::rfc4754_alg(m), *k, kOctets);
    REQUIRE(raw.ok());
    CHECK(raw->size() == 2 * ec_scalar_size(c));
    CHECK(ike::verify_ecdsa_auth(m, *raw, pub, kOctets).ok());
    CHECK(ike::verify_ecdsa_auth(m, *raw, other->public_key(), kOctets).error().code == Errc::auth);
    AuthMethod wrong_curve = c == EcCurve::p256 ? AuthMethod::ecdsa_sha384_p384 : AuthMethod::ecdsa_sha256_p256;
    CHECK(ike::verify_ecdsa_auth(wrong_curve, *raw, pub, kOctets).error().code == Errc::policy);
    CHECK_FALSE(ike::make_ecdsa_auth(wrong_curve, ike::rfc4754_alg(wrong_curve), *k, kOctets).ok());
    // method 14 with each hash
    for (SigAlg a : {SigAlg::ecdsa_sha256, SigAlg::ecdsa_sha384, SigAlg::ecdsa_sha512}) {
      INFO(ike::to_string(a));
      auto auth = ike::make_ecdsa_auth(AuthMethod::digital_signature, a, *k, kOctets);
      REQUIRE(auth.ok());
      auto v = ike::parse_sig_auth(AuthMethod::digital_signature, *auth);
      REQUIRE(v.ok());
      CHECK(v->alg == a);
      CHECK(ike::verify_ecdsa_auth(AuthMethod::digital_signature, *auth, pub, kOctets).ok());
      Bytes octets2 = kOctets;
      octets2[0] ^= std::byte{1};
      CHECK(ike::verify_ecdsa_auth(AuthMethod::digital_signature, *auth, pub, octets2).error().code == Errc::auth);
      // an RSA key never takes an ECDSA signature, and the other way round
      CHECK(ike::verify_sig_auth(AuthMethod::digital_signature, *auth, cli_key().key.public_key(), kOctets)
                .error()
                .code == Errc::policy);
      const SigHashId only256[] = {SigHashId::sha2_256};
      if (a != SigAlg::ecdsa_sha256)
        CHECK(ike::verify_ecdsa_auth(AuthMethod::digital_signature, *auth, pub, kOctets, only256).error().code ==
              Errc::policy);
    }
    auto rsa = ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::rsa_pkcs1_sha256, cli_key().key, kOctets);
    REQUIRE(rsa.ok());
    CHECK(ike::verify_ecdsa_auth(AuthMethod::digital_signature, *rsa, pub, kOctets).error().code == Errc::policy);
    CHECK_FALSE(ike::make_sig_auth(AuthMethod::digital_signature, SigAlg::ecdsa_sha256, cli_key().key, kOctets).ok());
  }
  // the curve's hash first, then the peer's announced ones
  const std::uint16_t all[] = {2, 3, 4};
  const std::uint16_t only512[] = {4};
  const std::uint16_t none[] = {1};
  CHECK(ike::select_ecdsa_alg(all, EcCurve::p384) == SigAlg::ecdsa_sha384);
  CHECK(ike::select_ecdsa_alg(all, EcCurve::p256) == SigAlg::ecdsa_sha256);
  CHECK(ike::select_ecdsa_alg(only512, EcCurve::p256) == SigAlg::ecdsa_sha512);
  CHECK_FALSE(ike::select_ecdsa_alg(none, EcCurve::p256));
  // truncated RFC 4754 data
  CHECK(ike::parse_sig_auth(AuthMethod::ecdsa_sha256_p256, {}).error().code == Errc::truncated);
}
