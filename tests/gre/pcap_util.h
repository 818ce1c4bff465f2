// Test helper: a tiny pcap writer (LINKTYPE_RAW, raw IPv4 packets) and a tshark runner,
// so generated packets can be checked by an independent dissector. Used by test_gre and
// test_pim (included as "gre/pcap_util.h" from tests/).
#pragma once

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace testutil {

inline void put_le32(std::ofstream& f, std::uint32_t v) {
  const char b[4] = {char(v & 0xff), char((v >> 8) & 0xff), char((v >> 16) & 0xff), char((v >> 24) & 0xff)};
  f.write(b, 4);
}
inline void put_le16(std::ofstream& f, std::uint16_t v) {
  const char b[2] = {char(v & 0xff), char((v >> 8) & 0xff)};
  f.write(b, 2);
}

// pcap classic format: magic a1b2c3d4 (little endian on disk), v2.4, snaplen 65535,
// link type 101 (LINKTYPE_RAW: each record is an IP packet).
inline bool write_pcap(const std::string& path, const std::vector<common::Bytes>& packets) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  put_le32(f, 0xa1b2c3d4);
  put_le16(f, 2);
  put_le16(f, 4);
  put_le32(f, 0);
  put_le32(f, 0);
  put_le32(f, 65535);
  put_le32(f, 101);
  std::uint32_t sec = 1700000000;
  for (const auto& p : packets) {
    put_le32(f, sec++);
    put_le32(f, 0);
    put_le32(f, static_cast<std::uint32_t>(p.size()));
    put_le32(f, static_cast<std::uint32_t>(p.size()));
    f.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
  }
  return static_cast<bool>(f);
}

inline bool have_tshark() { return ::access("/usr/bin/tshark", X_OK) == 0; }

// Full verbose dissection with checksum validation on; empty string if tshark failed.
inline std::string tshark_verbose(const std::string& pcap) {
  const std::string cmd = "/usr/bin/tshark -n -r '" + pcap +
                          "' -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -V 2>/dev/null";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

inline std::string temp_pcap(const std::string& name) {
  return "/tmp/swanless-test-" + std::to_string(::getpid()) + "-" + name + ".pcap";
}

}  // namespace testutil
