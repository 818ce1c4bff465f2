"""An IKEv2 (RFC 7296) and ESP (RFC 4303, RFC 4106, RFC 3948) encoder that is not swanless's.

Written from the RFCs for the adversarial suite: every byte swanless receives from the
hostile peer is built here, with python3-cryptography for AES and X25519 and Python's own
integers for MODP. One suite only, the seed's: IKE aes256-sha256-modp2048 (AES-CBC-256,
HMAC-SHA-256-128, PRF-HMAC-SHA-256, group 14, or group 31 for speed) and ESP aes256gcm16.

The pieces are deliberately loose (payload bytes in, bytes out) so that a test can cut,
stretch, repeat or reorder any of them; `Initiator` strings them into a real, authenticated
IKE_SA with one CHILD_SA when asked to behave.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from pim_join import inet_checksum  # noqa: E402  (the lab's PIM encoder, also not swanless's)

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# exchange types, flags
IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL = 34, 35, 36, 37
F_INITIATOR, F_RESPONSE = 0x08, 0x20
# payload types
NONE, SA, KE, IDI, IDR, CERT, CERTREQ, AUTH, NONCE, N, D, V, TSI, TSR, SK = (
    0, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46)
SKF = 53
# notify message types
UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_IKE_SPI, INVALID_SYNTAX, INVALID_MESSAGE_ID = 1, 4, 7, 9
NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, AUTHENTICATION_FAILED, TS_UNACCEPTABLE = 14, 17, 24, 38
INITIAL_CONTACT, NAT_D_SRC, NAT_D_DST, COOKIE = 16384, 16388, 16389, 16390
FRAGMENTATION_SUPPORTED = 16430
NOTIFY_NAMES = {1: "UNSUPPORTED_CRITICAL_PAYLOAD", 4: "INVALID_IKE_SPI", 7: "INVALID_SYNTAX",
                9: "INVALID_MESSAGE_ID", 14: "NO_PROPOSAL_CHOSEN", 17: "INVALID_KE_PAYLOAD",
                24: "AUTHENTICATION_FAILED", 38: "TS_UNACCEPTABLE", 16390: "COOKIE"}

# RFC 3526 group 14
MODP2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0B"
    "FF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55"
    "D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C"
    "08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF", 16)


def payload(next_type, body, critical=False):
    """Generic payload header (RFC 7296 §3.2) around body."""
    return struct.pack("!BBH", next_type, 0x80 if critical else 0, 4 + len(body)) + body


def chain(items):
    """[(type, body[, critical])...] -> (first type, bytes) with each header naming the next."""
    out = b""
    for i, it in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else NONE
        out += payload(nxt, it[1], len(it) > 2 and it[2])
    return (items[0][0] if items else NONE), out


def header(spi_i, spi_r, first, exchange, flags, msgid, length):
    return spi_i + spi_r + struct.pack("!BBBBII", first, 0x20, exchange, flags, msgid, length)


def message(spi_i, spi_r, exchange, flags, msgid, items):
    first, body = chain(items)
    return header(spi_i, spi_r, first, exchange, flags, msgid, 28 + len(body)) + body


def transform(last, ttype, tid, attrs=b""):
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs


def keylen(bits):
    return struct.pack("!HH", 0x800E, bits)


def proposal(num, proto, spi, transforms, last=True):
    body = b"".join(transform(i == len(transforms) - 1, *t) for i, t in enumerate(transforms))
    return struct.pack("!BBHBBBB", 0 if last else 2, 0, 8 + len(spi) + len(body), num, proto,
                       len(spi), len(transforms)) + spi + body


def ike_proposal(group=14):
    return proposal(1, 1, b"", [(1, 12, keylen(256)), (2, 5), (3, 12), (4, group)])


def esp_proposal(spi):
    return proposal(1, 3, spi, [(1, 20, keylen(256)), (5, 0)])


def notify(ntype, data=b"", proto=0, spi=b""):
    return struct.pack("!BBH", proto, len(spi), ntype) + spi + data


def parse_payloads(first, data):
    """[(type, critical, body)] of a payload chain; raises ValueError when malformed."""
    out, nxt, off = [], first, 0
    while nxt != NONE:
        if off + 4 > len(data):
            raise ValueError("truncated payload header")
        n, flags, length = struct.unpack_from("!BBH", data, off)
        if length < 4 or off + length > len(data):
            raise ValueError("bad payload length")
        out.append((nxt, bool(flags & 0x80), data[off + 4:off + length]))
        if nxt in (SK, SKF):
            out[-1] = (nxt, bool(flags & 0x80), data[off + 4:off + length], n)
            break
        nxt, off = n, off + length
    return out


def parse_message(data):
    if len(data) < 28:
        raise ValueError("short IKE message")
    spi_i, spi_r = data[:8], data[8:16]
    first, ver, exch, flags, msgid, length = struct.unpack_from("!BBBBII", data, 16)
    return {"spi_i": spi_i, "spi_r": spi_r, "first": first, "exchange": exch, "flags": flags,
            "msgid": msgid, "length": length,
            "payloads": parse_payloads(first, data[28:length])}


def notifies(payloads):
    return [struct.unpack_from("!H", p[2], 2)[0] for p in payloads if p[0] == N and len(p[2]) >= 4]


def prf(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def prf_plus(key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


class Dh:
    """Our half of a key exchange: group 14 (MODP-2048) or 31 (Curve25519)."""

    def __init__(self, group):
        self.group = group
        if group == 14:
            self.x = int.from_bytes(os.urandom(32), "big")
            self.public = pow(2, self.x, MODP2048_P).to_bytes(256, "big")
        elif group == 31:
            self.key = X25519PrivateKey.generate()
            self.public = self.key.public_key().public_bytes_raw() \
                if hasattr(self.key.public_key(), "public_bytes_raw") else \
                self.key.public_key().public_bytes(*_raw_encoding())
        else:
            raise ValueError(f"group {group}")

    def shared(self, peer):
        if self.group == 14:
            return pow(int.from_bytes(peer, "big"), self.x, MODP2048_P).to_bytes(256, "big")
        return self.key.exchange(X25519PublicKey.from_public_bytes(peer))


def _raw_encoding():
    from cryptography.hazmat.primitives import serialization
    return serialization.Encoding.Raw, serialization.PublicFormat.Raw


class IkeKeys:
    def __init__(self, ni, nr, shared, spi_i, spi_r):
        skeyseed = prf(ni + nr, shared)
        k = prf_plus(skeyseed, ni + nr + spi_i + spi_r, 7 * 32)
        self.d, self.ai, self.ar, self.ei, self.er, self.pi, self.pr = \
            (k[i * 32:(i + 1) * 32] for i in range(7))


def sk_seal(keys, hdr_fields, items, initiator=True):
    """An SK payload message (RFC 7296 §3.14): AES-CBC-256 + HMAC-SHA-256-128.
    hdr_fields: (spi_i, spi_r, exchange, flags, msgid)."""
    first, inner = chain(items)
    return sk_seal_raw(keys, hdr_fields, first, inner, initiator)


def sk_seal_raw(keys, hdr_fields, first, inner, initiator=True):
    """sk_seal of an inner payload chain given as bytes (which may be malformed)."""
    pad = (16 - (len(inner) + 1) % 16) % 16
    plain = inner + bytes(pad) + bytes([pad])
    iv = os.urandom(16)
    ek, ak = (keys.ei, keys.ai) if initiator else (keys.er, keys.ar)
    enc = Cipher(algorithms.AES(ek), modes.CBC(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    sk_len = 4 + 16 + len(ct) + 16
    spi_i, spi_r, exch, flags, msgid = hdr_fields
    head = header(spi_i, spi_r, SK, exch, flags, msgid, 28 + sk_len) + \
        struct.pack("!BBH", first, 0, sk_len) + iv + ct
    return head + hmac.new(ak, head, hashlib.sha256).digest()[:16]


def sk_open(keys, data, initiator=True):
    """Verify and decrypt a message sealed by the other side; returns (msg dict, payloads)."""
    msg = parse_message(data)
    sk = [p for p in msg["payloads"] if p[0] == SK]
    if not sk:
        return msg, msg["payloads"]
    ek, ak = (keys.er, keys.ar) if initiator else (keys.ei, keys.ai)
    length = msg["length"]
    if not hmac.compare_digest(hmac.new(ak, data[:length - 16], hashlib.sha256).digest()[:16],
                               data[length - 16:length]):
        raise ValueError("bad ICV on the answer")
    body = sk[0][2]
    iv, ct = body[:16], body[16:-16]
    dec = Cipher(algorithms.AES(ek), modes.CBC(iv)).decryptor()
    plain = dec.update(ct) + dec.finalize()
    plain = plain[:len(plain) - 1 - plain[-1]]
    return msg, parse_payloads(sk[0][3], plain)


class EspSa:
    """One direction of an aes256gcm16 ESP SA (RFC 4106): 32-byte key + 4-byte salt."""

    def __init__(self, spi, keymat):
        self.spi, self.aead, self.salt, self.seq = spi, AESGCM(keymat[:32]), keymat[32:36], 0

    def seal(self, inner, next_header=4, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        pad = (4 - (len(inner) + 2) % 4) % 4
        plain = inner + bytes(range(1, pad + 1)) + bytes([pad, next_header])
        iv = os.urandom(8)
        aad = self.spi + struct.pack("!I", seq)
        return aad + iv + self.aead.encrypt(self.salt + iv, plain, aad)

    def open(self, pkt):
        aad, iv = pkt[:8], pkt[8:16]
        plain = self.aead.decrypt(self.salt + iv, pkt[16:], aad)
        pad, nh = plain[-2], plain[-1]
        return plain[:len(plain) - 2 - pad], nh


def ipv4(src, dst, proto, body, ttl=64, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:] + body


def udp(sport, dport, body):
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def gre(inner, proto=0x0800):
    return struct.pack("!HH", 0, proto) + inner


class Initiator:
    """A PSK initiator toward a swanless responder, over UDP, with NAT-T forced (the NAT-D
    hashes are wrong on purpose) so that IKE_AUTH and ESP use port 4500 with our own
    ephemeral ports. Every step can be done alone, so a test can stop or deviate anywhere."""

    def __init__(self, local, remote, psk, idi, group=31, timeout=2.0):
        self.local, self.remote, self.psk, self.idi, self.group = local, remote, psk, idi, group
        self.s500 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s500.bind((local, 0))
        self.s4500 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s4500.bind((local, 0))
        for s in (self.s500, self.s4500):
            s.settimeout(timeout)
        self.spi_i, self.spi_r = os.urandom(8), bytes(8)
        self.ni = os.urandom(32)
        self.msgid = 0
        self.keys = None
        self.child_in = self.child_out = None   # EspSa toward / from swanless

    # --- transport
    def send500(self, data):
        self.s500.sendto(data, (self.remote, 500))

    def send4500(self, data, marker=True):
        self.s4500.sendto((bytes(4) if marker else b"") + data, (self.remote, 4500))

    def recv(self, sock, timeout=None):
        """The next IKE message on sock (without 4500's marker; ESP arriving meanwhile goes
        to on_esp), or None after the timeout."""
        if timeout is not None:
            sock.settimeout(timeout)
        while True:
            try:
                d = sock.recv(65535)
            except socket.timeout:
                return None
            if sock is not self.s4500:
                return d
            if d[:4] == bytes(4):
                return d[4:]
            if len(d) > 1:   # a NAT keepalive (0xff) is neither
                self.on_esp(d)

    def on_esp(self, pkt):   # overridden by tests that read what swanless sends
        pass

    # --- IKE_SA_INIT
    def init_items(self, group=None, ke_data=None):
        group = group or self.group
        self.dh = Dh(group)
        ke = struct.pack("!HH", group, 0) + (self.dh.public if ke_data is None else ke_data)
        bogus = hashlib.sha1(os.urandom(16)).digest()
        return [(SA, ike_proposal(group)), (KE, ke), (NONCE, self.ni),
                (N, notify(NAT_D_SRC, bogus)), (N, notify(NAT_D_DST, bogus))]

    def init_message(self, items):
        return message(self.spi_i, bytes(8), IKE_SA_INIT, F_INITIATOR, 0, items)

    def sa_init(self, items=None):
        """Sends IKE_SA_INIT; on an answer with SA, KE and Nonce derives the keys. Returns the
        parsed answer (or None)."""
        items = items or self.init_items()
        self.m1 = self.init_message(items)
        self.send500(self.m1)
        ans = self.recv(self.s500)
        if ans is None:
            return None
        msg = parse_message(ans)
        cookie = [p for p in msg["payloads"] if p[0] == N and len(p[2]) >= 4 and
                  struct.unpack_from("!H", p[2], 2)[0] == COOKIE]
        if cookie and not any(it[0] == N and it[1][2:4] == struct.pack("!H", COOKIE) for it in items):
            # RFC 7296 §2.6: the same request again with the COOKIE notify first
            self.cookies_seen = getattr(self, "cookies_seen", 0) + 1
            return self.sa_init([(N, cookie[0][2])] + list(items))
        pl = {p[0]: p for p in msg["payloads"]}
        if SA in pl and KE in pl and NONCE in pl:
            self.spi_r = msg["spi_r"]
            self.nr = pl[NONCE][2]
            shared = self.dh.shared(pl[KE][2][4:])
            self.keys = IkeKeys(self.ni, self.nr, shared, self.spi_i, self.spi_r)
            self.msgid = 1
        return msg

    # --- IKE_AUTH
    def auth_value(self, psk=None, idi_body=None):
        idb = idi_body if idi_body is not None else self.idi_body()
        maced = prf(self.keys.pi, idb)
        key = prf(psk if psk is not None else self.psk, b"Key Pad for IKEv2")
        return prf(key, self.m1 + self.nr + maced)

    def idi_body(self):
        return struct.pack("!BBH", 2, 0, 0) + self.idi.encode()

    def auth_items(self, psk=None, ts_i=("10.44.7.1", "10.44.7.1"),
                   ts_r=("10.44.6.1", "10.44.6.1"), extra=()):
        self.esp_spi_in = os.urandom(4)   # swanless -> us
        auth = struct.pack("!BBH", 2, 0, 0) + self.auth_value(psk)
        return [(IDI, self.idi_body()), (AUTH, auth), *extra, (SA, esp_proposal(self.esp_spi_in)),
                (TSI, ts_i_payload(*ts_i)), (TSR, ts_i_payload(*ts_r))]

    def request(self, exchange, items, msgid=None, over500=False):
        """Seal and send one request; returns the raw bytes sent."""
        mid = self.msgid if msgid is None else msgid
        data = sk_seal(self.keys, (self.spi_i, self.spi_r, exchange, F_INITIATOR, mid), items)
        (self.send500 if over500 else self.send4500)(data)
        return data

    def answer(self, timeout=2.0):
        """The next IKE answer on 4500, decrypted: (msg, payloads) or None."""
        d = self.recv(self.s4500, timeout)
        if d is None:
            return None
        return sk_open(self.keys, d)

    def auth(self, psk=None, **kw):
        self.request(IKE_AUTH, self.auth_items(psk, **kw))
        ans = self.answer()
        if ans is None:
            return None
        msg, pls = ans
        self.msgid += 1
        sa = [p for p in pls if p[0] == SA]
        if sa:
            spi_size = sa[0][2][6]
            spi_out = sa[0][2][8:8 + spi_size]
            km = prf_plus(self.keys.d, self.ni + self.nr, 72)
            self.child_out = EspSa(spi_out, km[:36])          # us -> swanless
            self.child_in = EspSa(self.esp_spi_in, km[36:72])  # swanless -> us
        return msg, pls

    def esp(self, inner, seq=None, next_header=4):
        """Send one ESP-in-UDP packet carrying inner on our CHILD_SA; returns its bytes."""
        pkt = self.child_out.seal(inner, next_header, seq)
        self.s4500.sendto(pkt, (self.remote, 4500))
        return pkt

    def informational(self, items, msgid=None):
        """An INFORMATIONAL request; returns the decrypted answer or None."""
        self.request(INFORMATIONAL, items, msgid)
        ans = self.answer()
        if ans is not None and msgid is None:
            self.msgid += 1
        return ans

    def delete_ike(self):
        """Delete our IKE_SA (RFC 7296 §1.4.1), so that the responder forgets it now."""
        try:
            self.informational([(D, struct.pack("!BBH", 1, 0, 0))])
        except (OSError, ValueError):
            pass

    def close(self):
        self.s500.close()
        self.s4500.close()


def ts_i_payload(first, last):
    return struct.pack("!BBH", 1, 0, 0) + struct.pack("!BBHHH", 7, 0, 16, 0, 65535) + \
        socket.inet_aton(first) + socket.inet_aton(last)


def skf_seal(keys, hdr_fields, first, number, total, inner):
    """One IKE fragment (RFC 7383 §2.5): an SKF payload of `inner` plaintext bytes."""
    pad = (16 - (len(inner) + 1) % 16) % 16
    plain = inner + bytes(pad) + bytes([pad])
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(keys.ei), modes.CBC(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    skf_len = 8 + 16 + len(ct) + 16
    spi_i, spi_r, exch, flags, msgid = hdr_fields
    head = header(spi_i, spi_r, SKF, exch, flags, msgid, 28 + skf_len) + \
        struct.pack("!BBHHH", first if number == 1 else 0, 0, skf_len, number, total) + iv + ct
    return head + hmac.new(keys.ai, head, hashlib.sha256).digest()[:16]
