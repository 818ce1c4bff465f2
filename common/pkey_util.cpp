// Shared public-key helpers of common/. See pkey_util.h.
#include "common/pkey_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/rsa.h"

namespace common::crypto::pkey {

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, PkeyFree{}); }

Error err(Errc c, const char* d) {
  ERR_clear_error();
  return make_error(c, d);
}

const EVP_MD* md_for(SigHash h) {
  switch (h) {
    case SigHash::sha1: return EVP_sha1();
    case SigHash::sha256: return EVP_sha256();
    case SigHash::sha384: return EVP_sha384();
    case SigHash::sha512: return EVP_sha512();
  }
  return nullptr;
}

BioPtr mem_bio(std::string_view s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string bio_string(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return n > 0 ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  const auto* pw = static_cast<const std::string_view*>(u);
  if (!pw || pw->empty() || size <= 0) return -1;
  if (pw->size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, pw->data(), pw->size());
  return static_cast<int>(pw->size());
}

Result<std::shared_ptr<EVP_PKEY>> private_from_pem(std::string_view pem, std::string_view passphrase) {
  BioPtr bio = mem_bio(pem);
  if (!bio) return err(Errc::crypto, "BIO_new_mem_buf");
  std::string_view pw = passphrase;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb, &pw);
  if (!raw) {
    bool encrypted = pem.find("ENCRYPTED") != std::string_view::npos;
    if (encrypted && passphrase.empty())
      return err(Errc::config, "private key is encrypted and no passphrase was given");
    if (encrypted) return err(Errc::auth, "cannot decrypt private key (wrong passphrase?)");
    return err(Errc::malformed, "not a PEM private key");
  }
  return own(raw);
}

Result<std::shared_ptr<EVP_PKEY>> public_from_spki_der(ByteSpan der) {
  const unsigned char* p = u8(der);
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (!raw) return err(Errc::malformed, "not a DER SubjectPublicKeyInfo");
  auto k = own(raw);
  if (p != u8(der) + der.size()) return err(Errc::malformed, "bytes after the SubjectPublicKeyInfo");
  return k;
}

Bytes spki_der(EVP_PKEY* k) {
  int n = i2d_PUBKEY(k, nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<std::size_t>(n));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_PUBKEY(k, &p);
  return out;
}

Result<Bytes> digest_sign(EVP_MD_CTX* ctx, ByteSpan message) {
  std::size_t len = 0;
  if (EVP_DigestSign(ctx, nullptr, &len, u8(message), message.size()) != 1)
    return err(Errc::crypto, "EVP_DigestSign size");
  Bytes sig(len);
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, u8(message), message.size()) != 1)
    return err(Errc::crypto, "EVP_DigestSign");
  sig.resize(len);
  return sig;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(Errc::io, "cannot open file");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return make_error(Errc::io, "cannot read file");
  std::string s = ss.str();
  if (s.size() > (1u << 20)) return make_error(Errc::io, "file larger than 1 MiB");
  return s;
}

// No stream buffers that grow and leave copies behind.
Result<SecretBytes> read_secret_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::io, "cannot open key file");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size < 0 || st.st_size > (1 << 20)) {
    ::close(fd);
    return make_error(Errc::io, "cannot read key file (not a regular file of at most 1 MiB)");
  }
  SecretBytes out(static_cast<std::size_t>(st.st_size), std::byte{0});
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != out.size()) return make_error(Errc::io, "cannot read key file");
  return out;
}

}  // namespace common::crypto::pkey
