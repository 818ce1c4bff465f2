#!/usr/bin/env bash
# swanless configured by a swanctl.conf (issue 13, item 6) against a real strongSwan:
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
# Both ends get a swanctl.conf from the same generator (lib_charon.sh swanctl_conf_gen):
# one connection, two children (10.99.0.x and 10.99.1.x), PSK in the file's secrets
# block; swanless's copy has a swanless { setup { socket } } section added, which charon's
# swanctl would ignore. Cases:
#   1. swanless initiates (start_action = start): `swanless check` shows one IKE_SA named
#      after the connection with both children, strict proposals, no DPD; both CHILD_SAs
#      come up in IKE_AUTH / CREATE_CHILD_SA, pings through both, charon agrees;
#   2. charon initiates both children (swanless's start_action = none, so auto=add);
#   3. a swanctl.conf readable by others holding the PSK is refused by check and by run.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_swanctl.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init sw
lab_pair 10.99.0.2/32 10.99.1.2/32
charon_start c c || die "charon start"

# swl_swanctl NAME PSK START: swanless's swanctl.conf, written as charon's would be (0600).
swl_swanctl() {
  local name=$1 psk=$2 start=$3 file="$LAB_DIR/$1.swanctl.conf"
  swanctl_conf_gen "$file" --conn sc --local 192.0.2.1 --remote 192.0.2.2 --local-id s.swl.test \
    --remote-id c.swl.test --psk "$psk" --encap yes --start "$start" \
    --child net 10.99.0.1/32 10.99.0.2/32 tunnel --child net2 10.99.1.1/32 10.99.1.2/32 tunnel || return 1
  printf 'swanless {\n    setup {\n        socket = %s\n    }\n}\n' "$LAB_DIR/$name.sock" >>"$file"
  chmod 600 "$file"
}

charon_conf() {  # PSK
  pair_charon_conf "$LAB_DIR/charon.swanctl.conf" "$1" \
    --child net 10.99.0.2/32 10.99.0.1/32 tunnel --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
  charon_swanctl c c --terminate --ike dc >/dev/null 2>&1
  charon_load c c "$LAB_DIR/charon.swanctl.conf"
}

run_case() {  # NAME ROLE(initiator|responder)
  local name=$1 role=$2 psk="swanctl-$$-$1"
  echo "--- case $name: swanless $role, configured by swanctl.conf"
  charon_conf "$psk" || { fail "$name: charon config"; return; }
  swl_swanctl "$name" "$psk" "$([ "$role" = initiator ] && echo start || echo none)" || { fail "$name: config"; return; }
  local conf="$LAB_DIR/$name.swanctl.conf" out
  out=$(nsx s "$SWANLESS" check -c "$conf" 2>&1)
  echo "$out" | sed 's/^/  check| /' | head -20
  check "$name: check says configuration OK" grep -q '^configuration OK' <<<"$out"
  check "$name: one IKE_SA named after the connection, both children in it" grep -q '^ike_sa sc: net net2$' <<<"$out"
  check "$name: strict proposals, no DPD (swanctl's defaults), PSK from the file's secrets block" \
    eval "grep -q 'ike: .*(strict)' <<<\"\$out\" && grep -q 'dpd: delay 0s' <<<\"\$out\" &&
          grep -q 'psk: $conf:' <<<\"\$out\""
  swanless_start s "$name" "$conf" || { fail "$name: swanless start"; return; }
  pair_net_net2_up "$name" "$role" || { swanless_stop "$name"; return; }
  local sas; sas=$(charon_list_sas c c)
  grep -q ESTABLISHED <<<"$sas" && pass "$name: charon shows the IKE_SA ESTABLISHED" || fail "$name: charon IKE_SA"
  [ "$(grep -c 'INSTALLED, TUNNEL-in-UDP' <<<"$sas")" -eq 2 ] && pass "$name: charon has 2 CHILD_SAs in UDP" \
    || { fail "$name: charon CHILD_SAs"; echo "$sas"; }
  check "$name: swanless's IKE_SA is sc" swanless_json_true "$name" "d['ike_sas'][0]['name'] == 'sc'"
  check "$name: ping 10.99.0.1 -> 10.99.0.2" ping_check s 10.99.0.2 3
  check "$name: ping 10.99.1.1 -> 10.99.1.2 (second CHILD_SA)" ping_check s 10.99.1.2 3
  check "$name: ping from charon's side 10.99.0.2 -> 10.99.0.1" ping_check c 10.99.0.1 2
  swanless_stop "$name"
}

run_case init initiator
run_case resp responder

echo "--- case open: the secrets of a swanctl.conf readable by others"
swl_swanctl open "swanctl-$$-open" start
chmod 644 "$LAB_DIR/open.swanctl.conf"
out=$(nsx s "$SWANLESS" check -c "$LAB_DIR/open.swanctl.conf" 2>&1); rc=$?
check "open: check exits 1" test "$rc" -eq 1
check "open: check says why" grep -q "refusing secrets in a file readable or writable by group or others (mode 0644)" <<<"$out"
nsx s timeout 10 "$SWANLESS" run -c "$LAB_DIR/open.swanctl.conf" >"$LAB_DIR/open.log" 2>&1; rc=$?
check "open: run refuses to start (exit $rc)" eval "[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'chmod 600' '$LAB_DIR/open.log'"
lab_summary
