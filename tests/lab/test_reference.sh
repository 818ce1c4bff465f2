#!/usr/bin/env bash
# shellcheck disable=SC2119  # helpers called with their defaults
# Issue #3's end-to-end proof: the reference scenario (seed-aws.conf mapped to the lab, see
# README.md) with swanless itself in the cloud namespace.
#   SWANLESS=build/apps/swanless sudo -E tests/lab/test_reference.sh
# (scripts/test.sh runs it; it was tests/lab/swanless_lab.sh, which still calls this.)
# Checks, in one swanless run (keepalive=2s: it also sends its own GRE keepalives; pcap tap on):
#   - IKE_SA + both CHILD_SAs at the dc (NATed peer, ESP-in-UDP, PFS on the second)
#   - ping and iperf3 (TCP, both ways) between 10.45.8.17 and the dc host through dc-tun-tcp;
#     ping through GRE
#   - FRR: swanless is PIM neighbor on gre1, (*,239.1.1.1) join on gre1
#   - a warm-up burst, then RATE/s for SECS s (default 1000/s, 10 s): every datagram reaches a
#     socket joined on swanless's gre1 (deliver=tun) and the deliver=udp socket (lost <= LOSS_MAX,
#     default 0), no duplicates
#   - the dc's GRE keepalives (1 s) are answered; swanless's own (2 s) are reflected by the dc
#     and counted in `swanless status --json` (.gre[0].keepalives_sent/received, growing)
#   - tshark with swanless's keylog decodes the ESP on the NAT-dc link into GRE, PIM and UDP
#     with no malformed frame, bad ICV or expert error; only 203.0.113.1 appears there
#   - the pcap tap (config setup pcap=DIR) holds DIR/gre1.pcap with PIM and the multicast
#   - a real Prometheus in the cloud namespace scrapes swanless's metrics= endpoint every
#     second: its delivered-datagram series equals status --json once the stream is over,
#     its CHILD_SA byte counters lie between two status documents taken around the query;
#     `promtool check metrics` passes on a scrape and `promtool check rules` on the shipped
#     alert rules (contrib/prometheus/swanless-alerts.yml)
#   - SIGTERM: FRR's (*,G) gone within 2 s (measured), the dc has no IKE_SA left
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab.sh
. "$here/lab.sh"

RATE=${RATE:-1000}
SECS=${SECS:-10}
LOSS_MAX=${LOSS_MAX:-0}
PRUNE_MAX_MS=${PRUNE_MAX_MS:-2000}
lab_swanless_bin

# jq_py FILE EXPR: a Python expression over the JSON document d in FILE (no jq needed).
jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }

lab_init labs
lab_topology || die "topology"
check "underlay: cloud reaches the dc gateway through the NAT" ping_check cloud "$LAB_DC_GW" 2
dc_up 1 || die "dc side"
capture_start nat out0 "$LAB_DIR/wan.pcap" udp || die "capture"
mkdir -p "$LAB_DIR/tap"
METRICS=127.0.0.1:9545
if ! cloud_swanless_up --keepalive 2s --pcap "$LAB_DIR/tap" --metrics "$METRICS"; then
  fail "swanless start"; tail -n 30 "$LAB_DIR/swanless.log"; lab_summary; exit 1
fi
pass "swanless running in cloud (keepalive=2s, pcap=$LAB_DIR/tap, metrics=$METRICS)"
check "Prometheus scrapes swanless at http://$METRICS/metrics" prometheus_start cloud prom "$METRICS"

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

cloud_swanless_status --json >"$LAB_DIR/status1.json" 2>&1
check "swanless status --json answers" jq_py "$LAB_DIR/status1.json" 'd["gre"][0]'
cloud_swanless_status >"$LAB_DIR/status1.txt" 2>&1
check "swanless status (text) answers" test -s "$LAB_DIR/status1.txt"

