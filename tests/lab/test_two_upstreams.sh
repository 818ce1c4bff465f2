#!/usr/bin/env bash
# shellcheck disable=SC2119  # helpers called with their defaults
# Issue 14 item 3: one pim section on two tunnels, each on its own IKE_SA to its own
# datacenter gateway (the lab's dc and dc2, each with a real charon and a real FRR), fed
# the same stream twice (A/B: the source sends every datagram on its link to dc and on its
# link to dc2).
#   SWANLESS=build/apps/swanless sudo -E tests/lab/test_two_upstreams.sh
# Checks:
#   upstream=both, dedup=sequence:4:8 (mcast_sender.py's sequence number):
#     - both routers hold the (*,G) from swanless (dc on gre1, dc2 on gre2)
#     - every datagram of a 200/s stream delivered exactly once while both copies arrive
#       (the de-duplicator drops the later copy: counted), and nothing lost while path A's
#       link is cut and restored in the middle of the stream
#   upstream=active-standby (holddown=5s, default keepalives: 1 s, 2 retries), no dedup (a
#   switch may repeat a few datagrams; the stream's loss and repeats are reported):
#     - only dc holds the join; dc2 knows swanless as neighbor (Hellos) but has no join
#     - path A's link cut: the joins move to gre2 (status says why), dc2 holds the join; the
#       gap in the stream is measured and reported (datagrams lost x 1/rate)
#     - the link back: after the hold-down the joins return to gre1, dc2's join goes
#     - with keepalive=300ms, dc's charon killed (SIGKILL, no DELETE): fail-over, gap measured
#   status --json validates against docs/status.schema.json in both modes.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"
lab_swanless_bin

RATE=${RATE:-200}
HOLDDOWN=5
KEEPALIVE=default   # swanless's default for a two-tunnel pim: keepalives every 1 s, down after 2 misses
RX_PORT=$((LAB_PORT + 1))

jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
status_py() { cloud_swanless_status --json >"$LAB_DIR/st.json" 2>&1; jq_py "$LAB_DIR/st.json" "$1"; }

# conn_section NAME GATEWAY LOCAL_GRE REMOTE_GRE: the CHILD_SA that carries one tunnel
conn_section() {
  printf 'conn %s\n    right=%s\n    rightid=%s\n    leftsubnet=%s/32\n    rightsubnet=%s/32\n    auto=start\n' \
    "$1" "$2" "$2" "$3" "$4"
}
# gre_section NAME CONN LOCAL REMOTE ADDRESS PEER: one tunnel; keepalive=$KEEPALIVE unless default
gre_section() {
  printf 'gre %s\n    conn=%s\n    local=%s\n    remote=%s\n    address=%s/30\n    peer=%s\n' "$@"
  [ "$KEEPALIVE" = default ] || printf '    keepalive=%s\n    keepalive_retries=2\n' "$KEEPALIVE"
  printf '    tun=no\n'
}

# two_conf MODE [EXTRA PIM LINE]: swanless's config with both tunnels
two_conf() {
  local mode=$1 extra=${2:-}
  SWANLESS_CONF=$LAB_DIR/swanless.conf
  SWANLESS_SOCK=$LAB_DIR/swanless.sock
  SWANLESS_KEYS=$LAB_DIR/swanless-keys
  mkdir -p "$SWANLESS_KEYS"
  cat >"$SWANLESS_CONF" <<EOF
config setup
    socket=$SWANLESS_SOCK
    keylog=$SWANLESS_KEYS
    metrics=127.0.0.1:9547
conn %default
    keyexchange=ikev2
    authby=secret
    ike=$LAB_PROPOSAL!
    esp=$LAB_PROPOSAL!
    left=$LAB_CLOUD_PRIV
    leftid=$LAB_NAT_PUB
    dpddelay=30s
    dpdaction=restart
$(conn_section dc-tun-gre "$LAB_DC_GW" "$LAB_CLOUD_GRE" "$LAB_DC_GRE")
$(conn_section dc2-tun-gre "$LAB_DC2_GW" "$LAB_CLOUD_GRE2" "$LAB_DC2_GRE")
$(gre_section gre1 dc-tun-gre "$LAB_CLOUD_GRE" "$LAB_DC_GRE" "$LAB_CLOUD_TUN" "$LAB_DC_TUN")
$(gre_section gre2 dc2-tun-gre "$LAB_CLOUD_GRE2" "$LAB_DC2_GRE" "$LAB_CLOUD_TUN2" "$LAB_DC2_TUN")
pim upstream
    interface=gre1,gre2
    rp=$LAB_RP
    groups=$LAB_GROUP
    upstream=$mode
    holddown=${HOLDDOWN}s
    deliver=udp:127.0.0.1:$RX_PORT
EOF
  [ -n "$extra" ] && echo "    $extra" >>"$SWANLESS_CONF"
  {
    printf '%s %s : PSK "%s"\n' "$LAB_NAT_PUB" "$LAB_DC_GW" "$LAB_PSK"
    printf '%s %s : PSK "%s"\n' "$LAB_NAT_PUB" "$LAB_DC2_GW" "$LAB_PSK"
  } >"$LAB_DIR/swanless.secrets"
  chmod 600 "$LAB_DIR/swanless.secrets"
}

