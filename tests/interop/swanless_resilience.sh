#!/usr/bin/env bash
# Resilience against a real strongSwan (charon 5.9 + kernel-libipsec), part 1: rekeys.
#
# A. Zero loss across rekeys with fixed-rate UDP streams (not pings):
#      s: swanless 192.0.2.1 (veth s0)  <--->  c: charon 192.0.2.2 (veth c0)
#      fwd 10.99.0.1 -> 10.99.0.2 through CHILD_SA net  (swanless side -> charon side)
#      rev 10.99.1.2 -> 10.99.1.1 through CHILD_SA net2 (charon side -> swanless side)
#    Short lifetimes, set so that swanless rekeys net and charon rekeys net2 (rekeymargin=4s
#    rekeyfuzz=50% at swanless, rand_time=2s at charon; times after each SA is made):
#      net   swanless lifetime=10s -> rekey at 4..6 s;  charon rekey_time=10s -> 8..10 s
#      net2  swanless lifetime=14s -> rekey at 8..10 s; charon rekey_time=6s  -> 4..6 s
#      IKE   swanless ikelifetime=15s -> 9..11 s;  charon rekey_time=15s rand_time=3s -> 12..15 s
#    (reauth=no)
#    Checks, over up to STREAM_SECS (50) of STREAM_RATE (250) datagrams/s each way (the
#    streams stop 2 s after swanless counted 10 CHILD_SA and 3 IKE_SA rekeys), PFS
#    (modp2048) at every CHILD_SA rekey: >= 10 CHILD_SA rekeys and >= 3 IKE_SA rekeys
#    (swanless's status counters), rekeys initiated by both ends, zero datagrams lost
#    or duplicated in each stream (reordering is reported), one IKE_SA and both CHILD_SAs
#    at each end afterwards.
#
# B. PFS mismatch seen only at the first rekey, both directions, each in its own IKE_SA:
#      p1: swanless demands PFS (esp=aes256-sha256-modp2048!), charon offers none
#          (esp_proposals = aes256-sha256). IKE_AUTH's CHILD_SA has no DH and comes up;
#          swanless's rekey at 10 s gets NO_PROPOSAL_CHOSEN. Checks: a warning naming the
#          conn, the rekey, NO_PROPOSAL_CHOSEN and the PFS hint; rekey_failures counted;
#          a stream through p1, running across the failed rekey, loses
#          nothing until the hard lifetime (24 s); at the hard
#          lifetime the CHILD_SA is closed (logged) and charon saw the DELETE.
#      p2: charon demands PFS (esp_proposals = aes256-sha256-modp2048, rekey_time=12s,
#          life_time=30s), swanless offers none (esp=aes256-sha256!). Charon's rekey is
#          refused with NO_PROPOSAL_CHOSEN: swanless logs the refusal naming the rekey, the
#          conn and the notify, and ike_no_proposal counts it; charon logs the notify; a stream through p2 loses
#          nothing while charon keeps the old SA.
#
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_resilience.sh
# Knobs: STREAM_SECS, STREAM_RATE, RESIL_PARTS ("a b", default both).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
STREAM_SECS=${STREAM_SECS:-50}
STREAM_RATE=${STREAM_RATE:-250}
PARTS=${RESIL_PARTS:-"a b"}

lab_init rs
lab_pair
psk="resil-$$"
printf ': PSK "%s"\n' "$psk" >"$LAB_DIR/s.secrets"
chmod 600 "$LAB_DIR/s.secrets"

# stream_check NAME [REPORT_ARGS...]: pass/fail on NAME's final figures.
stream_check() {
  local name=$1; shift
  local line
  line=$(stream_report "$name" "$@")
  if [ $? -eq 0 ]; then pass "stream $name: $line"; else fail "stream $name: $line"; fi
}

