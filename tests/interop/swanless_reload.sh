#!/usr/bin/env bash
# SIGHUP reloads the configuration (issue 4): new conns start, removed ones are deleted,
# an unchanged configuration leaves the SAs untouched, a broken file changes nothing.
# The unit of change is the CHILD_SA: adding or removing a conn of a running IKE_SA creates
# or deletes just that CHILD_SA; the other CHILD_SA (net) keeps its SPIs and the IKE_SA its
# SPIs throughout. IKE-level changes would restart the IKE_SA.
#   s: swanless 192.0.2.1  <--->  c: charon 192.0.2.2; conns net (10.99.0.x) and net2 (10.99.1.x)
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_reload.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init rl
lab_pair 10.99.0.2/32 10.99.1.2/32
charon_start c c || die "charon start"
psk="reload-$$-secret"
pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" \
  --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel || die "swanctl.conf"
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

conf=$LAB_DIR/s.conf
write_conf() {  # with_net2(yes|no) [broken]
  local -a net2=()
  [ "$1" = yes ] && net2=(--conn net2 leftsubnet=10.99.1.1/32 rightsubnet=10.99.1.2/32 auto=start)
  [ "${2:-}" = broken ] && net2+=(nosuchkey=1)
  pair_swanless_conf "$conf" "$psk" ike=aes256-sha256-modp2048! esp=aes256-sha256-modp2048! \
    --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start "${net2[@]}"
}
write_conf no
swanless_start s s "$conf" || die "swanless start"
pid=${LAB_SWL_PID[s]}
slog=$(swanless_log s)
st() { swanless_status s --json; }
spis() {  # child name -> "in out"
  st | python3 -c 'import json,sys
d=json.load(sys.stdin); n=sys.argv[1]
print(" ".join(c["spi_in"]+"/"+c["spi_out"] for sa in d["ike_sas"] for c in sa["children"] if c["name"]==n))' "$1"
}
ike_spis() {  # "spi_i/spi_r" of every IKE_SA
  st | python3 -c 'import json,sys
print(" ".join(sa["spi_i"]+"/"+sa["spi_r"] for sa in json.load(sys.stdin)["ike_sas"]))'
}
wait_for "[ -n \"\$(spis net)\" ]" 15 && pass "net up at start" || die "net did not come up"
net_before=$(spis net)
ike_before=$(ike_spis)
check "ping through net" ping_check s 10.99.0.2 2

kill -HUP "$pid"
wait_log "$slog" "1 IKE_SA configuration\\(s\\) unchanged" 5 && pass "SIGHUP, same file: reported unchanged" \
  || fail "no reload report"
sleep 1
[ "$(spis net)" = "$net_before" ] && pass "SIGHUP, same file: net untouched (SPIs $net_before)" || fail "net changed: $net_before -> $(spis net)"

write_conf yes
kill -HUP "$pid"
wait_for "[ -n \"\$(spis net2)\" ]" 15 && pass "SIGHUP: the new conn net2 came up" || fail "net2 did not come up after SIGHUP"
check "ping through net2" ping_check s 10.99.1.2 2
[ "$(spis net)" = "$net_before" ] && pass "SIGHUP, net2 added: net kept its SPIs ($net_before)" \
  || fail "net changed when net2 was added: $net_before -> $(spis net)"
[ "$(ike_spis)" = "$ike_before" ] && pass "SIGHUP, net2 added: the IKE_SA kept its SPIs" || fail "IKE_SA restarted"
check "ping through net" ping_check s 10.99.0.2 2

write_conf yes broken
kill -HUP "$pid"
wait_log "$slog" "keeping the running" 5 && pass "broken config: error logged, running one kept" \
  || fail "broken config not reported"
kill -0 "$pid" && pass "swanless still running" || fail "swanless died on a broken config"
[ -n "$(spis net2)" ] && [ "$(spis net)" = "$net_before" ] && pass "broken config changed nothing" || fail "SAs changed"
grep -q "nosuchkey" "$slog" && pass "the log names the bad key" || fail "bad key not named"

write_conf no
kill -HUP "$pid"
wait_for "[ -z \"\$(spis net2)\" ]" 10 && pass "SIGHUP: the removed conn net2 was deleted" || fail "net2 still there"
wait_for "! charon_list_sas c c | grep -q 'net2{'" 10 && pass "charon: net2 gone too" || { fail "charon still has net2"; charon_list_sas c c; }
[ "$(spis net)" = "$net_before" ] && pass "SIGHUP, net2 removed: net kept its SPIs ($net_before)" \
  || fail "net changed when net2 was removed: $net_before -> $(spis net)"
[ "$(ike_spis)" = "$ike_before" ] && pass "SIGHUP, net2 removed: the IKE_SA kept its SPIs" || fail "IKE_SA restarted"
check "ping through net after the reloads" ping_check s 10.99.0.2 3
charon_stop c
lab_summary
