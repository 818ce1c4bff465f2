#!/usr/bin/env bash
# Packet fix-ups on a site-to-site GRE tunnel (issue 5 item 4): TCP MSS clamping and ICMP
# fragmentation-needed, with one pair of swanless gateways (GRE inside a tunnel-mode
# CHILD_SA, ESP in UDP (forceencaps), PSK) and a host behind each:
#
#   neta 10.0.0.2 ── 10.0.0.1 gwa 198.51.100.1 ──── 198.51.100.2 gwb 10.0.1.1 ── 10.0.1.2 netb
#                    (swanless, greB 172.16.0.1      (swanless, greB 172.16.0.2
#                     mtu 1400, mss auto,             mtu 1400, mss=off,
#                     routes NETB)                    routes NETA)
#
# gwb does not clamp, so gwa's clamping is seen both ways.
# Checks:
# - iperf3 TCP neta -> netb: the hosts send MSS 1460 (tshark on both host links); the SYN
#   as seen on netb carries MSS 1360 (mtu 1400 - 40: gwa clamped it on its way into the
#   tunnel) and the SYN-ACK as seen on neta carries 1360 too (gwa clamped it coming out of
#   the tunnel); gwa's status counts both, gwb's shows clamping off.
# - a SYN whose TCP options are malformed (sent raw from neta) crosses unclamped, counted
#   (mss_malformed) and logged at gwa.
# - the underlay carries no IP fragments during the transfer (tshark on gwa's link).
# - a DF ping of exactly the tunnel MTU gets through; one byte more gets ICMP frag-needed
#   with MTU 1400 (from gwa's kernel: greB's MTU is 1400).
# - with greB's device MTU raised to 1500 by hand, the same oversized DF ping reaches
#   swanless, which answers it itself with frag-needed MTU 1400 from the tunnel's peer
#   address 172.16.0.2 (frag_needed_sent in status); a non-DF one is forwarded and counted.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/lab/test_mss.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../interop/lib.sh"
lab_swanless_bin

GWA=198.51.100.1 GWB=198.51.100.2
NETA_HOST=10.0.0.2 NETB_HOST=10.0.1.2
MTU=1400 MSS=1360

lab_init mss
lab_sites $GWA/24 $GWB/24
# The hosts reach the tunnel's inner addresses through their gateway too.
ns_route neta 172.16.0.0/30 via 10.0.0.1 || die "route neta"
ns_route netb 172.16.0.0/30 via 10.0.1.1 || die "route netb"
for n in neta netb gwa gwb; do
  nsx $n sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || die "rp_filter in $n"
done

# conf GW: gwa initiates, gwb responds; the GRE endpoints are the CHILD_SA's /32 selectors.
conf() {
  local gw=$1 me peer lgre rgre addr peer_in routes auto mss=""
  if [ "$gw" = gwa ]; then
    me=$GWA peer=$GWB lgre=10.44.6.1 rgre=10.44.7.1 addr=172.16.0.1/30 peer_in=172.16.0.2 routes=10.0.1.0/24 auto=start
  else
    me=$GWB peer=$GWA lgre=10.44.7.1 rgre=10.44.6.1 addr=172.16.0.2/30 peer_in=172.16.0.1 routes=10.0.0.0/24 auto=add
    mss="mss=off"
  fi
  cat >"$LAB_DIR/$gw.conf" <<CONF
config setup
    socket=$LAB_DIR/$gw.sock

conn greB
    keyexchange=ikev2
    authby=secret
    ike=aes128gcm16-prfsha256-curve25519!
    esp=aes128gcm16!
    forceencaps=yes
    left=$me
    right=$peer
    leftsubnet=$lgre/32
    rightsubnet=$rgre/32
    auto=$auto

gre greB
    conn=greB
    local=$lgre
    remote=$rgre
    address=$addr
    peer=$peer_in
    mtu=$MTU
    routes=$routes
    $mss
CONF
  printf '%s %s : PSK "mss-lab-%s"\n' "$me" "$peer" "$$" >"$LAB_DIR/$gw.secrets"
  printf '%s %s : PSK "mss-lab-%s"\n' "$peer" "$me" "$$" >>"$LAB_DIR/$gw.secrets"
  chmod 600 "$LAB_DIR/$gw.secrets"
}
conf gwa
conf gwb

for gw in gwb gwa; do
  lab_bg $gw "$LAB_DIR/$gw.log" "$SWANLESS" run -c "$LAB_DIR/$gw.conf"
  wait_for "[ -S $LAB_DIR/$gw.sock ]" 10 || { cat "$LAB_DIR/$gw.log"; die "swanless $gw start"; }
done
st() { nsx "$1" "$SWANLESS" status --socket "$LAB_DIR/$1.sock"; }
# gre_field GW FIELD: a number from status --json .gre[0]
gre_field() {
  nsx "$1" "$SWANLESS" status --json --socket "$LAB_DIR/$1.sock" 2>/dev/null \
    | python3 -c 'import json, sys; g = json.load(sys.stdin)["gre"][0]; print(g.get(sys.argv[1], g["drops"].get(sys.argv[1], 0)))' "$2" 2>/dev/null
}
if wait_for "st gwa | grep -qE 'greB\\{.*INSTALLED' && st gwb | grep -qE 'greB\\{.*INSTALLED'" 20; then
  pass "CHILD_SA greB installed at both gateways"
