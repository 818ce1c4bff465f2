#!/usr/bin/env python3
"""Hostile peers against a running swanless: the cases of tests/adversary/adversary.sh.

  adversary.py run CASE --target ADDR --src ADDR [--psk PSK] [--id ID] [--arg K=V...]
      plays the attacker (in the attacker's namespace) and prints one JSON object: what
      was sent and what came back
  adversary.py judge CASE BEFORE.json AFTER.json RESULT.json
      compares swanless's `status --json` before and after with what the attacker saw;
      prints one line per check ("ok ..." / "FAIL ...") and exits 1 if any failed
  adversary.py list
      the case names, in the order the suite runs them

Every packet is built by ikecraft.py (and the lab's PIM encoder), never by swanless's code.
The attacker's own conn `evil` (PSK, id evil.swl.test, 10.44.7.1/32 <-> 10.44.6.1/32, with
gre1 and a pim section over it) is what a hostile but authenticated datacenter gets.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ikecraft import (AUTHENTICATION_FAILED, COOKIE, D, F_INITIATOR, F_RESPONSE,  # noqa: E402
                      FRAGMENTATION_SUPPORTED, IDI, IKE_AUTH, IKE_SA_INIT, INFORMATIONAL,
                      INITIAL_CONTACT, INVALID_KE_PAYLOAD, KE, MODP2048_P, N, NONCE, SA, Initiator,
                      chain, gre, ike_proposal, ipv4, message, notifies, notify, parse_message,
                      payload, sk_seal_raw, skf_seal, udp)
from pim_join import hello as pim_hello, join_prune  # noqa: E402
import judges  # noqa: E402

US_TUN, PEER_TUN = "10.44.4.6", "10.44.4.5"          # gre1 inner addresses (swanless, peer)
US_GRE, PEER_GRE = "10.44.6.1", "10.44.7.1"          # GRE endpoints (the evil CHILD_SA's TS)
ALL_PIM = "224.0.0.13"
THIRD = "198.51.100.77"                               # an address nobody here owns


class Ctx:
    def __init__(self, a):
        self.target, self.src, self.psk, self.idi = a.target, a.src, a.psk.encode(), a.id
        self.args = dict(kv.split("=", 1) for kv in a.arg)

    def initiator(self, **kw):
        return Initiator(self.src, self.target, self.psk, self.idi, **kw)

    def authenticated(self):
        """A fresh, authenticated IKE_SA with its CHILD_SA on conn evil."""
        i = self.initiator()
        m = i.sa_init()
        if m is None or i.keys is None:
            raise SystemExit("no IKE_SA_INIT answer for the attacker's own conn")
        r = i.auth(extra=((N, notify(INITIAL_CONTACT)),))
        if r is None or i.child_out is None:
            raise SystemExit(f"the attacker's own IKE_AUTH failed: {r and notifies(r[1])}")
        return i


def answer_kind(i, sock, timeout=1.0):
    """The kind (kind_of) of the next answer on sock."""
    return kind_of(i.recv(sock, timeout))


def with_cookie(data, cookie_body):
    """The same IKE_SA_INIT request (however mangled) with N(COOKIE) put first, as RFC 7296
    §2.6 asks of an initiator that got one; the header's length moves by as much."""
    n = payload(data[16], cookie_body)
    length = struct.unpack_from("!I", data, 24)[0] + len(n)
    return data[:16] + bytes([N]) + data[17:24] + struct.pack("!I", length) + n + data[28:]


def send_init(i, data, timeout=1.0):
    """Send an IKE_SA_INIT request; past swanless's half-open threshold it answers with a
    COOKIE: send it again with the cookie, so the case tests what it is meant to test."""
    i.send500(data)
    d = i.recv(i.s500, timeout)
    if d is not None:
        try:
            m = parse_message(d)
        except ValueError:
            return d
        c = [p for p in m["payloads"] if p[0] == N and len(p[2]) >= 4 and
             struct.unpack_from("!H", p[2], 2)[0] == COOKIE]
        if c:
            i.send500(with_cookie(data, c[0][2]))
            d = i.recv(i.s500, timeout)
    return d


