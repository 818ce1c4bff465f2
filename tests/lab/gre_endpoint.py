#!/usr/bin/env python3
"""A small user-space GRE endpoint for the lab (these kernels have no GRE module).

Creates a TUN device (IFF_TUN | IFF_NO_PI), configures it with `ip`, and moves packets:

  TUN --> GRE (RFC 2784, flags 0, protocol type 0x0800) --> raw IPPROTO_GRE socket,
          outer LOCAL -> REMOTE (the outer packet is then routed by the kernel, e.g. into
          charon's ipsec0 by its table-220 routes)
  raw socket --> check outer source == REMOTE, strip IP + GRE --> TUN

GRE header (RFC 2784 section 2.1):
   0                   1                   2                   3
   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  |C|       Reserved0       | Ver |         Protocol Type         |
  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  |      Checksum (optional)      |       Reserved1 (Optional)    |
  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
Packets with the key or sequence bits of RFC 2890 or a non-zero version are dropped
(counted as malformed); a present checksum is verified.

Keepalives in the format Cisco routers use: outer LOCAL -> REMOTE, GRE type 0x0800, inner
IPv4 REMOTE -> LOCAL protocol 47 carrying an empty GRE header (type 0). The far end
decapsulates it and sends the inner packet back as it is, so it arrives here as GRE with
type 0 from REMOTE: a "reply". With --reflect this endpoint does the far end's part for
keepalives it receives (only those whose inner addresses are exactly LOCAL -> REMOTE).

Counters are written as JSON to --status every 0.5 s and at exit (SIGTERM/SIGINT).
"""
import argparse
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
GRE_C = 0x8000
GRE_BITS_1_5 = 0x7C00  # includes K (0x2000) and S (0x1000) of RFC 2890
GRE_VER_MASK = 0x0007
ETH_P_IP = 0x0800


