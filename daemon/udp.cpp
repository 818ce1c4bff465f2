#include "daemon/udp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/log.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::net;
}  // namespace

sockaddr_in to_sockaddr(const common::Endpoint& e) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(e.port);
  s.sin_addr.s_addr = htonl(e.addr.v4_host());
  return s;
}

common::Endpoint from_sockaddr(const sockaddr_in& s) {
  return {common::IpAddr::v4(ntohl(s.sin_addr.s_addr)), ntohs(s.sin_port)};
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

common::Status UdpSocket::open(const common::Endpoint& bind_to, bool reuse_port, bool offload) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return common::make_error(common::Errc::io, "socket(AF_INET, SOCK_DGRAM) failed");
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (offload) {
    // Both are optional: without them every datagram is its own send/receive.
    ::setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof one);
    int seg = 0;
    socklen_t sl = sizeof seg;
    gso_ = ::getsockopt(fd_, SOL_UDP, UDP_SEGMENT, &seg, &sl) == 0;
  }
  // Buffer sizes are the caller's (set_buffers: rcvbuf=/sndbuf=, checked and logged).
  sockaddr_in sa = to_sockaddr(bind_to);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (e == EACCES) return common::make_error(common::Errc::io, "bind: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)");
    if (e == EADDRINUSE) return common::make_error(common::Errc::io, "bind: address already in use (another IKE daemon running?)");
    if (e == EADDRNOTAVAIL) return common::make_error(common::Errc::io, "bind: address not available on this host");
    return common::make_error(common::Errc::io, "bind failed");
  }
  bound_ = bind_to;
  rx_buf_.resize(kBatch * kBufSize);
  tx_buf_.resize(kBatch * kBufSize);
  for (std::size_t i = 0; i < kBatch; ++i) {
    rx_iov_[i] = {rx_buf_.data() + i * kBufSize + kRxHeadroom, kBufSize - kRxHeadroom};
    tx_iov_[i] = {tx_buf_.data() + i * kBufSize, 0};
  }
  return {};
}

std::size_t UdpSocket::recv_batch(std::vector<Datagram>& out) {
  out.clear();
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = rx_msgs_[i].msg_hdr;
    set_one_buffer(h, &rx_iov_[i], &rx_addr_[i]);
    h.msg_control = rx_ctrl_[i].data();
    h.msg_controllen = rx_ctrl_[i].size();
    rx_msgs_[i].msg_len = 0;
  }
  int n = ::recvmmsg(fd_, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    Datagram d;
    d.remote = from_sockaddr(rx_addr_[i]);
    d.local = bound_;
    auto& h = rx_msgs_[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        d.local.addr = common::IpAddr::v4(ntohl(pi.ipi_addr.s_addr));
      } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int gso = 0;
        std::memcpy(&gso, CMSG_DATA(c), sizeof gso);
        if (gso > 0) d.gso_size = static_cast<std::size_t>(gso);
      }
    }
    d.len = rx_msgs_[i].msg_len;
    d.data = static_cast<std::byte*>(rx_iov_[i].iov_base);
    out.push_back(d);
  }
  return static_cast<std::size_t>(n);
}

common::MutByteSpan UdpSocket::next_send_buffer() {
  if (tx_count_ == kBatch) flush();
  return {tx_buf_.data() + tx_count_ * kBufSize, kBufSize};
}

void UdpSocket::commit_send(std::size_t len, const common::Endpoint& to) {
  commit_send(common::ByteSpan(tx_buf_.data() + tx_count_ * kBufSize, len), to);
}

void UdpSocket::commit_send(common::ByteSpan packet, const common::Endpoint& to) { add(packet, to, 0); }

void UdpSocket::commit_gso(common::ByteSpan run, std::size_t seg_size, const common::Endpoint& to) {
  add(run, to, gso_ && run.size() > seg_size ? seg_size : 0);
}

void UdpSocket::add(common::ByteSpan packet, const common::Endpoint& to, std::size_t gso_size) {
  join_open_ = false;
  if (tx_count_ == kBatch) flush();
  tx_iov_[tx_count_] = {const_cast<std::byte*>(packet.data()), packet.size()};
  tx_addr_[tx_count_] = to_sockaddr(to);
  set_one_buffer(tx_msgs_[tx_count_].msg_hdr, &tx_iov_[tx_count_], &tx_addr_[tx_count_]);
  if (gso_size) set_gso(tx_count_, gso_size);
  ++tx_count_;
  if (tx_count_ == kBatch) flush();
}

void UdpSocket::set_gso(std::size_t i, std::size_t gso_size) {
  auto& h = tx_msgs_[i].msg_hdr;
  h.msg_control = tx_ctrl_[i].data();
  h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto seg = static_cast<std::uint16_t>(gso_size);
  std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
}

