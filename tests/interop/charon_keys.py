#!/usr/bin/env python3
"""Build tshark key tables (esp_sa, ikev2_decryption_table) from a charon log.

charon prints its keys when its filelog has `ike = 4` and `chd = 4` (level 4 = private
data). This reads such a log plus `swanctl --list-sas` output (for the IKE SPIs, which
the log does not print as such) and writes, into OUTDIR:
  esp_sa                  one line per ESP SA (formats: shared/interop/tshark-keylog.md)
  ikev2_decryption_table  one line per IKE_SA
Usage: charon_keys.py CHARON_LOG LIST_SAS_OUTPUT OUTDIR
Exit status 1 if no key at all was found.

Roles: keys are "initiator"/"responder" keys of the exchange that made the SA. The IKE_SA
role is read from the log ("initiating IKE_SA" in that SA's lines). CHILD_SAs are taken to
share the IKE_SA role, which holds for children made in IKE_AUTH (not for a CREATE_CHILD_SA
started by the IKE responder).
"""
import re
import sys

LINE = re.compile(r"\[(\w+)\] <([^|>]+)\|(\d+)> (.*)$")
DUMP_HEAD = re.compile(r"^(.+?) => (\d+) bytes @ ")
DUMP_ROW = re.compile(r"^\s+\d+: ((?:[0-9A-F]{2} ?)+)")

ESP_ENC = {"AES_CBC": "AES-CBC [RFC3602]",
           "AES_GCM_16": "AES-GCM with 16 octet ICV [RFC4106]",
           "AES_CTR": "AES-CTR [RFC3686]",
           "3DES_CBC": "TripleDES-CBC [RFC2451]",
           "NULL": "NULL"}
ESP_INTEG = {"HMAC_SHA1_96": "HMAC-SHA-1-96 [RFC2404]",
             "HMAC_SHA2_256_128": "HMAC-SHA-256-128 [RFC4868]",
             "HMAC_SHA2_384_192": "HMAC-SHA-384-192 [RFC4868]",
             "HMAC_SHA2_512_256": "HMAC-SHA-512-256 [RFC4868]"}
IKE_INTEG = {"HMAC_SHA1_96": "HMAC_SHA1_96 [RFC2404]",
             "HMAC_SHA2_256_128": "HMAC_SHA2_256_128 [RFC4868]",
             "HMAC_SHA2_384_192": "HMAC_SHA2_384_192 [RFC4868]",
             "HMAC_SHA2_512_256": "HMAC_SHA2_512_256 [RFC4868]"}


def split_alg(name):
    """AES_CBC_256 -> ("AES_CBC", 256); AES_GCM_16_256 -> ("AES_GCM_16", 256)."""
    m = re.match(r"^(.*)_(\d+)$", name)
    if m and m.group(1) in ("AES_CBC", "AES_GCM_16", "AES_CTR"):
        return m.group(1), int(m.group(2))
    return name, 0


def ike_enc_name(alg, bits):
    if alg == "AES_CBC":
        return "AES-CBC-%d [RFC3602]" % bits
    if alg == "AES_GCM_16":
        return "AES-GCM-%d with 16 octet ICV [RFC5282]" % bits
    raise KeyError(alg)


