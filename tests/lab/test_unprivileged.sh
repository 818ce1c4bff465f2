#!/usr/bin/env bash
# Issue #3, unprivileged: the reference lab with swanless run as an ordinary user (nobody)
# with no capabilities at all: only the GRE conn, `tun=no`, `deliver=udp:127.0.0.1:5001`,
# IKE on port 4500 from the start (leftikeport=4500, rightikeport=4500: IKE_SA_INIT already
# with the non-ESP marker, which charon accepts on its 4500 socket).
#   SWANLESS=build/apps/swanless sudo -E tests/lab/test_unprivileged.sh
# Checks: swanless runs as 65534:65534 with CapEff/CapPrm/CapBnd all 0; the dc has the IKE_SA
# (NATed peer, port 4500) and dc-tun-gre; no IKE on port 500 on the wire; FRR sees swanless as
# PIM neighbor with the (*,G) join on gre1; after a warm-up, RATE/s for SECS s (default
# 1000/s, 10 s) reach the udp: socket with lost <= LOSS_MAX (default 0); `swanless status`
# answers the unprivileged daemon's socket; SIGTERM prunes and deletes the IKE_SA.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-1000}
SECS=${SECS:-10}
LOSS_MAX=${LOSS_MAX:-0}
UNPRIV_USER=${UNPRIV_USER:-65534:65534}
UDP_PORT=$((LAB_PORT + 1))
lab_swanless_bin

lab_init labu
lab_topology || die "topology"
dc_up 10 || die "dc side"
capture_start nat out0 "$LAB_DIR/wan.pcap" udp || die "capture"
cloud_base || die "cloud base"
# a folder the user owns: config, secrets (0600, owned by the user), socket, keylog
udir=$LAB_DIR/unpriv
mkdir -p "$udir"
cloud_swanless_conf --dir "$udir" --gre-only --tun no --deliver "udp:127.0.0.1:$UDP_PORT" --ikeport 4500 \
  || die "config"
chown -R "$UNPRIV_USER" "$udir"
chmod 700 "$udir"
# the binary must be reachable by the user (a build tree under /root is not)
if ! setpriv --reuid="${UNPRIV_USER%%:*}" --regid="${UNPRIV_USER##*:}" --clear-groups test -x "$SWANLESS"; then
  cp "$SWANLESS" "$LAB_DIR/swanless.bin" && chmod 755 "$LAB_DIR/swanless.bin" && SWANLESS=$LAB_DIR/swanless.bin
fi
if ! cloud_swanless_start --user "$UNPRIV_USER"; then
  fail "unprivileged swanless start"; tail -n 30 "$udir/swanless.log"; lab_summary; exit 1
fi
pid=$LAB_SWANLESS_PID
st=$(cat "/proc/$pid/status")
echo "swanless pid $pid: $(grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' <<<"$st" | tr -s '\t ' ' ' | tr '\n' ';')"
check "swanless runs as $UNPRIV_USER ($(grep -o 'swanless[^ ]*' "/proc/$pid/comm" 2>/dev/null))" \
  awk -v u="${UNPRIV_USER%%:*}" -v g="${UNPRIV_USER##*:}" \
    '/^Uid:/ { uo = ($2 == u && $3 == u && $4 == u) } /^Gid:/ { go = ($2 == g && $3 == g) } END { exit !(uo && go) }' <<<"$st"
check "swanless has no capabilities: CapEff, CapPrm, CapInh, CapAmb, CapBnd all 0" \
  awk '/^Cap(Eff|Prm|Inh|Amb|Bnd):/ { n++; if ($2 !~ /^0+$/) bad = 1 } END { exit !(n == 5 && !bad) }' <<<"$st"
# What `swanless check` says this config needs must agree: nothing but optional ones.
caps=$("$SWANLESS" check -c "$udir/swanless.conf" 2>&1 | sed -n '/^capabilities:/,/^configuration OK/p')
echo "$caps"
only_optional() { grep -q '^capabilities:' <<<"$caps" && ! grep -E '^  CAP_' <<<"$caps" | grep -qv '(optional)'; }
check "swanless check lists no required capability for this config (it runs with none)" only_optional

if wait_for "dc_sas 2>/dev/null | grep -qE 'dc-tun-gre: #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP'" 20; then
  pass "dc: dc-tun-gre INSTALLED, TUNNEL-in-UDP"
else
  fail "dc: dc-tun-gre not installed"; dc_sas; tail -n 30 "$udir/swanless.log"
fi
check "dc: IKE_SA with the NATed peer 203.0.113.1[4500], id 203.0.113.1" \
  grep -qE "remote '$LAB_NAT_PUB' @ $LAB_NAT_PUB\[4500\]" <<<"$(dc_sas 2>&1)"
