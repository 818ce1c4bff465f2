#!/usr/bin/env bash
# tests/bench/mcast_rx.sh: receive-path benchmark (issue #3's speed item): datagrams/s of
# small multicast delivered through ESP+GRE, swanless vs strongSwan's userspace ESP, in one
# run. A benchmark, not a test: it never asserts timings; it exits non-zero only if a
# variant could not be set up.
#
# The lab is tests/lab/lab.sh's reference scenario (cloud behind 1:1 NAT, dc charon
# responder, FRR, ESP-in-UDP through the NAT, aes256-sha256-modp2048, CHILD_SA dc-tun-gre
# 10.44.7.1/32 <-> 10.44.6.1/32), built once. In cloud, per round and interleaved:
#   swanless   swanless with the seed's config reduced to dc-tun + dc-tun-gre, gre1 tun=no,
#              pim deliver=udp:127.0.0.1:5001: ESP + GRE + delivery in one process.
#              Delivered = datagrams received by a socket on 127.0.0.1:5001
#              (mcast_gre_tool recv, distinct sequence numbers); swanless's own
#              `status --json` .pim[0].datagrams_delivered is reported next to it.
#   strongswan a charon (kernel-libipsec: ESP in user space, decrypted packets written into
#              its TUN ipsec0), the same child. Delivered = ipsec0's rx_packets delta: for a
#              TUN, what the process writes into the fd is what the interface "receives"
#              (rx_packets counts the decrypted GRE packets charon handed to the kernel).
#              GRE decapsulation is not counted for strongSwan (the lab's GRE endpoint is a
#              Python script, tests/lab/gre_endpoint.py, not a fair comparison): in this
#              variant nothing runs behind ipsec0, so strongSwan's figure leaves out work
#              that swanless's figure includes.
# The source is not the lab's Python sender: mcast_gre_tool (C, tests/bench/
# mcast_gre_tool.c, compiled here with cc into the temp dir) sends, in the dc namespace,
# GRE packets 10.44.7.1 -> 10.44.6.1 on a raw socket, each carrying a UDP datagram
# 198.18.31.10 -> 239.1.1.1:5000 with a SIZE-byte payload (mcast_sender.py's format). The
# dc's charon (kernel-libipsec) encrypts them: that encryptor is the same for both variants
# and can be the limit; so every step also reports the ESP packets the dc sent (wan0
# tx_packets) and that arrived in cloud (eth0 rx_packets), and a receive-side loss
# (arrived in cloud -> delivered) next to the end-to-end loss (sent -> delivered).
#
# Ladder: rates (datagrams/s) ascending, STEP seconds each, all steps run (no early stop).
# Figures per variant: medians over the rounds of delivered/s per step, loss %, and the
# highest rate with <= 1 % loss (end-to-end and receive-side); ratio swanless / strongSwan.
#
# Usage: sudo SWANLESS=build/apps/swanless tests/bench/mcast_rx.sh [options]
#   -r N        rounds (default 2)
#   -R RATES    comma-separated datagrams/s (default 5000,10000,20000,40000,80000)
#   -u SECS     step length (default 5)
#   -S SIZE     UDP payload bytes (default 200)
#   -o FILE     Markdown file the section is written into (default tests/bench/RESULTS.md;
#               the section between its markers is replaced, the rest kept; "-" = none)
#   -N TEXT     a note printed with the figures (machine load etc.)
# Environment: SWANLESS (binary, default build/apps/swanless), LAB_KEEP_DIR=1 keeps the
# temp dir. Whole default run: about 5 minutes.
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

ROUNDS=2 RATES=5000,10000,20000,40000,80000 STEP=5 SIZE=200 OUT=$here/RESULTS.md NOTE=""
ARGS=("$@")
while getopts "r:R:u:S:o:N:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; R) RATES=$OPTARG ;; u) STEP=$OPTARG ;; S) SIZE=$OPTARG ;;
    o) OUT=$OPTARG ;; N) NOTE=$OPTARG ;;
    *) sed -n '2,/^# temp dir. Whole default/p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "-r: a positive integer"; exit 2; }
