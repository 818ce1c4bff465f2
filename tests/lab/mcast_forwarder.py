#!/usr/bin/env python3
"""The datacenter's multicast forwarding plane where the kernel has none.

A kernel built without CONFIG_IP_MROUTE (no /proc/net/ip_mr_vif) cannot forward
multicast, so FRR's pimd there keeps PIM state (neighbors, (*,G) and (S,G) joins) but no
datagram of the source ever leaves through the interface that joined. This program does
the forwarding step in its place, and only that: FRR stays the control plane.

  --in IFACE (where the source's datagrams arrive; AF_PACKET, every frame seen)
    -> IPv4, destination in --groups, not a fragment of something else, TTL > 1
    -> is there a join in FRR for it on --out IFACE?  (vtysh 'show ip pim join', polled
       every --poll s: (*,G) matches every source, (S,G) only S; state JOIN only)
    -> TTL - 1, new header checksum, the rest of the packet unchanged (but for a UDP or
       TCP checksum that the sending device left to be filled in, which is completed)
    -> raw socket (IP_HDRINCL) bound to --out IFACE: the kernel sends it out of that
       device as it is, original source address kept, as a router would

When the join goes (a Prune, or the holdtime runs out) forwarding for that group stops at
the next poll, and the change is logged. Counters go to --status as JSON every 0.5 s and
at exit: received, forwarded, no_state (a group nobody joined), ttl_expired, not_ipv4,
send_errors, checksums_completed, polls, poll_errors, and joins (the current list).
"""
import argparse
import ipaddress
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_IP = 0x0800
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_ALLMULTI = 2
PACKET_OUTGOING = 4
PACKET_AUXDATA = 8
TP_STATUS_CSUMNOTREADY = 0x8


def checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def complete_l4_checksum(pkt, ihl):
    """The frame was captured before its checksum was filled in (veth and other virtual
    devices leave it to the receiver: CHECKSUM_PARTIAL, TP_STATUS_CSUMNOTREADY). A kernel
    router forwards the checksum state along with the packet; a copy made from user space
    must finish the checksum itself, or every receiver drops it. UDP and TCP only."""
    proto = pkt[9]
    off = {17: 6, 6: 16}.get(proto)
    if off is None or len(pkt) < ihl + off + 2:
        return pkt
    l4 = bytearray(pkt[ihl:])
    l4[off:off + 2] = b"\0\0"
    pseudo = pkt[12:20] + struct.pack("!BBH", 0, proto, len(l4))
    data = pseudo + bytes(l4) + (b"\0" if len(l4) % 2 else b"")
    c = checksum(data)
    if proto == 17 and c == 0:
        c = 0xFFFF
    l4[off:off + 2] = struct.pack("!H", c)
    return pkt[:ihl] + bytes(l4)


