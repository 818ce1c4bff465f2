#!/usr/bin/env bash
# tests/bench/run.sh: throughput benchmark of the ESP-in-UDP data path (a benchmark, not a
# test: it never asserts timings; it exits non-zero only if a tunnel could not be set up).
#
# Four paths, each in its own pair of network namespaces joined by a veth
# (192.0.2.1/24 <-> 192.0.2.2/24, inner selectors 10.99.0.1/32 <-> 10.99.0.2/32, PSK,
# ESP-in-UDP forced on both sides: forceencaps=yes / encap=yes):
#   veth  plain veth, no IPsec (baseline)
#   ss    swanless   <-> swanless
#   sn    swanless   <-> swanless with offload=no (one packet per TUN read/write and per UDP send; only
#         when asked for with -P, to see what the TUN offloads bring)
#   sc    swanless   <-> strongSwan (charon 5.9 + kernel-libipsec)
#   cc    strongSwan <-> strongSwan
# Per round, interleaved (veth, ss, sc, cc, veth, ss, ...):
#   - iperf3 TCP, one stream, -t TCP_SECS, client in A -> server in B
#   - fixed-rate UDP ladder: iperf3 -u -b RATE -l 1372 (fits the 1400-byte TUN MTU of both
#     daemons), rates ascending; the ladder stops at the first rate with > 1 % loss. The
#     figure kept is the highest rate with <= 1 % loss.
#   - "UDP, GSO sender" ladder: the same rules, but the sender is tests/bench/udp_gso_tool.c
#     (compiled here with cc -O2 into the temp dir), sending 1372-byte datagrams the way
#     QUIC stacks do: 32 per sendmsg with UDP_SEGMENT, paced to the rate; its receiver in B
#     reads with UDP_GRO and counts distinct sequence numbers. iperf3 -u makes one syscall
#     per datagram and on a 2-core machine cannot offer much more than ~1 Gbit/s even on
#     plain veth, so its ladder cannot show what the IPsec data paths carry; this one can.
#     Same sender and receiver on every path: on strongSwan's TUN (no UDP offload) the
#     kernel cuts the burst into datagrams before the TUN, on swanless's the super-packet
#     can arrive whole when its TUN offers UDP segmentation offload.
# While each TCP run goes on, the CPU time of each daemon is read from /proc/PID/stat
# (utime+stime, all threads) to give cores per Gbit/s.
# At the end: medians over the rounds, ratios swanless-pair / strongSwan-pair, and a
# Markdown snippet (tests/bench/RESULTS.md unless -o).
#
# Usage: sudo SWANLESS=build/apps/swanless tests/bench/run.sh [options]
#   -r N         rounds (default 3)
#   -s SUITES    comma-separated: aes256gcm16 (alias gcm; IKE aes256gcm16-prfsha256-ecp256,
#                ESP aes256gcm16; the default) and/or aes256-sha256-modp2048 (alias cbc;
#                IKE and ESP)
#   -t SECS      TCP run length (default 5)       -u SECS  UDP step length (default 3)
#   -R RATES     UDP ladder, comma-separated iperf3 rates (default 50M,100M,200M,400M,800M,1200M,1600M)
#   -G RATES     UDP GSO-sender ladder, comma-separated rates in bit/s of UDP payload
#                (default 100M,200M,400M,800M,1200M,1600M,2000M,2500M,3000M,4000M;
#                "none" = skip it)
#   -W SIZE      iperf3 -w for UDP (socket buffers of both iperf3 ends, default 2M), so that
#                a busy machine descheduling the iperf3 receiver does not count as loss
#   -P PATHS     subset of veth,ss,sn,sc,cc (default veth,ss,sc,cc)
#   -o FILE      Markdown output (default tests/bench/RESULTS.md; "-" = none)
#   -N TEXT      a note printed with the figures (e.g. "noisy, machine shared with builds")
#   -p           profile swanless after the rounds: perf record (if perf works here) and
#                strace -c syscall counts per packet, written to -d DIR
#   -d DIR       where -p puts its files (default /tmp/swanless-bench-profile.PID)
# Environment: SWANLESS (binary, default build/apps/swanless), LAB_KEEP_DIR=1 keeps the
# temp dir (configs, logs, raw iperf3 JSON, udp_gso_tool outputs gso-*.send/.recv).
# Whole default run (1 suite, 3 rounds): about 9 minutes (with -G none: about 5).
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/../interop/lib.sh"

