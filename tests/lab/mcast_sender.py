#!/usr/bin/env python3
"""Multicast source for the lab: UDP datagrams to GROUP:PORT at a fixed rate for a given
time. Payload: b"SWLM" | sequence (u64, from 0) | send time (u64, CLOCK_REALTIME ns) |
padding to --size bytes. At exit prints (and writes to --status) a JSON line with the
number sent. With --warmup the magic is b"SWLW": mcast_receiver.py counts those datagrams
apart (`warmup`) and leaves them out of its sequence statistics, so a short warm-up burst
can make the routers build their (S,G) state before the counted stream starts.

Byte layout of a datagram (what a de-duplicator keys on):
  offset 0,  4 bytes: magic b"SWLM" (b"SWLW" with --warmup)
  offset 4,  8 bytes: sequence number, unsigned, big-endian (network order), from 0
  offset 12, 8 bytes: send time, CLOCK_REALTIME ns, unsigned, big-endian
  offset 20: zero padding up to --size bytes
With --also-iface-addr B every datagram is sent twice, the very same bytes (one buffer,
built once), first from the interface with --iface-addr, then from the one with address
B: two sockets with IP_MULTICAST_IF, as a provider's A and B feeds of one stream. Each
copy's source address is that interface's address. `sent` counts datagrams (not copies);
`errors` counts failed sends of either copy.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

MAGIC = b"SWLM"
MAGIC_WARMUP = b"SWLW"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--group", default="239.1.1.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--rate", type=float, default=100, help="datagrams per second")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--size", type=int, default=200, help="payload bytes (>= 20)")
    p.add_argument("--ttl", type=int, default=16)
    p.add_argument("--iface-addr", default="", help="send from the interface with this address")
    p.add_argument("--also-iface-addr", default="",
                   help="also send every datagram (same bytes) from the interface with this address")
    p.add_argument("--status", default="")
    p.add_argument("--warmup", action="store_true", help="send warm-up datagrams (not counted)")
    a = p.parse_args()
    magic = MAGIC_WARMUP if a.warmup else MAGIC

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    if a.iface_addr:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.iface_addr))
    socks = [s]
    if a.also_iface_addr:
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
        s2.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        s2.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.also_iface_addr))
        socks.append(s2)
    running = [True]

    def stop(*_):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    pad = b"\0" * max(0, a.size - 20)
    interval = 1.0 / a.rate
    start = time.monotonic()
    end = start + a.seconds
    seq = errors = 0
    while running[0]:
        now = time.monotonic()
        if now >= end:
            break
        due = start + seq * interval
        if due > now:
            time.sleep(due - now)
            continue
        msg = magic + struct.pack("!QQ", seq, time.time_ns()) + pad
        for so in socks:
            try:
                so.sendto(msg, (a.group, a.port))
            except OSError:
                errors += 1
        seq += 1
    res = dict(sent=seq, errors=errors, rate=a.rate, seconds=round(time.monotonic() - start, 3),
               group=a.group, port=a.port, warmup=a.warmup)
    if a.also_iface_addr:
        res.update(iface_addr=a.iface_addr, also_iface_addr=a.also_iface_addr)
    line = json.dumps(res)
    print(line, flush=True)
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write(line + "\n")
        os.replace(a.status + ".tmp", a.status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
