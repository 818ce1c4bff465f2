#!/usr/bin/env bash
# shellcheck disable=SC2119  # helpers called with their defaults
# The reference scenario with swanless itself in the cloud namespace (seed-aws.conf mapped
# to the lab, see README.md): the same checks as selftest_standin.sh, done against swanless.
#   SWANLESS=build/apps/swanless sudo -E tests/lab/swanless_lab.sh
# Checks: IKE_SA + both CHILD_SAs at the dc (NATed peer, ESP-in-UDP, PFS on the second);
# ping through dc-tun-tcp and through GRE; FRR sees swanless as PIM neighbor with the
# (*,G) join on gre1; multicast from src reaches a socket joined on swanless's gre1
# (deliver=tun) and the udp: delivery socket; the dc's GRE keepalives are answered;
# `swanless status --json` answers; on SIGTERM swanless prunes and deletes the IKE_SA.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-100}
SECS=${SECS:-4}
SWANLESS=$(readlink -f "$SWANLESS" 2>/dev/null)
[ -x "$SWANLESS" ] || { echo "no swanless binary (set SWANLESS=path)"; exit 2; }

lab_init labs
lab_topology || die "topology"
check "underlay: cloud reaches the dc gateway through the NAT" ping_check cloud "$LAB_DC_GW" 2
dc_up 1 || die "dc side"
capture_start nat out0 "$LAB_DIR/wan.pcap" udp || die "capture"
if ! swanless_up; then
  fail "swanless start"; tail -n 30 "$LAB_DIR/swanless.log"; lab_summary; exit 1
fi
pass "swanless running in cloud"

if wait_for "[ \"\$(dc_sas 2>/dev/null | grep -cE 'dc-tun-(gre|tcp): #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP')\" -eq 2 ]" 20; then
  pass "dc: dc-tun-gre and dc-tun-tcp INSTALLED, TUNNEL-in-UDP"
else
  fail "dc: children not installed"; dc_sas; tail -n 30 "$LAB_DIR/swanless.log"
fi
sas=$(dc_sas 2>&1)
check "dc: IKE_SA with the NATed peer 203.0.113.1[4500], id 203.0.113.1" \
  grep -qE "remote '$LAB_NAT_PUB' @ $LAB_NAT_PUB\[4500\]" <<<"$sas"
check "dc: a child with PFS (MODP_2048 in its ESP proposal)" \
  grep -qE "INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048" <<<"$sas"

check "ping through dc-tun-tcp ($LAB_CLOUD_HOST -> $LAB_DC_HOST)" ping_from cloud "$LAB_CLOUD_HOST" "$LAB_DC_HOST" 3
check "ping through GRE ($LAB_CLOUD_TUN -> $LAB_DC_TUN)" ping_check cloud "$LAB_DC_TUN" 3

if wait_for "pim_neighbor_up $LAB_CLOUD_TUN gre1" 10; then pass "FRR: PIM neighbor $LAB_CLOUD_TUN (swanless) on gre1"
else fail "FRR: no PIM neighbor on gre1"; frr_show "show ip pim neighbor"; fi
join_seen=0
if wait_for "pim_join_on $LAB_GROUP gre1" 10; then pass "FRR: (*,$LAB_GROUP) join from swanless on gre1"; join_seen=1
else fail "FRR: no (*,$LAB_GROUP) join on gre1"; frr_show "show ip pim join"; fi

start_receiver "$LAB_PORT" "$LAB_GROUP" gre1 rx || fail "receiver (tun) start"
start_receiver $((LAB_PORT + 1)) - "" rxudp || fail "receiver (udp) start"
start_source "$RATE" "$SECS"
wait_source $((SECS + 20)) || fail "source did not finish"
sleep 0.7
sent=$(json_get "$LAB_DIR/source.json" sent)
for r in rx rxudp; do
  u=$(json_get "$LAB_DIR/$r.json" unique)
  echo "$r: $(receiver_stats $r)"
  check "multicast ($r): $u of $sent datagrams delivered (>= 90 %), no duplicates" \
    awk -v u="${u:-0}" -v s="${sent:-0}" -v d="$(json_get "$LAB_DIR/$r.json" duplicates)" \
      'BEGIN { exit !(s > 0 && u >= 0.9 * s && d == 0) }'
done

read -r ka_tx ka_rx < <(gre_keepalive_counts)
check "GRE keepalives answered by swanless: $ka_rx of $ka_tx (>= 3, at most 2 missing)" \
  awk -v t="${ka_tx:-0}" -v r="${ka_rx:-0}" 'BEGIN { exit !(r >= 3 && r >= t - 2) }'

check "swanless status --json answers" eval "nsx cloud '$SWANLESS' status --json --socket '$LAB_DIR/swanless.sock' >'$LAB_DIR/status.json'"

capture_stop
read -r esp_pub from_priv < <(tshark_counts "$LAB_DIR/wan.pcap" \
  "ip.src==$LAB_NAT_PUB && udp.srcport==4500 && esp" "ip.src==$LAB_CLOUD_PRIV")
check "NAT: ESP-in-UDP leaves as $LAB_NAT_PUB ($esp_pub), never as $LAB_CLOUD_PRIV ($from_priv)" \
  awk -v e="${esp_pub:-0}" -v p="${from_priv:-1}" 'BEGIN { exit !(e > 0 && p == 0) }'

# shutdown: Prune + Hello holdtime 0 + IKE DELETE
kill -TERM "$LAB_SWANLESS_PID"
if wait_for "! kill -0 $LAB_SWANLESS_PID" 5; then pass "swanless exits on SIGTERM"
else fail "swanless did not exit on SIGTERM"; fi
if [ $join_seen = 0 ]; then fail "shutdown: Prune not testable (there was no join)"
elif wait_for "frr_show 'show ip pim join' | grep -q Interface && ! pim_join_on $LAB_GROUP gre1" 5; then
  pass "shutdown: Prune removed the join"
else fail "shutdown: join still there"; fi
if wait_for "! dc_sas 2>/dev/null | grep -q ESTABLISHED" 5; then pass "shutdown: IKE_SA deleted at the dc"
else fail "shutdown: IKE_SA still at the dc"; fi

if [ "$LAB_FAILED" -gt 0 ]; then
  echo "----- tail of swanless.log"; tail -n 40 "$LAB_DIR/swanless.log"
fi
lab_down
echo "run time $(lab_elapsed)"
lab_summary