def kind_of(d):
    """'none', 'sa' (the responder kept state), or the lone notify types."""
    if d is None:
        return "none"
    try:
        m = parse_message(d)
    except ValueError:
        return "garbage"
    if SA in [p[0] for p in m["payloads"]]:
        return "sa"
    return ",".join(str(n) for n in notifies(m["payloads"])) or "other"


def init_variant(ctx, mutate):
    """One IKE_SA_INIT built by the attacker and changed by mutate(items) -> bytes or items;
    returns the answer's kind."""
    i = ctx.initiator()
    items = i.init_items()
    out = mutate(i, items)
    data = out if isinstance(out, bytes) else i.init_message(out)
    kind = kind_of(send_init(i, data))
    i.close()
    return kind


# ------------------------------------------------------------------------------------
# the encoder itself: what it sends when it behaves (the suite checks it with tshark)

def case_wire_check(ctx):
    """A well-behaved run of the attacker's own conn: IKE_SA_INIT, IKE_AUTH, an
    INFORMATIONAL, and ESP carrying UDP to our GRE endpoint. The suite captures it and
    tshark must decrypt all of it with swanless's keylog, finding nothing malformed: so the
    encoder is right by an independent reading, and its malformed packets are the only ones."""
    i = ctx.authenticated()
    i.informational([])
    for n in range(5):
        i.esp(ipv4(PEER_GRE, US_GRE, 17, udp(4000, 9, b"wire check %d" % n)))
    time.sleep(0.3)
    return {"esp": 5, "spi": i.child_out.spi.hex()}


# ------------------------------------------------------------------------------------
# IKE before authentication

def case_init_malformed(ctx):
    """Every payload of IKE_SA_INIT truncated, over-long and under-long."""
    res = {}
    names = ["SA", "KE", "Nonce", "N(NAT_D_SRC)", "N(NAT_D_DST)"]
    for k, name in enumerate(names):
        def cut(i, items, k=k):      # the datagram ends inside payload k
            first, body = chain(items)
            off = 28 + sum(4 + len(it[1]) for it in items[:k]) + 2
            msg = i.init_message(items)
            return msg[:off][:24] + struct.pack("!I", off) + msg[28:off]

        def longer(i, items, k=k):   # payload k claims 40 bytes more than the message has
            msg = bytearray(i.init_message(items))
            off = 28 + sum(4 + len(it[1]) for it in items[:k])
            struct.pack_into("!H", msg, off + 2, 4 + len(items[k][1]) + 40)
            return bytes(msg)

        def shorter(i, items, k=k):  # payload k claims 3 bytes, below the 4 of its header
            msg = bytearray(i.init_message(items))
            off = 28 + sum(4 + len(it[1]) for it in items[:k])
            struct.pack_into("!H", msg, off + 2, 3)
            return bytes(msg)
        for how, f in (("truncated", cut), ("over-long", longer), ("under-long", shorter)):
            res[f"{name} {how}"] = init_variant(ctx, f)
    # the contents malformed: a KE of 2 bytes, a Nonce of 8 (RFC 7296 §3.9: 16..256), a
    # proposal whose length runs past its SA payload, a header length beyond the datagram
    def short_ke(i, items):
        items[1] = (KE, items[1][1][:2])
        return items

    def short_nonce(i, items):
        items[2] = (NONCE, os.urandom(8))
        return items

    def long_proposal(i, items):
        sa = bytearray(items[0][1])
        struct.pack_into("!H", sa, 2, len(sa) + 100)
        items[0] = (SA, bytes(sa))
        return items

    def long_header(i, items):
        msg = bytearray(i.init_message(items))
        struct.pack_into("!I", msg, 24, len(msg) + 500)
        return bytes(msg)
    for name, f in (("KE body of 2 bytes", short_ke), ("Nonce of 8 bytes", short_nonce),
                    ("proposal longer than its SA", long_proposal),
                    ("header length past the datagram", long_header)):
        res[name] = init_variant(ctx, f)
    return {"sent": len(res), "answers": res}


