#!/usr/bin/env bash
# Resilience against a real strongSwan (charon 5.9 + kernel-libipsec), part 3: a lossy
# path for IKE, and IKE fragmentation.
#      s: swanless 192.0.2.1 (veth s0)  <--->  c: charon 192.0.2.2 (veth c0)
#
# A. 20 % of IKE packets dropped, each way (ns_ike_loss in charon's namespace: the 2nd of every 5
#    IKE packet per port and direction, nft `numgen inc`, or iptables `statistic nth`
#    where there is no nft; UDP 500, and UDP 4500 only with the 4-byte non-ESP marker:
#    ESP-in-UDP is never dropped). swanless initiates; lifetime=ikelifetime=70s, rekeymargin=50s,
#    rekeyfuzz=0%: each rekey starts 20 s after its SA was made and has 50 s before the hard
#    lifetime, room for 5 attempts (4 s, then x1.8) of which at most every other can be lost (a request or its response, one in 5 each way) —
#    with less room a rekey can run out of time (the old SA then expires as it should, and
#    the tunnel is down: seen with lifetime=20s). A UDP stream runs through the CHILD_SA.
#    Checks: the drop rules fired (their counters), the tunnel came up, >= 1 CHILD_SA
#    and >= 1 IKE_SA rekeys got through, swanless retransmitted (ike_retransmits in
#    status), one IKE_SA and one CHILD_SA at each end at the end, the stream still flows
#    at the end; datagrams lost while a rekey's response was being retransmitted are
#    reported (not a failure: IKE itself cannot avoid them).
#
# B. RFC 7383 fragmentation: swanless with fragment_size=256 and charon with
#    charon.fragment_size=200, so IKE_AUTH (and CREATE_CHILD_SA with a MODP-2048 KE
#    payload) go as SKF fragments. Checks: tshark sees SKF (payload 53) fragments from
#    each side, the IKE_SA and CHILD_SA come up, a CHILD_SA rekey with PFS (fragmented)
#    succeeds, ping through the tunnel.
#
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_resilience_lossy.sh
# Knobs: LOSSY_PARTS ("a b", default both), LOSSY_SECS (60, the stream stops 2 s after
# the first CHILD_SA and IKE_SA rekeys), LOSSY_DROP (0.2).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
PARTS=${LOSSY_PARTS:-"a b"}
SECS=${LOSSY_SECS:-60}
DROP=${LOSSY_DROP:-0.2}

lab_init rl
lab_pair 10.96.0.2/32
psk="lossy-$$"
printf ': PSK "%s"\n' "$psk" >"$LAB_DIR/s.secrets"
chmod 600 "$LAB_DIR/s.secrets"

# charon_conf FILE [--child-opt K=V...]: charon's side of conn "net", responder only.
charon_conf() {
  local f=$1; shift
  pair_charon_conf "$f" "$psk" --ike aes256-sha256-modp2048 \
    --esp aes256-sha256-modp2048 --conn-opt rekey_time=1h \
    --child-opt rekey_time=1h "$@" --child net 10.96.0.2/32 10.96.0.1/32 tunnel
}

# swl_conf FILE SOCK [WORD...]: swanless initiating conn "net" with PFS.
swl_conf() {
  local f=$1 sock=$2; shift 2
  swanless_conf_gen "$f" "$sock" "setup.secrets=$LAB_DIR/s.secrets" "$@" \
    ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048! left=192.0.2.1 leftid=s.swl.test \
    right=192.0.2.2 rightid=c.swl.test reauth=no \
    --conn net leftsubnet=10.96.0.1/32 rightsubnet=10.96.0.2/32 auto=start
}