ROUNDS=3 SUITES=aes256gcm16 TCP_SECS=5 UDP_SECS=3 RATES=50M,100M,200M,400M,800M,1200M,1600M
GSO_RATES=100M,200M,400M,800M,1200M,1600M,2000M,2500M,3000M,4000M
UDP_WIN=2M PATHS=veth,ss,sc,cc OUT=$here/RESULTS.md NOTE="" PROFILE=0 PROF_DIR=/tmp/swanless-bench-profile.$$
ARGS=("$@")
while getopts "r:s:t:u:R:G:W:P:o:N:pd:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; s) SUITES=$OPTARG ;; t) TCP_SECS=$OPTARG ;; u) UDP_SECS=$OPTARG ;;
    R) RATES=$OPTARG ;; G) GSO_RATES=$OPTARG ;; W) UDP_WIN=$OPTARG ;; P) PATHS=$OPTARG ;; o) OUT=$OPTARG ;; N) NOTE=$OPTARG ;;
    p) PROFILE=1 ;; d) PROF_DIR=$OPTARG ;;
    *) sed -n '2,/^# Whole default/p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
SWANLESS=${SWANLESS:-$repo/build/apps/swanless}
SWANLESS=$(readlink -f "$SWANLESS")
case ",$PATHS," in *,ss,*|*,sn,*|*,sc,*) [ -x "$SWANLESS" ] || { echo "no swanless binary at $SWANLESS (set SWANLESS=)"; exit 2; } ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "-r: a positive integer"; exit 2; }
if [ "$GSO_RATES" != none ]; then
  [[ $GSO_RATES =~ ^[0-9]+(\.[0-9]+)?[kKMG]?(,[0-9]+(\.[0-9]+)?[kKMG]?)*$ ]] \
    || { echo "-G: comma-separated rates like 400M,1.5G, or none"; exit 2; }
  command -v cc >/dev/null || { echo "needs cc (to build tests/bench/udp_gso_tool.c; -G none skips that ladder)"; exit 2; }
fi

# charon: errors and IKE events only, nothing per packet
LAB_CHARON_LOG_LEVELS=${LAB_CHARON_LOG_LEVELS:-"default=1 ike=1 cfg=0 knl=0 net=0 esp=0"}
lab_init bn
HZ=$(getconf CLK_TCK)
RES="$LAB_DIR/results.tsv"     # suite round path metric value
: >"$RES"
IPERF_PORT=5201
GSO_PORT=5301
GSO_TOOL=$LAB_DIR/udp_gso_tool
if [ "$GSO_RATES" != none ]; then
  cc -O2 -o "$GSO_TOOL" "$here/udp_gso_tool.c" || die "cc udp_gso_tool.c"
fi

suite_ike() { case $1 in aes256gcm16) echo aes256gcm16-prfsha256-ecp256 ;; *) echo "$1" ;; esac; }
suite_esp() { echo "$1"; }
norm_suite() {
  case $1 in
    gcm|aes256gcm16) echo aes256gcm16 ;;
    cbc|aes256-sha256-modp2048) echo aes256-sha256-modp2048 ;;
    *) echo "unknown suite '$1' (aes256gcm16 | aes256-sha256-modp2048)" >&2; return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------
# lab: one namespace pair per path, made once
declare -A PATH_PIDS=()     # path -> "pid pid" of its daemons
declare -A PATH_SRV=()      # path -> iperf3 server address (in B)
declare -A PATH_CLI=()      # path -> iperf3 client bind address (in A)
declare -A PATH_SRVPID=()   # path -> iperf3 server pid
IFS=, read -r -a PATH_LIST <<<"$PATHS"
for p in "${PATH_LIST[@]}"; do
  case $p in veth|ss|sn|sc|cc) ;; *) die "unknown path '$p' (veth,ss,sn,sc,cc)" ;; esac
  ns_create "${p}a" || die "namespace ${p}a"
  ns_create "${p}b" || die "namespace ${p}b"
  link_ns "${p}a" e0 192.0.2.1/24 "${p}b" e0 192.0.2.2/24 || die "veth for $p"
  if [ "$p" = veth ]; then PATH_SRV[$p]=192.0.2.2; PATH_CLI[$p]=192.0.2.1
  else PATH_SRV[$p]=10.99.0.2; PATH_CLI[$p]=10.99.0.1; fi
done

