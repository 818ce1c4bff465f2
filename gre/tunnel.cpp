#include "gre/tunnel.h"

#include <algorithm>

namespace gre {

std::string_view to_string(KeepaliveMode m) {
  switch (m) {
    case KeepaliveMode::reply: return "reply";
    case KeepaliveMode::off: return "off";
    case KeepaliveMode::send: return "send";
  }
  return "?";
}

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::outer_malformed: return "outer_malformed";
    case DropReason::outer_not_gre: return "outer_not_gre";
    case DropReason::outer_fragment: return "outer_fragment";
    case DropReason::outer_wrong_src: return "outer_wrong_src";
    case DropReason::outer_wrong_dst: return "outer_wrong_dst";
    case DropReason::gre_truncated: return "gre_truncated";
    case DropReason::gre_unsupported: return "gre_unsupported";
    case DropReason::gre_bad_checksum: return "gre_bad_checksum";
    case DropReason::gre_key_mismatch: return "gre_key_mismatch";
    case DropReason::gre_out_of_order: return "gre_out_of_order";
    case DropReason::gre_unknown_protocol: return "gre_unknown_protocol";
    case DropReason::inner_malformed: return "inner_malformed";
    case DropReason::keepalive_wrong_src: return "keepalive_wrong_src";
    case DropReason::keepalive_wrong_dst: return "keepalive_wrong_dst";
    case DropReason::keepalive_wrong_protocol: return "keepalive_wrong_protocol";
    case DropReason::keepalive_malformed: return "keepalive_malformed";
    case DropReason::keepalive_disabled: return "keepalive_disabled";
    case DropReason::encap_too_big: return "encap_too_big";
    case DropReason::encap_no_headroom: return "encap_no_headroom";
    case DropReason::encap_not_ipv4: return "encap_not_ipv4";
    case DropReason::count_: break;
  }
  return "?";
}

std::uint64_t Counters::drops_total() const {
  std::uint64_t n = 0;
  for (auto d : drops) n += d;
  return n;
}

Tunnel::Tunnel(const TunnelConfig& cfg, TimePoint now) : cfg_(cfg) {
  gre_template_.checksum_present = cfg_.checksum;
  gre_template_.key = cfg_.key;
  if (cfg_.sequence) gre_template_.sequence = 0;
  if (cfg_.keepalive == KeepaliveMode::send) {
    status_.up = false;
    next_keepalive_ = now;  // first keepalive right away
  }
}

GreHeader Tunnel::next_gre_header() {
  GreHeader h = gre_template_;
  if (h.sequence) h.sequence = tx_seq_++;
  return h;
}

Decap Tunnel::decap(common::ByteSpan outer, TimePoint now) {
  auto ip = parse_ipv4(outer);
  if (!ip) return drop(DropReason::outer_malformed);
  const Ipv4Header& oh = ip->header;
  if (oh.protocol != kIpProtoGre) return drop(DropReason::outer_not_gre);
  if (oh.is_fragment()) return drop(DropReason::outer_fragment);
  if (oh.src != cfg_.remote) return drop(DropReason::outer_wrong_src);
  if (oh.dst != cfg_.local) return drop(DropReason::outer_wrong_dst);

  auto g = parse_gre(ip->payload);
  if (!g) {
    switch (g.error().code) {
      case common::Errc::integrity: return drop(DropReason::gre_bad_checksum);
      case common::Errc::unsupported: return drop(DropReason::gre_unsupported);
      default: return drop(DropReason::gre_truncated);
    }
  }
  const GreHeader& gh = g->header;
  if (gh.key != cfg_.key) return drop(DropReason::gre_key_mismatch);
  if (cfg_.sequence && gh.sequence) {
    // RFC 2890 §2.2: accept only sequence numbers newer than the last (serial arithmetic).
    if (rx_seq_ && static_cast<std::int32_t>(*gh.sequence - *rx_seq_) <= 0)
      return drop(DropReason::gre_out_of_order);
    rx_seq_ = *gh.sequence;
  }

  if (gh.protocol == kGreProtoKeepalive) {
    ++status_.counters.keepalives_received;
    status_.last_keepalive_rx = now;
    if (cfg_.keepalive == KeepaliveMode::send) {
      status_.up = true;
      status_.missed = 0;
      awaiting_reply_ = false;
    }
    return Decap{DecapKind::keepalive_reply, {}, {}};
  }
  if (gh.protocol != kGreProtoIpv4) return drop(DropReason::gre_unknown_protocol);
  return classify_inner(g->payload, now);
}

