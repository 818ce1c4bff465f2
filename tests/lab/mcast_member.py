#!/usr/bin/env python3
"""A local member of multicast groups, as an application is one: it joins groups on an
interface with plain sockets and holds them until SIGTERM (or --seconds), then exits,
which makes the kernel leave them. It receives nothing; the kernel's IGMP reports and
leaves on the interface are the point.

  --ifname gre1 --group 239.1.1.1            (*,G): IP_ADD_MEMBERSHIP (IGMPv3 EXCLUDE {})
  --group 239.1.1.2 --source 198.18.31.10    (S,G): IP_ADD_SOURCE_MEMBERSHIP (INCLUDE {S})
  --range 239.3.0.0 2000                     2000 consecutive groups from 239.3.0.0

A socket holds at most net.ipv4.igmp_max_memberships groups (20 by default), so groups
are spread over as many sockets as needed. Prints "mcast_member: joined N" once all joins
are made, "mcast_member: left" at exit.
"""
import argparse
import ipaddress
import signal
import socket
import struct
import sys
import time

PER_SOCKET = 20
IP_ADD_SOURCE_MEMBERSHIP = getattr(socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)


def if_address(ifname):
    """The interface's IPv4 address (SIOCGIFADDR)."""
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        req = struct.pack("256s", ifname.encode()[:15])
        return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, req)[20:24])
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ifname", required=True)
    p.add_argument("--group", action="append", default=[])
    p.add_argument("--range", nargs=2, metavar=("FIRST", "COUNT"))
    p.add_argument("--source", default="", help="source-specific join (IGMPv3 INCLUDE)")
    p.add_argument("--seconds", type=float, default=0, help="leave after N s (0: at SIGTERM)")
    a = p.parse_args()

    groups = list(a.group)
    if a.range:
        first = int(ipaddress.IPv4Address(a.range[0]))
        groups += [str(ipaddress.IPv4Address(first + i)) for i in range(int(a.range[1]))]
    if not groups:
        p.error("no group: --group or --range")
    local = if_address(a.ifname)
    socks = []
    for i, g in enumerate(groups):
        if i % PER_SOCKET == 0:
            socks.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        s = socks[-1]
        if a.source:
            # struct ip_mreq_source (Linux order): multiaddr, interface, sourceaddr
            mreq = socket.inet_aton(g) + socket.inet_aton(local) + socket.inet_aton(a.source)
            s.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq)
        else:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton(local))
    print(f"mcast_member: joined {len(groups)} on {a.ifname} ({local})"
          + (f" from source {a.source}" if a.source else ""), flush=True)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    end = time.monotonic() + a.seconds if a.seconds else None
    while not stop and (end is None or time.monotonic() < end):
        time.sleep(0.05)
    for s in socks:
        s.close()
    print("mcast_member: left", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
