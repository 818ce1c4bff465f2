#!/usr/bin/env bash
# swanless <-> a real strongSwan (charon 5.9 + kernel-libipsec): a route-based conn, as the
# AWS/Azure/GCP route-based templates set one up with a kernel VTI. Namespaces of lab_pair:
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
# swanless: conn net with vti=vti0, leftvti=169.254.10.1/30 and no subnets, so its
# selectors are 0.0.0.0/0 both ways and vti0 gets no routes; charon: local_ts 10.99.0.2/32,
# remote_ts 169.254.10.0/30 (it narrows swanless's 0.0.0.0/0 to these).
# Cases:
#   1. init: swanless initiates. The CHILD_SA carries the narrowed selectors; swanless0 is
#      not created; nothing is routed to 10.99.0.2 until a route is added by hand
#      (`ip route add 10.99.0.2/32 dev vti0`), then pings are answered; a destination
#      routed into vti0 but outside the narrowed selectors is dropped and counted, never
#      sent in clear.
#   2. resp: charon initiates, swanless answers; charon's side pings 169.254.10.1.
#   3. refused: the AWS strongSwan route-based template (mark=, 0.0.0.0/0, updown script)
#      is refused by check, naming vti= and the -ll address of the updown line.
#   4. isolation: a policy conn pol (10.99.5.1 <-> 10.99.5.2) beside net, with swanless0
#      taken by another device (a veth end; net's selectors written out, so that charon picks
#      its child config by them rather than by 0.0.0.0/0): pol stays down with the reason in the log and in
#      status, net comes up and carries pings, swanless keeps running; once the name is
#      free, a reload (SIGHUP) brings pol up on swanless0 and its pings are answered.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_vti.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init vt
lab_pair 10.99.0.2/32 10.99.5.2/32
charon_start c c || die "charon start"
PSK="vti-$$"
pair_charon_conf "$LAB_DIR/charon.swanctl.conf" "$PSK" --child net 10.99.0.2/32 169.254.10.0/30 tunnel \
  --child pol 10.99.5.2/32 10.99.5.1/32 tunnel \
  || die "charon conf"
charon_load c c "$LAB_DIR/charon.swanctl.conf" || die "charon load"
ALGS="ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048!"

no_sa() { swanless_counter "$1" out_no_sa; }

run_case() {
  local name=$1 role=$2
  echo "--- case $name: swanless $role"
  pair_swanless_conf "$LAB_DIR/$name.conf" "$PSK" setup.loglevel=debug $ALGS \
    --conn net vti=vti0 leftvti=169.254.10.1/30 auto="$([ "$role" = initiator ] && echo start || echo add)" \
    || { fail "$name: conf"; return; }
  nsx s "$SWANLESS" check -c "$LAB_DIR/$name.conf" >"$LAB_DIR/$name.check" 2>&1
  grep -q "vti0: route-based (vti=), address 169.254.10.1/30; route none" "$LAB_DIR/$name.check" \
    && grep -q "local_ts:  0.0.0.0/0" "$LAB_DIR/$name.check" && pass "$name: check shows the device and no routes" \
    || { fail "$name: check output"; cat "$LAB_DIR/$name.check"; }
  swanless_start s "$name" "$LAB_DIR/$name.conf" || { fail "$name: swanless start"; return; }
  [ "$role" = responder ] && { charon_initiate c c net 10 || fail "$name: charon initiate"; }
  if wait_for "swanless_has $name 'net\\{.*INSTALLED'" 15; then pass "$name: CHILD_SA up"
  else fail "$name: not up"; tail -20 "$(swanless_log "$name")"; swanless_stop "$name"; return; fi
  swanless_has "$name" 'net\{[0-9]+\}:   169.254.10.0/30 === 10.99.0.2/32' \
    && pass "$name: selectors narrowed by charon to 169.254.10.0/30 === 10.99.0.2/32" \
    || { fail "$name: selectors"; swanless_status "$name"; }
  nsx s ip -4 addr show dev vti0 | grep -q "inet 169.254.10.1/30" && pass "$name: vti0 has 169.254.10.1/30" \
    || fail "$name: vti0 address"
  ! nsx s ip link show swanless0 >/dev/null 2>&1 && pass "$name: no swanless0 (no policy-based conn)" \
    || fail "$name: swanless0 exists"
  [ -z "$(nsx s ip -4 route show dev vti0 | grep -v '169.254.10.0/30')" ] \
    && pass "$name: no route into vti0 but its own link" || { fail "$name: routes"; nsx s ip route; }
  if [ "$role" = initiator ]; then
    ! nsx s ping -n -q -c 1 -W 1 10.99.0.2 >/dev/null 2>&1 && pass "$name: before a route, 10.99.0.2 is not reached" \
      || fail "$name: 10.99.0.2 reached without a route"
  fi
  nsx s ip route add 10.99.0.2/32 dev vti0 || fail "$name: ip route add"
  check "$name: after 'ip route add 10.99.0.2/32 dev vti0', pings are answered" ping_check s 10.99.0.2 3
  check "$name: charon's side pings 169.254.10.1" ping_check c 169.254.10.1 2
  local before; before=$(no_sa "$name")
  nsx s ip route add 10.99.7.7/32 dev vti0
  nsx s ping -n -q -c 2 -i 0.2 -W 1 10.99.7.7 >/dev/null 2>&1
  [ "$(no_sa "$name")" -ge $((before + 2)) ] && pass "$name: outside the narrowed selectors: dropped, out_no_sa +2" \
    || fail "$name: out_no_sa $before -> $(no_sa "$name")"
  check "$name: the status document matches its schema" swanless_schema_check "$name"
  swanless_stop "$name"
  charon_swanctl c c --terminate --ike dc >/dev/null 2>&1
  sleep 0.5
}

