// Writes negotiated keys in Wireshark's two key-table formats (config setup `keylog=DIR`):
//   DIR/ikev2_decryption_table  one line per IKE_SA
//   DIR/esp_sa                  one line per ESP SA direction
// so `WIRESHARK_CONFIG_DIR=DIR tshark ...` (or copying the files into a profile) decrypts
// a capture. Debugging and interop only: anyone who reads these files reads the traffic.
#pragma once

#include <string>

#include "ike/engine.h"

namespace swld {

class Keylog {
 public:
  // Empty dir: disabled. Creates the folder (mode 0700) and truncates both files.
  explicit Keylog(std::string dir);
  bool enabled() const { return !dir_.empty(); }
  void on_ike_sa(const ike::IkeSaKeys& k);
  void on_child_sa(const ike::ChildSaInstall& c);

  // The exact lines (exposed for tests). Empty when Wireshark has no name for the suite.
  static std::string ike_line(const ike::IkeSaKeys& k);
  static std::string esp_line(const std::string& src, const std::string& dst, std::uint32_t spi,
                              common::crypto::EncrId encr, unsigned key_bits, common::crypto::IntegId integ,
                              common::ByteSpan encr_key, common::ByteSpan integ_key);

 private:
  void append(const char* file, const std::string& line);
  std::string dir_;
};

}  // namespace swld
