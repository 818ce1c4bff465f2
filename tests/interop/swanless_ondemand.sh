#!/usr/bin/env bash
# swanless <-> a real strongSwan (charon 5.9 + kernel-libipsec): conns that traffic brings
# up, and what happens when the peer closes or goes silent. Namespaces of lab_pair:
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
# Selectors 10.99.0.1 <-> 10.99.0.2 (conn net) and 10.99.1.1 <-> 10.99.1.2 (conn net2).
# Cases:
#   1. route: auto=route. No IKE_SA at start, the conn listed under "Routed Connections";
#      the first ping brings the IKE_SA up and is itself answered (it waited in the trap
#      queue). charon then deletes the IKE_SA; the conn stays trapped and the next ping
#      brings it up again (two initiations by traffic, nothing expired or overflowed).
#   2. closeaction: auto=start, closeaction=restart. charon deletes the CHILD_SA: swanless
#      creates it again at once (new SPIs, same IKE_SA); charon deletes the IKE_SA: swanless
#      builds a new one.
#   3. hold: auto=start, dpdaction=hold, dpddelay 2s, dpdtimeout 8s. The link to charon goes
#      down: swanless declares the peer dead and the conn becomes trapped (armed); with the
#      link back, a ping brings a new IKE_SA up (charon drops its stale one on
#      INITIAL_CONTACT) and is answered.
#   4. fqdn: right=charon.swl.test, the name in s's own /etc/hosts (/etc/netns/NS/hosts,
#      and a resolv.conf pointing at s's loopback, so no query leaves the namespace):
#      check shows the resolved address, the tunnel comes up and carries pings; a name
#      nobody knows is a check error at its line. Then the name points elsewhere
#      (192.0.2.99) when swanless starts (auto=add), is moved back to 192.0.2.2, and
#      `swanless up` resolves it again before initiating: the tunnel comes up there.
# keyingtries is proven by the engine's unit tests (tests/ike/engine_exchange_test.cpp):
# three attempts of 165 s each have no place in CI time.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_ondemand.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init od
lab_pair 10.99.0.2/32 10.99.1.2/32
charon_start c c || die "charon start"
PSK="ondemand-$$"
# charon's proposals (lib default): a CHILD_SA made by CREATE_CHILD_SA needs the PFS group too
SWL_ALGS="ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048!"
pair_charon_conf "$LAB_DIR/charon.swanctl.conf" "$PSK" \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel || die "charon conf"
charon_load c c "$LAB_DIR/charon.swanctl.conf" || die "charon load"

# trap NAME CONN FIELD: a field of the conn's entry in status --json's traps
trap_field() { swanless_json "$1" "[t['$3'] for t in d['traps'] if t['conn'] == '$2'][0]"; }
ike_count() { swanless_json "$1" "len(d['ike_sas'])"; }
child_spi() { swanless_json "$1" "[c['spi_in'] for s in d['ike_sas'] for c in s['children'] if c['name'] == '$2'][0]"; }
ike_spi() { swanless_json "$1" "d['ike_sas'][0]['spi_i'] if d['ike_sas'] else ''"; }
first_ping() { nsx s ping -n -q -c 1 -W 8 "$1" >/dev/null 2>&1; }

# --- 1. auto=route ---
echo "--- case route"
pair_swanless_conf "$LAB_DIR/route.conf" "$PSK" setup.loglevel=debug setup.metrics=127.0.0.1:9545 $SWL_ALGS \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=route || die "route conf"
nsx s "$SWANLESS" check -c "$LAB_DIR/route.conf" >"$LAB_DIR/route.check" 2>&1
grep -q "trap: from start" "$LAB_DIR/route.check" && pass "route: check shows the trap" \
  || { fail "route: check output"; cat "$LAB_DIR/route.check"; }
swanless_start s route "$LAB_DIR/route.conf" || die "route: swanless start"
sleep 1
[ "$(ike_count route)" = 0 ] && pass "route: no IKE_SA before traffic" || fail "route: an IKE_SA before traffic"
swanless_has route 'Routed Connections:' && swanless_has route 'net\{\}:  ROUTED' \
  && pass "route: status lists net under Routed Connections" || { fail "route: status"; swanless_status route; }
nsx s ip route show dev swanless0 | grep -q 10.99.0.2 && pass "route: 10.99.0.2 routed into swanless0 with no SA" \
  || fail "route: no route"
if first_ping 10.99.0.2; then pass "route: the first ping brought the tunnel up and was answered"
else fail "route: first ping unanswered"; swanless_status route; tail -20 "$(swanless_log route)"; fi
[ "$(trap_field route net acquires)" = 1 ] && pass "route: one initiation by traffic" \
  || fail "route: acquires $(trap_field route net acquires)"
