#!/usr/bin/env bash
# shellcheck disable=SC2119  # helpers called with their defaults
# Issue 14, items 1 and 2: joins driven by the applications. swanless in the lab's cloud
# namespace runs a pim section with groups=auto and no group of its own: it is the IGMP
# querier on its gre1 TUN device, and what local sockets join there becomes PIM state at
# the dc's real FRR router.
#   SWANLESS=build/apps/swanless sudo -E tests/lab/test_igmp.sh
# Checks:
#   - before any member: FRR has swanless as neighbor and no (*,G) from it
#   - a socket joins 239.1.1.1 on gre1 (IGMPv3): FRR shows the (*,G) within 2 s (measured),
#     the join comes from PIM (FRR has no IGMP state: swanless does not pass reports up),
#     status says origin igmp; a counted stream reaches the socket whole
#   - the socket closes: FRR's (*,G) is gone within the last-member query time (+1 s)
#   - IGMPv3 source-specific join: an (S,G) join at FRR, gone after the leave
#   - deny=: a join of a denied group reaches nobody and is counted
#   - IGMPv2 (force_igmp_version=2 on gre1): (*,G) and leave
#   - 2000 groups joined at once: FRR shows all 2000 (*,G) on gre1; the Join/Prune messages
#     (swanless's pcap tap, dissected by tshark) are packed, none over the MTU; a sample
#     group delivers; all gone after the member leaves
#   - tshark dissects the IGMP on gre1 (queries from swanless, reports from the kernel)
#     with nothing malformed
#   - status --json validates against docs/status.schema.json; metrics carry the querier
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"
lab_swanless_bin

LMQI_MS=${LMQI_MS:-500}
ROBUSTNESS=2
LMQT_MS=$((LMQI_MS * ROBUSTNESS))
JOIN_MAX_MS=${JOIN_MAX_MS:-2000}
MANY=${MANY:-2000}
SSM_GROUP=239.1.1.2
DENIED_GROUP=239.1.1.3
V2_GROUP=239.1.1.4
MANY_FIRST=239.3.0.0
SAMPLE_GROUP=239.3.3.7   # inside the range of MANY groups

jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }

# frr_join_count IFACE SOURCE PREFIX: JOIN rows on IFACE for groups starting with PREFIX
# whose source column is SOURCE (* for (*,G)).
frr_join_count() {
  frr_show "show ip pim join" 2>/dev/null |
    awk -v i="$1" -v s="$2" -v p="$3" '$1 == i && $3 == s && index($4, p) == 1 && $5 == "JOIN" { n++ } END { print n + 0 }'
}
# frr_sg_join_on SOURCE GROUP IFACE
frr_sg_join_on() { [ "$(frr_join_count "$3" "$1" "$2")" -ge 1 ]; }

# wait_ms COND TIMEOUT_S: waits for COND; prints the milliseconds it took (or fails)
wait_ms() {
  local t0 t1; t0=$(now_ms)
  wait_for "$1" "$2" || return 1
  t1=$(now_ms); echo $((t1 - t0))
}

# member NAME ARGS...: mcast_member.py in cloud (tracked), waits until it has joined
member() {
  local name=$1; shift
  lab_bg cloud "$LAB_DIR/$name.log" python3 "$here/mcast_member.py" --ifname gre1 "$@"
  eval "MEMBER_PID_$name=$LAB_BG_PID"
  wait_log "$LAB_DIR/$name.log" "mcast_member: joined" 15 || { cat "$LAB_DIR/$name.log" >&2; return 1; }
}
member_leave() {
  local v="MEMBER_PID_$1"
  kill -TERM "${!v}" 2>/dev/null
  wait_log "$LAB_DIR/$1.log" "mcast_member: left" 10
}

lab_init igmp
lab_topology || die "topology"
dc_up 10 || die "dc side"
mkdir -p "$LAB_DIR/tap"
METRICS=127.0.0.1:9546
if ! cloud_swanless_up --gre-only --groups auto --pcap "$LAB_DIR/tap" --metrics "$METRICS" \
     --pim-line "deny=$DENIED_GROUP" --pim-line "last_member_query_interval=${LMQI_MS}ms" \
     --pim-line "robustness=$ROBUSTNESS" --pim-line "query_interval=20s" \
     --deliver "tun,udp:127.0.0.1:$((LAB_PORT + 1))"; then
  fail "swanless start"; tail -n 30 "$LAB_DIR/swanless.log"; lab_summary; exit 1
