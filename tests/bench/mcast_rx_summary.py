#!/usr/bin/env python3
"""Summary of tests/bench/mcast_rx.sh: reads its results.jsonl (one JSON object per
generator step, written by tests/bench/rxgen_lib.sh's rxgen_step plus kind and round),
prints Markdown, writes it into --out between the markers <!-- mcast_rx begin --> /
<!-- mcast_rx end --> (replacing an earlier section, keeping the rest), and draws --plot
(PNG) with gnuplot when it is installed.

Figure of a variant: the highest offered rate whose step lost <= 0.1 % and reordered
nothing (median over rounds); "sustained" also keeps the p99 latency under 10 ms, so that
a backlog growing in the 32 MiB socket buffers during a short step does not count. Rates
are offered rates; the generator's achieved send rate is in the table next to them.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import json

BEGIN = "<!-- mcast_rx begin -->"
END = "<!-- mcast_rx end -->"
LABEL = {"udp": "swanless, deliver=udp", "tun": "swanless, deliver=tun", "charon": "strongSwan (charon, kernel-libipsec)"}
SUITE = {"aes256gcm16": "AES-GCM-16-256", "aes256-sha256-modp2048": "AES-CBC-256 + HMAC-SHA-256-128"}


def med(xs):
    return statistics.median(xs) if xs else None


SUSTAINED_P99_US = 10000


def ok(j):
    return j["lost"] <= 0.001 * j["count"] and j["reordered"] == 0


def sustained(j):
    """loss-free and the backlog not growing: with 32 MiB socket buffers a deficit of a
    short step shows as latency (the queue grows) long before it shows as loss"""
    return ok(j) and j["latency_socket"]["p99_us"] <= SUSTAINED_P99_US


def fmt_rate(r):
    if r is None:
        return "-"
    return "%.2f M" % (r / 1e6) if r >= 1e6 else "%.0f k" % (r / 1e3)


def fmt_us(x):
    return "-" if x is None else ("%.0f" % x if x >= 10 else "%.1f" % x)


def places(j):
    out = ["%s %d" % (k.replace("_", " "), v) for k, v in sorted(j["places"].items()) if v]
    out += ["%s %d" % (k, v) for k, v in sorted(j["daemon_drops"].items())]
    return ", ".join(out) or "none"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("jsonl")
    for k in ("out", "plot", "date", "machine", "load", "versions", "size", "step", "rounds", "burst", "note", "cmd"):
        p.add_argument("--" + k, default="")
    a = p.parse_args()
    rows = [json.loads(line) for line in open(a.jsonl) if line.strip()]
    suites = [s for s in SUITE if any(r["suite"] == s for r in rows)]
    variants = [v for v in LABEL if any(r["variant"] == v for r in rows)]
    rounds = sorted({r["round"] for r in rows})

    def sel(s, v, kind, rate=None):
        return [r for r in rows if r["suite"] == s and r["variant"] == v and r["kind"] == kind
                and (rate is None or r["offered"] == rate)]

    fig, sus = {}, {}
    for s in suites:
        for v in variants:
            for out, test in ((fig, ok), (sus, sustained)):
                per_round = []
                for rnd in rounds:
                    good = [r["offered"] for r in sel(s, v, "ladder") if r["round"] == rnd and test(r)]
                    per_round.append(max(good) if good else 0)
                out[s, v] = med(per_round)

    md = [BEGIN, "# Receive path: small multicast through ESP + GRE (tests/bench/mcast_rx.sh)", ""]
    md.append("%s; %s. %s. Load: %s. Payload %s bytes, ladder steps of %s s, %s round(s), "
              "%s datagrams per generator send (UDP_SEGMENT)." % (a.date, a.machine, a.versions, a.load, a.size,
                                                                   a.step, a.rounds, a.burst))
    if a.note:
        md += ["", "Note: " + a.note]
    md += ["", "The source is tests/bench/esp_gen.c, which encrypts every packet before it starts sending, so "
           "the figure is the receiver's, not an encryptor's. All parts (generator, daemon, receiver) share the "
           "machine's cores. Latency is send time to arrival at the receiving socket (kernel timestamp); the "
           "application's read time is given as app p99. Drops by place count kernel buffers: UDP RcvbufErrors "
           "at the ESP socket count GRO buffers of up to %s datagrams each, at the receiving program's socket single "
           "datagrams." % (a.burst or 32), ""]
    md += ["## Highest rate with <= 0.1 % loss and nothing reordered", "",
           "| suite | variant | figure (datagrams/s) | sustained (p99 <= %d ms) | daemon CPU per Mpps at the figure | drops at the first failing step |" % (SUSTAINED_P99_US // 1000),
           "|---|---|---|---|---|---|"]
    for s in suites:
        for v in variants:
            f = fig[s, v]
            cpu = "-"
            at = [r for r in sel(s, v, "ladder", f)] if f else []
            if at:
                c = med([r["cpu_seconds"] / max(r["send"]["seconds"], 1e-9) / (r["delivered"] / max(r["send"]["seconds"], 1e-9) / 1e6)
                         for r in at if r["delivered"]])
                cpu = "%.2f cores" % c if c is not None else "-"
            worse = [r for r in sel(s, v, "ladder") if r["offered"] > (f or 0) and not ok(r)]
            first = min(worse, key=lambda r: r["offered"]) if worse else None
            drops = ("at %s/s: lost %d, %s" % (fmt_rate(first["offered"]), first["lost"], places(first))) if first else "none up to the top rate"
            md.append("| %s | %s | **%s** | %s | %s | %s |" % (SUITE[s], LABEL[v], fmt_rate(f), fmt_rate(sus[s, v]), cpu, drops))
    md.append("")
    if "charon" in variants:
        md += ["Ratios (swanless / strongSwan, same suite, same run):", ""]
        for s in suites:
            c = fig.get((s, "charon"))
            for v in ("udp", "tun"):
                if v in variants and c:
                    cs = sus.get((s, "charon"))
                    md.append("- %s, %s: **%.1fx** (sustained: %s)" % (SUITE[s], LABEL[v], (fig[s, v] or 0) / c,
                                                                   "%.1fx" % ((sus[s, v] or 0) / cs) if cs else "-"))
        md.append("")

    md += ["## Latency (microseconds, at the socket)", "",
           "| suite | variant | step | offered | lost | p50 | p99 | p99.9 | max | app p99 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in suites:
        for v in variants:
            for kind, rate in (("ladder", 100000), ("p80", None)):
                rs = sel(s, v, kind, rate)
                if not rs:
                    continue
                L = lambda k: med([r["latency_socket"][k] for r in rs])
                md.append("| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (
                    SUITE[s], LABEL[v], "100 kpps" if kind == "ladder" else "80 % of sustained",
                    fmt_rate(med([r["offered"] for r in rs])), med([r["lost"] for r in rs]), fmt_us(L("p50_us")),
                    fmt_us(L("p99_us")), fmt_us(L("p999_us")), fmt_us(L("max_us")),
                    fmt_us(med([r["latency_app"]["p99_us"] for r in rs]))))
    md.append("")
    md += ["## Burst: 30 000 datagrams back to back, then idle", "",
           "| suite | variant | generator rate | delivered | lost | reordered | drops |", "|---|---|---|---|---|---|---|"]
    for s in suites:
        for v in variants:
            for r in sel(s, v, "burst"):
                md.append("| %s | %s | %s/s | %d | %d | %d | %s |" % (SUITE[s], LABEL[v], fmt_rate(r["send"]["rate"]),
                                                                    r["delivered"], r["lost"], r["reordered"], places(r)))
    md.append("")
    md += ["## Every ladder step (round 1)", "",
           "| suite | variant | offered | sent/s | delivered | lost | reordered | p99 us | daemon CPU s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for s in suites:
        for v in variants:
            for r in sorted([r for r in sel(s, v, "ladder") if r["round"] == rounds[0]], key=lambda r: r["offered"]):
                md.append("| %s | %s | %s | %s | %d | %d | %d | %s | %.2f |" % (
                    SUITE[s], LABEL[v], fmt_rate(r["offered"]), fmt_rate(r["send"]["rate"]), r["delivered"], r["lost"],
                    r["reordered"], fmt_us(r["latency_socket"]["p99_us"]), r["cpu_seconds"]))
    md.append("")
    if a.plot and a.plot != "-":
        md += ["Plot: `%s`." % os.path.relpath(a.plot, os.path.dirname(os.path.abspath(a.out)) if a.out and a.out != "-" else "."), ""]
    md += ["Reproduce:", "```", a.cmd, "```", END]
    text = "\n".join(md) + "\n"
    print(text)

    if a.out and a.out != "-":
        old = open(a.out).read() if os.path.exists(a.out) else ""
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + text.rstrip("\n") + old[old.index(END) + len(END):]
        else:
            new = old + ("\n" if old else "") + text
        with open(a.out, "w") as f:
            f.write(new)

    if a.plot and a.plot != "-":
        plot(a, rows, suites, variants, rounds[0])


def plot(a, rows, suites, variants, rnd):
    if not shutil.which("gnuplot"):
        print("no gnuplot here (apt-get install gnuplot-nox): no plot", file=sys.stderr)
        return
    d = tempfile.mkdtemp()
    series = []
    for s in suites:
        for v in variants:
            rs = sorted([r for r in rows if r["suite"] == s and r["variant"] == v and r["kind"] == "ladder" and r["round"] == rnd],
                        key=lambda r: r["offered"])
            if not rs:
                continue
            fn = os.path.join(d, "%s.%s.dat" % (s, v))
            with open(fn, "w") as f:
                for r in rs:
                    secs = max(r["send"]["seconds"], 1e-9)
                    f.write("%g %g %g\n" % (r["offered"] / 1e3, r["delivered"] / secs / 1e3, max(r["latency_socket"]["p99_us"], 1)))
            series.append((fn, "%s, %s" % (LABEL[v], "GCM" if s == "aes256gcm16" else "CBC+HMAC")))
    if not series:
        return
    g = ["set terminal pngcairo size 1100,800 font ',10'", "set output '%s'" % a.plot, "set multiplot layout 2,1",
         "set logscale x", "set grid", "set key left top", "set xlabel 'offered datagrams/s (thousands)'",
         "set title 'Delivered rate (%s-byte payload): %s'" % (a.size, a.date), "set ylabel 'delivered datagrams/s (thousands)'",
         "plot " + ", ".join("'%s' using 1:2 with linespoints title '%s'" % (fn, t) for fn, t in series),
         "set logscale y", "set key left top", "set title 'p99 latency at the receiving socket'", "set ylabel 'microseconds'",
         "plot " + ", ".join("'%s' using 1:3 with linespoints title '%s'" % (fn, t) for fn, t in series),
         "unset multiplot"]
    r = subprocess.run(["gnuplot"], input="\n".join(g) + "\n", text=True, capture_output=True)
    if r.returncode != 0:
        print("gnuplot failed: " + r.stderr, file=sys.stderr)
    else:
        print("plot: " + a.plot, file=sys.stderr)


if __name__ == "__main__":
    main()