check "swanless listens on 4500 only (no IKE socket on 500): $(nsx cloud ss -Hunlp 2>/dev/null | grep swanless | awk '{ print $4 }' | tr '\n' ' ')" \
  eval "nsx cloud ss -Hunlp | grep swanless | grep -q ':4500 ' && ! nsx cloud ss -Hunlp | grep swanless | grep -q ':500 '"

if wait_for "pim_neighbor_up $LAB_CLOUD_TUN gre1" 10; then pass "FRR: PIM neighbor $LAB_CLOUD_TUN (swanless) on gre1"
else fail "FRR: no PIM neighbor on gre1"; frr_show "show ip pim neighbor"; fi
join_seen=0
if wait_for "pim_join_on $LAB_GROUP gre1" 10; then pass "FRR: (*,$LAB_GROUP) join from unprivileged swanless on gre1"; join_seen=1
else fail "FRR: no (*,$LAB_GROUP) join on gre1"; frr_show "show ip pim join"; fi

start_receiver "$UDP_PORT" - "" rxudp || fail "receiver (udp) start"
if warm_up 15 rxudp; then pass "warm-up: the udp: receiver sees the source ($(json_get "$LAB_DIR/rxudp.json" warmup) warm-up datagrams)"
else fail "warm-up: the udp: receiver saw nothing"; fi
start_source "$RATE" "$SECS"
wait_source $((SECS + 20)) >/dev/null || fail "source did not finish"
sleep 1.2
sent=$(json_get "$LAB_DIR/source.json" sent)
u=$(json_get "$LAB_DIR/rxudp.json" unique)
d=$(json_get "$LAB_DIR/rxudp.json" duplicates)
lost=$(( ${sent:-0} - ${u:-0} ))
echo "rxudp: $(receiver_stats rxudp)"
check "multicast to the unprivileged deliver=udp: $u of $sent datagrams at ${RATE}/s for ${SECS}s, lost $lost (max $LOSS_MAX), duplicates $d" \
  awk -v u="${u:-0}" -v s="${sent:-0}" -v d="${d:-1}" -v m="$LOSS_MAX" 'BEGIN { exit !(s > 0 && s - u <= m && d == 0) }'
check_dc_forwarded "${sent:-0}"

# the status socket, as the same user and as root
check "swanless status (as $UNPRIV_USER) answers" eval \
  "nsx cloud setpriv --reuid='${UNPRIV_USER%%:*}' --regid='${UNPRIV_USER##*:}' --clear-groups '$SWANLESS' status --socket '$SWANLESS_SOCK' >'$LAB_DIR/status.txt' 2>&1"
cloud_swanless_status --json >"$LAB_DIR/status.json" 2>&1
read -r dlv nbr joined < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["pim"][0]; print(p["datagrams_delivered"], p["neighbor_up"], p["joined"])' "$LAB_DIR/status.json" 2>/dev/null)
check "swanless status --json .pim[0]: datagrams_delivered $dlv (>= $sent + warm-up), neighbor_up $nbr, joined $joined" \
  awk -v d="${dlv:-0}" -v s="${sent:-0}" -v n="$nbr" 'BEGIN { exit !(s > 0 && d >= s && n == "True") }'

capture_stop
read -r ike4500 ike500 < <(tshark_counts "$LAB_DIR/wan.pcap" "isakmp && udp.port == 4500" "udp.port == 500")
check "wire: IKE only on 4500 ($ike4500 messages), nothing on port 500 ($ike500)" \
  awk -v a="${ike4500:-0}" -v b="${ike500:-1}" 'BEGIN { exit !(a > 0 && b == 0) }'

t0=$(now_ms)
kill -TERM "$pid"
if wait_for "! kill -0 $pid" 5; then pass "swanless exits on SIGTERM"; else fail "swanless did not exit on SIGTERM"; fi
if [ $join_seen = 1 ]; then
  if wait_for "frr_show 'show ip pim join' | grep -q Interface && ! pim_join_on $LAB_GROUP gre1" 5; then
    pass "shutdown: Prune removed the join ($(( $(now_ms) - t0 )) ms after SIGTERM)"
    check_dc_forwarding_stopped
  else fail "shutdown: join still there"; fi
fi
if wait_for "! dc_sas 2>/dev/null | grep -qE '^dc-tun: #'" 5; then pass "shutdown: no IKE_SA left at the dc"
else fail "shutdown: IKE_SA still at the dc"; fi

if [ "$LAB_FAILED" -gt 0 ]; then
  echo "----- tail of swanless.log"; tail -n 40 "$udir/swanless.log"
fi
lab_down
echo "run time $(lab_elapsed)"
lab_summary
