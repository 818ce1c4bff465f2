#!/usr/bin/env bash
# Resilience against a real strongSwan (charon 5.9 + kernel-libipsec), part 2: the peer
# crashes (SIGKILL: no DELETE) and restarts while a fixed-rate UDP stream crosses the
# tunnel (swanless side -> charon side, 100 datagrams/s).
#      s: swanless 192.0.2.1 (veth s0)  <--->  c: charon 192.0.2.2 (veth c0)
#
# A. charon initiates (child start_action = start), swanless responds (auto=add).
#    charon is killed, started again 2 s later and initiates a new IKE_SA, with
#    INITIAL_CONTACT since it has no other IKE_SA with us. Checks: charon's IKE_AUTH
#    carried N(INIT_CONTACT); swanless dropped the stale IKE_SA at once ("peer sent
#    INITIAL_CONTACT") and has exactly one IKE_SA and one CHILD_SA afterwards; the stream
#    flows again within RESTART_BACK_S (5 s) of charon's restart; no duplicates.
#
# B. swanless initiates (auto=start) with dpddelay=3s dpdtimeout=8s dpdaction=restart;
#    charon only responds. charon is killed and started again 2 s later; it does not know
#    the old IKE_SA, so swanless's liveness checks go unanswered until dpdtimeout, then
#    swanless declares the peer dead and re-initiates. Checks: the dead peer is logged,
#    the tunnel (stream) is back within dpddelay + dpdtimeout + 5 s of the kill, and
#    swanless has one IKE_SA and one CHILD_SA afterwards (and charon one).
#    Then the mirror case: swanless is SIGKILLed and started again; its first contact
#    carries INITIAL_CONTACT (charon's log shows it), and charon drops the stale IKE_SA at
#    once: one IKE_SA at charon within 5 s, ping through the new CHILD_SA.
#
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_resilience_restart.sh
# Knobs: RESTART_PARTS ("a b", default both), RESTART_BACK_S.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
PARTS=${RESTART_PARTS:-"a b"}
BACK_S=${RESTART_BACK_S:-5}
DPD_DELAY=3 DPD_TIMEOUT=8

lab_init rr
lab_pair 10.97.0.2/32
psk="restart-$$"
printf ': PSK "%s"\n' "$psk" >"$LAB_DIR/s.secrets"
chmod 600 "$LAB_DIR/s.secrets"

# swl_conf FILE SOCK AUTO [WORD...]: swanless config, one conn "net".
swl_conf() {
  local file=$1 sock=$2 auto=$3; shift 3
  swanless_conf_gen "$file" "$sock" "setup.secrets=$LAB_DIR/s.secrets" \
    ike=aes256-sha256-modp2048! esp=aes256-sha256! left=192.0.2.1 leftid=s.swl.test \
    right=192.0.2.2 rightid=c.swl.test reauth=no "$@" \
    --conn net leftsubnet=10.97.0.1/32 rightsubnet=10.97.0.2/32 "auto=$auto"
}

# charon_conf FILE START: charon's side of conn "net".
charon_conf() {
  pair_charon_conf "$1" "$psk" --ike aes256-sha256-modp2048 \
    --esp aes256-sha256 --encap yes --start "$2" --child net 10.97.0.2/32 10.97.0.1/32 tunnel
}

# charon_crash NAME: SIGKILL charon NAME (no DELETE goes out), keep its log as
# charon.log.N, forget it so that charon_start can start it again.
charon_crash() {
  local name=$1 pid=${LAB_CHARON_PID[$1]:-}
  [ -n "$pid" ] || return 1
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "LAB_CHARON_PID[$name]" "LAB_CHARON_NS[$name]"
  local n=1; while [ -e "$(charon_log "$name").$n" ]; do n=$((n + 1)); done
  mv "$(charon_log "$name")" "$(charon_log "$name").$n"
}

# ms_to_s MS: "12.3"
ms_to_s() { awk -v m="$1" 'BEGIN { printf "%.1f", m / 1000 }'; }

# back_after NAME T_MS: ms from T_MS (epoch ms) to the first datagram of stream NAME that
# arrived after T_MS, from the receiver's longest silence (which must span T_MS); empty if
# the stream never came back.
back_after() {
  python3 - "$LAB_DIR/stream-$1.recv.json" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); t = float(sys.argv[2]) / 1000
