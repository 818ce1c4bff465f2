#include "ike/sk.h"

namespace ike::sk {

using common::ByteSpan;
using common::Bytes;
using common::Errc;
using common::MutByteSpan;
using common::Result;
using common::Writer;
namespace crypto = common::crypto;

namespace {

common::Error fail(ParseDiag* diag, ParseReason reason, Errc code, const char* detail) {
  if (diag) {
    diag->reason = reason;
    diag->payload_type = static_cast<std::uint8_t>(PayloadType::sk);
  }
  return common::make_error(code, detail);
}

}  // namespace

SkKeys::SkKeys(SkKeys&&) noexcept = default;
SkKeys& SkKeys::operator=(SkKeys&&) noexcept = default;
SkKeys::~SkKeys() = default;

Result<SkKeys> SkKeys::create(crypto::EncrId encr, ByteSpan encr_key, crypto::IntegId integ,
                              ByteSpan integ_key) {
  SkKeys k;
  if (crypto::encr_is_aead(encr)) {
    if (integ != crypto::IntegId::none)
      return common::make_error(Errc::config, "SK: AEAD with an integrity transform");
    k.aead_ = crypto::Aead::create(encr, encr_key);
    if (!k.aead_) return common::make_error(Errc::crypto, "SK: bad AEAD key");
    return k;
  }
  if (integ == crypto::IntegId::none)
    return common::make_error(Errc::config, "SK: non-AEAD cipher without integrity");
  k.cipher_ = crypto::Cipher::create(encr, encr_key);
  if (!k.cipher_) return common::make_error(Errc::crypto, "SK: bad cipher key");
  k.integ_ = crypto::Integ::create(integ, integ_key);
  if (!k.integ_) return common::make_error(Errc::crypto, "SK: bad integrity key");
  return k;
}

std::size_t SkKeys::iv_size() const { return aead_ ? aead_->iv_size() : cipher_->iv_size(); }
std::size_t SkKeys::icv_size() const { return aead_ ? aead_->icv_size() : integ_->icv_size(); }
std::size_t SkKeys::block_size() const { return aead_ ? 1 : cipher_->block_size(); }

Result<Bytes> build_encrypted(const Header& h, PayloadType first_inner, ByteSpan inner,
                              SkKeys& keys, crypto::Random& rng) {
  const std::size_t sk_len = GenericHeader::kSize + body_size(keys, inner.size());
  const std::size_t total = Header::kSize + sk_len;
  if (total > 0xffff) return common::make_error(Errc::malformed, "SK: message too large");

  Bytes out;
  out.reserve(total);
  Writer w(out);
  Header hdr = h;
  hdr.next_payload = PayloadType::sk;
  hdr.length = static_cast<std::uint32_t>(total);
  hdr.serialize(w);
  GenericHeader{static_cast<std::uint8_t>(first_inner), 0, static_cast<std::uint16_t>(sk_len)}.write(w);
  if (auto st = seal_body(out, inner, keys, rng); !st) return st.error();
  return out;
}

Result<Bytes> build_encrypted(const Header& h, std::span<const Payload> inner, SkKeys& keys,
                              crypto::Random& rng) {
  Bytes plain;
  PayloadType first = serialize_payload_chain(inner, plain);
  return build_encrypted(h, first, plain, keys, rng);
}

Result<Message> decrypt(ByteSpan datagram, SkKeys& keys, ParseDiag* diag) {
  auto parsed = parse_message(datagram, diag);
  if (!parsed) return parsed.error();
  Message& outer = *parsed;
  if (outer.payloads.empty() || !std::holds_alternative<SkPayload>(outer.payloads.back()))
    return fail(diag, ParseReason::sk_missing, Errc::malformed, "no SK payload");
  const PayloadType inner_first = std::get<SkPayload>(outer.payloads.back()).inner_first;
  const std::size_t body_len = std::get<SkPayload>(outer.payloads.back()).data.size();
  outer.payloads.pop_back();

  // SK is last and runs to the end of the datagram (parse_message checked both).
  auto inner = open_body(datagram, datagram.size() - body_len, keys, diag);
  if (!inner) return inner.error();
  if (diag) diag->authentic = true;

  Message m;
  m.header = outer.header;
  m.encrypted = true;
  m.unprotected = std::move(outer.payloads);
  auto st = parse_payload_chain(inner_first, *inner, false, m.payloads, diag);
  if (!st) {
    if (diag && diag->reason == ParseReason::sk_not_last)
      diag->reason = ParseReason::payload_malformed;  // an SK inside SK
    return st.error();
  }
  return m;
}

std::size_t body_size(const SkKeys& keys, std::size_t inner_len) {
  const std::size_t bs = keys.block_size();
  const std::size_t pad = (bs - (inner_len + 1) % bs) % bs;
  return keys.iv_size() + inner_len + pad + 1 + keys.icv_size();
}

common::Status seal_body(Bytes& out, ByteSpan inner, SkKeys& keys, crypto::Random& rng) {
  const std::size_t iv_len = keys.iv_size();
  const std::size_t icv_len = keys.icv_size();
  const std::size_t bs = keys.block_size();
  const std::size_t pad = (bs - (inner.size() + 1) % bs) % bs;
  const std::size_t plain_len = inner.size() + pad + 1;
  const std::size_t aad_end = out.size();
  out.resize(aad_end + iv_len);
  rng.fill(MutByteSpan(out).subspan(aad_end, iv_len));
  const std::size_t plain_at = out.size();
  Writer w(out);
  w.bytes(inner);
  w.zeros(pad);
  w.u8(static_cast<std::uint8_t>(pad));
  out.resize(out.size() + icv_len);
  MutByteSpan all(out);
  ByteSpan iv = all.subspan(aad_end, iv_len);
  MutByteSpan plain = all.subspan(plain_at, plain_len);
  MutByteSpan icv = all.subspan(plain_at + plain_len, icv_len);
  if (keys.aead_) return keys.aead_->seal(iv, all.first(aad_end), plain, icv);
  if (auto st = keys.cipher_->encrypt(iv, plain); !st) return st;
  keys.integ_->compute(all.first(plain_at + plain_len), {}, icv);
  return {};
}

Result<Bytes> open_body(ByteSpan datagram, std::size_t body_at, SkKeys& keys, ParseDiag* diag) {
  if (body_at > datagram.size())
    return fail(diag, ParseReason::sk_malformed, Errc::truncated, "SK: body outside the datagram");
  const std::size_t body_len = datagram.size() - body_at;
  const std::size_t iv_len = keys.iv_size();
  const std::size_t icv_len = keys.icv_size();
  const std::size_t bs = keys.block_size();
  if (body_len < iv_len + icv_len + bs)
    return fail(diag, ParseReason::sk_malformed, Errc::truncated, "SK: shorter than IV+ICV");
  const std::size_t ct_len = body_len - iv_len - icv_len;
  if (ct_len % bs != 0)
    return fail(diag, ParseReason::sk_malformed, Errc::malformed, "SK: not block aligned");
  ByteSpan iv = datagram.subspan(body_at, iv_len);
  ByteSpan ct = datagram.subspan(body_at + iv_len, ct_len);
  ByteSpan icv = datagram.subspan(body_at + iv_len + ct_len, icv_len);
  Bytes plain(ct.begin(), ct.end());
  if (keys.aead_) {
    if (!keys.aead_->open(iv, datagram.first(body_at), plain, icv))
      return fail(diag, ParseReason::integrity, Errc::integrity, "SK: AEAD tag mismatch");
  } else {
    if (!keys.integ_->verify(datagram.first(body_at + iv_len + ct_len), {}, icv))
      return fail(diag, ParseReason::integrity, Errc::integrity, "SK: ICV mismatch");
    if (!keys.cipher_->decrypt(iv, plain))
      return fail(diag, ParseReason::crypto, Errc::crypto, "SK: decrypt failed");
  }
  const std::size_t pad_len = std::to_integer<std::size_t>(plain.back());
  if (pad_len + 1 > plain.size())
    return fail(diag, ParseReason::sk_malformed, Errc::malformed, "SK: pad length too large");
  plain.resize(plain.size() - pad_len - 1);
  return plain;
}

}  // namespace ike::sk
