#!/usr/bin/env python3
"""Receiver for mcast_sender.py's datagrams: binds a UDP port (optionally joins a group on
one interface), counts unique sequence numbers and reports loss, duplicates, reordering
and one-way latency (sender and receiver share the host clock).

Status JSON (written to --status every 0.5 s and at exit, SIGTERM/SIGINT or --seconds):
  received, warmup (mcast_sender.py --warmup datagrams, not counted further), unique, duplicates, reordered, foreign (not our payload), first_seq, last_seq,
  expected (last - first + 1), lost (expected - unique), loss_pct, latency_ms_avg/max.
"""
import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

MAGIC = b"SWLM"
MAGIC_WARMUP = b"SWLW"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--group", default="", help="multicast group to join")
    p.add_argument("--ifname", default="", help="join on this interface")
    p.add_argument("--device", default="",
                   help="only datagrams that arrive on this interface (SO_BINDTODEVICE)")
    p.add_argument("--seconds", type=float, default=0, help="stop after N s (0: until SIGTERM)")
    p.add_argument("--status", default="")
    a = p.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    if a.device:
        # two receivers on one port (gre1 and gre2, the A and B tunnels) each see only their own
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.device.encode())
    s.bind((a.bind, a.port))
    if a.group:
        ifindex = socket.if_nametoindex(a.ifname) if a.ifname else 0
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4si", socket.inet_aton(a.group), b"\0" * 4, ifindex))
    running = [True]

    def stop(*_):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    seen = set()
    c = dict(received=0, warmup=0, duplicates=0, reordered=0, foreign=0)
    first = last = None
    lat_sum = 0.0
    lat_max = 0.0

    def status():
        unique = len(seen)
        expected = (last - first + 1) if first is not None else 0
        lost = expected - unique
        return dict(c, unique=unique, first_seq=first, last_seq=last, expected=expected, lost=lost,
                    loss_pct=round(100.0 * lost / expected, 3) if expected else 0.0,
                    latency_ms_avg=round(lat_sum / unique, 3) if unique else None,
                    latency_ms_max=round(lat_max, 3), port=a.port, group=a.group, time=time.time())

    def write_status():
        if not a.status:
            return
        with open(a.status + ".tmp", "w") as f:
            json.dump(status(), f)
        os.replace(a.status + ".tmp", a.status)

    print("mcast_receiver: port %d group %s on %s" % (a.port, a.group or "-", a.ifname or "any"),
          flush=True)
    end = time.monotonic() + a.seconds if a.seconds > 0 else float("inf")
    next_status = time.monotonic()
    while running[0]:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_status:
            write_status()
            next_status = now + 0.5
        try:
            r, _, _ = select.select([s], [], [], max(0.0, min(end, next_status) - now))
        except InterruptedError:
            continue
        if not r:
            continue
        data = s.recv(65535)
        c["received"] += 1
        if len(data) >= 20 and data[:4] == MAGIC_WARMUP:
            c["warmup"] += 1
            continue
        if len(data) < 20 or data[:4] != MAGIC:
            c["foreign"] += 1
            continue
        seq, sent_ns = struct.unpack_from("!QQ", data, 4)
        if seq in seen:
            c["duplicates"] += 1
            continue
        seen.add(seq)
        if last is not None and seq < last:
            c["reordered"] += 1
        first = seq if first is None else min(first, seq)
        last = seq if last is None else max(last, seq)
        lat = (time.time_ns() - sent_ns) / 1e6
        lat_sum += lat
        lat_max = max(lat_max, lat)
    write_status()
    print(json.dumps(status()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
