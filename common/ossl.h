// OpenSSL handle ownership shared by the EVP implementation files of common/crypto.h
// (crypto_openssl.cpp, dh_openssl.cpp). Internal to common/: include it from nowhere else.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "common/bytes.h"

namespace common::crypto::ossl {

// ---------------------------------------------------------------------------------------
// RAII for the OpenSSL handle types the EVP implementation uses.
struct Free {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
  void operator()(EVP_CIPHER* p) const { EVP_CIPHER_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
template <typename T>
using Ossl = std::unique_ptr<T, Free>;

// OpenSSL treats a NULL key pointer as "keep the previous key"; an empty span may have a
// NULL data(), so give it a valid address.
inline const unsigned char* key_ptr(ByteSpan s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : u8(s);
}

}  // namespace common::crypto::ossl
