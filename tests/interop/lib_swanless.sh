# shellcheck shell=bash
# tests/interop/lib_swanless.sh: swanless instances and the standard topologies they run in (lab_pair, lab_sites), with matching strongSwan and swanless configs.
# Sourced by lib.sh (suites source lib.sh only); uses its state and helpers.

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
  # Looked for from inside the namespace: its /etc may differ (/etc/netns/NS, swanless_pair.sh).
  if ! wait_for "nsx $ns test -S '$sock' || ! kill -0 $LAB_BG_PID" 10 || ! kill -0 "$LAB_BG_PID" 2>/dev/null; then
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

# status_schema_check FILE: a saved `status --json` document validates against
# docs/status.schema.json (Debian's python3-jsonschema, so /usr/bin/python3); prints what
# does not match.
status_schema_check() {
  /usr/bin/python3 - "$1" "$(dirname "${BASH_SOURCE[0]}")/../../docs/status.schema.json" <<'EOF'
import json, sys
import jsonschema
doc = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("status schema: /%s: %s" % ("/".join(str(p) for p in e.path), e.message))
sys.exit(1 if errors else 0)
EOF
}

# swanless_schema_check NAME: the live `status --json` of instance NAME validates.
swanless_schema_check() {
  local f; f=$(mktemp "$LAB_DIR/status.XXXXXX.json")
  swanless_status "$1" --json >"$f" || { echo "status --json of $1 failed" >&2; return 1; }
  status_schema_check "$f"
}

# swanless_json_true NAME EXPR: EXPR over `status --json` (the document is d) is true.
swanless_json_true() { [ "$(swanless_json "$1" "bool($2)")" = True ]; }

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

# pair_sas_up NAME (lab_pair, charon "c", conn/child "net", charon encap=yes): swanless
# instance NAME has its CHILD_SA INSTALLED within 15 s and charon shows the IKE_SA
# ESTABLISHED and its CHILD_SA in UDP. On failure prints both ends' state and logs, stops
# NAME and returns 1.
pair_sas_up() {
  local name=$1 sas
  if wait_for "swanless_has $name 'net\\{.*INSTALLED'" 15; then
    pass "$name: IKE_SA and CHILD_SA up"
  else
    fail "$name: SAs not up"; swanless_status "$name"; tail -30 "$(swanless_log "$name")"
    charon_list_sas c c; tail -30 "$(charon_log c)"; swanless_stop "$name"; return 1
  fi
  sas=$(charon_list_sas c c)
  grep -q ESTABLISHED <<<"$sas" && pass "$name: charon shows the IKE_SA ESTABLISHED" || fail "$name: charon IKE_SA"
  grep -q 'INSTALLED, TUNNEL-in-UDP' <<<"$sas" && pass "$name: charon CHILD_SA in UDP" \
    || { fail "$name: charon CHILD_SA"; echo "$sas"; }
}

# pair_stop NAME: stop swanless instance NAME; its SIGTERM must delete the IKE_SA at charon "c".
pair_stop() {
  swanless_stop "$1"
  wait_for "! charon_list_sas c c | grep -q ESTABLISHED" 5 && pass "$1: SIGTERM deleted the IKE_SA at charon" \
    || fail "$1: charon still has the IKE_SA after swanless exited"
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

# pair_net_net2_up NAME ROLE: on lab_pair, with the children net and net2 at both ends:
# charon initiates both when ROLE is responder, then both CHILD_SAs must be INSTALLED in
# swanless NAME within 15 s. Fails, after printing both ends' state, when they are not.
pair_net_net2_up() {
  local name=$1 role=$2
  if [ "$role" = responder ]; then
    charon_initiate c c net 10 || fail "$name: charon initiate net"
    charon_initiate c c net2 10 || fail "$name: charon initiate net2"
  fi
  if wait_for "swanless_has $name 'net2\\{.*INSTALLED' && swanless_has $name 'net\\{.*INSTALLED'" 15; then
    pass "$name: IKE_SA and two CHILD_SAs up"
    return 0
  fi
  fail "$name: SAs not up"; swanless_status "$name"; tail -30 "$(swanless_log "$name")"
  charon_list_sas c c
  return 1
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
