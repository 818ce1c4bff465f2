#!/usr/bin/env python3
"""Multicast source for the lab: UDP datagrams to GROUP:PORT at a fixed rate for a given
time. Payload: b"SWLM" | sequence (u64, from 0) | send time (u64, CLOCK_REALTIME ns) |
padding to --size bytes. At exit prints (and writes to --status) a JSON line with the
number sent. With --warmup the magic is b"SWLW": mcast_receiver.py counts those datagrams
apart (`warmup`) and leaves them out of its sequence statistics, so a short warm-up burst
can make the routers build their (S,G) state before the counted stream starts.
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
    p.add_argument("--status", default="")
    p.add_argument("--warmup", action="store_true", help="send warm-up datagrams (not counted)")
    a = p.parse_args()
    magic = MAGIC_WARMUP if a.warmup else MAGIC

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, a.ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    if a.iface_addr:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.iface_addr))
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
        try:
            s.sendto(magic + struct.pack("!QQ", seq, time.time_ns()) + pad, (a.group, a.port))
        except OSError:
            errors += 1
        seq += 1
    res = dict(sent=seq, errors=errors, rate=a.rate, seconds=round(time.monotonic() - start, 3),
               group=a.group, port=a.port, warmup=a.warmup)
    line = json.dumps(res)
    print(line, flush=True)
    if a.status:
        with open(a.status + ".tmp", "w") as f:
            f.write(line + "\n")
        os.replace(a.status + ".tmp", a.status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
