#include "daemon/raw_esp.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/udp.h"

namespace swld {

RawEspSocket::~RawEspSocket() {
  if (fd_ >= 0) ::close(fd_);
}

common::Status RawEspSocket::open() {
  fd_ = ::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP);
  if (fd_ < 0) {
    if (errno == EPERM || errno == EACCES)
      return common::make_error(common::Errc::io,
                                "raw socket for plain ESP (IP protocol 50): permission denied, needs CAP_NET_RAW");
    return common::make_error(common::Errc::io, "socket(AF_INET, SOCK_RAW, IPPROTO_ESP) failed");
  }
  // Buffer sizes are the caller's (set_socket_buffers: rcvbuf=/sndbuf=).
  const std::size_t slot = kRxHeadroom + kBufSize;
  rx_buf_.resize(kBatch * slot);
  tx_buf_.resize(kBatch * kBufSize);
  for (std::size_t i = 0; i < kBatch; ++i) {
    rx_iov_[i] = {rx_buf_.data() + i * slot + kRxHeadroom, kBufSize};
    tx_iov_[i] = {tx_buf_.data() + i * kBufSize, 0};
  }
  return {};
}

std::size_t RawEspSocket::recv_batch(std::vector<RawPacket>& out) {
  out.clear();
  for (std::size_t i = 0; i < kBatch; ++i) {
    set_one_buffer(rx_msgs_[i].msg_hdr, &rx_iov_[i], nullptr);
    rx_msgs_[i].msg_len = 0;
  }
  int n = ::recvmmsg(fd_, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    // A datagram longer than the buffer is cut (MSG_TRUNC): its ICV is gone, so it would
    // only fail the integrity check; drop it here as malformed instead.
    if (rx_msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    out.push_back({static_cast<std::byte*>(rx_iov_[i].iov_base), rx_msgs_[i].msg_len, kRxHeadroom});
  }
  received_ += static_cast<std::uint64_t>(n);
  return static_cast<std::size_t>(n);
}

void RawEspSocket::queue(const common::IpAddr& local, const common::IpAddr& remote, common::ByteSpan esp) {
  if (esp.size() > kBufSize) {
    ++send_errors_;
    return;
  }
  if (tx_count_ == kBatch) flush();
  const std::size_t i = tx_count_++;
  std::memcpy(tx_iov_[i].iov_base, esp.data(), esp.size());
  tx_iov_[i].iov_len = esp.size();
  tx_addr_[i] = to_sockaddr(common::Endpoint{remote, 0});
  auto& h = tx_msgs_[i].msg_hdr;
  set_one_buffer(h, &tx_iov_[i], &tx_addr_[i]);
  h.msg_control = tx_ctrl_[i].data();
  h.msg_controllen = tx_ctrl_[i].size();
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo pi{};
  pi.ipi_spec_dst.s_addr = htonl(local.v4_host());
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
}

std::size_t RawEspSocket::flush() {
  auto r = send_all(fd_, tx_msgs_.data(), tx_count_);
  tx_count_ = 0;
  sent_ += r.sent;
  send_errors_ += r.refused;
  return r.refused;
}

}  // namespace swld