# the stream: warm-up first (its datagrams are not counted), then the counted one
start_receiver "$LAB_PORT" "$LAB_GROUP" gre1 rx || fail "receiver (tun) start"
start_receiver $((LAB_PORT + 1)) - "" rxudp || fail "receiver (udp) start"
if warm_up 15 rx rxudp; then
  pass "warm-up: both receivers see the source ($(json_get "$LAB_DIR/warmup.json" sent) warm-up datagrams sent; rx $(json_get "$LAB_DIR/rx.json" warmup), udp $(json_get "$LAB_DIR/rxudp.json" warmup))"
else
  fail "warm-up: not all receivers saw the source (rx $(json_get "$LAB_DIR/rx.json" warmup), udp $(json_get "$LAB_DIR/rxudp.json" warmup))"
fi
# the capture for tshark: set-up, IKE, PIM, keepalives, pings and the warm-up multicast
capture_stop "$LAB_DIR/wan.pcap"

start_source "$RATE" "$SECS"
wait_source $((SECS + 20)) >/dev/null || fail "source did not finish"
sleep 1.2   # receivers write their status every 0.5 s
sent=$(json_get "$LAB_DIR/source.json" sent)
for r in rx rxudp; do
  u=$(json_get "$LAB_DIR/$r.json" unique)
  d=$(json_get "$LAB_DIR/$r.json" duplicates)
  lost=$(( ${sent:-0} - ${u:-0} ))
  mode=tun; [ $r = rxudp ] && mode=udp
  echo "$r: $(receiver_stats $r)"
  check "multicast deliver=$mode: $u of $sent datagrams at ${RATE}/s for ${SECS}s, lost $lost (max $LOSS_MAX), duplicates $d, latency avg $(json_get "$LAB_DIR/$r.json" latency_ms_avg) ms max $(json_get "$LAB_DIR/$r.json" latency_ms_max) ms" \
    awk -v u="${u:-0}" -v s="${sent:-0}" -v d="${d:-1}" -v m="$LOSS_MAX" \
      'BEGIN { exit !(s > 0 && s - u <= m && d == 0) }'
done

check_dc_forwarded "${sent:-0}"

# iperf3 through dc-tun-tcp, both directions
LAB_IPERF_PORT=5201
if mbps=$(iperf3_tcp dc "$LAB_DC_HOST" cloud 3 -B "$LAB_CLOUD_HOST"); then
  pass "iperf3 TCP $LAB_CLOUD_HOST -> $LAB_DC_HOST through dc-tun-tcp: $mbps Mbit/s"
else fail "iperf3 $LAB_CLOUD_HOST -> $LAB_DC_HOST"; fi
if mbps=$(iperf3_tcp dc "$LAB_DC_HOST" cloud 3 -B "$LAB_CLOUD_HOST" -R); then
  pass "iperf3 TCP $LAB_DC_HOST -> $LAB_CLOUD_HOST through dc-tun-tcp: $mbps Mbit/s"
else fail "iperf3 $LAB_DC_HOST -> $LAB_CLOUD_HOST"; fi

read -r ka_tx ka_rx < <(gre_keepalive_counts)
check "GRE keepalives of the dc answered by swanless: $ka_rx of $ka_tx (>= 3, at most 2 missing)" \
  awk -v t="${ka_tx:-0}" -v r="${ka_rx:-0}" 'BEGIN { exit !(r >= 3 && r >= t - 2) }'
cloud_swanless_status --json >"$LAB_DIR/status2.json" 2>&1
check "status --json with gre and pim sections matches docs/status.schema.json" \
  status_schema_check "$LAB_DIR/status2.json"

