#!/usr/bin/env python3
"""Fixed-rate, sequence-numbered UDP stream for the interop and soak tests.

  udpstream.py send --dst ADDR --port P --rate R --duration S [--src ADDR] [--size N]
                    [--until EPOCH_S] [--go FILE] [--stats FILE]
  udpstream.py recv --bind ADDR --port P --stats FILE
  udpstream.py report SEND_STATS RECV_STATS [--max-lost N] [--max-gap-ms MS]

The sender sends datagram i at t0 + i/R (a late sender catches up at once, so the count
over time stays fixed); each datagram carries a stream id, its sequence number and its
send time. Both ends write their counters as one JSON object to --stats every second
(written to a temp file and renamed, so a reader never sees half a file) and once more at
the end (the sender after --duration, the receiver on SIGTERM/SIGINT).

The receiver counts: received, unique, duplicates, reordered (arrived after a higher
sequence number), the missing sequence numbers below the highest seen (the first ranges
listed), and the longest silence between two arrivals (the outage of a restart test).
`report` joins a sender's and a receiver's final files: lost = sent - unique; it prints
one line and exits 1 if more than --max-lost (default 0) were lost, any was duplicated, or
the longest silence exceeds --max-gap-ms (when given).
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

MAGIC = 0x53574C53  # "SWLS"
HEADER = struct.Struct("!IIQQ")  # magic, stream id, sequence, send time (ns, monotonic)


def write_stats(path, doc):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)


def cmd_send(a):
    size = max(a.size, HEADER.size)
    pad = bytes(size - HEADER.size)
    stream_id = os.getpid() & 0xFFFFFFFF
    if a.go:  # started early (interpreter start-up is slow on a busy machine), wait for the cue
        write_stats(a.stats, {"role": "send", "ready": True, "sent": 0, "done": False})
        while not os.path.exists(a.go):
            time.sleep(0.01)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.src:  # after the cue: the address may be on a TUN device made meanwhile
        sock.bind((a.src, 0))
    duration = a.duration
    until = a.until
    if a.go and os.path.exists(a.go + ".until"):  # an end fixed after the sender started
        with open(a.go + ".until") as f:
            until = float(f.read())
    if until is not None:  # an absolute end (wall clock), e.g. before a hard lifetime
        duration = min(duration, until - time.time())
    total = max(0, int(a.rate * duration))
    interval = 1.0 / a.rate
    sent = errors = 0
    last_error = ""
    t0 = time.monotonic()
    t_start = time.time()
    next_stats = t0 + 1.0

    def stats(done):
        return {"role": "send", "dst": a.dst, "port": a.port, "rate": a.rate, "attempted": seq,
                "sent": sent, "send_errors": errors, "last_error": last_error,
                "started": t_start, "elapsed_s": round(time.monotonic() - t0, 3), "done": done}

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    seq = 0
    while seq < total and not stop[0]:
        now = time.monotonic()
        due = t0 + seq * interval
        if due > now:
            time.sleep(min(due - now, 0.05))
            continue
        try:
            sock.sendto(HEADER.pack(MAGIC, stream_id, seq, time.monotonic_ns()) + pad, (a.dst, a.port))
            sent += 1
        except OSError as e:  # no route while a peer restarts, ENOBUFS, ...
            errors += 1
            last_error = e.strerror or str(e)
        seq += 1
        if now >= next_stats:
            write_stats(a.stats, stats(False))
            next_stats = now + 1.0
    write_stats(a.stats, stats(True))
    print(json.dumps(stats(True)))
    return 0


class Receiver:
    def __init__(self):
        self.seen = bytearray()
        self.received = self.unique = self.duplicates = self.reordered = self.foreign = 0
        self.max_seq = -1
        self.stream_id = None
        self.first_rx = self.last_rx = None
        self.max_gap = 0.0
        self.max_gap_at = None

    def add(self, data, now):
        if len(data) < HEADER.size:
            self.foreign += 1
            return
        magic, sid, seq, _ = HEADER.unpack_from(data)
        if magic != MAGIC:
            self.foreign += 1
            return
        if self.stream_id is None:
            self.stream_id = sid
        elif sid != self.stream_id:  # a second sender: not ours to count
            self.foreign += 1
            return
        self.received += 1
        if self.last_rx is not None:
            gap = now - self.last_rx
            if gap > self.max_gap:
                self.max_gap, self.max_gap_at = gap, self.last_rx
        if self.first_rx is None:
            self.first_rx = now
        self.last_rx = now
        if seq >= len(self.seen):
            self.seen.extend(bytes(max(seq + 1 - len(self.seen), 65536)))
        if self.seen[seq]:
            self.duplicates += 1
            return
        self.seen[seq] = 1
        self.unique += 1
        if seq < self.max_seq:
            self.reordered += 1
        else:
            self.max_seq = seq

    def missing_ranges(self, limit=20):
        out, start = [], None
        for i in range(self.max_seq + 1):
            if not self.seen[i]:
                if start is None:
                    start = i
            elif start is not None:
                out.append([start, i - 1])
                start = None
                if len(out) >= limit:
                    break
        return out

    def stats(self, t_wall0, t_mono0, done):
        def wall(t):
            return None if t is None else round(t_wall0 + (t - t_mono0), 3)
        return {"role": "recv", "received": self.received, "unique": self.unique,
                "duplicates": self.duplicates, "reordered": self.reordered,
                "foreign": self.foreign, "max_seq": self.max_seq,
                "missing_below_max": self.max_seq + 1 - self.unique,
                "missing_ranges": self.missing_ranges() if done else [],
                "max_gap_ms": round(self.max_gap * 1000, 1), "max_gap_at": wall(self.max_gap_at),
                "first_rx": wall(self.first_rx), "last_rx": wall(self.last_rx), "done": done}


def cmd_recv(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((a.bind, a.port))
    sock.settimeout(0.2)
    r = Receiver()
    t_wall0, t_mono0 = time.time(), time.monotonic()
    stop = [False]
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: stop.__setitem__(0, True))
    next_stats = t_mono0
    while not stop[0]:
        try:
            data = sock.recv(65535)
            r.add(data, time.monotonic())
        except socket.timeout:
            pass
        except InterruptedError:
            pass
        now = time.monotonic()
        if now >= next_stats:
            write_stats(a.stats, r.stats(t_wall0, t_mono0, False))
            next_stats = now + 1.0
    # what is still queued arrived before the stop
    sock.setblocking(False)
    while True:
        try:
            r.add(sock.recv(65535), time.monotonic())
        except OSError:
            break
    write_stats(a.stats, r.stats(t_wall0, t_mono0, True))
    return 0


def cmd_report(a):
    with open(a.send_stats) as f:
        s = json.load(f)
    with open(a.recv_stats) as f:
        r = json.load(f)
    lost = s["sent"] - r["unique"]
    line = ("sent %d (send errors %d), received %d, unique %d, lost %d, duplicated %d, "
            "reordered %d, longest silence %.0f ms" %
            (s["sent"], s["send_errors"], r["received"], r["unique"], lost, r["duplicates"],
             r["reordered"], r["max_gap_ms"]))
    if r.get("missing_ranges"):
        line += ", missing " + " ".join("%d-%d" % (x, y) if x != y else str(x) for x, y in r["missing_ranges"][:8])
    print(line)
    ok = lost <= a.max_lost and r["duplicates"] == 0 and s["sent"] > 0
    if a.max_gap_ms is not None and r["max_gap_ms"] > a.max_gap_ms:
        ok = False
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--rate", type=float, required=True, help="datagrams per second")
    s.add_argument("--duration", type=float, required=True, help="seconds")
    s.add_argument("--src")
    s.add_argument("--until", type=float, help="stop at this wall-clock time (epoch s) at the latest")
    s.add_argument("--go", help="wait until this file exists before sending")
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--stats")
    r = sub.add_parser("recv")
    r.add_argument("--bind", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--stats", required=True)
    q = sub.add_parser("report")
    q.add_argument("send_stats")
    q.add_argument("recv_stats")
    q.add_argument("--max-lost", type=int, default=0)
    q.add_argument("--max-gap-ms", type=float)
    a = p.parse_args()
    if a.cmd == "send":
        if a.rate <= 0 or a.duration <= 0:
            p.error("--rate and --duration must be positive")
        return cmd_send(a)
    if a.cmd == "recv":
        return cmd_recv(a)
    return cmd_report(a)


if __name__ == "__main__":
    sys.exit(main())
