#!/usr/bin/env bash
# Self-test of the lab's second datacenter gateway (dc2_up, issue 14 item 4), without
# swanless: the lab as usual (lab_topology, dc_up), then dc2_up, then the stand-in
# (standin_up: a charon, gre1 and a PIM joiner in cloud) with its second tunnel to dc2
# (standin_dc2_up: a second connection of the same charon, gre2, a second PIM joiner).
#   sudo tests/lab/selftest_dc2.sh        (~60-90 s; LAB_KEEP_DIR=1 keeps the files)
# Not named test_*.sh: CI does not run it (yet).
# Checks: underlay cloud -> dc2 through the NAT; both charons loaded; FRR dc and dc2 PIM
# neighbors of each other on peer0, dc2 knows the RP through dc; the A/B source: every
# datagram leaves on both links, the same bytes, seen on dc's and dc2's src0; the stand-in's
# tunnel to dc2 (IKE_SA with the NATed peer, dc2-tun-gre INSTALLED, ping over gre2); FRR dc2
# has the stand-in as PIM neighbor and the (*,G) join on gre2, and passed the join up to the
# RP (dc has a join on peer0); the stream arrives in cloud on gre1 (A, through dc) and on
# gre2 (B, through dc2) with identical payloads; a Prune on gre2 removes dc2's join and
# stops its forwarding; teardown leaves nothing behind.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-100}
SECS=${SECS:-4}

