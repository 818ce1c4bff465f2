#!/usr/bin/env bash
# The receive path fed by the pre-encrypting ESP generator (tests/bench/esp_gen.c, the
# benchmark tests/bench/mcast_rx.sh's source), in the namespaces of tests/bench/rxgen_lib.sh:
#   g: the generator (and, until the SA is up, swanless as the IKE peer), 198.18.0.1
#   r: swanless under test, 198.18.0.2; gre1 10.44.6.1 <-> 10.44.7.1; pim delivering 239.1.1.1
# For each suite (aes256gcm16, aes256-sha256-modp2048) and each delivery (deliver=udp to
# 127.0.0.1:5001; deliver=tun into gre1, read by a socket joined to 239.1.1.1 on gre1),
# 20 000 datagrams at 20 000/s, in bursts of 32: one sendmmsg per burst for deliver=udp
# (so that a capture holds them one by one), one UDP_SEGMENT send per burst for
# deliver=tun (swanless reads those as UDP GRO buffers):
#   - every datagram is delivered exactly once and in order (counts, never timings);
#   - swanless counts no drop;
#   - deliver=udp: what went on the wire (dumpcap on r's veth) is decoded by tshark with
#     the keylog: every packet is ESP of the SA with a good ICV, carries GRE to 239.1.1.1,
#     nothing is malformed; with one key byte changed, tshark finds every ICV bad (the
#     check can fail).
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_rxgen.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
command -v cc >/dev/null || { echo "needs cc"; exit 1; }
command -v tshark >/dev/null || { echo "needs tshark"; exit 1; }

lab_init rg
GEN=$LAB_DIR/esp_gen
cc -O2 -o "$GEN" "$here/../bench/esp_gen.c" -lcrypto || die "cc esp_gen.c"
# shellcheck source=../bench/rxgen_lib.sh
. "$here/../bench/rxgen_lib.sh"
rxgen_topology || die "namespaces"
N=20000

# tshark_esp KEYLOG PCAP: "packets icv_good icv_bad malformed inner_to_group" for our SPI
tshark_esp() {
  local ws=$LAB_DIR/ws.$RANDOM
  mkdir -p "$ws"
  cp "$1" "$ws/esp_sa"
  WIRESHARK_CONFIG_DIR=$ws tshark -r "$2" -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE -Y "esp.spi == 0x$RX_SPI" \
    -T fields -e esp.icv_good -e esp.icv_bad -e _ws.malformed -e ip.dst -e gre.proto 2>/dev/null \
    | awk -F'\t' -v g="$RX_GROUP" '{ n++; if ($1 == "1") good++; if ($2 == "1") bad++; if ($3 != "") mal++;
        if (index($4, g) && $5 == "0x0800") inner++ }
      END { printf "%d %d %d %d %d\n", n, good, bad, mal, inner }'
}

for suite in aes256gcm16 aes256-sha256-modp2048; do
  for variant in udp tun; do
    c="$suite $variant"
    rxgen_up "$suite" "$variant" || { fail "$c: SA up"; rxgen_down; continue; }
    cap=$LAB_DIR/wire.$suite.pcap
    if [ "$variant" = udp ]; then
      lab_bg r "$LAB_DIR/dumpcap.log" dumpcap -q -i e0 -f "udp dst port 4500 and greater 100" -w "$cap"
      dpid=$LAB_BG_PID
      wait_for "[ -s $cap ]" 5 || lab_log "dumpcap: no file yet"
    fi
    # deliver=udp: one sendmmsg per 32 datagrams, so that the capture holds them one by
    # one; deliver=tun: UDP_SEGMENT bursts, read by swanless as UDP GRO buffers
    mode=gso; [ "$variant" = udp ] && mode=mmsg
    rxgen_step 20000 $N 200 $mode 32 || { fail "$c: generator step"; rxgen_down; continue; }
    j=$(cat "$RX_STEP_JSON")
    echo "$c: $j" >>"$LAB_DIR/steps.jsonl"
    [ "$variant" = udp ] && { sleep 0.5; _lab_end_pid "$dpid" 3; }
    read -r sent del lost dup reord drops <<<"$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print(j["send"]["sent"], j["delivered"], j["lost"], j["duplicates"], j["reordered"],
      ",".join("%s=%d" % kv for kv in sorted(j["daemon_drops"].items())) or "none")' "$j")"
    check "$c: the generator sent all $N" [ "$sent" = $N ]
    if [ "$del" = $N ] && [ "$lost" = 0 ] && [ "$dup" = 0 ] && [ "$reord" = 0 ]; then
      pass "$c: $N delivered, each once, in order"
    else
      fail "$c: delivered $del, lost $lost, duplicated $dup, reordered $reord"
      tail -n 20 "$LAB_DIR/swl-r.log"
    fi
    check "$c: swanless counted no drop ($drops)" [ "$drops" = none ]
    if [ "$variant" = udp ]; then
      read -r n good bad mal inner <<<"$(tshark_esp "$RX_KEYLOG" "$cap")"
      if [ "$n" = $N ] && [ "$good" = $N ] && [ "$bad" = 0 ] && [ "$mal" = 0 ] && [ "$inner" = $N ]; then
        pass "$c: tshark decrypts all $N on the wire: ICV good, GRE to $RX_GROUP, nothing malformed"
      else
        fail "$c: tshark: $n packets, $good ICV good, $bad bad, $mal malformed, $inner GRE to the group"
      fi
      # the first hex digit of each key of the SA changed (the integrity key is what
      # decides for CBC + HMAC): the same capture must then fail the check
      python3 - "$RX_KEYLOG" "$RX_SPI" >"$LAB_DIR/esp_sa.bad" <<'PY'
import sys
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split(",")
    if f[3].strip('"').lower() == "0x" + sys.argv[2].lower():
        for i in (5, 7):
            v = f[i].strip('"')
            if v.startswith("0x") and len(v) > 2:
                f[i] = '"0x%x%s"' % (int(v[2], 16) ^ 1, v[3:])
    print(",".join(f))
PY
      read -r n good bad mal inner <<<"$(tshark_esp "$LAB_DIR/esp_sa.bad" "$cap")"
      check "$c: with a changed key tshark finds no good ICV ($good good, $bad bad of $n)" [ "$good" = 0 ]
    fi
    rxgen_down
  done
done
lab_summary
