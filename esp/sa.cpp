#include "esp/sa.h"

#include <algorithm>
#include <cstring>

namespace esp {

namespace crypto = common::crypto;
using common::ByteSpan;
using common::Errc;
using common::make_error;
using common::MutByteSpan;

namespace {

void store32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte((v >> (24 - 8 * i)) & 0xff);
}
void store64(std::byte* p, std::uint64_t v) {
  store32(p, static_cast<std::uint32_t>(v >> 32));
  store32(p + 4, static_cast<std::uint32_t>(v));
}
std::uint32_t load32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
  return v;
}

constexpr std::array<std::byte, 16> kZeroIv{};

// AAD of RFC 4106 §5 / RFC 7634 §3: SPI | seq (32-bit) or SPI | seq_hi | seq_lo (ESN).
ByteSpan build_aad(std::array<std::byte, 12>& aad, std::uint32_t spi, std::uint64_t seq, bool esn) {
  store32(aad.data(), spi);
  if (esn) {
    store64(aad.data() + 4, seq);
    return {aad.data(), 12};
  }
  store32(aad.data() + 4, static_cast<std::uint32_t>(seq));
  return {aad.data(), 8};
}

bool list_matches(const std::vector<common::TrafficSelector>& list, const common::IpAddr& addr,
                  std::uint8_t proto, std::uint16_t port) {
  if (list.empty()) return true;
  for (const auto& ts : list)
    if (ts.matches(addr, proto, port)) return true;
  return false;
}

}  // namespace

std::string_view to_string(Drop d) {
  switch (d) {
    case Drop::none: return "none";
    case Drop::truncated: return "truncated";
    case Drop::bad_spi: return "bad_spi";
    case Drop::replay: return "replay";
    case Drop::integrity: return "integrity";
    case Drop::bad_length: return "bad_length";
    case Drop::bad_padding: return "bad_padding";
    case Drop::bad_next_header: return "bad_next_header";
    case Drop::dummy: return "dummy";
    case Drop::bad_inner: return "bad_inner";
    case Drop::policy: return "policy";
    case Drop::wrong_direction: return "wrong_direction";
    case Drop::no_room: return "no_room";
    case Drop::seq_exhausted: return "seq_exhausted";
    case Drop::crypto: return "crypto";
    case Drop::count_: break;
  }
  return "unknown";
}

std::uint64_t SaCounters::total_drops() const {
  std::uint64_t n = 0;
  for (std::size_t i = 1; i < drops.size(); ++i) n += drops[i];
  return n;
}

Sa::~Sa() = default;

common::Result<std::unique_ptr<Sa>> Sa::create(const SaConfig& cfg, crypto::Random& rng) {
  if (cfg.spi == 0) return make_error(Errc::config, "ESP SPI 0 is reserved");
  std::unique_ptr<Sa> sa(new Sa());
  sa->spi_ = cfg.spi;
  sa->direction_ = cfg.direction;
  sa->mode_ = cfg.mode;
  sa->esn_ = cfg.esn;
  sa->encr_ = cfg.encr;
  sa->integ_id_ = cfg.integ;
  if (crypto::encr_is_aead(cfg.encr)) {
    if (cfg.integ != crypto::IntegId::none) return make_error(Errc::config, "AEAD with a separate integrity transform");
    sa->aead_ = crypto::Aead::create(cfg.encr, cfg.encr_key);
    if (!sa->aead_) return make_error(Errc::config, "AEAD key rejected (length or algorithm)");
    sa->iv_size_ = sa->aead_->iv_size();
    sa->icv_size_ = sa->aead_->icv_size();
    sa->block_size_ = 4;
  } else {
    if (cfg.integ == crypto::IntegId::none) return make_error(Errc::config, "ESP without integrity is not supported");
    sa->cipher_ = crypto::Cipher::create(cfg.encr, cfg.encr_key);
    if (!sa->cipher_) return make_error(Errc::config, "cipher key rejected (length or algorithm)");
    sa->integ_ = crypto::Integ::create(cfg.integ, cfg.integ_key);
    if (!sa->integ_) return make_error(Errc::config, "integrity key rejected (length or algorithm)");
    sa->iv_size_ = sa->cipher_->iv_size();
    sa->icv_size_ = sa->integ_->icv_size();
    sa->block_size_ = std::max<std::size_t>(sa->cipher_->block_size(), 4);
    if (sa->iv_size_ == 0 || sa->iv_size_ > 16) return make_error(Errc::config, "CBC IV of an unexpected size");
    if (cfg.direction == Direction::outbound) {
      std::array<std::byte, 16> iv_key{};
      rng.fill(iv_key);
      sa->iv_gen_ = crypto::Cipher::create(crypto::EncrId::aes_cbc, iv_key);
      std::fill(iv_key.begin(), iv_key.end(), std::byte{0});
      if (!sa->iv_gen_) return make_error(Errc::crypto, "IV generator key rejected");
    }
  }
  sa->replay_ = ReplayWindow(cfg.replay_window, cfg.esn);
  sa->local_ts_ = cfg.local_ts;
  sa->remote_ts_ = cfg.remote_ts;
  return sa;
}

