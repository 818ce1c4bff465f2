#!/usr/bin/env bash
# Half-open flood against a swanless responder (RFC 7296 §2.6 COOKIE defence), with an
# established tunnel from strongSwan carrying a fast ping the whole time.
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
#   inner 10.99.0.1 <-> 10.99.0.2 (net, charon initiates, swanless responds)
# A Python flooder in namespace c sends a bounded burst of FLOOD_COUNT (20 000) IKE_SA_INIT
# requests with random SPIs and nonces from many UDP ports of 192.0.2.2, and reads the
# answers: past the half-open threshold (10) each must be a stateless COOKIE notify.
# During the burst charon brings up a second IKE_SA (conn dc2, child net2 10.99.1.x): it must
# receive our COOKIE, echo it and establish.
# Checks: zero lost pings (ping -i 0.02 through the tunnel during the burst), most of the
# burst answered with COOKIE, the IKE_SA and CHILD_SA still up, swanless's VmRSS grew by
# less than RSS_BOUND_KB, the half-open SAs gone after their 30 s, the cookie counter in
# `swanless status --json` (if the driver exports it).
# Then (B) 100 000 ESP packets with the tunnel's SPI and bad ICVs: every one counted, the
# log bounded (per-packet warnings are rate-limited), the tunnel untouched.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_flood.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
FLOOD_COUNT=${FLOOD_COUNT:-20000}
RSS_BOUND_KB=${RSS_BOUND_KB:-16384}

lab_init fl
lab_pair 10.99.0.2/32 10.99.1.2/32

charon_start c c || die "charon start"
psk="flood-$$"
pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" --esp aes256gcm16 \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel
# A second IKE_SA (conn dc2), initiated during the flood: it must get through the COOKIE.
# (Another IKE proposal, or charon would reuse dc's IKE_SA for it.)
pair_charon_conf "$LAB_DIR/c2.swanctl.conf" "$psk" --conn dc2 --ike aes128-sha256-modp2048 \
  --esp aes256gcm16 --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
swanctl_conf_join "$LAB_DIR/c.swanctl.conf" "$LAB_DIR/c2.swanctl.conf"
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

pair_swanless_conf "$LAB_DIR/s.conf" "$psk" ike=aes256-sha256-modp2048,aes128-sha256-modp2048! \
  esp=aes256gcm16! \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=add \
  --conn net2 leftsubnet=10.99.1.1/32 rightsubnet=10.99.1.2/32 auto=add
swanless_start s s "$LAB_DIR/s.conf" || die "swanless start"
st() { swanless_status s "$@"; }
charon_initiate c c net 10 || die "charon initiate net"
check "ping through the tunnel" ping_check s 10.99.0.2 2
SPID=${LAB_SWL_PID[s]}   # `ip netns exec` execs swanless: this is swanless itself
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
rss0=$(rss)
echo "swanless pid $SPID, VmRSS before: ${rss0} kB"

cat >"$LAB_DIR/flood.py" <<'PY'
# Bounded burst of IKE_SA_INIT requests (random SPIi and Ni) to 192.0.2.1:500 from many
# UDP ports of this namespace's address; counts the answers. Stops by itself.
import os, select, socket, struct, sys, time

count, dst = int(sys.argv[1]), ("192.0.2.1", 500)
def payload(next_type, body):
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body
def transform(last, ttype, tid, attr=b""):
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attr), ttype, 0, tid) + attr
tr = (transform(False, 1, 12, struct.pack("!HH", 0x800E, 256)) + transform(False, 2, 5)
      + transform(False, 3, 12) + transform(True, 4, 14))
prop = struct.pack("!BBHBBBB", 0, 0, 8 + len(tr), 1, 1, 0, 4) + tr
socks = []
for _ in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.0.2.2", 0))
    s.setblocking(False)
    socks.append(s)
answers = cookies = created = other = 0
def drain():
    global answers, cookies, created, other
    for s in socks:
        while True:
            try:
                d = s.recv(4096)
            except BlockingIOError:
                break
            answers += 1
            # header: SPIi SPIr next ver exch flags msgid len; a lone COOKIE notify (16390)
            if len(d) >= 36 and d[16] == 41 and d[19] & 0x20 and d[8:16] == bytes(8) and \
               struct.unpack("!H", d[34:36])[0] == 16390:
                cookies += 1
            elif len(d) > 16 and d[16] == 33:  # an SA payload: the responder kept state
                created += 1
            else:  # stateless refusals (e.g. INVALID_SYNTAX for a KE value out of range)
                other += 1
