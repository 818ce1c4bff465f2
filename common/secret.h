// Key material that is wiped when it goes: SecretBytes is a common::Bytes whose destructor
// (and every assignment that replaces its contents) overwrites the old bytes with
// OPENSSL_cleanse first, so SK_* keys, ESP keys and PSKs do not linger in freed heap
// memory for the rest of the process's life. It is a Bytes: spans, size(), data() and
// every function taking a Bytes or a ByteSpan work unchanged.
//
// What it does not do: wipe copies made into a plain Bytes (a temporary from prf+, a
// serialised payload), or lock the pages (mlock works on whole pages shared with other
// heap data). Core dumps are off instead (config setup dumpable=, daemon/privilege.h).
#pragma once

#include <openssl/crypto.h>

#include <utility>

#include "common/bytes.h"

namespace common {

class SecretBytes : public Bytes {
 public:
  SecretBytes() = default;
  SecretBytes(const Bytes& b) : Bytes(b) {}             // NOLINT: implicit, as a Bytes would be
  SecretBytes(Bytes&& b) noexcept : Bytes(std::move(b)) {}  // NOLINT
  SecretBytes(ByteSpan s) : Bytes(s.begin(), s.end()) {}  // NOLINT
  SecretBytes(std::size_t n, std::byte v) : Bytes(n, v) {}
  SecretBytes(const SecretBytes& o) : Bytes(o) {}
  SecretBytes(SecretBytes&& o) noexcept : Bytes(std::move(o)) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) assign_from(o);
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      wipe();
      Bytes::operator=(std::move(o));
    }
    return *this;
  }
  SecretBytes& operator=(const Bytes& b) {
    assign_from(b);
    return *this;
  }
  SecretBytes& operator=(Bytes&& b) noexcept {
    wipe();
    Bytes::operator=(std::move(b));
    return *this;
  }
  ~SecretBytes() { wipe(); }

  // Overwrites the contents (the size stays); also what the destructor does.
  void wipe() noexcept {
    if (!empty()) OPENSSL_cleanse(data(), size());
  }

 private:
  void assign_from(const Bytes& b) {
    wipe();
    Bytes::operator=(b);
  }
};

}  // namespace common
