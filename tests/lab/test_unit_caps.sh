#!/usr/bin/env bash
# The seed scenario with exactly the capabilities contrib/swanless.service grants: the full
# reference config (both CHILD_SAs, the dc-tun-tcp TUN device with its routes, gre1 with
# its TUN device, IKE on port 500, deliver=tun and udp:), swanless run as nobody (65534)
# through setpriv with the unit's CapabilityBoundingSet/AmbientCapabilities and no_new_privs.
#   SWANLESS=build/apps/swanless sudo -E tests/lab/test_unit_caps.sh
# Checks: CapEff is exactly the unit's set and CAP_SYS_ADMIN is not in CapBnd; the dc has
# both CHILD_SAs; ping through dc-tun-tcp and GRE; FRR sees the PIM neighbor and the (*,G)
# join; after a warm-up, RATE/s for SECS s (default 1000/s, 5 s) reach the socket joined on
# gre1 and the udp: socket, lost <= LOSS_MAX (default 0); status answers.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-1000}
SECS=${SECS:-5}
LOSS_MAX=${LOSS_MAX:-0}
USER_ID=65534:65534
UNIT=$here/../../contrib/swanless.service
lab_swanless_bin

caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[ -n "$caps" ] || die "no AmbientCapabilities= in $UNIT"
mask=0
for c in $caps; do
  case $c in CAP_NET_BIND_SERVICE) mask=$((mask | 1 << 10)) ;; CAP_NET_ADMIN) mask=$((mask | 1 << 12)) ;;
    CAP_NET_RAW) mask=$((mask | 1 << 13)) ;; *) die "capability $c in the unit: add its number here" ;; esac
done

lab_init labk
lab_topology || die "topology"
dc_up 1 || die "dc side"
cloud_base || die "cloud base"
udir=$LAB_DIR/unit
mkdir -p "$udir"
cloud_swanless_conf --dir "$udir" || die "config"
chown -R "$USER_ID" "$udir"
chmod 0711 "$LAB_DIR"
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SWANLESS"; then
  cp "$SWANLESS" "$LAB_DIR/swanless.bin" && chmod 755 "$LAB_DIR/swanless.bin" && SWANLESS=$LAB_DIR/swanless.bin
fi
if ! cloud_swanless_start --user "$USER_ID" --caps "$caps"; then
  fail "swanless start with the unit's capabilities ($caps)"; tail -n 30 "$udir/swanless.log"; lab_summary; exit 1
fi
pid=$LAB_SWANLESS_PID
st=$(cat "/proc/$pid/status")
echo "swanless pid $pid: $(grep -E '^(Uid|Gid|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' <<<"$st" | tr -s '\t ' ' ' | tr '\n' ';')"
eff=$((16#$(awk '/^CapEff:/ { print $2 }' <<<"$st")))
bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' <<<"$st")))
check "runs as $USER_ID with CapEff exactly the unit's set ($caps = $(printf '%#x' "$mask"))" \
  eval "grep -qE '^Uid:[[:space:]]+65534[[:space:]]+65534' <<<\"\$st\" && [ $eff = $mask ]"
check "CapBnd is the unit's set; CAP_SYS_ADMIN (21) is not in it" test "$bnd" = "$mask" -a $((bnd & (1 << 21))) = 0

if wait_for "[ \"\$(dc_sas 2>/dev/null | grep -cE 'dc-tun-(gre|tcp): #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP')\" -eq 2 ]" 20; then
  pass "dc: dc-tun-gre and dc-tun-tcp INSTALLED"
else
  fail "dc: children not installed"; dc_sas; tail -n 30 "$udir/swanless.log"
fi
check "ping through dc-tun-tcp ($LAB_CLOUD_HOST -> $LAB_DC_HOST; a TUN route made as nobody)" \
  ping_from cloud "$LAB_CLOUD_HOST" "$LAB_DC_HOST" 3
check "ping through GRE ($LAB_CLOUD_TUN -> $LAB_DC_TUN)" ping_check cloud "$LAB_DC_TUN" 3
if wait_for "pim_neighbor_up $LAB_CLOUD_TUN gre1" 10; then pass "FRR: PIM neighbor $LAB_CLOUD_TUN on gre1"
else fail "FRR: no PIM neighbor on gre1"; fi
if wait_for "pim_join_on $LAB_GROUP gre1" 10; then pass "FRR: (*,$LAB_GROUP) join on gre1"
else fail "FRR: no (*,$LAB_GROUP) join on gre1"; fi

start_receiver "$LAB_PORT" "$LAB_GROUP" gre1 rx || fail "receiver (tun) start"
start_receiver $((LAB_PORT + 1)) - "" rxudp || fail "receiver (udp) start"
warm_up 15 rx rxudp && pass "warm-up: both receivers see the source" || fail "warm-up: not all receivers saw the source"
start_source "$RATE" "$SECS"
wait_source $((SECS + 20)) >/dev/null || fail "source did not finish"
sleep 1.2
sent=$(json_get "$LAB_DIR/source.json" sent)
for r in rx rxudp; do
  u=$(json_get "$LAB_DIR/$r.json" unique)
  d=$(json_get "$LAB_DIR/$r.json" duplicates)
  mode=tun; [ $r = rxudp ] && mode=udp
  check "multicast deliver=$mode: $u of $sent datagrams, duplicates $d (lost at most $LOSS_MAX)" \
    awk -v u="${u:-0}" -v s="${sent:-0}" -v d="${d:-1}" -v m="$LOSS_MAX" 'BEGIN { exit !(s > 0 && s - u <= m && d == 0) }'
done
check_dc_forwarded "${sent:-0}"
check "swanless status answers" eval "cloud_swanless_status >/dev/null"

kill -TERM "$pid"
if wait_for "! kill -0 $pid" 5; then pass "swanless exits on SIGTERM"; else fail "swanless did not exit on SIGTERM"; fi
if [ "$LAB_FAILED" -gt 0 ]; then
  echo "----- tail of swanless.log"; tail -n 40 "$udir/swanless.log"
fi
lab_down
echo "run time $(lab_elapsed)"
lab_summary
