// IKEv2 key derivation: SKEYSEED and the IKE SA keys (RFC 7296 §2.14), the rekeyed
// SKEYSEED (§2.18) and CHILD_SA keying material (§2.17). All of it is prf and prf+
// (common/crypto.h) over the right seeds, split at the sizes of the negotiated transforms.
//
//   SKEYSEED = prf(Ni | Nr, g^ir)
//   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//            = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
//   SKEYSEED (rekeyed IKE SA) = prf_old(SK_d (old), g^ir (new) | Ni | Nr)
//   KEYMAT   = prf+(SK_d, [g^ir (new) |] Ni | Nr)
//            = encr_i | integ_i | encr_r | integ_r   (initiator->responder keys first)
//
// Sizes: SK_d, SK_pi, SK_pr are the PRF's preferred key size, which for the HMAC PRFs is the
// output size (§2.13); SK_a* the integrity key size (0 for AEADs); SK_e* and encr_* the
// cipher's keying material including the 4-byte AEAD salt (RFC 5282 §7.1, RFC 4106 §8.1,
// RFC 7634 §2).
//
// Nonces are taken whole: RFC 7296 §2.14 halves them only for fixed-key-size PRFs
// (AES-XCBC/CMAC), which common::crypto does not offer. SPIs are the 8-byte wire values.
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/crypto.h"
#include "common/result.h"
#include "common/secret.h"

namespace ike {

// The seven IKE SA keys (ike_sa.h calls them IkeKeys).
struct IkeKeymat {
  common::SecretBytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};

// One CHILD_SA's keys, by direction of the exchange that created it: *_i protect traffic
// from the CREATE_CHILD_SA/IKE_AUTH initiator to the responder.
struct ChildKeymat {
  common::SecretBytes encr_i, integ_i, encr_r, integ_r;
};

// SKEYSEED = prf(Ni | Nr, g^ir).
common::SecretBytes skeyseed(const common::crypto::Prf& prf, common::ByteSpan shared, common::ByteSpan ni,
                       common::ByteSpan nr);

// SKEYSEED for a rekeyed IKE SA = prf(SK_d (old), g^ir (new) | Ni | Nr), computed with the
// OLD IKE SA's PRF; Ni/Nr are the CREATE_CHILD_SA exchange's nonces.
common::SecretBytes skeyseed_rekey(const common::crypto::Prf& old_prf, common::ByteSpan sk_d_old,
                             common::ByteSpan shared_new, common::ByteSpan ni, common::ByteSpan nr);

// Ni | Nr | SPIi | SPIr, the prf+ seed of the IKE SA keys.
common::Bytes ike_keymat_seed(common::ByteSpan ni, common::ByteSpan nr, std::uint64_t spi_i,
                              std::uint64_t spi_r);

// Splits prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). Used directly after skeyseed_rekey (with
// the NEW SA's PRF, transforms, nonces and SPIs). Errors: unknown PRF, a cipher/key size
// that yields no keying material, an integrity transform with an AEAD, or more material
// than prf+ can give (255 blocks).
common::Result<IkeKeymat> ike_keys_from_skeyseed(common::crypto::PrfId prf, common::ByteSpan skeyseed,
                                                 common::crypto::EncrId encr, unsigned key_bits,
                                                 common::crypto::IntegId integ, common::ByteSpan ni,
                                                 common::ByteSpan nr, std::uint64_t spi_i,
                                                 std::uint64_t spi_r);

// IKE_SA_INIT: SKEYSEED then the seven keys.
common::Result<IkeKeymat> derive_ike_keys(common::crypto::PrfId prf, common::crypto::EncrId encr,
                                          unsigned key_bits, common::crypto::IntegId integ,
                                          common::ByteSpan shared, common::ByteSpan ni, common::ByteSpan nr,
                                          std::uint64_t spi_i, std::uint64_t spi_r);

// CHILD_SA keys: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), where shared_or_empty is the
// CREATE_CHILD_SA KE result (empty for IKE_AUTH's child or a rekey without PFS). prf is
// the IKE SA's PRF; encr/key_bits/integ are the CHILD_SA's (ESP) transforms.
common::Result<ChildKeymat> derive_child_keys(common::crypto::PrfId prf, common::ByteSpan sk_d,
                                              common::crypto::EncrId encr, unsigned key_bits,
                                              common::crypto::IntegId integ, common::ByteSpan shared_or_empty,
                                              common::ByteSpan ni, common::ByteSpan nr);

// The same from a ready seed, [g^ir (new)] | Ni | Nr, as the CHILD_SA exchanges build it.
common::Result<ChildKeymat> child_keys_from_seed(common::crypto::PrfId prf, common::ByteSpan sk_d,
                                                 common::crypto::EncrId encr, unsigned key_bits,
                                                 common::crypto::IntegId integ, common::ByteSpan seed);

}  // namespace ike
