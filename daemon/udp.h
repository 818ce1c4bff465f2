// Batched UDP I/O for the data path: recvmmsg/sendmmsg on a non-blocking socket, with
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

namespace swld {

struct Datagram {
  common::Endpoint local;
  common::Endpoint remote;
  std::size_t len = 0;
  std::byte* data = nullptr;  // points into the batch's buffer
  // UDP GRO: the kernel joined several datagrams of gso_size bytes (the last may be
  // shorter) into this one buffer; 0 = one datagram.
  std::size_t gso_size = 0;
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

  // UDP GSO (UDP_SEGMENT): at most this many datagrams per send, and their total.
  static constexpr std::size_t kMaxGsoSegments = 64;
  static constexpr std::size_t kMaxGsoBytes = 65000;

  // Binds a non-blocking IPv4 socket. udp_encap: set UDP_ENCAP? No: the kernel must not
  // treat ESP-in-UDP itself, so nothing is set; the socket stays a plain UDP socket.
  // offload: ask for UDP_GRO on receive and probe UDP_SEGMENT for sends (gso()).
  common::Status open(const common::Endpoint& bind_to, bool reuse_port = false, bool offload = false);
  int fd() const { return fd_; }
  const common::Endpoint& bound() const { return bound_; }

  // Receives up to kBatch datagrams without blocking; returns how many (0 on EAGAIN).
  std::size_t recv_batch(std::vector<Datagram>& out);

  // Queues one datagram for send_flush (copied into the send batch).
  void queue(const common::Endpoint& to, common::ByteSpan data);
  // Queues one datagram like queue(), but with UDP GSO on (gso()) joins it to the one
  // queued just before when both go to `to` and the run stays valid for UDP_SEGMENT
  // (equal sizes, the last possibly shorter, at most kMaxGsoSegments and kMaxGsoBytes):
  // one trip through the kernel's send path for the run instead of one per datagram. The
  // receiver still reads separate datagrams, in the same order. For local delivery
  // (deliver=udp:), where that send path is most of the cost.
  void queue_joined(const common::Endpoint& to, common::ByteSpan data);
  // Queues one datagram made of two parts (e.g. the non-ESP marker and an IKE message).
  void queue2(const common::Endpoint& to, common::ByteSpan a, common::ByteSpan b);
  // Sends everything queued; returns number of datagrams the kernel refused.
  std::size_t flush();
  // Direct buffer access for zero-copy encapsulation: returns a buffer of kBufSize to
  // fill, then commit(len, to) adds it to the batch (flushing first when full).
  common::MutByteSpan next_send_buffer();
  void commit_send(std::size_t len, const common::Endpoint& to);
  // Adds `packet` to the batch without copying it: it lies in the buffer next_send_buffer()
  // returned (at any offset), or in caller memory that stays unchanged until flush().
  void commit_send(common::ByteSpan packet, const common::Endpoint& to);
  // UDP GSO: `run` (inside the buffer next_send_buffer() returned) holds datagrams of
  // seg_size bytes back to back, the last possibly shorter; the kernel sends them as
  // separate datagrams. Only when gso() is true; run.size() <= kMaxGsoBytes.
  void commit_gso(common::ByteSpan run, std::size_t seg_size, const common::Endpoint& to);
  bool gso() const { return gso_; }
  // set_socket_buffers on this socket, a warning logged when the kernel caps a size.
  void set_buffers(std::size_t rcv, std::size_t snd);
  // Messages queued for the next flush (a joined run counts once).
  std::size_t queued_messages() const { return tx_count_; }

  std::uint64_t send_errors() const { return send_errors_; }

 private:
  void add(common::ByteSpan packet, const common::Endpoint& to, std::size_t gso_size);
  void set_gso(std::size_t i, std::size_t gso_size);
  // queue_joined's open run: the last queued message, its segment size and count
  bool join_open_ = false;
  std::size_t join_seg_ = 0, join_count_ = 0;
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
  std::array<std::array<char, 32>, kBatch> tx_ctrl_{};
  bool gso_ = false;
  std::size_t tx_count_ = 0;
  std::uint64_t send_errors_ = 0;
};

// Sets a socket's kernel buffers to rcv and snd bytes (0 = leave as it is): SO_RCVBUFFORCE /
// SO_SNDBUFFORCE where CAP_NET_ADMIN allows, else SO_RCVBUF / SO_SNDBUF, which the kernel
// caps at net.core.rmem_max / wmem_max. Returns what fell short, as a sentence for the log
// naming the sysctl to raise, or "" when both were granted.
std::string set_socket_buffers(int fd, std::size_t rcv, std::size_t snd);

// sendmmsg until each of msgs[0, count) has gone or been refused by the kernel (one refused
// message, e.g. no route or a full buffer, is skipped and the rest still go).
struct BatchSent {
  std::size_t sent = 0, refused = 0;
};
BatchSent send_all(int fd, mmsghdr* msgs, std::size_t count);

// Clears h and points it at one buffer and, unless null, an IPv4 address (a batch's
// message before recvmmsg or sendmmsg; control data is the caller's).
void set_one_buffer(msghdr& h, iovec* iov, sockaddr_in* addr);

sockaddr_in to_sockaddr(const common::Endpoint& e);
common::Endpoint from_sockaddr(const sockaddr_in& s);

}  // namespace swld