# swl_up NS INITIATOR(yes|no) SUITE NAME [TUN_OFFLOAD]: start swanless in NS with one conn
swl_up() {
  local ns=$1 init=$2 suite=$3 name=$4 offload=${5:-yes} me peer
  if [ "${ns: -1}" = a ]; then me=1 peer=2; else me=2 peer=1; fi
  cat >"$LAB_DIR/$name.conf" <<CONF
config setup
    socket=$LAB_DIR/$name.sock
    loglevel=info
    offload=$offload

conn bench
    keyexchange=ikev2
    authby=secret
    ike=$(suite_ike "$suite")!
    esp=$(suite_esp "$suite")!
    left=192.0.2.$me
    leftid=n$me.bench.test
    right=192.0.2.$peer
    rightid=n$peer.bench.test
    leftsubnet=10.99.0.$me/32
    rightsubnet=10.99.0.$peer/32
    forceencaps=yes
    auto=$([ "$init" = yes ] && echo start || echo add)
CONF
  printf 'n1.bench.test n2.bench.test : PSK "bench-%s"\n' "$$" >"$LAB_DIR/$name.secrets"
  chmod 600 "$LAB_DIR/$name.secrets"
  lab_bg "$ns" "$LAB_DIR/$name.log" "$SWANLESS" run -c "$LAB_DIR/$name.conf"
  LAST_PID=$LAB_BG_PID
  wait_for "[ -S $LAB_DIR/$name.sock ]" 10 || { cat "$LAB_DIR/$name.log" >&2; return 1; }
}

# chn_up NS INITIATOR(yes|no) SUITE NAME: start charon NAME in NS with one connection
chn_up() {
  local ns=$1 init=$2 suite=$3 name=$4 me peer
  if [ "${ns: -1}" = a ]; then me=1 peer=2; else me=2 peer=1; fi
  ip -n "$(lab_ns "$ns")" addr replace "10.99.0.$me/32" dev lo
  charon_start "$ns" "$name" || return 1
  swanctl_conf_gen "$LAB_DIR/$name.swanctl.conf" --conn bench --local "192.0.2.$me" \
    --remote "192.0.2.$peer" --local-id "n$me.bench.test" --remote-id "n$peer.bench.test" \
    --psk "bench-$$" --ike "$(suite_ike "$suite")" --esp "$(suite_esp "$suite")" --encap yes \
    --start none --child net "10.99.0.$me/32" "10.99.0.$peer/32" tunnel || return 1
  charon_load "$ns" "$name" "$LAB_DIR/$name.swanctl.conf" || return 1
  LAST_PID=${LAB_CHARON_PID[$name]}
  [ "$init" = yes ] && { charon_initiate "$ns" "$name" net 15 || return 1; }
  return 0
}

# tunnels_up SUITE: start the daemons of every IPsec path, wait for inner pings
tunnels_up() {
  local suite=$1 p a b
  for p in "${PATH_LIST[@]}"; do
    a="${p}a" b="${p}b"
    case $p in
      veth) PATH_PIDS[$p]=""; continue ;;
      ss) swl_up "$b" no "$suite" "ss-b" || die "swanless ${b}"; b=$LAST_PID
          swl_up "$a" yes "$suite" "ss-a" || die "swanless ${a}"; PATH_PIDS[$p]="$LAST_PID $b" ;;
      sn) swl_up "$b" no "$suite" "sn-b" no || die "swanless ${b}"; b=$LAST_PID
          swl_up "$a" yes "$suite" "sn-a" no || die "swanless ${a}"; PATH_PIDS[$p]="$LAST_PID $b" ;;
      sc) chn_up "$b" no "$suite" "sc-b" || die "charon ${b}"; b=$LAST_PID
          swl_up "$a" yes "$suite" "sc-a" || die "swanless ${a}"; PATH_PIDS[$p]="$LAST_PID $b" ;;
      cc) chn_up "$b" no "$suite" "cc-b" || die "charon ${b}"; b=$LAST_PID
          chn_up "$a" yes "$suite" "cc-a" || die "charon ${a}"; PATH_PIDS[$p]="$LAST_PID $b" ;;
    esac
  done
  for p in "${PATH_LIST[@]}"; do
    [ "$p" = veth ] && continue
    if wait_for "nsx ${p}a ping -n -c 1 -W 1 -I ${PATH_CLI[$p]} ${PATH_SRV[$p]}" 20; then
      lab_log "$p: tunnel up (daemons ${PATH_PIDS[$p]})"
    else
      die "$p: no ping through the tunnel ($suite)"
    fi
    # a 1372-byte UDP payload must cross in one ESP packet: check the full-size ping too
    nsx "${p}a" ping -n -q -c 1 -W 2 -s 1372 -I "${PATH_CLI[$p]}" "${PATH_SRV[$p]}" >/dev/null \
      || lab_log "$p: warning: 1372-byte ping failed"
  done
}

