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
# strongSwan (charon with kernel-libipsec)

_charon_dir() { echo "$LAB_DIR/$1"; }

# charon_plugins: the plugin load list (override with LAB_CHARON_PLUGINS). Crypto comes from
# the openssl plugin (package libstrongswan-standard-plugins) when installed; without it,
# from charon's built-in aes/sha1/sha2/hmac/gmp/xcbc plugins (no AES-GCM, no curve25519,
# no ECP groups then). kernel-libipsec must come before kernel-netlink.
charon_plugins() {
  if [ -n "${LAB_CHARON_PLUGINS:-}" ]; then echo "$LAB_CHARON_PLUGINS"; return; fi
  local crypto="openssl"
  [ -e /usr/lib/ipsec/plugins/libstrongswan-openssl.so ] || crypto="aes sha1 sha2 hmac gmp xcbc"
  echo "random nonce $crypto pem pkcs1 x509 revocation constraints pubkey kdf kernel-libipsec kernel-netlink socket-default vici updown"
}

# charon_has_openssl: true if charon can use the openssl plugin (AES-GCM, ECP, x25519).
charon_has_openssl() { [ -e /usr/lib/ipsec/plugins/libstrongswan-openssl.so ]; }
_charon_uri() { echo "unix://$LAB_DIR/$1.vici"; }

