#include <catch2/catch.hpp>

#include <algorithm>
#include <utility>

#include "common/secret.h"

using common::Bytes;
using common::SecretBytes;

TEST_CASE("SecretBytes: a Bytes that is wiped when replaced or asked to", "[common][secret]") {
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