grep -q "packet 10.99.0.1 -> 10.99.0.2 with no SA: initiating (trap)" "$(swanless_log route)" \
  && grep -q "sending 1 packet(s) queued while the SA came up" "$(swanless_log route)" \
  && pass "route: the log says what the trap did" || fail "route: trap log lines"
charon_swanctl c c --terminate --ike dc >/dev/null 2>&1
if wait_for "[ \"\$(ike_count route)\" = 0 ]" 10; then pass "route: charon deleted the IKE_SA, swanless has none"
else fail "route: IKE_SA still there"; fi
swanless_has route 'net\{\}:  ROUTED' && pass "route: still trapped after the SA went" || fail "route: trap gone"
if first_ping 10.99.0.2; then pass "route: the next ping brought it up again and was answered"
else fail "route: ping after delete unanswered"; fi
[ "$(trap_field route net acquires)" = 2 ] && pass "route: two initiations by traffic in all" \
  || fail "route: acquires $(trap_field route net acquires)"
[ "$(swanless_counter route trap_expired)" = 0 ] && [ "$(swanless_counter route trap_queue_full)" = 0 ] \
  && pass "route: no queued packet expired or overflowed" || fail "route: trap drops"
check "route: the status document matches its schema" swanless_schema_check route
metrics_fetch s http://127.0.0.1:9545/metrics "$LAB_DIR/route.metrics" \
  && grep -qx 'swanless_trap_initiations_total{conn="net"} 2' "$LAB_DIR/route.metrics" \
  && grep -qx 'swanless_trap_armed{conn="net"} 1' "$LAB_DIR/route.metrics" \
  && pass "route: Prometheus shows the trap armed and its 2 initiations" \
  || { fail "route: metrics"; grep trap "$LAB_DIR/route.metrics"; }
swanless_stop route
charon_swanctl c c --terminate --ike dc >/dev/null 2>&1

# --- 2. closeaction=restart ---
echo "--- case closeaction"
pair_swanless_conf "$LAB_DIR/close.conf" "$PSK" setup.loglevel=debug $SWL_ALGS closeaction=restart \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start || die "close conf"
swanless_start s close "$LAB_DIR/close.conf" || die "close: swanless start"
wait_for "swanless_has close 'net\\{.*INSTALLED'" 15 && pass "close: CHILD_SA up" || fail "close: not up"
spi0=$(child_spi close net); ike0=$(ike_spi close)
charon_swanctl c c --terminate --child net >/dev/null 2>&1
if wait_for "[ -n \"\$(child_spi close net 2>/dev/null)\" ] && [ \"\$(child_spi close net 2>/dev/null)\" != '$spi0' ]" 10; then
  pass "close: charon deleted the CHILD_SA, swanless made a new one ($spi0 -> $(child_spi close net))"
else fail "close: no new CHILD_SA"; swanless_status close; grep -v "debug" "$(swanless_log close)" | tail -25; fi
[ "$(ike_spi close)" = "$ike0" ] && pass "close: on the same IKE_SA" || fail "close: IKE_SA changed"
grep -q "initiating it again (closeaction=restart)" "$(swanless_log close)" && pass "close: logged why" \
  || fail "close: log line"
check "close: ping through the new CHILD_SA" ping_check s 10.99.0.2 3
charon_swanctl c c --terminate --ike dc >/dev/null 2>&1
if wait_for "[ -n \"\$(ike_spi close)\" ] && [ \"\$(ike_spi close)\" != '$ike0' ] && swanless_has close 'net\\{.*INSTALLED'" 15; then
  pass "close: charon deleted the IKE_SA, swanless built a new one"
else fail "close: no new IKE_SA"; swanless_status close; fi
check "close: ping through the new IKE_SA" ping_check s 10.99.0.2 3
swanless_stop close
charon_swanctl c c --terminate --ike dc >/dev/null 2>&1

# --- 3. dpdaction=hold ---
echo "--- case hold"
pair_swanless_conf "$LAB_DIR/hold.conf" "$PSK" setup.loglevel=debug $SWL_ALGS dpdaction=hold dpddelay=2s dpdtimeout=8s \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start || die "hold conf"
swanless_start s hold "$LAB_DIR/hold.conf" || die "hold: swanless start"
wait_for "swanless_has hold 'net\\{.*INSTALLED'" 15 && pass "hold: CHILD_SA up" || fail "hold: not up"
[ "$(trap_field hold net armed)" = True ] && pass "hold: trap armed once the SA was up" \
  || fail "hold: armed=$(trap_field hold net armed)"
