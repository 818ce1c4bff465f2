#include "common/secure_heap.h"

#include <openssl/crypto.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/secret.h"

namespace common {

namespace {
std::atomic<std::uint64_t> g_fallbacks{0};
bool g_locked = false;
std::size_t g_size = 0;
std::string g_problem = "not set up";
}  // namespace

namespace detail {
void note_secure_fallback() noexcept { g_fallbacks.fetch_add(1, std::memory_order_relaxed); }
}  // namespace detail

SecureHeapState secure_heap_init(std::size_t size, std::size_t min_block) {
  if (CRYPTO_secure_malloc_initialized()) return secure_heap_state();
  // OpenSSL reports only "initialised, not locked"; the limit says why.
  rlimit lim{};
  const bool have_lim = ::getrlimit(RLIMIT_MEMLOCK, &lim) == 0;
  const int rc = CRYPTO_secure_malloc_init(size, min_block);
  if (rc != 0) g_size = size;
  switch (rc) {
    case 1:
      g_locked = true;
      g_problem.clear();
      break;
    case 2:
      g_locked = false;
      g_problem = "its pages could not be locked (mlock";
      if (have_lim && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < size)
        g_problem += ": RLIMIT_MEMLOCK is " + std::to_string(lim.rlim_cur / 1024) + " KiB, the arena needs " +
                     std::to_string(size / 1024) + " KiB; raise LimitMEMLOCK= or grant CAP_IPC_LOCK";
      g_problem += "); keys may reach swap, but not core dumps";
      break;
    default:
      g_locked = false;
      g_problem = "OpenSSL could not set up its secure heap; keys live in ordinary memory (still wiped on free)";
      break;
  }
  return secure_heap_state();
}

SecureHeapState secure_heap_state() {
  SecureHeapState s;
  s.enabled = CRYPTO_secure_malloc_initialized() != 0;
  s.locked = s.enabled && g_locked;
  s.size = s.enabled ? g_size : 0;
  s.used = s.enabled ? CRYPTO_secure_used() : 0;
  s.fallbacks = g_fallbacks.load(std::memory_order_relaxed);
  s.problem = s.enabled && g_locked ? "" : g_problem;
  return s;
}

}  // namespace common