else
  st gwa; tail -n 30 "$LAB_DIR/gwa.log" "$LAB_DIR/gwb.log"; die "no CHILD_SA"
fi
check "ping neta -> netb through the tunnel" ping_check neta $NETB_HOST 5 4
check "status at gwa: mss $MSS (automatic: mtu $MTU - 40)" eval "[ \"\$(gre_field gwa mss)\" = $MSS ]"

# --- MSS clamping and no fragments on the underlay ---
capture_start neta n0 "$LAB_DIR/neta.pcap" tcp || die "capture neta"
capture_start netb n0 "$LAB_DIR/netb.pcap" tcp || die "capture netb"
capture_start gwa a1 "$LAB_DIR/underlay.pcap" || die "capture underlay"
if rate=$(iperf3_tcp netb $NETB_HOST neta 3); then pass "iperf3 TCP neta -> netb: $rate Mbit/s"
else fail "iperf3 TCP neta -> netb"; fi
capture_stop
syn='tcp.flags.syn == 1 && tcp.flags.ack == 0' synack='tcp.flags.syn == 1 && tcp.flags.ack == 1'
read -r a_syn1460 a_synack a_synack_mss < <(tshark_counts "$LAB_DIR/neta.pcap" \
  "$syn && tcp.options.mss_val == 1460" "$synack" "$synack && tcp.options.mss_val == $MSS")
read -r nb_syn nb_syn_mss nb_synack1460 nb_big < <(tshark_counts "$LAB_DIR/netb.pcap" \
  "$syn" "$syn && tcp.options.mss_val == $MSS" "$synack && tcp.options.mss_val == 1460" "ip.len > $MTU")
echo "neta: SYN mss 1460: $a_syn1460, SYN-ACK $a_synack (mss $MSS: $a_synack_mss); netb: SYN $nb_syn (mss $MSS: $nb_syn_mss), SYN-ACK mss 1460: $nb_synack1460, packets > $MTU: $nb_big"
[ "${a_syn1460:-0}" -ge 1 ] && [ "${nb_syn:-0}" -ge 1 ] && [ "$nb_syn_mss" = "$nb_syn" ] \
  && pass "SYNs left neta with MSS 1460 and reached netb with MSS $MSS ($nb_syn_mss of $nb_syn)" \
  || fail "SYN MSS at netb: $nb_syn_mss of $nb_syn with $MSS (neta sent $a_syn1460 with 1460)"
[ "${nb_synack1460:-0}" -ge 1 ] && [ "${a_synack:-0}" -ge 1 ] && [ "$a_synack_mss" = "$a_synack" ] \
  && pass "SYN-ACKs left netb with MSS 1460 and reached neta with MSS $MSS ($a_synack_mss of $a_synack)" \
  || fail "SYN-ACK MSS at neta: $a_synack_mss of $a_synack with $MSS (netb sent $nb_synack1460 with 1460)"
[ "${nb_big:-x}" = 0 ] && pass "no packet larger than the tunnel MTU reached netb" || fail "$nb_big packets > $MTU at netb"
out=$(gre_field gwa mss_clamped_out) in=$(gre_field gwa mss_clamped_in)
[ "${out:-0}" -ge 1 ] && [ "${in:-0}" -ge 1 ] && pass "gwa status: SYNs clamped out $out, in $in" \
  || fail "gwa status: mss_clamped_out $out, mss_clamped_in $in"
out=$(gre_field gwb mss_clamped_out) in=$(gre_field gwb mss_clamped_in) m=$(gre_field gwb mss)
[ "$out" = 0 ] && [ "$in" = 0 ] && [ "$m" = 0 ] && pass "gwb (mss=off) clamped nothing" \
  || fail "gwb (mss=off): mss $m, clamped out $out, in $in"
read -r u_frag u_esp < <(tshark_counts "$LAB_DIR/underlay.pcap" "ip.flags.mf == 1 || ip.frag_offset > 0" "esp")
[ "${u_frag:-x}" = 0 ] && [ "${u_esp:-0}" -gt 100 ] \
  && pass "underlay: $u_esp ESP packets, no IP fragments" || fail "underlay: fragments $u_frag, esp $u_esp"
st gwa | grep -qE "greB: mtu $MTU, MSS clamped to $MSS: [1-9][0-9]* SYNs out, [1-9][0-9]* in" \
  && st gwb | grep -q "greB: mtu $MTU, MSS clamping off" \
  && pass "swanless status text shows the MSS clamp counters" || { fail "status text"; st gwa; st gwb; }