lab_init dcb
dump_lab_logs() {
  local f
  for f in "$LAB_DIR"/gre-*.log "$LAB_DIR"/pim-cloud*.log "$LAB_DIR"/rx*.log "$LAB_DIR"/source.log \
           "$LAB_DIR"/fwd-*.log "$LAB_DIR"/frr-dc*/pimd.log "$LAB_DIR"/frr-dc*/*.out; do
    [ -s "$f" ] || continue
    echo "----- tail of $f" >&2; tail -n 15 "$f" >&2
  done
}

# udp_payloads PCAP: "SOURCE PAYLOAD_HEX" of every UDP datagram to $LAB_GROUP:$LAB_PORT
udp_payloads() {
  tshark -r "$1" -Y "ip.dst==$LAB_GROUP && udp.dstport==$LAB_PORT" -T fields -e ip.src -e udp.payload 2>/dev/null
}
# same_payloads PCAP_A PCAP_B SRC_A SRC_B MIN: both captures hold the same set of payloads
# (at least MIN), those of A all from SRC_A, those of B all from SRC_B. Prints the counts.
same_payloads() {
  local a b
  a=$(udp_payloads "$1"); b=$(udp_payloads "$2")
  local na nb nsa nsb ndiff
  na=$(grep -c . <<<"$a"); nb=$(grep -c . <<<"$b")
  nsa=$(awk -v s="$3" '$1 != s' <<<"$a" | grep -c .); nsb=$(awk -v s="$4" '$1 != s' <<<"$b" | grep -c .)
  ndiff=$(diff <(awk '{ print $2 }' <<<"$a" | sort -u) <(awk '{ print $2 }' <<<"$b" | sort -u) | grep -c '^[<>]')
  echo "A: $na datagrams ($nsa not from $3), B: $nb ($nsb not from $4), payloads in one set only: $ndiff"
  [ "$na" -ge "$5" ] && [ "$na" = "$nb" ] && [ "$nsa" = 0 ] && [ "$nsb" = 0 ] && [ "$ndiff" = 0 ]
}

lab_topology || die "topology"
dc_up 1 || die "dc side"
dc2_up 1 || die "dc2 side"
pass "dc and dc2 up: two charon responders, gre1 and gre2, two FRR (zebra + pimd); forwarding: dc $LAB_DC_MCAST, dc2 $LAB_DC2_MCAST"
check "underlay: cloud reaches the dc2 gateway $LAB_DC2_GW through the NAT" ping_check cloud "$LAB_DC2_GW" 2
check "underlay: src reaches dc2 on its second link" ping_check src "$LAB_SRC_DC2" 1
check "charon dc: conn dc-tun loaded" eval "charon_swanctl dc dc --list-conns | grep -q '^dc-tun:'"
check "charon dc2: conn dc2-tun loaded (child dc2-tun-gre)" \
  eval "charon_swanctl dc2 dc2 --list-conns | grep -q '^dc2-tun:' && charon_swanctl dc2 dc2 --list-conns | grep -q 'dc2-tun-gre: TUNNEL'"

# --- the two routers: PIM neighbors on peer0, one RP
if wait_for "pim_neighbor_up_at dc $LAB_PEER_DC2 peer0 && pim_neighbor_up_at dc2 $LAB_PEER_DC peer0" 15; then
  pass "FRR: dc has dc2 ($LAB_PEER_DC2) and dc2 has dc ($LAB_PEER_DC) as PIM neighbors on peer0"
else
  fail "FRR: dc and dc2 not PIM neighbors on peer0"; frr_show "show ip pim neighbor"; frr2_show "show ip pim neighbor"
fi
check "FRR dc2: RP $LAB_RP for 239.0.0.0/8, reached over peer0" \
  eval "frr2_show 'show ip pim rp-info' | grep -qE '^ *$LAB_RP +239.0.0.0/8' && frr2_show 'show ip rpf $LAB_RP' | grep -q peer0"

# --- the A/B source, before any tunnel: the same bytes on dc's and dc2's src0
capture_start dc src0 "$LAB_DIR/src-a.pcap" udp port "$LAB_PORT" || die "capture"
capture_start dc2 src0 "$LAB_DIR/src-b.pcap" udp port "$LAB_PORT" || die "capture"
start_source_ab 100 1
wait_source 20 >/dev/null || fail "A/B source did not finish"
echo "source: $(cat "$LAB_DIR/source.json")"
sleep 0.3
capture_stop
cmp_out=$(same_payloads "$LAB_DIR/src-a.pcap" "$LAB_DIR/src-b.pcap" "$LAB_SRC_ADDR" "$LAB_SRC_ADDR2" 95)
check "A/B source: every datagram on both links, identical payloads ($cmp_out)" \
  same_payloads "$LAB_DIR/src-a.pcap" "$LAB_DIR/src-b.pcap" "$LAB_SRC_ADDR" "$LAB_SRC_ADDR2" 95

# --- the stand-in with its two tunnels
standin_up || die "stand-in (tunnel to dc)"
standin_dc2_up || die "stand-in's second tunnel (to dc2)"
pass "stand-in: IKE_SAs to dc (dc-tun-gre, dc-tun-tcp) and to dc2 (dc2-tun-gre) from one charon"
sas=$(dc2_sas 2>&1)
check "dc2: IKE_SA ESTABLISHED with the NATed peer ${LAB_NAT_PUB}[4500]" \
  grep -qE "remote '$LAB_NAT_PUB' @ $LAB_NAT_PUB\[4500\]" <<<"$sas"
check "dc2: dc2-tun-gre INSTALLED, TUNNEL-in-UDP" grep -qE "dc2-tun-gre: #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP" <<<"$sas"
check "ping through GRE over dc2-tun-gre ($LAB_CLOUD_TUN2 -> $LAB_DC2_TUN)" ping_check cloud "$LAB_DC2_TUN" 3
check "ping through GRE over dc-tun-gre still ($LAB_CLOUD_TUN -> $LAB_DC_TUN)" ping_check cloud "$LAB_DC_TUN" 2

if wait_for "pim_neighbor_up_at dc2 $LAB_CLOUD_TUN2 gre2" 10; then
  pass "FRR dc2: PIM neighbor $LAB_CLOUD_TUN2 on gre2"
else
  fail "FRR dc2: PIM neighbor $LAB_CLOUD_TUN2 on gre2"; frr2_show "show ip pim neighbor"
fi
if wait_for "pim_join_on_at dc2 $LAB_GROUP gre2" 10; then
  pass "FRR dc2: (*,$LAB_GROUP) join on gre2"
else
  fail "FRR dc2: (*,$LAB_GROUP) join on gre2"; frr2_show "show ip pim join"
fi
if wait_for "pim_join_on_at dc $LAB_GROUP peer0 && pim_join_on_at dc $LAB_GROUP gre1" 10; then
  pass "FRR dc (RP): (*,$LAB_GROUP) joins on gre1 (the stand-in) and on peer0 (dc2 passed its join up)"
else
  fail "FRR dc: (*,$LAB_GROUP) joins on gre1 and peer0"; frr_show "show ip pim join"
fi

# --- the stream through both tunnels: A on gre1, B on gre2, the same payloads
start_receiver_on gre1 rx1 || fail "receiver on gre1"
start_receiver_on gre2 rx2 || fail "receiver on gre2"
if [ "$LAB_DC_MCAST" = kernel ] || [ "$LAB_DC2_MCAST" = kernel ]; then
  # the kernels' (S,G) entries first (their first datagrams are lost)
  lab_bg src "$LAB_DIR/warmup.log" python3 "$LAB_HERE/mcast_sender.py" --warmup --group "$LAB_GROUP" \
    --port "$LAB_PORT" --rate 200 --seconds 2 --size 200 --ttl 16 \
    --iface-addr "$LAB_SRC_ADDR" --also-iface-addr "$LAB_SRC_ADDR2" --status "$LAB_DIR/warmup.json"
  wait_for "[ -s '$LAB_DIR/warmup.json' ]" 10; sleep 0.5
fi
capture_start cloud gre1 "$LAB_DIR/cloud-a.pcap" udp port "$LAB_PORT" || die "capture"
capture_start cloud gre2 "$LAB_DIR/cloud-b.pcap" udp port "$LAB_PORT" || die "capture"
fwd0=$(dc2_forwarder_stat forwarded)
start_source_ab "$RATE" "$SECS"
wait_source $((SECS + 20)) >/dev/null || fail "source did not finish"
sleep 0.7
capture_stop
sent=$(json_get "$LAB_DIR/source.json" sent)
echo "source: $(cat "$LAB_DIR/source.json")"
echo "rx1 (gre1, A via dc):  $(receiver_stats rx1)"
echo "rx2 (gre2, B via dc2): $(receiver_stats rx2)"
u1=$(json_get "$LAB_DIR/rx1.json" unique); u2=$(json_get "$LAB_DIR/rx2.json" unique)
# In user space each router forwards only the feed arriving on its own src0, so neither
# tunnel may carry a duplicate. With kernel multicast routing the routers also pass each
# other's feed over peer0 (shared tree, Registers to the RP), so a tunnel may carry both
# copies: duplicates are then expected and only reported (tests/lab/README.md).
maxdup=0
{ [ "$LAB_DC_MCAST" = kernel ] || [ "$LAB_DC2_MCAST" = kernel ]; } && maxdup=1000000000
d1=$(json_get "$LAB_DIR/rx1.json" duplicates); d2=$(json_get "$LAB_DIR/rx2.json" duplicates)
check "A feed: $u1 of $sent datagrams reached cloud on gre1 through dc (>= 90 %), $d1 duplicates (<= $maxdup)" \
  awk -v u="${u1:-0}" -v s="${sent:-0}" -v d="${d1:-x}" -v m="$maxdup" 'BEGIN { exit !(s > 0 && u >= 0.9 * s && d != "x" && d <= m) }'
check "B feed: $u2 of $sent datagrams reached cloud on gre2 through dc2 (>= 90 %), $d2 duplicates (<= $maxdup)" \
  awk -v u="${u2:-0}" -v s="${sent:-0}" -v d="${d2:-x}" -v m="$maxdup" 'BEGIN { exit !(s > 0 && u >= 0.9 * s && d != "x" && d <= m) }'
if [ "$LAB_DC2_MCAST" = userspace ]; then
  f=$(dc2_forwarder_stat forwarded)
  check "dc2 forwarding (user space, no CONFIG_IP_MROUTE): mcast_forwarder.py forwarded $(( ${f:-0} - ${fwd0:-0} )) datagrams src0 -> gre2 (>= $sent)" \
    awk -v f="$(( ${f:-0} - ${fwd0:-0} ))" -v s="${sent:-0}" 'BEGIN { exit !(s > 0 && f >= s) }'
else
  mr=$(frr2_show 'show ip mroute' 2>/dev/null)
  if grep -E "$LAB_SRC_ADDR2 +$LAB_GROUP " <<<"$mr" | grep -q gre2; then
    pass "dc2 forwarding (kernel): FRR's mroute ($LAB_SRC_ADDR2,$LAB_GROUP) goes out gre2"
  else
    fail "dc2 forwarding (kernel): no mroute ($LAB_SRC_ADDR2,$LAB_GROUP) out gre2"; echo "$mr"
  fi
fi
if [ "$LAB_DC_MCAST" = userspace ] && [ "$LAB_DC2_MCAST" = userspace ]; then
  # each router forwards its own feed only (see README: kernel mode also carries the
  # other feed along the shared tree)
  cmp_out=$(same_payloads "$LAB_DIR/cloud-a.pcap" "$LAB_DIR/cloud-b.pcap" "$LAB_SRC_ADDR" "$LAB_SRC_ADDR2" "$((sent * 9 / 10))")
  check "A/B in cloud: gre1 carries the A feed ($LAB_SRC_ADDR), gre2 the B feed ($LAB_SRC_ADDR2), identical payloads ($cmp_out)" \
    same_payloads "$LAB_DIR/cloud-a.pcap" "$LAB_DIR/cloud-b.pcap" "$LAB_SRC_ADDR" "$LAB_SRC_ADDR2" "$((sent * 9 / 10))"
fi
read -r ka_tx ka_rx < <(echo "$(json_get "$LAB_DIR/gre-dc2.json" ka_tx) $(json_get "$LAB_DIR/gre-dc2.json" ka_rx)")
check "GRE keepalives on gre2: $ka_rx replies to $ka_tx sent (>= 3, at most 2 missing)" \
  awk -v t="${ka_tx:-0}" -v r="${ka_rx:-0}" 'BEGIN { exit !(r >= 3 && r >= t - 2) }'

# --- Prune on gre2: dc2's join goes, and with it its forwarding
_lab_end_pid "$LAB_PIM2_PID" 3
if wait_for "frr2_show 'show ip pim join' | grep -q Interface && ! pim_join_on_at dc2 $LAB_GROUP gre2" 5; then
  pass "PIM: Prune removed the (*,$LAB_GROUP) join on dc2's gre2"
else
  fail "PIM: join still on dc2's gre2 after the Prune"; frr2_show "show ip pim join"
fi
if [ "$LAB_DC2_MCAST" = userspace ]; then
  check "dc2 forwarder saw the join go" wait_log "$LAB_DIR/fwd-dc2.log" "join \(\*,$LAB_GROUP\) on gre2 gone" 5
fi
check "dc still has the stand-in's join on gre1" pim_join_on_at dc "$LAB_GROUP" gre1

[ "$LAB_FAILED" -gt 0 ] && dump_lab_logs
prefix=$LAB_PREFIX
lab_down
left_ns=$(ip netns list | grep -c "^$prefix" || true)
left_proc=$(pgrep -f "$prefix" | wc -l)
check "teardown: no namespace ($left_ns) or process ($left_proc) of $prefix left" \
  test "$left_ns" -eq 0 -a "$left_proc" -eq 0
echo "run time $(lab_elapsed)"
lab_summary