# Prometheus against status --json: the stream is over, so the delivered count is final;
# byte counters still move (keepalives, Hellos): the scraped value lies between status2
# (before the last scrape: 2.5 s at 1 s intervals) and status3 (after the query).
sleep 2.5
p_deliv=$(prometheus_query prom 'swanless_pim_delivered_datagrams_total{pim="upstream"}')
p_bytes=$(prometheus_query prom 'swanless_child_sa_bytes_total{child="dc-tun-gre",direction="in"}')
p_up=$(prometheus_query prom 'swanless_child_sa_installed{child="dc-tun-gre"}')
p_group=$(prometheus_query prom "swanless_pim_group_delivered_datagrams_total{group=\"$LAB_GROUP\"}")
cloud_swanless_status --json >"$LAB_DIR/status3.json" 2>&1
s_deliv=$(jq_py "$LAB_DIR/status3.json" 'd["pim"][0]["datagrams_delivered"]')
b2=$(jq_py "$LAB_DIR/status2.json" 'sum(k.get("bytes_in", 0) for s in d["ike_sas"] for k in s["children"] if k["name"] == "dc-tun-gre")')
b3=$(jq_py "$LAB_DIR/status3.json" 'sum(k.get("bytes_in", 0) for s in d["ike_sas"] for k in s["children"] if k["name"] == "dc-tun-gre")')
check "Prometheus: swanless_pim_delivered_datagrams_total = $p_deliv, status --json datagrams_delivered = $s_deliv (>= $sent sent)" \
  awk -v p="${p_deliv:-x}" -v s="${s_deliv:-y}" -v n="${sent:-0}" 'BEGIN { exit !(p == s && p + 0 >= n + 0 && n > 0) }'
check "Prometheus: dc-tun-gre bytes in $p_bytes, between status --json before ($b2) and after ($b3)" \
  awk -v p="${p_bytes:-x}" -v a="${b2:-y}" -v b="${b3:-z}" 'BEGIN { exit !(p ~ /^[0-9]+$/ && a + 0 > 0 && p + 0 >= a + 0 && p + 0 <= b + 0) }'
check "Prometheus: swanless_child_sa_installed{child=\"dc-tun-gre\"} = ${p_up:-none}" test "$p_up" = 1
s_group=$(jq_py "$LAB_DIR/status3.json" '[g["datagrams"] for g in d["pim"][0]["delivered_by_group"] if g["group"] == "'"$LAB_GROUP"'"][0]')
check "Prometheus: per-group delivery for $LAB_GROUP = ${p_group:-none}, status --json ${s_group:-none}" \
  test -n "$p_group" -a "$p_group" = "$s_group"
metrics_fetch cloud "http://$METRICS/metrics" "$LAB_DIR/metrics.txt" || fail "metrics fetch"
out=$(promtool check metrics <"$LAB_DIR/metrics.txt" 2>&1); rc=$?
check "promtool check metrics: a scrape of $(grep -c '^swanless_' "$LAB_DIR/metrics.txt") series is clean${out:+ ($out)}" test "$rc" = 0 -a -z "$out"
# every series the Grafana dashboard and the alert rules query is one swanless exports
dash_check() {
  python3 - "$here/../../contrib/grafana/swanless-dashboard.json" "$here/../../contrib/prometheus/swanless-alerts.yml" \
    "$LAB_DIR/metrics.txt" <<'PY'
import json, re, sys
exported = {l.split("{")[0].split(" ")[0] for l in open(sys.argv[3]) if l.startswith("swanless_")}
exprs = [t["expr"] for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]]
exprs += re.findall(r"expr: (.*)", open(sys.argv[2]).read())
used = {m for e in exprs for m in re.findall(r"\bswanless_[a-z_]+", e)}
missing = sorted(used - exported)
print("%d series used by %d queries%s" % (len(used), len(exprs), "; missing: " + " ".join(missing) if missing else ""))
sys.exit(1 if missing or not used else 0)
PY
}
check "Grafana dashboard and alert rules query only exported series ($(dash_check))" dash_check
out=$(promtool check rules "$here/../../contrib/prometheus/swanless-alerts.yml" 2>&1); rc=$?
check "promtool check rules: the shipped alert rules ($(grep -o '[0-9]* rules found' <<<"$out"))" test "$rc" = 0
s1=$(jq_py "$LAB_DIR/status1.json" 'd["gre"][0]["keepalives_sent"], d["gre"][0]["keepalives_received"]')
s2=$(jq_py "$LAB_DIR/status2.json" 'd["gre"][0]["keepalives_sent"], d["gre"][0]["keepalives_received"]')
read -r ks1 kr1 < <(tr -d '(),' <<<"$s1")
read -r ks2 kr2 < <(tr -d '(),' <<<"$s2")
check "swanless's own keepalives (2s), reflected by the dc: status --json .gre[0] sent $ks1 -> $ks2, received $kr1 -> $kr2 (dc reflected $(json_get "$LAB_DIR/gre-dc.json" ka_reflected))" \
  awk -v a="${ks1:-x}" -v b="${ks2:-x}" -v c="${kr1:-x}" -v e="${kr2:-x}" \
    'BEGIN { exit !(a ~ /^[0-9]+$/ && c ~ /^[0-9]+$/ && b > a && e > c && e >= b - 2) }'

