#!/usr/bin/env bash
# tests/bench/mcast_rx.sh: receive-path benchmark (issue 12): small multicast datagrams
# through ESP + GRE, from a pre-encrypting generator, swanless next to strongSwan in one
# run. A benchmark, not a test: it never asserts timings; it exits non-zero only if a
# variant could not be set up.
#
# The source is tests/bench/esp_gen.c (compiled here with cc into the temp dir): it takes
# the live SA of the daemon under test from a keylog, encrypts every packet before the
# clock starts, and sends them at a fixed rate in bursts (UDP_SEGMENT, -b per send) while
# recording each one's send time; a receiver records each arrival (recvmmsg; kernel and
# application time). So the figure is the receiver's, not an encryptor's. Topology and
# variants: tests/bench/rxgen_lib.sh. Per suite and variant, interleaved per round:
#   udp      swanless, deliver=udp:127.0.0.1:5001, read there
#   tun      swanless, deliver=tun, read by a socket joined to 239.1.1.1 on gre1
#   charon   strongSwan 5.9 (kernel-libipsec) into its TUN ipsec0, read on a raw GRE
#            socket (no GRE decapsulation or delivery for charon: less work than swanless)
# Each gets:
#   ladder   rising rates (-R), -u seconds each; stops after the first step with > 20 %
#            loss. The figure is the highest rate with <= 0.1 % loss and nothing reordered;
#            "sustained" also needs p99 latency <= 10 ms (a backlog growing in the 32 MiB
#            socket buffers during a step shows as latency before it shows as loss).
#   p80      one step at 80 % of the sustained figure, twice as long: its latency
#   burst    30 000 datagrams back to back at the generator's top rate, then idle
# Reported (tests/bench/RESULTS.md between its mcast_rx markers, and a PNG plot if gnuplot
# is installed): per suite and variant the figure, latency p50/p99/p99.9/max at 100 kpps and
# at p80 (at the receiving socket: kernel time; the application's read time next to it),
# the daemon's CPU per Mpps, drops by place (UDP RcvbufErrors, TUN rx_dropped, swanless's
# own counters), the burst, and swanless / strongSwan ratios.
#
# Usage: sudo SWANLESS=build/apps/swanless tests/bench/mcast_rx.sh [options]
#   -r N        rounds (default 1)
#   -s SUITES   comma-separated: aes256gcm16 (gcm), aes256-sha256-modp2048 (cbc); default both
#   -V LIST     variants (default udp,tun,charon)
#   -R RATES    comma-separated datagrams/s (default
#               50000,100000,200000,300000,400000,500000,600000,800000,1000000,1500000,2000000,3000000)
#   -u SECS     ladder step length (default 2)
#   -S SIZE     UDP payload bytes: 64, 200 (default), 1000, 1400
#   -b N        datagrams per generator send (default 32)
#   -o FILE     Markdown file (default tests/bench/RESULTS.md; "-" = none)
#   -P FILE     plot (default tests/bench/mcast_rx.png; "-" = none)
#   -N TEXT     a note printed with the figures
# Environment: SWANLESS (binary, default build/apps/swanless), LAB_KEEP_DIR=1 keeps the
# temp dir (results.jsonl holds every step). Whole default run: about 6 minutes.
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

ROUNDS=1 SUITES=aes256gcm16,aes256-sha256-modp2048 VARIANTS=udp,tun,charon STEP=2 SIZE=200 BURST=32
RATES=50000,100000,200000,300000,400000,500000,600000,800000,1000000,1500000,2000000,3000000
OUT=$here/RESULTS.md PLOT=$here/mcast_rx.png NOTE=""
ARGS=("$@")
while getopts "r:s:V:R:u:S:b:o:P:N:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; s) SUITES=$OPTARG ;; V) VARIANTS=$OPTARG ;; R) RATES=$OPTARG ;;
    u) STEP=$OPTARG ;; S) SIZE=$OPTARG ;; b) BURST=$OPTARG ;; o) OUT=$OPTARG ;; P) PLOT=$OPTARG ;;
    N) NOTE=$OPTARG ;;
    *) sed -n '2,/^# temp dir (results/p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "-r: a positive integer"; exit 2; }
[[ $STEP =~ ^[1-9][0-9]*$ ]] || { echo "-u: whole seconds"; exit 2; }
case $SIZE in 64|200|1000|1400) ;; *) echo "-S: 64, 200, 1000 or 1400"; exit 2 ;; esac
SWANLESS=${SWANLESS:-$repo/build/apps/swanless}
SWANLESS=$(readlink -f "$SWANLESS")
[ -x "$SWANLESS" ] || { echo "no swanless binary at $SWANLESS (set SWANLESS=)"; exit 2; }
command -v cc >/dev/null || { echo "needs cc (to build tests/bench/esp_gen.c)"; exit 2; }
norm_suite() {
  case $1 in
    gcm|aes256gcm16) echo aes256gcm16 ;;
    cbc|aes256-sha256-modp2048) echo aes256-sha256-modp2048 ;;
    *) echo "unknown suite '$1'" >&2; return 1 ;;
  esac
}
IFS=, read -r -a SL <<<"$SUITES"
for i in "${!SL[@]}"; do SL[$i]=$(norm_suite "${SL[$i]}") || exit 2; done
IFS=, read -r -a VL <<<"$VARIANTS"
for v in "${VL[@]}"; do case $v in udp|tun|charon) ;; *) echo "-V: udp, tun, charon"; exit 2 ;; esac; done
IFS=, read -r -a RL <<<"$RATES"