t0 = time.time()
for i in range(count):
    spi = os.urandom(8)
    ke = payload(40, struct.pack("!HH", 14, 0) + os.urandom(256))
    sa = payload(34, prop)
    nonce = payload(0, os.urandom(32))
    body = sa + ke + nonce
    hdr = spi + bytes(8) + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body))
    try:
        socks[i % len(socks)].sendto(hdr + body, dst)
    except BlockingIOError:
        pass
    if i % 200 == 199:
        time.sleep(0.01)
        drain()
end = time.time() + 2
while time.time() < end:
    select.select(socks, [], [], 0.1)
    drain()
print(f"sent {count} in {time.time() - t0 - 2:.1f}s; answers {answers}, cookie-only {cookies}, half-open {created}, refused {other}")
PY

pings=600   # 12 s at 20/s, covering the burst
lab_bg s "$LAB_DIR/ping.out" ping -n -D -O -i 0.02 -c $pings -W 1 10.99.0.2
PING_PID=$LAB_BG_PID
sleep 1
nsx c timeout 120 python3 "$LAB_DIR/flood.py" "$FLOOD_COUNT" >"$LAB_DIR/flood.out" 2>&1 || fail "flooder failed"
cat "$LAB_DIR/flood.out"
rss1=$(rss)
echo "VmRSS after the burst: ${rss1} kB (before ${rss0} kB)"
st --json >"$LAB_DIR/st1.json"
# Half-open SAs are at the threshold for 30 s: a new IKE_SA from charon must take the cookie.
if charon_initiate c c net2 15; then
  grep -q "generating CREATE_CHILD_SA" "$(_charon_dir c)/initiate-net2.out" \
    && fail "charon put net2 into its existing IKE_SA" \
    || pass "charon brought up a second IKE_SA (net2) during the flood"
  grep -E "IKE_SA_INIT|COOKIE" "$(_charon_dir c)/initiate-net2.out" | head -6
  grep -qE "N\(COOKIE\)" "$(_charon_dir c)/initiate-net2.out" \
    && pass "charon received and echoed our COOKIE" || fail "no COOKIE seen by charon"
  check "ping through net2" ping_check s 10.99.1.2 3
else
  fail "charon could not bring up a second IKE_SA during the flood"
fi
wait_for "! kill -0 $PING_PID" 30 || fail "ping did not finish"

line=$(grep -E 'packets transmitted' "$LAB_DIR/ping.out")
echo "ping: $line"
tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$line")
rx=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$line")
[ -n "$tx" ] && [ "$tx" -ge $((pings * 9 / 10)) ] && [ "$rx" = "$tx" ] \
  && pass "ping -i 0.02 through the tunnel during the flood: $rx/$tx, zero lost" \
  || { fail "lost pings during the flood ($line)"; grep 'no answer yet' "$LAB_DIR/ping.out" | head; }

cookies=$(sed -n 's/.*cookie-only \([0-9]*\).*/\1/p' "$LAB_DIR/flood.out")
created=$(sed -n 's/.*half-open \([0-9]*\).*/\1/p' "$LAB_DIR/flood.out")
[ -n "$cookies" ] && [ "$cookies" -ge $((FLOOD_COUNT / 2)) ] \
  && pass "$cookies of $FLOOD_COUNT forged IKE_SA_INIT answered with a stateless COOKIE" \
  || fail "too few COOKIE answers (${cookies:-none} of $FLOOD_COUNT)"
[ -n "$created" ] && [ "$created" -le 10 ] && pass "only $created requests got state (half-open threshold 10)" \
  || fail "${created:-?} requests got state (more half-open SAs than the threshold)"
growth=$((rss1 - rss0))
[ "$growth" -lt "$RSS_BOUND_KB" ] && pass "VmRSS grew by $growth kB (< $RSS_BOUND_KB kB)" \
  || fail "VmRSS grew by $growth kB"
