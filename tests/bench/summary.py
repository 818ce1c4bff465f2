#!/usr/bin/env python3
"""tests/bench/summary.py RESULTS_TSV OUT_MD [PROFILE_DIR]

Reads the rows run.sh wrote (suite, round, path, metric, value), prints a table of
medians over the rounds with the ratios swanless-pair / strongSwan-pair, and writes the
same as Markdown to OUT_MD ("-" = do not write). Context (date, machine, command) comes
from BENCH_* environment variables set by run.sh.
"""
import os
import statistics
import sys
from collections import defaultdict

PATHS = [
    ("veth", "plain veth, no IPsec"),
    ("ss", "swanless <-> swanless"),
    ("sn", "swanless <-> swanless, offload=no"),
    ("sc", "swanless <-> strongSwan"),
    ("cc", "strongSwan <-> strongSwan"),
]
RATIOS = [("ss", "cc", "swanless pair / strongSwan pair"),
          ("ss", "sn", "swanless pair / same with offload=no"),
          ("sc", "cc", "mixed pair / strongSwan pair")]


def load(path):
    data = defaultdict(list)  # (suite, path, metric) -> [values in round order]
    suites = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            suite, _rnd, p, metric, value = parts
            if suite not in suites:
                suites.append(suite)
            try:
                data[(suite, p, metric)].append(float(value))
            except ValueError:
                pass
    return suites, data


def med(vals):
    return statistics.median(vals) if vals else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:.{digits}f}"


def ladder(suite, p, prefix, data, what):
    """(median received Mbit/s with flags, per-round "received @ offered") of one UDP ladder:
    prefix "udp" (iperf3) or "gso" (udp_gso_tool)."""
    rx = data.get((suite, p, f"{prefix}_rx"), [])
    offered = data.get((suite, p, f"{prefix}_rate"), [])
    s = fmt(med(rx))
    if rx and med(rx) == 0:
        s = "0 (lowest rate already > 1 % loss)"
    flags = []
    for metric, text in (("top", "top of ladder"), ("sender_bound", "sender-bound"), ("fail", f"{what} failed")):
        n = len(data.get((suite, p, f"{prefix}_{metric}"), []))
        if n:
            flags.append(f"{text} in {n} round(s)")
    if flags:
        s += " (" + ", ".join(flags) + ")"
    return s, " / ".join(f"{fmt(v)} @{fmt(o)}M" for v, o in zip(rx, offered)) or "-"


def has_gso(suite, data):
    return any(k[0] == suite and k[2] == "gso_rx" for k in data)


def suite_rows(suite, data):
    rows = []
    gso = has_gso(suite, data)
    present = [p for p, _ in PATHS if any(k[0] == suite and k[1] == p for k in data)]
    for p, label in PATHS:
        if p not in present:
            continue
        tcp = data.get((suite, p, "tcp_mbps"), [])
        udp_s, udp_rounds = ladder(suite, p, "udp", data, "an iperf3 run")
        row = [label, fmt(med(tcp)), " / ".join(fmt(v) for v in tcp) or "-", udp_s, udp_rounds]
        if gso:
            row += list(ladder(suite, p, "gso", data, "a GSO-sender run"))
        rows.append(row + [
            fmt(med(data.get((suite, p, "tcp_retrans"), []))),
            fmt(med(data.get((suite, p, "cpu_total"), [])), 2),
            fmt(med(data.get((suite, p, "cores_per_gbps"), [])), 2),
        ])
        if data.get((suite, p, "tcp_fail")):
            rows[-1][0] += f" ({len(data[(suite, p, 'tcp_fail')])} TCP run(s) failed)"
    ratios = []
    for a, b, label in RATIOS:
        if a in present and b in present:
            def r(metric, a=a, b=b):
                x, y = med(data.get((suite, a, metric), [])), med(data.get((suite, b, metric), []))
                return f"{x / y:.2f}" if x is not None and y else "-"
            ratios.append([label, r("tcp_mbps"), r("udp_rx")] + ([r("gso_rx")] if gso else []) + [r("cores_per_gbps")])
    return rows, ratios


def heads(gso):
    """Column heads of the path table and of the ratio table, with or without the GSO ladder."""
    head = ["path", "TCP Mbit/s (median)", "TCP per round", "UDP Mbit/s received at <= 1 % loss (median)",
            "UDP per round (received @ offered)"]
    rhead = ["ratio", "TCP", "UDP <= 1 % loss"]
    if gso:
        head += ["UDP, GSO sender: Mbit/s received at <= 1 % loss (median)",
                 "UDP, GSO sender, per round (received @ offered)"]
        rhead += ["UDP, GSO sender, <= 1 % loss"]
    head += ["TCP retransmits (median)", "daemon cores during TCP", "cores per Gbit/s (TCP)"]
    return head, rhead + ["cores per Gbit/s"]


