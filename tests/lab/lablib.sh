# shellcheck shell=bash
# tests/lab/lablib.sh: generic helpers on top of tests/interop/lib.sh (sourced here) for
# labs with an FRR router, JSON status files and labs that outlive the script that built
# them (`lab.sh up` / `lab.sh down`).
#
#   frr_start NS NAME PIMD_CONF   zebra + pimd in NS, run as user frr from $LAB_DIR/frr-NAME
#   frr_vtysh NAME CMD...         vtysh -c CMD against that FRR (one -c per CMD)
#   json_get FILE KEY             a top-level field of a JSON status file ("" if absent)
#   lab_persist STATE_FILE [VAR]  keep the lab after the script exits (state for lab_restore)
#   lab_restore STATE_FILE        load a persisted lab's state (then lab_teardown removes it)
#   lab_stop_all [GRACE]          end all the lab's processes at once (then lab_teardown)
#   ping_from NS SRC DST [N] [MIN] ping with a source address

_lablib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../interop/lib.sh
. "$_lablib_here/../interop/lib.sh"

declare -gA LAB_FRR_DIR=()   # FRR NAME -> its private folder

# frr_start NS NAME PIMD_CONF: start zebra and pimd in NS, as user frr, from a private
# folder $LAB_DIR/frr-NAME owned by frr:frr (root is not in frrvty and -u root fails).
# PIMD_CONF is the text of pimd.conf (interfaces with `ip pim`, `ip pim rp ...`). Both
# daemons are tracked for teardown; returns once both vty sockets exist.
frr_start() {
  local ns=$1 name=$2 pimconf=$3
  local d="$LAB_DIR/frr-$name"
  local frr_bin=${LAB_FRR_BIN:-/usr/lib/frr}
  if [ ! -x "$frr_bin/zebra" ] || [ ! -x "$frr_bin/pimd" ] || ! id frr >/dev/null 2>&1; then
    echo "frr_start: FRR (zebra, pimd, user frr) not installed: scripts/install-deps.sh" >&2; return 1
  fi
  mkdir -p "$d"
  printf 'hostname %s\nlog file %s/zebra.log\n' "$name" "$d" >"$d/zebra.conf"
  printf 'hostname %s\nlog file %s/pimd.log\n%s\n' "$name" "$d" "$pimconf" >"$d/pimd.conf"
  chown -R frr:frr "$d"
  chmod 750 "$d"
  LAB_FRR_DIR[$name]=$d
  local common=(-u frr -g frr -z "$d/zserv.api" --vty_socket "$d" -P 0)
  lab_bg "$ns" "$d/zebra.out" "$frr_bin/zebra" "${common[@]}" -f "$d/zebra.conf" -i "$d/zebra.pid"
  local zpid=$LAB_BG_PID
  if ! wait_for "[ -S '$d/zserv.api' ] && [ -S '$d/zebra.vty' ] || ! kill -0 $zpid" 10 || ! kill -0 "$zpid" 2>/dev/null; then
    echo "frr_start: zebra did not start:" >&2; cat "$d/zebra.out" >&2; return 1
  fi
  lab_bg "$ns" "$d/pimd.out" "$frr_bin/pimd" "${common[@]}" -f "$d/pimd.conf" -i "$d/pimd.pid"
  local ppid=$LAB_BG_PID
  if ! wait_for "[ -S '$d/pimd.vty' ] || ! kill -0 $ppid" 10 || ! kill -0 "$ppid" 2>/dev/null; then
    echo "frr_start: pimd did not start:" >&2; cat "$d/pimd.out" >&2; return 1
  fi
  lab_log "FRR $name (zebra $zpid, pimd $ppid) in $(lab_ns "$ns"), folder $d"
}

# frr_vtysh NAME CMD...: run each CMD through vtysh against FRR NAME.
frr_vtysh() {
  local name=$1; shift
  local d=${LAB_FRR_DIR[$name]:-}
  [ -n "$d" ] || { echo "frr_vtysh: no FRR $name" >&2; return 1; }
  local -a args=() c
  for c in "$@"; do args+=(-c "$c"); done
  vtysh --vty_socket "$d" "${args[@]}"
}

