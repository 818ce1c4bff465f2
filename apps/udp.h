// Batched UDP I/O for the driver: recvmmsg/sendmmsg on a non-blocking socket, with
// IP_PKTINFO so a socket bound to 0.0.0.0 still learns each datagram's local address
// (needed for NAT detection and for answering from the right address).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/net.h"
#include "common/result.h"

namespace apps {

struct Datagram {
  common::Endpoint local;
  common::Endpoint remote;
  std::size_t len = 0;
  std::byte* data = nullptr;  // points into the batch's buffer
};

class UdpSocket {
 public:
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kBufSize = 65536 + 64;
  // Writable bytes in front of every received datagram: room for the IPv4 header that a
  // transport-mode ESP payload gets back after decryption (esp/transport.h).
  static constexpr std::size_t kRxHeadroom = 32;

  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds a non-blocking IPv4 socket. udp_encap: set UDP_ENCAP? No: the kernel must not
  // treat ESP-in-UDP itself, so nothing is set; the socket stays a plain UDP socket.
  common::Status open(const common::Endpoint& bind_to, bool reuse_port = false);
  int fd() const { return fd_; }
  const common::Endpoint& bound() const { return bound_; }

  // Receives up to kBatch datagrams without blocking; returns how many (0 on EAGAIN).
  std::size_t recv_batch(std::vector<Datagram>& out);

  // Queues one datagram for send_flush (copied into the send batch).
  void queue(const common::Endpoint& to, common::ByteSpan data);
  // Queues one datagram made of two parts (e.g. the non-ESP marker and an IKE message).
  void queue2(const common::Endpoint& to, common::ByteSpan a, common::ByteSpan b);
  // Sends everything queued; returns number of datagrams the kernel refused.
  std::size_t flush();
  // Direct buffer access for zero-copy encapsulation: returns a buffer of kBufSize to
  // fill, then commit(len, to) adds it to the batch (flushing first when full).
  common::MutByteSpan next_send_buffer();
  void commit_send(std::size_t len, const common::Endpoint& to);

  std::uint64_t send_errors() const { return send_errors_; }

 private:
  int fd_ = -1;
  common::Endpoint bound_;
  // receive side
  std::vector<std::byte> rx_buf_;
  std::array<mmsghdr, kBatch> rx_msgs_{};
  std::array<iovec, kBatch> rx_iov_{};
  std::array<sockaddr_in, kBatch> rx_addr_{};
  std::array<std::array<char, 64>, kBatch> rx_ctrl_{};
  // send side
  std::vector<std::byte> tx_buf_;
  std::array<mmsghdr, kBatch> tx_msgs_{};
  std::array<iovec, kBatch> tx_iov_{};
  std::array<sockaddr_in, kBatch> tx_addr_{};
  std::size_t tx_count_ = 0;
  std::uint64_t send_errors_ = 0;
};

// sendmmsg until each of msgs[0, count) has gone or been refused by the kernel (one refused
// message, e.g. no route or a full buffer, is skipped and the rest still go).
struct BatchSent {
  std::size_t sent = 0, refused = 0;
};
BatchSent send_all(int fd, mmsghdr* msgs, std::size_t count);

sockaddr_in to_sockaddr(const common::Endpoint& e);
common::Endpoint from_sockaddr(const sockaddr_in& s);

}  // namespace apps