# active_is GRE: status says the joins are on GRE
active_is() { [ "$(status_py "d['pim'][0]['active']")" = "$1" ]; }
# wait_ms COND TIMEOUT_S: prints how long COND took
wait_ms() { local t0; t0=$(now_ms); wait_for "$1" "$2" || return 1; echo $(( $(now_ms) - t0 )); }

# cut_a / restore_a: path A's underlay (the NAT's link to dc) down / up
cut_a() { nsx nat ip link set out0 down; }
restore_a() { nsx nat ip link set out0 up; }

# stream_rx NAME SECONDS: an A/B stream at RATE, counted by a fresh receiver on the deliver port
stream_start() {
  rm -f "$LAB_DIR/$1.json"
  start_receiver "$RX_PORT" - "" "$1" || fail "receiver $1"
  LAB_RXPID=$LAB_BG_PID
  start_source_ab "$RATE" "$2"
}
stream_end() {
  wait_source $(( $2 + 20 )) >/dev/null || fail "source did not finish"
  sleep 1.2
  kill -TERM "$LAB_RXPID" 2>/dev/null
  sleep 0.3
  sent=$(json_get "$LAB_DIR/source.json" sent)
  uniq=$(json_get "$LAB_DIR/$1.json" unique)
  dups=$(json_get "$LAB_DIR/$1.json" duplicates)
  lost=$(json_get "$LAB_DIR/$1.json" lost)
}

lab_init twup
lab_topology || die "topology"
dc_up 1 || die "dc side"
dc2_up 1 || die "dc2 side"
cloud_base || die "cloud"

# ---- upstream=both with A/B de-duplication
two_conf both "dedup=sequence:4:8"
cloud_swanless_start || die "swanless start (both)"
pass "swanless with two tunnels, upstream=both, dedup=sequence:4:8"
check "dc: (*,$LAB_GROUP) from swanless on gre1" wait_for "pim_join_on_at dc $LAB_GROUP gre1" 30
check "dc2: (*,$LAB_GROUP) from swanless on gre2" wait_for "pim_join_on_at dc2 $LAB_GROUP gre2" 30
status_py "d" >/dev/null
check "status --json (two paths, dedup) matches docs/status.schema.json" status_schema_check "$LAB_DIR/st.json"
stream_start rxboth 12
sleep 4
cut_a
pass "path A's link cut (nat out0 down) 4 s into the stream"
sleep 4
restore_a
stream_end rxboth 12
status_py "d" >/dev/null
by_path=$(jq_py "$LAB_DIR/st.json" "d['pim'][0]['dedup']['delivered_by_path']")
ddup=$(jq_py "$LAB_DIR/st.json" "d['pim'][0]['dedup']['duplicates']")
check "both: $uniq of $sent datagrams delivered, $lost lost, $dups duplicated at the socket, while path A was cut for 4 s (first copies by path $by_path, $ddup later copies dropped)" \
  awk -v u="${uniq:-0}" -v s="${sent:-0}" -v l="${lost:-1}" -v d="${dups:-1}" -v dd="${ddup:-0}" \
    'BEGIN { exit !(s > 0 && u >= s - 5 && l == 0 && d == 0 && dd > 0) }'
check "both: each path delivered first copies ($by_path)" \
  test "$(jq_py "$LAB_DIR/st.json" "all(x > 0 for x in d['pim'][0]['dedup']['delivered_by_path'])")" = True

_lab_end_pid "$LAB_SWANLESS_PID" 5
wait_for "! pim_join_on_at dc2 $LAB_GROUP gre2" 10

# ---- upstream=active-standby
two_conf active-standby
cloud_swanless_start || die "swanless start (active-standby)"
pass "swanless with two tunnels, upstream=active-standby, holddown=${HOLDDOWN}s"
check "dc: (*,$LAB_GROUP) on gre1 (the preferred tunnel)" wait_for "pim_join_on_at dc $LAB_GROUP gre1" 30
check "dc2: swanless is PIM neighbor on gre2 (Hellos on the standby tunnel)" \
  wait_for "pim_neighbor_up_at dc2 $LAB_CLOUD_TUN2 gre2" 30
