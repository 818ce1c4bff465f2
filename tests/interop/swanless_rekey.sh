#!/usr/bin/env bash
# Rekeying against a real strongSwan (charon 5.9 + kernel-libipsec), with a fixed-rate
# ping running through both CHILD_SAs the whole time: no datagram may be lost.
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
#   inner 10.99.0.1 <-> 10.99.0.2 (net, IKE_AUTH) and 10.99.1.1 <-> 10.99.1.2 (net2, PFS)
# Lifetimes are short, and each end owns the rekeys of one CHILD_SA, so that "both ends
# rekey" does not depend on who wins a race (on a loaded machine charon once won all 12):
#   swanless  rekeymargin=10s rekeyfuzz=50%, net lifetime=32s  -> net rekey 17..22 s
#                                            net2 lifetime=18s -> net2 rekey 3..8 s
#             ikelifetime=40s                            -> IKE_SA rekey 25..30 s
#   charon    children rekey_time=14s rand_time=4s life_time=40s -> CHILD_SA rekey 10..14 s
#             (so charon rekeys net, swanless rekeys net2)
#             IKE rekey_time=50s rand_time=5s            -> swanless rekeys the IKE_SA first
# Collisions of simultaneous rekeys are covered by the in-memory tests (tests/ike).
# Checks (over ~65 s of ping -i 0.05 in both CHILD_SAs, one from each side):
#   >= 3 CHILD_SA rekeys, rekeys initiated by swanless AND by charon, >= 1 IKE_SA rekey,
#   zero lost pings, SAs still up at the end with exactly one IKE_SA at charon.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_rekey.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
DURATION=${REKEY_DURATION:-60}
# Overrides, e.g. to have charon rekey the IKE_SA instead:
#   SWL_IKELIFE=300s CH_IKE_REKEY=20s REKEY_DURATION=35
SWL_IKELIFE=${SWL_IKELIFE:-40s}
CH_IKE_REKEY=${CH_IKE_REKEY:-50s}

lab_init sr
lab_pair 10.99.0.2/32 10.99.1.2/32
charon_start c c || die "charon start"
psk="rekey-$$"
pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" \
  --conn-opt rekey_time=$CH_IKE_REKEY --conn-opt rand_time=5s \
  --child-opt rekey_time=14s --child-opt rand_time=4s --child-opt life_time=40s \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

pair_swanless_conf "$LAB_DIR/s.conf" "$psk" setup.keylog="$LAB_DIR/s.keys" setup.loglevel=debug \
  ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048! ikelifetime=$SWL_IKELIFE \
  rekeymargin=10s rekeyfuzz=50% \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 lifetime=32s auto=start \
  --conn net2 leftsubnet=10.99.1.1/32 rightsubnet=10.99.1.2/32 lifetime=18s auto=start
swanless_start s s "$LAB_DIR/s.conf" || die "swanless start"
SLOG=$(swanless_log s)
st() { swanless_status s; }
if wait_for "st | grep -qE 'net2\\{.*INSTALLED' && st | grep -qE 'net\\{.*INSTALLED'" 15; then
  pass "IKE_SA and two CHILD_SAs up"
else
  st; tail -40 "$SLOG"; die "SAs not up"
fi
check "first ping through net" ping_check s 10.99.0.2 2
check "first ping through net2" ping_check s 10.99.1.2 2

# Fixed-rate streams: swanless side -> charon side through net, charon side -> swanless
# side through net2 (each ping's reply crosses the other direction).
count=$((DURATION * 20))
lab_bg s "$LAB_DIR/ping-net.out" ping -n -D -O -i 0.05 -c "$count" -W 1 10.99.0.2
P1=$LAB_BG_PID
lab_bg c "$LAB_DIR/ping-net2.out" ping -n -D -O -i 0.05 -c "$count" -W 1 -I 10.99.1.2 10.99.1.1
P2=$LAB_BG_PID
wait_for "! kill -0 $P1 && ! kill -0 $P2" $((DURATION + 20)) || fail "pings did not finish"

