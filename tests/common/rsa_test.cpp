// RSA keys and signatures (common/rsa.h): every format and algorithm round trip, signatures
// made and checked by the openssl CLI as an independent implementation, a fixed key whose
// libreswan 0s form was computed outside this code, malformed 0s input at every length.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/rsa.h"

using namespace common;
using namespace common::crypto;

namespace {

// A fixed 2048-bit key made with `openssl genpkey -algorithm RSA` (test data only).
constexpr const char* kFixedKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDDC6d9njGXLT39\n"
    "ltu+UKAIvj1QE13fPXwfbEk6TYRtTCems6tTTuBZsYaQb3XJco7Mch/eFkduZzFa\n"
    "Luc5Q/60ooTwB/rDSUg7FFOFdElliJYkRBs6FvR0F37NUBPwnWXorop5FOmsuNqE\n"
    "X6s15V9yI5/kwHQcI5GUx5iEBgvtxQQPvZPCcy+MoSXGzDrQ/f49ouL+wmn+WOHY\n"
    "jqpIv6pdhsRxn/LBE6edbNj1D4tgCYntfMIL1A2yt/I7FI8dkxI6cKbmihp59bgC\n"
    "SIzoVBqvaE/PqfkukC6aLR3reFjlnrDU7WNiQkhIFWd1rQpD2p1FzJwajr6OPtoI\n"
    "A7J9fc/ZAgMBAAECggEAA3cGSXLBPkaJOqNOsY2Unjsk8zJ44TGiLhu6HE1KvDdV\n"
    "X/6CnWcCEM3YzmGQhdzhYQvo+YTLTZCLPacmJ+wHjxVxB6OYppX7cMM+bZlAgYuA\n"
    "4VGNa0WDn7lYIRUaWZSuPgk1wAtpUE5zYVUiwUEbJjewTDvIBET0feBi2vuRhC6L\n"
    "ILR6aLpk9u1d13W7pxS5f/o/9mWsfWGEn1UCoNewZ93loi9RUjiFdAhE5Mtid2tG\n"
    "8IUpWt6ccWpZstAvGfVgatuCGD4fR5VUqQD5w+BzXKLMAFR8+ucwH3+rACyLdqiC\n"
    "Ilfv4ZqC5ZvtvmoO9RMXzuwe9ngEItjXvVhQ0zwktQKBgQDfxbgQGEsQ1/gcOMRQ\n"
    "5jhGN4mrfldURPO3VyOMn+168/SxP0NT9N0M8hJo7gY7yFSqsBGl49pOKv/c6eWl\n"
    "xeY6OebrY47UBAH4DNVhl6RuJiUGKHzSkV/r7NdpC8ddhnxG1ANcw9JMT6aeHem3\n"
    "aYxbJ38K/2jqlaDnMiBoKvSRvQKBgQDfIs3NuGHoNrQxOiD0rWWOh/675Pw7sneU\n"
    "oe6df9pSQHDRRLub4DPRPmgkQ3F6g15g9gs2iQ/VLtJHhk+jVULjDgWz3thrMPBz\n"
    "+GNxfZrlvfH0lcC8GqZ/UvQUAiXuFDcS6DduOvapwyYzvwrCXBTIy0HiHRON99of\n"
    "bkFdAFyCTQKBgQDSGPWERwrTubJ97N6FhmH3q1Va6rhbqpGY5fu+oLl742kusdMp\n"
    "FJInAXE/i5vWrXSw/bbUJmZlVgH9DK5NQs2yhYLGJyeG8GxY1NPTWWlM8gt5CLKJ\n"
    "kWyaOjjVq/V3Xjl41r6BbmoYtAAgHL2/Mx5Qx3iEfuGmvu3fpDTBGPOfkQKBgQC4\n"
    "9WyKve/KQK4UsA5pQuIPx4LL1P+PrFubBK96NmSOEYRysvqgNrQ9GfHRPWZvGz28\n"
    "ObcJuYs6NtlvGFIjHaWX+COZ+XqDP8nRF2+2v1sKXOyWxRtB0QV6PRS9ERrHwlH0\n"
    "hjCMWqvkBDNCaXVNrm48Et/FwjxXTb+slgPwR0BncQKBgBz40HgrIqU5c6p2we4e\n"
    "CjFWb7D5DgvvnONzgW9mH4NPjzxcPRqPYjqity3cmtHrDQlnmGJRL0WKoLJdnHjQ\n"
    "Nzn7xOMT44skElaEa4HmsG7H/q/+4AhC1x32FkeBSn/U+KHV4OVq09ZK+wI5RR+i\n"
    "9whS6F6eKKHUxTPdy0y1bxEQ\n"
    "-----END PRIVATE KEY-----\n";

// Its public key in libreswan's form, computed outside swanless with
//   N=$(openssl rsa -in k.pem -noout -modulus | cut -d= -f2)
//   (printf 03010001; echo -n $N) | xxd -r -p | openssl base64 -A
constexpr const char* kFixedKey0s =
    "0sAwEAAcMLp32eMZctPf2W275QoAi+PVATXd89fB9sSTpNhG1MJ6azq1NO4FmxhpBvdclyjsxyH94WR25nMVou5zlD/rSihPAH+"
    "sNJSDsUU4V0SWWIliREGzoW9HQXfs1QE/CdZeiuinkU6ay42oRfqzXlX3Ijn+TAdBwjkZTHmIQGC+3FBA+9k8JzL4yhJcbMOtD9/"
    "j2i4v7Caf5Y4diOqki/ql2GxHGf8sETp51s2PUPi2AJie18wgvUDbK38jsUjx2TEjpwpuaKGnn1uAJIjOhUGq9oT8+p+"
    "S6QLpotHet4WOWesNTtY2JCSEgVZ3WtCkPanUXMnBqOvo4+2ggDsn19z9k=";
constexpr const char* kFixedModulusPrefix = "c30ba77d9e31972d3dfd96dbbe50a008be3d5013";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/swl-rsa-test-XXXXXX";
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

void write_file(const std::string& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  REQUIRE(f.good());
}
std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
int sh_to(const std::string& cmd, const std::string& out) {
  return std::system((cmd + " >" + out + " 2>/dev/null").c_str());
}
Bytes B(std::string_view s) { return to_bytes(as_bytes(s)); }

const RsaPrivateKey& fixed_key() {
  static const RsaPrivateKey k = RsaPrivateKey::from_pem(kFixedKeyPem).value();
  return k;
}

struct Alg {
  RsaPadding pad;
  SigHash hash;
  const char* dgst;  // openssl dgst option
};
constexpr Alg kAlgs[] = {
    {RsaPadding::pkcs1_v15, SigHash::sha1, "-sha1"},   {RsaPadding::pkcs1_v15, SigHash::sha256, "-sha256"},
    {RsaPadding::pkcs1_v15, SigHash::sha384, "-sha384"}, {RsaPadding::pkcs1_v15, SigHash::sha512, "-sha512"},
    {RsaPadding::pss, SigHash::sha256, "-sha256"},     {RsaPadding::pss, SigHash::sha384, "-sha384"},
    {RsaPadding::pss, SigHash::sha512, "-sha512"},
};
std::string sigopts(RsaPadding p) {
  return p == RsaPadding::pss ? " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" : "";
}

}  // namespace