# charon_start NS NAME: write NAME's strongswan.conf (kernel-libipsec before kernel-netlink,
# install_routes, vici socket in the lab dir, filelog to $LAB_DIR/NAME/charon.log), start
# charon in NS with a tmpfs on /run (its pid file is fixed at /var/run/charon.pid), and
# wait until the vici socket answers. Optional: LAB_CHARON_LOG_LEVELS, and
# LAB_CHARON_EXTRA (lines added inside the charon { } section, one setting per line).
# With --no-wait it returns at once; call charon_wait NAME later (lets several charons
# start in parallel).
charon_start() {
  local ns=$1 name=$2 nowait=${3:-}
  local dir; dir=$(_charon_dir "$name")
  local sock="$LAB_DIR/$name.vici"
  if [ ${#sock} -ge 100 ]; then echo "charon_start: socket path too long: $sock" >&2; return 1; fi
  if [ -n "${LAB_CHARON_PID[$name]:-}" ]; then echo "charon_start: $name already started" >&2; return 1; fi
  mkdir -p "$dir"
  rm -f "$sock"
  local levels="" kv
  for kv in $LAB_CHARON_LOG_LEVELS; do levels+="        ${kv%%=*} = ${kv#*=}"$'\n'; done
  cat >"$dir/strongswan.conf" <<EOF
# generated by tests/interop/lib.sh for charon '$name' in netns $(lab_ns "$ns")
charon {
    load_modular = no
    load = $(charon_plugins)
    install_routes = yes
    install_virtual_ip = no
    retransmit_tries = 3
    plugins {
        vici {
            socket = unix://$sock
        }
    }
    filelog {
        main {
            path = $dir/charon.log
            time_format = %T
            ike_name = yes
            append = no
            flush_line = yes
$levels        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
${LAB_CHARON_EXTRA:-}
}
swanctl {
    socket = unix://$sock
    load = $(charon_plugins | sed 's/ kernel-libipsec.*//')
}
EOF
  ip netns exec "$(lab_ns "$ns")" env STRONGSWAN_CONF="$dir/strongswan.conf" \
    sh -c 'mount -t tmpfs -o size=1m swrun /run && exec "$0"' "$LAB_CHARON_BIN" \
    >"$dir/charon.stdout" 2>&1 &
  local pid=$!
  LAB_CHARON_PID[$name]=$pid
  LAB_CHARON_NS[$name]=$ns
  [ "$nowait" = --no-wait ] && return 0
  charon_wait "$name"
}

# charon_wait NAME: wait until charon NAME's vici socket answers (10 s).
charon_wait() {
  local name=$1
  local pid=${LAB_CHARON_PID[$name]:-} ns=${LAB_CHARON_NS[$name]:-}
  local dir; dir=$(_charon_dir "$name")
  local sock="$LAB_DIR/$name.vici"
  [ -n "$pid" ] || { echo "charon_wait: no charon $name" >&2; return 1; }
  # cheap poll for the socket file first, then ask over vici
  if ! wait_for "[ -S '$sock' ] || ! kill -0 $pid" 10 || ! kill -0 "$pid" 2>/dev/null \
     || ! wait_for "charon_swanctl '$ns' '$name' --stats" 10; then
    echo "charon_start: $name: vici socket did not answer within 10 s" >&2
    kill -0 "$pid" 2>/dev/null || echo "charon_start: $name: charon exited" >&2
    cat "$dir/charon.stdout" >&2
    return 1
  fi
  lab_log "charon $name started in $ns (pid $pid, log $dir/charon.log)"
}

# charon_swanctl NS NAME ARGS...: run swanctl against charon NAME.
charon_swanctl() {
  local ns=$1 name=$2; shift 2
  nsx "$ns" env STRONGSWAN_CONF="$(_charon_dir "$name")/strongswan.conf" \
    swanctl "$@" --uri "$(_charon_uri "$name")"
}

# charon_load NS NAME SWANCTL_CONF: load connections and secrets from SWANCTL_CONF; fails
# unless swanctl said "loaded connection" and "loaded ike secret" and nothing failed.
charon_load() {
  local ns=$1 name=$2 conf=$3 out
  out=$(charon_swanctl "$ns" "$name" --load-all --file "$conf" 2>&1)
  local rc=$?
  printf '%s\n' "$out" >"$(_charon_dir "$name")/load.out"
  if [ $rc -ne 0 ] || ! grep -q "loaded connection" <<<"$out" || ! grep -q "loaded ike secret" <<<"$out" \
     || grep -E "failed|invalid|error" <<<"$out" | grep -qvE "^opening directory|^plugin '"; then
    echo "charon_load: $name: swanctl --load-all did not load everything:" >&2
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# charon_initiate NS NAME CHILD [TIMEOUT_S]: initiate CHILD (and its IKE_SA if needed);
# succeeds when swanctl reports the initiation completed.
charon_initiate() {
  local ns=$1 name=$2 child=$3 timeout=${4:-10} out
  out=$(charon_swanctl "$ns" "$name" --initiate --child "$child" --timeout "$timeout" 2>&1)
  local rc=$?
  printf '%s\n' "$out" >"$(_charon_dir "$name")/initiate-$child.out"
  if [ $rc -ne 0 ] || ! grep -q "initiate completed successfully" <<<"$out"; then
    echo "charon_initiate: $name: child $child failed:" >&2
    printf '%s\n' "$out" | tail -n 15 >&2
    return 1
  fi
}

# charon_list_sas NS NAME: print `swanctl --list-sas` of charon NAME.
charon_list_sas() { charon_swanctl "$1" "$2" --list-sas; }

# charon_log NAME: path of charon NAME's log file.
charon_log() { echo "$(_charon_dir "$1")/charon.log"; }

# charon_keys NS NAME OUTDIR: write tshark key tables (OUTDIR/esp_sa,
# OUTDIR/ikev2_decryption_table) for the SAs charon NAME has set up, read from its log.
# Needs the key dumps in the log: start charon with LAB_CHARON_LOG_LEVELS="$LAB_LOG_KEYS".
# Call while the IKE_SAs are still up (their SPIs come from --list-sas).
# shellcheck disable=SC2034  # for test scripts
LAB_LOG_KEYS="default=1 ike=4 chd=4 cfg=1 knl=1 net=1 esp=1"
charon_keys() {
  local ns=$1 name=$2 outdir=$3
  mkdir -p "$outdir"
  charon_list_sas "$ns" "$name" >"$outdir/list-sas.txt" 2>&1
  python3 "$(dirname "${BASH_SOURCE[0]}")/charon_keys.py" "$(charon_log "$name")" \
    "$outdir/list-sas.txt" "$outdir"
}

# charon_stop NAME: end charon NAME (TERM, then KILL after 5 s).
charon_stop() {
  local name=$1 pid=${LAB_CHARON_PID[$1]:-}
  [ -n "$pid" ] || return 0
  _lab_end_pid "$pid" 5
  unset "LAB_CHARON_PID[$name]" "LAB_CHARON_NS[$name]"
}

# swanctl_conf_gen FILE OPTIONS...: write a swanctl.conf, one setting per line.
#   --conn NAME            connection name (default dc)
#   --local ADDR           local_addrs (required)      --remote ADDR   remote_addrs (required)
#   --local-id ID          (default: --local)          --remote-id ID  (default: --remote)
#   --psk SECRET           (required)
#   --ike PROPOSAL         IKE proposals (default aes256-sha256-modp2048)
#   --esp PROPOSAL         ESP proposals for all children (default aes256-sha256-modp2048)
#   --encap yes|no         force UDP encapsulation (default no)
#   --start ACTION         children's start_action: none|trap|start (default none)
#   --version N            IKE version (default 2)
#   --conn-opt KEY=VALUE   extra connection setting (repeatable), e.g. rekey_time=0
#   --child-opt KEY=VALUE  extra setting for every child (repeatable), e.g. rekey_time=0
#   --child-opt-for NAME KEY=VALUE
#                          extra setting for child NAME only (repeatable)
#   --child NAME LOCAL_TS REMOTE_TS MODE
#                          a child (repeatable, at least one); TS lists comma-separated;
#                          MODE tunnel|transport
swanctl_conf_gen() {
  local file=$1; shift
  local conn=dc local="" remote="" lid="" rid="" psk="" ike=aes256-sha256-modp2048
  local esp=aes256-sha256-modp2048 encap=no start=none version=2
  local -a conn_opts=() child_opts=() children=()
  local -A child_only=()
  while [ $# -gt 0 ]; do
    case $1 in
      --conn) conn=$2; shift 2 ;;
      --local) local=$2; shift 2 ;;
      --remote) remote=$2; shift 2 ;;
      --local-id) lid=$2; shift 2 ;;
      --remote-id) rid=$2; shift 2 ;;
      --psk) psk=$2; shift 2 ;;
      --ike) ike=$2; shift 2 ;;
      --esp) esp=$2; shift 2 ;;
      --encap) encap=$2; shift 2 ;;
      --start) start=$2; shift 2 ;;
      --version) version=$2; shift 2 ;;
      --conn-opt) conn_opts+=("$2"); shift 2 ;;
      --child-opt) child_opts+=("$2"); shift 2 ;;
      --child-opt-for) child_only[$2]+="$3"$'\n'; shift 3 ;;
      --child)
        if [ $# -lt 5 ]; then echo "swanctl_conf_gen: --child NAME LOCAL_TS REMOTE_TS MODE" >&2; return 1; fi
        children+=("$2|$3|$4|$5"); shift 5 ;;
      *) echo "swanctl_conf_gen: unknown option $1" >&2; return 1 ;;
    esac
  done
  if [ -z "$local" ] || [ -z "$remote" ] || [ -z "$psk" ] || [ ${#children[@]} -eq 0 ]; then
    echo "swanctl_conf_gen: --local, --remote, --psk and one --child are required" >&2; return 1
  fi
  case $encap in yes|no) ;; *) echo "swanctl_conf_gen: --encap yes|no" >&2; return 1 ;; esac
  lid=${lid:-$local}; rid=${rid:-$remote}
  local c o cname lts rts mode
  {
    echo "# generated by tests/interop/lib.sh swanctl_conf_gen"
    echo "connections {"
    echo "    $conn {"
    echo "        version = $version"
    echo "        local_addrs = $local"
    echo "        remote_addrs = $remote"
    echo "        proposals = $ike"
    echo "        encap = $encap"
    for o in "${conn_opts[@]}"; do echo "        ${o%%=*} = ${o#*=}"; done
    echo "        local {"
    echo "            auth = psk"
    echo "            id = $lid"
    echo "        }"
    echo "        remote {"
    echo "            auth = psk"
    echo "            id = $rid"
    echo "        }"
    echo "        children {"
    for c in "${children[@]}"; do
      IFS='|' read -r cname lts rts mode <<<"$c"
      echo "            $cname {"
      echo "                mode = $mode"
      echo "                local_ts = $lts"
      echo "                remote_ts = $rts"
      echo "                esp_proposals = $esp"
      echo "                start_action = $start"
      for o in "${child_opts[@]}"; do echo "                ${o%%=*} = ${o#*=}"; done
      while IFS= read -r o; do
        [ -n "$o" ] && echo "                ${o%%=*} = ${o#*=}"
      done <<<"${child_only[$cname]:-}"
      echo "            }"
    done
    echo "        }"
    echo "    }"
    echo "}"
    echo "secrets {"
    echo "    ike-$conn {"
    echo "        id-a = $lid"
    echo "        id-b = $rid"
    echo "        secret = \"$psk\""
    echo "    }"
    echo "}"
  } >"$file"
}