Decap Tunnel::classify_inner(common::ByteSpan inner, TimePoint now) {
  auto ip = parse_ipv4(inner);
  if (!ip) return drop(DropReason::inner_malformed);
  const Ipv4Header& ih = ip->header;
  const bool is_gre = ih.protocol == kIpProtoGre;
  const bool keepalive_shaped = is_gre || ih.dst == cfg_.remote || ih.src == cfg_.local;
  if (!keepalive_shaped) {
    ++status_.counters.packets_in;
    status_.counters.bytes_in += ih.total_length;
    return Decap{DecapKind::deliver, inner.first(ih.total_length), {}};
  }
  if (ih.src != cfg_.local) return drop(DropReason::keepalive_wrong_src);
  if (ih.dst != cfg_.remote) return drop(DropReason::keepalive_wrong_dst);
  if (!is_gre) return drop(DropReason::keepalive_wrong_protocol);
  if (ih.is_fragment() || !parse_gre(ip->payload)) return drop(DropReason::keepalive_malformed);
  if (cfg_.keepalive == KeepaliveMode::off) return drop(DropReason::keepalive_disabled);
  ++status_.counters.keepalives_answered;
  status_.last_keepalive_rx = now;
  return Decap{DecapKind::reflect, inner.first(ih.total_length), {}};
}

common::MutByteSpan Tunnel::encap(common::MutByteSpan buf, std::size_t headroom, std::size_t inner_len) {
  const std::size_t over = overhead();
  if (headroom < over || headroom > buf.size() || buf.size() - headroom < inner_len) {
    ++status_.counters.drops[static_cast<std::size_t>(DropReason::encap_no_headroom)];
    return {};
  }
  if (inner_len + over > 0xffff) {
    ++status_.counters.drops[static_cast<std::size_t>(DropReason::encap_too_big)];
    return {};
  }
  // The GRE header says protocol type 0x0800: anything else (an IPv6 packet the host wrote
  // into the device) would reach the peer mislabelled.
  if (inner_len == 0 || (std::to_integer<unsigned>(buf[headroom]) >> 4) != 4) {
    ++status_.counters.drops[static_cast<std::size_t>(DropReason::encap_not_ipv4)];
    return {};
  }
  common::MutByteSpan pkt = buf.subspan(headroom - over, over + inner_len);
  GreHeader gh = next_gre_header();
  if (!write_gre(pkt.subspan(kIpv4HeaderSize), gh)) return {};
  Ipv4Header oh;
  oh.tos = cfg_.tos;
  oh.id = ip_id_++;
  oh.ttl = cfg_.ttl;
  oh.protocol = kIpProtoGre;
  oh.src = cfg_.local;
  oh.dst = cfg_.remote;
  if (!write_ipv4_header(pkt, oh, pkt.size() - kIpv4HeaderSize)) return {};
  ++status_.counters.packets_out;
  status_.counters.bytes_out += inner_len;
  return pkt;
}

common::Bytes Tunnel::encap_copy(common::ByteSpan inner) {
  const std::size_t over = overhead();
  common::Bytes buf(over + inner.size());
  std::copy(inner.begin(), inner.end(), buf.begin() + static_cast<std::ptrdiff_t>(over));
  auto out = encap(buf, over, inner.size());
  if (out.empty()) return {};
  return buf;
}

common::Bytes Tunnel::build_keepalive() {
  // Inner: what the far end routes straight back to us, so remote > local.
  GreHeader ih_gre;
  ih_gre.protocol = kGreProtoKeepalive;
  ih_gre.key = cfg_.key;  // it comes back to us and must pass our key check
  ih_gre.checksum_present = cfg_.checksum;
  common::Bytes inner_gre = build_gre(ih_gre, {});
  Ipv4Header ih;
  ih.tos = cfg_.tos;
  ih.id = ip_id_++;
  ih.ttl = cfg_.ttl;
  ih.protocol = kIpProtoGre;
  ih.src = cfg_.remote;
  ih.dst = cfg_.local;
  common::Bytes inner = build_ipv4(ih, inner_gre);
  // Outer GRE without a sequence number: the reply must not look reordered to us.
  GreHeader oh_gre = gre_template_;
  oh_gre.sequence.reset();
  common::Bytes gre_part = build_gre(oh_gre, inner);
  Ipv4Header oh;
  oh.tos = cfg_.tos;
  oh.id = ip_id_++;
  oh.ttl = cfg_.ttl;
  oh.protocol = kIpProtoGre;
  oh.src = cfg_.local;
  oh.dst = cfg_.remote;
  return build_ipv4(oh, gre_part);
}

std::optional<TimePoint> Tunnel::next_expiry() const { return next_keepalive_; }

void Tunnel::on_expiry(TimePoint now) {
  if (!next_keepalive_ || now < *next_keepalive_) return;
  if (awaiting_reply_) {
    ++status_.missed;
    if (status_.missed >= cfg_.keepalive_retries) status_.up = false;
  }
  outbox_.push_back(build_keepalive());
  ++status_.counters.keepalives_sent;
  awaiting_reply_ = true;
  next_keepalive_ = now + cfg_.keepalive_interval;
}

std::vector<common::Bytes> Tunnel::take_outbox() {
  std::vector<common::Bytes> out;
  out.swap(outbox_);
  return out;
}

}  // namespace gre
