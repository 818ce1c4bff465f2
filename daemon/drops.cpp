#include "daemon/drops.h"

namespace swld {

std::string_view to_string(DaemonDrop d) {
  switch (d) {
    case DaemonDrop::esp_invalid_udp: return "esp_invalid_udp";
    case DaemonDrop::out_no_sa: return "out_no_sa";
    case DaemonDrop::out_bad_inner: return "out_bad_inner";
    case DaemonDrop::tun_write_failed: return "tun_write_failed";
    case DaemonDrop::esp_raw_malformed: return "esp_raw_malformed";
    case DaemonDrop::out_no_raw_socket: return "out_no_raw_socket";
    case DaemonDrop::in_transport_not_gre: return "in_transport_not_gre";
    case DaemonDrop::tun_gso_bad: return "tun_gso_bad";
    case DaemonDrop::trap_queue_full: return "trap_queue_full";
    case DaemonDrop::trap_expired: return "trap_expired";
    case DaemonDrop::count_: break;
  }
  return "?";
}

}  // namespace swld
