# shellcheck shell=bash
# tests/bench/rxgen_lib.sh: the receive path fed by a pre-encrypting ESP generator
# (tests/bench/esp_gen.c), shared by the benchmark tests/bench/mcast_rx.sh and the test
# tests/interop/swanless_rxgen.sh. Sourced after tests/interop/lib.sh and lab_init.
#
# Two namespaces joined by a veth: g (the generator's side, 198.18.0.1, the GRE end
# 10.44.7.1) and r (the daemon under test, 198.18.0.2, the GRE end 10.44.6.1). One
# tunnel-mode CHILD_SA 10.44.6.1/32 <-> 10.44.7.1/32, ESP in UDP 4500 (forced), PSK.
# A variant is the daemon in r and where the datagrams are read:
#   udp      swanless: gre1 tun=no, pim deliver=udp:127.0.0.1:5001; read on that socket
#   tun      swanless: gre1 tun=yes, pim deliver=tun; read by a socket joined to 239.1.1.1
#            on gre1 (what an application does)
#   charon   strongSwan's charon (kernel-libipsec: ESP in user space, decrypted packets
#            written into its TUN ipsec0); read on a raw IPPROTO_GRE socket in r, parsed
#            down to the UDP payload. There is no GRE decapsulation in the kernel here, so
#            charon's figure leaves out the GRE and delivery work of swanless's.
# The IKE peer in g is always swanless with a keylog: it initiates, the CHILD_SA comes
# up, rxgen_up reads the SA the daemon in r receives on (SPI from a status, keys from the
# esp_sa keylog) and then kills that peer with SIGKILL (no DELETE is sent), so that
# the generator can own 198.18.0.1:4500. The daemon in r runs without DPD and with
# lifetimes far beyond a run, so the SA stays.
#
# Uses: LAB_DIR, SWANLESS, GEN (the compiled esp_gen). Sets RX_PID (the daemon in r),
# RX_SPI, RX_KEYLOG, RX_SEQ/RX_ESP_SEQ (the next payload/ESP sequence numbers), and
# RX_STEP_JSON (the file rxgen_step writes its result to).

RX_G_ADDR=198.18.0.1 RX_R_ADDR=198.18.0.2
RX_G_GRE=10.44.7.1 RX_R_GRE=10.44.6.1
RX_MC_SRC=198.18.31.10 RX_GROUP=239.1.1.1 RX_PORT=5000 RX_DELIVER_PORT=5001
RX_PID="" RX_PEER_PID="" RX_SPI="" RX_KEYLOG="" RX_VARIANT="" RX_SUITE="" RX_CHARON=""
RX_SEQ=0 RX_ESP_SEQ=1 RX_STEP_JSON=$LAB_DIR/step.json
HZ=$(getconf CLK_TCK)

rxgen_suite_ike() { case $1 in aes256gcm16) echo aes256gcm16-prfsha256-ecp256 ;; *) echo "$1" ;; esac; }

# rxgen_topology: the two namespaces and their veth (once per run)
rxgen_topology() {
  ns_create g || return 1
  ns_create r || return 1
  link_ns g e0 "$RX_G_ADDR/24" r e0 "$RX_R_ADDR/24" || return 1
  nsx r ip link set lo up
}

# _rxgen_swl_conf FILE SIDE(g|r) SUITE VARIANT
_rxgen_swl_conf() {
  local file=$1 side=$2 suite=$3 variant=$4 me peer lsub rsub
  if [ "$side" = g ]; then me=$RX_G_ADDR peer=$RX_R_ADDR lsub=$RX_G_GRE rsub=$RX_R_GRE
  else me=$RX_R_ADDR peer=$RX_G_ADDR lsub=$RX_R_GRE rsub=$RX_G_GRE; fi
  mkdir -p "$LAB_DIR/keylog-$side"
  cat >"$file" <<CONF
config setup
    socket=$LAB_DIR/swl-$side.sock
    loglevel=info
    keylog=$LAB_DIR/keylog-$side

conn rx
    keyexchange=ikev2
    authby=secret
    ike=$(rxgen_suite_ike "$suite")!
    esp=$suite!
    left=$me
    leftid=$side.rx.test
    right=$peer
    rightid=$([ "$side" = g ] && echo r || echo g).rx.test
    leftsubnet=$lsub/32
    rightsubnet=$rsub/32
    forceencaps=yes
    dpddelay=0
    lifetime=8h
    ikelifetime=24h
    auto=$([ "$side" = g ] && echo start || echo add)
CONF
  if [ "$side" = r ]; then
    cat >>"$file" <<CONF

gre gre1
    local=$RX_R_GRE
    remote=$RX_G_GRE
    address=10.44.4.6/30
    peer=10.44.4.5
    tun=$([ "$variant" = tun ] && echo yes || echo no)

pim feed
    interface=gre1
    rp=10.44.4.5
    groups=$RX_GROUP
    deliver=$([ "$variant" = tun ] && echo tun || echo "udp:127.0.0.1:$RX_DELIVER_PORT")
CONF
  fi
  printf 'g.rx.test r.rx.test : PSK "rxgen-%s"\n' "$$" >"${file%.conf}.secrets"
  chmod 600 "${file%.conf}.secrets"
}

