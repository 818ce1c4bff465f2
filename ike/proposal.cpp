#include "ike/proposal.h"

#include <algorithm>
#include <array>
#include <optional>

namespace ike {
namespace {

using common::Errc;
using common::make_error;
using common::crypto::DhId;
using common::crypto::EncrId;
using common::crypto::IntegId;
using common::crypto::PrfId;

enum class Kind : std::uint8_t { encr, integ, prf, dh, esn, unsupported };

struct Keyword {
  std::string_view word;
  Kind kind;
  std::uint16_t id;
  std::uint16_t key_bits;
};

// strongSwan's keywords for the algorithms swanless implements, plus the common ones it
// does not, so those get "unsupported" rather than "unknown".
constexpr std::array kKeywords{
    Keyword{"aes", Kind::encr, std::uint16_t(EncrId::aes_cbc), 128},
    Keyword{"aes128", Kind::encr, std::uint16_t(EncrId::aes_cbc), 128},
    Keyword{"aes192", Kind::encr, std::uint16_t(EncrId::aes_cbc), 192},
    Keyword{"aes256", Kind::encr, std::uint16_t(EncrId::aes_cbc), 256},
    Keyword{"aes128gcm16", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 128},
    Keyword{"aes192gcm16", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 192},
    Keyword{"aes256gcm16", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 256},
    Keyword{"aes128gcm128", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 128},
    Keyword{"aes192gcm128", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 192},
    Keyword{"aes256gcm128", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 256},
    Keyword{"aes128gcm", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 128},
    Keyword{"aes192gcm", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 192},
    Keyword{"aes256gcm", Kind::encr, std::uint16_t(EncrId::aes_gcm_16), 256},
    Keyword{"chacha20poly1305", Kind::encr, std::uint16_t(EncrId::chacha20_poly1305), 0},
    Keyword{"3des", Kind::encr, std::uint16_t(EncrId::des3_cbc), 0},
    Keyword{"md5", Kind::integ, std::uint16_t(IntegId::hmac_md5_96), 0},
    Keyword{"prfmd5", Kind::prf, std::uint16_t(PrfId::hmac_md5), 0},
    Keyword{"modp1024", Kind::dh, std::uint16_t(DhId::modp1024), 0},
    Keyword{"modp1536", Kind::dh, std::uint16_t(DhId::modp1536), 0},
    Keyword{"modp8192", Kind::dh, std::uint16_t(DhId::modp8192), 0},
    Keyword{"ecp521", Kind::dh, std::uint16_t(DhId::ecp521), 0},
    Keyword{"sha", Kind::integ, std::uint16_t(IntegId::hmac_sha1_96), 0},
    Keyword{"sha1", Kind::integ, std::uint16_t(IntegId::hmac_sha1_96), 0},
    Keyword{"sha256", Kind::integ, std::uint16_t(IntegId::hmac_sha256_128), 0},
    Keyword{"sha2", Kind::integ, std::uint16_t(IntegId::hmac_sha256_128), 0},  // libreswan
    Keyword{"sha2_256", Kind::integ, std::uint16_t(IntegId::hmac_sha256_128), 0},
    Keyword{"sha384", Kind::integ, std::uint16_t(IntegId::hmac_sha384_192), 0},
    Keyword{"sha2_384", Kind::integ, std::uint16_t(IntegId::hmac_sha384_192), 0},
    Keyword{"sha512", Kind::integ, std::uint16_t(IntegId::hmac_sha512_256), 0},
    Keyword{"sha2_512", Kind::integ, std::uint16_t(IntegId::hmac_sha512_256), 0},
    Keyword{"prfsha1", Kind::prf, std::uint16_t(PrfId::hmac_sha1), 0},
    Keyword{"prfsha256", Kind::prf, std::uint16_t(PrfId::hmac_sha256), 0},
    Keyword{"prfsha384", Kind::prf, std::uint16_t(PrfId::hmac_sha384), 0},
    Keyword{"prfsha512", Kind::prf, std::uint16_t(PrfId::hmac_sha512), 0},
    Keyword{"modp2048", Kind::dh, std::uint16_t(DhId::modp2048), 0},
    Keyword{"modp3072", Kind::dh, std::uint16_t(DhId::modp3072), 0},
    Keyword{"modp4096", Kind::dh, std::uint16_t(DhId::modp4096), 0},
    Keyword{"ecp256", Kind::dh, std::uint16_t(DhId::ecp256), 0},
    Keyword{"ecp384", Kind::dh, std::uint16_t(DhId::ecp384), 0},
    Keyword{"curve25519", Kind::dh, std::uint16_t(DhId::curve25519), 0},
    Keyword{"x25519", Kind::dh, std::uint16_t(DhId::curve25519), 0},
    Keyword{"esn", Kind::esn, std::uint16_t(Esn::yes), 0},
    Keyword{"noesn", Kind::esn, std::uint16_t(Esn::no), 0},
    // Known to strongSwan, not implemented here.
    Keyword{"des", Kind::unsupported, 0, 0},
    Keyword{"blowfish", Kind::unsupported, 0, 0},
    Keyword{"cast128", Kind::unsupported, 0, 0},
    Keyword{"null", Kind::unsupported, 0, 0},
    Keyword{"aesctr", Kind::unsupported, 0, 0},
    Keyword{"aes128ctr", Kind::unsupported, 0, 0},
    Keyword{"aes256ctr", Kind::unsupported, 0, 0},
    Keyword{"aes128ccm16", Kind::unsupported, 0, 0},
    Keyword{"aes256ccm16", Kind::unsupported, 0, 0},
    Keyword{"aes128gcm8", Kind::unsupported, 0, 0},
    Keyword{"aes128gcm12", Kind::unsupported, 0, 0},
    Keyword{"aes256gcm8", Kind::unsupported, 0, 0},
    Keyword{"aes256gcm12", Kind::unsupported, 0, 0},
    Keyword{"aes128gmac", Kind::unsupported, 0, 0},
    Keyword{"camellia", Kind::unsupported, 0, 0},
    Keyword{"camellia128", Kind::unsupported, 0, 0},
    Keyword{"camellia256", Kind::unsupported, 0, 0},
    Keyword{"sha256_96", Kind::unsupported, 0, 0},
    Keyword{"aesxcbc", Kind::unsupported, 0, 0},
    Keyword{"aescmac", Kind::unsupported, 0, 0},
    Keyword{"prfaesxcbc", Kind::unsupported, 0, 0},
    Keyword{"modp768", Kind::unsupported, 0, 0},
    Keyword{"modp6144", Kind::unsupported, 0, 0},
    Keyword{"modp1024s160", Kind::unsupported, 0, 0},
    Keyword{"modp2048s224", Kind::unsupported, 0, 0},
    Keyword{"modp2048s256", Kind::unsupported, 0, 0},
    Keyword{"ecp192", Kind::unsupported, 0, 0},
    Keyword{"ecp224", Kind::unsupported, 0, 0},
    Keyword{"curve448", Kind::unsupported, 0, 0},
    Keyword{"x448", Kind::unsupported, 0, 0},
};

std::optional<Keyword> lookup(std::string_view word) {
  for (const auto& k : kKeywords) {
    if (k.word.size() != word.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < word.size() && eq; ++i) {
      char c = word[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      eq = c == k.word[i];
    }
    if (eq) return k;
  }
  return std::nullopt;
}

template <typename T>
void add_unique(std::vector<T>& v, T x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

PrfId prf_of(IntegId i) {
  switch (i) {
    case IntegId::hmac_md5_96: return PrfId::hmac_md5;
    case IntegId::hmac_sha1_96: return PrfId::hmac_sha1;
    case IntegId::hmac_sha384_192: return PrfId::hmac_sha384;
    case IntegId::hmac_sha512_256: return PrfId::hmac_sha512;
    default: return PrfId::hmac_sha256;
  }
}

// Local, so the parser does not pull in the OpenSSL side of common/crypto.
bool aead_cipher(EncrId id) { return id == EncrId::aes_gcm_16 || id == EncrId::chacha20_poly1305; }

void set_bad(std::string* bad, std::string_view s) {
  if (bad) *bad = std::string(s);
}

}  // namespace

bool Proposal::is_aead() const {
  return !encr.empty() && aead_cipher(encr.front().id);
}

common::Result<Proposal> parse_proposal(std::string_view text, Protocol protocol,
                                        std::string* bad, std::vector<std::string>* dropped) {
  Proposal p;
  p.protocol = protocol;
  if (text.empty()) {
    set_bad(bad, text);
    return make_error(Errc::config, "empty proposal");
  }
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t dash = text.find('-', pos);
    if (dash == std::string_view::npos) dash = text.size();
    std::string_view tok = text.substr(pos, dash - pos);
    pos = dash + 1;
    if (tok.empty()) {
      set_bad(bad, text);
      return make_error(Errc::config, "empty algorithm name");
    }
    auto kw = lookup(tok);
    if (!kw) {
      set_bad(bad, tok);
      return make_error(Errc::config, "unknown algorithm");
    }
    switch (kw->kind) {
      case Kind::encr: add_unique(p.encr, EncrAlg{EncrId(kw->id), kw->key_bits}); break;
      case Kind::integ: add_unique(p.integ, IntegId(kw->id)); break;
      case Kind::prf:
        // ESP has no PRF: strongSwan drops it silently, so do we.
        if (protocol == Protocol::ike) add_unique(p.prf, PrfId(kw->id));
        break;
      case Kind::dh: add_unique(p.dh, DhId(kw->id)); break;
      case Kind::esn:
        if (protocol != Protocol::esp) {
          set_bad(bad, tok);
          return make_error(Errc::config, "esn/noesn only apply to ESP proposals");
        }
        add_unique(p.esn, Esn(kw->id));
        break;
      case Kind::unsupported:
        if (dropped) {
          dropped->emplace_back(tok);
          break;
        }
        set_bad(bad, tok);
        return make_error(Errc::unsupported, "algorithm not supported by swanless");
    }
    if (dash == text.size()) break;
  }

  if (p.encr.empty()) {
    set_bad(bad, text);
    return make_error(Errc::config, "an encryption algorithm is mandatory");
  }
  std::size_t n_aead = 0;
  for (const auto& e : p.encr) n_aead += aead_cipher(e.id) ? 1 : 0;
  if (n_aead != 0 && n_aead != p.encr.size()) {
    set_bad(bad, text);
    return make_error(Errc::config, "classic and AEAD ciphers cannot share one proposal");
  }
  const bool aead = n_aead != 0;
  if (protocol == Protocol::ike) {
    if (p.prf.empty())
      for (auto i : p.integ) add_unique(p.prf, prf_of(i));
    if (p.prf.empty()) {
      set_bad(bad, text);
      return make_error(Errc::config, "a PRF is mandatory in IKE proposals (e.g. prfsha256)");
    }
    if (p.dh.empty()) {
      set_bad(bad, text);
      return make_error(Errc::config, "a DH group is mandatory in IKE proposals");
    }
  } else {
    if (p.esn.empty()) p.esn.push_back(Esn::no);
  }
  if (aead) {
    p.integ.clear();
  } else if (p.integ.empty()) {
    set_bad(bad, text);
    return make_error(Errc::config, "an integrity algorithm is mandatory with a non-AEAD cipher");
  }
  return p;
}

common::Result<ProposalSet> parse_proposals(std::string_view text, Protocol protocol,
                                            std::string* bad, bool drop_unsupported) {
  ProposalSet set;
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (!text.empty() && text.back() == '!') {
    set.strict = true;
    text.remove_suffix(1);
  }
  if (text.empty()) {
    set_bad(bad, text);
    return make_error(Errc::config, "empty proposal list");
  }
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view one = text.substr(pos, comma - pos);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    std::vector<std::string> left_out;
    auto p = parse_proposal(one, protocol, bad, drop_unsupported ? &left_out : nullptr);
    if (!p && left_out.empty()) return p.error();
    for (auto& w : left_out) add_unique(set.dropped, std::move(w));
    if (p) set.proposals.push_back(std::move(p).value());
    else set.dropped.push_back("proposal " + std::string(one));  // nothing usable left in it
    if (comma == text.size()) break;
    pos = comma + 1;
  }
  set.configured = set.proposals.size();
  if (set.configured == 0 && set.strict) {
    set_bad(bad, text);
    return make_error(Errc::unsupported, "nothing swanless implements is left in this strict ('!') list");
  }
  if (!set.strict)
    for (auto& d : default_proposals(protocol)) set.proposals.push_back(std::move(d));
  return set;
}

std::vector<Proposal> default_proposals(Protocol protocol) {
  const std::vector<IntegId> integ{IntegId::hmac_sha256_128, IntegId::hmac_sha384_192,
                                   IntegId::hmac_sha512_256, IntegId::hmac_sha1_96};
  const std::vector<EncrAlg> cbc{{EncrId::aes_cbc, 128}, {EncrId::aes_cbc, 192}, {EncrId::aes_cbc, 256}};
  const std::vector<EncrAlg> aead{{EncrId::aes_gcm_16, 128},
                                  {EncrId::aes_gcm_16, 192},
                                  {EncrId::aes_gcm_16, 256},
                                  {EncrId::chacha20_poly1305, 0}};
  std::vector<Proposal> out;
  if (protocol == Protocol::ike) {
    const std::vector<PrfId> prf{PrfId::hmac_sha256, PrfId::hmac_sha384, PrfId::hmac_sha512,
                                 PrfId::hmac_sha1};
    const std::vector<DhId> dh{DhId::ecp256,   DhId::ecp384,   DhId::curve25519,
                               DhId::modp3072, DhId::modp4096, DhId::modp2048};
    out.push_back(Proposal{Protocol::ike, cbc, integ, prf, dh, {}});
    out.push_back(Proposal{Protocol::ike, aead, {}, prf, dh, {}});
  } else {
    out.push_back(Proposal{Protocol::esp, aead, {}, {}, {}, {Esn::no}});
    out.push_back(Proposal{Protocol::esp, cbc, integ, {}, {}, {Esn::no}});
  }
  return out;
}

std::string_view encr_name(EncrId id) {
  switch (id) {
    case EncrId::des3_cbc: return "3DES_CBC";
    case EncrId::aes_cbc: return "AES_CBC";
    case EncrId::aes_gcm_16: return "AES_GCM_16";
    case EncrId::chacha20_poly1305: return "CHACHA20_POLY1305";
  }
  return "ENCR_UNKNOWN";
}

std::string_view integ_name(IntegId id) {
  switch (id) {
    case IntegId::none: return "NONE";
    case IntegId::hmac_md5_96: return "HMAC_MD5_96";
    case IntegId::hmac_sha1_96: return "HMAC_SHA1_96";
    case IntegId::hmac_sha256_128: return "HMAC_SHA2_256_128";
    case IntegId::hmac_sha384_192: return "HMAC_SHA2_384_192";
    case IntegId::hmac_sha512_256: return "HMAC_SHA2_512_256";
  }
  return "INTEG_UNKNOWN";
}

std::string_view prf_name(PrfId id) {
  switch (id) {
    case PrfId::hmac_md5: return "PRF_HMAC_MD5";
    case PrfId::hmac_sha1: return "PRF_HMAC_SHA1";
    case PrfId::hmac_sha256: return "PRF_HMAC_SHA2_256";
    case PrfId::hmac_sha384: return "PRF_HMAC_SHA2_384";
    case PrfId::hmac_sha512: return "PRF_HMAC_SHA2_512";
  }
  return "PRF_UNKNOWN";
}

std::string_view dh_name(DhId id) {
  switch (id) {
    case DhId::none: return "NONE";
    case DhId::modp1024: return "MODP_1024";
    case DhId::modp1536: return "MODP_1536";
    case DhId::modp8192: return "MODP_8192";
    case DhId::ecp521: return "ECP_521";
    case DhId::modp2048: return "MODP_2048";
    case DhId::modp3072: return "MODP_3072";
    case DhId::modp4096: return "MODP_4096";
    case DhId::ecp256: return "ECP_256";
    case DhId::ecp384: return "ECP_384";
    case DhId::curve25519: return "CURVE_25519";
  }
  return "DH_UNKNOWN";
}

std::string to_string(const Proposal& p) {
  std::string s;
  auto add = [&s](std::string_view part) {
    if (!s.empty()) s += '/';
    s += part;
  };
  for (const auto& e : p.encr) {
    std::string n(encr_name(e.id));
    if (e.key_bits != 0) {
      n += '_';  // two appends: `"_" + std::string&&` trips g++ 12's false -Wrestrict at -O3
      n += std::to_string(e.key_bits);
    }
    add(n);
  }
  for (auto i : p.integ) add(integ_name(i));
  for (auto f : p.prf) add(prf_name(f));
  for (auto d : p.dh) add(dh_name(d));
  for (auto e : p.esn) add(e == Esn::yes ? "EXT_SEQ" : "NO_EXT_SEQ");
  return s;
}

std::string to_string(const ProposalSet& s) {
  std::string out;
  for (const auto& p : s.proposals) {
    if (!out.empty()) out += ", ";
    out += to_string(p);
  }
  return out;
}

}  // namespace ike