fi
pass "swanless running in cloud with groups=auto (deny=$DENIED_GROUP, last member query ${LMQI_MS} ms x $ROBUSTNESS)"
wait_for "nsx cloud ip link show gre1 >/dev/null 2>&1" 10 || fail "swanless's gre1 did not appear"
capture_start cloud gre1 "$LAB_DIR/gre1.pcap" igmp || fail "capture on gre1"

if wait_for "pim_neighbor_up $LAB_CLOUD_TUN gre1" 20; then pass "FRR: PIM neighbor $LAB_CLOUD_TUN (swanless) on gre1"
else fail "FRR: no PIM neighbor on gre1"; frr_show "show ip pim neighbor"; tail -n 30 "$LAB_DIR/swanless.log"; fi
check "FRR: no join on gre1 before any member" test "$(frr_join_count gre1 '*' 239.)" -eq 0
check "swanless: IGMP querier on gre1 logged" grep -q "IGMP querier on gre1" "$LAB_DIR/swanless.log"

# --- 1. (*,G) from a plain socket: the receiver joins, as an application does
t_join=$(now_ms)
start_receiver "$LAB_PORT" "$LAB_GROUP" gre1 rx || fail "receiver start"
rx_pid=$LAB_BG_PID
if wait_for "pim_join_on $LAB_GROUP gre1" 10; then
  ms=$(( $(now_ms) - t_join ))
  check "FRR: (*,$LAB_GROUP) on gre1 ${ms} ms after the socket joined (<= $JOIN_MAX_MS ms, the receiver's start included)" \
    test "$ms" -le "$JOIN_MAX_MS"
else
  fail "FRR: no (*,$LAB_GROUP) join after the receiver joined"; frr_show "show ip pim join"; tail -n 20 "$LAB_DIR/swanless.log"
fi
igmp_groups=$(frr_show "show ip igmp groups" 2>/dev/null | grep -c "gre1")
check "FRR: the join is PIM from swanless, not passed-through IGMP (FRR's IGMP groups on gre1: $igmp_groups)" test "$igmp_groups" -eq 0
cloud_swanless_status --json >"$LAB_DIR/st1.json" 2>&1
check "status: (*,$LAB_GROUP) with origin igmp, member EXCLUDE v3" \
  test "$(jq_py "$LAB_DIR/st1.json" "[(j['source'], j['origin']) for j in d['pim'][0]['joins'] if j['group'] == '$LAB_GROUP'] == [('*', 'igmp')] and [(m['mode'], m['version']) for m in d['pim'][0]['igmp']['members'] if m['group'] == '$LAB_GROUP'] == [('exclude', 3)]")" = True
check "status --json with the querier matches docs/status.schema.json" status_schema_check "$LAB_DIR/st1.json"
if warm_up 15 rx; then pass "warm-up reaches the member"; else fail "warm-up: the member saw nothing"; fi
start_source 500 4
wait_source 30 >/dev/null || fail "source did not finish"
sleep 1.2
sent=$(json_get "$LAB_DIR/source.json" sent); u=$(json_get "$LAB_DIR/rx.json" unique); d=$(json_get "$LAB_DIR/rx.json" duplicates)
check "member-driven delivery: $u of $sent datagrams at the socket joined on gre1, duplicates $d" \
  awk -v u="${u:-0}" -v s="${sent:-0}" -v d="${d:-1}" 'BEGIN { exit !(s > 0 && u == s && d == 0) }'

# --- the application leaves: kernel's leave, our group-specific queries, a Prune
kill -TERM "$rx_pid" 2>/dev/null
if ms=$(wait_ms "! pim_join_on $LAB_GROUP gre1" 10); then
  check "FRR: (*,$LAB_GROUP) gone ${ms} ms after the member left (last member query time $LMQT_MS ms, +1000 ms)" \
    test "$ms" -le $((LMQT_MS + 1000))
else
  fail "FRR: (*,$LAB_GROUP) still there after the member left"; frr_show "show ip pim join"
fi
check "swanless logged the prune for members" grep -q "prune (\*,$LAB_GROUP) for members on gre1" "$LAB_DIR/swanless.log"

