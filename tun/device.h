// The TUN device seen by the data path: raw IPv4/IPv6 packets in and out, no link header,
// no packet-information prefix.
//
// Contract shared by every Device:
//  - read() returns the length of one whole packet copied into `buf`, or 0 when no packet
//    is waiting (the fd is non-blocking; 0 is never a real packet length). A buffer
//    shorter than the packet is an error (Errc::truncated) and the packet is lost, so
//    callers size buffers for the device MTU (kMaxPacket is always enough).
//  - write() hands one whole packet to the kernel (or the fake); it never splits it.
//  - fd() is pollable for readability; the daemon (daemon/) registers it with its event
//    loop. This folder never includes Asio.
//  - Neither read() nor write() allocates or logs.
//
// Batching: read_batch() drains up to slots.size() packets per wake-up and stops at the
// first "would block", so the driver does one poll wake-up per burst, not per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/result.h"

namespace tun {

using common::ByteSpan;
using common::Bytes;
using common::MutByteSpan;
using common::Result;
using common::Status;

// Largest packet a TUN read can return (IPv4 total length is 16 bits).
inline constexpr std::size_t kMaxPacket = 65535;

// One caller-owned receive buffer and, after read_batch(), the packet length in it.
struct PacketSlot {
  MutByteSpan buf;
  std::size_t len = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // One packet, or 0 when none is waiting (see contract above).
  virtual Result<std::size_t> read(MutByteSpan buf) = 0;
  virtual Status write(ByteSpan packet) = 0;
  virtual int fd() const = 0;
  virtual const std::string& name() const = 0;

  // Reads until slots are full or the device would block. Returns the number of slots
  // filled (slots[i].len set for i < n). An error after at least one packet is not
  // returned: the packets already read are delivered and the error shows again on the
  // next call. An error on the first read is returned.
  virtual Result<std::size_t> read_batch(std::span<PacketSlot> slots);

  // Writes packets in order; stops at the first failure. Returns how many were written,
  // or the error when the first one failed.
  virtual Result<std::size_t> write_batch(std::span<const ByteSpan> packets);

  // Writes one packet given as parts to concatenate (writev on a real device). On a
  // device with a virtio header (LinuxTun::offload()) the caller's first part is that
  // header. The default joins the parts in a stack buffer of kMaxPacket + 16 bytes and
  // calls write(); longer inputs fail with Errc::truncated.
  virtual Status write_gather(std::span<const ByteSpan> parts);
};

struct LinuxTunOptions {
  // Requested interface name (at most 15 chars); empty lets the kernel pick "tunN".
  std::string name;
  // IFF_MULTI_QUEUE: opening the same name again attaches another queue (one per data
  // path thread). All queues of a device must agree on this flag.
  bool multi_queue = false;
  // IFF_VNET_HDR + TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4, and TUN_F_USO4 | TUN_F_USO6
  // where the kernel has them): the kernel hands over TCP (and UDP_SEGMENT) super-packets
  // and partial checksums behind a virtio_net_hdr (tun/offload.h), and takes the same.
  // When the kernel refuses, the device is opened without it and offload_refused() says
  // why.
  bool offload = false;
};

// /dev/net/tun opened with IFF_TUN | IFF_NO_PI, O_NONBLOCK and O_CLOEXEC. The interface
// lives in the network namespace of the calling thread at open time and disappears when
// its last queue is closed (it is not made persistent).
class LinuxTun final : public Device {
 public:
  // Errors name the missing privilege or device: EPERM/EACCES → CAP_NET_ADMIN is needed;
  // ENOENT/ENODEV/ENXIO → /dev/net/tun or the tun module is missing.
  static Result<std::unique_ptr<LinuxTun>> open(const LinuxTunOptions& opts);
  ~LinuxTun() override;

  Result<std::size_t> read(MutByteSpan buf) override;
  Status write(ByteSpan packet) override;
  Status write_gather(std::span<const ByteSpan> parts) override;
  int fd() const override { return fd_; }
  const std::string& name() const override { return name_; }
  bool multi_queue() const { return multi_queue_; }
  // Every read and write carries a virtio_net_hdr (offload was asked for and granted).
  bool offload() const { return offload_; }
  // The kernel took UDP segmentation offload too (TUN_F_USO4/6, Linux 6.2+).
  bool uso() const { return uso_; }
  // Why offload was asked for but is off (empty otherwise).
  const std::string& offload_refused() const { return offload_refused_; }
  // The kernel's queue towards us (packets; default 500): a deeper one absorbs the
  // moments the reader is not scheduled, instead of dropping (SIOCSIFTXQLEN).
  Status set_tx_queue_len(unsigned packets);

 private:
  static Result<std::unique_ptr<LinuxTun>> open_once(const LinuxTunOptions& opts);
  LinuxTun(int fd, std::string name, bool mq) : fd_(fd), name_(std::move(name)), multi_queue_(mq) {}
  int fd_;
  std::string name_;
  bool multi_queue_;
  bool offload_ = false;
  bool uso_ = false;
  std::string offload_refused_;
};

// In-memory device for tests of the upper layers. "Inbound" packets are what the kernel
// would hand us (read() pops them); "written" packets are what we sent to the kernel.
// fd() is an eventfd that is readable exactly while inbound packets are queued, so a
// driver's event loop can poll it like a real TUN fd.
class FakeDevice final : public Device {
 public:
  explicit FakeDevice(std::string name = "fake0");
  ~FakeDevice() override;

  Result<std::size_t> read(MutByteSpan buf) override;
  Status write(ByteSpan packet) override;
  Status write_gather(std::span<const ByteSpan> parts) override;
  int fd() const override { return event_fd_; }
  const std::string& name() const override { return name_; }

  // Queue a packet for read(). Empty packets are ignored: no real TUN produces them and
  // read() reserves 0 for "nothing waiting".
  void inject(ByteSpan packet);
  std::size_t inbound_size() const { return inbound_.size(); }
  // Packets passed to write(), oldest first.
  const std::deque<Bytes>& written() const { return written_; }
  std::deque<Bytes> take_written();
  // While set, write() fails with this error and records nothing.
  void fail_writes(std::optional<common::Error> e) { write_error_ = e; }
  // While set, read() fails with this error (the queue is left untouched).
  void fail_reads(std::optional<common::Error> e) { read_error_ = e; }
  // Packets dropped because the read buffer was too small.
  std::uint64_t truncated_drops() const { return truncated_drops_; }

 private:
  void sync_event_fd();
  std::string name_;
  int event_fd_ = -1;
  bool signalled_ = false;
  std::deque<Bytes> inbound_;
  std::deque<Bytes> written_;
  std::optional<common::Error> write_error_;
  std::optional<common::Error> read_error_;
  std::uint64_t truncated_drops_ = 0;
};

}  // namespace tun
