#!/usr/bin/env bash
# One config file for both hosts (issue 13): two swanless, in namespaces s (192.0.2.1) and c
# (192.0.2.2), run the very same file, written from s's side (left=192.0.2.1,
# leftsubnet=10.99.0.1/32). The swanless in c finds right= among its own addresses and takes
# right as its local side, as strongSwan's starter and libreswan's pluto do. Even socket= is
# the same line: it names a folder that `ip netns exec` replaces, in each namespace, by that
# namespace's own copy from /etc/netns/NS/ (its documented per-namespace /etc).
# Checks: `swanless check` in c says right is the local side and shows the swapped conn and
# device plan; both daemons start from the same file; c initiates (`swanless up`); the
# IKE_SA and CHILD_SA are up on both; pings both ways through the tunnel; each TUN device
# carries its own side's address.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_pair.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin

lab_init sp
lab_pair
folder=swlpair-$$
for n in s c; do mkdir -p "/etc/netns/$(lab_ns $n)/$folder" || die "per-namespace folder for $n"; done
mkdir -p "/etc/$folder" || die "/etc/$folder"
lab_at_exit "rm -rf '/etc/$folder' '/etc/netns/$(lab_ns s)/$folder' '/etc/netns/$(lab_ns c)/$folder';" \
  "rmdir '/etc/netns/$(lab_ns s)' '/etc/netns/$(lab_ns c)' 2>/dev/null"

conf=$LAB_DIR/pair.conf
cat >"$conf" <<CONF
# the same file on both hosts, written from 192.0.2.1's side
config setup
    socket=/etc/$folder/swanless.sock

conn net
    keyexchange=ikev2
    authby=secret
    left=192.0.2.1
    right=192.0.2.2
    leftsubnet=10.99.0.1/32
    rightsubnet=10.99.0.2/32
    esp=aes256gcm16!
    auto=add
CONF
printf '192.0.2.1 192.0.2.2 : PSK "pair-%s"\n' "$$" >"$LAB_DIR/pair.secrets"
chmod 600 "$LAB_DIR/pair.secrets"

cs=$(nsx s "$SWANLESS" check -c "$conf" 2>&1)
cc=$(nsx c "$SWANLESS" check -c "$conf" 2>&1)
echo "$cc" | sed 's/^/  c| /' | head -16
check "check in s: left is local, nothing swapped" \
  eval "grep -q '  local:  192.0.2.1' <<<\"\$cs\" && ! grep -q '^note: ' <<<\"\$cs\""
check "check in c: a note says right is the local side here" \
  grep -q "^note: conn net: right=192.0.2.2 is an address of this host, so right is the local side here" <<<"$cc"
check "check in c: local 192.0.2.2, remote 192.0.2.1, swanless0 gets 10.99.0.2 and a route to 10.99.0.1" \
  eval "grep -q '  local:  192.0.2.2' <<<\"\$cc\" && grep -q '  remote: 192.0.2.1' <<<\"\$cc\" &&
        grep -q '  swanless0: address 10.99.0.2/32; route 10.99.0.1/32 src 10.99.0.2' <<<\"\$cc\""

swanless_start s ps "$conf" || fail "swanless start in s"
swanless_start c pc "$conf" || fail "swanless start in c"
check "the log in c says which side is local" grep -q "right is the local side here" "$(swanless_log pc)"
nsx c "$SWANLESS" up net --socket "/etc/$folder/swanless.sock" >/dev/null 2>&1 || fail "swanless up net in c"
if wait_for "swanless_has ps 'net\\{.*INSTALLED' && swanless_has pc 'net\\{.*INSTALLED'" 15; then
  pass "IKE_SA and CHILD_SA up on both, from one file"
else
  fail "SAs not up"; swanless_status ps; swanless_status pc; tail -20 "$(swanless_log pc)"
fi
check "c initiated: c's IKE_SA is the initiator" \
  swanless_json_true pc "d['ike_sas'][0]['initiator'] and d['ike_sas'][0]['local']['addr'] == '192.0.2.2'"
check "ping 10.99.0.1 -> 10.99.0.2 (s to c)" ping_check s 10.99.0.2 3
check "ping 10.99.0.2 -> 10.99.0.1 (c to s)" ping_check c 10.99.0.1 3
check "each TUN device carries its own side's address" \
  eval "nsx s ip -4 -o addr show dev swanless0 | grep -q '10.99.0.1/32' && nsx c ip -4 -o addr show dev swanless0 | grep -q '10.99.0.2/32'"
swanless_stop pc
swanless_stop ps
lab_summary
