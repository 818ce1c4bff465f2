// rtnetlink (libmnl) set-up of links, addresses and routes: the subset of `ip link set`,
// `ip addr add` and `ip route add` that swanless needs for its TUN and GRE interfaces.
//
// A Netlink object owns one NETLINK_ROUTE socket. The socket belongs to the network
// namespace of the thread that opened it; every request acts in that namespace, even if
// the thread later moves. Interface names are resolved with if_nametoindex() in the
// calling thread's namespace, so open and use the object in the same namespace.
//
// Every change request carries NLM_F_ACK and waits for the kernel's answer. A failure
// becomes Errc::io with a detail such as
//   "RTM_NEWROUTE 10.99.0.0/24 dev swl0: Network is unreachable (Nexthop has invalid gateway)"
// i.e. what was asked, strerror of the kernel's errno and, when the kernel sent one, its
// extended-ACK message in parentheses. The set-up path is not a packet path: these calls
// allocate and may block briefly on the kernel's answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.h"
#include "common/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace tun {

using common::IpAddr;
using common::Prefix;
using common::Result;
using common::Status;

inline constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN

// `ip addr add LOCAL/LEN [peer PEER[/PLEN]] dev DEV`.
// Without a peer the address's prefix length is local.len. With a peer, as iproute2 does,
// the prefix length is the peer's (peer->len, 32 for a plain address) and the kernel adds
// a route to the peer prefix through the interface (point-to-point).
struct AddressSpec {
  Prefix local;
  std::optional<Prefix> peer;
};

// `ip route add DST [via GATEWAY] dev DEV [src SRC] [table T] [metric M]`.
struct RouteSpec {
  Prefix dst;
  std::string dev;
  std::optional<IpAddr> gateway;
  std::optional<IpAddr> src;  // preferred source, RTA_PREFSRC
  std::uint32_t table = kMainTable;
  std::optional<std::uint32_t> metric;  // RTA_PRIORITY
};

struct LinkInfo {
  int index = 0;
  std::string name;
  std::uint32_t mtu = 0;
  std::uint32_t flags = 0;  // IFF_* as in ifinfomsg.ifi_flags
  bool up() const;
  bool multicast() const;
  bool point_to_point() const;
};

struct AddressInfo {
  int index = 0;
  IpAddr local;    // IFA_LOCAL (or IFA_ADDRESS when absent)
  IpAddr address;  // IFA_ADDRESS: the peer on point-to-point, else equal to local
  std::uint8_t prefix_len = 0;
  bool has_peer() const { return local != address; }
};

struct RouteInfo {
  Prefix dst;
  std::uint32_t table = 0;
  int oif = 0;
  std::optional<IpAddr> gateway;
  std::optional<IpAddr> src;
  std::optional<std::uint32_t> metric;
  std::uint8_t protocol = 0;
  std::uint8_t scope = 0;
  std::uint8_t type = 0;
};

class Netlink {
 public:
  static Result<Netlink> open();
  Netlink(Netlink&& o) noexcept;
  Netlink& operator=(Netlink&& o) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  // Links (RTM_NEWLINK on an existing interface).
  Status set_link_up(std::string_view dev, bool up = true);
  Status set_mtu(std::string_view dev, std::uint32_t mtu);
  Status set_multicast(std::string_view dev, bool on);
  Result<LinkInfo> get_link(std::string_view dev);

  // Addresses. add fails with "File exists" when present unless replace is set.
  Status add_address(std::string_view dev, const AddressSpec& a, bool replace = false);
  Status del_address(std::string_view dev, const AddressSpec& a);
  Result<std::vector<AddressInfo>> list_addresses(std::string_view dev,
                                                  IpAddr::Family family = IpAddr::Family::v4);

  // Routes. add fails with "File exists" when present unless replace is set. Routes with
  // a gateway get universe scope, direct ones link scope; protocol is RTPROT_STATIC.
  Status add_route(const RouteSpec& r, bool replace = false);
  Status del_route(const RouteSpec& r);
  // All routes of `table` in the family (0 = every table).
  Result<std::vector<RouteInfo>> list_routes(std::uint32_t table = kMainTable,
                                             IpAddr::Family family = IpAddr::Family::v4);

 private:
  explicit Netlink(mnl_socket* s);
  using MsgCallback = int (*)(const nlmsghdr*, void*);
  // Sends the message in buf_ and reads until the ACK/DONE. cb sees every data message.
  Status transact(nlmsghdr* nlh, std::string_view what, MsgCallback cb, void* data);
  Status link_change(std::string_view dev, std::uint32_t flags, std::uint32_t change,
                     std::optional<std::uint32_t> mtu, std::string_view what);
  Status address_request(int type, std::string_view dev, const AddressSpec& a, bool replace);
  Status route_request(int type, const RouteSpec& r, bool replace);

  mnl_socket* sock_ = nullptr;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  std::vector<char> buf_;
};

// Interface index in the calling thread's namespace, or an error naming the interface.
Result<int> interface_index(std::string_view dev);

}  // namespace tun