def text_table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    out = ["  ".join(str(x).ljust(w[i]) for i, x in enumerate(head))]
    out.append("  ".join("-" * n for n in w))
    for r in rows:
        out.append("  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)))
    return "\n".join(out)


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    return "\n".join(out)


def suite_desc(s):
    if s == "aes256gcm16":
        return "IKE aes256gcm16-prfsha256-ecp256, ESP aes256gcm16"
    return f"IKE and ESP {s}"


def main():
    res, out = sys.argv[1], sys.argv[2]
    prof = sys.argv[3] if len(sys.argv) > 3 else ""
    suites, data = load(res)
    env = os.environ.get
    md = ["# swanless data-path benchmark", ""]
    md.append(f"Run {env('BENCH_DATE', '?')} on {env('BENCH_MACHINE', '?')}.")
    if env("BENCH_NOTE"):
        md += ["", f"**{env('BENCH_NOTE')}**"]
    md += ["", f"{env('BENCH_SETTINGS', '')}; {env('BENCH_LOAD', '')}.",
           f"Versions: {env('BENCH_VERSIONS', '')}.", "",
           "Each path is a pair of network namespaces on one veth (both ends and iperf3 on this "
           "machine), PSK, ESP-in-UDP forced (forceencaps=yes / encap=yes), strongSwan = charon "
           "with kernel-libipsec (ESP in user space over TUN). TCP: iperf3, one stream. UDP: "
           "iperf3 -u -b RATE -l 1372 at fixed rising rates; the figure is the rate received at "
           "the highest step with <= 1 % loss (the ladder stops at the first step above 1 % loss, "
           "or when iperf3 could not send 90 % of the offered rate: sender-bound, the machine is "
           "the limit, not the path). UDP, GSO sender (when run): the same ladder rules, but the "
           "sender is tests/bench/udp_gso_tool.c sending 1372-byte datagrams the way QUIC stacks "
           "do, 32 per sendmsg with UDP_SEGMENT (the kernel cuts the burst into datagrams), paced "
           "to the rate, and its receiver reads with UDP_GRO and counts distinct sequence numbers. "
           "Why: iperf3 -u makes one syscall per datagram, and on a small machine that syscall "
           "(which also carries the receive path) limits iperf3 to about 1 Gbit/s even on plain "
           "veth, below what the IPsec data paths can carry. The same sender and receiver are "
           "used on every path, so the comparison stays fair: strongSwan's TUN has no UDP "
           "offload, so the kernel segments the burst before its TUN, while swanless can take "
           "the whole burst in one TUN read when its TUN offers UDP segmentation offload. Daemon cores: utime+stime of both daemons of the "
           "pair from /proc/PID/stat during the TCP run. Medians over the rounds; the paths "
           "were run interleaved in every round.", "",
           "Reproduce:", "```", env("BENCH_BUILD", ""),
           env("BENCH_CMD", "sudo tests/bench/run.sh"), "```"]
    for s in suites:
        rows, ratios = suite_rows(s, data)
        head, rhead = heads(has_gso(s, data))
        title = f"{s} ({suite_desc(s)})"
        print(f"\n=== {title}")
        print(text_table(head, rows))
        if ratios:
            print()
            print(text_table(rhead, ratios))
        md += ["", f"## {title}", "", md_table(head, rows)]
        if ratios:
            md += ["", md_table(rhead, ratios)]
        if prof:
            for p in ("ss", "sc", "cc"):
                for name, what in ((f"reorder-{p}.txt", "ordering and retransmissions (tcpdump + tshark)"),
                                   (f"syscalls-{p}.txt", "syscalls per packet (strace -c -f)"),
                                   (f"perf-{p}.txt", "perf record, swanless, TCP run (top symbols)")):
                    f = os.path.join(prof, s, name)
                    if os.path.isfile(f) and os.path.getsize(f) > 0:
                        body = open(f).read().rstrip()
                        print(f"\n--- {p}: {what}\n{body}")
                        md += ["", f"{p}: {what}", "```", body, "```"]
    if out != "-":
        with open(out, "w") as f:
            f.write("\n".join(md) + "\n")
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
