# shellcheck shell=bash
# tests/interop/lib.sh: helpers for interop tests in network namespaces.
#
# Source it from a bash test script, then call lab_init first:
#
#   . "$(dirname "$0")/lib.sh"
#   lab_init st                      # tag: 1-4 letters/digits, part of every name
#   ns_create a; ns_create b
#   link_ns a eth0 192.0.2.1/24 b eth0 192.0.2.2/24
#   ...
#   lab_summary                      # prints "N passed, M failed", returns 1 if M > 0
#
# Everything the lab creates (namespaces and the veths in them, processes started through
# these helpers or running inside the lab's namespaces, the temp dir) is removed by a trap
# on EXIT, INT and TERM, also when the test fails half-way.
#
# Network rule: traffic stays inside namespaces created here. Veths are created straight
# inside the namespaces (never in the host namespace), no default route is added, nothing is
# linked to a host interface. Use 10.x, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 or
# 198.18.0.0/15 addresses only.
#
# Namespaces are named by a short logical name (a, b, ...) in every helper; the real netns
# name is "swl<tag><pid><name>" (lab_ns NAME prints it). Use nsx NAME CMD... to run a
# command in one.
#
# The library does not use `set -e`; it works with or without `set -eu` in the caller.

# ---------------------------------------------------------------------------------------
# state
LAB_TAG=""          # short tag given to lab_init
LAB_PREFIX=""       # "swl" + tag + pid
LAB_DIR=""          # temp dir for confs, logs, sockets, captures
LAB_NS=()           # real namespace names created
LAB_AT_EXIT=()      # commands lab_at_exit registered, run at teardown
LAB_PIDS=()         # background processes to end at teardown
declare -gA LAB_CHARON_PID=()    # charon NAME -> pid
declare -gA LAB_CHARON_NS=()     # charon NAME -> logical ns
declare -gA LAB_CAPTURE_PID=()   # capture FILE -> tcpdump pid
LAB_PASSED=0
LAB_FAILED=0
LAB_TORN_DOWN=0
LAB_CHARON_BIN=${LAB_CHARON_BIN:-/usr/lib/ipsec/charon}
# charon filelog levels, "subsystem=level" words (see strongswan.conf(5), loggers)
LAB_CHARON_LOG_LEVELS=${LAB_CHARON_LOG_LEVELS:-"default=1 ike=2 cfg=1 knl=1 net=1 esp=1"}

# ---------------------------------------------------------------------------------------
# messages and results

lab_log() { printf '[%s] %s\n' "${LAB_TAG:-lab}" "$*" >&2; }

# pass MSG: count and print a passed check.
pass() { LAB_PASSED=$((LAB_PASSED + 1)); printf 'PASS [%s]: %s\n' "$(lab_elapsed)" "$*"; }

# fail MSG: count and print a failed check (does not exit).
fail() { LAB_FAILED=$((LAB_FAILED + 1)); printf 'FAIL [%s]: %s\n' "$(lab_elapsed)" "$*"; }

# die MSG: a setup step failed; count it, print it and exit (teardown runs).
die() { fail "$*"; lab_summary; exit 1; }

# check DESC CMD [ARGS...]: run CMD, pass DESC if it succeeds, fail otherwise.
check() {
  local desc=$1; shift
  if "$@"; then pass "$desc"; return 0; fi
  fail "$desc"; return 1
}

# lab_summary: print "N passed, M failed"; returns 1 if anything failed or nothing passed.
lab_summary() {
  printf '%d passed, %d failed\n' "$LAB_PASSED" "$LAB_FAILED"
  [ "$LAB_FAILED" -eq 0 ] && [ "$LAB_PASSED" -gt 0 ]
}

# now_ms: wall time in milliseconds.
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

