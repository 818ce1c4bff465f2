#include "tun/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "tun/error_text.h"

namespace tun {

using common::Errc;
using common::make_error;

namespace {

constexpr std::size_t kRecvBuffer = 65536;  // large enough that dump parts never truncate

int af_of(const IpAddr& a) { return a.is_v4() ? AF_INET : AF_INET6; }
int af_of(IpAddr::Family f) { return f == IpAddr::Family::v4 ? AF_INET : AF_INET6; }

// libmnl's iteration macros rely on C's implicit void* conversion; these are the C++
// equivalents. f is called for every well-formed attribute.
template <typename F>
void for_each_attr(const void* start, std::size_t len, F f) {
  const auto* attr = static_cast<const nlattr*>(start);
  int left = static_cast<int>(len);
  while (mnl_attr_ok(attr, left)) {
    f(attr);
    left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
}

template <typename F>
void for_each_attr(const nlmsghdr* nlh, std::size_t offset, F f) {
  std::size_t aligned = MNL_ALIGN(offset);
  std::size_t payload = mnl_nlmsg_get_payload_len(nlh);
  if (aligned > payload) return;
  for_each_attr(mnl_nlmsg_get_payload_offset(nlh, offset), payload - aligned, f);
}

void put_addr(nlmsghdr* nlh, std::uint16_t type, const IpAddr& a) {
  mnl_attr_put(nlh, type, a.size(), a.b.data());
}

std::optional<IpAddr> get_addr(const nlattr* attr, int family) {
  const auto* p = static_cast<const std::byte*>(mnl_attr_get_payload(attr));
  std::size_t n = mnl_attr_get_payload_len(attr);
  if (family == AF_INET && n == 4) return IpAddr::v4_bytes({p, 4});
  if (family == AF_INET6 && n == 16) return IpAddr::v6_bytes({p, 16});
  return std::nullopt;
}

// Text of the extended ACK (NLMSGERR_ATTR_MSG), if the kernel sent one. With
// NETLINK_CAP_ACK the original request is not echoed, so the TLVs follow nlmsgerr.
std::string extack_message(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  std::size_t off = sizeof(nlmsgerr);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  }
  off = MNL_ALIGN(off);
  std::size_t payload = mnl_nlmsg_get_payload_len(nlh);
  if (off >= payload) return {};
  const char* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + off;
  std::size_t len = payload - off;
  std::string out;
  for_each_attr(base, len, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
      out = mnl_attr_get_str(attr);
  });
  return out;
}

}  // namespace

// ------------------------------------------------------------------------ small helpers

bool LinkInfo::up() const { return flags & IFF_UP; }
bool LinkInfo::multicast() const { return flags & IFF_MULTICAST; }
bool LinkInfo::point_to_point() const { return flags & IFF_POINTOPOINT; }

Result<int> interface_index(std::string_view dev) {
  if (dev.empty() || dev.size() >= IFNAMSIZ)
    return make_error(Errc::config, intern_detail("bad interface name '" + std::string(dev) + "'"));
  std::string name(dev);
  unsigned idx = ::if_nametoindex(name.c_str());
  if (idx == 0) return errno_error("interface '" + name + "'", errno == 0 ? ENODEV : errno);
  return static_cast<int>(idx);
}

// ------------------------------------------------------------------------ socket

Result<Netlink> Netlink::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) return errno_error("opening NETLINK_ROUTE socket", errno);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    return errno_error("binding NETLINK_ROUTE socket", err);
  }
  int one = 1;
  // Both are best effort: older kernels lack them and requests still work.
  (void)mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one);
  (void)mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one);
  return Netlink(s);
}

Netlink::Netlink(mnl_socket* s)
    : sock_(s), portid_(mnl_socket_get_portid(s)), seq_(static_cast<std::uint32_t>(::time(nullptr))),
      buf_(kRecvBuffer) {}

Netlink::Netlink(Netlink&& o) noexcept
    : sock_(o.sock_), portid_(o.portid_), seq_(o.seq_), buf_(std::move(o.buf_)) {
  o.sock_ = nullptr;
}

Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (sock_) mnl_socket_close(sock_);
    sock_ = o.sock_;
    portid_ = o.portid_;
    seq_ = o.seq_;
    buf_ = std::move(o.buf_);
    o.sock_ = nullptr;
  }
  return *this;
}

Netlink::~Netlink() {
  if (sock_) mnl_socket_close(sock_);
}