# ---------------------------------------------------------------------------------------
part_a() {
  lab_log "A: ${DROP} of IKE packets dropped each way"
  local pct; pct=$(awk -v d="$DROP" 'BEGIN { printf "%d", d * 100 + 0.5 }')
  ns_ike_loss c "$pct" || die "loss injection rules ($(ns_filter_tool c 2>&1))"
  lab_log "A: loss injected with $(ns_filter_tool c)"
  charon_start c ca || die "charon start"
  charon_conf "$LAB_DIR/ca.swanctl.conf"
  charon_load c ca "$LAB_DIR/ca.swanctl.conf" || die "charon load"
  swl_conf "$LAB_DIR/sa.conf" "$LAB_DIR/sa.sock" lifetime=70s ikelifetime=70s rekeymargin=50s \
    rekeyfuzz=0%
  LAB_STREAM_HOLD=1 stream_start la s 10.96.0.1 c 10.96.0.2 5031 100 "$SECS" || die "stream"
  swanless_start s sa "$LAB_DIR/sa.conf" || die "swanless start"
  if wait_for '[ "$(swanless_sas sa)" = "1 1" ]' 60; then
    pass "A: IKE_SA and CHILD_SA up through the lossy path"
  else
    swanless_status sa; die "A: SAs not up through the lossy path"
  fi
  stream_go la || die "A: stream did not start"
  # until a CHILD_SA and an IKE_SA rekey went through (and 2 s more), or the stream ends
  wait_for '[ "$(swanless_counter sa child_rekeys)" -ge 1 ] && [ "$(swanless_counter sa ike_rekeys)" -ge 1 ]' \
    "$SECS" && sleep 2
  stream_stop la
  local rep; rep=$(stream_report la --max-lost 1000000)
  local crk ikrk retr rfail
  crk=$(swanless_counter sa child_rekeys); ikrk=$(swanless_counter sa ike_rekeys)
  retr=$(swanless_counter sa ike_retransmits); rfail=$(swanless_counter sa rekey_failures)
  local drops
  drops=$(ns_ike_loss_dropped c)
  echo "A: $(ns_filter_tool c) dropped $drops IKE packets; swanless: $crk CHILD_SA rekeys, $ikrk IKE_SA rekeys," \
    "$retr retransmissions, $rfail rekey failures; charon retransmitted $(grep -c 'retransmit' "$(charon_log ca)") times"
  echo "A: stream: $rep"
  [ "$drops" -gt 0 ] && pass "A: $drops IKE packets dropped by the loss rules ($(ns_filter_tool c))" || fail "A: no IKE packet dropped"
  [ "${crk:-0}" -ge 1 ] && pass "A: $crk CHILD_SA rekeys through the lossy path" || fail "A: only ${crk:-0} CHILD_SA rekeys"
  [ "${ikrk:-0}" -ge 1 ] && pass "A: $ikrk IKE_SA rekeys through the lossy path" || fail "A: no IKE_SA rekey"
  [ "${retr:-0}" -ge 1 ] && pass "A: swanless retransmitted $retr times (ike_retransmits)" || fail "A: no retransmission counted"
  wait_for '[ "$(swanless_sas sa)" = "1 1" ]' 10  # not in the middle of a rekey
  [ "$(swanless_sas sa)" = "1 1" ] && pass "A: swanless: one IKE_SA and one CHILD_SA at the end" \
    || { fail "A: swanless SAs at the end: $(swanless_sas sa)"; swanless_status sa; }
  local sas; sas=$(charon_list_sas c ca)
  if [ "$(grep -c ESTABLISHED <<<"$sas")" -eq 1 ] && [ "$(grep -c 'INSTALLED, TUNNEL' <<<"$sas")" -eq 1 ]; then
    pass "A: charon: one IKE_SA and one CHILD_SA at the end"
  else
    fail "A: charon's SAs at the end:"; echo "$sas"
  fi
  # the stream's last second arrived
  local sent maxseq; sent=$(stream_stat la send sent); maxseq=$(stream_stat la recv max_seq)
  [ $(( ${sent:-0} - 1 - ${maxseq:--1} )) -le 100 ] && pass "A: the stream still flowed at the end" \
    || fail "A: the stream had stopped before the end (sent $sent, highest received $maxseq)"
  swanless_stop sa
  charon_stop ca
  ns_ike_loss_clear c
}

# ---------------------------------------------------------------------------------------
part_b() {
  lab_log "B: IKE fragmentation both ways"
  capture_start c c0 "$LAB_DIR/frag.pcap" udp port 500 or udp port 4500 || die "capture"
  LAB_CHARON_EXTRA="    fragment_size = 200" charon_start c cb || die "charon start"
  charon_conf "$LAB_DIR/cb.swanctl.conf" --conn-opt fragmentation=yes
  charon_load c cb "$LAB_DIR/cb.swanctl.conf" || die "charon load"
  swl_conf "$LAB_DIR/sb.conf" "$LAB_DIR/sb.sock" setup.fragment_size=256 fragmentation=yes \
    lifetime=14s rekeymargin=7s rekeyfuzz=0%
  swanless_start s sb "$LAB_DIR/sb.conf" || die "swanless start"
  if wait_for '[ "$(swanless_sas sb)" = "1 1" ]' 20; then
    pass "B: IKE_SA and CHILD_SA up with fragmented IKE_AUTH"
  else
    swanless_status sb; tail -20 "$(swanless_log sb)"; die "B: SAs not up"
  fi
  check "B: ping through the tunnel" ping_check s 10.96.0.2 3
  if wait_for '[ "$(swanless_counter sb child_rekeys)" -ge 1 ]' 20; then
    pass "B: CHILD_SA rekeyed with PFS (MODP-2048 KE, fragmented)"
  else
    fail "B: no CHILD_SA rekey"
  fi
  check "B: ping through the rekeyed CHILD_SA" ping_check s 10.96.0.2 3
  capture_stop "$LAB_DIR/frag.pcap"
  local counts from_s from_c auth_s auth_c rekey
  counts=$(tshark_counts "$LAB_DIR/frag.pcap" "ip.src==192.0.2.1 && isakmp.nextpayload==53" \
    "ip.src==192.0.2.2 && isakmp.nextpayload==53" \
    "ip.src==192.0.2.1 && isakmp.exchangetype==35 && isakmp.nextpayload==53" \
    "ip.src==192.0.2.2 && isakmp.exchangetype==35 && isakmp.nextpayload==53" \
    "ip.src==192.0.2.1 && isakmp.exchangetype==36 && isakmp.nextpayload==53")
  read -r from_s from_c auth_s auth_c rekey <<<"$counts"
  echo "B: tshark: SKF fragments from swanless ${from_s:-?} (IKE_AUTH ${auth_s:-?}, CREATE_CHILD_SA ${rekey:-?}), from charon ${from_c:-?} (IKE_AUTH ${auth_c:-?})"
  [ "${auth_s:-0}" -ge 2 ] && pass "B: swanless's IKE_AUTH went as $auth_s SKF fragments (payload 53)" \
    || fail "B: swanless's IKE_AUTH not fragmented"
  [ "${auth_c:-0}" -ge 2 ] && pass "B: charon's IKE_AUTH went as $auth_c SKF fragments, reassembled by swanless" \
    || fail "B: charon's IKE_AUTH not fragmented"
  [ "${rekey:-0}" -ge 2 ] && pass "B: swanless's CREATE_CHILD_SA (rekey) went as $rekey fragments" \
    || fail "B: the rekey was not fragmented"
  grep -qE 'fragment' "$(charon_log cb)" && echo "B: charon: $(grep -m2 -E 'fragment' "$(charon_log cb)" | tr '\n' ' ')"
  swanless_stop sb
  charon_stop cb
}

for p in $PARTS; do "part_$p"; done
lab_summary
