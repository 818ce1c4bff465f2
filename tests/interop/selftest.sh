#!/usr/bin/env bash
# Self-test of tests/interop/lib.sh: strongSwan <-> strongSwan (charon + kernel-libipsec)
# in two namespaces. PSK, aes256-sha256-modp2048 for IKE and ESP, ESP-in-UDP forced
# (encap=yes), inner /32 selectors 10.99.0.1 <-> 10.99.0.2 (child net, in IKE_AUTH) and
# 10.99.1.1 <-> 10.99.1.2 (child net2, CREATE_CHILD_SA with PFS).
#   a: 192.0.2.1 (veth a0)  <--->  b: 192.0.2.2 (veth b0)
# Checks: SAs ESTABLISHED/INSTALLED and TUNNEL-in-UDP, ping through the tunnel, 3 s iperf3
# TCP, the capture on the veth holds UDP/4500 ESP (tshark) and no plain inner traffic.
# With SELFTEST_KEYS=1 (default) charon logs its keys (log level 4) and the capture is
# also decrypted by tshark_check_decrypt with tables built from those logs.
# Usage: sudo tests/interop/selftest.sh     (run time < 60 s, leaves nothing behind)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

keys=${SELFTEST_KEYS:-1}
# charon 5.9.8's kernel-libipsec always encapsulates ESP in UDP (raw ESP needs >= 5.9.11
# and charon.plugins.kernel-libipsec.raw_esp), so encap=no would still give TUNNEL-in-UDP.
encap=yes mode_str="TUNNEL-in-UDP" esp_filter="udp.port == 4500 && esp"

lab_init st
# shellcheck disable=SC2034  # read by charon_start
[ "$keys" = 1 ] && LAB_CHARON_LOG_LEVELS=$LAB_LOG_KEYS
start=$(now_ms)

ns_create a || die "create namespace a"
ns_create b || die "create namespace b"
link_ns a a0 192.0.2.1/24 b b0 192.0.2.2/24 || die "veth a0 <-> b0"
ns_addr a lo 10.99.0.1/32 || die "inner address on a"
ns_addr b lo 10.99.0.2/32 || die "inner address on b"
ns_addr a lo 10.99.1.1/32 || die "second inner address on a"
ns_addr b lo 10.99.1.2/32 || die "second inner address on b"
check "underlay ping a -> b" ping_check a 192.0.2.2 2

for side in a b; do
  if [ $side = a ]; then l=192.0.2.1 r=192.0.2.2 lts=10.99.0.1/32 rts=10.99.0.2/32 lts2=10.99.1.1/32 rts2=10.99.1.2/32
  else l=192.0.2.2 r=192.0.2.1 lts=10.99.0.2/32 rts=10.99.0.1/32 lts2=10.99.1.2/32 rts2=10.99.1.1/32; fi
  swanctl_conf_gen "$LAB_DIR/$side.swanctl.conf" --conn dc --local $l --remote $r \
    --local-id "$side.swl.test" --remote-id "$([ $side = a ] && echo b || echo a).swl.test" \
    --psk "selftest-$$-secret" --ike aes256-sha256-modp2048 --esp aes256-sha256-modp2048 \
    --encap "$encap" --start none --child net $lts $rts tunnel --child net2 $lts2 $rts2 tunnel || die "swanctl.conf for $side"
  charon_start $side $side --no-wait || die "charon $side start"
done
for side in a b; do
  charon_wait $side || die "charon $side start"
  charon_load $side $side "$LAB_DIR/$side.swanctl.conf" || die "charon $side load"
done
pass "two charons up, configs loaded"

capture_start a a0 "$LAB_DIR/a0.pcap" || die "capture on a0"

if charon_initiate a a net 10; then pass "initiate child net (IKE_AUTH)"; else die "initiate child net"; fi
# a second CHILD_SA through CREATE_CHILD_SA (the only one that uses the ESP DH group: PFS)
if charon_initiate a a net2 10; then pass "initiate child net2 (CREATE_CHILD_SA, PFS)"
else fail "initiate child net2"; fi