SWANLESS=${SWANLESS:-$repo/build/apps/swanless}
SWANLESS=$(readlink -f "$SWANLESS")
[ -x "$SWANLESS" ] || { echo "no swanless binary at $SWANLESS (set SWANLESS=)"; exit 2; }
command -v cc >/dev/null || { echo "needs cc (to build tests/bench/mcast_gre_tool.c)"; exit 2; }

# charon: errors and IKE events only, nothing per packet
LAB_CHARON_LOG_LEVELS=${LAB_CHARON_LOG_LEVELS:-"default=1 ike=1 cfg=0 knl=0 net=0 esp=0"}
# shellcheck source=../lab/lab.sh
. "$here/../lab/lab.sh"
lab_init mcb
TOOL=$LAB_DIR/mcast_gre_tool
cc -O2 -o "$TOOL" "$here/mcast_gre_tool.c" || die "cc mcast_gre_tool.c"
RES=$LAB_DIR/results.tsv      # variant round rate sent dc_esp cloud_esp delivered aux rcvbuf_err secs
: >"$RES"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date -u '+%Y-%m-%d %H:%M UTC')

lab_up --cloud none || die "lab up"
cloud_base
# the stand-in charon needs the inner address on lo; harmless for swanless
ip -n "$(lab_ns cloud)" addr replace "$LAB_CLOUD_GRE/32" dev lo
lab_log "lab up"

SEQ=0          # global sequence base: every datagram of the run has its own number
VARIANT_PID="" # swanless pid, or the charon's name

# ---------------------------------------------------------------------------------------
# variants

swl_up() {
  local dir=$LAB_DIR/swl-$1
  mkdir -p "$dir"
  cloud_swanless_conf --gre-only --tun no --deliver "udp:127.0.0.1:$((LAB_PORT + 1))" --dir "$dir" || return 1
  cloud_swanless_start || return 1
  VARIANT_PID=$LAB_SWANLESS_PID
  wait_for swl_ready 20 || { lab_log "swanless: no CHILD_SA"; cloud_swanless_status >&2; return 1; }
  lab_bg cloud "$LAB_DIR/rx-$1.log" "$TOOL" recv --port $((LAB_PORT + 1)) --status "$LAB_DIR/rx-$1.json"
  RX_PID=$LAB_BG_PID
  wait_for "[ -s '$LAB_DIR/rx-$1.json' ]" 5
}
swl_down() {
  _lab_end_pid "$RX_PID" 2
  _lab_end_pid "$VARIANT_PID" 5
}
# swl_json EXPR: a Python expression over swanless's status --json (d)
swl_json() {
  cloud_swanless_status --json 2>/dev/null | python3 -c "import json,sys
try:
    d = json.load(sys.stdin); print($1)
except Exception:
    print('')"
}

swl_ready() {
  [ "$(swl_json "any(sa.get('state') == 'ESTABLISHED' and sa.get('children') for sa in d['ike_sas'])")" = True ]
}

chn_up() {
  local name=cl$1
  charon_start cloud "$name" || return 1
  swanctl_conf_gen "$LAB_DIR/$name.swanctl.conf" --conn dc-tun --local "$LAB_CLOUD_PRIV" --remote "$LAB_DC_GW" \
    --local-id "$LAB_NAT_PUB" --remote-id "$LAB_DC_GW" --psk "$LAB_PSK" \
    --ike "$LAB_PROPOSAL" --esp "$LAB_PROPOSAL" --encap yes --start none \
    --child dc-tun-gre "$LAB_CLOUD_GRE/32" "$LAB_DC_GRE/32" tunnel || return 1
  charon_load cloud "$name" "$LAB_DIR/$name.swanctl.conf" || return 1
  charon_initiate cloud "$name" dc-tun-gre 15 || return 1
  VARIANT_PID=$name
  wait_for "nsx cloud test -d /sys/class/net/ipsec0" 5
}
chn_down() { charon_stop "$VARIANT_PID"; }

# ---------------------------------------------------------------------------------------
# counters