# --- 2. IGMPv3 source-specific: (S,G)
member ssm --group "$SSM_GROUP" --source "$LAB_SRC_ADDR" || fail "ssm member"
if ms=$(wait_ms "frr_sg_join_on $LAB_SRC_ADDR $SSM_GROUP gre1" 10); then
  pass "FRR: ($LAB_SRC_ADDR,$SSM_GROUP) join on gre1 from an IGMPv3 INCLUDE join, after ${ms} ms"
else fail "FRR: no ($LAB_SRC_ADDR,$SSM_GROUP)"; frr_show "show ip pim join"; fi
check "FRR: no (*,$SSM_GROUP) for a source-specific member" test "$(frr_join_count gre1 '*' "$SSM_GROUP")" -eq 0
member_leave ssm
if wait_for "! frr_sg_join_on $LAB_SRC_ADDR $SSM_GROUP gre1" 10; then pass "FRR: ($LAB_SRC_ADDR,$SSM_GROUP) gone after the leave"
else fail "FRR: ($LAB_SRC_ADDR,$SSM_GROUP) still there"; fi

# --- 3. deny=
member denied --group "$DENIED_GROUP" || fail "denied member"
sleep 2
check "deny=$DENIED_GROUP: no join at FRR" test "$(frr_join_count gre1 '*' "$DENIED_GROUP")" -eq 0
cloud_swanless_status --json >"$LAB_DIR/st2.json" 2>&1
check "deny=: counted (igmp drops denied $(jq_py "$LAB_DIR/st2.json" "d['pim'][0]['igmp']['drops'].get('denied', 0)"))" \
  test "$(jq_py "$LAB_DIR/st2.json" "d['pim'][0]['igmp']['drops'].get('denied', 0) > 0")" = True
member_leave denied

# --- 4. IGMPv2 host
nsx cloud sysctl -qw net.ipv4.conf.gre1.force_igmp_version=2 || fail "force_igmp_version=2"
member v2 --group "$V2_GROUP" || fail "v2 member"
if wait_for "pim_join_on $V2_GROUP gre1" 10; then pass "FRR: (*,$V2_GROUP) from an IGMPv2 report"
else fail "FRR: no (*,$V2_GROUP) from IGMPv2"; fi
cloud_swanless_status --json >"$LAB_DIR/st3.json" 2>&1
check "status: $V2_GROUP in v2 compatibility, v2 reports counted" \
  test "$(jq_py "$LAB_DIR/st3.json" "[m['version'] for m in d['pim'][0]['igmp']['members'] if m['group'] == '$V2_GROUP'] == [2] and d['pim'][0]['igmp']['reports_v2'] > 0")" = True
member_leave v2
if ms=$(wait_ms "! pim_join_on $V2_GROUP gre1" 10); then pass "FRR: (*,$V2_GROUP) gone ${ms} ms after the IGMPv2 leave"
else fail "FRR: (*,$V2_GROUP) still there after the v2 leave"; fi
nsx cloud sysctl -qw net.ipv4.conf.gre1.force_igmp_version=0

# --- 5. many groups at once
n_jp_before=$(tshark -r "$LAB_DIR/tap/gre1.pcap" -Y "pim.type == 3" 2>/dev/null | wc -l)
member many --range "$MANY_FIRST" "$MANY" || fail "member of $MANY groups"
if ms=$(wait_ms "[ \$(frr_join_count gre1 '*' 239.3.) -ge $MANY ]" 30); then
  pass "FRR: all $MANY (*,G) on gre1, $ms ms after the member joined them"
else fail "FRR: $(frr_join_count gre1 '*' 239.3.) of $MANY (*,G) on gre1"; fi
cloud_swanless_status >"$LAB_DIR/st4.txt" 2>&1
check "status text stays a screenful: a count, not $MANY lines" grep -q "($MANY in all)" "$LAB_DIR/st4.txt"
check "status text is short ($(wc -l <"$LAB_DIR/st4.txt") lines)" test "$(wc -l <"$LAB_DIR/st4.txt")" -lt 120
cloud_swanless_status --group "$SAMPLE_GROUP" >"$LAB_DIR/st5.txt" 2>&1
check "status --group $SAMPLE_GROUP: that group's join and member only" \
  grep -q "joined (\*,$SAMPLE_GROUP) \[igmp\], last join" "$LAB_DIR/st5.txt"
