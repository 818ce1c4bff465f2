#include <catch2/catch.hpp>

#include <algorithm>
#include <utility>

#include "common/crypto.h"
#include "common/rsa.h"
#include "common/secret.h"
#include "common/secure_heap.h"

using common::Bytes;
using common::SecretBytes;

TEST_CASE("SecretBytes: bytes that are wiped when replaced or asked to", "[common][secret]") {
  const Bytes key{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  SecretBytes s = key;
  CHECK(s == key);
  common::ByteSpan view = s;  // works wherever a span or a Bytes does
  CHECK(view.size() == 4);

  SecretBytes copy = s;
  CHECK(copy == key);
  SecretBytes moved = std::move(copy);
  CHECK(moved == key);
  CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from vector is empty

  // wipe() overwrites in place: the buffer that held the key holds zeros after it.
  const std::byte* p = s.data();
  s.wipe();
  CHECK(s.data() == p);
  CHECK(std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; }));

  // Replacing the contents (copy or move) wipes the old ones first and keeps the new.
  SecretBytes t = key;
  t = Bytes(4, std::byte{9});
  CHECK(t == Bytes(4, std::byte{9}));
  t = moved;
  CHECK(t == key);
}

TEST_CASE("Key material comes from OpenSSL's secure heap once the daemon has one", "[common][secret]") {
  // secure_heap_init is what run_daemon calls; once per process, so this test owns it here.
  const auto st = common::secure_heap_init();
  REQUIRE(st.enabled);
  CHECK(st.size == std::size_t{1} << 20);
  // As root (CI) the pages are locked; otherwise the reason is given.
  CHECK((st.locked || !st.problem.empty()));

  const std::size_t before = CRYPTO_secure_used();
  SecretBytes key(64, std::byte{0x5a});
  CHECK(CRYPTO_secure_allocated(key.data()) == 1);
  CHECK(CRYPTO_secure_used() > before);
  const Bytes plain(64, std::byte{0x5a});
  CHECK(CRYPTO_secure_allocated(plain.data()) == 0);

  // What a key derivation makes is a SecretBytes too (prf+ output, DH shared secret).
  auto prf = common::crypto::Prf::create(common::crypto::PrfId::hmac_sha256);
  REQUIRE(prf);
  const SecretBytes km = common::crypto::prf_plus(*prf, plain, plain, 96);
  CHECK(CRYPTO_secure_allocated(km.data()) == 1);

  // OpenSSL puts its own private values there: X25519, ECP-256 and MODP-2048 private keys.
  for (auto group : {common::crypto::DhId::curve25519, common::crypto::DhId::ecp256, common::crypto::DhId::modp2048}) {
    const std::size_t used = CRYPTO_secure_used();
    auto a = common::crypto::Dh::generate(group);
    auto b = common::crypto::Dh::generate(group);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(CRYPTO_secure_used() > used);
    auto shared = (*a)->shared_secret((*b)->public_value());
    REQUIRE(shared);
    CHECK(CRYPTO_secure_allocated(shared->data()) == 1);
  }

  // An RSA private key read from a PEM file: its private components are there too.
  {
    auto gen = common::crypto::RsaPrivateKey::generate(2048);
    REQUIRE(gen);
    const std::string pem = gen->to_pem();
    const std::size_t used = CRYPTO_secure_used();
    auto key = common::crypto::RsaPrivateKey::from_pem(pem);
    REQUIRE(key);
    CHECK(CRYPTO_secure_used() > used);
  }

  // Freed key buffers go back to the heap: nothing leaks from the arena.
  const std::size_t used = CRYPTO_secure_used();
  { SecretBytes tmp(4096, std::byte{1}); CHECK(CRYPTO_secure_used() > used); }
  CHECK(CRYPTO_secure_used() == used);
  CHECK(common::secure_heap_state().used == used);
}

TEST_CASE("A full secure heap puts key buffers in ordinary memory, counted, still usable", "[common][secret]") {
  const auto st = common::secure_heap_init();  // already set up by the case above, or now
  REQUIRE(st.enabled);
  const auto fallbacks = common::secure_heap_state().fallbacks;
  // Larger than the whole arena: cannot come from it.
  SecretBytes big(st.size + 1, std::byte{7});
  CHECK(CRYPTO_secure_allocated(big.data()) == 0);
  CHECK(big.back() == std::byte{7});
  CHECK(common::secure_heap_state().fallbacks == fallbacks + 1);
}