python3 - "$LAB_DIR/st1.json" <<'PY' >"$LAB_DIR/counters.txt"
import json, sys
c = json.load(open(sys.argv[1])).get("counters", {})
for k, v in c.items():
    if "cookie" in k or "half_open" in k:
        print(f"{k} {v}")
PY
cat "$LAB_DIR/counters.txt"
sent=$(awk '/cookies_sent/ {print $2}' "$LAB_DIR/counters.txt")
if [ -z "$sent" ]; then
  fail "swanless status --json has no cookies_sent counter"
else
  [ "$sent" -ge "${cookies:-1}" ] && pass "status counts $sent cookies sent" || fail "cookies_sent=$sent < $cookies seen"
fi

st | grep -qE 'net\{.*INSTALLED' && pass "swanless: CHILD_SA still INSTALLED" || fail "swanless: CHILD_SA gone"
charon_list_sas c c | grep -qE '^dc: .*ESTABLISHED' && pass "charon: its first IKE_SA still ESTABLISHED" \
  || fail "charon: first IKE_SA gone"
# The ~10 half-open SAs expire 30 s after they were made.
if wait_for "[ \$(st | grep -c CONNECTING) -eq 0 ]" 40; then pass "half-open SAs expired"
else st; fail "half-open SAs still there"; fi
check "ping after the flood" ping_check s 10.99.0.2 3

# --- B: 100 000 ESP packets with the tunnel's own inbound SPI and a wrong ICV -------------
# Sequence numbers right of the replay window, so each one reaches the ICV check and fails
# there. Paced at about 20 000/s so that the kernel's socket buffer does not drop any: the
# counters must show every one, while the log grows by a bounded number of lines.
BAD_ICV_COUNT=${BAD_ICV_COUNT:-100000}
child='[k for sa in d["ike_sas"] for k in sa["children"] if k["name"] == "net"][0]'
spi=$(swanless_json s "$child[\"spi_in\"]")
integ() { swanless_json s "$child[\"drops\"].get(\"in_integrity\", 0)"; }
integ0=$(integ)
log=$(swanless_log s)
lines0=$(grep -c 'dropped' "$log")
cat >"$LAB_DIR/badicv.py" <<'PY'
# ESP in UDP (RFC 3948) to 192.0.2.1:4500: SPI, sequence number, 8-byte IV, 64 bytes of
# "ciphertext" and a 16-byte ICV, all but the SPI made up. Paced in bursts of 200 per 10 ms.
import os, socket, struct, sys, time
spi, count = int(sys.argv[1], 16), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 0))
body = os.urandom(8 + 64 + 16)
t0 = time.time()
for i in range(count):
    s.sendto(struct.pack("!II", spi, 0x40000000 + i) + body, ("192.0.2.1", 4500))
    if i % 200 == 199:
        time.sleep(max(0.0, t0 + (i + 1) / 20000.0 - time.time()))
print(f"sent {count} in {time.time() - t0:.1f}s")
PY
if [ -z "$spi" ] || [ -z "$integ0" ]; then
  fail "B: no inbound SPI for net in status --json"
else
  nsx c timeout 60 python3 "$LAB_DIR/badicv.py" "$spi" "$BAD_ICV_COUNT" || fail "B: sender failed"
  want=$((integ0 + BAD_ICV_COUNT))
  wait_for "[ \"\$(integ)\" = $want ]" 10
  integ1=$(integ)
  check "B: all $BAD_ICV_COUNT bad-ICV packets counted (in_integrity $integ0 -> $integ1)" test "$integ1" = "$want"
  lines1=$(grep -c 'dropped' "$log")
  check "B: the log grew by $((lines1 - lines0)) drop lines for $BAD_ICV_COUNT drops (at most 5 per 10 s)" \
    test $((lines1 - lines0)) -le 10
  check "B: a line says how many drops were not logged one by one" \
    wait_log "$log" "ESP: [0-9]+ more packets dropped \\(integrity\\)" 15
  grep -E 'ESP.*dropped' "$log" | tail -3
  check "B: ping through the tunnel after the bad-ICV flood" ping_check s 10.99.0.2 3
  swanless_has s 'net\{.*INSTALLED' && pass "B: CHILD_SA still INSTALLED" || fail "B: CHILD_SA gone"
fi
charon_stop c
lab_summary