at, gap = r.get("max_gap_at"), r.get("max_gap_ms", 0) / 1000
if at is None or not (at - 1 <= t <= at + gap) or r["last_rx"] <= t:
    sys.exit(0)
print(int((at + gap - t) * 1000))
EOF
}

# ---------------------------------------------------------------------------------------
part_a() {
  lab_log "A: charon restarts and initiates with INITIAL_CONTACT"
  LAB_CHARON_LOG_LEVELS="default=1 ike=2 enc=1 cfg=1 knl=1 net=1 esp=1" charon_start c ca || die "charon start"
  charon_conf "$LAB_DIR/ca.swanctl.conf" none
  charon_load c ca "$LAB_DIR/ca.swanctl.conf" || die "charon load"
  swl_conf "$LAB_DIR/sa.conf" "$LAB_DIR/sa.sock" add "dpddelay=30s" "dpdaction=clear"
  LAB_STREAM_HOLD=1 stream_start ra s 10.97.0.1 c 10.97.0.2 5021 100 30 || die "stream"
  swanless_start s sa "$LAB_DIR/sa.conf" || die "swanless start"
  charon_initiate c ca net 15 || die "A: charon could not initiate"
  wait_for '[ "$(swanless_sas sa)" = "1 1" ]' 10 || { swanless_status sa; die "A: SAs not up"; }
  pass "A: charon initiated, IKE_SA and CHILD_SA up"
  stream_go ra || die "A: stream did not start"
  sleep 3
  local t_kill t_up; t_kill=$(now_ms)
  charon_crash ca
  lab_log "A: charon killed"
  sleep 2
  charon_conf "$LAB_DIR/ca2.swanctl.conf" start
  LAB_CHARON_LOG_LEVELS="default=1 ike=2 enc=1 cfg=1 knl=1 net=1 esp=1" charon_start c ca || die "charon restart"
  local t_restart; t_restart=$(now_ms)
  charon_load c ca "$LAB_DIR/ca2.swanctl.conf" || die "charon reload"
  local slog; slog=$(swanless_log sa)
  if wait_log "$slog" 'INITIAL_CONTACT' 15; then
    pass "A: swanless: $(grep -m1 -oE 'IKE_SA deleted: .*INITIAL_CONTACT.*' "$slog")"
  else
    fail "A: swanless did not act on INITIAL_CONTACT"; tail -20 "$slog"
  fi
  grep -qE 'IKE_AUTH request 1 \[.*N\(INIT_CONTACT\)' "$(charon_log ca)" \
    && pass "A: charon's new IKE_AUTH carried INITIAL_CONTACT" || fail "A: no N(INIT_CONTACT) in charon's IKE_AUTH"
  wait_for '[ "$(swanless_sas sa)" = "1 1" ]' 10 && t_up=$(now_ms)
  [ "$(swanless_sas sa)" = "1 1" ] && pass "A: swanless: one IKE_SA and one CHILD_SA after the restart (stale ones dropped)" \
    || { fail "A: swanless SAs after the restart: $(swanless_sas sa)"; swanless_status sa; }
  sleep 3
  stream_stop ra
  stream_report ra --max-lost 1000000 >"$LAB_DIR/ra.report"
  local back; back=$(back_after ra "$t_restart")
  echo "A: stream: $(cat "$LAB_DIR/ra.report"); charon down $(ms_to_s $((t_restart - t_kill))) s"
  if [ -n "$back" ] && [ "$back" -le $((BACK_S * 1000)) ]; then
    pass "A: stream flowing again $(ms_to_s "$back") s after charon's restart (<= ${BACK_S} s)"
  else
    fail "A: stream not back within ${BACK_S} s of charon's restart (${back:-never} ms)"
  fi
  [ "$(stream_stat ra recv duplicates)" = 0 ] && pass "A: no duplicated datagrams" || fail "A: duplicated datagrams"
  swanless_stop sa
  charon_stop ca
}