sas_a=$(charon_list_sas a a)
# shellcheck disable=SC2034  # read through ${!v}
sas_b=$(charon_list_sas b b)
printf '%s\n' "$sas_a"
for s in a b; do
  v=sas_$s
  grep -q "ESTABLISHED" <<<"${!v}" && pass "$s: IKE_SA ESTABLISHED" || fail "$s: IKE_SA not ESTABLISHED"
  n=$(grep -c "INSTALLED, $mode_str, ESP:AES_CBC-256/HMAC_SHA2_256_128" <<<"${!v}")
  [ "$n" -eq 2 ] && pass "$s: 2 CHILD_SAs INSTALLED, $mode_str" || fail "$s: $n CHILD_SAs INSTALLED, $mode_str (want 2)"
  grep -q "net2: .*ESP:AES_CBC-256/HMAC_SHA2_256_128/MODP_2048" <<<"${!v}" \
    && pass "$s: net2 used PFS (MODP_2048)" || fail "$s: net2 without PFS group"
  grep -q "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" <<<"${!v}" \
    && pass "$s: IKE proposal aes256-sha256-modp2048" || fail "$s: unexpected IKE proposal"
done

check "ping 10.99.0.1 -> 10.99.0.2 through the tunnel" ping_check a 10.99.0.2 5
check "ping 10.99.0.2 -> 10.99.0.1 through the tunnel" ping_check b 10.99.0.1 3
check "ping 10.99.1.1 -> 10.99.1.2 through net2" ping_check a 10.99.1.2 3
check "ping 1300-byte payload through the tunnel" nsx a ping -n -q -c 2 -i 0.2 -W 1 -s 1300 10.99.0.2
# the capture covers IKE and the pings; iperf3 runs uncaptured (tshark would take ~30 s
# to decrypt its ~60000 frames)
capture_stop "$LAB_DIR/a0.pcap"
if mbps=$(iperf3_tcp b 10.99.0.2 a 3); then pass "iperf3 TCP through the tunnel: $mbps Mbit/s"
else fail "iperf3 TCP through the tunnel"; fi

read -r n_esp n_ike n_plain < <(tshark_counts "$LAB_DIR/a0.pcap" "$esp_filter" \
  "isakmp" "ip.addr == 10.99.0.0/24 && !esp")
echo "capture a0: $n_esp ESP frames ($esp_filter), $n_ike IKE frames, $n_plain plain inner frames"
[ "$n_esp" -ge 26 ] && pass "capture holds ESP, $esp_filter ($n_esp frames)" || fail "too few ESP frames, $esp_filter ($n_esp)"
[ "$n_ike" -ge 4 ] && pass "capture holds IKE ($n_ike frames)" || fail "too few IKE frames ($n_ike)"
[ "$n_plain" -eq 0 ] && pass "no plain inner traffic on the veth" || fail "$n_plain plain inner frames on the veth"

# flip_key IN OUT FIELD: copy a key table with one hex digit of key column FIELD changed
flip_key() {
  awk -F, -v OFS=, -v f="$3" '{
    v = $f; p = index(v, "0x"); p = (p ? p + 2 : (substr(v, 1, 1) == "\"" ? 2 : 1))
    c = substr(v, p, 1); $f = substr(v, 1, p - 1) (c == "0" ? "1" : "0") substr(v, p + 1); print }' "$1" >"$2"
}

if [ "$keys" = 1 ]; then
  # charon at log level 4 prints its keys; charon_keys turns them into tshark's tables
  if charon_keys a a "$LAB_DIR/keys"; then
    check "tshark decrypts and verifies IKE and ESP with charon's keys" \
      tshark_check_decrypt "$LAB_DIR/a0.pcap" "$LAB_DIR/keys"
    # negative control: one wrong digit in the ESP and in the IKE integrity keys must be
    # seen (ICV bad, IKE checksum incorrect) and make the check fail
    mkdir -p "$LAB_DIR/badkeys"
    flip_key "$LAB_DIR/keys/esp_sa" "$LAB_DIR/badkeys/esp_sa" 8
    flip_key "$LAB_DIR/keys/ikev2_decryption_table" "$LAB_DIR/badkeys/ikev2_decryption_table" 6
    if out=$(tshark_check_decrypt "$LAB_DIR/a0.pcap" "$LAB_DIR/badkeys"); then
      fail "tshark_check_decrypt accepted wrong integrity keys"
    elif grep -q ' icv_good=0 icv_bad=[1-9]' <<<"$out" && grep -q 'ike_integrity_bad=[1-9]' <<<"$out"; then
      pass "tshark_check_decrypt rejects wrong ESP and IKE integrity keys"
    else
      fail "tshark_check_decrypt failed for another reason with wrong keys: $out"
    fi
  else
    fail "extract keys from charon's log"
  fi
fi

charon_stop a; charon_stop b
elapsed=$(( ($(now_ms) - start) / 1000 ))
[ "$elapsed" -lt 60 ] && pass "ran in ${elapsed}s (< 60 s)" || fail "took ${elapsed}s (>= 60 s)"
lab_summary