std::size_t Sa::encap_size(std::size_t inner_len) const {
  const std::size_t padded = (inner_len + 2 + block_size_ - 1) / block_size_ * block_size_;
  return header_size() + padded + icv_size_;
}

void Sa::count_drop(Drop d) {
  if (d != Drop::none && d != Drop::count_) ++counters_.drops[static_cast<std::size_t>(d)];
}

DecapResult Sa::fail(Drop d) {
  count_drop(d);
  DecapResult r;
  r.drop = d;
  return r;
}

EncapResult Sa::fail_encap(Drop d) {
  count_drop(d);
  EncapResult r;
  r.drop = d;
  return r;
}

EncapResult Sa::encap(MutByteSpan buf, std::size_t offset, std::size_t length, TimePoint now) {
  if (mode_ != Mode::tunnel) return fail_encap(Drop::bad_next_header);  // transport: say which protocol
  if (offset >= buf.size() || length == 0 || length > buf.size() - offset) return fail_encap(Drop::bad_inner);
  switch (std::to_integer<unsigned>(buf[offset]) >> 4) {
    case 4: return encap(buf, offset, length, ip::kProtoIpv4, now);
    case 6: return encap(buf, offset, length, ip::kProtoIpv6, now);
    default: return fail_encap(Drop::bad_inner);
  }
}

EncapResult Sa::encap(MutByteSpan buf, std::size_t offset, std::size_t length, std::uint8_t next_header,
                      TimePoint now) {
  if (direction_ != Direction::outbound) return fail_encap(Drop::wrong_direction);
  const std::size_t hdr = header_size();
  if (offset < hdr || offset > buf.size() || length > buf.size() - offset) return fail_encap(Drop::no_room);
  const std::size_t padded = (length + 2 + block_size_ - 1) / block_size_ * block_size_;
  const std::size_t pad = padded - length - 2;
  if (buf.size() - offset < padded + icv_size_) return fail_encap(Drop::no_room);

  // RFC 4303 §3.3.3: the counter must never cycle; the SA has to be rekeyed first.
  const std::uint64_t limit = esn_ ? UINT64_MAX : UINT32_MAX;
  if (seq_out_ >= limit) return fail_encap(Drop::seq_exhausted);
  const std::uint64_t seq = ++seq_out_;

  const std::size_t start = offset - hdr;
  std::byte* p = buf.data() + start;
  store32(p, spi_);
  store32(p + 4, static_cast<std::uint32_t>(seq));

  MutByteSpan body = buf.subspan(offset, padded);
  for (std::size_t i = 0; i < pad; ++i) body[length + i] = std::byte(i + 1);  // RFC 4303 §2.4
  body[length + pad] = std::byte(pad);
  body[length + pad + 1] = std::byte(next_header);
  MutByteSpan iv = buf.subspan(start + kEspHeader, iv_size_);
  MutByteSpan icv = buf.subspan(offset + padded, icv_size_);

  if (aead_) {
    store64(iv.data(), seq);
    std::array<std::byte, 12> aad_buf;
    ByteSpan aad = build_aad(aad_buf, spi_, seq, esn_);
    if (!aead_->seal(iv, aad, body, icv)) {
      --seq_out_;  // nothing left the SA: the number may be used again
      return fail_encap(Drop::crypto);
    }
  } else {
    // The CBC IV: the sequence number encrypted under the SA's own random AES key (never
    // repeated, not predictable), cut to the cipher's block (16 bytes AES, 8 bytes 3DES).
    std::array<std::byte, 16> block{};
    store64(block.data(), seq);
    const bool made = static_cast<bool>(iv_gen_->encrypt(kZeroIv, block));
    std::memcpy(iv.data(), block.data(), iv_size_);
    if (!made || !cipher_->encrypt(iv, body)) {
      --seq_out_;
      return fail_encap(Drop::crypto);
    }
    std::array<std::byte, 4> hi;
    store32(hi.data(), static_cast<std::uint32_t>(seq >> 32));
    integ_->compute(buf.subspan(start, hdr + padded), esn_ ? ByteSpan(hi) : ByteSpan(), icv);
  }

  ++counters_.packets;
  counters_.bytes += length;
  counters_.last_use = now;
  EncapResult r;
  r.packet = buf.subspan(start, hdr + padded + icv_size_);
  r.seq = seq;
  return r;
}

