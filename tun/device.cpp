#include "tun/device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>

#include "tun/error_text.h"

namespace tun {

using common::Errc;
using common::make_error;

// ---------------------------------------------------------------------------- Device

Result<std::size_t> Device::read_batch(std::span<PacketSlot> slots) {
  std::size_t n = 0;
  for (; n < slots.size(); ++n) {
    Result<std::size_t> r = read(slots[n].buf);
    if (!r) {
      if (n == 0) return r.error();
      break;
    }
    if (*r == 0) break;
    slots[n].len = *r;
  }
  return n;
}

Result<std::size_t> Device::write_batch(std::span<const ByteSpan> packets) {
  std::size_t n = 0;
  for (; n < packets.size(); ++n) {
    Status s = write(packets[n]);
    if (!s) {
      if (n == 0) return s.error();
      break;
    }
  }
  return n;
}

Status Device::write_gather(std::span<const ByteSpan> parts) {
  std::array<std::byte, kMaxPacket + 16> joined;
  std::size_t n = 0;
  for (const auto& p : parts) {
    if (p.size() > joined.size() - n) return make_error(Errc::truncated, "TUN write: packet parts too long");
    std::memcpy(joined.data() + n, p.data(), p.size());
    n += p.size();
  }
  return write(ByteSpan(joined.data(), n));
}

// ---------------------------------------------------------------------------- LinuxTun

namespace {

constexpr const char* kTunPath = "/dev/net/tun";
// linux/if_tun.h of Linux 6.2; Debian 12's headers (6.1) do not have them yet.
constexpr unsigned long kTunFUso4 = 0x20, kTunFUso6 = 0x40;

// Stage 1 is open(2) of the device node, stage 2 the TUNSETIFF ioctl. Each errno that
// means "not allowed" or "not there" gets a message naming what is missing.
enum class Stage { open_node, set_iff };

common::Error open_error(Stage stage, int err, const std::string& name) {
  const std::string dev = name.empty() ? std::string("(kernel-chosen name)") : name;
  if (err == EPERM || (err == EACCES && stage == Stage::set_iff))
    return make_error(Errc::io,
                      intern_detail("creating TUN device " + dev +
                                    " needs CAP_NET_ADMIN in its network namespace (run as root, "
                                    "or grant the capability: setcap cap_net_admin+ep, or systemd "
                                    "AmbientCapabilities=CAP_NET_ADMIN): " +
                                    errno_text(err)));
  if (err == EACCES)
    return make_error(Errc::io,
                      intern_detail(std::string("no permission to open ") + kTunPath +
                                    " (needs root or read/write access to the device node, and "
                                    "CAP_NET_ADMIN): " +
                                    errno_text(err)));
  if (err == ENOENT || err == ENODEV || err == ENXIO)
    return make_error(Errc::io,
                      intern_detail(std::string(kTunPath) +
                                    " is missing: load the tun kernel module (modprobe tun) or, "
                                    "in a container, pass the device through: " +
                                    errno_text(err)));
  return errno_error(std::string(stage == Stage::open_node ? "opening " : "TUNSETIFF on ") + kTunPath +
                         " for " + dev,
                     err);
}

}  // namespace

Result<std::unique_ptr<LinuxTun>> LinuxTun::open(const LinuxTunOptions& opts) {
  if (opts.name.size() >= IFNAMSIZ)
    return make_error(Errc::config, "TUN interface name longer than 15 characters");
  if (opts.offload) {
    LinuxTunOptions plain = opts;
    plain.offload = false;
    auto with = open_once(opts);
    if (with) return with;
    // The flag or the ioctl was refused: the same device without the virtio header.
    std::string why = with.error().detail;
    auto without = open_once(plain);
    if (without) without.value()->offload_refused_ = why;
    return without;
  }
  return open_once(opts);
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::open_once(const LinuxTunOptions& opts) {
  int fd = ::open(kTunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return open_error(Stage::open_node, errno, opts.name);

  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (opts.multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (opts.offload) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, opts.name.data(), opts.name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd);
    if (err == EBUSY || err == EINVAL)
      return errno_error("TUNSETIFF '" + opts.name +
                             "' (an interface of that name exists with other flags, or "
                             "multi-queue does not match)",
                         err);
    return open_error(Stage::set_iff, err, opts.name);
  }
  bool uso = false;
  if (opts.offload) {
    // Fields in little-endian order whatever the host (tun/offload.h parses them so);
    // kernels without cross-endian support refuse this only on big-endian hosts.
    int le = 1;
    if constexpr (std::endian::native != std::endian::little) {
      if (::ioctl(fd, TUNSETVNETLE, &le) < 0) {
        int err = errno;
        ::close(fd);
        return errno_error("TUNSETVNETLE", err);
      }
    } else {
      (void)le;
    }
    // UDP segmentation (Linux 6.2+) comes only as USO4 and USO6 together; older kernels
    // refuse the bits with EINVAL and keep TCP segmentation alone.
    const auto tso = static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4);
    if (::ioctl(fd, TUNSETOFFLOAD, tso | kTunFUso4 | kTunFUso6) == 0) {
      uso = true;
    } else if (::ioctl(fd, TUNSETOFFLOAD, tso) < 0) {
      int err = errno;
      ::close(fd);
      return errno_error("TUNSETOFFLOAD(TUN_F_CSUM|TUN_F_TSO4)", err);
    }
  }
  std::string actual(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  auto dev = std::unique_ptr<LinuxTun>(new LinuxTun(fd, std::move(actual), opts.multi_queue));
  dev->offload_ = opts.offload;
  dev->uso_ = uso;
  return dev;
}

LinuxTun::~LinuxTun() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> LinuxTun::read(MutByteSpan buf) {
  for (;;) {
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return std::size_t{0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    if (errno == EFAULT || errno == EINVAL)  // kernel could not fit the packet in buf
      return make_error(Errc::truncated, "TUN read: buffer smaller than packet");
    return make_error(Errc::io, errno_text(errno));
  }
}

Status LinuxTun::write(ByteSpan packet) {
  for (;;) {
    ssize_t n = ::write(fd_, packet.data(), packet.size());
    if (n == static_cast<ssize_t>(packet.size())) return {};
    if (n >= 0) return make_error(Errc::io, "TUN write: short write");
    if (errno == EINTR) continue;
    return make_error(Errc::io, errno_text(errno));
  }
}

Status LinuxTun::set_tx_queue_len(unsigned packets) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno_error("socket for SIOCSIFTXQLEN", errno);
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), std::min(name_.size(), std::size_t(IFNAMSIZ - 1)));
  ifr.ifr_qlen = static_cast<int>(packets);
  const int rc = ::ioctl(s, SIOCSIFTXQLEN, &ifr);
  const int err = errno;
  ::close(s);
  if (rc < 0) return errno_error("SIOCSIFTXQLEN on " + name_, err);
  return {};
}

