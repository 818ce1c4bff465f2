// OpenSSL's secure heap for the daemon's key material (common/secret.h): one arena of
// mlock'ed pages, excluded from core dumps (MADV_DONTDUMP) and fenced by guard pages,
// from which SecretBytes and OpenSSL's own private values (DH and X25519 private keys,
// RSA private components) are allocated once it exists.
//
// secure_heap_init is called once at daemon start, while it may still lock memory (before
// the privilege drop). Locking needs RLIMIT_MEMLOCK >= the arena (systemd: LimitMEMLOCK=,
// or CAP_IPC_LOCK); without it the arena still exists and is still excluded from core
// dumps, but may be swapped, and secure_heap_state().locked says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace common {

struct SecureHeapState {
  bool enabled = false;    // the arena exists
  bool locked = false;     // its pages are mlock'ed
  std::size_t size = 0;    // bytes in the arena
  std::size_t used = 0;    // bytes handed out now (OpenSSL's own included)
  std::uint64_t fallbacks = 0;  // SecretBytes allocations that went to ordinary memory
  std::string problem;     // why it is not enabled or not locked, for the log
};

// size: bytes, a power of two (OpenSSL's rule); min_block: the smallest allocation.
SecureHeapState secure_heap_init(std::size_t size = std::size_t{1} << 20, std::size_t min_block = 32);
SecureHeapState secure_heap_state();

}  // namespace common
