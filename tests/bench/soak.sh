#!/usr/bin/env bash
# tests/bench/soak.sh: soak benchmark (not a CI test). swanless against a real strongSwan
# (charon 5.9 + kernel-libipsec) for N minutes with 1-minute lifetimes for the CHILD_SAs
# and the IKE_SA on both ends, so that both rekey all the time (sometimes at the same
# moment: collisions), while two fixed-rate UDP streams cross the tunnel:
#   s: swanless 192.0.2.1 (veth s0)  <--->  c: charon 192.0.2.2 (veth c0)
#   fwd: 10.99.0.1 -> 10.99.0.2 through CHILD_SA net  (s -> c)
#   rev: 10.99.1.2 -> 10.99.1.1 through CHILD_SA net2 (c -> s)
# Every minute it samples: swanless's rekey counters (CHILD_SA and IKE_SA rekeys, failures,
# collisions, IKE retransmissions), the SAs up at each end, datagrams sent / received /
# missing per stream, and the RSS of swanless and charon; at the end it writes a Markdown
# table (SOAK_OUT, default tests/bench/SOAK.md) with the totals.
#   swanless: lifetime=60s ikelifetime=60s rekeymargin=15s rekeyfuzz=50% reauth=no
#             -> rekeys 37.5..45 s after each SA was made
#   charon:   IKE and children rekey_time=45s rand_time=10s, life_time 60 s
#             -> rekeys 35..45 s after each SA was made
# Usage: sudo SWANLESS=build/apps/swanless tests/bench/soak.sh
# Environment: SOAK_MINUTES (default 60), SOAK_RATE (datagrams/s per stream, default 200),
#   SOAK_OUT (Markdown output, default tests/bench/SOAK.md; "-" = none), SOAK_COMMIT (the
#   commit to name; default: git HEAD of this checkout), LAB_KEEP_DIR=1 keeps the logs.
# The swanless binary is copied into the lab dir first, so a rebuild during the run does
# not change what runs. Exit status: 0 if the run completed (whatever the figures), 1 if
# the tunnel could not be set up.
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/../interop/lib.sh"
SWANLESS=${SWANLESS:-$repo/build/apps/swanless}
lab_swanless_bin
MINUTES=${SOAK_MINUTES:-60}
RATE=${SOAK_RATE:-200}
OUT=${SOAK_OUT:-$here/SOAK.md}
COMMIT=${SOAK_COMMIT:-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)}
[[ $MINUTES =~ ^[0-9]+$ ]] && [ "$MINUTES" -ge 1 ] || { echo "SOAK_MINUTES must be a positive integer"; exit 2; }

lab_init sk
cp "$SWANLESS" "$LAB_DIR/swanless" || die "copy the swanless binary"
SWL="$LAB_DIR/swanless"
lab_pair
ns_addr c lo 10.99.0.2/32; ns_addr c lo 10.99.1.2/32

charon_start c c || die "charon start"
psk="soak-$$"
swanctl_conf_gen "$LAB_DIR/c.swanctl.conf" --conn dc --local 192.0.2.2 --remote 192.0.2.1 \
  --local-id c.swl.test --remote-id s.swl.test --psk "$psk" --ike aes256-sha256-modp2048 \
  --esp aes256-sha256-modp2048 --encap yes --start none \
  --conn-opt rekey_time=45s --conn-opt rand_time=10s --conn-opt over_time=15s \
  --child-opt rekey_time=45s --child-opt rand_time=10s --child-opt life_time=60s \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

swanless_conf_gen "$LAB_DIR/s.conf" "$LAB_DIR/s.sock" setup.loglevel=info \
  ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048! left=192.0.2.1 leftid=s.swl.test \
  right=192.0.2.2 rightid=c.swl.test lifetime=60s ikelifetime=60s rekeymargin=15s \
  rekeyfuzz=50% reauth=no \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start \
  --conn net2 leftsubnet=10.99.1.1/32 rightsubnet=10.99.1.2/32 auto=start