sleep 2
if pim_join_on_at dc2 "$LAB_GROUP" gre2; then fail "dc2 holds a join on the standby tunnel"; else pass "dc2 holds no join on the standby tunnel"; fi
check "swanless check: default keepalives for the two tunnels noted" \
  sh -c "'$(readlink -f "$SWANLESS")' check -c '$SWANLESS_CONF' | grep -q 'gre gre1: keepalive=1s, keepalive_retries=2'"
check "status: active gre1, both paths healthy" \
  test "$(status_py "d['pim'][0]['active'] == 'gre1' and all(p['healthy'] for p in d['pim'][0]['paths'])")" = True
check "status --json (active-standby) matches docs/status.schema.json" status_schema_check "$LAB_DIR/st.json"

stream_start rxas 16
sleep 3
t_cut=$(now_ms)
cut_a
if ms=$(wait_ms "pim_join_on_at dc2 $LAB_GROUP gre2" 15); then
  pass "link cut: dc2 holds the join on gre2 $(( $(now_ms) - t_cut )) ms after path A's link went down"
else fail "link cut: no join at dc2"; fi
reason=$(status_py "d['pim'][0]['last_failover']['reason']")
check "status: joins on gre2 after the cut, reason: $reason" \
  test "$(status_py "d['pim'][0]['active'] == 'gre2' and d['pim'][0]['failovers'] == 1")" = True
sleep 3
t_back=$(now_ms)
restore_a
if wait_for "active_is gre1 && pim_join_on_at dc $LAB_GROUP gre1 && ! pim_join_on_at dc2 $LAB_GROUP gre2" 30; then
  back=$(( $(now_ms) - t_back ))
  check "link back: joins return to gre1 after the hold-down ($back ms after the link came up, hold-down ${HOLDDOWN} s)" \
    test "$back" -ge $((HOLDDOWN * 1000))
else fail "link back: the joins did not return to gre1"; status_py "d['pim'][0]['paths']"; fi
stream_end rxas 16
gap_cut=$(( ${lost:-0} * 1000 / RATE ))
# Without dedup= a switch can repeat a few datagrams (one path runs ahead of the other);
# with it, none (the both part above).
check "active-standby, link cut and back: $uniq of $sent delivered, $lost lost (fail-over gap about $gap_cut ms at $RATE/s, both switches together), $dups repeated at the switches" \
  awk -v s="${sent:-0}" -v d="${dups:-99}" -v l="${lost:-1}" -v r="$RATE" 'BEGIN { exit !(s > 0 && d <= 10 && l < 5 * r) }'
echo "FAILOVER link-cut: lost=$lost gap_ms=$gap_cut rate=$RATE"

# charon killed: no DELETE, the GRE keepalives stop. Tuned: keepalives every 300 ms.
_lab_end_pid "$LAB_SWANLESS_PID" 5
wait_for "! pim_join_on_at dc $LAB_GROUP gre1" 10
KEEPALIVE=300ms
two_conf active-standby
cloud_swanless_start || die "swanless start (active-standby, keepalive=300ms)"
check "keepalive=300ms: dc holds the join on gre1 again" wait_for "pim_join_on_at dc $LAB_GROUP gre1" 30
check "keepalive=300ms: both paths healthy" wait_for "[ \"\$(status_py \"all(p['healthy'] for p in d['pim'][0]['paths'])\")\" = True ]" 30
stream_start rxkill 10
sleep 3
t_kill=$(now_ms)
kill -KILL "${LAB_CHARON_PID[dc]}" 2>/dev/null
if wait_for "pim_join_on_at dc2 $LAB_GROUP gre2" 15; then
  pass "dc's charon killed: dc2 holds the join on gre2 $(( $(now_ms) - t_kill )) ms later"
else fail "charon killed: no join at dc2"; fi
stream_end rxkill 10
gap_kill=$(( ${lost:-0} * 1000 / RATE ))
check "active-standby with keepalive=300ms, charon killed: $uniq of $sent delivered, $lost lost (fail-over gap about $gap_kill ms), $dups duplicated" \
  awk -v s="${sent:-0}" -v d="${dups:-99}" -v l="${lost:-1}" -v r="$RATE" 'BEGIN { exit !(s > 0 && d <= 10 && l < 5 * r) }'
echo "FAILOVER charon-kill: lost=$lost gap_ms=$gap_kill rate=$RATE"
status_py "d" >/dev/null
check "status --json after the fail-overs matches the schema" status_schema_check "$LAB_DIR/st.json"
body=$(nsx cloud python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' http://127.0.0.1:9547/metrics)
check "metrics: swanless_pim_failovers_total counts the fail-over" \
  grep -qE '^swanless_pim_failovers_total\{pim="upstream"\} 1$' <<<"$body"
check "metrics: swanless_pim_path_healthy{gre=\"gre1\"} 0 after the kill" \
  grep -qE '^swanless_pim_path_healthy\{pim="upstream",gre="gre1"\} 0$' <<<"$body"

lab_summary
