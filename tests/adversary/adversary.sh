#!/usr/bin/env bash
# Adversarial suite (issue 16): hostile peers and hostile traffic against a swanless
# responder while a real strongSwan tunnel carries a fixed-rate stream beside them.
#   s: swanless 192.0.2.1 (veth s0)  <--->  c: charon 192.0.2.2 and the attacker 192.0.2.3 (c0)
#   conn net: charon <-> swanless, inner 10.99.0.2 <-> 10.99.0.1, the stream runs here
#   conn evil: the attacker's own PSK conn (10.44.7.1 <-> 10.44.6.1) with gre1 and a pim
#              section over it: a hostile but authenticated datacenter
# Every attacker packet comes from tests/adversary/adversary.py (ikecraft.py: an IKEv2/ESP
# encoder written from the RFCs, not swanless's). Each case is judged from swanless's
# `status --json` before and after and from what came back to the attacker; then:
# swanless alive, the real IKE_SA and CHILD_SA unchanged, and at the end the stream has
# lost nothing.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/adversary/adversary.sh [CASE...]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../interop/lib.sh"
lab_swanless_bin
ADV=$here/adversary.py
# Debian's Python with Debian's python3-cryptography (install-deps), whatever else is on PATH
PY=/usr/bin/python3
$PY -c 'import cryptography' 2>/dev/null || { echo "adversary: $PY has no cryptography module (python3-cryptography)"; exit 1; }
STREAM_RATE=${STREAM_RATE:-500}
FLOOD_RATE=${FLOOD_RATE:-100000}

lab_init adv
lab_pair 10.99.0.2/32
ns_addr c c0 192.0.2.3/24 || die "attacker address"

charon_start c c || die "charon start"
psk="adversary-$$"
pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" --esp aes256gcm16 \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

cat >"$LAB_DIR/s.conf" <<EOF
config setup
    socket=$LAB_DIR/s.sock
    keylog=$LAB_DIR/s.keys

conn %default
    keyexchange=ikev2
    authby=secret
    left=192.0.2.1
    leftid=s.swl.test
    ike=aes256-sha256-modp2048,aes256-sha256-x25519,aes256-sha256-ecp256!
    esp=aes256gcm16!

conn net
    right=192.0.2.2
    rightid=c.swl.test
    leftsubnet=10.99.0.1/32
    rightsubnet=10.99.0.2/32
    auto=add

conn evil
    right=192.0.2.3
    rightid=evil.swl.test
    leftsubnet=10.44.6.1/32
    rightsubnet=10.44.7.1/32
    auto=add

gre gre1
    conn=evil
    local=10.44.6.1
    remote=10.44.7.1
    address=10.44.4.6/30
    peer=10.44.4.5
    keepalive=reply

pim upstream
    interface=gre1
    neighbor=10.44.4.5
    rp=198.18.30.253
    groups=239.1.1.1
    deliver=udp:127.0.0.1:5000
EOF
printf 's.swl.test c.swl.test : PSK "%s"\ns.swl.test evil.swl.test : PSK "evil-psk"\n' "$psk" \
  >"$LAB_DIR/s.secrets"
chmod 600 "$LAB_DIR/s.secrets"
swanless_start s s "$LAB_DIR/s.conf" || die "swanless start"
charon_initiate c c net 10 || die "charon initiate net"
check "ping through the real tunnel" ping_check s 10.99.0.2 2
SPID=${LAB_SWL_PID[s]}

st_json() { swanless_status s --json >"$1" 2>/dev/null; }
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
st_json "$LAB_DIR/st0.json" || die "status --json"
net_spi_i=$(j "$LAB_DIR/st0.json" '[s for s in d["ike_sas"] if s["name"]=="net"][0]["spi_i"]')
net_spi_r=$(j "$LAB_DIR/st0.json" '[s for s in d["ike_sas"] if s["name"]=="net"][0]["spi_r"]')
net_in=$(j "$LAB_DIR/st0.json" '[s for s in d["ike_sas"] if s["name"]=="net"][0]["children"][0]["spi_in"]')
net_out=$(j "$LAB_DIR/st0.json" '[s for s in d["ike_sas"] if s["name"]=="net"][0]["children"][0]["spi_out"]')
echo "real peer: IKE SPIs $net_spi_i/$net_spi_r, CHILD_SA $net_in (in) / $net_out (out)"