# _rxgen_swl_start SIDE: start swanless swl-SIDE in SIDE (lib_swanless.sh's swanless_start)
# with $LAB_DIR/swl-SIDE.conf and an empty keylog; sets LAST_PID
_rxgen_swl_start() {
  local side=$1
  rm -f "$LAB_DIR/swl-$side.sock" "$LAB_DIR/keylog-$side"/*
  swanless_start "$side" "swl-$side" "$LAB_DIR/swl-$side.conf" || return 1
  LAST_PID=${LAB_SWL_PID[swl-$side]}
}

# rxgen_json SIDE EXPR: swanless_json of the instance in SIDE ("" when it fails)
rxgen_json() { swanless_json "swl-$1" "$2"; }
_rxgen_child() { echo "[k for sa in d['ike_sas'] if sa.get('state') == 'ESTABLISHED' for k in sa.get('children', []) if k.get('state', 'INSTALLED') == 'INSTALLED']"; }

# rxgen_up SUITE VARIANT: the daemon in r and its SA, the peer in g gone
rxgen_up() {
  local suite=$1 variant=$2 spi
  RX_SUITE=$suite RX_VARIANT=$variant RX_SEQ=0 RX_ESP_SEQ=1
  if [ "$variant" = charon ]; then
    RX_CHARON=rxc$$
    ip -n "$(lab_ns r)" addr replace "$RX_R_GRE/32" dev lo
    charon_start r "$RX_CHARON" || return 1
    swanctl_conf_gen "$LAB_DIR/$RX_CHARON.swanctl.conf" --conn rx --local "$RX_R_ADDR" --remote "$RX_G_ADDR" \
      --local-id r.rx.test --remote-id g.rx.test --psk "rxgen-$$" --ike "$(rxgen_suite_ike "$suite")" \
      --esp "$suite" --encap yes --start none --child-opt rekey_time=8h --child-opt life_time=9h \
      --child rx "$RX_R_GRE/32" "$RX_G_GRE/32" tunnel || return 1
    charon_load r "$RX_CHARON" "$LAB_DIR/$RX_CHARON.swanctl.conf" || return 1
    RX_PID=${LAB_CHARON_PID[$RX_CHARON]}
  else
    _rxgen_swl_conf "$LAB_DIR/swl-r.conf" r "$suite" "$variant"
    _rxgen_swl_start r || return 1
    RX_PID=$LAST_PID
  fi
  _rxgen_swl_conf "$LAB_DIR/swl-g.conf" g "$suite" "$variant"
  _rxgen_swl_start g || return 1
  RX_PEER_PID=$LAST_PID
  wait_for "[ -n \"\$(rxgen_json g \"$(_rxgen_child)\" | grep -v '^\[\]$')\" ]" 20 \
    || { lab_log "rxgen: no CHILD_SA ($suite, $variant)"; tail -n 20 "$LAB_DIR/swl-g.log" >&2; return 1; }
  # the SA the daemon in r receives on is the one the peer in g sends on
  spi=$(rxgen_json g "$(_rxgen_child)[0]['spi_out']")
  [ -n "$spi" ] || { lab_log "rxgen: no outbound SPI in g's status"; return 1; }
  if [ "$variant" != charon ]; then
    wait_for "[ \"\$(rxgen_json r \"$(_rxgen_child)[0]['spi_in']\")\" = $spi ]" 10 \
      || { lab_log "rxgen: r does not show SPI $spi inbound"; return 1; }
    RX_KEYLOG=$LAB_DIR/keylog-r/esp_sa
  else
    wait_for "nsx r test -d /sys/class/net/ipsec0" 10 || { lab_log "rxgen: charon has no ipsec0"; return 1; }
    RX_KEYLOG=$LAB_DIR/keylog-g/esp_sa
  fi
  RX_SPI=$spi
  # the generator's ESP sequence numbers start above whatever the peer sent on the SA
  # (the kernel of g may have routed a packet or two into its TUN), with a margin for the
  # moment between this read and the kill
  RX_ESP_SEQ=$(( $(rxgen_json g "$(_rxgen_child)[0].get('packets_out', 0)") + 64 ))
  grep -qi "\"0x$spi\"" "$RX_KEYLOG" || { lab_log "rxgen: SPI $spi not in $RX_KEYLOG"; return 1; }
  cp "$RX_KEYLOG" "$LAB_DIR/esp_sa.$suite.$variant"
  RX_KEYLOG=$LAB_DIR/esp_sa.$suite.$variant
  kill -KILL "$RX_PEER_PID" 2>/dev/null
  wait "$RX_PEER_PID" 2>/dev/null
  RX_PEER_PID=""
  wait_for "! nsx g ss -Hlun 'sport = :4500' | grep -q ." 5 || { lab_log "rxgen: 4500 still taken in g"; return 1; }
  lab_log "rxgen: $variant ($suite) up, SPI 0x$spi, daemon pid $RX_PID"
}

# rxgen_down: the daemon in r gone (and charon's inner address)
rxgen_down() {
  if [ "$RX_VARIANT" = charon ]; then
    charon_stop "$RX_CHARON"
    ip -n "$(lab_ns r)" addr del "$RX_R_GRE/32" dev lo 2>/dev/null
  else
    _lab_end_pid "$RX_PID" 5
  fi
  [ -n "$RX_PEER_PID" ] && _lab_end_pid "$RX_PEER_PID" 2
  RX_PID="" RX_PEER_PID=""
}

# rxgen_gen_args: the generator's SA and address arguments
rxgen_gen_args() {
  echo --keylog "$RX_KEYLOG" --spi "$RX_SPI" --src "$RX_G_ADDR" --dst "$RX_R_ADDR" \
    --inner-src "$RX_G_GRE" --inner-dst "$RX_R_GRE" --mc-src "$RX_MC_SRC" --group "$RX_GROUP" --port "$RX_PORT"
}

# _rxgen_recv_args: where the variant's datagrams are read
_rxgen_recv_args() {
  case $RX_VARIANT in
    udp) echo --port "$RX_DELIVER_PORT" --bind 127.0.0.1 ;;
    tun) echo --port "$RX_PORT" --group "$RX_GROUP" --ifname gre1 ;;
    charon) echo --raw-gre ;;
  esac
}

# _rxgen_places: "rcvbuf_errors tun_rx_dropped raw_drops softnet_dropped" now: the first
# three in r, the last the host's per-CPU input backlogs (/proc/net/softnet_stat, column 2;
# not per namespace: the veth's packets wait there)
_rxgen_places() {
  local rcv tun raw soft d
  rcv=$(nsx r cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 }
    else for (i = 1; i <= NF; i++) if (k[i] == "RcvbufErrors") print $i }')
  tun=0
  for d in gre1 ipsec0; do
    tun=$((tun + $(nsx r cat "/sys/class/net/$d/statistics/rx_dropped" 2>/dev/null || echo 0)))
  done
  raw=$(nsx r awk 'NR > 1 { s += $NF } END { print s + 0 }' /proc/net/raw)
  soft=0
  while read -r _ d _; do soft=$((soft + 16#$d)); done </proc/net/softnet_stat
  echo "${rcv:-0} $tun ${raw:-0} $soft"
}
# _rxgen_drops: swanless's non-zero drop counters in r, as a JSON object
_rxgen_drops() {
  [ "$RX_VARIANT" = charon ] && { echo '{}'; return; }
  swanless_status swl-r --json 2>/dev/null | python3 -c '
import json, sys
out = {}
def add(prefix, dr):
    for n, v in (dr or {}).items():
        if isinstance(v, int) and v:
            out[prefix + n] = out.get(prefix + n, 0) + v
try:
    d = json.load(sys.stdin)
except Exception:
    print("{}"); sys.exit()
for sa in d.get("ike_sas", []):
    for k in sa.get("children", []):
        add("sa.", k.get("drops"))
for g in d.get("gre", []):
    add("gre.", g.get("drops"))
for p in d.get("pim", []):
    add("pim.", p.get("drops"))
not_drops = {"ike_rx", "ike_tx", "child_rekeys", "ike_rekeys", "dpd_checks_sent", "ike_half_open",
             "nat_keepalives_received", "esp_raw_received", "esp_raw_sent"}
add("", {n: v for n, v in (d.get("counters") or {}).items() if n not in not_drops})
print(json.dumps(out, sort_keys=True))'
}

# rxgen_step RATE COUNT [SIZE] [MODE] [BURST]: one generator run of COUNT datagrams at RATE/s,
# read by a fresh receiver; writes one JSON line (the analysis, the sender's status, CPU and
# drops by place) to $RX_STEP_JSON and moves RX_SEQ/RX_ESP_SEQ on, so it must not run in a
# subshell (no $(...), no pipe).
rxgen_step() {
  local rate=$1 count=$2 size=${3:-200} mode=${4:-gso} burst=${5:-32} tag="$RX_VARIANT.$RX_SEQ"
  local out=$LAB_DIR/recv.$tag times=$LAB_DIR/times.$tag st=$LAB_DIR/send.$tag.json rpid t0 t1 p0 p1 d0 d1 a
  rm -f "$out.ready"
  # shellcheck disable=SC2046
  lab_bg r "$LAB_DIR/recv.log" "$GEN" recv $(_rxgen_recv_args) --out "$out" --ready "$out.ready" --idle 1
  rpid=$LAB_BG_PID
  wait_for "[ -e $out.ready ]" 5 || { lab_log "rxgen: receiver did not start"; return 1; }
  p0=$(_rxgen_places); d0=$(_rxgen_drops); t0=$(cpu_ticks "$RX_PID")
  # shellcheck disable=SC2046
  nsx g "$GEN" send $(rxgen_gen_args) --size "$size" --rate "$rate" --count "$count" --seq0 "$RX_SEQ" \
    --esp-seq0 "$RX_ESP_SEQ" --mode "$mode" --burst "$burst" --times "$times" --status "$st" \
    >/dev/null 2>"$LAB_DIR/send.err" || { lab_log "rxgen: generator failed: $(cat "$LAB_DIR/send.err")"; return 1; }
  wait_for "! kill -0 $rpid 2>/dev/null" 30 || _lab_end_pid "$rpid" 2
  wait "$rpid" 2>/dev/null
  t1=$(cpu_ticks "$RX_PID"); p1=$(_rxgen_places); d1=$(_rxgen_drops)
  a=$("$GEN" analyze --times "$times" --recv "$out" --seq0 "$RX_SEQ" --count "$count") || return 1
  (python3 - "$a" "$(cat "$st")" "$p0" "$p1" "$d0" "$d1" $((t1 - t0)) "$HZ" "$RX_SUITE" "$RX_VARIANT" "$rate" "$size" <<'PY'
import json, sys
a, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
p0, p1 = [int(x) for x in sys.argv[3].split()], [int(x) for x in sys.argv[4].split()]
d0, d1 = json.loads(sys.argv[5]), json.loads(sys.argv[6])
ticks, hz = int(sys.argv[7]), int(sys.argv[8])
r = {"suite": sys.argv[9], "variant": sys.argv[10], "offered": float(sys.argv[11]), "size": int(sys.argv[12])}
r.update(a)
r["send"] = s
r["places"] = {"rcvbuf_errors": p1[0] - p0[0], "tun_rx_dropped": p1[1] - p0[1], "raw_drops": p1[2] - p0[2],
               "softnet_dropped": p1[3] - p0[3]}
r["daemon_drops"] = {k: v - d0.get(k, 0) for k, v in d1.items() if v - d0.get(k, 0)}
r["cpu_seconds"] = ticks / hz
print(json.dumps(r, sort_keys=True))
PY
  ) >"$RX_STEP_JSON" || return 1
  RX_SEQ=$((RX_SEQ + count)); RX_ESP_SEQ=$((RX_ESP_SEQ + count))
  rm -f "$out" "$times" "$out.ready"
}
