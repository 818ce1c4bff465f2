#include "ike/proposal_wire.h"

namespace ike {

using common::crypto::DhId;
using common::crypto::EncrId;
using common::crypto::IntegId;
using common::crypto::PrfId;

SaProposal to_sa_proposal(const Proposal& p, std::uint8_t number, common::ByteSpan spi) {
  SaProposal s;
  s.number = number;
  s.protocol = p.protocol == Protocol::ike ? ProtocolId::ike : ProtocolId::esp;
  s.spi = common::to_bytes(spi);
  for (const auto& e : p.encr) {
    Transform t{TransformType::encr, static_cast<std::uint16_t>(e.id), std::nullopt, false};
    if (e.key_bits != 0 && e.id != EncrId::chacha20_poly1305) t.key_length = e.key_bits;
    s.transforms.push_back(t);
  }
  for (auto x : p.prf) s.transforms.push_back({TransformType::prf, static_cast<std::uint16_t>(x), std::nullopt, false});
  for (auto x : p.integ)
    if (x != IntegId::none)
      s.transforms.push_back({TransformType::integ, static_cast<std::uint16_t>(x), std::nullopt, false});
  for (auto x : p.dh)
    if (x != DhId::none) s.transforms.push_back({TransformType::dh, static_cast<std::uint16_t>(x), std::nullopt, false});
  if (p.protocol == Protocol::esp) {
    if (p.esn.empty()) s.transforms.push_back({TransformType::esn, 0, std::nullopt, false});
    for (auto x : p.esn) s.transforms.push_back({TransformType::esn, static_cast<std::uint16_t>(x), std::nullopt, false});
  }
  return s;
}

std::optional<Proposal> from_sa_proposal(const SaProposal& s) {
  Proposal p;
  if (s.protocol == ProtocolId::ike) p.protocol = Protocol::ike;
  else if (s.protocol == ProtocolId::esp) p.protocol = Protocol::esp;
  else return std::nullopt;
  for (const auto& t : s.transforms) {
    if (t.unknown_attribute) continue;
    switch (t.type) {
      case TransformType::encr: {
        auto id = static_cast<EncrId>(t.id);
        if (id == EncrId::aes_cbc || id == EncrId::aes_gcm_16) {
          if (!t.key_length) continue;
          unsigned k = *t.key_length;
          if (k != 128 && k != 192 && k != 256) continue;
          p.encr.push_back({id, static_cast<std::uint16_t>(k)});
        } else if (id == EncrId::chacha20_poly1305) {
          if (t.key_length && *t.key_length != 256) continue;
          p.encr.push_back({id, 0});
        } else if (id == EncrId::des3_cbc) {
          if (t.key_length) continue;  // a fixed-size key: RFC 2451 has no Key Length
          p.encr.push_back({id, 0});
        }
        break;
      }
      case TransformType::prf:
        if (t.id == 1 || t.id == 2 || t.id == 5 || t.id == 6 || t.id == 7) p.prf.push_back(static_cast<PrfId>(t.id));
        break;
      case TransformType::integ:
        if (t.id == 0 || t.id == 1 || t.id == 2 || t.id == 12 || t.id == 13 || t.id == 14)
          p.integ.push_back(static_cast<IntegId>(t.id));
        break;
      case TransformType::dh:
        if (t.id == 0 || common::crypto::dh_supported(static_cast<DhId>(t.id)))
          p.dh.push_back(static_cast<DhId>(t.id));
        break;
      case TransformType::esn:
        if (t.id <= 1) p.esn.push_back(static_cast<Esn>(t.id));
        break;
    }
  }
  // A received AEAD proposal may list integrity NONE explicitly; drop it.
  std::erase(p.integ, IntegId::none);
  return p;
}

}  // namespace ike