def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_header(src, dst, proto, payload_len, ttl=255, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ifname", default="gre1")
    p.add_argument("--local", required=True, help="outer source (GRE endpoint address)")
    p.add_argument("--remote", required=True, help="outer destination; GRE accepted only from it")
    p.add_argument("--address", required=True, help="inner address with prefix, e.g. 10.44.4.5/30")
    p.add_argument("--peer", default="", help="inner peer address (informational, reported)")
    p.add_argument("--mtu", type=int, default=1476)
    p.add_argument("--ttl", type=int, default=255, help="outer TTL")
    p.add_argument("--keepalive", type=float, default=0.0, help="send keepalives every N s (0: off)")
    p.add_argument("--reflect", action="store_true", help="reflect the far end's keepalives")
    p.add_argument("--status", default="", help="JSON counters file")
    return p.parse_args()


class Endpoint:
    def __init__(self, a):
        self.a = a
        self.local_b = socket.inet_aton(a.local)
        self.remote_b = socket.inet_aton(a.remote)
        self.c = dict(tun_rx=0, gre_tx=0, gre_rx=0, tun_tx=0, ka_tx=0, ka_rx=0, ka_reflected=0,
                      drop_src=0, drop_malformed=0, drop_flags=0, drop_proto=0, drop_non_ipv4=0,
                      send_errors=0, tun_write_errors=0)
        self.running = True
        self.tun = self.open_tun()
        self.gre = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_GRE)
        self.gre.bind((a.local, 0))
        self.gre.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, a.ttl)
        self.gre.setblocking(False)
        # IPPROTO_RAW implies IP_HDRINCL: used to reflect keepalives as they are
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.ka_ident = 0

    def open_tun(self):
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", self.a.ifname.encode(), IFF_TUN | IFF_NO_PI))
        n = self.a.ifname
        for cmd in (["ip", "link", "set", n, "mtu", str(self.a.mtu), "multicast", "on"],
                    ["ip", "addr", "add", self.a.address, "dev", n],
                    ["ip", "link", "set", n, "up"]):
            subprocess.run(cmd, check=True)
        os.set_blocking(fd, False)
        return fd

    def write_status(self):
        if not self.a.status:
            return
        d = dict(self.c, ifname=self.a.ifname, local=self.a.local, remote=self.a.remote,
                 address=self.a.address, peer=self.a.peer, time=time.time())
        tmp = self.a.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.replace(tmp, self.a.status)

    def send_gre(self, proto, payload):
        try:
            self.gre.sendto(struct.pack("!HH", 0, proto) + payload, (self.a.remote, 0))
            return True
        except OSError:
            self.c["send_errors"] += 1
            return False

    def send_keepalive(self):
        # inner: REMOTE -> LOCAL, protocol 47, empty GRE header (flags 0, type 0)
        self.ka_ident = (self.ka_ident + 1) & 0xFFFF
        inner_gre = struct.pack("!HH", 0, 0)
        inner = ipv4_header(self.a.remote, self.a.local, 47, len(inner_gre), 255, self.ka_ident) + inner_gre
        if self.send_gre(ETH_P_IP, inner):
            self.c["ka_tx"] += 1

    def from_tun(self):
        for _ in range(64):
            try:
                pkt = os.read(self.tun, 65535)
            except BlockingIOError:
                return
            if not pkt:
                return
            self.c["tun_rx"] += 1
            if pkt[0] >> 4 != 4:
                self.c["drop_non_ipv4"] += 1
                continue
            if self.send_gre(ETH_P_IP, pkt):
                self.c["gre_tx"] += 1

    def from_gre(self):
        for _ in range(64):
            try:
                data, _ = self.gre.recvfrom(65535)
            except BlockingIOError:
                return
            self.on_gre(data)

    def on_gre(self, data):
        if len(data) < 20 or data[0] >> 4 != 4:
            self.c["drop_malformed"] += 1
            return
        ihl = (data[0] & 0x0F) * 4
        if ihl < 20 or len(data) < ihl + 4:
            self.c["drop_malformed"] += 1
            return
        if data[12:16] != self.remote_b:
            self.c["drop_src"] += 1
            return
        flags, proto = struct.unpack_from("!HH", data, ihl)
        off = ihl + 4
        # RFC 2784: bits 1-5 (routing, key, sequence, strict route...) must be zero without
        # RFC 1701 support; bits 6-12 are ignored; version must be 0
        if flags & GRE_BITS_1_5 or flags & GRE_VER_MASK:
            self.c["drop_flags"] += 1
            return
        if flags & GRE_C:
            if len(data) < off + 4 or inet_checksum(data[ihl:]) != 0:
                self.c["drop_malformed"] += 1
                return
            off += 4
        self.c["gre_rx"] += 1
        inner = data[off:]
        if proto == 0:
            # the reflected inner packet of one of our keepalives
            self.c["ka_rx"] += 1
            return
        if proto != ETH_P_IP:
            self.c["drop_proto"] += 1
            return
        if len(inner) < 20 or inner[0] >> 4 != 4:
            self.c["drop_non_ipv4"] += 1
            return
        if inner[9] == 47 and inner[12:16] == self.local_b and inner[16:20] == self.remote_b:
            # the far end's keepalive: inner LOCAL -> REMOTE, GRE. Send it back as it is.
            if self.a.reflect:
                try:
                    self.raw.sendto(inner, (self.a.remote, 0))
                    self.c["ka_reflected"] += 1
                except OSError:
                    self.c["send_errors"] += 1
            return
        try:
            os.write(self.tun, inner)
            self.c["tun_tx"] += 1
        except OSError:
            self.c["tun_write_errors"] += 1

    def run(self):
        now = time.monotonic()
        next_ka = now + 0.2 if self.a.keepalive > 0 else float("inf")
        next_status = now
        print("gre_endpoint: %s up, %s -> %s, inner %s, keepalive %s, reflect %s" %
              (self.a.ifname, self.a.local, self.a.remote, self.a.address,
               self.a.keepalive or "off", self.a.reflect), flush=True)
        while self.running:
            now = time.monotonic()
            if now >= next_ka:
                self.send_keepalive()
                next_ka = now + self.a.keepalive
            if now >= next_status:
                self.write_status()
                next_status = now + 0.5
            timeout = max(0.0, min(next_ka, next_status) - now)
            try:
                r, _, _ = select.select([self.tun, self.gre], [], [], timeout)
            except InterruptedError:
                continue
            if self.tun in r:
                self.from_tun()
            if self.gre in r:
                self.from_gre()
        self.write_status()


def main():
    a = parse_args()
    ep = Endpoint(a)

    def stop(*_):
        ep.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    ep.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