# ---------------------------------------------------------------------------------------
part_b() {
  lab_log "B: swanless detects the dead peer (dpdtimeout) and restarts"
  charon_start c cb || die "charon start"
  charon_conf "$LAB_DIR/cb.swanctl.conf" none
  charon_load c cb "$LAB_DIR/cb.swanctl.conf" || die "charon load"
  swl_conf "$LAB_DIR/sb.conf" "$LAB_DIR/sb.sock" start "dpddelay=${DPD_DELAY}s" \
    "dpdtimeout=${DPD_TIMEOUT}s" "dpdaction=restart"
  local limit=$((DPD_DELAY + DPD_TIMEOUT + BACK_S))
  LAB_STREAM_HOLD=1 stream_start rb s 10.97.0.1 c 10.97.0.2 5022 100 $((limit + 12)) || die "stream"
  swanless_start s sb "$LAB_DIR/sb.conf" || die "swanless start"
  wait_for '[ "$(swanless_sas sb)" = "1 1" ]' 15 || { swanless_status sb; die "B: SAs not up"; }
  pass "B: swanless initiated, IKE_SA and CHILD_SA up"
  stream_go rb || die "B: stream did not start"
  sleep 3
  local t_kill; t_kill=$(now_ms)
  charon_crash cb
  lab_log "B: charon killed"
  sleep 2
  charon_start c cb || die "charon restart"
  charon_load c cb "$LAB_DIR/cb.swanctl.conf" || die "charon reload"
  local slog; slog=$(swanless_log sb)
  # The new IKE_SA: a second "established" line.
  if wait_for "[ \$(grep -c 'IKE_SA net\\[[0-9]*\\] established' '$slog') -ge 2 ]" $((limit + 5)); then
    local t_up; t_up=$(now_ms)
    pass "B: new IKE_SA $(ms_to_s $((t_up - t_kill))) s after the kill"
  else
    fail "B: no new IKE_SA within $((limit + 5)) s of the kill"; tail -20 "$slog"
  fi
  grep -E 'giving up|not responding|dead|initiating again' "$slog" | head -5
  grep -qE 'initiating again \(dpdaction=restart\)' "$slog" && pass "B: dead peer logged, dpdaction=restart applied" \
    || fail "B: no dpdaction=restart line"
  wait_for '[ "$(swanless_sas sb)" = "1 1" ]' 5
  [ "$(swanless_sas sb)" = "1 1" ] && pass "B: swanless: one IKE_SA and one CHILD_SA after the restart" \
    || { fail "B: swanless SAs after the restart: $(swanless_sas sb)"; swanless_status sb; }
  local sas; sas=$(charon_list_sas c cb)
  [ "$(grep -c ESTABLISHED <<<"$sas")" -eq 1 ] && pass "B: charon: one IKE_SA" || { fail "B: charon SAs:"; echo "$sas"; }
  sleep 2
  stream_stop rb
  stream_report rb --max-lost 1000000 >"$LAB_DIR/rb.report"
  echo "B: stream: $(cat "$LAB_DIR/rb.report")"
  local back; back=$(back_after rb "$t_kill")
  if [ -n "$back" ] && [ "$back" -le $((limit * 1000)) ]; then
    pass "B: stream flowing again $(ms_to_s "$back") s after the kill (<= dpddelay+dpdtimeout+${BACK_S} = $limit s)"
  else
    fail "B: stream not back within $limit s of the kill (${back:-never} ms)"
  fi

  lab_log "B: swanless crashes and comes back"
  local clog ic_before pid=${LAB_SWL_PID[sb]}
  clog=$(charon_log cb)
  ic_before=$(grep -c 'IKE_AUTH request 1 \[ IDi N(INIT_CONTACT)' "$clog")
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  mv "$slog" "$slog.1"
  swanless_start s sb "$LAB_DIR/sb.conf" || die "swanless restart"
  wait_for '[ "$(swanless_sas sb)" = "1 1" ]' 15 || fail "B: swanless's new SAs not up"
  [ "$(grep -c 'IKE_AUTH request 1 \[ IDi N(INIT_CONTACT)' "$clog")" -gt "$ic_before" ] \
    && pass "B: restarted swanless sent INITIAL_CONTACT (first contact)" \
    || fail "B: no INITIAL_CONTACT from the restarted swanless in charon's log"
  if wait_for "[ \$(charon_list_sas c cb | grep -c ESTABLISHED) -eq 1 ]" 5 \
     && grep -q "destroying duplicate IKE_SA for peer 's.swl.test', received INITIAL_CONTACT" "$clog"; then
    pass "B: charon dropped the stale IKE_SA at once on INITIAL_CONTACT (one IKE_SA)"
  else
    fail "B: charon still holds the stale IKE_SA"; charon_list_sas c cb
  fi
  check "B: ping through the new CHILD_SA" ping_check s 10.97.0.2 3
  swanless_stop sb
  charon_stop cb
}

for p in $PARTS; do "part_$p"; done
lab_summary