# tunnels_down: stop every daemon (between suites)
tunnels_down() {
  local n p
  for p in "${PATH_LIST[@]}"; do
    case $p in
      ss|sn|sc) for n in ${PATH_PIDS[$p]}; do
               # charons are stopped below by name; swanless pids by pid
               [[ " ${LAB_CHARON_PID[*]} " == *" $n "* ]] || _lab_end_pid "$n" 3
             done ;;
    esac
  done
  for n in sc-b cc-a cc-b; do charon_stop "$n"; done
  for p in "${PATH_LIST[@]}"; do
    [ -n "${PATH_SRVPID[$p]:-}" ] && _lab_end_pid "${PATH_SRVPID[$p]}" 1
    PATH_SRVPID[$p]=""
  done
}

# ---------------------------------------------------------------------------------------
# measurements

cpu_each() { local pid; for pid in "$@"; do cpu_ticks "$pid"; done | paste -sd' '; }

# drops PATH: counters where packets can be lost, A side then B side: UDP RcvbufErrors,
# SndbufErrors (all UDP sockets of the namespace, i.e. mostly the daemon's ESP-in-UDP
# socket), and the TUN device's (swanless0 / ipsec0) rx/tx dropped
drops() {
  local p=$1 side
  for side in a b; do
    nsx "$p$side" cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
      else for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors" || k[i] == "SndbufErrors") printf "%s ", $i }'
    # shellcheck disable=SC2016
    nsx "$p$side" sh -c 'for d in swanless0 ipsec0; do
        [ -d /sys/class/net/$d ] && { cat /sys/class/net/$d/statistics/rx_dropped /sys/class/net/$d/statistics/tx_dropped; exit; }
      done; echo 0 0' | paste -sd' ' | tr '\n' ' '
  done
}
# swl_counters PATH: swanless's own drop counters (status --json), non-zero ones only
swl_counters() {
  local p=$1 side name
  for side in a b; do
    name="$p-$side"
    [ -S "$LAB_DIR/$name.sock" ] || continue
    printf '%s: ' "$name"
    nsx "$p$side" "$SWANLESS" status --json --socket "$LAB_DIR/$name.sock" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print("status unreadable"); sys.exit()
out = []
for sa in d.get("ike_sas", []):
    for k in sa.get("children", []):
        out += ["%s=%s" % (n, v) for n, v in (k.get("drops") or {}).items() if v]
        out.append("pkts_in=%s pkts_out=%s" % (k.get("packets_in", "?"), k.get("packets_out", "?")))
out += ["%s=%s" % (n, v) for n, v in (d.get("counters") or {}).items() if v and not n.startswith("ike_")]
print(" ".join(out) or "no drops")' | tr '\n' ' '
  done
}
# swl_pkts NAME NS: ESP packets swanless NAME has sent + received (all its CHILD_SAs)
swl_pkts() {
  nsx "$2" "$SWANLESS" status --json --socket "$LAB_DIR/$1.sock" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
print(sum(int(k.get("packets_in", 0)) + int(k.get("packets_out", 0)) for sa in d.get("ike_sas", []) for k in sa.get("children", [])))'
}
drops_delta() {  # BEFORE AFTER -> "A: rcvbuf N sndbuf N tun rxdrop N txdrop N; B: ..."
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " ")
    split("rcvbuf sndbuf tun_rx_drop tun_tx_drop", k, " ")
    for (i = 1; i <= n; i++) { s = s (i == 1 ? "A: " : i == 5 ? "; B: " : " ") k[(i - 1) % 4 + 1] "=" y[i] - x[i] }
    print s }'
}

srv_up() {  # PATH: a persistent iperf3 server in B
  local p=$1
  if [ -n "${PATH_SRVPID[$p]:-}" ] && kill -0 "${PATH_SRVPID[$p]}" 2>/dev/null; then return 0; fi
  lab_bg "${p}b" "$LAB_DIR/iperf3-srv-$p.log" iperf3 -s -B "${PATH_SRV[$p]}" -p $IPERF_PORT
  PATH_SRVPID[$p]=$LAB_BG_PID
  wait_for "nsx ${p}b ss -Hltn 'sport = :$IPERF_PORT' | grep -q LISTEN" 5
}

