#!/usr/bin/env bash
# Removes what an interop test left behind when it could not run its teardown (SIGKILL,
# machine-level timeout): namespaces named swl<tag><pid><name> (lib.sh's scheme) whose
# test process <pid> is gone, the processes still inside them, and the test's temp dir
# /tmp/swl<tag><pid>.*. Namespaces of tests still running are left alone.
# Usage: sudo tests/interop/cleanup.sh [-n]     (-n: only list what would be removed)
dry=0
[ "${1:-}" = -n ] && dry=1
removed=0
for ns in $(ip netns list | awk '{print $1}'); do
  [[ $ns =~ ^swl([a-z]{1,4})([0-9]+)([a-z][a-z0-9]*)$ ]] || continue
  tag=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q bash; then
    echo "keep $ns (test $pid still running)"; continue
  fi
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  echo "remove $ns (test $pid gone; processes inside: ${pids:-none})"
  removed=$((removed + 1))
  [ $dry = 1 ] && continue
  for p in $pids; do kill -TERM "$p" 2>/dev/null; done
  [ -n "$pids" ] && sleep 1
  for p in $pids; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$ns"
  for d in /tmp/swl"$tag$pid".*; do
    [ -d "$d" ] && { echo "remove $d"; rm -rf -- "$d"; }
  done
done
echo "cleanup: $removed stale namespace(s)"