Status Netlink::transact(nlmsghdr* nlh, std::string_view what, MsgCallback cb, void* data) {
  if (!sock_) return make_error(Errc::state, "netlink socket moved away");
  const std::uint32_t seq = nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return errno_error(what, errno);

  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock_, buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(what, errno);
    }
    int len = static_cast<int>(n);
    const auto* msg = reinterpret_cast<const nlmsghdr*>(buf_.data());
    for (; mnl_nlmsg_ok(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
      // Answers to an earlier request that gave up are not ours: skip them.
      if (!mnl_nlmsg_portid_ok(msg, portid_) || !mnl_nlmsg_seq_ok(msg, seq)) continue;
      if (msg->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(msg) < sizeof(nlmsgerr))
          return make_error(Errc::malformed, "netlink: short NLMSG_ERROR");
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
        if (err->error == 0) return {};  // the ACK
        std::string text(what);
        text += ": ";
        text += errno_text(-err->error);
        std::string ext = extack_message(msg);
        if (!ext.empty()) text += " (" + ext + ")";
        return make_error(Errc::io, intern_detail(std::move(text)));
      }
      if (msg->nlmsg_type == NLMSG_DONE) {
        if (mnl_nlmsg_get_payload_len(msg) >= sizeof(int)) {
          int e = *static_cast<const int*>(mnl_nlmsg_get_payload(msg));
          if (e < 0) return errno_error(what, -e);
        }
        return {};
      }
      if (msg->nlmsg_type >= NLMSG_MIN_TYPE && cb) cb(msg, data);
    }
  }
}

// ------------------------------------------------------------------------ links

Status Netlink::link_change(std::string_view dev, std::uint32_t flags, std::uint32_t change,
                            std::optional<std::uint32_t> mtu, std::string_view what) {
  Result<int> idx = interface_index(dev);
  if (!idx) return idx.error();
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = *idx;
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, *mtu);
  return transact(nlh, std::string(what) + " dev " + std::string(dev), nullptr, nullptr);
}

Status Netlink::set_link_up(std::string_view dev, bool up) {
  return link_change(dev, up ? IFF_UP : 0, IFF_UP, std::nullopt, up ? "link set up" : "link set down");
}

Status Netlink::set_mtu(std::string_view dev, std::uint32_t mtu) {
  return link_change(dev, 0, 0, mtu, "link set mtu " + std::to_string(mtu));
}

Status Netlink::set_multicast(std::string_view dev, bool on) {
  return link_change(dev, on ? IFF_MULTICAST : 0, IFF_MULTICAST, std::nullopt,
                     on ? "link set multicast on" : "link set multicast off");
}

namespace {
int parse_link(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<LinkInfo*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifinfomsg)) return MNL_CB_OK;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  out->index = ifi->ifi_index;
  out->flags = ifi->ifi_flags;
  for_each_attr(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) out->mtu = mnl_attr_get_u32(attr);
        break;
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) out->name = mnl_attr_get_str(attr);
        break;
      default:
        break;
    }
  });
  return MNL_CB_OK;
}
}  // namespace

Result<LinkInfo> Netlink::get_link(std::string_view dev) {
  Result<int> idx = interface_index(dev);
  if (!idx) return idx.error();
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = *idx;
  LinkInfo info;
  Status s = transact(nlh, "link show dev " + std::string(dev), parse_link, &info);
  if (!s) return s.error();
  if (info.index != *idx) return make_error(Errc::io, "netlink: no RTM_NEWLINK answer for the interface");
  return info;
}

// ------------------------------------------------------------------------ addresses

Status Netlink::address_request(int type, std::string_view dev, const AddressSpec& a, bool replace) {
  if (a.peer && a.peer->addr.family != a.local.addr.family)
    return make_error(Errc::config, "address and peer are of different families");
  Result<int> idx = interface_index(dev);
  if (!idx) return idx.error();
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>(type);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  if (type == RTM_NEWADDR) nlh->nlmsg_flags |= NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<std::uint8_t>(af_of(a.local.addr));
  ifa->ifa_prefixlen = a.peer ? a.peer->len : a.local.len;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<std::uint32_t>(*idx);
  put_addr(nlh, IFA_LOCAL, a.local.addr);
  put_addr(nlh, IFA_ADDRESS, a.peer ? a.peer->addr : a.local.addr);

  std::string what = type == RTM_NEWADDR ? "RTM_NEWADDR " : "RTM_DELADDR ";
  what += a.local.to_string();
  if (a.peer) what += " peer " + a.peer->to_string();
  what += " dev " + std::string(dev);
  return transact(nlh, what, nullptr, nullptr);
}

Status Netlink::add_address(std::string_view dev, const AddressSpec& a, bool replace) {
  return address_request(RTM_NEWADDR, dev, a, replace);
}

Status Netlink::del_address(std::string_view dev, const AddressSpec& a) {
  return address_request(RTM_DELADDR, dev, a, false);
}

