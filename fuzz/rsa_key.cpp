// libFuzzer target for RSA key text and signature AUTH data: the RFC 3110 / libreswan 0s
// decoder (common/rsa.h), the method 1/14 AUTH parser and verifier, and the
// SIGNATURE_HASH_ALGORITHMS parser (ike/auth_sig.h).
//
// The first input byte picks the parser; the rest is its input. Contracts checked:
// a decoded key re-encodes to exactly the input (minimal encoding only), a text key
// re-decodes to the same key, a parsed AUTH's views stay inside the input and add up to
// it, and nothing random verifies under a fixed key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/bytes.h"
#include "common/rsa.h"
#include "ike/auth_sig.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(common::ByteSpan part, common::ByteSpan whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// A fixed 2048-bit public key (the one in tests/common/rsa_test.cpp).
const common::crypto::RsaPublicKey& fixed_key() {
  static const common::crypto::RsaPublicKey k =
      common::crypto::RsaPublicKey::from_libreswan(
          "0sAwEAAcMLp32eMZctPf2W275QoAi+PVATXd89fB9sSTpNhG1MJ6azq1NO4FmxhpBvdclyjsxyH94WR25nMVou5zlD/rSihPAH+"
          "sNJSDsUU4V0SWWIliREGzoW9HQXfs1QE/CdZeiuinkU6ay42oRfqzXlX3Ijn+TAdBwjkZTHmIQGC+3FBA+9k8JzL4yhJcbMOtD9/"
          "j2i4v7Caf5Y4diOqki/ql2GxHGf8sETp51s2PUPi2AJie18wgvUDbK38jsUjx2TEjpwpuaKGnn1uAJIjOhUGq9oT8+p+"
          "S6QLpotHet4WOWesNTtY2JCSEgVZ3WtCkPanUXMnBqOvo4+2ggDsn19z9k=")
          .value();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const common::ByteSpan in = common::as_bytes(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  static const common::Bytes kOctets = common::to_bytes(common::as_bytes("signed octets"));

  switch (data[0] % 4) {
    case 0: {
      auto k = common::crypto::RsaPublicKey::from_rfc3110(in);
      if (k) {
        common::Bytes again = k->to_rfc3110();
        check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
        check(k->bits() >= common::crypto::kMinPublicBits && k->bits() <= common::crypto::kMaxPublicBits);
      }
      break;
    }
    case 1: {
      auto k = common::crypto::RsaPublicKey::from_libreswan(text);
      if (k) {
        auto back = common::crypto::RsaPublicKey::from_libreswan(k->to_libreswan());
        check(back.ok() && *back == *k);
        if (text.size() > 1 && text[1] == 's') check(k->to_libreswan() == text);
      }
      auto b = common::crypto::base64_decode(text);
      if (b) check(common::crypto::base64_encode(*b) == text);
      break;
    }
    case 2: {
      auto v = ike::parse_sig_auth(ike::AuthMethod::digital_signature, in);
      if (v) {
        check(inside(v->algorithm_id, in) && inside(v->signature, in));
        check(1 + v->algorithm_id.size() + v->signature.size() == in.size());
        check(!v->signature.empty());
        auto id = ike::algorithm_identifier(v->alg);
        check(std::equal(id.begin(), id.end(), v->algorithm_id.begin(), v->algorithm_id.end()));
      }
      check(!ike::verify_sig_auth(ike::AuthMethod::digital_signature, in, fixed_key(), kOctets).ok());
      break;
    }
    case 3: {
      check(!ike::verify_sig_auth(ike::AuthMethod::rsa_sig, in, fixed_key(), kOctets).ok());
      auto ids = ike::parse_signature_hash_algorithms(in);
      if (ids) {
        check(ids->size() * 2 == in.size());
        (void)ike::select_sig_alg(*ids, true);
      }
      break;
    }
  }
  return 0;
}