def parse_log(path):
    """Yield (sa_key, event, payload) tuples: dumps, proposals, SPI lines."""
    sas = {}  # (conn, uid) -> dict
    cur = None  # (sa, label, bytes, hexparts)
    order = []

    def sa(conn, uid):
        k = (conn, uid)
        if k not in sas:
            sas[k] = {"role": "responder", "ike_prop": None, "ike_keys": {},
                      "children": [], "esp_prop": None, "child_keys": {}, "pending": []}
            order.append(k)
        return sas[k]

    def finish_dump():
        nonlocal cur
        if cur:
            s, label, n, parts = cur
            data = "".join(parts).lower()
            if len(data) == 2 * n:
                if label.startswith("Sk_") and label.endswith(" secret"):
                    s["ike_keys"][label[:-7]] = data
                elif label.endswith(" key") and label.split()[0] in ("encryption", "integrity"):
                    s["child_keys"][label] = data
        cur = None

    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.search(raw)
            if not m:
                finish_dump()
                continue
            conn, uid, msg = m.group(2), m.group(3), m.group(4)
            s = sa(conn, uid)
            row = DUMP_ROW.match(msg)
            if cur and row and cur[0] is s:
                cur[3].append(row.group(1).replace(" ", ""))
                continue
            finish_dump()
            head = DUMP_HEAD.match(msg)
            if head:
                cur = (s, head.group(1).strip(), int(head.group(2)), [])
                continue
            if msg.startswith("initiating IKE_SA"):
                s["role"] = "initiator"
            pm = re.match(r"selected proposal: (IKE|ESP):(\S+)", msg)
            if pm:
                if pm.group(1) == "IKE":
                    s["ike_prop"] = pm.group(2).split("/")
                else:
                    s["esp_prop"] = pm.group(2).split("/")
                    s["child_keys"] = {}
                continue
            dm = re.match(r"adding (inbound|outbound) ESP SA", msg)
            if dm:
                s["pending"].append(dm.group(1))
                continue
            sm = re.match(r"\s*SPI 0x([0-9a-f]+), src (\S+) dst (\S+)", msg)
            if sm and s["pending"]:
                direction = s["pending"].pop(0)
                s["children"].append({"dir": direction, "spi": sm.group(1), "src": sm.group(2),
                                      "dst": sm.group(3), "prop": s["esp_prop"],
                                      "keys": dict(s["child_keys"])})
        finish_dump()
    return [(k, sas[k]) for k in order]


def ike_spis(list_sas_path):
    """(conn, uid) -> (spi_i, spi_r) from `swanctl --list-sas` output."""
    out = {}
    with open(list_sas_path) as f:
        for line in f:
            m = re.match(r"^(\S+): #(\d+), \w+, IKEv2, ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r", line)
            if m:
                out[(m.group(1), m.group(2))] = (m.group(3), m.group(4))
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    log, list_sas, outdir = sys.argv[1:]
    spis = ike_spis(list_sas)
    esp_lines, ike_lines = [], []
    for key, s in parse_log(log):
        k = s["ike_keys"]
        if s["ike_prop"] and key in spis and all(x in k for x in ("Sk_ei", "Sk_er")):
            alg, bits = split_alg(s["ike_prop"][0])
            try:
                enc = ike_enc_name(alg, bits)
                aead = alg.startswith("AES_GCM")
                integ = "NONE [RFC4306]" if aead else IKE_INTEG[s["ike_prop"][1]]
                ai, ar = ("", "") if aead else (k["Sk_ai"], k["Sk_ar"])
                spi_i, spi_r = spis[key]
                ike_lines.append('%s,%s,%s,%s,"%s",%s,%s,"%s"' % (
                    spi_i, spi_r, k["Sk_ei"], k["Sk_er"], enc, ai, ar, integ))
            except KeyError as e:
                print("charon_keys: no tshark name for IKE algorithm %s" % e, file=sys.stderr)
        for c in s["children"]:
            prop = c["prop"] or []
            if not prop:
                continue
            alg, _ = split_alg(prop[0])
            aead = alg.startswith("AES_GCM")
            # our outbound SA uses the keys of our role in the exchange
            mine = s["role"] if c["dir"] == "outbound" else (
                "responder" if s["role"] == "initiator" else "initiator")
            ek = c["keys"].get("encryption %s key" % mine)
            ik = c["keys"].get("integrity %s key" % mine)
            if ek is None or (not aead and ik is None):
                continue
            try:
                enc = ESP_ENC[alg]
                integ = "NULL" if aead else ESP_INTEG[prop[1]]
            except KeyError as e:
                print("charon_keys: no tshark name for ESP algorithm %s" % e, file=sys.stderr)
                continue
            fam = "IPv6" if ":" in c["src"] else "IPv4"
            esp_lines.append('"%s","%s","%s","0x%s","%s","0x%s","%s","%s"' % (
                fam, c["src"], c["dst"], c["spi"], enc, ek, integ,
                "" if aead else "0x" + ik))
    with open(outdir + "/esp_sa", "w") as f:
        f.write("".join(l + "\n" for l in esp_lines))
    with open(outdir + "/ikev2_decryption_table", "w") as f:
        f.write("".join(l + "\n" for l in ike_lines))
    print("charon_keys: %d ESP SA(s), %d IKE_SA(s)" % (len(esp_lines), len(ike_lines)))
    return 0 if esp_lines or ike_lines else 1


if __name__ == "__main__":
    sys.exit(main())