# --- a SYN with malformed options crosses untouched, counted and logged ---
capture_start netb n0 "$LAB_DIR/bad.pcap" tcp port 4242 || die "capture bad"
nsx neta python3 - $NETA_HOST $NETB_HOST <<'PY' || fail "raw SYN send"
import socket, struct, sys
src, dst = sys.argv[1], sys.argv[2]
# MSS 1460, then a timestamps option with length 0: the walker must give up.
opts = bytes([2, 4, 0x05, 0xb4, 8, 0, 1, 1])
def tcp(csum):
    return struct.pack("!HHIIBBHHH", 4242, 9, 1, 0, (20 + len(opts)) // 4 << 4, 0x02, 8192, csum, 0) + opts
seg = tcp(0)
data = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg)) + seg
s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
while s >> 16:
    s = (s & 0xffff) + (s >> 16)
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
sock.sendto(tcp(~s & 0xffff), (dst, 0))
PY
wait_for "[ \"\$(gre_field gwa mss_malformed)\" = 1 ]" 5
capture_stop "$LAB_DIR/bad.pcap"
n_bad=$(tshark_count "$LAB_DIR/bad.pcap" "tcp.srcport == 4242 && tcp.flags.syn == 1 && tcp.options.mss_val == 1460")
[ "$(gre_field gwa mss_malformed)" = 1 ] && [ "${n_bad:-0}" = 1 ] \
  && pass "a SYN with a malformed option reached netb unclamped (MSS 1460), gwa counted it (mss_malformed 1)" \
  || fail "malformed SYN: at netb $n_bad with MSS 1460, gwa mss_malformed $(gre_field gwa mss_malformed)"
grep -q "greB: 1 TCP SYNs with malformed options passed unclamped" "$LAB_DIR/gwa.log" \
  && pass "gwa logged the malformed SYN" || fail "no log line for the malformed SYN"

# --- path MTU discovery through the tunnel ---
# ping -s N sends N + 28 bytes: 1372 fills the tunnel exactly, 1373 is one byte too many.
check "DF ping of $MTU bytes (the tunnel MTU) gets through" \
  eval "nsx neta ping -n -M do -s $((MTU - 28)) -c 2 -i 0.2 -W 2 $NETB_HOST >/dev/null"
capture_start neta n0 "$LAB_DIR/icmp.pcap" icmp || die "capture icmp"
out=$(nsx neta ping -n -M do -s $((MTU - 27)) -c 1 -W 2 $NETB_HOST 2>&1)
echo "$out" | grep -E "mtu|From" | head -2
grep -qE "From 10.0.0.1 .*Frag needed and DF set \(mtu = $MTU\)" <<<"$out" \
  && pass "DF ping of $((MTU + 1)) bytes: gwa's kernel answers frag-needed, mtu $MTU (greB's MTU)" \
  || fail "DF ping $((MTU + 1)) bytes: $out"
# The device MTU raised by hand: now swanless sees the packet and must answer it. Another
# destination, so neta's cached path MTU for netb does not stop the ping at the source.
nsx gwa ip link set dev greB mtu 1500 || fail "raise greB mtu"
before=$(gre_field gwa frag_needed_sent)
out=$(nsx neta ping -n -M do -s $((MTU - 27)) -c 1 -W 2 10.0.1.1 2>&1)
echo "$out" | grep -E "mtu|From" | head -2
grep -qE "From 172.16.0.2 .*Frag needed and DF set \(mtu = $MTU\)" <<<"$out" \
  && pass "greB at 1500: swanless answers the DF ping with frag-needed, mtu $MTU, from the tunnel peer" \
  || fail "greB at 1500: $out"
after=$(gre_field gwa frag_needed_sent)
[ "${after:-0}" -ge $((${before:-0} + 1)) ] && pass "gwa status: frag_needed_sent $before -> $after" \
  || fail "gwa status: frag_needed_sent $before -> $after"
# Without DF the oversized packet crosses (fragmented outside the tunnel), counted. A third
# destination: neta's kernel would fragment to the cached path MTU of the others itself.
fw_before=$(gre_field gwa too_big_forwarded)
check "greB at 1500: a non-DF ping of $((MTU + 1)) bytes crosses the tunnel" \
  eval "nsx neta ping -n -M dont -s $((MTU - 27)) -c 2 -i 0.2 -W 2 172.16.0.2 >/dev/null"
fw_after=$(gre_field gwa too_big_forwarded)
[ "${fw_after:-0}" -ge $((${fw_before:-0} + 2)) ] && pass "gwa status: too_big_forwarded $fw_before -> $fw_after" \
  || fail "gwa status: too_big_forwarded $fw_before -> $fw_after"
capture_stop
read -r n_fn n_fn_peer < <(tshark_counts "$LAB_DIR/icmp.pcap" "icmp.type == 3 && icmp.code == 4 && icmp.mtu == $MTU" \
  "icmp.type == 3 && icmp.code == 4 && icmp.mtu == $MTU && ip.src == 172.16.0.2 && icmp.checksum.status == 1")
[ "${n_fn:-0}" -ge 2 ] && [ "${n_fn_peer:-0}" -ge 1 ] \
  && pass "tshark on neta: $n_fn frag-needed with MTU $MTU, $n_fn_peer of them swanless's (checksum good)" \
  || fail "tshark on neta: frag-needed $n_fn, from swanless with good checksum $n_fn_peer"

lab_summary