DecapResult Sa::decap(MutByteSpan packet, TimePoint now) {
  if (direction_ != Direction::inbound) return fail(Drop::wrong_direction);
  const std::size_t hdr = header_size();
  const std::size_t min_ct = aead_ ? 2 : block_size_;  // at least Pad Length + Next Header
  if (packet.size() < hdr + min_ct + icv_size_) return fail(Drop::truncated);
  if (load32(packet.data()) != spi_) return fail(Drop::bad_spi);

  // 1. Replay check before spending effort on the ICV (RFC 4303 §3.4.3).
  const auto seq = replay_.check(load32(packet.data() + 4));
  if (!seq) return fail(Drop::replay);

  const std::size_t ct_len = packet.size() - hdr - icv_size_;
  if (!aead_ && ct_len % block_size_ != 0) return fail(Drop::bad_length);
  MutByteSpan iv = packet.subspan(kEspHeader, iv_size_);
  MutByteSpan body = packet.subspan(hdr, ct_len);
  ByteSpan icv = packet.subspan(hdr + ct_len, icv_size_);

  // 2. Integrity (and, for AEADs, decryption): nothing below runs on unauthenticated data.
  if (aead_) {
    std::array<std::byte, 12> aad_buf;
    ByteSpan aad = build_aad(aad_buf, spi_, *seq, esn_);
    common::Status st = aead_->open(iv, aad, body, icv);
    if (!st) return fail(st.error().code == Errc::integrity ? Drop::integrity : Drop::crypto);
  } else {
    std::array<std::byte, 4> hi;
    store32(hi.data(), static_cast<std::uint32_t>(*seq >> 32));
    if (!integ_->verify(packet.first(hdr + ct_len), esn_ ? ByteSpan(hi) : ByteSpan(), icv))
      return fail(Drop::integrity);
  }

  // 3. Only an authenticated packet moves the window.
  if (!replay_.commit(*seq)) return fail(Drop::replay);

  if (!aead_ && !cipher_->decrypt(iv, body)) return fail(Drop::crypto);

  // 4. Trailer (RFC 4303 §2.4-2.6).
  const std::uint8_t next_header = std::to_integer<std::uint8_t>(body[ct_len - 1]);
  const std::size_t pad = std::to_integer<std::size_t>(body[ct_len - 2]);
  if (pad + 2 > ct_len) return fail(Drop::bad_padding);
  const std::size_t payload_len = ct_len - 2 - pad;
  for (std::size_t i = 0; i < pad; ++i)
    if (body[payload_len + i] != std::byte(i + 1)) return fail(Drop::bad_padding);
  if (next_header == ip::kProtoNone) return fail(Drop::dummy);

  MutByteSpan inner = body.first(payload_len);
  if (mode_ == Mode::tunnel) {
    if (next_header != ip::kProtoIpv4) return fail(Drop::bad_next_header);
    auto h = ip::parse_ipv4(inner);
    if (!h) return fail(Drop::bad_inner);
    inner = inner.first(h->total_length);  // anything after it is TFC padding (§2.7)
    if (!policy_allows(ip::flow_of(*h, inner))) return fail(Drop::policy);
  }

  ++counters_.packets;
  counters_.bytes += inner.size();
  counters_.last_use = now;
  DecapResult r;
  r.inner = inner;
  r.next_header = next_header;
  r.seq = *seq;
  return r;
}

bool Sa::policy_allows(const ip::Flow& f) const {
  return list_matches(remote_ts_, f.src, f.protocol, f.src_port) &&
         list_matches(local_ts_, f.dst, f.protocol, f.dst_port);
}

bool Sa::outbound_policy_allows(const ip::Flow& f) const {
  return list_matches(local_ts_, f.src, f.protocol, f.src_port) &&
         list_matches(remote_ts_, f.dst, f.protocol, f.dst_port);
}

}  // namespace esp
