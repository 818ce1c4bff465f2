#!/usr/bin/env python3
"""A minimal PIM-SM downstream router for the lab's stand-in (RFC 7761): sends Hellos and a
(*,G) Join towards the upstream neighbor over one interface, counts the PIM messages it
receives there, and sends a Prune plus a Hello with holdtime 0 when stopped (SIGTERM).

Messages (RFC 7761 4.9), all to 224.0.0.13, IP protocol 103, TTL 1:
  PIM header: | Ver=2 | Type | Reserved | Checksum (over the whole PIM message) |
  Hello (type 0): options Holdtime (1), DR Priority (19), Generation ID (20)
  Join/Prune (type 3): Upstream Neighbor (Encoded-Unicast) | Reserved | Num Groups | Holdtime
     Group (Encoded-Group, mask 32) | Num Joined | Num Pruned | Encoded-Source...
  For (*,G) the source is the RP address with flags S|W|R (0x07), mask 32.
What FRR's pimd needs (see shared/interop/pim-router.md): a Hello with the Holdtime option
first, the upstream neighbor = the router's own address on the link, the RP it knows.
"""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ALL_PIM_ROUTERS = "224.0.0.13"
IPPROTO_PIM = 103


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pim_msg(ptype, body):
    m = struct.pack("!BBH", 0x20 | ptype, 0, 0) + body
    return m[:2] + struct.pack("!H", inet_checksum(m)) + m[4:]


def hello(holdtime, genid, dr_prio=1):
    body = struct.pack("!HHH", 1, 2, holdtime)
    body += struct.pack("!HHI", 19, 4, dr_prio)
    body += struct.pack("!HHI", 20, 4, genid)
    return pim_msg(0, body)


def join_prune(upstream, group, rp, holdtime, join=True):
    body = struct.pack("!BB4s", 1, 0, socket.inet_aton(upstream))      # Encoded-Unicast
    body += struct.pack("!BBH", 0, 1, holdtime)                         # reserved, 1 group
    body += struct.pack("!BBBB4s", 1, 0, 0, 32, socket.inet_aton(group))  # Encoded-Group
    body += struct.pack("!HH", 1 if join else 0, 0 if join else 1)
    body += struct.pack("!BBBB4s", 1, 0, 0x07, 32, socket.inet_aton(rp))  # Encoded-Source S|W|R
    return pim_msg(3, body)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ifname", required=True)
    p.add_argument("--ifaddr", required=True, help="our address on the interface")
    p.add_argument("--neighbor", required=True, help="upstream router's address on the link")
    p.add_argument("--rp", required=True)
    p.add_argument("--group", action="append", required=True)
    p.add_argument("--hello-interval", type=float, default=30)
    p.add_argument("--hello-holdtime", type=int, default=105)
    p.add_argument("--join-interval", type=float, default=60)
    p.add_argument("--join-holdtime", type=int, default=210)
    p.add_argument("--status", default="")
    a = p.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_PIM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.ifname.encode())
    ifindex = socket.if_nametoindex(a.ifname)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 struct.pack("4s4si", b"\0" * 4, socket.inet_aton(a.ifaddr), ifindex))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xC0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 struct.pack("4s4si", socket.inet_aton(ALL_PIM_ROUTERS), b"\0" * 4, ifindex))

    genid = random.getrandbits(32)
    c = dict(hello_tx=0, join_tx=0, prune_tx=0, rx=0, rx_hello=0, rx_other=0, rx_bad_checksum=0,
             neighbor_seen=False, neighbor_holdtime=None, send_errors=0)
    running = [True]

    def stop(*_):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def send(msg, key):
        try:
            s.sendto(msg, (ALL_PIM_ROUTERS, 0))
            c[key] += 1
        except OSError as e:
            c["send_errors"] += 1
            print("pim_join: send failed: %s" % e, file=sys.stderr, flush=True)

    def write_status():
        if not a.status:
            return
        tmp = a.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(c, time=time.time()), f)
        os.replace(tmp, a.status)

    def on_rx(data, src):
        ihl = (data[0] & 0x0F) * 4
        m = data[ihl:]
        if len(m) < 4 or m[0] >> 4 != 2:
            return
        c["rx"] += 1
        if inet_checksum(m) != 0:
            c["rx_bad_checksum"] += 1
            return
        if m[0] & 0x0F == 0 and src == a.neighbor:
            c["rx_hello"] += 1
            c["neighbor_seen"] = True
            off = 4
            while off + 4 <= len(m):
                t, ln = struct.unpack_from("!HH", m, off)
                if t == 1 and ln == 2 and off + 6 <= len(m):
                    c["neighbor_holdtime"] = struct.unpack_from("!H", m, off + 4)[0]
                off += 4 + ln
        else:
            c["rx_other"] += 1

    print("pim_join: on %s (%s), upstream %s, rp %s, groups %s" %
          (a.ifname, a.ifaddr, a.neighbor, a.rp, ",".join(a.group)), flush=True)
    now = time.monotonic()
    next_hello = now
    # first Join shortly after the first Hello, and once more 2 s later in case the first
    # Hello was not yet processed
    next_join = now + 0.3
    extra_join = True
    next_status = now
    while running[0]:
        now = time.monotonic()
        if now >= next_hello:
            send(hello(a.hello_holdtime, genid), "hello_tx")
            next_hello = now + a.hello_interval
        if now >= next_join:
            for g in a.group:
                send(join_prune(a.neighbor, g, a.rp, a.join_holdtime, True), "join_tx")
            next_join = now + (2.0 if extra_join else a.join_interval)
            extra_join = False
        if now >= next_status:
            write_status()
            next_status = now + 0.5
        timeout = max(0.0, min(next_hello, next_join, next_status) - now)
        try:
            r, _, _ = select.select([s], [], [], timeout)
        except InterruptedError:
            continue
        if r:
            data, (src, _) = s.recvfrom(65535)
            on_rx(data, src)
    for g in a.group:
        send(join_prune(a.neighbor, g, a.rp, a.join_holdtime, False), "prune_tx")
    send(hello(0, genid), "hello_tx")
    write_status()
    return 0


if __name__ == "__main__":
    sys.exit(main())