# stream_spans NAME LOG REGEX: the first line of swanless LOG matching REGEX (its time of
# day, UTC) lies between the first and the last datagram stream NAME received.
stream_spans() {
  local t
  t=$(date -u -d "$(grep -m1 -E "$3" "$2" | cut -d' ' -f1)" +%s.%N 2>/dev/null) || return 1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=float(sys.argv[2]); sys.exit(not (r["first_rx"] < t < r["last_rx"]))' \
    "$LAB_DIR/stream-$1.recv.json" "$t"
}

# ---------------------------------------------------------------------------------------
part_a() {
  lab_log "A: zero loss across rekeys"
  ns_addr c lo 10.99.0.2/32; ns_addr c lo 10.99.1.2/32
  charon_start c c || die "charon start"
  pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" --ike aes256-sha256-modp2048 \
    --esp aes256-sha256-modp2048 \
    --conn-opt rekey_time=15s --conn-opt rand_time=3s --conn-opt over_time=5s \
    --child-opt rand_time=2s --child-opt-for net rekey_time=10s --child-opt-for net life_time=14s \
    --child-opt-for net2 rekey_time=6s --child-opt-for net2 life_time=10s \
    --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
  charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"
  swanless_conf_gen "$LAB_DIR/s.conf" "$LAB_DIR/s.sock" "setup.secrets=$LAB_DIR/s.secrets" \
    ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048! left=192.0.2.1 leftid=s.swl.test \
    right=192.0.2.2 rightid=c.swl.test ikelifetime=15s rekeymargin=4s rekeyfuzz=50% reauth=no \
    --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 lifetime=10s auto=start \
    --conn net2 leftsubnet=10.99.1.1/32 rightsubnet=10.99.1.2/32 lifetime=14s auto=start
  LAB_STREAM_HOLD=1 stream_start fwd s 10.99.0.1 c 10.99.0.2 5001 "$STREAM_RATE" "$STREAM_SECS" || die "stream fwd"
  LAB_STREAM_HOLD=1 stream_start rev c 10.99.1.2 s 10.99.1.1 5002 "$STREAM_RATE" "$STREAM_SECS" || die "stream rev"
  stream_ready fwd rev || die "A: streams did not start"
  swanless_start s s "$LAB_DIR/s.conf" || die "swanless start"
  wait_for '[ "$(swanless_sas s)" = "1 2" ]' 15 || { swanless_status s; die "A: SAs not up"; }
  pass "A: IKE_SA and two CHILD_SAs up"
  stream_go fwd rev || die "A: streams did not start"
  # until the rekey counts are reached (and 2 s more), or the streams end
  wait_for '[ "$(swanless_counter s child_rekeys)" -ge 10 ] && [ "$(swanless_counter s ike_rekeys)" -ge 3 ]' \
    "$STREAM_SECS" && sleep 2
  stream_stop fwd; stream_stop rev
  stream_check fwd
  stream_check rev

  local slog crk ikrk ours ike_ours rfail coll
  slog=$(swanless_log s)
  crk=$(swanless_counter s child_rekeys); ikrk=$(swanless_counter s ike_rekeys)
  rfail=$(swanless_counter s rekey_failures); coll=$(swanless_counter s rekey_collisions)
  ours=$(grep -cE 'rekeying CHILD_SA net2?\{' "$slog")
  ike_ours=$(grep -c 'rekeying IKE_SA' "$slog")
  echo "A: swanless counted $crk CHILD_SA rekeys ($ours initiated by swanless), $ikrk IKE_SA rekeys" \
    "($ike_ours initiated by swanless), $rfail rekey failures, $coll collisions"
  [ "${crk:-0}" -ge 10 ] && pass "A: $crk CHILD_SA rekeys (>= 10)" || fail "A: only ${crk:-0} CHILD_SA rekeys"
  [ "${ikrk:-0}" -ge 3 ] && pass "A: $ikrk IKE_SA rekeys (>= 3)" || fail "A: only ${ikrk:-0} IKE_SA rekeys"
  if [ "$ours" -ge 1 ] && [ "${crk:-0}" -gt "$ours" ]; then
    pass "A: CHILD_SA rekeys initiated by both ends (swanless $ours)"
  else
    fail "A: CHILD_SA rekeys not from both ends (swanless $ours of ${crk:-0})"
  fi
  local sas
  sas=$(charon_list_sas c c)
  if [ "$(grep -c ESTABLISHED <<<"$sas")" -eq 1 ] && [ "$(grep -c 'INSTALLED, TUNNEL' <<<"$sas")" -eq 2 ]; then
    pass "A: charon has one IKE_SA and two CHILD_SAs at the end"
  else
    fail "A: charon's SAs at the end:"; echo "$sas"
  fi
  [ "$(swanless_sas s)" = "1 2" ] && pass "A: swanless has one IKE_SA and two CHILD_SAs at the end" \
    || { fail "A: swanless SAs at the end: $(swanless_sas s)"; swanless_status s; }
  swanless_stop s
  charon_stop c
}

