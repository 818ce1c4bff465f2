// `config setup pcap=DIR`: decrypted inner traffic written as pcap files (LINKTYPE_RAW,
// IPv4 packets without a link header), one file per GRE tunnel (what `tcpdump -i gre1`
// would show). Debugging only; buffered writes, flushed by the daemon once per batch.
#pragma once

#include <cstdio>
#include <string>

#include "common/bytes.h"

namespace swld {

class PcapTap {
 public:
  PcapTap() = default;
  ~PcapTap();
  PcapTap(const PcapTap&) = delete;
  PcapTap& operator=(const PcapTap&) = delete;
  // Creates DIR (0700) and DIR/NAME.pcap; false (and logs) when it cannot.
  bool open(const std::string& dir, const std::string& name);
  bool is_open() const { return f_ != nullptr; }
  void write(common::ByteSpan ipv4);
  void flush();

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace swld
