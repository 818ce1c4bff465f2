#!/usr/bin/env bash
# shellcheck disable=SC2119  # helpers called with their defaults
# Self-test of the reference scenario lab with a strongSwan charon standing in for swanless
# in the cloud namespace: proves the dc side (charon responder, GRE endpoint, FRR PIM-SM
# router and RP), the NAT and the multicast source before swanless can take the VM's place.
#   sudo tests/lab/selftest_standin.sh        (< 90 s; LAB_KEEP_DIR=1 keeps the files)
# Checks: underlay through the NAT; IKE_SA + both CHILD_SAs (the second with PFS), ESP in
# UDP/4500 from the NATed address only; ping through the tcp child and through GRE; FRR
# sees the PIM neighbor and the (*,G) join on gre1; the router's Hellos come back;
# multicast from src reaches a UDP socket in cloud (loss reported); GRE keepalives are
# reflected; a Prune removes the join; teardown leaves nothing behind.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-100}
SECS=${SECS:-4}

lab_init labt
dump_lab_logs() {
  local f
  for f in "$LAB_DIR"/gre-*.log "$LAB_DIR"/pim-cloud.log "$LAB_DIR"/rx.log "$LAB_DIR"/source.log \
           "$LAB_DIR"/frr-dc/pimd.log "$LAB_DIR"/frr-dc/*.out; do
    [ -s "$f" ] || continue
    echo "----- tail of $f" >&2; tail -n 15 "$f" >&2
  done
}

lab_topology || die "topology"
check "underlay: cloud reaches the dc gateway through the NAT" ping_check cloud "$LAB_DC_GW" 2
check "underlay: src reaches the dc" ping_check src "$LAB_SRC_DC" 1
dc_up 1 || die "dc side"
pass "dc side up: charon responder loaded, gre1, zebra + pimd"
capture_start nat out0 "$LAB_DIR/wan.pcap" udp || die "capture"
standin_up || die "stand-in cloud side (charon initiator, GRE, PIM)"
pass "stand-in: IKE_SA with dc-tun-gre (IKE_AUTH) and dc-tun-tcp (CREATE_CHILD_SA)"

# --- IPsec as the dc sees it
sas=$(dc_sas 2>&1)
check "dc: IKE_SA ESTABLISHED with the NATed peer 203.0.113.1[4500]" \
  grep -qE "remote '$LAB_NAT_PUB' @ $LAB_NAT_PUB\[4500\]" <<<"$sas"
check "dc: dc-tun-gre and dc-tun-tcp INSTALLED, TUNNEL-in-UDP" \
  test "$(grep -cE "dc-tun-(gre|tcp): #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP" <<<"$sas")" -eq 2
check "dc: IKE proposal AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" \
  grep -q "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" <<<"$sas"
check "dc: dc-tun-tcp made with PFS (MODP_2048 in its ESP proposal)" \
  grep -A1 -E "dc-tun-tcp: #" <<<"$sas" | grep -q "AES_CBC-256/HMAC_SHA2_256_128/MODP_2048"

# --- unicast through both children
check "ping through dc-tun-tcp ($LAB_CLOUD_HOST -> $LAB_DC_HOST)" \
  ping_from cloud "$LAB_CLOUD_HOST" "$LAB_DC_HOST" 3
check "ping through GRE over dc-tun-gre ($LAB_CLOUD_TUN -> $LAB_DC_TUN)" ping_check cloud "$LAB_DC_TUN" 3

# --- PIM
check "FRR: RP $LAB_RP for 239.0.0.0/8 known" eval "frr_show 'show ip pim rp-info' | grep -qE '^ *$LAB_RP +239.0.0.0/8'"
if wait_for "pim_neighbor_up $LAB_CLOUD_TUN gre1" 10; then
  pass "FRR: PIM neighbor $LAB_CLOUD_TUN on gre1"
else
  fail "FRR: PIM neighbor $LAB_CLOUD_TUN on gre1"; frr_show "show ip pim neighbor"
fi
if wait_for "pim_join_on $LAB_GROUP gre1" 10; then
  pass "FRR: (*,$LAB_GROUP) join on gre1"
else
  fail "FRR: (*,$LAB_GROUP) join on gre1"; frr_show "show ip pim join"
fi

# --- multicast from src to a UDP socket in cloud
start_receiver || fail "receiver start"
start_source "$RATE" "$SECS"
src_res=$(wait_source $((SECS + 20))) || fail "source did not finish"
sleep 0.7
sent=$(json_get "$LAB_DIR/source.json" sent)
rx=$(receiver_stats)
unique=$(json_get "$LAB_DIR/rx.json" unique)
echo "source: $src_res"
echo "receiver: $rx"
frr_show "show ip mroute"
check "multicast: $unique of $sent datagrams from $LAB_SRC_ADDR reached cloud (>= 90 %)" \
  awk -v u="${unique:-0}" -v s="$sent" 'BEGIN { exit !(s > 0 && u >= 0.9 * s) }'
check "multicast: no duplicates" test "$(json_get "$LAB_DIR/rx.json" duplicates)" = 0
if wait_for "[ \"\$(json_get $LAB_DIR/pim-cloud.json rx_hello)\" -ge 1 ]" 6; then
  pass "PIM: the router's Hellos reach cloud over GRE ($(json_get "$LAB_DIR/pim-cloud.json" rx_hello), holdtime $(json_get "$LAB_DIR/pim-cloud.json" neighbor_holdtime))"
else
  fail "PIM: no Hello from the router in cloud"; cat "$LAB_DIR/pim-cloud.json"
fi

# --- GRE keepalives (dc sends every 1 s, the cloud stand-in reflects)
read -r ka_tx ka_rx < <(gre_keepalive_counts)
echo "keepalives: dc sent $ka_tx, replies $ka_rx; dc GRE $(gre_status dc)"
check "GRE keepalives: $ka_rx replies to $ka_tx sent (>= 3, at most 2 missing)" \
  awk -v t="${ka_tx:-0}" -v r="${ka_rx:-0}" 'BEGIN { exit !(r >= 3 && r >= t - 2) }'
gc=$LAB_DIR/gre-cloud.json
check "GRE (cloud): $(json_get "$gc" ka_reflected) keepalives reflected, no packet from a wrong source or malformed" \
  test "$(json_get "$gc" ka_reflected)" -ge 3 -a "$(json_get "$gc" drop_src)" = 0 -a "$(json_get "$gc" drop_malformed)" = 0

# --- the dc GRE endpoint accepts GRE only from 10.44.6.1: a GRE packet from the source's
# subnet (routed straight to the dc, not through IPsec) must be dropped and counted
ns_route src "$LAB_DC_GRE/32" via "$LAB_SRC_DC"
drop0=$(json_get "$LAB_DIR/gre-dc.json" drop_src)
nsx src python3 -c 'import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_GRE)
inner = bytes([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0]) + socket.inet_aton("10.44.4.6") + socket.inet_aton("10.44.4.5")
for _ in range(3):
    s.sendto(struct.pack("!HH", 0, 0x0800) + inner, (sys.argv[1], 0))' "$LAB_DC_GRE"
if wait_for "[ \"\$(json_get $LAB_DIR/gre-dc.json drop_src)\" -ge $((drop0 + 3)) ]" 3; then
  pass "GRE (dc): 3 GRE packets from a foreign source dropped (drop_src $drop0 -> $(json_get "$LAB_DIR/gre-dc.json" drop_src))"
else
  fail "GRE (dc): foreign GRE not counted as dropped: $(gre_status dc)"
fi

# --- the wire between NAT and dc: only ESP-in-UDP from the public address
capture_stop
read -r esp_pub from_priv ike_pub < <(tshark_counts "$LAB_DIR/wan.pcap" \
  "ip.src==$LAB_NAT_PUB && udp.srcport==4500 && esp" "ip.src==$LAB_CLOUD_PRIV" "ip.src==$LAB_NAT_PUB && isakmp")
echo "wan capture: ESP-in-UDP from $LAB_NAT_PUB: $esp_pub, IKE from $LAB_NAT_PUB: $ike_pub, anything from $LAB_CLOUD_PRIV: $from_priv"
check "NAT: ESP-in-UDP/4500 and IKE leave as $LAB_NAT_PUB, the private address never" \
  awk -v e="${esp_pub:-0}" -v i="${ike_pub:-0}" -v p="${from_priv:-1}" 'BEGIN { exit !(e > 0 && i > 0 && p == 0) }'

# --- Prune: stopping the PIM sender removes the join at once
_lab_end_pid "$LAB_PIM_PID" 3
if wait_for "frr_show 'show ip pim join' | grep -q Interface && ! pim_join_on $LAB_GROUP gre1" 5; then
  pass "PIM: Prune removed the (*,$LAB_GROUP) join on gre1"
else
  fail "PIM: join still there after the Prune"; frr_show "show ip pim join"
fi

[ "$LAB_FAILED" -gt 0 ] && dump_lab_logs
prefix=$LAB_PREFIX
lab_down
left_ns=$(ip netns list | grep -c "^$prefix" || true)
left_proc=$(pgrep -f "$prefix" | wc -l)
check "teardown: no namespace ($left_ns) or process ($left_proc) of $prefix left" \
  test "$left_ns" -eq 0 -a "$left_proc" -eq 0
echo "run time $(lab_elapsed)"
lab_summary