# tshark with swanless's keylog on the NAT-dc capture. swanless logs its SAs with the
# addresses it sees (10.1.1.246 <-> 198.51.100.20); tshark matches ESP SAs on the outer
# addresses, which beyond the 1:1 NAT are 203.0.113.1: a copy of the keylog with that mapping.
keys_wan=$LAB_DIR/keys-wan
mkdir -p "$keys_wan"
cp "$SWANLESS_KEYS"/* "$keys_wan/" 2>/dev/null
sed -i "s/\"$LAB_CLOUD_PRIV\"/\"$LAB_NAT_PUB\"/g" "$keys_wan/esp_sa" 2>/dev/null
check "tshark: swanless's keylog ($(wc -l <"$SWANLESS_KEYS/esp_sa" 2>/dev/null) esp_sa lines, $(wc -l <"$SWANLESS_KEYS/ikev2_decryption_table" 2>/dev/null) IKE SAs) decrypts the NAT-dc capture, nothing malformed" \
  tshark_check_decrypt "$LAB_DIR/wan.pcap" "$keys_wan"
read -r n_esp n_gre n_pim n_join n_udp n_other esp_pub from_priv < <(tshark_counts "$LAB_DIR/wan.pcap" --keys "$keys_wan" \
  "esp" "esp && gre" "esp && pim" "esp && pim.type == 3" "esp && ip.dst == $LAB_GROUP && udp.dstport == $LAB_PORT" \
  "esp && gre && !pim && !udp.dstport == $LAB_PORT && !icmp" \
  "ip.src==$LAB_NAT_PUB && udp.srcport==4500 && esp" "ip.src==$LAB_CLOUD_PRIV")
check "tshark: decrypted ESP ($n_esp frames) holds GRE ($n_gre), PIM ($n_pim, $n_join Join/Prune), UDP to $LAB_GROUP:$LAB_PORT ($n_udp), other GRE e.g. keepalives ($n_other)" \
  awk -v g="${n_gre:-0}" -v p="${n_pim:-0}" -v j="${n_join:-0}" -v u="${n_udp:-0}" 'BEGIN { exit !(g > 0 && p > 0 && j > 0 && u > 0) }'
check "NAT: ESP-in-UDP leaves as $LAB_NAT_PUB ($esp_pub), never as $LAB_CLOUD_PRIV ($from_priv)" \
  awk -v e="${esp_pub:-0}" -v p="${from_priv:-1}" 'BEGIN { exit !(e > 0 && p == 0) }'

# shutdown: Prune + Hello holdtime 0 + IKE DELETE; time to prune measured
capture_start dc gre1 "$LAB_DIR/shutdown-pim.pcap" pim || fail "capture on the dc's gre1"
t0=$(now_ms)
kill -TERM "$LAB_SWANLESS_PID"
prune_ms=-1 exit_ms=-1
while [ $(( $(now_ms) - t0 )) -lt 5000 ]; do
  [ $exit_ms -lt 0 ] && ! kill -0 "$LAB_SWANLESS_PID" 2>/dev/null && exit_ms=$(( $(now_ms) - t0 ))
  if [ $join_seen = 1 ] && [ $prune_ms -lt 0 ]; then
    # one vtysh call per poll (the header proves vtysh answered)
    j=$(frr_show 'show ip pim join' 2>/dev/null)
    if grep -q Interface <<<"$j" && ! awk -v g="$LAB_GROUP" '$1 == "gre1" && $3 == "*" && $4 == g && $5 == "JOIN" { f = 1 } END { exit !f }' <<<"$j"; then
      prune_ms=$(( $(now_ms) - t0 ))
    fi
  fi
  [ $exit_ms -ge 0 ] && { [ $prune_ms -ge 0 ] || [ $join_seen = 0 ]; } && break
  sleep 0.05
done
if [ $exit_ms -ge 0 ]; then pass "swanless exits on SIGTERM (seen after $exit_ms ms)"
else fail "swanless did not exit on SIGTERM"; fi
if [ $join_seen = 0 ]; then fail "shutdown: Prune not testable (there was no join)"
else
  check "shutdown: FRR's (*,$LAB_GROUP) on gre1 gone $prune_ms ms after SIGTERM (max $PRUNE_MAX_MS)" \
    awk -v t="$prune_ms" -v m="$PRUNE_MAX_MS" 'BEGIN { exit !(t >= 0 && t <= m) }'
fi
if wait_for "! dc_sas 2>/dev/null | grep -qE '^dc-tun: #'" 5; then
  pass "shutdown: no IKE_SA left at the dc ($(( $(now_ms) - t0 )) ms after SIGTERM)"
else fail "shutdown: IKE_SA still at the dc"; dc_sas; fi
[ $join_seen = 1 ] && [ "$prune_ms" -ge 0 ] && check_dc_forwarding_stopped
capture_stop "$LAB_DIR/shutdown-pim.pcap"
# when the Prune (and the Hello with holdtime 0) reached the dc's gre1, relative to SIGTERM
pim_rx=$(tshark -n -r "$LAB_DIR/shutdown-pim.pcap" -T fields -e frame.time_epoch -e pim.type -e pim.holdtime 2>/dev/null \
  | awk -v t0="$t0" '{ printf "%s%s@%dms", (n++ ? " " : ""), ($2 == 3 ? "JoinPrune" : ($2 == 0 ? "Hello(holdtime " $3 ")" : "type" $2)), $1 * 1000 - t0 }')
echo "PIM from swanless on the dc's gre1 after SIGTERM: ${pim_rx:-none}"
if [ "$prune_ms" -lt 0 ] && [ $join_seen = 1 ]; then frr_show 'show ip pim join' 'show ip pim neighbor'; fi

# the pcap tap, complete now that swanless has exited
tap=$LAB_DIR/tap/gre1.pcap
if [ -s "$tap" ]; then
  read -r t_all t_pim t_join t_udp < <(tshark_counts "$tap" "ip" "pim" "pim.type == 3" \
    "ip.dst == $LAB_GROUP && udp.dstport == $LAB_PORT")
  check "pcap tap $tap: $t_all packets, PIM $t_pim ($t_join Join/Prune), UDP to $LAB_GROUP:$LAB_PORT $t_udp" \
    awk -v p="${t_pim:-0}" -v j="${t_join:-0}" -v u="${t_udp:-0}" -v s="${sent:-0}" 'BEGIN { exit !(p > 0 && j > 0 && u >= s && s > 0) }'
else
  fail "pcap tap: no $tap ($(ls "$LAB_DIR/tap" 2>&1 | tr '\n' ' '))"
fi

if [ "$LAB_FAILED" -gt 0 ]; then
  echo "----- tail of swanless.log"; tail -n 40 "$LAB_DIR/swanless.log"
fi
lab_down
echo "run time $(lab_elapsed)"
lab_summary