# ---------------------------------------------------------------------------------------
# captures and tshark

# capture_start NS IFACE FILE [FILTER...]: tcpdump -U -w FILE on IFACE in NS, returns once
# tcpdump is listening.
capture_start() {
  local ns=$1 ifc=$2 file=$3; shift 3
  local errf="$file.tcpdump.log"
  ip netns exec "$(lab_ns "$ns")" tcpdump -n -U --immediate-mode -Z root -i "$ifc" -w "$file" "$@" >"$errf" 2>&1 &
  local pid=$!
  LAB_CAPTURE_PID[$file]=$pid
  if ! wait_for "grep -q 'listening on' '$errf'" 5; then
    echo "capture_start: tcpdump on $ns:$ifc did not start:" >&2; cat "$errf" >&2
    return 1
  fi
}

# capture_stop [FILE]: stop the capture writing FILE (all captures without FILE); the
# pcap is complete when this returns.
capture_stop() {
  local f
  local -a files=("$@")
  [ ${#files[@]} -eq 0 ] && files=("${!LAB_CAPTURE_PID[@]}")
  for f in "${files[@]}"; do
    local pid=${LAB_CAPTURE_PID[$f]:-}
    [ -n "$pid" ] || continue
    # let tcpdump drain what the kernel has queued: SIGINT drops it
    sleep "${LAB_CAPTURE_DRAIN:-0.3}"
    kill -INT "$pid" 2>/dev/null
    local i
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    _lab_end_pid "$pid" 1
    unset "LAB_CAPTURE_PID[$f]"
  done
}

# tshark_counts PCAP [--keys KEYDIR] FILTER...: print, space-separated, how many frames
# match each display FILTER, in one tshark pass (io,stat). Filters must not contain
# commas. With --keys, ESP/IKE are decrypted first (so e.g. "esp && icmp" can match).
tshark_counts() {
  local pcap=$1; shift
  local keydir=""
  if [ "${1:-}" = --keys ]; then keydir=$2; shift 2; fi
  local spec="io,stat,0" f
  for f in "$@"; do
    case $f in *,*) echo "tshark_counts: filter with a comma: $f" >&2; return 1 ;; esac
    spec+=",$f"
  done
  local -a env=()
  [ -n "$keydir" ] && env=(env "WIRESHARK_CONFIG_DIR=$(_tshark_cfg "$keydir")")
  "${env[@]}" tshark -n -r "$pcap" -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE -q -z "$spec" 2>/dev/null \
    | awk -F'|' -v n=$# '/<>/ { for (i = 1; i <= n; i++) { v = $(2 * i + 1); gsub(/ /, "", v); printf "%s%s", v, (i < n ? " " : "\n") } found = 1 }
                        END { if (!found) exit 1 }'
}

# tshark_count PCAP FILTER [KEYDIR]: print how many frames match display FILTER.
tshark_count() {
  if [ -n "${3:-}" ]; then tshark_counts "$1" --keys "$3" "$2"; else tshark_counts "$1" "$2"; fi
}

# _tshark_cfg KEYDIR: a wireshark config dir holding KEYDIR's esp_sa and
# ikev2_decryption_table (either may be absent).
_tshark_cfg() {
  local keydir=$1 cfg="$LAB_DIR/wireshark.$RANDOM"
  mkdir -p "$cfg"
  local f
  for f in esp_sa ikev2_decryption_table; do
    [ -f "$keydir/$f" ] && cp "$keydir/$f" "$cfg/$f"
  done
  echo "$cfg"
}

# tshark_check_decrypt PCAP KEYDIR: decode PCAP with the key tables in KEYDIR (files
# esp_sa and/or ikev2_decryption_table, formats in shared/interop/tshark-keylog.md) as an
# independent check of what went on the wire. Prints a summary; fails if any frame is
# malformed, carries an expert error, has a bad ESP ICV or an incorrect IKEv2 checksum, if
# no ESP/IKE frame was present, or if ESP frames were present (with esp_sa given) but
# none decrypted, or SK payloads (with ikev2_decryption_table given) but none decrypted.
tshark_check_decrypt() {
  local pcap=$1 keydir=$2
  if [ ! -s "$pcap" ]; then echo "tshark_check_decrypt: no capture $pcap" >&2; return 1; fi
  if [ ! -f "$keydir/esp_sa" ] && [ ! -f "$keydir/ikev2_decryption_table" ]; then
    echo "tshark_check_decrypt: $keydir has neither esp_sa nor ikev2_decryption_table" >&2; return 1
  fi
  local cfg; cfg=$(_tshark_cfg "$keydir")
  local out="$LAB_DIR/tshark.$RANDOM.tsv" err="$LAB_DIR/tshark.$RANDOM.err"
  WIRESHARK_CONFIG_DIR=$cfg tshark -n -r "$pcap" \
    -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
    -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.number -e esp.spi -e esp.icv_good -e esp.icv_bad -e esp.decrypted_data \
    -e isakmp.ispi -e isakmp.enc.data -e isakmp.enc.decrypted \
    -e _ws.malformed -e _ws.expert.severity -e _ws.expert.message >"$out" 2>"$err"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "tshark_check_decrypt: tshark failed:" >&2; cat "$err" >&2; return 1; fi
  if grep -qiE "error|could not|invalid" "$err"; then
    echo "tshark_check_decrypt: tshark complained (key table not loaded?):" >&2; cat "$err" >&2; return 1
  fi
  # severity is printed as a number: 0x00800000 (8388608) = error, 0x00600000 = warning
  local summary
  summary=$(awk -F'\t' -v has_esp_sa="$([ -f "$keydir/esp_sa" ] && echo 1 || echo 0)" \
                      -v has_ike="$([ -f "$keydir/ikev2_decryption_table" ] && echo 1 || echo 0)" '
    function truthy(v) { return v ~ /(^|,)(1|True|true)(,|$)/ }
    function addf(k, f) { nf[k]++; if (nf[k] <= 8) fl[k] = fl[k] " " f; else if (nf[k] == 9) fl[k] = fl[k] " ..." }
    function sev_err(s,   n, a, i) { n = split(s, a, ","); for (i = 1; i <= n; i++) if (a[i] + 0 >= 8388608 || a[i] ~ /^0x008/ || a[i] ~ /[Ee]rror/) return 1; return 0 }
    function sev_warn(s,  n, a, i) { n = split(s, a, ","); for (i = 1; i <= n; i++) if (a[i] + 0 == 6291456 || a[i] ~ /^0x006/ || a[i] ~ /[Ww]arn/) return 1; return 0 }
    {
      frames++
      if ($2 != "") { esp++; if (truthy($3)) good++; if (truthy($4)) { bad++; addf("bad", $1) } if ($5 != "") dec++ }
      if ($6 != "") ike++
      if ($7 != "") { sk++; if ($8 != "") skdec++ }
      if ($9 != "") { mal++; addf("mal", $1) }
      if (sev_err($10)) { experr++; addf("err", $1); if (errmsg == "") errmsg = $11 }
      else if (sev_warn($10)) { expwarn++; if (warnmsg == "") warnmsg = $11 }
      if ($11 ~ /[Ii]ncorrect/) { ikebad++; addf("err", $1); if (errmsg == "") errmsg = $11 }
    }
    END {
      printf "frames=%d esp=%d esp_decrypted=%d icv_good=%d icv_bad=%d ike=%d sk=%d sk_decrypted=%d malformed=%d expert_errors=%d expert_warnings=%d ike_integrity_bad=%d\n", \
        frames, esp, dec, good, bad, ike, sk, skdec, mal, experr, expwarn, ikebad
      why = ""
      if (esp + ike == 0) why = why "no ESP or IKE frames; "
      if (bad > 0) why = why "bad ICV in frames" fl["bad"] "; "
      if (mal > 0) why = why "malformed frames" fl["mal"] "; "
      if (experr > 0 || ikebad > 0) why = why "expert errors in frames" fl["err"] " (" errmsg "); "
      if (has_esp_sa && esp > 0 && dec == 0) why = why "ESP present but nothing decrypted (esp_sa mismatch?); "
      if (has_esp_sa && esp > 0 && good == 0) why = why "no ESP ICV verified; "
      if (has_ike && sk > 0 && skdec == 0) why = why "SK payloads present but nothing decrypted; "
      if (expwarn > 0) printf "note: first expert warning: %s\n", warnmsg
      if (why != "") { printf "FAILED: %s\n", why; exit 1 }
    }' "$out")
  rc=$?
  printf 'tshark_check_decrypt %s: %s\n' "$(basename "$pcap")" "$summary"
  return $rc
}

# ---------------------------------------------------------------------------------------
# traffic checks

# ping_check NS DST [COUNT] [MIN_REPLIES]: ping DST from NS (0.2 s interval); succeeds if
# at least MIN_REPLIES (default COUNT) replies came back. Prints ping's summary line.
ping_check() {
  local ns=$1 dst=$2 count=${3:-3} min=${4:-${3:-3}} out rx
  out=$(nsx "$ns" ping -n -c "$count" -i 0.2 -W 1 "$dst" 2>&1)
  rx=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
  rx=${rx:-0}
  echo "ping $ns -> $dst: $(grep -E 'packets transmitted' <<<"$out")"
  [ "$rx" -ge "$min" ]
}

# iperf3_tcp NS_SERVER SERVER_ADDR NS_CLIENT SECONDS [CLIENT_ARGS...]: one iperf3 run
# (server with -1 in NS_SERVER bound to SERVER_ADDR, tracked for teardown), client in
# NS_CLIENT. Prints the received rate in Mbit/s (a number, on stdout) and a human line on
# stderr; fails if the run failed or moved nothing.
iperf3_tcp() {
  local nss=$1 addr=$2 nsc=$3 secs=$4; shift 4
  local port=${LAB_IPERF_PORT:-5201}
  local slog="$LAB_DIR/iperf3-server.$RANDOM.log" cjson="$LAB_DIR/iperf3-client.$RANDOM.json"
  lab_bg "$nss" "$slog" iperf3 -s -1 -B "$addr" -p "$port"
  local spid=$LAB_BG_PID
  if ! wait_for "nsx $nss ss -Hltn 'sport = :$port' | grep -q LISTEN" 5; then
    echo "iperf3_tcp: server did not start:" >&2; cat "$slog" >&2; return 1
  fi
  nsx "$nsc" timeout $((secs + 15)) iperf3 -c "$addr" -p "$port" -t "$secs" -J "$@" >"$cjson" 2>&1
  local rc=$?
  wait_for "! kill -0 $spid" 3 || _lab_end_pid "$spid" 1
  local mbps
  mbps=$(python3 - "$cjson" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
if "error" in d:
    print(d["error"], file=sys.stderr); sys.exit(1)
end = d.get("end", {})
s = end.get("sum_received") or end.get("sum") or {}
bps = s.get("bits_per_second", 0)
print("%.1f" % (bps / 1e6))
EOF
  ) || { echo "iperf3_tcp: client failed (rc $rc):" >&2; head -c 2000 "$cjson" >&2; return 1; }
  echo "iperf3 $nsc -> $addr ($nss), ${secs}s: $mbps Mbit/s" >&2
  echo "$mbps"
  [ $rc -eq 0 ] && awk -v m="$mbps" 'BEGIN { exit !(m > 0) }'
}

# ---------------------------------------------------------------------------------------
# fixed-rate UDP streams (udpstream.py): sequence-numbered datagrams, counted at the far end

declare -gA LAB_STREAM_SEND=()   # stream NAME -> sender pid
declare -gA LAB_STREAM_RECV=()   # stream NAME -> receiver pid

# stream_start NAME NS_SRC SRC_ADDR NS_DST DST_ADDR PORT RATE SECONDS [SIZE]: a receiver
# on PORT (any address: DST_ADDR may be on a TUN device that does not exist yet) in NS_DST, then a sender in NS_SRC (from SRC_ADDR) sending RATE
# datagrams/s for SECONDS. Stats (JSON, rewritten every second) in
# $LAB_DIR/stream-NAME.send.json and .recv.json. With LAB_STREAM_UNTIL=EPOCH_S the sender
# stops at that wall-clock time at the latest (a slow start on a busy machine then shortens
# the stream instead of moving its end). With LAB_STREAM_HOLD=1 the sender starts but waits
# for stream_go NAME (start the streams while the tunnel is being set up, so Python's
# start-up time on a busy machine does not count).
stream_start() {
  local name=$1 nss=$2 src=$3 nsd=$4 dst=$5 port=$6 rate=$7 secs=$8 size=${9:-64}
  local tool; tool="$(dirname "${BASH_SOURCE[0]}")/udpstream.py"
  local base="$LAB_DIR/stream-$name"
  rm -f "$base.send.json" "$base.recv.json" "$base.go" "$base.go.until"
  lab_bg "$nsd" "$base.recv.log" python3 "$tool" recv --bind 0.0.0.0 --port "$port" --stats "$base.recv.json"
  LAB_STREAM_RECV[$name]=$LAB_BG_PID
  # a held stream's receiver is waited for in stream_go
  if [ -z "${LAB_STREAM_HOLD:-}" ] && ! _stream_ready "$name" recv; then return 1; fi
  lab_bg "$nss" "$base.send.log" python3 "$tool" send --src "$src" --dst "$dst" --port "$port" \
    --rate "$rate" --duration "$secs" --size "$size" --stats "$base.send.json" \
    ${LAB_STREAM_UNTIL:+--until "$LAB_STREAM_UNTIL"} ${LAB_STREAM_HOLD:+--go "$base.go"}
  LAB_STREAM_SEND[$name]=$LAB_BG_PID
}

# _stream_ready NAME recv|send: wait (20 s) until that end of stream NAME wrote its stats.
_stream_ready() {
  local base="$LAB_DIR/stream-$1"
  wait_for "[ -s '$base.$2.json' ]" 20 && return 0
  echo "stream: $1: the $2 end did not start:" >&2; cat "$base.$2.log" >&2
  return 1
}

# stream_ready NAME...: wait until both ends of these (held) streams run, so that a later
# stream_go starts them at once.
stream_ready() {
  local n
  for n in "$@"; do _stream_ready "$n" recv && _stream_ready "$n" send || return 1; done
}

# stream_go [--until EPOCH_S] NAME...: let the held senders of these streams start (see
# stream_start), optionally to stop at wall-clock time EPOCH_S at the latest.
stream_go() {
  local until="" n
  if [ "${1:-}" = --until ]; then until=$2; shift 2; fi
  stream_ready "$@" || return 1
  for n in "$@"; do
    [ -n "$until" ] && echo "$until" >"$LAB_DIR/stream-$n.go.until"
    : >"$LAB_DIR/stream-$n.go"
  done
}

# stream_wait NAME [TIMEOUT_S]: wait until NAME's sender has finished (default: 60 s).
stream_wait() {
  local pid=${LAB_STREAM_SEND[$1]:-}
  [ -n "$pid" ] || return 1
  wait_for "! kill -0 $pid" "${2:-60}"
}

# stream_stop NAME: stop the sender if still running, let the last datagrams arrive
# (0.5 s), stop the receiver; the stats files are final when this returns.
stream_stop() {
  local name=$1 s=${LAB_STREAM_SEND[$1]:-} r=${LAB_STREAM_RECV[$1]:-}
  [ -n "$s" ] && _lab_end_pid "$s" 2
  sleep 0.5
  [ -n "$r" ] && _lab_end_pid "$r" 3
  unset "LAB_STREAM_SEND[$name]" "LAB_STREAM_RECV[$name]"
}

# stream_stat NAME send|recv KEY: one value from NAME's current stats file.
stream_stat() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
    "$LAB_DIR/stream-$1.$2.json" "$3" 2>/dev/null
}

# stream_report NAME [--max-lost N] [--max-gap-ms MS]: print NAME's result line; fails if
# more than N (default 0) datagrams were lost, any duplicated, or the longest silence
# exceeded MS. Call after stream_stop.
stream_report() {
  local name=$1; shift
  local tool; tool="$(dirname "${BASH_SOURCE[0]}")/udpstream.py"
  python3 "$tool" report "$LAB_DIR/stream-$name.send.json" "$LAB_DIR/stream-$name.recv.json" "$@"
}

# swanctl_conf_join FILE OTHER...: move the connections and secrets of each OTHER
# swanctl.conf (e.g. written by swanctl_conf_gen) into FILE, so one charon loads them all.
swanctl_conf_join() {
  python3 - "$@" <<'PY'
import sys

def blocks(path):
    """{"connections": [inner lines], "secrets": [inner lines]} of a file whose top-level
    sections open with 'NAME {' and close with '}' at column 0."""
    out, cur = {}, None
    for line in open(path).read().splitlines():
        if cur is None:
            if line.endswith("{") and not line.startswith((" ", "\t")):
                cur = line[:-1].strip()
                out.setdefault(cur, [])
        elif line == "}":
            cur = None
        else:
            out[cur].append(line)
    return out

merged = blocks(sys.argv[1])
for other in sys.argv[2:]:
    for k, v in blocks(other).items():
        merged.setdefault(k, []).extend(v)
with open(sys.argv[1], "w") as f:
    f.write("# joined by tests/interop/lib.sh swanctl_conf_join\n")
    for k, v in merged.items():
        f.write(k + " {\n" + "\n".join(v) + "\n}\n")
PY
}

# ---------------------------------------------------------------------------------------
# swanless

declare -gA LAB_SWL_PID=() LAB_SWL_NS=() LAB_SWL_SOCK=()

# swanless_start NS NAME CONF [WRAPPER...]: run "$SWANLESS run -c CONF" in NS (CONF must
# set socket=), through WRAPPER if given (e.g. setpriv --bounding-set -net_raw), log in
# $LAB_DIR/NAME.log (swanless_log NAME), tracked for teardown; waits until the control
# socket exists (10 s).
swanless_start() {
  local ns=$1 name=$2 conf=$3 sock
  shift 3
  sock=$(sed -n 's/^[[:space:]]*socket[[:space:]]*=[[:space:]]*//p' "$conf" | head -1)
  [ -n "$sock" ] || { echo "swanless_start: $conf sets no socket=" >&2; return 1; }
  [ -x "${SWANLESS:-}" ] || { echo "swanless_start: SWANLESS is not set to a binary" >&2; return 1; }
  lab_bg "$ns" "$LAB_DIR/$name.log" "$@" "$SWANLESS" run -c "$conf"
  LAB_SWL_PID[$name]=$LAB_BG_PID LAB_SWL_NS[$name]=$ns LAB_SWL_SOCK[$name]=$sock
  if ! wait_for "[ -S '$sock' ] || ! kill -0 $LAB_BG_PID" 10 || ! kill -0 "$LAB_BG_PID" 2>/dev/null; then
    echo "swanless_start: $name did not start:" >&2; tail -n 30 "$LAB_DIR/$name.log" >&2; return 1
  fi
  lab_log "swanless $name started in $ns (pid $LAB_BG_PID, log $LAB_DIR/$name.log)"
}

# swanless_status NAME [--json]: `swanless status` of instance NAME.
swanless_status() {
  local name=$1; shift
  nsx "${LAB_SWL_NS[$name]}" "$SWANLESS" status --socket "${LAB_SWL_SOCK[$name]}" "$@"
}

# swanless_has NAME REGEX: the text status of instance NAME has a line matching REGEX.
swanless_has() { swanless_status "$1" 2>/dev/null | grep -qE "$2"; }

# swanless_json NAME EXPR: a Python expression over `status --json` (the document is d),
# printed; e.g. swanless_json s1 'd["tun_offload"]["udp"]'. Prints "" when it fails.
swanless_json() {
  swanless_status "$1" --json 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2" 2>/dev/null
}

# swanless_counter NAME KEY: one counter of `status --json` (e.g. child_rekeys).
swanless_counter() { swanless_json "$1" "d['counters'].get('$2', '')"; }

# swanless_alive NAME: instance NAME is still running.
swanless_alive() { local pid=${LAB_SWL_PID[$1]:-}; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# swanless_sas NAME: "IKE CHILD" - established IKE_SAs and installed CHILD_SAs now.
swanless_sas() {
  swanless_status "$1" --json 2>/dev/null | python3 -c '
import json, sys
try:
    sas = json.load(sys.stdin)["ike_sas"]
except Exception:
    print("0 0"); sys.exit(0)
print(sum(s["state"] == "ESTABLISHED" for s in sas),
      sum(k["state"] == "INSTALLED" for s in sas for k in s["children"]))'
}

# swanless_log NAME: path of instance NAME's log.
swanless_log() { echo "$LAB_DIR/$1.log"; }

# swanless_stop NAME: TERM (swanless sends its DELETEs and exits); one that is still
# running after 5 s is a failed check ("did not exit on SIGTERM") and is killed.
swanless_stop() {
  local pid=${LAB_SWL_PID[$1]:-} rc=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! wait_for "! kill -0 $pid" 5; then
    fail "swanless $1 did not exit on SIGTERM"; kill -KILL "$pid" 2>/dev/null; rc=1
  fi
  wait "$pid" 2>/dev/null
  unset "LAB_SWL_PID[$1]"
  return $rc
}

# lab_swanless_bin: resolve $SWANLESS (default: build/apps/swanless of this checkout) to an
# absolute path; exits 1 if there is no binary there.
lab_swanless_bin() {
  SWANLESS=${SWANLESS:-$(dirname "${BASH_SOURCE[0]}")/../../build/apps/swanless}
  SWANLESS=$(readlink -f "$SWANLESS")
  [ -x "$SWANLESS" ] || { echo "no swanless binary at $SWANLESS"; exit 1; }
}

# lab_pair [ADDR/PFX...]: namespaces s (swanless) and c (charon) joined by veth
# s0 192.0.2.1/24 <-> c0 192.0.2.2/24, each ADDR on c's lo (charon's inner addresses), and
# a check that the underlay answers; dies if the set-up fails.
lab_pair() {
  ns_create s || die "namespace s"
  ns_create c || die "namespace c"
  link_ns s s0 192.0.2.1/24 c c0 192.0.2.2/24 || die "veth"
  local a
  for a in "$@"; do ns_addr c lo "$a" || die "address $a on c"; done
  check "underlay ping" ping_check s 192.0.2.2 2
}

# lab_sites [UNDERLAY_A UNDERLAY_B]: two site networks joined by two gateways:
#   neta (n0 10.0.0.2/24) -- gwa (a0 10.0.0.1/24)   gwb (b0 10.0.1.1/24) -- netb (n0 10.0.1.2/24)
# each host routed to the other site via its gateway, IP forwarding on in the gateways.
# With UNDERLAY_A and UNDERLAY_B (ADDR/PFX) the gateways are linked directly (gwa a1 <->
# gwb b1); without them the caller links them (e.g. through a router namespace). Dies on
# failure.
lab_sites() {
  local n
  for n in neta gwa gwb netb; do ns_create $n || die "namespace $n"; done
  link_ns neta n0 10.0.0.2/24 gwa a0 10.0.0.1/24 || die "veth neta-gwa"
  link_ns gwb b0 10.0.1.1/24 netb n0 10.0.1.2/24 || die "veth gwb-netb"
  if [ $# -ge 2 ]; then link_ns gwa a1 "$1" gwb b1 "$2" || die "veth gwa-gwb"; fi
  ns_route neta 10.0.1.0/24 via 10.0.0.1 || die "route neta"
  ns_route netb 10.0.0.0/24 via 10.0.1.1 || die "route netb"
  for n in gwa gwb; do nsx $n sysctl -qw net.ipv4.ip_forward=1 || die "ip_forward in $n"; done
}

# pair_charon_conf FILE PSK [swanctl_conf_gen OPTION...]: charon's swanctl.conf on
# lab_pair's c end: conn dc, local 192.0.2.2 (id c.swl.test), remote 192.0.2.1 (id
# s.swl.test), encap yes, start none, the PSK; later OPTIONs override these (e.g. --conn,
# --remote-id) and add the children (--child NAME LTS RTS MODE).
pair_charon_conf() {
  local file=$1 psk=$2; shift 2
  swanctl_conf_gen "$file" --conn dc --local 192.0.2.2 --remote 192.0.2.1 --local-id c.swl.test \
    --remote-id s.swl.test --psk "$psk" --encap yes --start none "$@"
}

# pair_swanless_conf FILE PSK [WORD...] [--conn NAME WORD...]...: swanless's config on
# lab_pair's s end (swanless_conf_gen): socket FILE.sock (FILE without .conf), left=192.0.2.1
# (id s.swl.test) and right=192.0.2.2 (id c.swl.test) in %default unless a WORD before
# the first --conn sets that key, and beside it the default secrets file FILE.secrets (0600)
# with PSK for s.swl.test and c.swl.test.
pair_swanless_conf() {
  local file=$1 psk=$2; shift 2
  local base=${file%.conf} w k x
  local -a mine=() words=("$@")
  for w in left=192.0.2.1 leftid=s.swl.test right=192.0.2.2 rightid=c.swl.test; do
    k=${w%%=*}
    for x in "${words[@]}"; do [ "$x" = --conn ] && break; [ "${x%%=*}" = "$k" ] && continue 2; done
    mine+=("$w")
  done
  swanless_conf_gen "$file" "$base.sock" "${mine[@]}" "$@" || return 1
  printf 's.swl.test c.swl.test : PSK "%s"\n' "$psk" >"$base.secrets"
  chmod 600 "$base.secrets"
}

# swanless_conf_gen FILE SOCKET [WORD...] [--conn NAME WORD...]...: a swanless config with
# `socket=SOCKET` in config setup; WORDs are key=value lines: before the first --conn they
# go to `conn %default` (a `setup.` prefix puts one into config setup instead), after a
# --conn NAME into that conn. %default gets `keyexchange=ikev2` and `authby=secret` unless
# the words set those keys.
swanless_conf_gen() {
  local file=$1 sock=$2; shift 2
  local -a setup=() defaults=() body=()
  local in_conn=0
  while [ $# -gt 0 ]; do
    case $1 in
      --conn) body+=("" "conn $2"); in_conn=1; shift 2 ;;
      setup.*) setup+=("${1#setup.}"); shift ;;
      *=*) if [ $in_conn = 1 ]; then body+=("    $1"); else defaults+=("$1"); fi; shift ;;
      *) echo "swanless_conf_gen: not key=value: $1" >&2; return 1 ;;
    esac
  done
  {
    echo "# generated by tests/interop/lib.sh swanless_conf_gen"
    echo "config setup"
    echo "    socket=$sock"
    local w; for w in "${setup[@]}"; do echo "    $w"; done
    echo
    echo "conn %default"
    [[ " ${defaults[*]} " == *" keyexchange="* ]] || echo "    keyexchange=ikev2"
    [[ " ${defaults[*]} " == *" authby="* ]] || echo "    authby=secret"
    for w in "${defaults[@]}"; do echo "    $w"; done
    printf '%s\n' "${body[@]}"
  } >"$file"
}