def case_auth_malformed(ctx):
    """Every payload of IKE_AUTH, inside a valid SK payload, truncated and over-long; and an
    unknown critical payload there. The ICV is right, so swanless parses the inner chain."""
    res = {}
    for k, name in enumerate(["IDi", "AUTH", "SA", "TSi", "TSr"]):
        for how in ("truncated", "over-long"):
            i = ctx.initiator()
            if i.sa_init() is None or i.keys is None:
                res[f"{name} {how}"] = "no IKE_SA_INIT"
                continue
            items = i.auth_items()
            first, inner = chain(items)
            off = sum(4 + len(it[1]) for it in items[:k])
            if how == "truncated":
                inner = inner[:off + 6]
            else:
                b = bytearray(inner)
                struct.pack_into("!H", b, off + 2, 4 + len(items[k][1]) + 64)
                inner = bytes(b)
            i.send4500(sk_seal_raw(i.keys, (i.spi_i, i.spi_r, IKE_AUTH, F_INITIATOR, 1), first, inner))
            a = i.answer(1.0)
            res[f"{name} {how}"] = "none" if a is None else (
                "established" if any(p[0] == SA for p in a[1]) else ",".join(map(str, notifies(a[1]))))
            i.close()
    i = ctx.initiator()
    i.sa_init()
    items = i.auth_items()
    items.insert(2, (210, b"hostile", True))
    i.request(IKE_AUTH, items)
    a = i.answer(1.0)
    res["unknown critical payload"] = "none" if a is None else ",".join(map(str, notifies(a[1])))
    i.close()
    return {"answers": res}


def case_critical(ctx):
    """Unknown payloads with and without the critical bit; a known one with it set."""
    def unknown(critical, ptype):
        def f(i, items):
            return items[:3] + [(ptype, b"hostile", critical)] + items[3:]
        return f

    def known_critical(i, items):
        items[1] = (KE, items[1][1], True)
        return items
    return {"answers": {
        "unknown 200, critical": init_variant(ctx, unknown(True, 200)),
        "unknown 201, not critical": init_variant(ctx, unknown(False, 201)),
        "KE with the critical bit": init_variant(ctx, known_critical)}}


def case_duplicates(ctx):
    """Two SA payloads; two KE payloads."""
    return {"answers": {
        "two SA": init_variant(ctx, lambda i, it: [it[0]] + it),
        "two KE": init_variant(ctx, lambda i, it: it[:2] + [it[1]] + it[2:])}}


def case_ke_group(ctx):
    """A KE for another group than the one proposed: INVALID_KE_PAYLOAD naming ours, and
    the retry with that group is answered."""
    i = ctx.initiator(group=14)
    items = i.init_items(group=14)
    items[1] = (KE, struct.pack("!HH", 31, 0) + os.urandom(32))
    d = send_init(i, i.init_message(items))
    got = None
    if d is not None:
        m = parse_message(d)
        for p in m["payloads"]:
            if p[0] == N and struct.unpack_from("!H", p[2], 2)[0] == INVALID_KE_PAYLOAD:
                got = struct.unpack_from("!H", p[2], 4)[0]
    retry = i.sa_init()
    ok = retry is not None and i.keys is not None
    i.close()
    return {"invalid_ke_group": got, "retry_answered": ok}