def parse_joins(text, out_ifname):
    """FRR's 'show ip pim join' table -> set of (source or '*', group) in state JOIN on
    out_ifname. Columns: Interface Address Source Group State Uptime Expire Prune.
    Returns None if the text is not that table (vtysh did not answer)."""
    if "Interface" not in text:
        return None
    joins = set()
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == out_ifname and f[4] == "JOIN":
            joins.add((f[2], f[3]))
    return joins


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--in", dest="in_if", required=True, help="interface the source sends on")
    p.add_argument("--out", dest="out_if", required=True, help="interface joins come from")
    p.add_argument("--vty-socket", required=True, help="FRR's vty socket folder")
    p.add_argument("--groups", default="224.0.0.0/4", help="group range forwarded at all")
    p.add_argument("--poll", type=float, default=0.2, help="seconds between state polls")
    p.add_argument("--status", default="")
    a = p.parse_args()
    rng = ipaddress.ip_network(a.groups)
    link_local = ipaddress.ip_network("224.0.0.0/24")  # never routed (RFC 5771)

    rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    rx.bind((a.in_if, ETH_P_IP))
    ifindex = socket.if_nametoindex(a.in_if)
    rx.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                  struct.pack("iHH8s", ifindex, PACKET_MR_ALLMULTI, 0, b"\0" * 8))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    rx.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    rx.setblocking(False)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.out_if.encode())
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)

    running = [True]

    def stop(*_):
        running[0] = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    c = dict(received=0, forwarded=0, no_state=0, ttl_expired=0, not_ipv4=0, send_errors=0,
             checksums_completed=0, polls=0, poll_errors=0)
    joins = set()

    def write_status():
        if not a.status:
            return
        d = dict(c, mode="userspace-forwarder", joins=sorted("(%s,%s)" % j for j in joins))
        tmp = a.status + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.replace(tmp, a.status)

    def log(msg):
        print("mcast_forwarder: " + msg, flush=True)

    log("%s -> %s for %s, state from FRR (%s) every %.2fs" % (a.in_if, a.out_if, a.groups,
                                                             a.vty_socket, a.poll))
    poller = None       # the running vtysh
    poll_out = []       # its output so far
    next_poll = 0.0
    next_status = 0.0
    while running[0]:
        now = time.monotonic()
        if poller is None and now >= next_poll:
            poller = subprocess.Popen(["vtysh", "--vty_socket", a.vty_socket, "-c",
                                       "show ip pim join"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
            os.set_blocking(poller.stdout.fileno(), False)
            poll_out = []
        if poller is not None:
            # Read as it comes: thousands of joins are more than a pipe holds, and vtysh
            # would wait for us to read before it exits.
            while True:
                try:
                    chunk = os.read(poller.stdout.fileno(), 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                poll_out.append(chunk)
        if poller is not None and poller.poll() is not None:
            os.set_blocking(poller.stdout.fileno(), True)
            poll_out.append(poller.stdout.read())
            text = b"".join(poll_out).decode(errors="replace")
            poller.stdout.close()
            poller = None
            next_poll = now + a.poll
            c["polls"] += 1
            new = parse_joins(text, a.out_if)
            if new is None:
                c["poll_errors"] += 1   # keep the last known state; FRR may be busy
            else:
                for j in sorted(new - joins):
                    log("join (%s,%s) on %s: forwarding" % (j[0], j[1], a.out_if))
                for j in sorted(joins - new):
                    log("join (%s,%s) on %s gone: not forwarding" % (j[0], j[1], a.out_if))
                joins = new
        if now >= next_status:
            write_status()
            next_status = now + 0.5
        r, _, _ = select.select([rx], [], [], 0.05)
        if not r:
            continue
        for _ in range(256):
            try:
                pkt, anc, _, addr = rx.recvmsg(65535, socket.CMSG_SPACE(20))
            except BlockingIOError:
                break
            unready = False
            for level, typ, data in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= 4:
                    unready = bool(struct.unpack("I", data[:4])[0] & TP_STATUS_CSUMNOTREADY)
            if addr[2] == PACKET_OUTGOING:
                continue
            c["received"] += 1
            if len(pkt) < 20 or pkt[0] >> 4 != 4:
                c["not_ipv4"] += 1
                continue
            ihl = (pkt[0] & 0x0F) * 4
            dst = ipaddress.ip_address(pkt[16:20])
            if dst not in rng or dst in link_local:
                continue
            src = str(ipaddress.ip_address(pkt[12:16]))
            g = str(dst)
            if ("*", g) not in joins and (src, g) not in joins:
                c["no_state"] += 1
                continue
            ttl = pkt[8]
            if ttl <= 1:
                c["ttl_expired"] += 1
                continue
            hdr = bytearray(pkt[:ihl])
            hdr[8] = ttl - 1
            hdr[10:12] = b"\0\0"
            hdr[10:12] = struct.pack("!H", checksum(bytes(hdr)))
            out = bytes(hdr) + pkt[ihl:]
            if unready:
                out = complete_l4_checksum(out, ihl)
                c["checksums_completed"] += 1
            try:
                tx.sendto(out, (g, 0))
                c["forwarded"] += 1
            except OSError:
                c["send_errors"] += 1
    if poller is not None:
        poller.kill()
    write_status()
    log("stopped: " + json.dumps(c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