LAB_CHARON_LOG_LEVELS=${LAB_CHARON_LOG_LEVELS:-"default=1 ike=1 cfg=0 knl=0 net=0 esp=0"}
# shellcheck source=../interop/lib.sh
. "$here/../interop/lib.sh"
lab_init mrx
GEN=$LAB_DIR/esp_gen
cc -O2 -o "$GEN" "$here/esp_gen.c" -lcrypto || die "cc esp_gen.c"
# shellcheck source=rxgen_lib.sh
. "$here/rxgen_lib.sh"
rxgen_topology || die "namespaces"
RES=$LAB_DIR/results.jsonl
: >"$RES"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date -u '+%Y-%m-%d %H:%M UTC')

# step KIND ROUND RATE COUNT: one generator run, its JSON line (with kind and round) kept
step() {
  rxgen_step "$3" "$4" "$SIZE" gso "$BURST" || return 1
  python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); j["kind"], j["round"] = sys.argv[2], int(sys.argv[3])
print(json.dumps(j, sort_keys=True))' "$RX_STEP_JSON" "$1" "$2" >>"$RES"
  python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("%s %s %s: offered %d/s, sent %.0f/s, delivered %d of %d (lost %d, reordered %d, dup %d), p99 %.0f us, cpu %.2f s, %s %s" % (
  j["suite"], j["variant"], sys.argv[2], j["offered"], j["send"]["rate"], j["delivered"], j["count"], j["lost"],
  j["reordered"], j["duplicates"], j["latency_socket"]["p99_us"], j["cpu_seconds"], j["places"], j["daemon_drops"]))' \
    "$RX_STEP_JSON" "$1" >&2
}
# step_ok: the last step was sustained (lost <= 0.1 %, reordered nothing, p99 <= 10 ms);
# step_bad: it lost > 20 %
step_ok() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
sys.exit(0 if j["lost"] <= 0.001 * j["count"] and j["reordered"] == 0 and j["latency_socket"]["p99_us"] <= 10000 else 1)' "$RX_STEP_JSON"; }
step_bad() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
sys.exit(0 if j["lost"] > 0.2 * j["count"] else 1)' "$RX_STEP_JSON"; }

for ((round = 1; round <= ROUNDS; round++)); do
  for suite in "${SL[@]}"; do
    for v in "${VL[@]}"; do
      rxgen_up "$suite" "$v" || die "$v ($suite) up, round $round"
      rxgen_step 1000 1000 "$SIZE" gso "$BURST" || die "warm-up"
      best=0
      for rate in "${RL[@]}"; do
        step ladder "$round" "$rate" $((rate * STEP)) || die "step $rate"
        step_ok && best=$rate
        step_bad && break
      done
      if [ "$best" -gt 0 ]; then
        p80=$((best * 8 / 10))
        step p80 "$round" "$p80" $((p80 * STEP * 2)) || die "p80 step"
      fi
      sleep 0.5
      step burst "$round" 1000000000 30000 || die "burst"
      rxgen_down
    done
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo)
ver_swl=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$(dirname "$SWANLESS")")/CMakeCache.txt" 2>/dev/null)
ver_ss=$(dpkg-query -W -f '${Version}' strongswan-charon 2>/dev/null || charon --version 2>/dev/null | head -n1)
python3 "$here/mcast_rx_summary.py" "$RES" --out "$OUT" --plot "$PLOT" --date "$T0" \
  --machine "$(nproc) CPUs, $cpu, kernel $(uname -r)" --load "at start $LOAD0, at end $LOAD1" \
  --versions "swanless $ver_swl ($SWANLESS, ${build_type:-Release}), strongSwan $ver_ss" --size "$SIZE" \
  --step "$STEP" --rounds "$ROUNDS" --burst "$BURST" --note "$NOTE" \
  --cmd "sudo SWANLESS=${SWANLESS#"$repo"/} tests/bench/mcast_rx.sh$(printf ' %q' "${ARGS[@]}")"
[ "${LAB_KEEP_DIR:-0}" = 1 ] && cp "$RES" "/tmp/mcast_rx-results.$$.jsonl" && echo "raw: /tmp/mcast_rx-results.$$.jsonl"
lab_summary >/dev/null
exit 0