def case_dh_invalid(ctx):
    """Key exchange values a responder must refuse (RFC 7296 §5.2, RFC 6989)."""
    res = {}
    for name, val in (("MODP 0", 0), ("MODP 1", 1), ("MODP p-1", MODP2048_P - 1),
                      ("MODP p", MODP2048_P)):
        def f(i, items, val=val):
            items[1] = (KE, struct.pack("!HH", 14, 0) + val.to_bytes(256, "big"))
            return items
        res[name] = init_variant(ctx, f)

    def off_curve(i, items):
        items[0] = (SA, ike_proposal(19))
        items[1] = (KE, struct.pack("!HH", 19, 0) + (1).to_bytes(32, "big") * 2)
        return items

    def x25519_zero(i, items):
        items[0] = (SA, ike_proposal(31))
        items[1] = (KE, struct.pack("!HH", 31, 0) + bytes(32))
        return items
    res["ECP-256 point (1,1), off the curve"] = init_variant(ctx, off_curve)
    res["X25519 zero point"] = init_variant(ctx, x25519_zero)
    return {"answers": res}


def case_unsolicited(ctx):
    """Responses to requests never sent, to 500 and to 4500."""
    i = ctx.initiator()
    spi_i, spi_r = os.urandom(8), os.urandom(8)
    items = i.init_items()
    i.send500(message(spi_i, spi_r, IKE_SA_INIT, F_RESPONSE, 0, items))
    a1 = answer_kind(i, i.s500, 0.7)
    i.send4500(message(spi_i, spi_r, IKE_AUTH, F_RESPONSE, 1, [(N, notify(AUTHENTICATION_FAILED))]))
    a2 = answer_kind(i, i.s4500, 0.7)
    i.close()
    return {"sent": 2, "answers": {"IKE_SA_INIT response": a1, "IKE_AUTH response": a2}}


def case_auth_wrong(ctx):
    """IKE_AUTH with a valid SK payload but an AUTH made with the wrong key."""
    i = ctx.initiator()
    i.sa_init()
    r = i.auth(psk=b"not the key")
    out = {"answer": None if r is None else notifies(r[1]), "child": i.child_out is not None}
    i.close()
    return out


def case_initial_contact(ctx):
    """From another address, an IKE_AUTH claiming the real peer's identity with
    INITIAL_CONTACT (which, once authenticated, deletes that identity's other IKE_SAs) and
    an AUTH the attacker cannot make: the real peer's SAs must survive."""
    i = ctx.initiator()
    i.idi = ctx.args.get("victim_id", "c.swl.test")
    i.sa_init()
    r = i.auth(psk=b"guessed", extra=((N, notify(INITIAL_CONTACT)),))
    i.close()
    return {"answer": None if r is None else notifies(r[1])}


def case_delete_preauth(ctx):
    """DELETE before authentication: sealed with a half-open IKE_SA's keys (for that IKE_SA
    and for the real peer's CHILD_SA), and unprotected with the real peer's IKE SPIs."""
    i = ctx.initiator()
    i.sa_init()
    victim_child = bytes.fromhex(ctx.args["victim_child_spi"])
    i.request(INFORMATIONAL, [(D, struct.pack("!BBH", 3, 4, 1) + victim_child)], msgid=1)
    a1 = i.answer(0.7)
    i.request(INFORMATIONAL, [(D, struct.pack("!BBH", 1, 0, 0))], msgid=1)
    a2 = i.answer(0.7)
    vi, vr = bytes.fromhex(ctx.args["victim_spi_i"]), bytes.fromhex(ctx.args["victim_spi_r"])
    i.send4500(message(vi, vr, INFORMATIONAL, F_INITIATOR, 7, [(D, struct.pack("!BBH", 1, 0, 0))]))
    a3 = answer_kind(i, i.s4500, 0.7)
    i.close()
    return {"answers": {"sealed Delete(ESP victim)": None if a1 is None else notifies(a1[1]),
                        "sealed Delete(IKE)": None if a2 is None else notifies(a2[1]),
                        "plain Delete(victim IKE)": a3}}