std::string set_socket_buffers(int fd, std::size_t rcv, std::size_t snd) {
  std::string short_of;
  auto one = [&](std::size_t want, int force, int plain, const char* what, const char* sysctl) {
    if (!want) return;
    const int v = static_cast<int>(std::min<std::size_t>(want, INT32_MAX / 2));
    if (::setsockopt(fd, SOL_SOCKET, force, &v, sizeof v) != 0) ::setsockopt(fd, SOL_SOCKET, plain, &v, sizeof v);
    int got = 0;
    socklen_t gl = sizeof got;
    ::getsockopt(fd, SOL_SOCKET, plain, &got, &gl);
    // the kernel reports twice what it grants for data (the rest is its bookkeeping)
    const std::size_t granted = static_cast<std::size_t>(got) / 2;
    if (granted + 1024 < want) {
      if (!short_of.empty()) short_of += "; ";
      short_of += std::string(what) + " buffer " + std::to_string(granted >> 10) + " KiB, not the " +
                  std::to_string(want >> 10) + " KiB asked for (raise " + sysctl +
                  " or give the daemon CAP_NET_ADMIN)";
    }
  };
  one(rcv, SO_RCVBUFFORCE, SO_RCVBUF, "receive", "net.core.rmem_max");
  one(snd, SO_SNDBUFFORCE, SO_SNDBUF, "send", "net.core.wmem_max");
  return short_of;
}

void UdpSocket::set_buffers(std::size_t rcv, std::size_t snd) {
  if (auto w = set_socket_buffers(fd_, rcv, snd); !w.empty())
    LOG_WARN("UDP %s: %s; a burst larger than the buffer is lost", bound_.to_string().c_str(), w.c_str());
}

void UdpSocket::queue_joined(const common::Endpoint& to, common::ByteSpan data) {
  // A segment must fit one IPv4 datagram on a 1500-byte path too (the kernel refuses a
  // segment above the route's MTU), whatever the target.
  constexpr std::size_t kMaxJoinedSegment = 1472;
  if (join_open_ && tx_count_ > 0 && !data.empty() && data.size() <= join_seg_ &&
      join_count_ < kMaxGsoSegments) {
    const std::size_t i = tx_count_ - 1;
    iovec& v = tx_iov_[i];
    const sockaddr_in a = to_sockaddr(to);
    if (v.iov_len + data.size() <= kMaxGsoBytes && a.sin_addr.s_addr == tx_addr_[i].sin_addr.s_addr &&
        a.sin_port == tx_addr_[i].sin_port) {
      std::memcpy(static_cast<std::byte*>(v.iov_base) + v.iov_len, data.data(), data.size());
      v.iov_len += data.size();
      if (++join_count_ == 2) set_gso(i, join_seg_);
      if (data.size() < join_seg_) join_open_ = false;  // a shorter one ends the run
      return;
    }
  }
  queue(to, data);
  join_open_ = gso_ && tx_count_ > 0 && !data.empty() && data.size() <= kMaxJoinedSegment;
  join_seg_ = data.size();
  join_count_ = 1;
}

void UdpSocket::queue(const common::Endpoint& to, common::ByteSpan data) { queue2(to, data, {}); }

void UdpSocket::queue2(const common::Endpoint& to, common::ByteSpan a, common::ByteSpan b) {
  if (a.size() + b.size() > kBufSize) {
    ++send_errors_;
    return;
  }
  auto buf = next_send_buffer();
  if (!a.empty()) std::memcpy(buf.data(), a.data(), a.size());
  if (!b.empty()) std::memcpy(buf.data() + a.size(), b.data(), b.size());
  commit_send(a.size() + b.size(), to);
}

void set_one_buffer(msghdr& h, iovec* iov, sockaddr_in* addr) {
  h = {};
  h.msg_name = addr;
  h.msg_namelen = addr ? sizeof(sockaddr_in) : 0;
  h.msg_iov = iov;
  h.msg_iovlen = 1;
}

BatchSent send_all(int fd, mmsghdr* msgs, std::size_t count) {
  BatchSent r;
  std::size_t done = 0;
  while (done < count) {
    int n = ::sendmmsg(fd, msgs + done, static_cast<unsigned>(count - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Skip the datagram the kernel refused (e.g. no route, EAGAIN on a full buffer).
      ++r.refused;
      ++done;
      continue;
    }
    done += static_cast<std::size_t>(n);
    r.sent += static_cast<std::size_t>(n);
  }
  return r;
}

std::size_t UdpSocket::flush() {
  auto r = send_all(fd_, tx_msgs_.data(), tx_count_);
  const int err = errno;
  if (r.refused && gso_ && (err == EIO || err == EINVAL)) {
    bool had_gso = false;
    for (std::size_t i = 0; i < tx_count_; ++i) had_gso = had_gso || tx_msgs_[i].msg_hdr.msg_control != nullptr;
    // A kernel or route that cannot segment (EIO: no checksum offload on the way out)
    // refuses UDP_SEGMENT: stop asking for it; the refused run is lost once.
    if (had_gso) {
      gso_ = false;
      LOG_WARN("UDP %s: the kernel refused UDP GSO (%s); one datagram per send from now on",
               bound_.to_string().c_str(), std::strerror(err));
    }
  }
  tx_count_ = 0;
  join_open_ = false;
  send_errors_ += r.refused;
  return r.refused;
}

}  // namespace swld