run_case init initiator
run_case resp responder

echo "--- case refused"
if nsx s "$SWANLESS" check -c "$here/../configs/aws-strongswan-route-based.conf" >"$LAB_DIR/aws.check" 2>&1; then
  fail "refused: check accepted the mark= template"
else
  grep -q "Add vti=NAME" "$LAB_DIR/aws.check" && grep -q "leftvti=169.254.10.2/30" "$LAB_DIR/aws.check" \
    && pass "refused: the mark= template is refused, naming vti= and leftvti=169.254.10.2/30" \
    || { fail "refused: message"; cat "$LAB_DIR/aws.check"; }
fi

echo "--- case isolation"
# A veth end takes the name (no dummy module on some of these kernels).
ip -n "$(lab_ns s)" link add swanless0 type veth peer name swlx$$ || fail "isolation: a veth named swanless0"
pair_swanless_conf "$LAB_DIR/iso.conf" "$PSK" setup.loglevel=debug $ALGS \
  --conn pol leftsubnet=10.99.5.1/32 rightsubnet=10.99.5.2/32 auto=start \
  --conn net vti=vti0 leftvti=169.254.10.1/30 leftsubnet=169.254.10.0/30 rightsubnet=10.99.0.2/32 auto=start \
  || fail "isolation: conf"
swanless_start s iso "$LAB_DIR/iso.conf" || die "isolation: swanless start"
if wait_for "swanless_has iso 'net\\{.*INSTALLED'" 15; then pass "isolation: net (vti0) up beside the broken conn"
else fail "isolation: net not up"; tail -20 "$(swanless_log iso)"; fi
grep -q "conn pol stays down: cannot create TUN device swanless0" "$(swanless_log iso)" \
  && pass "isolation: the log says pol stays down and why" || { fail "isolation: log"; tail -20 "$(swanless_log iso)"; }
[ "$(swanless_json iso "[d2['conn'] for d2 in d['conns_down']]")" = "['pol']" ] \
  && swanless_has iso 'Down \(their device could not be set up' \
  && pass "isolation: status lists pol as down with the reason" || { fail "isolation: status"; swanless_status iso; }
nsx s ip route add 10.99.0.2/32 dev vti0
check "isolation: pings through net" ping_check s 10.99.0.2 3
swanless_alive iso && pass "isolation: swanless keeps running" || fail "isolation: swanless died"
ip -n "$(lab_ns s)" link del swanless0
kill -HUP "${LAB_SWL_PID[iso]}"
if wait_for "swanless_has iso 'pol\\{.*INSTALLED'" 15; then pass "isolation: after a reload pol is up"
else fail "isolation: pol not up after reload"; tail -20 "$(swanless_log iso)"; fi
[ "$(swanless_json iso "len(d['conns_down'])")" = 0 ] && pass "isolation: nothing down any more" \
  || fail "isolation: conns_down $(swanless_json iso "d['conns_down']")"
check "isolation: pings through pol on swanless0" ping_check s 10.99.5.2 3
check "isolation: and still through net" ping_check s 10.99.0.2 2
check "isolation: the status document matches its schema" swanless_schema_check iso
swanless_stop iso

lab_summary
