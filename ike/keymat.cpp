#include "ike/keymat.h"

#include <memory>

namespace ike {

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::make_error;
using common::Result;
using common::SecretBytes;
using namespace common::crypto;

namespace {

struct Sizes {
  std::size_t encr = 0;
  std::size_t integ = 0;
};

// Keying material sizes of one encryption + integrity pair, or an error for combinations
// RFC 5282 §8 / RFC 7634 §3 forbid (an AEAD with a separate integrity transform).
Result<Sizes> transform_sizes(EncrId encr, unsigned key_bits, IntegId integ) {
  Sizes s;
  s.encr = encr_keymat_size(encr, key_bits);
  if (s.encr == 0) return make_error(Errc::unsupported, "keymat: encryption transform/key size");
  if (encr_is_aead(encr) && integ != IntegId::none)
    return make_error(Errc::malformed, "keymat: integrity transform with an AEAD");
  s.integ = integ_key_size(integ);
  if (integ != IntegId::none && s.integ == 0) return make_error(Errc::unsupported, "keymat: integrity transform");
  return s;
}

// Cuts consecutive pieces off a keying-material buffer.
class Splitter {
 public:
  explicit Splitter(const SecretBytes& km) : km_(km) {}
  SecretBytes take(std::size_t n) {
    SecretBytes out(ByteSpan(km_).subspan(pos_, n));
    pos_ += n;
    return out;
  }

 private:
  const SecretBytes& km_;
  std::size_t pos_ = 0;
};

}  // namespace

SecretBytes skeyseed(const Prf& prf, ByteSpan shared, ByteSpan ni, ByteSpan nr) {
  Bytes key(ni.begin(), ni.end());
  common::append(key, nr);
  SecretBytes out(prf.size(), std::byte{0});
  prf.compute(key, shared, out);
  return out;
}

SecretBytes skeyseed_rekey(const Prf& old_prf, ByteSpan sk_d_old, ByteSpan shared_new, ByteSpan ni, ByteSpan nr) {
  SecretBytes data(shared_new);
  common::append(data, ni);
  common::append(data, nr);
  SecretBytes out(old_prf.size(), std::byte{0});
  old_prf.compute(sk_d_old, data, out);
  return out;
}

Bytes ike_keymat_seed(ByteSpan ni, ByteSpan nr, std::uint64_t spi_i, std::uint64_t spi_r) {
  Bytes seed(ni.begin(), ni.end());
  common::append(seed, nr);
  common::Writer w(seed);
  w.u64(spi_i);
  w.u64(spi_r);
  return seed;
}

Result<IkeKeymat> ike_keys_from_skeyseed(PrfId prf_id, ByteSpan seed_key, EncrId encr, unsigned key_bits,
                                         IntegId integ, ByteSpan ni, ByteSpan nr, std::uint64_t spi_i,
                                         std::uint64_t spi_r) {
  auto prf = Prf::create(prf_id);
  if (!prf) return make_error(Errc::unsupported, "keymat: prf");
  auto sizes = transform_sizes(encr, key_bits, integ);
  if (!sizes) return sizes.error();
  const std::size_t p = prf->size();
  const std::size_t total = 3 * p + 2 * sizes->integ + 2 * sizes->encr;
  if (total > 255 * p) return make_error(Errc::unsupported, "keymat: more than prf+ can produce");
  const SecretBytes km = prf_plus(*prf, seed_key, ike_keymat_seed(ni, nr, spi_i, spi_r), total);
  if (km.size() != total) return make_error(Errc::crypto, "keymat: prf+");
  Splitter s(km);
  IkeKeymat k;
  k.sk_d = s.take(p);
  k.sk_ai = s.take(sizes->integ);
  k.sk_ar = s.take(sizes->integ);
  k.sk_ei = s.take(sizes->encr);
  k.sk_er = s.take(sizes->encr);
  k.sk_pi = s.take(p);
  k.sk_pr = s.take(p);
  return k;
}

Result<IkeKeymat> derive_ike_keys(PrfId prf_id, EncrId encr, unsigned key_bits, IntegId integ, ByteSpan shared,
                                  ByteSpan ni, ByteSpan nr, std::uint64_t spi_i, std::uint64_t spi_r) {
  auto prf = Prf::create(prf_id);
  if (!prf) return make_error(Errc::unsupported, "keymat: prf");
  const SecretBytes seed_key = skeyseed(*prf, shared, ni, nr);
  return ike_keys_from_skeyseed(prf_id, seed_key, encr, key_bits, integ, ni, nr, spi_i, spi_r);
}

Result<ChildKeymat> derive_child_keys(PrfId prf_id, ByteSpan sk_d, EncrId encr, unsigned key_bits, IntegId integ,
                                      ByteSpan shared_or_empty, ByteSpan ni, ByteSpan nr) {
  SecretBytes seed(shared_or_empty);
  common::append(seed, ni);
  common::append(seed, nr);
  return child_keys_from_seed(prf_id, sk_d, encr, key_bits, integ, seed);
}

Result<ChildKeymat> child_keys_from_seed(PrfId prf_id, ByteSpan sk_d, EncrId encr, unsigned key_bits, IntegId integ,
                                         ByteSpan seed) {
  auto prf = Prf::create(prf_id);
  if (!prf) return make_error(Errc::unsupported, "keymat: prf");
  auto sizes = transform_sizes(encr, key_bits, integ);
  if (!sizes) return sizes.error();
  const std::size_t total = 2 * (sizes->encr + sizes->integ);
  if (total > 255 * prf->size()) return make_error(Errc::unsupported, "keymat: more than prf+ can produce");
  const SecretBytes km = prf_plus(*prf, sk_d, seed, total);
  if (km.size() != total) return make_error(Errc::crypto, "keymat: prf+");
  Splitter s(km);
  ChildKeymat k;
  k.encr_i = s.take(sizes->encr);
  k.integ_i = s.take(sizes->integ);
  k.encr_r = s.take(sizes->encr);
  k.integ_r = s.take(sizes->integ);
  return k;
}

}  // namespace ike
