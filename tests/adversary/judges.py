"""The judging half of tests/adversary/adversary.py: what swanless must have done in each
case, from its `status --json` before and after and from what the attacker saw. One
judge_CASE(j) per case of adversary.CASES; each check prints "ok ..." or "FAIL ..."."""
from ikecraft import AUTHENTICATION_FAILED, COOKIE, INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD


class Judge:
    def __init__(self, before, after, res):
        self.b, self.a, self.r, self.failed = before, after, res, 0

    def ok(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failed += 1

    def d(self, path):
        def get(doc):
            x = doc
            for k in path.split("."):
                if isinstance(x, list):
                    x = next((e for e in x if e.get("name") == k), {})
                else:
                    x = x.get(k, 0) if isinstance(x, dict) else 0
            return x if isinstance(x, (int, float)) else 0
        return get(self.a) - get(self.b)

    def sa(self, doc, conn):
        return [(s["spi_i"], s["spi_r"], [c["spi_in"] for c in s["children"]])
                for s in doc["ike_sas"] if s["name"] == conn and s["state"] == "ESTABLISHED"]

    def real_untouched(self):
        self.ok(self.sa(self.b, "net") and self.sa(self.a, "net") == self.sa(self.b, "net"),
                f"the real peer's IKE_SA and CHILD_SA are the same before and after: {self.sa(self.a, 'net')}")

    def no_state(self, answers):
        # a lone COOKIE would mean the message never reached the check it is for
        bad = {k: v for k, v in answers.items() if v in ("sa", str(COOKIE))}
        self.ok(not bad, f"no IKE_SA_INIT answer with an SA payload (state kept) for {len(answers)} "
                f"messages; answers: {sorted(set(answers.values()))}" + (f"; kept state: {bad}" if bad else ""))


def judge_wire_check(j):
    for s in j.a["ike_sas"]:
        for c in s["children"]:
            if c["spi_in"] == j.r["spi"]:
                j.ok(c["packets_in"] == j.r["esp"], f"swanless took the {j.r['esp']} ESP packets: {c['packets_in']}")
                return
    j.ok(False, "the attacker's CHILD_SA is not in the status")


def judge_init_malformed(j):
    j.no_state(j.r["answers"])
    j.ok(j.d("counters.ike_malformed") >= j.r["sent"],
         f"each counted as malformed: ike_malformed +{j.d('counters.ike_malformed')} for {j.r['sent']}")


def judge_auth_malformed(j):
    a = dict(j.r["answers"])
    crit = a.pop("unknown critical payload")
    bad = {k: v for k, v in a.items() if v != str(INVALID_SYNTAX)}
    j.ok(not bad, f"malformed IKE_AUTH payloads answered INVALID_SYNTAX (encrypted), none established: "
         f"{sorted(set(a.values()))}" + (f"; wrong: {bad}" if bad else ""))
    j.ok(crit == str(UNSUPPORTED_CRITICAL_PAYLOAD), f"unknown critical payload in IKE_AUTH: "
         f"UNSUPPORTED_CRITICAL_PAYLOAD in the encrypted answer, got {crit}")
    j.ok(j.d("counters.ike_malformed") >= len(a), f"counted: ike_malformed +{j.d('counters.ike_malformed')}")


def judge_critical(j):
    a = j.r["answers"]
    j.ok(a["unknown 200, critical"] == str(UNSUPPORTED_CRITICAL_PAYLOAD),
         f"unknown critical payload: UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 §2.5), got {a['unknown 200, critical']}")
    j.ok(a["unknown 201, not critical"] == "sa", f"unknown non-critical payload skipped, normal answer: {a['unknown 201, not critical']}")
    j.ok(a["KE with the critical bit"] == "sa", f"critical bit on a known payload ignored: {a['KE with the critical bit']}")


def judge_duplicates(j):
    j.no_state(j.r["answers"])


def judge_ke_group(j):
    j.ok(j.r["invalid_ke_group"] == 14, f"INVALID_KE_PAYLOAD naming group 14: {j.r['invalid_ke_group']}")
    j.ok(j.r["retry_answered"], "the retry with group 14 is answered")


def judge_dh_invalid(j):
    j.no_state(j.r["answers"])


def judge_unsolicited(j):
    a = j.r["answers"]
    j.ok(set(a.values()) == {"none"}, f"no answer to responses never asked for: {a}")
    j.ok(j.d("counters.ike_rx") >= 2, "both seen by the IKE engine")


def judge_auth_wrong(j):
    j.ok(j.r["answer"] == [AUTHENTICATION_FAILED], f"answer AUTHENTICATION_FAILED: {j.r['answer']}")
    j.ok(not j.r["child"], "no CHILD_SA for it")
    j.ok(j.d("counters.ike_auth_failures") == 1, f"ike_auth_failures +{j.d('counters.ike_auth_failures')}")


def judge_initial_contact(j):
    j.ok(j.r["answer"] in ([AUTHENTICATION_FAILED], None), f"refused: {j.r['answer']}")
    j.real_untouched()


def judge_delete_preauth(j):
    j.real_untouched()
    a = j.r["answers"]
    j.ok(a["plain Delete(victim IKE)"] == "none", f"unprotected Delete not answered: {a['plain Delete(victim IKE)']}")


def judge_msgid(j):
    j.ok(j.r["first"], "an INFORMATIONAL request answered")
    j.ok(j.r["replay_answered"] and j.r["replay_same_msgid"],
         "the replayed request gets the cached answer again (RFC 7296 §2.1)")
    j.ok(not any(j.r["jumps_answered"].values()), f"message IDs out of the window not answered: {j.r['jumps_answered']}")
    j.ok(j.r["after"], "the next request in order is answered: the IKE_SA is intact")


def judge_fragments(j):
    j.ok(j.r["half_open"] > 0 and j.r["fragments"] > 0,
         f"{j.r['fragments']} fragments on {j.r['half_open']} half-open IKE_SAs, none complete")
    # authentic fragments: taken into reassembly (not dropped as malformed or forged), so it
    # is the reassembly limits (64 fragments, 64 KiB per message) that bound the memory
    j.ok(j.d("counters.ike_malformed") == 0 and j.d("counters.ike_bad_integrity") == 0,
         "every fragment authentic and taken into reassembly")
    j.ok(j.d("counters.ike_cookies_sent") > 0, f"past the threshold the attacker had to return COOKIEs "
         f"({j.d('counters.ike_cookies_sent')})")


def judge_esp_flood(j):
    s = j.r["sent"]
    got = {"unknown_spi": j.d("counters.esp_unknown_spi"),
           "bad_icv": j.d("ike_sas.net.children.net.drops.in_integrity"),
           "replay": child_drops(j, "in_replay"),
           "ike_garbage": j.d("counters.ike_malformed") + j.d("counters.ike_unknown_spi")}
    print(f"info sent {j.r['total']} in {j.r['seconds']} s ({j.r['rate']}/s): {s}; counted {got}")
    lost = j.r.get("rcvbuf_errors", 0)
    for k in got:
        # every packet counted by its reason, save what the kernel dropped before swanless
        # read it (receive buffer full, reported by the suite)
        j.ok(s[k] - lost <= got[k] <= s[k], f"{k}: {got[k]} counted of {s[k]} sent")


def judge_pim_genid_storm(j):
    restarts = j.d("pim.upstream.neighbor_restarts")
    joins = j.d("pim.upstream.joins_sent")
    bound = int(j.r["seconds"]) + 3
    j.ok(restarts >= j.r["hellos"] - 2, f"restarts counted: {restarts} of {j.r['hellos']}")
    j.ok(joins <= bound, f"Joins sent during the storm bounded: {joins} (seen {j.r['joins_seen']}) "
         f"for {j.r['hellos']} Hellos in {j.r['seconds']} s, bound {bound}")
    j.ok(j.d("pim.upstream.triggers_deferred") > 0, f"triggers_deferred +{j.d('pim.upstream.triggers_deferred')}")


def judge_pim_join_at_us(j):
    n = j.d("pim.upstream.drops.rx_ignored_type")
    j.ok(n == j.r["sent"], f"Join/Prunes dropped as not acted on (rx_ignored_type): {n} of {j.r['sent']}")
    j.ok(j.d("pim.upstream.prunes_sent") == 0, "swanless sent no Prune of its own")
    joined = next(p for p in j.a["pim"] if p["name"] == "upstream")["joined"]
    j.ok(joined, "still joined to 239.1.1.1")


def judge_gre_reflect(j):
    j.ok(j.r["real_answered"] == 1, f"the real keepalive answered: {j.r['real_answered']}")
    j.ok(j.d("gre.gre1.drops.keepalive_wrong_dst") == j.r["wrong_dst_sent"],
         f"third-address keepalives dropped: {j.d('gre.gre1.drops.keepalive_wrong_dst')} of {j.r['wrong_dst_sent']}")
    j.ok(j.d("gre.gre1.drops.keepalive_wrong_src") == j.r["wrong_src_sent"],
         f"wrong-source keepalives dropped: {j.d('gre.gre1.drops.keepalive_wrong_src')} of {j.r['wrong_src_sent']}")
    j.ok(j.d("gre.gre1.keepalives_answered") == 1, f"keepalives_answered +{j.d('gre.gre1.keepalives_answered')}")


def child_drops(j, reason):
    """A drop counter of the attacker's CHILD_SA of this case (swanless's inbound SPI)."""
    for s in j.a["ike_sas"]:
        for c in s["children"]:
            if c["spi_in"] == j.r["spi"]:
                return c.get("drops", {}).get(reason, 0)
    return -1


def judge_outside_selectors(j):
    n = child_drops(j, "in_policy")
    j.ok(n == j.r["sent"], f"inner packets outside the selectors dropped (policy): {n} of {j.r['sent']}")


def judge_oversized(j):
    esp = child_drops(j, "in_bad_inner")
    outer, inner = j.d("gre.gre1.drops.outer_malformed"), j.d("gre.gre1.drops.inner_malformed")
    n = j.r["sent_each"]
    j.ok(esp + outer == 2 * n, f"lying IPv4 headers in ESP dropped: {esp} by ESP (bad_inner), {outer} by GRE "
         f"(outer_malformed), of {2 * n}")
    j.ok(inner == n, f"GRE carrying a lying IPv4 packet dropped (inner_malformed): {inner} of {n}")
    big = j.d("pim.upstream.datagrams_delivered")
    print(f"info 9000-byte GRE packets in fragmented ESP: {big} of {n} delivered to the local socket")