ip -n "$(lab_ns c)" link set c0 down
if wait_for "[ \"\$(ike_count hold)\" = 0 ]" 25; then pass "hold: the silent peer was declared dead, SAs removed"
else fail "hold: SAs still there"; swanless_status hold; fi
ip -n "$(lab_ns c)" link set c0 up
wait_for "nsx s ping -n -q -c 1 -W 1 192.0.2.2 >/dev/null 2>&1" 10 || fail "hold: underlay back"
if first_ping 10.99.0.2; then pass "hold: a ping brought a new IKE_SA up and was answered"
else fail "hold: ping unanswered"; swanless_status hold; tail -20 "$(swanless_log hold)"; fi
[ "$(trap_field hold net acquires)" = 1 ] && pass "hold: one initiation by traffic" \
  || fail "hold: acquires $(trap_field hold net acquires)"
swanless_alive hold && pass "hold: swanless alive" || fail "hold: swanless died"
swanless_stop hold

# --- 4. right= as a host name ---
echo "--- case fqdn"
etc=/etc/netns/$(lab_ns s)
mkdir -p "$etc" || die "$etc"
lab_at_exit "rm -f '$etc/hosts' '$etc/resolv.conf'; rmdir '$etc' 2>/dev/null"
printf '127.0.0.1 localhost\n192.0.2.2 charon.swl.test\n' >"$etc/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$etc/resolv.conf"
pair_swanless_conf "$LAB_DIR/fqdn.conf" "$PSK" setup.loglevel=debug $SWL_ALGS right=charon.swl.test \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start || die "fqdn conf"
nsx s "$SWANLESS" check -c "$LAB_DIR/fqdn.conf" >"$LAB_DIR/fqdn.check" 2>&1
grep -q "remote: 192.0.2.2\[c.swl.test\] port 500 (charon.swl.test resolved now" "$LAB_DIR/fqdn.check" \
  && pass "fqdn: check shows charon.swl.test resolved to 192.0.2.2" || { fail "fqdn: check"; cat "$LAB_DIR/fqdn.check"; }
swanless_start s fqdn "$LAB_DIR/fqdn.conf" || die "fqdn: swanless start"
wait_for "swanless_has fqdn 'net\\{.*INSTALLED'" 15 && pass "fqdn: tunnel up to the resolved peer" || fail "fqdn: not up"
check "fqdn: ping through it" ping_check s 10.99.0.2 3
swanless_stop fqdn
printf '127.0.0.1 localhost\n192.0.2.99 charon.swl.test\n' >"$etc/hosts"
pair_swanless_conf "$LAB_DIR/fqdn2.conf" "$PSK" setup.loglevel=debug $SWL_ALGS right=charon.swl.test \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=add || die "fqdn2 conf"
swanless_start s fqdn2 "$LAB_DIR/fqdn2.conf" || die "fqdn2: swanless start"
printf '127.0.0.1 localhost\n192.0.2.2 charon.swl.test\n' >"$etc/hosts"
nsx s "$SWANLESS" up net --socket "${LAB_SWL_SOCK[fqdn2]}" >/dev/null 2>&1 || fail "fqdn: swanless up net"
if wait_for "swanless_has fqdn2 'net\\{.*INSTALLED'" 15; then
  pass "fqdn: 'swanless up' resolved the name again and brought the tunnel up at its new address"
else fail "fqdn: not up after the name moved"; tail -20 "$(swanless_log fqdn2)"; fi
grep -q "peer address 192.0.2.99 -> 192.0.2.2" "$(swanless_log fqdn2)" && pass "fqdn: the log names the move" \
  || fail "fqdn: no address change logged"
swanless_stop fqdn2
sed 's/charon.swl.test/nobody.swl.test/' "$LAB_DIR/fqdn.conf" >"$LAB_DIR/fqdn-bad.conf"
cp "$LAB_DIR/fqdn.secrets" "$LAB_DIR/fqdn-bad.secrets"
if nsx s "$SWANLESS" check -c "$LAB_DIR/fqdn-bad.conf" >"$LAB_DIR/fqdn-bad.check" 2>&1; then
  fail "fqdn: an unknown name passed check"
else
  grep -qE "fqdn-bad.conf:[0-9]+: 'right': cannot resolve 'nobody.swl.test'" "$LAB_DIR/fqdn-bad.check" \
    && pass "fqdn: an unknown name is a check error at its line" || { fail "fqdn: message"; cat "$LAB_DIR/fqdn-bad.check"; }
fi

lab_summary