# client PATH SECS JSONFILE ARGS...: one iperf3 client run in A
client() {
  local p=$1 secs=$2 json=$3; shift 3
  srv_up "$p" || { lab_log "$p: iperf3 server did not start"; return 1; }
  nsx "${p}a" timeout $((secs + 20)) iperf3 -c "${PATH_SRV[$p]}" -B "${PATH_CLI[$p]}" \
    -p $IPERF_PORT -t "$secs" -J "$@" >"$json" 2>"$json.err"
  local rc=$?
  if [ $rc -ne 0 ]; then
    # a stuck server (e.g. after a timeout) is restarted for the next run
    _lab_end_pid "${PATH_SRVPID[$p]}" 1; PATH_SRVPID[$p]=""
  fi
  return $rc
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$SUITE" "$ROUND" "$1" "$2" "$3" >>"$RES"; }

run_tcp() {  # PATH
  local p=$1 json="$LAB_DIR/tcp-$SUITE-$ROUND-$1.json" pids=${PATH_PIDS[$1]} t0 t1 c0 c1 d0 d1 mbps rc
  srv_up "$p" || { lab_log "$p: iperf3 server did not start"; record "$p" tcp_fail 1; return; }
  nsx "${p}a" timeout $((TCP_SECS + 20)) iperf3 -c "${PATH_SRV[$p]}" -B "${PATH_CLI[$p]}" \
    -p $IPERF_PORT -t "$TCP_SECS" -J >"$json" 2>"$json.err" &
  local cpid=$!
  # CPU window: from 1 s after the start to 1 s before the end (steady state)
  sleep 1
  # shellcheck disable=SC2086
  c0=$(cpu_each $pids); t0=$(date +%s%N); d0=$(drops "$p")
  sleep "$(awk -v t="$TCP_SECS" 'BEGIN { print (t > 2 ? t - 2 : 0.5) }')"
  # shellcheck disable=SC2086
  t1=$(date +%s%N); c1=$(cpu_each $pids); d1=$(drops "$p")
  wait "$cpid"; rc=$?
  if [ $rc -ne 0 ]; then
    lab_log "$p: TCP run failed (rc $rc)"; record "$p" tcp_fail 1
    _lab_end_pid "${PATH_SRVPID[$p]}" 1; PATH_SRVPID[$p]=""
    return
  fi
  local retr
  read -r mbps retr < <(iperf3_json "$json" tcp) && [ -n "$mbps" ] || { lab_log "$p: TCP result unreadable"; return; }
  record "$p" tcp_mbps "$mbps"; record "$p" tcp_retrans "$retr"
  if [ -n "$pids" ]; then
    # cores used by each daemon (utime+stime over the steady-state window)
    local cores
    cores=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v dt=$(( (t1 - t0) / 1000 )) 'BEGIN {
      n = split(a, x, " "); split(b, y, " "); tot = 0; s = ""
      for (i = 1; i <= n; i++) { c = (y[i] - x[i]) / hz / (dt / 1e6); tot += c; s = s sprintf("%.2f ", c) }
      printf "%s%.2f", s, tot }')
    set -- $cores
    record "$p" cpu_a "$1"; record "$p" cpu_b "$2"; record "$p" cpu_total "$3"
    record "$p" cores_per_gbps "$(awk -v c="$3" -v m="$mbps" 'BEGIN { printf "%.2f", (m > 0 ? c / (m / 1000) : 0) }')"
  fi
  lab_log "$SUITE r$ROUND $p: TCP $mbps Mbit/s, $retr retransmits${pids:+, daemon cores ${cores:-?}}"
  [ "$p" != veth ] && lab_log "$SUITE r$ROUND $p: kernel drops in the CPU window: $(drops_delta "$d0" "$d1")"
  case $p in ss|sn|sc) lab_log "$SUITE r$ROUND $p: swanless counters (cumulative): $(swl_counters "$p")" ;; esac
}

run_udp() {  # PATH: the ladder; stops at the first rate with > 1 % loss, or that the sender
             # could not offer (< 90 % of it: the machine, not the path, is the limit)
  local p=$1 rate best=0 best_rx=0 out rx lp sent nominal limit=""
  IFS=, read -r -a rates <<<"$RATES"
  for rate in "${rates[@]}"; do
    local json="$LAB_DIR/udp-$SUITE-$ROUND-$p-$rate.json"
    local d0 d1=""
    [ "$p" != veth ] && d0=$(drops "$p")
    if ! client "$p" "$UDP_SECS" "$json" -u -b "$rate" -l 1372 -w "$UDP_WIN"; then lab_log "$p: UDP $rate run failed"; limit=fail; break; fi
    [ "$p" != veth ] && d1=$(drops "$p")
    out=$(iperf3_json "$json" udp) || { lab_log "$p: UDP $rate result unreadable"; limit=fail; break; }
    read -r rx lp _ _ sent <<<"$out"
    nominal=$(numfmt --from=si "$rate" | awk '{ printf "%d", $1 / 1e6 }')
    lab_log "$SUITE r$ROUND $p: UDP $rate -> sent $sent, received $rx Mbit/s, loss $lp %${d1:+ (kernel drops: $(drops_delta "$d0" "$d1"))}"
    if ! awk -v l="$lp" 'BEGIN { exit !(l <= 1.0) }'; then limit=loss; break; fi
    best=$nominal best_rx=$rx
    if awk -v s="$sent" -v n="$nominal" 'BEGIN { exit !(s < 0.9 * n) }'; then limit=sender; break; fi
  done
  record "$p" udp_rate "$best"; record "$p" udp_rx "$best_rx"
  [ "$limit" = sender ] && record "$p" udp_sender_bound 1
  [ "$limit" = fail ] && record "$p" udp_fail 1
  [ -z "$limit" ] && record "$p" udp_top 1
  return 0
}