for f in ping-net ping-net2; do
  line=$(grep -E 'packets transmitted' "$LAB_DIR/$f.out")
  tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' <<<"$line")
  rx=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$line")
  echo "$f: $line"
  if [ -n "$tx" ] && [ "$tx" -ge $((count * 9 / 10)) ] && [ "$rx" = "$tx" ]; then
    pass "$f: $rx/$tx pings answered, zero lost across the rekeys"
  else
    fail "$f: lost pings ($line)"
    grep 'no answer yet' "$LAB_DIR/$f.out" | head -10
  fi
done

installs=$(grep -cE 'CHILD_SA net2?\{[0-9]+\} established with SPIs' "$SLOG")
ours=$(grep -cE 'rekeying CHILD_SA net2?\{' "$SLOG")
ike_ours=$(grep -c 'rekeying IKE_SA' "$SLOG")
ike_theirs=$(grep -c 'IKE_SA rekeyed by the peer' "$SLOG")
ike_moved=$(grep -c 'IKE_SA rekeyed: CHILD_SAs moved' "$SLOG")
collisions=$(grep -c 'collision' "$SLOG")
failed=$(grep -c 'rekey failed' "$SLOG")
rekeys=$((installs - 2))
theirs=$(grep -cE 'CHILD_SA net2? .*rekey|received DELETE for ESP CHILD_SA' "$SLOG")
charon_rekeys=$(grep -cE 'CHILD_SA (net|net2)\{[0-9]+\} established .*' "$(charon_log c)")
charon_init=$(grep -cE 'initiating CHILD_SA rekey|rekeying CHILD_SA|creating rekey job' "$(charon_log c)")
echo "swanless: $installs CHILD_SA installs ($rekeys rekeys, $ours initiated by swanless), IKE rekeys:" \
  "$ike_ours initiated, $ike_theirs by charon, $ike_moved completed; collisions $collisions; failed $failed"
echo "charon: $charon_rekeys CHILD_SA establishments, $charon_init rekey jobs"
[ "$rekeys" -ge 3 ] && pass "$rekeys CHILD_SA rekeys (>= 3)" || fail "only $rekeys CHILD_SA rekeys"
[ "$ours" -ge 1 ] && pass "swanless initiated $ours CHILD_SA rekeys" || fail "swanless initiated no CHILD_SA rekey"
[ "$rekeys" -gt "$ours" ] && pass "charon initiated $((rekeys - ours)) CHILD_SA rekeys (answered by swanless)" \
  || fail "no CHILD_SA rekey initiated by charon"
[ "$ike_moved" -ge 1 ] && pass "$ike_moved IKE_SA rekey(s), CHILD_SAs moved over" || fail "no IKE_SA rekey"
grep -q 'NO_ADDITIONAL_SAS\|TEMPORARY_FAILURE' "$(charon_log c)" && echo "note: charon saw a refusal:" && \
  grep -E 'NO_ADDITIONAL_SAS|TEMPORARY_FAILURE' "$(charon_log c)" | head -5

sas=$(charon_list_sas c c)
echo "$sas"
[ "$(grep -c ESTABLISHED <<<"$sas")" -eq 1 ] && pass "charon: exactly one IKE_SA at the end" \
  || fail "charon: not exactly one IKE_SA"
[ "$(grep -c 'INSTALLED, TUNNEL' <<<"$sas")" -ge 2 ] && pass "charon: CHILD_SAs installed at the end" \
  || fail "charon: CHILD_SAs missing at the end"
st
st | grep -qE 'net\{.*INSTALLED' && st | grep -qE 'net2\{.*INSTALLED' && pass "swanless: both CHILD_SAs INSTALLED at the end" \
  || fail "swanless: CHILD_SAs not installed at the end"
[ "$(st | grep -cE 'ESTABLISHED')" -eq 1 ] && pass "swanless: one IKE_SA at the end" || fail "swanless: IKE_SA count"
check "ping after the run" ping_check s 10.99.0.2 3
swanless_stop s
grep -E 'rekey|collision|CHILD_SA .* (established|closed)' "$SLOG" | tail -60 > "$LAB_DIR/rekey-summary.txt"
charon_stop c
lab_summary