Status LinuxTun::write_gather(std::span<const ByteSpan> parts) {
  std::array<iovec, 80> iov;
  if (parts.size() > iov.size()) return Device::write_gather(parts);
  std::size_t total = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    iov[i] = {const_cast<std::byte*>(parts[i].data()), parts[i].size()};
    total += parts[i].size();
  }
  for (;;) {
    ssize_t n = ::writev(fd_, iov.data(), static_cast<int>(parts.size()));
    if (n == static_cast<ssize_t>(total)) return {};
    if (n >= 0) return make_error(Errc::io, "TUN write: short write");
    if (errno == EINTR) continue;
    return make_error(Errc::io, errno_text(errno));
  }
}

// ---------------------------------------------------------------------------- FakeDevice

FakeDevice::FakeDevice(std::string name) : name_(std::move(name)) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

FakeDevice::~FakeDevice() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

void FakeDevice::sync_event_fd() {
  if (event_fd_ < 0) return;
  bool want = !inbound_.empty();
  if (want == signalled_) return;
  if (want) {
    std::uint64_t one = 1;
    if (::write(event_fd_, &one, sizeof one) == sizeof one) signalled_ = true;
  } else {
    std::uint64_t v = 0;
    if (::read(event_fd_, &v, sizeof v) == sizeof v || errno == EAGAIN) signalled_ = false;
  }
}

void FakeDevice::inject(ByteSpan packet) {
  if (packet.empty()) return;
  inbound_.emplace_back(packet.begin(), packet.end());
  sync_event_fd();
}

Result<std::size_t> FakeDevice::read(MutByteSpan buf) {
  if (read_error_) return *read_error_;
  if (inbound_.empty()) return std::size_t{0};
  Bytes pkt = std::move(inbound_.front());
  inbound_.pop_front();
  sync_event_fd();
  if (pkt.size() > buf.size()) {
    ++truncated_drops_;
    return make_error(Errc::truncated, "TUN read: buffer smaller than packet");
  }
  std::memcpy(buf.data(), pkt.data(), pkt.size());
  return pkt.size();
}

Status FakeDevice::write(ByteSpan packet) {
  if (write_error_) return *write_error_;
  written_.emplace_back(packet.begin(), packet.end());
  return {};
}

Status FakeDevice::write_gather(std::span<const ByteSpan> parts) {
  if (write_error_) return *write_error_;
  Bytes joined;
  for (const auto& p : parts) joined.insert(joined.end(), p.begin(), p.end());
  written_.push_back(std::move(joined));
  return {};
}

std::deque<Bytes> FakeDevice::take_written() {
  std::deque<Bytes> out;
  out.swap(written_);
  return out;
}

}  // namespace tun