TEST_CASE("base64: RFC 4648 section 10 vectors and strict decoding", "[rsa][base64]") {
  const std::pair<const char*, const char*> v[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    CHECK(base64_encode(as_bytes(plain)) == enc);
    auto d = base64_decode(enc);
    REQUIRE(d.ok());
    CHECK(*d == B(plain));
  }
  CHECK(!base64_decode("Zg=").ok());      // not a multiple of 4
  CHECK(!base64_decode("Zg=a").ok());     // data after padding
  CHECK(!base64_decode("Z===").ok());     // too much padding
  CHECK(!base64_decode("Zh==").ok());     // non-zero bits under the padding
  CHECK(!base64_decode("Zm9v Yg==").ok());  // blanks are not ours to strip
  CHECK(!base64_decode("Zm9=Yg==").ok());   // padding in the middle
  CHECK(!base64_decode("Zm9*").ok());
}

TEST_CASE("RSA: fixed key's 0s form matches the one computed with the openssl CLI", "[rsa][libreswan]") {
  const RsaPublicKey pub = fixed_key().public_key();
  CHECK(pub.bits() == 2048);
  CHECK(pub.size() == 256);
  CHECK(to_hex(pub.modulus()).substr(0, 40) == kFixedModulusPrefix);
  CHECK(to_hex(pub.exponent()) == "010001");
  CHECK(pub.to_libreswan() == kFixedKey0s);
  auto back = RsaPublicKey::from_libreswan(kFixedKey0s);
  REQUIRE(back.ok());
  CHECK(*back == pub);
  CHECK(back->to_libreswan() == kFixedKey0s);
  // 0x (hex) form of the same bytes.
  auto hex = RsaPublicKey::from_libreswan("0x" + to_hex(pub.to_rfc3110()));
  REQUIRE(hex.ok());
  CHECK(*hex == pub);
}