def case_msgid(ctx):
    """On an authenticated IKE_SA: a request replayed (the cached answer comes back, RFC 7296
    §2.1), message IDs ahead of the window and behind it (dropped), then the next right one
    (answered: the IKE_SA is intact)."""
    i = ctx.authenticated()
    mid = i.msgid
    sent = i.request(INFORMATIONAL, [])
    first = i.answer(1.0)
    i.msgid += 1
    i.s4500.sendto(bytes(4) + sent, (i.remote, 4500))   # the same bytes again
    replay = i.answer(1.0)
    jumps = {}
    for name, m in (("ahead +5", i.msgid + 5), ("ahead +1000", i.msgid + 1000),
                    ("behind", max(mid - 1, 0))):
        i.request(INFORMATIONAL, [], msgid=m)
        jumps[name] = i.answer(0.5) is not None and name != "behind"
    after = i.informational([])
    i.close()
    return {"first": first is not None, "replay_answered": replay is not None,
            "replay_same_msgid": replay is not None and replay[0]["msgid"] == mid,
            "jumps_answered": jumps, "after": after is not None}


def case_fragments(ctx):
    """Fragment sets that never complete (RFC 7383), on many half-open IKE_SAs."""
    sas = int(ctx.args.get("sas", 60))
    per = int(ctx.args.get("fragments", 30))
    total = per + 20
    sent = established = 0
    for _ in range(sas):
        i = ctx.initiator()
        items = i.init_items() + [(N, notify(FRAGMENTATION_SUPPORTED))]
        m = i.sa_init(items)
        if m is None or i.keys is None:
            i.close()
            continue
        established += 1
        for n in range(1, per + 1):
            i.send4500(skf_seal(i.keys, (i.spi_i, i.spi_r, IKE_AUTH, F_INITIATOR, 1), IDI, n, total,
                                os.urandom(900)))
            sent += 1
        i.close()
    return {"half_open": established, "fragments": sent}


# ------------------------------------------------------------------------------------
# ESP junk to port 4500

def case_esp_flood(ctx):
    """About RATE packets/s of junk for SECONDS: unknown SPIs, the real SA's SPI with bad
    ICVs, replays of a packet that was valid once, non-ESP markers with garbage."""
    rate, secs = int(ctx.args.get("rate", 100000)), float(ctx.args.get("seconds", 3))
    victim = bytes.fromhex(ctx.args["victim_spi_in"])
    i = ctx.authenticated()
    valid = i.esp(ipv4(PEER_GRE, US_GRE, 17, udp(9, 9, b"once")))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ctx.src, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    dst = (ctx.target, 4500)
    kinds = {
        "unknown_spi": lambda: os.urandom(4) + os.urandom(96),
        "bad_icv": lambda: victim + struct.pack("!I", random.randrange(1, 1 << 32)) + os.urandom(92),
        "replay": lambda: valid,
        "ike_garbage": lambda: bytes(4) + os.urandom(60),
    }
    pools = {k: [f() for _ in range(64)] for k, f in kinds.items()}
    order = list(kinds)
    counts = dict.fromkeys(order, 0)
    t0 = time.monotonic()
    n = 0
    errors = 0
    while True:
        now = time.monotonic()
        if now - t0 >= secs:
            break
        due = int((now - t0) * rate)
        while n < due:
            k = order[n % 4]
            try:
                s.sendto(pools[k][n % 64], dst)
                counts[k] += 1
            except OSError:
                errors += 1
            n += 1
        time.sleep(0.0005)
    elapsed = time.monotonic() - t0
    time.sleep(0.5)
    i.close()
    return {"sent": counts, "total": sum(counts.values()), "seconds": round(elapsed, 2),
            "rate": round(sum(counts.values()) / elapsed), "send_errors": errors,
            "spi": i.child_out.spi.hex()}


# ------------------------------------------------------------------------------------
# from inside the authenticated tunnel