# untrack PID: forget a finished background pid, so that teardown never signals the pid
# once the system has given it to another process
untrack() { local keep=() x; for x in "${LAB_PIDS[@]}"; do [ "$x" = "$1" ] || keep+=("$x"); done; LAB_PIDS=("${keep[@]}"); }

run_gso() {  # PATH: the GSO-sender ladder, same stop rules as run_udp
  local p=$1 rate best=0 best_rx=0 limit="" nominal gso_rates
  IFS=, read -r -a gso_rates <<<"$GSO_RATES"
  for rate in "${gso_rates[@]}"; do
    local base="$LAB_DIR/gso-$SUITE-$ROUND-$p-$rate" run rpid d0 d1="" srv=${PATH_SRV[$p]}
    local sent sbytes ssecs errs recv dups rbytes rdrops stats
    run=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
    [ "$p" != veth ] && d0=$(drops "$p")
    # the receiver ends itself 1 s after the last datagram; --secs only bounds a dead path
    lab_bg "${p}b" "$base.recv" "$GSO_TOOL" recv --bind "$srv:$GSO_PORT" --secs $((UDP_SECS + 15)) --run "$run"
    rpid=$LAB_BG_PID
    if ! wait_for "nsx ${p}b ss -Huln 'sport = :$GSO_PORT' | grep -q ." 5; then
      lab_log "$p: GSO receiver did not start: $(tr '\n' ' ' <"$base.recv")"; _lab_end_pid "$rpid" 1; untrack "$rpid"; limit=fail; break
    fi
    if ! nsx "${p}a" timeout $((UDP_SECS + 20)) "$GSO_TOOL" send --src "${PATH_CLI[$p]}" --dst "$srv:$GSO_PORT" \
        --rate "$rate" --size 1372 --gso 32 --secs "$UDP_SECS" --run "$run" >"$base.send" 2>&1; then
      lab_log "$p: GSO send $rate failed: $(tr '\n' ' ' <"$base.send")"; _lab_end_pid "$rpid" 1; untrack "$rpid"; limit=fail; break
    fi
    wait_for "! kill -0 $rpid" 3
    _lab_end_pid "$rpid" 2   # a receiver that saw nothing is stopped here (it prints on SIGTERM)
    untrack "$rpid"
    [ "$p" != veth ] && d1=$(drops "$p")
    read -r _ sent sbytes ssecs < <(grep '^sent ' "$base.send")
    errs=$(sed -n 's/^errors //p' "$base.send")
    read -r _ recv dups rbytes _ < <(grep '^recv ' "$base.recv")
    rdrops=$(sed -n 's/^detail .* sock_drops \(-\{0,1\}[0-9]*\) .*/\1/p' "$base.recv")
    if [ -z "$sent" ] || [ -z "$recv" ] || [ "$sent" -eq 0 ]; then
      lab_log "$p: GSO $rate: no result (sender: $(tr '\n' ' ' <"$base.send"); receiver: $(tr '\n' ' ' <"$base.recv"))"
      limit=fail; break
    fi
    # rates over the sending time (at least the nominal step length, as iperf3 reports them)
    stats=$(awk -v n="$sent" -v b="$sbytes" -v t="$ssecs" -v r="$recv" -v rb="$rbytes" -v T="$UDP_SECS" 'BEGIN {
      if (t < T) t = T
      printf "%.1f %.1f %.3f", b * 8 / t / 1e6, rb * 8 / t / 1e6, (n - r) * 100 / n }')
    local sent_mbps rx lp
    read -r sent_mbps rx lp <<<"$stats"
    nominal=$(numfmt --from=si "$rate" | awk '{ printf "%d", $1 / 1e6 }')
    lab_log "$SUITE r$ROUND $p: UDP GSO $rate -> sent $sent_mbps, received $rx Mbit/s, loss $lp % ($sent sent, $recv distinct received, $dups duplicates; send errors ENOBUFS/EAGAIN/ECONNREFUSED/other: ${errs:-?}; drops at the receiving socket: ${rdrops:-?})${d1:+ (kernel drops: $(drops_delta "$d0" "$d1"))}"
    if ! awk -v l="$lp" 'BEGIN { exit !(l <= 1.0) }'; then limit=loss; break; fi
    best=$nominal best_rx=$rx
    if awk -v s="$sent_mbps" -v n="$nominal" 'BEGIN { exit !(s < 0.9 * n) }'; then limit=sender; break; fi
  done
  record "$p" gso_rate "$best"; record "$p" gso_rx "$best_rx"
  [ "$limit" = sender ] && record "$p" gso_sender_bound 1
  [ "$limit" = fail ] && record "$p" gso_fail 1
  [ -z "$limit" ] && record "$p" gso_top 1
  return 0
}