namespace {
struct AddrDump {
  int index;
  std::vector<AddressInfo>* out;
};

int parse_addr(const nlmsghdr* nlh, void* data) {
  auto* d = static_cast<AddrDump*>(data);
  if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifaddrmsg)) return MNL_CB_OK;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (static_cast<int>(ifa->ifa_index) != d->index) return MNL_CB_OK;
  std::optional<IpAddr> local, address;
  for_each_attr(nlh, sizeof(ifaddrmsg), [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == IFA_LOCAL) local = get_addr(attr, ifa->ifa_family);
    if (mnl_attr_get_type(attr) == IFA_ADDRESS) address = get_addr(attr, ifa->ifa_family);
  });
  if (!local) local = address;
  if (!address) address = local;
  if (!local) return MNL_CB_OK;
  d->out->push_back(AddressInfo{d->index, *local, *address, ifa->ifa_prefixlen});
  return MNL_CB_OK;
}
}  // namespace

Result<std::vector<AddressInfo>> Netlink::list_addresses(std::string_view dev, IpAddr::Family family) {
  Result<int> idx = interface_index(dev);
  if (!idx) return idx.error();
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<std::uint8_t>(af_of(family));
  std::vector<AddressInfo> out;
  AddrDump d{*idx, &out};
  Status s = transact(nlh, "address dump dev " + std::string(dev), parse_addr, &d);
  if (!s) return s.error();
  return out;
}

// ------------------------------------------------------------------------ routes

Status Netlink::route_request(int type, const RouteSpec& r, bool replace) {
  const int family = af_of(r.dst.addr);
  if ((r.gateway && af_of(*r.gateway) != family) || (r.src && af_of(*r.src) != family))
    return make_error(Errc::config, "route gateway/src family differs from the destination");
  Result<int> idx = interface_index(r.dev);
  if (!idx) return idx.error();

  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>(type);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  if (type == RTM_NEWROUTE) nlh->nlmsg_flags |= NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<std::uint8_t>(family);
  rtm->rtm_dst_len = r.dst.len;
  rtm->rtm_table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
  if (type == RTM_NEWROUTE) {
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
  } else {
    rtm->rtm_scope = RT_SCOPE_NOWHERE;  // delete matches whatever scope the route has
  }
  // The kernel rejects host bits set beyond the prefix length; send the network address.
  put_addr(nlh, RTA_DST, r.dst.first());
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<std::uint32_t>(*idx));
  if (r.gateway) put_addr(nlh, RTA_GATEWAY, *r.gateway);
  if (r.src) put_addr(nlh, RTA_PREFSRC, *r.src);
  if (r.metric) mnl_attr_put_u32(nlh, RTA_PRIORITY, *r.metric);
  mnl_attr_put_u32(nlh, RTA_TABLE, r.table);

  std::string what = type == RTM_NEWROUTE ? "RTM_NEWROUTE " : "RTM_DELROUTE ";
  what += r.dst.to_string();
  if (r.gateway) what += " via " + r.gateway->to_string();
  what += " dev " + r.dev;
  if (r.src) what += " src " + r.src->to_string();
  if (r.table != kMainTable) what += " table " + std::to_string(r.table);
  if (r.metric) what += " metric " + std::to_string(*r.metric);
  return transact(nlh, what, nullptr, nullptr);
}

Status Netlink::add_route(const RouteSpec& r, bool replace) { return route_request(RTM_NEWROUTE, r, replace); }

Status Netlink::del_route(const RouteSpec& r) { return route_request(RTM_DELROUTE, r, false); }

namespace {
struct RouteDump {
  std::uint32_t table;
  std::vector<RouteInfo>* out;
};

int parse_route(const nlmsghdr* nlh, void* data) {
  auto* d = static_cast<RouteDump*>(data);
  if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) return MNL_CB_OK;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  RouteInfo ri;
  ri.table = rtm->rtm_table;
  ri.protocol = rtm->rtm_protocol;
  ri.scope = rtm->rtm_scope;
  ri.type = rtm->rtm_type;
  ri.dst.addr.family = rtm->rtm_family == AF_INET6 ? IpAddr::Family::v6 : IpAddr::Family::v4;
  ri.dst.len = rtm->rtm_dst_len;
  for_each_attr(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_DST:
        if (auto a = get_addr(attr, rtm->rtm_family)) ri.dst.addr = *a;
        break;
      case RTA_GATEWAY:
        ri.gateway = get_addr(attr, rtm->rtm_family);
        break;
      case RTA_PREFSRC:
        ri.src = get_addr(attr, rtm->rtm_family);
        break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) ri.oif = static_cast<int>(mnl_attr_get_u32(attr));
        break;
      case RTA_PRIORITY:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) ri.metric = mnl_attr_get_u32(attr);
        break;
      case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) ri.table = mnl_attr_get_u32(attr);
        break;
      default:
        break;
    }
  });
  if (d->table == 0 || ri.table == d->table) d->out->push_back(ri);
  return MNL_CB_OK;
}
}  // namespace

Result<std::vector<RouteInfo>> Netlink::list_routes(std::uint32_t table, IpAddr::Family family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<std::uint8_t>(af_of(family));
  std::vector<RouteInfo> out;
  RouteDump d{table, &out};
  Status s = transact(nlh, "route dump", parse_route, &d);
  if (!s) return s.error();
  return out;
}

}  // namespace tun