class Listener(Initiator):
    """An authenticated attacker that also decrypts what swanless sends it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.inner = []

    def on_esp(self, pkt):
        if self.child_in and pkt[:4] == self.child_in.spi:
            try:
                self.inner.append(self.child_in.open(pkt)[0])
            except Exception:
                pass

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.recv(self.s4500, max(0.01, end - time.monotonic()))


def listener(ctx):
    i = Listener(ctx.src, ctx.target, ctx.psk, ctx.idi)
    i.sa_init()
    # INITIAL_CONTACT: swanless drops the attacker's IKE_SAs of the cases before, so this
    # one carries gre1 and the judge finds its counters in the next status document
    i.auth(extra=((N, notify(INITIAL_CONTACT)),))
    if i.child_out is None:
        raise SystemExit("the attacker's own IKE_AUTH failed")
    return i


def gre_in_esp(i, inner_ip):
    """inner_ip in GRE from the peer's GRE endpoint to ours, in ESP."""
    return i.esp(ipv4(PEER_GRE, US_GRE, 47, gre(inner_ip)))


def pim_out(inner):
    """The PIM message types in what swanless sent (IPv4/GRE/IPv4/PIM)."""
    types = []
    for pkt in inner:
        if len(pkt) < 48 or pkt[9] != 47:
            continue
        g = pkt[(pkt[0] & 15) * 4:]
        ip = g[4:]
        if struct.unpack("!H", g[2:4])[0] == 0x0800 and len(ip) > 24 and ip[9] == 103:
            types.append(ip[(ip[0] & 15) * 4] & 15)
    return types


def case_pim_genid_storm(ctx):
    """Hellos with a new Generation ID on every packet, 100 per second for 3 s."""
    i = listener(ctx)
    i.drain(0.5)
    i.inner.clear()
    count, t0 = int(ctx.args.get("hellos", 300)), time.monotonic()
    for n in range(count):
        gre_in_esp(i, ipv4(PEER_TUN, ALL_PIM, 103, pim_hello(105, random.randrange(1 << 32)), ttl=1))
        i.drain(max(0.0, t0 + (n + 1) / 100 - time.monotonic()))
    i.drain(1.5)
    elapsed = time.monotonic() - t0
    types = pim_out(i.inner)
    i.close()
    return {"hellos": count, "seconds": round(elapsed, 2), "joins_seen": types.count(3),
            "hellos_seen": types.count(0)}


def case_pim_join_at_us(ctx):
    """Join/Prune messages aimed at swanless (a leaf: it must not act on them), one of them
    a Prune for the group swanless itself joined."""
    i = listener(ctx)
    msgs = [join_prune(US_TUN, "239.9.9.9", "198.18.30.253", 210, True),
            join_prune(US_TUN, "239.1.1.1", "198.18.30.253", 210, False),
            join_prune(PEER_TUN, "239.1.1.1", "198.18.30.253", 210, False)]
    for m in msgs * 10:
        gre_in_esp(i, ipv4(PEER_TUN, ALL_PIM, 103, m, ttl=1))
    i.drain(1.0)
    types = pim_out(i.inner)
    i.close()
    return {"sent": len(msgs) * 10, "pim_seen": types}


def keepalive(src, dst):
    """A Cisco-style keepalive as its sender builds it: the inner packet is what the far
    end is to send back (inner src = that far end, inner dst = whoever is to receive it)."""
    return ipv4(src, dst, 47, gre(b"", proto=0))


def case_gre_reflect(ctx):
    """A real keepalive is answered; keepalive-shaped packets whose inner destination is a
    third address (or whose inner source is not us) are not sent anywhere."""
    i = listener(ctx)
    i.drain(0.3)
    i.inner.clear()
    gre_in_esp(i, keepalive(US_GRE, PEER_GRE))
    i.drain(0.7)
    real = [p for p in i.inner if p[9] == 47 and p[16:20] == socket.inet_aton(PEER_GRE)
            and p[20:24] == b"\0\0\0\0"]
    i.inner.clear()
    n = 20
    for _ in range(n):
        gre_in_esp(i, keepalive(US_GRE, THIRD))
        gre_in_esp(i, keepalive("203.0.113.5", PEER_GRE))
    i.drain(1.0)
    i.close()
    return {"real_answered": len(real), "wrong_dst_sent": n, "wrong_src_sent": n,
            "anything_back": len(i.inner)}


