// Plain ESP (IP protocol 50, RFC 4303) for the data path: one raw IPv4 socket for the whole
// process, batched with recvmmsg/sendmmsg. Used for every CHILD_SA that is not UDP
// encapsulated (no NAT between the peers and forceencaps=no); ESP in UDP (RFC 3948) stays
// on the UDP sockets.
//
// Receive: the kernel hands a raw socket the whole IPv4 packet (header included, already
// reassembled); esp::transport::parse_outer finds the ESP part. Send: the caller gives the
// ESP part (SPI..ICV) and both addresses; the kernel writes the IPv4 header (protocol 50)
// with our local address as source (IP_PKTINFO per datagram).
//
// Opening it needs CAP_NET_RAW in the socket's network namespace.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"

namespace swld {

struct RawPacket {
  std::byte* data = nullptr;  // the IPv4 packet, inside the socket's receive buffer
  std::size_t len = 0;
  std::size_t headroom = 0;   // writable bytes in front of data
};

class RawEspSocket {
 public:
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kBufSize = 65536;
  static constexpr std::size_t kRxHeadroom = 32;

  RawEspSocket() = default;
  ~RawEspSocket();
  RawEspSocket(const RawEspSocket&) = delete;
  RawEspSocket& operator=(const RawEspSocket&) = delete;

  // Errors name the capability when the kernel says EPERM/EACCES.
  common::Status open();
  int fd() const { return fd_; }

  // Up to kBatch packets without blocking; 0 on EAGAIN.
  std::size_t recv_batch(std::vector<RawPacket>& out);
  // Queues one ESP packet (copied) from `local` to `remote`; flush() sends the batch.
  void queue(const common::IpAddr& local, const common::IpAddr& remote, common::ByteSpan esp);
  std::size_t flush();

  std::uint64_t received() const { return received_; }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t send_errors() const { return send_errors_; }

 private:
  int fd_ = -1;
  std::vector<std::byte> rx_buf_;
  std::array<mmsghdr, kBatch> rx_msgs_{};
  std::array<iovec, kBatch> rx_iov_{};
  std::vector<std::byte> tx_buf_;
  std::array<mmsghdr, kBatch> tx_msgs_{};
  std::array<iovec, kBatch> tx_iov_{};
  std::array<sockaddr_in, kBatch> tx_addr_{};
  std::array<std::array<char, CMSG_SPACE(sizeof(in_pktinfo))>, kBatch> tx_ctrl_{};
  std::size_t tx_count_ = 0;
  std::uint64_t received_ = 0, sent_ = 0, send_errors_ = 0;
};

}  // namespace swld