# ---------------------------------------------------------------------------------------
# profile (-p): perf record and strace -c on swanless while traffic runs

profile() {
  local suite=$1 p pid n dir=$PROF_DIR/$1
  mkdir -p "$dir"
  for p in ss sc cc; do
    [[ ",$PATHS," == *",$p,"* ]] || continue
    local pids=${PATH_PIDS[$p]} swl=""
    for pid in $pids; do [[ " ${LAB_CHARON_PID[*]} " == *" $pid "* ]] || swl+="$pid,"; done
    swl=${swl%,}
    # reordering / retransmissions: ESP sequence numbers as they arrive on B's veth, and
    # the inner TCP stream as it leaves A's and comes out of B's TUN device
    local tun=swanless0 tuna=swanless0; [ "$p" != ss ] && tun=ipsec0; [ "$p" = cc ] && tuna=ipsec0
    capture_start "${p}b" e0 "$dir/cap-$p-b-veth.pcap" -s 128 udp port 4500 \
      && capture_start "${p}b" "$tun" "$dir/cap-$p-b-tun.pcap" -s 96 tcp \
      && capture_start "${p}a" "$tuna" "$dir/cap-$p-a-tun.pcap" -s 96 tcp
    client "$p" 2 "$dir/cap-$p-tcp.json"
    capture_stop
    {
      echo "# 2 s iperf3 TCP A -> B, $(iperf3_json "$dir/cap-$p-tcp.json" tcp | awk '{ print $1 " Mbit/s, " $2 " retransmits" }')"
      tshark -n -r "$dir/cap-$p-b-veth.pcap" -T fields -e esp.spi -e esp.sequence 2>/dev/null \
        | awk '$2 != "" { n++; if ($1 in last && $2 + 0 < last[$1]) back++; if ($1 in last && $2 + 0 > last[$1] + 1) gap += $2 - last[$1] - 1; if (!($1 in last) || $2 + 0 > last[$1]) last[$1] = $2 + 0 }
               END { printf "B veth: %d ESP packets, %d arrived with a lower sequence number than one before (reordered on the wire), %d sequence numbers skipped\n", n, back, gap }'
      local f
      for f in a-tun b-tun; do
        printf '%s: ' "$f"
        tshark_counts "$dir/cap-$p-$f.pcap" tcp tcp.analysis.retransmission tcp.analysis.fast_retransmission \
          tcp.analysis.out_of_order tcp.analysis.lost_segment tcp.analysis.duplicate_ack \
          | awk '{ printf "%s TCP frames, retransmission %s, fast_retransmission %s, out_of_order %s, lost_segment %s, dup_ack %s\n", $1, $2, $3, $4, $5, $6 }'
      done
    } >"$dir/reorder-$p.txt" 2>&1
    if [ -z "$swl" ]; then
      continue   # strongSwan pair: the capture above is all we do
    elif perf stat -e task-clock -o /dev/null true >/dev/null 2>&1; then
      lab_log "profile $p: perf record -g on swanless pid(s) $swl during TCP"
      perf record -q -F 499 -g -p "$swl" -o "$dir/perf-$p.data" -- sleep "$TCP_SECS" >/dev/null 2>&1 &
      local ppid=$!
      client "$p" "$TCP_SECS" "$dir/perf-$p-tcp.json"
      wait "$ppid"
      perf report -q -i "$dir/perf-$p.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null \
        | grep -v '^$' | head -40 >"$dir/perf-$p.txt"
      perf report -q -i "$dir/perf-$p.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null \
        | grep -v '^$' | head -15 >"$dir/perf-$p-dso.txt"
    else
      echo "perf does not work here" >"$dir/perf-$p.txt"
    fi
    # syscalls per packet: fixed 200 Mbit/s UDP, strace -c on each swanless
    lab_log "profile $p: strace -c -f on swanless pid(s) $swl during UDP 200M"
    local -a spids=() names=("$p-a" "$p-b") pk0=() pk1=() i
    for i in 0 1; do pk0[i]=$(swl_pkts "${names[i]}" "$p${names[i]: -1}"); done
    for pid in ${swl//,/ }; do
      strace -c -f -p "$pid" -o "$dir/strace-$p-$pid.txt" >/dev/null 2>&1 &
      spids+=($!)
    done
    sleep 0.5
    client "$p" "$UDP_SECS" "$dir/strace-$p-udp.json" -u -b 200M -l 1372 -w "$UDP_WIN"
    for pid in "${spids[@]}"; do kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for i in 0 1; do pk1[i]=$(swl_pkts "${names[i]}" "$p${names[i]: -1}"); done
    { echo "# UDP 200M for ${UDP_SECS}s, 1372-byte payloads, under strace (slows swanless down); per packet = per ESP packet the daemon handled (its own counters)"
      i=0
      for pid in ${swl//,/ }; do
        n=$(( ${pk1[i]:-0} - ${pk0[i]:-0} ))
        echo "## swanless ${names[i]} pid $pid ($([ $i = 0 ] && echo 'A: sender side, encrypts' || echo 'B: receiver side, decrypts')): $n ESP packets"
        # strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall
        awk -v n="${n:-0}" '$1 ~ /^[0-9.]+$/ && NF >= 5 { calls = $4;
             printf "  %-16s %9d calls  %6.2f per packet\n", $NF, calls, (n > 0 ? calls / n : 0) }' \
          "$dir/strace-$p-$pid.txt"
        i=$((i + 1))
      done
    } >"$dir/syscalls-$p.txt"
  done
  lab_log "profile files in $dir"
}

# ---------------------------------------------------------------------------------------
# main

lab_log "rounds $ROUNDS, suites $SUITES, paths $PATHS, TCP ${TCP_SECS}s, UDP ${UDP_SECS}s/step, rates $RATES, GSO-sender rates $GSO_RATES"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DONE_SUITES=()
IFS=, read -r -a suite_list <<<"$SUITES"
for s in "${suite_list[@]}"; do
  SUITE=$(norm_suite "$s") || die "suite"
  if [ "$SUITE" = aes256gcm16 ] && [[ ",$PATHS," == *,sc,* || ",$PATHS," == *,cc,* ]] && ! charon_has_openssl; then
    die "charon has no openssl plugin (libstrongswan-standard-plugins): no AES-GCM/ECP for charon"
  fi
  tunnels_up "$SUITE"
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    for p in "${PATH_LIST[@]}"; do run_tcp "$p"; done
    for p in "${PATH_LIST[@]}"; do run_udp "$p"; done
    if [ "$GSO_RATES" != none ]; then for p in "${PATH_LIST[@]}"; do run_gso "$p"; done; fi
  done
  [ "$PROFILE" = 1 ] && profile "$SUITE"
  tunnels_down
  DONE_SUITES+=("$SUITE")
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

CMDLINE="sudo SWANLESS=${SWANLESS#"$repo"/} tests/bench/run.sh$( [ ${#ARGS[@]} -gt 0 ] && printf ' %q' "${ARGS[@]}")"
# how the swanless binary was built, from its build dir's CMakeCache.txt
cache=$(dirname "$(dirname "$SWANLESS")")/CMakeCache.txt
BENCH_BUILD="cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2 --target swanless"
if [ -f "$cache" ]; then
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache"); fl=$(sed -n 's/^CMAKE_CXX_FLAGS:[A-Z]*=//p' "$cache")
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache")
  BENCH_BUILD="cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=$bt${fl:+ -DCMAKE_CXX_FLAGS=\"$fl\"} && cmake --build build-bench -j2 --target swanless   # $($cxx --version | head -1)"
fi
export BENCH_DATE BENCH_MACHINE BENCH_BUILD BENCH_CMD BENCH_NOTE BENCH_LOAD BENCH_SETTINGS BENCH_VERSIONS
BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
BENCH_MACHINE="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
BENCH_CMD=$CMDLINE
BENCH_NOTE=$NOTE
BENCH_LOAD="load average at start $LOAD_START, at end $LOAD_END"
BENCH_SETTINGS="$ROUNDS round(s), TCP ${TCP_SECS} s, UDP ${UDP_SECS} s per step (iperf3 -w $UDP_WIN), rates $RATES; UDP GSO-sender ladder: $([ "$GSO_RATES" = none ] && echo skipped || echo "rates $GSO_RATES")"
BENCH_VERSIONS="swanless $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo ?), strongSwan $(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null || echo '?'), iperf3 $(iperf3 --version | head -1 | awk '{ print $2 }')"
python3 "$here/summary.py" "$RES" "${OUT}" "$( [ "$PROFILE" = 1 ] && echo "$PROF_DIR" )"