def case_outside_selectors(ctx):
    """Inner packets outside the CHILD_SA's selectors: a source the TS does not cover, and a
    destination on another conn's subnet (the real peer's)."""
    i = listener(ctx)
    n = 25
    for _ in range(n):
        i.esp(ipv4("10.44.99.9", US_GRE, 17, udp(1000, 9, b"outside")))
        i.esp(ipv4(PEER_GRE, ctx.args.get("other_net", "10.99.0.1"), 17, udp(1000, 9, b"cross")))
    i.drain(0.5)
    i.close()
    return {"sent": 2 * n, "spi": i.child_out.spi.hex()}


def case_oversized(ctx):
    """Lying and oversized inner packets: an IPv4 total length past the packet, a header
    length past it, GRE carrying such a packet, and a 9000-byte GRE packet (the ESP
    datagram arrives in IP fragments)."""
    i = listener(ctx)
    good = ipv4(PEER_GRE, US_GRE, 47, gre(ipv4(PEER_TUN, "239.1.1.1", 17, udp(1, 5000, b"x" * 40))))
    lies_total = bytearray(good)
    struct.pack_into("!H", lies_total, 2, 1500)
    lies_ihl = bytearray(good)
    lies_ihl[0] = 0x4F
    inner_lies = bytearray(ipv4(PEER_TUN, "239.1.1.1", 17, udp(1, 5000, b"y" * 40)))
    struct.pack_into("!H", inner_lies, 2, 4000)
    big = ipv4(PEER_GRE, US_GRE, 47, gre(ipv4(PEER_TUN, "239.1.1.1", 17, udp(1, 5000, b"z" * 8960))))
    for _ in range(5):
        i.esp(bytes(lies_total))
        i.esp(bytes(lies_ihl))
        gre_in_esp(i, bytes(inner_lies))
        i.esp(big)
    i.drain(0.5)
    i.close()
    return {"sent_each": 5, "spi": i.child_out.spi.hex()}


CASES = [  # judged by judges.judge_<name>
    ("wire_check", case_wire_check),
    ("init_malformed", case_init_malformed), ("auth_malformed", case_auth_malformed),
    ("critical", case_critical),
    ("duplicates", case_duplicates), ("ke_group", case_ke_group),
    ("dh_invalid", case_dh_invalid), ("unsolicited", case_unsolicited),
    ("auth_wrong", case_auth_wrong), ("initial_contact", case_initial_contact),
    ("delete_preauth", case_delete_preauth), ("msgid", case_msgid),
    ("fragments", case_fragments), ("esp_flood", case_esp_flood),
    ("pim_genid_storm", case_pim_genid_storm), ("pim_join_at_us", case_pim_join_at_us),
    ("gre_reflect", case_gre_reflect), ("outside_selectors", case_outside_selectors),
    ("oversized", case_oversized),
]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("case")
    r.add_argument("--target", required=True)
    r.add_argument("--src", required=True)
    r.add_argument("--psk", default="evil-psk")
    r.add_argument("--id", default="evil.swl.test")
    r.add_argument("--arg", action="append", default=[])
    jd = sub.add_parser("judge")
    jd.add_argument("case")
    jd.add_argument("before")
    jd.add_argument("after")
    jd.add_argument("result")
    sub.add_parser("list")
    a = ap.parse_args()
    if a.cmd == "list":
        print(" ".join(n for n, _ in CASES))
        return 0
    if a.cmd == "run":
        print(json.dumps(dict(CASES)[a.case](Ctx(a))))
        return 0
    j = judges.Judge(*(json.load(open(f)) for f in (a.before, a.after, a.result)))
    getattr(judges, "judge_" + a.case)(j)
    return 1 if j.failed else 0


if __name__ == "__main__":
    sys.exit(main())