ifc() { nsx "$1" cat "/sys/class/net/$2/statistics/$3" 2>/dev/null || echo 0; }
rcvbuf_err() {
  nsx cloud cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
    else for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print $i }'
}
# snapshot VARIANT NAME: "dc_esp cloud_esp delivered aux rcvbuf"
snapshot() {
  local v=$1 name=$2 del aux
  if [ "$v" = swanless ]; then
    del=$(json_get "$LAB_DIR/rx-$name.json" unique)
    aux=$(swl_json "d['pim'][0]['datagrams_delivered']")
  else
    del=$(ifc cloud ipsec0 rx_packets)
    aux=$(ifc cloud ipsec0 rx_dropped)
  fi
  echo "$(ifc dc wan0 tx_packets) $(ifc cloud eth0 rx_packets) ${del:-0} ${aux:-0} $(rcvbuf_err)"
}

# send RATE SECS: the source in dc (blocks)
send() {
  nsx dc "$TOOL" send --local "$LAB_DC_GRE" --remote "$LAB_CLOUD_GRE" --src "$LAB_SRC_ADDR" \
    --group "$LAB_GROUP" --port "$LAB_PORT" --size "$SIZE" --rate "$1" --seconds "$2" --seq0 "$SEQ" \
    --status "$LAB_DIR/send.json" >/dev/null 2>"$LAB_DIR/send.err"
  SEQ=$((SEQ + $(json_get "$LAB_DIR/send.json" sent) + 1))
}

# ladder VARIANT NAME ROUND
ladder() {
  local v=$1 name=$2 round=$3 rate a b sent secs
  send 1000 1 ; sleep 1     # warm-up (routes, caches), not counted
  IFS=, read -r -a rl <<<"$RATES"
  for rate in "${rl[@]}"; do
    a=$(snapshot "$v" "$name")
    send "$rate" "$STEP"
    sent=$(json_get "$LAB_DIR/send.json" sent); secs=$(json_get "$LAB_DIR/send.json" seconds)
    sleep 1.5                # drain the queues; the receiver writes its status every 0.2 s
    b=$(snapshot "$v" "$name")
    read -r -a A <<<"$a"; read -r -a B <<<"$b"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$round" "$rate" "$sent" \
      $((B[0] - A[0])) $((B[1] - A[1])) $((B[2] - A[2])) $((B[3] - A[3])) $((B[4] - A[4])) "$secs" >>"$RES"
    lab_log "$v round $round: $rate/s offered: sent $sent in ${secs}s, dc ESP out $((B[0] - A[0])), cloud ESP in $((B[1] - A[1])), delivered $((B[2] - A[2])) (aux $((B[3] - A[3])), rcvbuf errors $((B[4] - A[4])))"
  done
}

for ((round = 1; round <= ROUNDS; round++)); do
  for v in swanless strongswan; do
    name=$v$round
    if [ $v = swanless ]; then swl_up "$name" || die "swanless up (round $round)"
    else chn_up "$round" || die "strongSwan up (round $round)"; fi
    # the dc must have the new CHILD_SA installed (the old one of the other variant replaced)
    sleep 1
    ladder "$v" "$name" "$round"
    if [ $v = swanless ]; then swl_down; else chn_down; fi
    # the dc notices the peer is gone on the next IKE_SA (uniqueids replaces the old one)
    sleep 1
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo)
ver_swl=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)
# the build type of the measured binary, from its build dir's CMakeCache.txt
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$(dirname "$SWANLESS")")/CMakeCache.txt" 2>/dev/null)
ver_ss=$(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null || charon --version 2>/dev/null | head -n1)
python3 "$here/mcast_rx_summary.py" "$RES" --out "$OUT" --date "$T0" \
  --machine "$(nproc) CPUs, $cpu, kernel $(uname -r)" --load "at start $LOAD0, at end $LOAD1" \
  --versions "swanless $ver_swl ($SWANLESS), strongSwan $ver_ss" --size "$SIZE" --step "$STEP" \
  --rounds "$ROUNDS" --note "$NOTE" --build-type "${build_type:-Release}" \
  --cmd "sudo SWANLESS=${SWANLESS#"$repo"/} tests/bench/mcast_rx.sh$(printf ' %q' "${ARGS[@]}")"
[ "${LAB_KEEP_DIR:-0}" = 1 ] && cp "$RES" "/tmp/mcast_rx-results.$$.tsv" && echo "raw: /tmp/mcast_rx-results.$$.tsv"
lab_down
exit 0