# ---------------------------------------------------------------------------------------
part_b() {
  lab_log "B: PFS mismatch at the first rekey"
  ns_addr c lo 10.98.0.2/32; ns_addr c lo 10.98.1.2/32
  charon_start c cb || die "charon start"
  pair_charon_conf "$LAB_DIR/cb1.swanctl.conf" "$psk" --conn p1 --remote-id s1.swl.test --ike aes256-sha256-modp2048 \
    --esp aes256-sha256 \
    --child-opt rekey_time=1h --child-opt life_time=2h \
    --child p1 10.98.0.2/32 10.98.0.1/32 tunnel
  pair_charon_conf "$LAB_DIR/cb2.swanctl.conf" "$psk" --conn p2 --remote-id s2.swl.test --ike aes256-sha256-modp2048 \
    --esp aes256-sha256-modp2048 \
    --child-opt rekey_time=12s --child-opt rand_time=0s --child-opt life_time=30s \
    --child p2 10.98.1.2/32 10.98.1.1/32 tunnel
  swanctl_conf_join "$LAB_DIR/cb1.swanctl.conf" "$LAB_DIR/cb2.swanctl.conf"
  charon_load c cb "$LAB_DIR/cb1.swanctl.conf" || die "charon load"
  # p1: swanless demands PFS at the rekey, charon offers none;
  # p2: charon demands PFS at its rekey, swanless offers none
  swanless_conf_gen "$LAB_DIR/sb.conf" "$LAB_DIR/sb.sock" "setup.secrets=$LAB_DIR/s.secrets" \
    ike=aes256-sha256-modp2048! left=192.0.2.1 right=192.0.2.2 rightid=c.swl.test reauth=no \
    auto=start \
    --conn p1 leftid=s1.swl.test esp=aes256-sha256-modp2048! lifetime=24s rekeymargin=14s \
    rekeyfuzz=0% leftsubnet=10.98.0.1/32 rightsubnet=10.98.0.2/32 \
    --conn p2 leftid=s2.swl.test esp=aes256-sha256! lifetime=1h leftsubnet=10.98.1.1/32 \
    rightsubnet=10.98.1.2/32
  # both streams end 1 s before p1's hard lifetime (24 s after it was made, t0 is earlier)
  LAB_STREAM_HOLD=1 stream_start p1 s 10.98.0.1 c 10.98.0.2 5011 100 24 || die "stream p1"
  LAB_STREAM_HOLD=1 stream_start p2 c 10.98.1.2 s 10.98.1.1 5012 100 24 || die "stream p2"
  stream_ready p1 p2 || die "B: streams did not start"
  local t0; t0=$(now_ms)
  local until; until=$(awk -v t="$t0" 'BEGIN { printf "%.3f", t / 1000 + 23 }')
  swanless_start s sb "$LAB_DIR/sb.conf" || die "swanless start"
  # (the log, not status: a grep is quick on a busy machine, and p1's rekey comes 10 s on)
  wait_for "[ \$(grep -cE 'CHILD_SA p[12]\\{[0-9]+\\} established' '$(swanless_log sb)') -ge 2 ]" 15 \
    || { swanless_status sb; die "B: SAs not up"; }
  stream_go --until "$until" p1 p2 || die "B: streams did not start"
  [ "$(swanless_sas sb)" = "2 2" ] && pass "B: two IKE_SAs, CHILD_SAs p1 and p2 up (IKE_AUTH, no DH)" \
    || fail "B: SAs at the start: $(swanless_sas sb)"
  stream_wait p1 30; stream_wait p2 10
  stream_stop p1; stream_stop p2
  stream_check p1
  stream_check p2

  local slog clog
  slog=$(swanless_log sb); clog=$(charon_log cb)
  # p1: our rekey refused
  local line
  line=$(grep -E 'CHILD_SA p1\{[0-9]+\} rekey failed' "$slog" | head -1)
  echo "B: swanless: $line"
  if grep -q 'NO_PROPOSAL_CHOSEN' <<<"$line" && grep -q 'PFS' <<<"$line"; then
    pass "B: p1: rekey failure logged with the conn, NO_PROPOSAL_CHOSEN and the PFS hint"
  else
    fail "B: p1: no clear rekey failure line (want conn, NO_PROPOSAL_CHOSEN, PFS)"
    grep -E 'p1|rekey' "$slog" | tail -10
  fi
  check "B: p1: the stream ran across the failed rekey" stream_spans p1 "$slog" 'p1\{[0-9]+\} rekey failed'
  local rf; rf=$(swanless_counter sb rekey_failures)
  [ "${rf:-0}" -ge 1 ] && pass "B: rekey_failures = $rf in status" || fail "B: rekey_failures not counted (${rf:-none})"
  grep -qE 'NO_PROPOSAL_CHOSEN|no acceptable proposal' "$clog" \
    && pass "B: p1: charon refused the PFS rekey (its own log)" || fail "B: p1: charon did not log the refusal"
  if wait_log "$slog" 'CHILD_SA p1\{[0-9]+\} (hard lifetime reached|closed)' 8; then
    pass "B: p1: CHILD_SA closed at its hard lifetime ($(grep -oE 'CHILD_SA p1\{[0-9]+\} (hard lifetime reached|closed)[^;]*' "$slog" | head -1))"
  else
    fail "B: p1: CHILD_SA not closed at its hard lifetime"
  fi
  # p2: the peer's rekey refused by us
  line=$(grep -E "refused the peer's rekey of CHILD_SA p2\{[0-9]+\}: .*NO_PROPOSAL_CHOSEN" "$slog" | head -1)
  echo "B: swanless: $line"
  if [ -n "$line" ]; then pass "B: p2: refusal of charon's PFS rekey logged with the conn and NO_PROPOSAL_CHOSEN"
  else fail "B: p2: no refusal line naming the rekey of p2 and NO_PROPOSAL_CHOSEN"; grep -E 'refused|proposal' "$slog" | tail -5; fi
  check "B: p2: the stream ran across the refused rekey" stream_spans p2 "$slog" "refused the peer's rekey of CHILD_SA p2"
  local np; np=$(swanless_counter sb ike_no_proposal)
  [ "${np:-0}" -ge 1 ] && pass "B: ike_no_proposal = $np in status" || fail "B: ike_no_proposal not counted"
  grep -q 'received NO_PROPOSAL_CHOSEN notify' "$clog" \
    && pass "B: p2: charon received NO_PROPOSAL_CHOSEN for its rekey" || fail "B: p2: charon saw no NO_PROPOSAL_CHOSEN"
  grep -E 'rekey|NO_PROPOSAL|proposal|p[12]\{' "$slog" | head -20
  swanless_stop sb
  charon_stop cb
}

for p in $PARTS; do "part_$p"; done
lab_summary