printf 's.swl.test c.swl.test : PSK "%s"\n' "$psk" >"$LAB_DIR/s.secrets"
chmod 600 "$LAB_DIR/s.secrets"
SWANLESS=$SWL
swanless_start s s "$LAB_DIR/s.conf" || die "swanless start"
SLOG=$(swanless_log s)
SWL_PID=${LAB_SWL_PID[s]}
st() { swanless_status s "$@"; }
wait_for '[ "$(swanless_sas s)" = "1 2" ]' 20 || { st; tail -40 "$SLOG"; die "SAs not up"; }
pass "IKE_SA and two CHILD_SAs up"

secs=$((MINUTES * 60 + 5))
stream_start fwd s 10.99.0.1 c 10.99.0.2 5001 "$RATE" "$secs" || die "stream fwd"
stream_start rev c 10.99.1.2 s 10.99.1.1 5002 "$RATE" "$secs" || die "stream rev"
START_MS=$(now_ms)
START_UTC=$(date -u '+%Y-%m-%d %H:%M UTC')

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"; }
# sample MINUTE: one table row (Markdown) on stdout.
sample() {
  local minute=$1 charon_sas
  st --json >"$LAB_DIR/status.json" 2>/dev/null
  charon_sas=$(charon_list_sas c c 2>/dev/null)
  local c_ike c_child
  c_ike=$(grep -c 'ESTABLISHED' <<<"$charon_sas")
  c_child=$(grep -c 'INSTALLED' <<<"$charon_sas")
  python3 - "$minute" "$LAB_DIR" "$(rss_kib "$SWL_PID")" "$(rss_kib "${LAB_CHARON_PID[c]}")" \
    "$c_ike" "$c_child" <<'EOF'
import json, sys
minute, d, rss_s, rss_c, c_ike, c_child = sys.argv[1:7]
try:
    st = json.load(open(d + "/status.json"))
except Exception:
    st = {}
ct = st.get("counters", {})
sas = st.get("ike_sas", [])
ike_up = sum(1 for s in sas if s.get("state") == "ESTABLISHED")
child_up = sum(1 for s in sas for k in s.get("children", []) if k.get("state") == "INSTALLED")
def stream(name):
    try:
        s = json.load(open("%s/stream-%s.send.json" % (d, name)))
        r = json.load(open("%s/stream-%s.recv.json" % (d, name)))
        return "%d | %d | %d" % (s["sent"], r["unique"], r["missing_below_max"])
    except Exception:
        return "- | - | -"
print("| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d | %s/%s | %s | %s |" % (
    minute, ct.get("child_rekeys", "-"), ct.get("ike_rekeys", "-"), ct.get("rekey_failures", "-"),
    ct.get("rekey_collisions", "-"), ct.get("ike_retransmits", "-"), stream("fwd"), stream("rev"),
    ike_up, child_up, c_ike, c_child, rss_s, rss_c))
EOF
}
HEAD="| min | CHILD rekeys | IKE rekeys | rekey failures | collisions | IKE retransmits | fwd sent | fwd received | fwd missing | rev sent | rev received | rev missing | swanless IKE/CHILD up | charon IKE/CHILD up | swanless RSS KiB | charon RSS KiB |"
SEP="|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
ROWS="$LAB_DIR/rows.md"
sample 0 >"$ROWS"
cat "$ROWS"

