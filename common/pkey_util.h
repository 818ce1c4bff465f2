// What the public-key files of common/ (rsa.cpp, ecdsa.cpp, x509.cpp) share: OpenSSL handle
// ownership, errors that leave OpenSSL's error queue clean, the digest for a SigHash, memory
// BIOs, the never-prompting passphrase callback and key file reading. Internal to common/.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "common/secret.h"

namespace common::crypto {
enum class SigHash : std::uint8_t;
}

namespace common::crypto::pkey {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p);
// make_error after clearing OpenSSL's error queue (do not leave it to the next caller).
Error err(Errc c, const char* d);
const EVP_MD* md_for(SigHash h);
BioPtr mem_bio(std::string_view s);
std::string bio_string(BIO* b);
// PEM passphrase callback: never prompts. u points to a std::string_view.
int pass_cb(char* buf, int size, int rwflag, void* u);
// Key codecs shared by the key types (the caller checks the key's type afterwards).
// PEM private key; an encrypted one needs the passphrase (never prompted).
Result<std::shared_ptr<EVP_PKEY>> private_from_pem(std::string_view pem, std::string_view passphrase);
// Exactly one DER SubjectPublicKeyInfo.
Result<std::shared_ptr<EVP_PKEY>> public_from_spki_der(ByteSpan der);
Bytes spki_der(EVP_PKEY* k);
// EVP_DigestSign over message with a context already initialised for signing.
Result<Bytes> digest_sign(EVP_MD_CTX* ctx, ByteSpan message);

// A public file (key, certificate, CRL) of at most 1 MiB.
Result<std::string> read_file(const std::string& path);
// A private key file, read straight into wiped memory.
Result<SecretBytes> read_secret_file(const std::string& path);

}  // namespace common::crypto::pkey