# lab_elapsed: seconds since lab_init, e.g. "12.3s".
lab_elapsed() {
  local ms=$(( $(now_ms) - ${LAB_START_MS:-$(now_ms)} ))
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

# wait_for CMD TIMEOUT: evaluate CMD (a string, run with eval, output discarded) every
# 0.1 s until it succeeds (returns 0) or TIMEOUT seconds (integer or decimal) pass
# (returns 1).
wait_for() {
  local cmd=$1 timeout=${2:-10}
  local limit
  limit=$(( $(now_ms) + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }') ))
  while :; do
    if eval "$cmd" >/dev/null 2>&1; then return 0; fi
    [ "$(now_ms)" -ge "$limit" ] && return 1
    sleep 0.1
  done
}

# wait_log FILE REGEX TIMEOUT: wait until FILE has a line matching extended REGEX.
wait_log() { wait_for "grep -qE $(printf '%q' "$2") $(printf '%q' "$1")" "${3:-10}"; }

# ---------------------------------------------------------------------------------------
# lab set-up and teardown

# lab_init TAG: TAG is 1-4 lowercase letters. Check we can run, create the temp dir, register the teardown trap.
lab_init() {
  local tag=${1:-t}
  # letters only, so that "swl<tag><pid><name>" can be split again by cleanup.sh
  if ! [[ $tag =~ ^[a-z]{1,4}$ ]]; then
    echo "lab_init: tag must be 1-4 lowercase letters, got '$tag'" >&2; exit 2
  fi
  if [ "$(id -u)" -ne 0 ]; then echo "lab_init: needs root (network namespaces)" >&2; exit 2; fi
  local tool missing=()
  for tool in ip tcpdump tshark iperf3 ping swanctl python3 "$LAB_CHARON_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "lab_init: missing: ${missing[*]} (run scripts/install-deps.sh)" >&2; exit 2
  fi
  LAB_TAG=$tag
  LAB_START_MS=$(now_ms)
  LAB_PREFIX="swl${tag}$$"
  # short path: vici unix socket paths must stay below 108 bytes
  LAB_DIR=$(mktemp -d "/tmp/${LAB_PREFIX}.XXXX") || { echo "lab_init: mktemp failed" >&2; exit 2; }
  chmod 755 "$LAB_DIR"
  trap 'lab_teardown' EXIT
  trap 'lab_teardown; trap - INT; kill -INT $$' INT
  trap 'lab_teardown; trap - TERM; kill -TERM $$' TERM
  lab_log "lab $LAB_PREFIX, files in $LAB_DIR"
}

# lab_name SUFFIX: a run-unique name ("swl<tag><pid><suffix>"), checked to fit an
# interface name (<= 15 chars).
lab_name() {
  local n="${LAB_PREFIX}$1"
  if [ ${#n} -gt 15 ]; then echo "lab_name: '$n' longer than 15 chars" >&2; return 1; fi
  echo "$n"
}

# lab_ns NAME: the real netns name for logical name NAME.
lab_ns() { echo "${LAB_PREFIX}$1"; }

# nsx NAME CMD [ARGS...]: run CMD inside namespace NAME.
nsx() { local ns; ns=$(lab_ns "$1"); shift; ip netns exec "$ns" "$@"; }

# lab_at_exit CMD...: run CMD (one shell line) at teardown, after the processes are gone and
# before the namespaces go, for what a test made outside its temp dir.
lab_at_exit() { LAB_AT_EXIT+=("$*"); }

# cpu_ticks PIDS...: sum of utime+stime (clock ticks) of the processes (all their threads)
cpu_ticks() {
  local pid sum=0 f
  for pid in "$@"; do
    f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    f=${f##*) }   # fields after "(comm) "; utime, stime are fields 14, 15 -> 12, 13 here
    # shellcheck disable=SC2086
    set -- $f
    sum=$((sum + ${12} + ${13}))
  done
  echo "$sum"
}

# lab_track_pid PID: end PID (TERM, then KILL) at teardown.
lab_track_pid() { LAB_PIDS+=("$1"); }

# lab_bg NS LOGFILE CMD [ARGS...]: start CMD in the background inside NS, output to
# LOGFILE, tracked for teardown. Sets LAB_BG_PID to its pid (the command itself, since
# `ip netns exec` execs it).
lab_bg() {
  local ns; ns=$(lab_ns "$1"); local logf=$2; shift 2
  ip netns exec "$ns" "$@" >"$logf" 2>&1 &
  LAB_BG_PID=$!
  lab_track_pid "$LAB_BG_PID"
}

# _lab_end_pid PID [GRACE_S]: TERM, wait up to GRACE seconds, then KILL. Only PIDs we
# started reach this.
_lab_end_pid() {
  local pid=$1 grace=${2:-3} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# lab_dump_logs: print the tail of every charon log (used on failure).
lab_dump_logs() {
  local f
  [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] || return 0
  for f in "$LAB_DIR"/*/charon.log; do
    [ -f "$f" ] || continue
    echo "----- tail of $f" >&2
    tail -n "${LAB_LOG_TAIL:-25}" "$f" >&2
  done
}

# lab_teardown: remove everything this lab created. Runs from the trap; idempotent.
lab_teardown() {
  local rc=$?
  [ "$LAB_TORN_DOWN" = 1 ] && return 0
  LAB_TORN_DOWN=1
  if [ "$rc" -ne 0 ] || [ "$LAB_FAILED" -gt 0 ]; then lab_dump_logs; fi
  local f pid ns
  for f in "${!LAB_CAPTURE_PID[@]}"; do _lab_end_pid "${LAB_CAPTURE_PID[$f]}" 2; done
  for f in "${!LAB_CHARON_PID[@]}"; do _lab_end_pid "${LAB_CHARON_PID[$f]}" 5; done
  for pid in "${LAB_PIDS[@]}"; do _lab_end_pid "$pid" 2; done
  # anything else still running inside our namespaces was started by this test
  for ns in "${LAB_NS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  for f in "${LAB_AT_EXIT[@]}"; do eval "$f"; done
  for ns in "${LAB_NS[@]}"; do
    # deleting the netns deletes the veth ends inside it
    ip netns del "$ns" 2>/dev/null
  done
  if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
    if [ "${LAB_KEEP_DIR:-0}" = 1 ]; then
      echo "[${LAB_TAG}] kept $LAB_DIR" >&2
    else
      rm -rf -- "$LAB_DIR"
    fi
  fi
  return 0
}

# kernel_at_least MAJOR MINOR: the running kernel is MAJOR.MINOR or newer.
kernel_at_least() {
  local r a b
  r=$(uname -r); a=${r%%.*}; r=${r#*.}; b=${r%%[!0-9]*}
  [ "$a" -gt "$1" ] || { [ "$a" -eq "$1" ] && [ "${b:-0}" -ge "$2" ]; }
}

# ---------------------------------------------------------------------------------------
# namespaces and links

# ns_create NAME: new namespace with lo up, no other interface, no routes. NAME starts with
# a letter (a, b, gw1, ...).
ns_create() {
  if ! [[ $1 =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
    echo "ns_create: name must be a lowercase letter then up to 7 letters/digits: '$1'" >&2; return 1
  fi
  local ns; ns=$(lab_ns "$1")
  ip netns add "$ns" || { echo "ns_create: cannot create $ns" >&2; return 1; }
  LAB_NS+=("$ns")
  # IPv4 only (the network rule allows only IPv4 ranges); this also keeps router
  # solicitations and MLD reports out of captures. LAB_IPV6=1 keeps IPv6 on.
  # A kernel without IPv6 (no /proc/sys/net/ipv6) needs nothing; one with it that refuses
  # the write (a read-only /proc/sys) is an error: the tests would then see IPv6 packets.
  if [ "${LAB_IPV6:-0}" != 1 ] && ip netns exec "$ns" test -d /proc/sys/net/ipv6; then
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 \
      || { echo "ns_create: cannot turn IPv6 off in $ns (read-only /proc/sys?)" >&2; return 1; }
  fi
  ip -n "$ns" link set lo up
}

# ns_delete NAME [NS IFACE]: delete namespace NAME before the end of the test (processes
# in it are killed first). The kernel frees a namespace, and the far ends of its veths,
# asynchronously; with NS IFACE, wait (up to 5 s) until that far end is gone from NS, so
# that a new link of the same name can be made there.
ns_delete() {
  local ns pid; ns=$(lab_ns "$1")
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  ip netns del "$ns" || return 1
  local -a keep=() n
  for n in "${LAB_NS[@]}"; do [ "$n" = "$ns" ] || keep+=("$n"); done
  LAB_NS=("${keep[@]}")
  if [ $# -ge 3 ]; then
    wait_for "! ip -n '$(lab_ns "$2")' link show '$3'" 5 \
      || { echo "ns_delete: $3 in $2 still there 5 s after deleting $1" >&2; return 1; }
  fi
}

# link_ns A IFA ADDR/PFX B IFB ADDR/PFX: veth pair created straight into namespaces A and
# B (the ends never exist in the host namespace), addresses set, links up. An empty
# ADDR/PFX ("") leaves that end without an address.
link_ns() {
  local a=$1 ifa=$2 addra=$3 b=$4 ifb=$5 addrb=$6
  local nsa nsb; nsa=$(lab_ns "$a"); nsb=$(lab_ns "$b")
  if [ ${#ifa} -gt 15 ] || [ ${#ifb} -gt 15 ]; then echo "link_ns: interface name > 15 chars" >&2; return 1; fi
  ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb" \
    || { echo "link_ns: cannot create veth $a:$ifa <-> $b:$ifb" >&2; return 1; }
  if [ -n "$addra" ]; then ip -n "$nsa" addr add "$addra" dev "$ifa" || return 1; fi
  if [ -n "$addrb" ]; then ip -n "$nsb" addr add "$addrb" dev "$ifb" || return 1; fi
  ip -n "$nsa" link set "$ifa" up && ip -n "$nsb" link set "$ifb" up
}

# ns_addr NS IFACE ADDR/PFX: add an address (e.g. an inner /32 on lo for a traffic selector).
ns_addr() { ip -n "$(lab_ns "$1")" addr add "$3" dev "$2"; }

# ns_route NS ROUTE...: add a route inside NS (never a default route out of the lab).
ns_route() { local ns; ns=$(lab_ns "$1"); shift; ip -n "$ns" route add "$@"; }

# ---------------------------------------------------------------------------------------
# packet filters: NAT and loss injection, the same on every kernel and iptables flavour
#
# nftables itself (the `nft` tool, table "swllab" in the test's own namespace) where the
# kernel has nf_tables, which Debian 12's kernels have; otherwise whatever `iptables` is
# (legacy or nft flavour) with the equivalent rules. Neither working is an error, never a
# silent pass: the helpers return 1 and say why.

# ns_filter_tool NS: "nft" or "iptables", the one that works in NS (cached per namespace).
declare -gA LAB_FILTER_TOOL=()
ns_filter_tool() {
  local ns=$1
  if [ -n "${LAB_FILTER_TOOL[$ns]:-}" ]; then echo "${LAB_FILTER_TOOL[$ns]}"; return 0; fi
  local t=""
  if [ "${LAB_FILTER:-auto}" != iptables ] && command -v nft >/dev/null 2>&1 \
     && nsx "$ns" nft add table inet swllab 2>/dev/null; then
    t=nft
  elif [ "${LAB_FILTER:-auto}" != nft ] && command -v iptables >/dev/null 2>&1 \
     && nsx "$ns" iptables -w -L -n >/dev/null 2>&1; then
    t=iptables
  else
    echo "ns_filter_tool: neither nft nor iptables works in $ns (kernel $(uname -r)); NAT and loss injection are impossible here" >&2
    return 1
  fi
  LAB_FILTER_TOOL[$ns]=$t
  echo "$t"
}

# _nft_chain NS CHAIN TYPE HOOK PRIORITY: make sure table inet swllab has this base chain.
_nft_chain() {
  nsx "$1" nft add chain inet swllab "$2" "{ type $3 hook $4 priority $5; policy accept; }"
}

# ns_nat NS snat SRC OUT_IF TO | dnat DST IN_IF TO | masquerade SRC_NET OUT_IF
ns_nat() {
  local ns=$1 kind=$2 tool
  tool=$(ns_filter_tool "$ns") || return 1
  case $kind:$tool in
    snat:nft) _nft_chain "$ns" post nat postrouting srcnat \
      && nsx "$ns" nft add rule inet swllab post ip saddr "$3" oifname "$4" snat ip to "$5" ;;
    dnat:nft) _nft_chain "$ns" pre nat prerouting dstnat \
      && nsx "$ns" nft add rule inet swllab pre ip daddr "$3" iifname "$4" dnat ip to "$5" ;;
    masquerade:nft) _nft_chain "$ns" post nat postrouting srcnat \
      && nsx "$ns" nft add rule inet swllab post ip saddr "$3" oifname "$4" masquerade ;;
    snat:iptables) nsx "$ns" iptables -w -t nat -A POSTROUTING -s "$3" -o "$4" -j SNAT --to-source "$5" ;;
    dnat:iptables) nsx "$ns" iptables -w -t nat -A PREROUTING -d "$3" -i "$4" -j DNAT --to-destination "$5" ;;
    masquerade:iptables) nsx "$ns" iptables -w -t nat -A POSTROUTING -s "$3" -o "$4" -j MASQUERADE ;;
    *) echo "ns_nat: unknown kind $kind" >&2; return 1 ;;
  esac
}

# ns_ike_loss NS PERCENT: drop PERCENT % of the IKE packets NS receives and sends: UDP
# port 500, and UDP port 4500 only when the payload starts with the four zero bytes of the
# non-ESP marker (RFC 3948), so ESP-in-UDP is never dropped. The loss is deterministic:
# with N = 100 / PERCENT, packets 2, N+2, 2N+2, ... of each port and direction (nft
# `numgen inc`, iptables `statistic --mode nth`). A run of a dozen IKE messages then
# always loses some and always needs retransmissions (the first CREATE_CHILD_SA request
# and its first response are the second packets on 4500), where a random 20 % loses none
# in about one run of 15.
ns_ike_loss() {
  local ns=$1 pct=$2 tool dir every
  every=$(awk -v p="$pct" 'BEGIN { n = int(100 / p + 0.5); print (n < 2 ? 2 : n) }')
  tool=$(ns_filter_tool "$ns") || return 1
  if [ "$tool" = nft ]; then
    for dir in input output; do
      _nft_chain "$ns" "loss_$dir" filter "$dir" 0 || return 1
      nsx "$ns" nft add rule inet swllab "loss_$dir" udp dport 500 numgen inc mod "$every" == 1 counter drop || return 1
      nsx "$ns" nft add rule inet swllab "loss_$dir" udp dport 4500 @th,64,32 0 numgen inc mod "$every" == 1 counter drop || return 1
    done
  else
    for dir in INPUT OUTPUT; do
      nsx "$ns" iptables -w -A "$dir" -p udp --dport 500 -m statistic --mode nth --every "$every" --packet 1 -j DROP || return 1
      nsx "$ns" iptables -w -A "$dir" -p udp --dport 4500 -m u32 --u32 '0>>22&0x3C@8=0' \
        -m statistic --mode nth --every "$every" --packet 1 -j DROP || return 1
    done
  fi
}

# ns_ike_loss_dropped NS: how many packets the loss rules of NS dropped so far.
ns_ike_loss_dropped() {
  local ns=$1 tool
  tool=$(ns_filter_tool "$ns") || return 1
  if [ "$tool" = nft ]; then
    nsx "$ns" nft list table inet swllab | awk '/counter packets/ && / drop/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
  else
    nsx "$ns" iptables -w -L -v -n -x | awk '$3 == "DROP" { n += $1 } END { print n + 0 }'
  fi
}

# ns_ike_loss_clear NS: remove the loss rules of NS.
ns_ike_loss_clear() {
  local ns=$1 tool dir
  tool=$(ns_filter_tool "$ns") || return 1
  if [ "$tool" = nft ]; then
    for dir in input output; do nsx "$ns" nft delete chain inet swllab "loss_$dir" 2>/dev/null; done
    return 0
  fi
  nsx "$ns" iptables -w -F INPUT && nsx "$ns" iptables -w -F OUTPUT
}

# ---------------------------------------------------------------------------------------
# the peers and traffic helpers, one file per kind (each sourced here, so suites source
# only this file)
_lab_lib_dir=$(dirname "${BASH_SOURCE[0]}")
. "$_lab_lib_dir/lib_charon.sh"
. "$_lab_lib_dir/lib_traffic.sh"
. "$_lab_lib_dir/lib_prometheus.sh"
. "$_lab_lib_dir/lib_swanless.sh"