write_out() {  # write_out STATUS_LINE [SUMMARY...]
  [ "$OUT" = - ] && return 0
  {
    echo "# Soak: swanless against strongSwan, 1-minute lifetimes"
    echo
    echo "Written by \`tests/bench/soak.sh\` (a benchmark, not a CI test). $1"
    echo
    echo "- commit \`$COMMIT\`, started $START_UTC, $MINUTES min planned; $(nproc)-core machine shared with other work"
    echo "- peer: strongSwan $(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null) charon with kernel-libipsec, ESP-in-UDP (encap), PSK,"
    echo "  IKE and ESP aes256-sha256-modp2048 (PFS at every CHILD_SA rekey)"
    echo "- swanless: lifetime=60s ikelifetime=60s rekeymargin=15s rekeyfuzz=50% reauth=no;"
    echo "  charon: rekey_time=45s rand_time=10s (IKE and children), children life_time=60s:"
    echo "  both ends rekey every 35..45 s, so both initiate rekeys and can collide"
    echo "- streams: $RATE datagrams/s of 64 bytes each way (fwd through CHILD_SA net,"
    echo "  swanless side -> charon side; rev through net2, charon side -> swanless side),"
    echo "  sequence-numbered (tests/interop/udpstream.py)"
    echo "- columns: counters of swanless (cumulative); 'sent' as of the sender's last"
    echo "  once-a-second note (so it may trail 'received'); 'missing' = sequence numbers not"
    echo "  received below the highest one received so far; SAs up at the sample time"
    echo
    echo "$HEAD"
    echo "$SEP"
    cat "$ROWS"
    shift
    if [ $# -gt 0 ]; then echo; printf '%s\n' "$@"; fi
  } >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
}
write_out "Run in progress."

for ((m = 1; m <= MINUTES; m++)); do
  target=$((START_MS + m * 60000))
  while [ "$(now_ms)" -lt "$target" ]; do sleep 1; done
  if ! kill -0 "$SWL_PID" 2>/dev/null; then
    fail "swanless exited at minute $m"; tail -40 "$SLOG"; break
  fi
  sample "$m" | tee -a "$ROWS"
  write_out "Run in progress (minute $m of $MINUTES)."
done

stream_wait fwd 30; stream_wait rev 30
stream_stop fwd; stream_stop rev
fwd=$(stream_report fwd); fwd_rc=$?
rev=$(stream_report rev); rev_rc=$?
echo "fwd: $fwd"; echo "rev: $rev"
[ $fwd_rc -eq 0 ] && pass "fwd stream: zero lost, zero duplicated" || fail "fwd stream: $fwd"
[ $rev_rc -eq 0 ] && pass "rev stream: zero lost, zero duplicated" || fail "rev stream: $rev"
json=$(st --json)
read -r crk ikrk rfail coll retr < <(python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(c["child_rekeys"], c["ike_rekeys"], c["rekey_failures"], c["rekey_collisions"], c["ike_retransmits"])' <<<"$json")
ch_est=$(grep -oE 'CHILD_SA net2?\{[0-9]+\} established' "$(charon_log c)" | sort -u | wc -l)
ours=$(grep -cE 'rekeying CHILD_SA net2?\{' "$SLOG")
ike_ours=$(grep -c 'rekeying IKE_SA' "$SLOG")
warns=$(grep -ciE ' (warn|error)' "$SLOG")
elapsed=$(( ($(now_ms) - START_MS) / 1000 ))
rss_end=$(rss_kib "$SWL_PID")
rss_1=$(sed -n 2p "$ROWS" | awk -F'|' '{ gsub(/ /, "", $16); print $16 }')
summary=(
  "## Result"
  ""
  "- ran $((elapsed / 60)) min $((elapsed % 60)) s (ended $(date -u '+%H:%M UTC'))"
  "- swanless counted $crk CHILD_SA rekeys ($ours initiated by swanless, the rest by charon) and"
  "  $ikrk IKE_SA rekeys ($ike_ours initiated by swanless); $rfail rekey failures, $coll collisions,"
  "  $retr IKE retransmissions; $warns warning/error lines in its log"
  "- charon logged $ch_est CHILD_SAs (2 initial + rekeys)"
  "- fwd stream: $fwd"
  "- rev stream: $rev"
  "- swanless RSS: $rss_1 KiB after minute 1, $rss_end KiB at the end"
)
printf '%s\n' "${summary[@]}"
write_out "Run complete." "${summary[@]}"
[ "$OUT" != - ] && echo "written: $OUT"
lab_summary || true
exit 0
