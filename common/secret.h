// Key material that is wiped when it goes and, where the machine allows it, never reaches
// swap or a core dump: SecretBytes is a byte vector whose storage comes from OpenSSL's
// secure heap (CRYPTO_secure_malloc: mlock'ed pages, excluded from core dumps, guard pages
// around the arena) once the daemon has set one up (common/secure_heap.h), and whose
// storage is overwritten (OPENSSL_cleanse) before it is given back. SK_* keys, ESP keys,
// PSKs and the temporaries they are made from (prf+ output, the DH shared secret) are
// SecretBytes.
//
// It is not a common::Bytes on purpose: a plain copy of a key (Bytes x = keys.sk_d) does
// not compile. It converts to a ByteSpan, so every function reading bytes takes it; a
// function that keeps a key takes or returns a SecretBytes.
//
// When the secure heap is full or was never set up (tools such as `swanless check`, unit
// tests), the storage comes from the ordinary heap and is still wiped on free; the daemon
// counts those allocations (status: process.secure_heap).
#pragma once

#include <openssl/crypto.h>

#include <algorithm>
#include <cstddef>
#include <new>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace common {

namespace detail {
void note_secure_fallback() noexcept;  // common/secure_heap.cpp
}

template <class T>
struct SecureAllocator {
  using value_type = T;
  SecureAllocator() = default;
  template <class U>
  SecureAllocator(const SecureAllocator<U>&) noexcept {}  // NOLINT: rebinding, as std::allocator does

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    void* p = OPENSSL_secure_malloc(bytes);
    if (p == nullptr) {
      // The secure heap is full (or OpenSSL was built without one): ordinary memory, still
      // wiped on free by OPENSSL_secure_clear_free, which tells the two apart.
      detail::note_secure_fallback();
      p = OPENSSL_malloc(bytes);
      if (p == nullptr) throw std::bad_alloc();
    }
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept { OPENSSL_secure_clear_free(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const SecureAllocator<U>&) const noexcept {
    return true;
  }
};

class SecretBytes : public std::vector<std::byte, SecureAllocator<std::byte>> {
  using Base = std::vector<std::byte, SecureAllocator<std::byte>>;

 public:
  SecretBytes() = default;
  SecretBytes(ByteSpan s) : Base(s.begin(), s.end()) {}     // NOLINT: implicit, as from a Bytes
  SecretBytes(const Bytes& b) : Base(b.begin(), b.end()) {}  // NOLINT
  SecretBytes(std::size_t n, std::byte v) : Base(n, v) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      wipe();
      Base::operator=(o);
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      wipe();
      Base::operator=(std::move(o));
    }
    return *this;
  }
  SecretBytes& operator=(ByteSpan s) {
    wipe();
    assign(s.begin(), s.end());
    return *this;
  }
  SecretBytes& operator=(const Bytes& b) { return *this = ByteSpan(b); }
  ~SecretBytes() = default;  // the allocator wipes the whole capacity as it frees it

  // Overwrites the contents in place (the size stays).
  void wipe() noexcept {
    if (!empty()) OPENSSL_cleanse(data(), size());
  }

  friend bool operator==(const SecretBytes& a, const SecretBytes& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const SecretBytes& a, const Bytes& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
};

// Overwrites a string that held secret text (a PSK line of ipsec.secrets).
inline void wipe_string(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

inline void append(SecretBytes& out, ByteSpan s) { out.insert(out.end(), s.begin(), s.end()); }

}  // namespace common
