// IKE and ESP proposals as configured with strongSwan's `ike=` / `esp=` syntax, mapped to
// the IANA transform IDs of RFC 7296 §3.3.2 (common/crypto.h).
//
// Syntax (strongSwan's ipsec.conf(5) "ike"/"esp"):
//   list      = proposal *( "," proposal ) [ "!" ]
//   proposal  = algorithm *( "-" algorithm )
// e.g. `aes256-sha256-modp2048!`, `aes128gcm16-prfsha256-ecp256`,
//      `chacha20poly1305-prfsha256-curve25519`, `aes256-sha1-modp2048,aes128-sha256-ecp256`.
//
// Rules, as strongSwan applies them:
// - Every algorithm named in one proposal is offered as an alternative of its transform
//   type (`aes128-aes256-sha256-modp2048-ecp256` is one proposal with 2 ciphers, 2 groups).
// - IKE: an integrity algorithm without any explicit `prf…` also gives the PRF of the same
//   hash (`sha256` = HMAC_SHA2_256_128 and PRF_HMAC_SHA2_256). A PRF and a DH group are
//   mandatory. With an AEAD cipher (`aes128gcm16`, `chacha20poly1305`) the PRF must be
//   named (`prfsha256`) or come from an integrity keyword, which is then dropped.
// - ESP: a DH group means PFS for CREATE_CHILD_SA; `esn`/`noesn` choose Extended Sequence
//   Numbers (default `noesn`); PRFs are dropped (ESP has none). A classic cipher needs an
//   integrity algorithm; an AEAD drops integrity algorithms.
// - AEAD and classic ciphers cannot share one proposal.
// - A trailing `!` makes the list strict. Without it, strongSwan appends its default
//   proposals after the configured ones; so does swanless (default_proposals(), which is
//   strongSwan's default set restricted to the algorithms swanless implements).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/result.h"

namespace ike {

enum class Protocol : std::uint8_t { ike = 1, esp = 3 };  // RFC 7296 §3.3.1 Protocol ID

// Extended Sequence Numbers transform (type 5) IDs, RFC 7296 §3.3.2.
enum class Esn : std::uint16_t { no = 0, yes = 1 };

struct EncrAlg {
  common::crypto::EncrId id = common::crypto::EncrId::aes_cbc;
  std::uint16_t key_bits = 0;  // Key Length attribute; 0 for ChaCha20-Poly1305 (none sent)
  auto operator<=>(const EncrAlg&) const = default;
};

// One proposal: each vector lists the acceptable transforms of one type, in preference
// order. The IKE engine turns each vector into Transform substructures of the SA payload.
struct Proposal {
  Protocol protocol = Protocol::ike;
  std::vector<EncrAlg> encr;
  std::vector<common::crypto::IntegId> integ;  // empty for AEAD proposals
  std::vector<common::crypto::PrfId> prf;      // IKE only
  std::vector<common::crypto::DhId> dh;        // IKE: KE groups; ESP: PFS groups (empty = no PFS)
  std::vector<Esn> esn;                        // ESP only; never empty for ESP

  bool is_aead() const;
  bool operator==(const Proposal&) const = default;
};

struct ProposalSet {
  std::vector<Proposal> proposals;  // configured ones first, then defaults unless strict
  std::size_t configured = 0;       // how many came from the text
  bool strict = false;              // trailing '!'
  // With parse_proposals(..., drop_unsupported = true): the algorithms strongSwan knows but
  // swanless does not implement, left out as strongSwan leaves out what its plugins lack
  // ("blowfish"), and whole proposals that had nothing left ("proposal camellia-sha256-modp2048").
  std::vector<std::string> dropped;
};

// Parses an `ike=`/`esp=` value. On error, *bad (if given) receives the offending token.
// An algorithm known but not implemented is an error, or with drop_unsupported is left out
// (see ProposalSet::dropped); a strict list with nothing left is an error either way.
common::Result<ProposalSet> parse_proposals(std::string_view text, Protocol protocol,
                                            std::string* bad = nullptr, bool drop_unsupported = false);
// Parses one proposal (no ',' and no '!'). With `dropped`, unimplemented algorithms are
// recorded there and skipped instead of being an error.
common::Result<Proposal> parse_proposal(std::string_view text, Protocol protocol,
                                        std::string* bad = nullptr,
                                        std::vector<std::string>* dropped = nullptr);

// strongSwan's defaults for the algorithms swanless implements:
//   IKE: AES_CBC 128/192/256 + HMAC SHA-256/384/512/SHA-1 + PRF of the same hashes, and
//        AES_GCM_16 128/192/256 + ChaCha20-Poly1305 with those PRFs; KE groups
//        ECP_256, ECP_384, CURVE_25519, MODP_3072, MODP_4096, MODP_2048.
//   ESP: AES_GCM_16 128/192/256 + ChaCha20-Poly1305, and AES_CBC 128/192/256 with
//        HMAC SHA-256/384/512/SHA-1; no PFS, no ESN.
// (ipsec.conf(5) summarises them as aes128-sha256-modp3072 / aes128-sha256.)
std::vector<Proposal> default_proposals(Protocol protocol);

// strongSwan's status spelling: AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
// (ESP adds NO_EXT_SEQ / EXT_SEQ).
std::string to_string(const Proposal& p);
// Proposals joined with ", ".
std::string to_string(const ProposalSet& s);

std::string_view encr_name(common::crypto::EncrId id);
std::string_view integ_name(common::crypto::IntegId id);
std::string_view prf_name(common::crypto::PrfId id);
std::string_view dh_name(common::crypto::DhId id);

}  // namespace ike