# json_get FILE KEY: print the top-level field KEY of the flat JSON object in FILE (as
# written by the lab's Python tools: numbers, strings without commas, true/false/null);
# "" if absent. No Python start-up: cheap enough to poll.
json_get() {
  local v
  v=$(sed -n "s/.*\"$2\": *\([^,}]*\).*/\1/p" "$1" 2>/dev/null | head -n 1)
  v=${v#\"}; v=${v%\"}
  [ "$v" = null ] && v=""
  echo "$v"
}

# lab_persist STATE_FILE [VAR...]: let the lab outlive this script. Removes the teardown trap and
# writes the lab's state (namespaces, tracked processes, charons, FRR, temp dir) to
# STATE_FILE for lab_restore. Call after everything is up.
lab_persist() {
  local state=$1; shift
  trap - EXIT INT TERM
  {
    declare -p LAB_TAG LAB_PREFIX LAB_DIR LAB_NS LAB_PIDS LAB_CHARON_PID LAB_CHARON_NS LAB_FRR_DIR
    declare -p LAB_KEEPER_PID "$@" 2>/dev/null
  } | sed 's/^declare -\([a-zA-Z]*\) /declare -g\1 /; s/^declare -- /declare -g /' >"$state"
}

# lab_restore STATE_FILE: load the state written by lab_persist (in the calling shell), so
# that lab_teardown removes that lab.
lab_restore() {
  # shellcheck disable=SC1090
  . "$1"
  LAB_TORN_DOWN=0
  LAB_START_MS=$(now_ms)
}

# _lab_alive PID: running and not a zombie (processes of a persisted lab are not our
# children: `kill -0` alone also succeeds on a zombie waiting for its reaper).
_lab_alive() {
  local st
  st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# lab_stop_all [GRACE_S]: TERM every tracked process, charon and process inside the lab's
# namespaces at once, wait up to GRACE (default 5) seconds for all, KILL the rest. Faster
# than ending them one by one; lab_teardown afterwards finds nothing left to wait for.
lab_stop_all() {
  local grace=${1:-5} pid ns i
  local -a pids=("${LAB_PIDS[@]}" "${LAB_CHARON_PID[@]}")
  for ns in "${LAB_NS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$pid"); done
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do _lab_alive "$pid" && { alive=1; break; }; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do _lab_alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
  LAB_PIDS=(); LAB_CHARON_PID=()
  return 0
}

# lab_keeper_start: start a placeholder process whose pid names the lab, so that
# tests/interop/cleanup.sh (which removes labs whose test process is gone) keeps a lab
# made by `lab.sh up` while it is meant to run. Renames $LAB_DIR to match. Call right
# after lab_init, before anything is created.
lab_keeper_start() {
  # one process; its command line says "bash..." as cleanup.sh expects of a live test
  setsid bash -c 'exec -a bash-swl-lab-keeper sleep infinity' </dev/null >/dev/null 2>&1 &
  LAB_KEEPER_PID=$!
  local newdir="/tmp/swl${LAB_TAG}${LAB_KEEPER_PID}.${LAB_DIR##*.}"
  mv "$LAB_DIR" "$newdir" && LAB_DIR=$newdir
  LAB_PREFIX="swl${LAB_TAG}${LAB_KEEPER_PID}"
  lab_track_pid "$LAB_KEEPER_PID"
}

# ping_from NS SRC DST [COUNT] [MIN]: like lib.sh's ping_check, with a source address.
ping_from() {
  local ns=$1 src=$2 dst=$3 count=${4:-3} min=${5:-${4:-3}} out rx
  out=$(nsx "$ns" ping -n -c "$count" -i 0.2 -W 1 -I "$src" "$dst" 2>&1)
  rx=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
  echo "ping $ns $src -> $dst: $(grep -E 'packets transmitted' <<<"$out")"
  [ "${rx:-0}" -ge "$min" ]
}
