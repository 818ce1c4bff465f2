#include "daemon/pcap_tap.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <cstdint>

#include "common/log.h"

namespace swld {

namespace {
constexpr common::Subsys kLogSubsys = common::Subsys::gre;
}  // namespace

PcapTap::~PcapTap() {
  if (f_) std::fclose(f_);
}

bool PcapTap::open(const std::string& dir, const std::string& name) {
  ::mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + name + ".pcap";
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) {
    LOG_WARN("pcap: cannot create %s", path.c_str());
    return false;
  }
  // pcap global header: magic, v2.4, thiszone 0, sigfigs 0, snaplen 65535, LINKTYPE_RAW (101)
  const std::uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 101};
  std::fwrite(hdr, sizeof hdr, 1, f_);
  std::fflush(f_);
  LOG_INFO("pcap: writing %s", path.c_str());
  return true;
}

void PcapTap::write(common::ByteSpan ipv4) {
  if (!f_) return;
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  const std::uint32_t rec[4] = {static_cast<std::uint32_t>(tv.tv_sec), static_cast<std::uint32_t>(tv.tv_usec),
                                static_cast<std::uint32_t>(ipv4.size()), static_cast<std::uint32_t>(ipv4.size())};
  std::fwrite(rec, sizeof rec, 1, f_);
  std::fwrite(ipv4.data(), 1, ipv4.size(), f_);
}

void PcapTap::flush() {
  if (f_) std::fflush(f_);
}

}  // namespace swld