# The stream through the real tunnel, for the whole suite (stopped at the end).
stream_start real c 10.99.0.2 s 10.99.0.1 6100 "$STREAM_RATE" 900 || die "stream start"
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SPID/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SPID/status"; }
rcvbuf_errors() { nsx s awk '/^Udp:/ && ++n == 2 {print $6}' /proc/net/snmp; }
log_lines() { wc -l <"$(swanless_log s)"; }

cases=("$@")
[ ${#cases[@]} -gt 0 ] || read -r -a cases <<<"$($PY "$ADV" list)"
for c in "${cases[@]}"; do
  args=(--arg "victim_spi_i=$net_spi_i" --arg "victim_spi_r=$net_spi_r"
        --arg "victim_spi_in=$net_in" --arg "victim_child_spi=$net_out" --arg "rate=$FLOOD_RATE")
  st_json "$LAB_DIR/$c.before.json"
  t0=$(cpu_ticks) r0=$(rss_kb) b0=$(rcvbuf_errors) l0=$(log_lines) w0=$(date +%s%N)
  echo "--- case $c"
  [ "$c" = wire_check ] && capture_start s s0 "$LAB_DIR/wire.pcap" host 192.0.2.3
  if ! nsx c timeout 120 $PY "$ADV" run "$c" --target 192.0.2.1 --src 192.0.2.3 "${args[@]}" \
      >"$LAB_DIR/$c.result.json" 2>"$LAB_DIR/$c.err"; then
    fail "$c: the attacker failed: $(tail -3 "$LAB_DIR/$c.err")"
    continue
  fi
  sleep 0.3
  st_json "$LAB_DIR/$c.after.json" || { fail "$c: no status after the case"; continue; }
  t1=$(cpu_ticks) r1=$(rss_kb) b1=$(rcvbuf_errors) l1=$(log_lines) w1=$(date +%s%N)
  # what the kernel dropped for a full receive buffer, for the judge (counted nowhere else)
  python3 -c 'import json,sys; f=sys.argv[1]; r=json.load(open(f)); r["rcvbuf_errors"]=int(sys.argv[2]); json.dump(r, open(f, "w"))' \
    "$LAB_DIR/$c.result.json" $((b1 - b0))
  $PY "$ADV" judge "$c" "$LAB_DIR/$c.before.json" "$LAB_DIR/$c.after.json" \
    "$LAB_DIR/$c.result.json" >"$LAB_DIR/$c.judge" 2>&1
  rc=$?
  sed 's/^/    /' "$LAB_DIR/$c.judge"
  cpu=$(awk -v t=$((t1 - t0)) -v w=$((w1 - w0)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.0f", 100 * t / hz / (w / 1e9) }')
  echo "    swanless: CPU ${cpu}% of one core during the case, VmRSS ${r0} -> ${r1} kB," \
       "$((l1 - l0)) log lines, $((b1 - b0)) UDP receive-buffer drops"
  case $c in
    wire_check)
      capture_stop "$LAB_DIR/wire.pcap"
      check "wire_check: tshark decrypts the encoder's IKE and ESP with swanless's keylog, nothing malformed" \
        tshark_check_decrypt "$LAB_DIR/wire.pcap" "$LAB_DIR/s.keys" ;;
    esp_flood)
      # bounded logs: per-packet warnings are rate-limited (5 per reason per 10 s + summaries)
      [ $((l1 - l0)) -le 40 ] && pass "esp_flood: log bounded ($((l1 - l0)) lines for the flood)" \
        || fail "esp_flood: $((l1 - l0)) log lines for the flood"
      grep -E "not logged one by one|more" "$(swanless_log s)" | tail -2 | sed 's/^/    log: /' ;;
    fragments)
      [ $((r1 - r0)) -lt 16384 ] && pass "fragments: VmRSS grew by $((r1 - r0)) kB (bound 16 MiB)" \
        || fail "fragments: VmRSS grew by $((r1 - r0)) kB" ;;
  esac
  if ! swanless_alive s; then
    fail "$c: swanless died"; tail -20 "$(swanless_log s)"; break
  fi
  [ $rc -eq 0 ] && pass "$c" || fail "$c (see above)"
done

# Local: the control socket against an unprivileged user and bad clients.
echo "--- case control"
sock=$LAB_DIR/s.sock
nsx s setpriv --reuid=12345 --regid=12345 --clear-groups "$SWANLESS" status --socket "$sock" \
  >"$LAB_DIR/ctl1.out" 2>&1 && fail "control: uid 12345 read a 0660 socket" \
  || pass "control: uid 12345 cannot open the 0660 socket: $(head -1 "$LAB_DIR/ctl1.out")"
chmod 0666 "$sock"   # as a careless bind mount or chmod would
nsx s setpriv --reuid=12345 --regid=12345 --clear-groups "$SWANLESS" down net --socket "$sock" \
  >"$LAB_DIR/ctl2.out" 2>&1 && fail "control: uid 12345 could run down net" \
  || pass "control: down refused for uid 12345 even on a 0666 socket: $(head -1 "$LAB_DIR/ctl2.out")"
chmod 0660 "$sock"
cat >"$LAB_DIR/ctl.py" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(path); s.settimeout(8); return s
def ask(data):
    s = conn(); out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(4096)
            if not b: break
            out += b
    except (ConnectionResetError, BrokenPipeError):
        # the daemon answered and closed while we were still sending: the answer may be lost
        return out.decode(errors="replace").strip() or '{"ok": false, "error": "closed by the daemon"}'
    return out.decode(errors="replace").strip()
res = {"garbage": ask(b"{not json\n"), "array": ask(b"[1,2,3]\n"), "cmd_number": ask(b'{"cmd":5}\n'), "binary": ask(bytes(range(256)) + b"\n"),
       "too_long": ask(b"x" * 70000)}
idle = [conn() for _ in range(40)]
time.sleep(0.3)
busy = 0
for s in idle:
    s.settimeout(0.05)
    try:
        if b"busy" in s.recv(4096): busy += 1
    except socket.timeout:
        pass
t0 = time.time(); closed = 0
for s in idle:
    s.settimeout(8)
    try:
        while s.recv(4096): pass
        closed += 1
    except socket.timeout:
        pass
res.update(idle=len(idle), busy=busy, closed=closed, closed_after_s=round(time.time() - t0, 1),
           status_after=json.loads(ask(b'{"cmd":"status"}\n')).get("ok"))
print(json.dumps(res))
PY
if nsx s python3 "$LAB_DIR/ctl.py" "$sock" >"$LAB_DIR/ctl.json" 2>&1; then
  cat "$LAB_DIR/ctl.json"
  for k in garbage array cmd_number binary too_long; do
    j "$LAB_DIR/ctl.json" "json.loads(d['$k'])['ok'] is False" | grep -q True \
      && pass "control: $k request answered with an error" || fail "control: $k: $(j "$LAB_DIR/ctl.json" "d['$k']")"
  done
  [ "$(j "$LAB_DIR/ctl.json" 'd["busy"]')" = 24 ] && pass "control: 40 idle clients: 16 held, 24 refused busy at once" \
    || fail "control: busy refusals $(j "$LAB_DIR/ctl.json" 'd["busy"]') (expected 24)"
  [ "$(j "$LAB_DIR/ctl.json" 'd["closed"]')" = 40 ] && pass "control: every idle client closed by the daemon (request timeout)" \
    || fail "control: idle clients still open: $(cat "$LAB_DIR/ctl.json")"
  [ "$(j "$LAB_DIR/ctl.json" 'd["status_after"]')" = True ] && pass "control: status answered afterwards" \
    || fail "control: no status afterwards"
else
  fail "control: client failed: $(cat "$LAB_DIR/ctl.json")"
fi

# The end: the real tunnel untouched, the stream complete.
st_json "$LAB_DIR/st-end.json"
[ "$(j "$LAB_DIR/st-end.json" '[(s["spi_i"], s["children"][0]["spi_in"]) for s in d["ike_sas"] if s["name"]=="net"]')" \
  = "[('$net_spi_i', '$net_in')]" ] && pass "the real IKE_SA and CHILD_SA are the ones from the start" \
  || fail "the real SAs changed: $(j "$LAB_DIR/st-end.json" '[(s["name"], s["spi_i"]) for s in d["ike_sas"]]')"
stream_stop real
line=$(stream_report real) && pass "stream through the real tunnel during every case: $line" \
  || fail "stream through the real tunnel: $line"
check "ping through the real tunnel at the end" ping_check s 10.99.0.2 2
swanless_alive s && pass "swanless still running" || fail "swanless is gone"
lab_summary