TEST_CASE("RSA: 0s form recomputed at run time by the openssl CLI", "[rsa][libreswan][cli]") {
  TempDir d;
  write_file(d.file("k.pem"), kFixedKeyPem);
  // The RFC 3110 bytes built by hand: exponent length 3, 01 00 01, the CLI's modulus.
  REQUIRE(sh_to("openssl rsa -in " + d.file("k.pem") + " -noout -modulus", d.file("mod.txt")) == 0);
  std::string mod = read_all(d.file("mod.txt"));
  REQUIRE(mod.rfind("Modulus=", 0) == 0);
  mod = mod.substr(8);
  while (!mod.empty() && (mod.back() == '\n' || mod.back() == '\r')) mod.pop_back();
  Bytes raw = from_hex("03010001" + mod);
  write_file(d.file("raw.bin"), std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  REQUIRE(sh("openssl base64 -A -in " + d.file("raw.bin") + " -out " + d.file("raw.b64")) == 0);
  std::string b64 = read_all(d.file("raw.b64"));
  while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
  CHECK(fixed_key().public_key().to_libreswan() == "0s" + b64);
}

TEST_CASE("RSA: private key formats (PKCS#8, traditional, encrypted) and public PEM forms", "[rsa][pem]") {
  TempDir d;
  const std::string k8 = d.file("k8.pem");
  write_file(k8, kFixedKeyPem);
  REQUIRE(sh("openssl rsa -in " + k8 + " -traditional -out " + d.file("trad.pem")) == 0);
  REQUIRE(sh("openssl pkey -in " + k8 + " -aes256 -passout pass:s3cret -out " + d.file("enc8.pem")) == 0);
  REQUIRE(sh("openssl rsa -in " + k8 + " -traditional -aes128 -passout pass:s3cret -out " + d.file("enctrad.pem")) == 0);
  REQUIRE(sh("openssl pkey -in " + k8 + " -pubout -out " + d.file("spki.pem")) == 0);
  REQUIRE(sh("openssl rsa -in " + k8 + " -RSAPublicKey_out -out " + d.file("pkcs1pub.pem")) == 0);
  REQUIRE(read_all(d.file("trad.pem")).find("BEGIN RSA PRIVATE KEY") != std::string::npos);
  REQUIRE(read_all(d.file("pkcs1pub.pem")).find("BEGIN RSA PUBLIC KEY") != std::string::npos);

  const RsaPublicKey want = fixed_key().public_key();
  for (const char* f : {"k8.pem", "trad.pem"}) {
    auto k = RsaPrivateKey::load_pem_file(d.file(f));
    INFO(f);
    REQUIRE(k.ok());
    CHECK(k->public_key() == want);
  }
  for (const char* f : {"enc8.pem", "enctrad.pem"}) {
    INFO(f);
    auto no_pw = RsaPrivateKey::load_pem_file(d.file(f));
    REQUIRE(!no_pw.ok());
    CHECK(no_pw.error().code == Errc::config);
    auto bad_pw = RsaPrivateKey::load_pem_file(d.file(f), "wrong");
    REQUIRE(!bad_pw.ok());
    CHECK(bad_pw.error().code == Errc::auth);
    auto k = RsaPrivateKey::load_pem_file(d.file(f), "s3cret");
    REQUIRE(k.ok());
    CHECK(k->public_key() == want);
  }
  for (const char* f : {"spki.pem", "pkcs1pub.pem"}) {
    INFO(f);
    auto p = RsaPublicKey::load_pem_file(d.file(f));
    REQUIRE(p.ok());
    CHECK(*p == want);
  }
  // Our PEM output is what the CLI writes for the same key.
  CHECK(want.to_pem() == read_all(d.file("spki.pem")));
  auto again = RsaPublicKey::from_pem(want.to_pem());
  REQUIRE(again.ok());
  CHECK(*again == want);

  CHECK(!RsaPublicKey::load_pem_file(d.file("missing.pem")).ok());
  CHECK(RsaPublicKey::load_pem_file(d.file("missing.pem")).error().code == Errc::io);
  CHECK(!RsaPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").ok());
  CHECK(!RsaPrivateKey::from_pem("not a key").ok());
  CHECK(!RsaPublicKey::from_pem("").ok());
}

TEST_CASE("RSA: non-RSA and small keys are refused", "[rsa][pem]") {
  TempDir d;
  REQUIRE(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d.file("ec.pem")) == 0);
  REQUIRE(sh("openssl pkey -in " + d.file("ec.pem") + " -pubout -out " + d.file("ecpub.pem")) == 0);
  CHECK(!RsaPrivateKey::load_pem_file(d.file("ec.pem")).ok());
  CHECK(!RsaPublicKey::load_pem_file(d.file("ecpub.pem")).ok());
  REQUIRE(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:768 -out " + d.file("small.pem")) == 0);
  auto small = RsaPrivateKey::load_pem_file(d.file("small.pem"));
  REQUIRE(!small.ok());
  CHECK(small.error().code == Errc::unsupported);
}

TEST_CASE("RSA: sign/verify round trip for every padding and hash", "[rsa][sign]") {
  const RsaPrivateKey& k = fixed_key();
  const RsaPublicKey pub = k.public_key();
  const Bytes msg = B("IKEv2 signed octets stand-in");
  for (const Alg& a : kAlgs) {
    INFO(to_string(a.hash) << (a.pad == RsaPadding::pss ? " pss" : " pkcs1"));
    auto sig = k.sign(a.pad, a.hash, msg);
    REQUIRE(sig.ok());
    CHECK(sig->size() == 256);
    CHECK(pub.verify(a.pad, a.hash, msg, *sig).ok());
    // Wrong message, flipped bit, other hash, other padding, wrong length: all rejected.
    Bytes other = msg;
    other[0] ^= std::byte{1};
    CHECK(pub.verify(a.pad, a.hash, other, *sig).error().code == Errc::auth);
    Bytes bad = *sig;
    bad[100] ^= std::byte{0x40};
    CHECK(!pub.verify(a.pad, a.hash, msg, bad).ok());
    SigHash h2 = a.hash == SigHash::sha512 ? SigHash::sha256 : SigHash::sha512;
    CHECK(!pub.verify(a.pad, h2, msg, *sig).ok());
    if (a.hash != SigHash::sha1) {
      RsaPadding p2 = a.pad == RsaPadding::pss ? RsaPadding::pkcs1_v15 : RsaPadding::pss;
      CHECK(!pub.verify(p2, a.hash, msg, *sig).ok());
    }
    CHECK(!pub.verify(a.pad, a.hash, msg, ByteSpan(*sig).first(255)).ok());
    Bytes longer = *sig;
    longer.push_back(std::byte{0});
    CHECK(!pub.verify(a.pad, a.hash, msg, longer).ok());
  }
  // PKCS#1 v1.5 is deterministic; PSS is not (random salt).
  CHECK(*k.sign(RsaPadding::pkcs1_v15, SigHash::sha256, msg) == *k.sign(RsaPadding::pkcs1_v15, SigHash::sha256, msg));
  CHECK(*k.sign(RsaPadding::pss, SigHash::sha256, msg) != *k.sign(RsaPadding::pss, SigHash::sha256, msg));
  CHECK(k.sign(RsaPadding::pss, SigHash::sha1, msg).error().code == Errc::unsupported);
  // A signature from another key does not verify.
  auto k2 = RsaPrivateKey::generate(2048);
  REQUIRE(k2.ok());
  CHECK(!pub.verify(RsaPadding::pkcs1_v15, SigHash::sha256, msg, *k2->sign(RsaPadding::pkcs1_v15, SigHash::sha256, msg)).ok());
}

TEST_CASE("RSA: signatures interoperate with the openssl CLI both ways", "[rsa][sign][cli]") {
  TempDir d;
  const std::string key = d.file("k.pem"), pub = d.file("pub.pem"), msg = d.file("msg.bin");
  write_file(key, kFixedKeyPem);
  REQUIRE(sh("openssl pkey -in " + key + " -pubout -out " + pub) == 0);
  const std::string text = "AUTH payload octets signed by the CLI";
  write_file(msg, text);
  const RsaPublicKey ours = fixed_key().public_key();
  for (const Alg& a : kAlgs) {
    INFO(a.dgst << sigopts(a.pad));
    const std::string sig = d.file("sig.bin");
    REQUIRE(sh(std::string("openssl dgst ") + a.dgst + sigopts(a.pad) + " -sign " + key + " -out " + sig + " " + msg) == 0);
    std::string s = read_all(sig);
    CHECK(ours.verify(a.pad, a.hash, as_bytes(text), as_bytes(s)).ok());
    CHECK(!ours.verify(a.pad, a.hash, as_bytes(text + "x"), as_bytes(s)).ok());

    auto mine = fixed_key().sign(a.pad, a.hash, as_bytes(text));
    REQUIRE(mine.ok());
    const std::string msig = d.file("mine.bin");
    write_file(msig, std::string_view(reinterpret_cast<const char*>(mine->data()), mine->size()));
    CHECK(sh(std::string("openssl dgst ") + a.dgst + sigopts(a.pad) + " -verify " + pub + " -signature " + msig + " " + msg) == 0);
  }
  // The CLI with a different PSS salt length: our strict salt = hash length check rejects it.
  const std::string sig = d.file("salt.bin");
  REQUIRE(sh("openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -sign " + key + " -out " + sig + " " + msg) == 0);
  CHECK(!ours.verify(RsaPadding::pss, SigHash::sha256, as_bytes(text), as_bytes(read_all(sig))).ok());
}

TEST_CASE("RSA: RFC 3110 decoding rejects every truncation and malformed form", "[rsa][libreswan]") {
  // A modulus cut short is still a number: once it is long enough (>= 1024 bits) and odd,
  // it is a (different) key. So: every cut inside the header, the exponent or the first
  // 1024 bits is rejected; a longer cut never gives back the original key.
  const RsaPublicKey orig = fixed_key().public_key();
  const Bytes good = orig.to_rfc3110();
  REQUIRE(RsaPublicKey::from_rfc3110(good).ok());
  const std::size_t min_len = 4 + kMinPublicBits / 8;
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO(n);
    auto r = RsaPublicKey::from_rfc3110(ByteSpan(good).first(n));
    if (n < min_len) CHECK(!r.ok());
    else if (r.ok()) CHECK(!(*r == orig));
  }
  const std::string s = kFixedKey0s;
  for (std::size_t n = 0; n < s.size(); ++n) {
    INFO(n);
    auto r = RsaPublicKey::from_libreswan(std::string_view(s).substr(0, n));
    if (n < 2 + min_len * 4 / 3) CHECK(!r.ok());
    else if (r.ok()) CHECK(!(*r == orig));
    if (n % 4 != 2) CHECK(!r.ok());  // base64 cut off inside a quantum
  }
  CHECK(RsaPublicKey::from_rfc3110(from_hex("00")).error().code == Errc::truncated);
  CHECK(RsaPublicKey::from_rfc3110(from_hex("0000")).error().code == Errc::truncated);
  // Long length form for a 3-byte exponent is not minimal.
  Bytes longform = from_hex("000003010001");
  append(longform, ByteSpan(good).subspan(4));
  CHECK(RsaPublicKey::from_rfc3110(longform).error().code == Errc::malformed);
  // Leading zero on exponent or modulus.
  Bytes ez = from_hex("0400010001");
  append(ez, ByteSpan(good).subspan(4));
  CHECK(RsaPublicKey::from_rfc3110(ez).error().code == Errc::malformed);
  Bytes nz = from_hex("03010001 00");
  append(nz, ByteSpan(good).subspan(4));
  CHECK(RsaPublicKey::from_rfc3110(nz).error().code == Errc::malformed);
  // Even exponent, exponent 1, even modulus, too-long exponent, too-small modulus.
  Bytes even = good;
  even[3] = std::byte{0x02};
  CHECK(!RsaPublicKey::from_rfc3110(even).ok());
  Bytes one = from_hex("0101");
  append(one, ByteSpan(good).subspan(4));
  CHECK(!RsaPublicKey::from_rfc3110(one).ok());
  Bytes evenn = good;
  evenn.back() &= std::byte{0xfe};
  CHECK(!RsaPublicKey::from_rfc3110(evenn).ok());
  Bytes bige = from_hex("09 010000000000000001");
  append(bige, ByteSpan(good).subspan(4));
  CHECK(RsaPublicKey::from_rfc3110(bige).error().code == Errc::unsupported);
  CHECK(!RsaPublicKey::from_rfc3110(ByteSpan(good).first(4 + 64)).ok());  // 512-bit modulus
  // Text forms.
  CHECK(!RsaPublicKey::from_libreswan("AwEAAQ==").ok());
  CHECK(!RsaPublicKey::from_libreswan("0z" + s.substr(2)).ok());
  CHECK(!RsaPublicKey::from_libreswan(s + "=").ok());
  CHECK(!RsaPublicKey::from_libreswan(" " + s).ok());
  CHECK(!RsaPublicKey::from_libreswan("0x0301000").ok());
  CHECK(!RsaPublicKey::from_libreswan("0x03010001zz").ok());
}

TEST_CASE("RSA: key generation, PEM file written 0600 and never overwritten", "[rsa][keygen]") {
  CHECK(RsaPrivateKey::generate(1024).error().code == Errc::config);
  CHECK(RsaPrivateKey::generate(2047).error().code == Errc::config);
  auto k = RsaPrivateKey::generate(2048);
  REQUIRE(k.ok());
  CHECK(k->bits() == 2048);
  CHECK(to_hex(k->public_key().exponent()) == "010001");
  TempDir d;
  const std::string path = d.file("host.pem");
  ::umask(0022);
  REQUIRE(k->write_pem_file(path).ok());
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = RsaPrivateKey::load_pem_file(path);
  REQUIRE(back.ok());
  CHECK(back->public_key() == k->public_key());
  CHECK(read_all(path).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  // The CLI reads it and agrees on the modulus.
  CHECK(sh("openssl rsa -in " + path + " -check -noout") == 0);
  // Second write refuses and leaves the first key alone.
  auto k2 = RsaPrivateKey::generate(2048);
  REQUIRE(k2.ok());
  auto again = k2->write_pem_file(path);
  REQUIRE(!again.ok());
  CHECK(again.error().code == Errc::io);
  CHECK(RsaPrivateKey::load_pem_file(path)->public_key() == k->public_key());
  CHECK(!k->write_pem_file(d.file("no/such/dir.pem")).ok());
}