# a sample group delivers
start_receiver $((LAB_PORT + 2)) "$SAMPLE_GROUP" gre1 rxs || fail "sample receiver"
nsx src python3 "$here/mcast_sender.py" --group "$SAMPLE_GROUP" --port $((LAB_PORT + 2)) --rate 200 --seconds 3 \
  --size 200 --ttl 16 --iface-addr "$LAB_SRC_ADDR" --status "$LAB_DIR/sample-src.json" >/dev/null 2>&1
sleep 1.2
check "a sample group of the $MANY delivers ($(json_get "$LAB_DIR/rxs.json" unique) of $(json_get "$LAB_DIR/sample-src.json" sent), the first ones may go to building the dc's state)" \
  awk -v u="$(json_get "$LAB_DIR/rxs.json" unique)" -v s="$(json_get "$LAB_DIR/sample-src.json" sent)" 'BEGIN { exit !(s > 0 && u >= s * 0.8) }'
if [ "$(json_get "$LAB_DIR/rxs.json" unique)" = 0 ]; then
  echo "--- dc forwarder: $(cat "$LAB_DIR/fwd-dc.json" 2>/dev/null | head -c 600)"
  cloud_swanless_status --json 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin)["pim"][0]; print("pim drops", p["drops"], "delivered", p["datagrams_delivered"])'
  tail -n 5 "$LAB_DIR/fwd-dc.log"
fi
sleep 0.5
# The Join/Prune messages the member join sent, from swanless's pcap tap: packed (many
# groups each), none over the gre's MTU (1476).
tshark -r "$LAB_DIR/tap/gre1.pcap" -Y "pim.type == 3" -T fields -e ip.len -e pim.numgroups 2>/dev/null \
  | tail -n +$((n_jp_before + 1)) >"$LAB_DIR/jp.txt"
read -r n_msgs max_len total_groups max_groups < <(awk '{ n++; if ($1 > l) l = $1; g += $2; if ($2 > m) m = $2 } END { print n + 0, l + 0, g + 0, m + 0 }' "$LAB_DIR/jp.txt")
check "tshark: $MANY joins went up in $n_msgs Join/Prune messages (up to $max_groups groups each, $total_groups groups in all), the largest $max_len bytes <= 1476" \
  awk -v n="$n_msgs" -v l="$max_len" -v g="$total_groups" -v many="$MANY" 'BEGIN { exit !(n > 0 && n <= many / 50 && l <= 1476 && g >= many) }'
check "tshark: no malformed PIM in the tap" test "$(tshark -r "$LAB_DIR/tap/gre1.pcap" -Y "_ws.malformed || _ws.expert.severity >= error" 2>/dev/null | wc -l)" -eq 0
member_leave many
if ms=$(wait_ms "[ \$(frr_join_count gre1 '*' 239.3.) -le 1 ]" 30); then
  pass "FRR: the $MANY (*,G) gone $ms ms after the member left (the sample receiver keeps one)"
else fail "FRR: $(frr_join_count gre1 '*' 239.3.) (*,G) left on gre1"; fi

# --- metrics and the wire
body=$(nsx cloud python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "http://$METRICS/metrics")
check "metrics: swanless_pim_igmp_reports_total{version=\"3\"} and member changes" \
  grep -qE '^swanless_pim_igmp_reports_total\{pim="upstream",version="3"\} [1-9]' <<<"$body"
check "metrics: swanless_pim_member_changes_total{change=\"prune\"} counts the leaves" \
  grep -qE '^swanless_pim_member_changes_total\{pim="upstream",change="prune"\} [1-9]' <<<"$body"
capture_stop "$LAB_DIR/gre1.pcap"
n_q=$(tshark -r "$LAB_DIR/gre1.pcap" -Y "igmp.type == 0x11 && ip.src == $LAB_DC_TUN" 2>/dev/null | wc -l)
n_r=$(tshark -r "$LAB_DIR/gre1.pcap" -Y "igmp.type == 0x22 || igmp.type == 0x16 || igmp.type == 0x17" 2>/dev/null | wc -l)
n_bad=$(tshark -r "$LAB_DIR/gre1.pcap" -Y "_ws.malformed || _ws.expert.severity >= error || igmp.checksum.status == 0" 2>/dev/null | wc -l)
check "tshark on gre1: $n_q queries from swanless ($LAB_DC_TUN), $n_r reports/leaves from the kernel, $n_bad malformed" \
  awk -v q="$n_q" -v r="$n_r" -v b="$n_bad" 'BEGIN { exit !(q >= 2 && r >= 4 && b == 0) }'

lab_summary
