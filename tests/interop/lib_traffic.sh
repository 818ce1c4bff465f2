# shellcheck shell=bash
# tests/interop/lib_traffic.sh: what goes on the wire: captures, tshark checks, ping, fixed-rate UDP streams.
# Sourced by lib.sh (suites source lib.sh only); uses its state and helpers.

# ---------------------------------------------------------------------------------------
# captures and tshark

# capture_start NS IFACE FILE [FILTER...]: tcpdump -U -w FILE on IFACE in NS, returns once
# tcpdump is listening.
capture_start() {
  local ns=$1 ifc=$2 file=$3; shift 3
  local errf="$file.tcpdump.log"
  ip netns exec "$(lab_ns "$ns")" tcpdump -n -U --immediate-mode -Z root -i "$ifc" -w "$file" "$@" >"$errf" 2>&1 &
  local pid=$!
  LAB_CAPTURE_PID[$file]=$pid
  if ! wait_for "grep -q 'listening on' '$errf'" 5; then
    echo "capture_start: tcpdump on $ns:$ifc did not start:" >&2; cat "$errf" >&2
    return 1
  fi
}

# capture_stop [FILE]: stop the capture writing FILE (all captures without FILE); the
# pcap is complete when this returns.
capture_stop() {
  local f
  local -a files=("$@")
  [ ${#files[@]} -eq 0 ] && files=("${!LAB_CAPTURE_PID[@]}")
  for f in "${files[@]}"; do
    local pid=${LAB_CAPTURE_PID[$f]:-}
    [ -n "$pid" ] || continue
    # let tcpdump drain what the kernel has queued: SIGINT drops it
    sleep "${LAB_CAPTURE_DRAIN:-0.3}"
    kill -INT "$pid" 2>/dev/null
    local i
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    _lab_end_pid "$pid" 1
    unset "LAB_CAPTURE_PID[$f]"
  done
}

# tshark_counts PCAP [--keys KEYDIR] FILTER...: print, space-separated, how many frames
# match each display FILTER, in one tshark pass (io,stat). Filters must not contain
# commas. With --keys, ESP/IKE are decrypted first (so e.g. "esp && icmp" can match).
tshark_counts() {
  local pcap=$1; shift
  local keydir=""
  if [ "${1:-}" = --keys ]; then keydir=$2; shift 2; fi
  local spec="io,stat,0" f
  for f in "$@"; do
    case $f in *,*) echo "tshark_counts: filter with a comma: $f" >&2; return 1 ;; esac
    spec+=",$f"
  done
  local -a env=()
  [ -n "$keydir" ] && env=(env "WIRESHARK_CONFIG_DIR=$(_tshark_cfg "$keydir")")
  "${env[@]}" tshark -n -r "$pcap" -o esp.enable_encryption_decode:TRUE \
    -o esp.enable_authentication_check:TRUE -q -z "$spec" 2>/dev/null \
    | awk -F'|' -v n=$# '/<>/ { for (i = 1; i <= n; i++) { v = $(2 * i + 1); gsub(/ /, "", v); printf "%s%s", v, (i < n ? " " : "\n") } found = 1 }
                        END { if (!found) exit 1 }'
}

# tshark_count PCAP FILTER [KEYDIR]: print how many frames match display FILTER.
tshark_count() {
  if [ -n "${3:-}" ]; then tshark_counts "$1" --keys "$3" "$2"; else tshark_counts "$1" "$2"; fi
}

# _tshark_cfg KEYDIR: a wireshark config dir holding KEYDIR's esp_sa and
# ikev2_decryption_table (either may be absent).
_tshark_cfg() {
  local keydir=$1 cfg="$LAB_DIR/wireshark.$RANDOM"
  mkdir -p "$cfg"
  local f
  for f in esp_sa ikev2_decryption_table; do
    [ -f "$keydir/$f" ] && cp "$keydir/$f" "$cfg/$f"
  done
  echo "$cfg"
}

# tshark_check_decrypt PCAP KEYDIR: decode PCAP with the key tables in KEYDIR (files
# esp_sa and/or ikev2_decryption_table, formats in shared/interop/tshark-keylog.md) as an
# independent check of what went on the wire. Prints a summary; fails if any frame is
# malformed, carries an expert error, has a bad ESP ICV or an incorrect IKEv2 checksum, if
# no ESP/IKE frame was present, or if ESP frames were present (with esp_sa given) but
# none decrypted, or SK payloads (with ikev2_decryption_table given) but none decrypted.
tshark_check_decrypt() {
  local pcap=$1 keydir=$2
  if [ ! -s "$pcap" ]; then echo "tshark_check_decrypt: no capture $pcap" >&2; return 1; fi
  if [ ! -f "$keydir/esp_sa" ] && [ ! -f "$keydir/ikev2_decryption_table" ]; then
    echo "tshark_check_decrypt: $keydir has neither esp_sa nor ikev2_decryption_table" >&2; return 1
  fi
  local cfg; cfg=$(_tshark_cfg "$keydir")
  local out="$LAB_DIR/tshark.$RANDOM.tsv" err="$LAB_DIR/tshark.$RANDOM.err"
  WIRESHARK_CONFIG_DIR=$cfg tshark -n -r "$pcap" \
    -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
    -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.number -e esp.spi -e esp.icv_good -e esp.icv_bad -e esp.decrypted_data \
    -e isakmp.ispi -e isakmp.enc.data -e isakmp.enc.decrypted \
    -e _ws.malformed -e _ws.expert.severity -e _ws.expert.message >"$out" 2>"$err"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "tshark_check_decrypt: tshark failed:" >&2; cat "$err" >&2; return 1; fi
  if grep -qiE "error|could not|invalid" "$err"; then
    echo "tshark_check_decrypt: tshark complained (key table not loaded?):" >&2; cat "$err" >&2; return 1
  fi
  # severity is printed as a number: 0x00800000 (8388608) = error, 0x00600000 = warning
  local summary
  summary=$(awk -F'\t' -v has_esp_sa="$([ -f "$keydir/esp_sa" ] && echo 1 || echo 0)" \
                      -v has_ike="$([ -f "$keydir/ikev2_decryption_table" ] && echo 1 || echo 0)" '
    function truthy(v) { return v ~ /(^|,)(1|True|true)(,|$)/ }
    function addf(k, f) { nf[k]++; if (nf[k] <= 8) fl[k] = fl[k] " " f; else if (nf[k] == 9) fl[k] = fl[k] " ..." }
    function sev_err(s,   n, a, i) { n = split(s, a, ","); for (i = 1; i <= n; i++) if (a[i] + 0 >= 8388608 || a[i] ~ /^0x008/ || a[i] ~ /[Ee]rror/) return 1; return 0 }
    function sev_warn(s,  n, a, i) { n = split(s, a, ","); for (i = 1; i <= n; i++) if (a[i] + 0 == 6291456 || a[i] ~ /^0x006/ || a[i] ~ /[Ww]arn/) return 1; return 0 }
    {
      frames++
      if ($2 != "") { esp++; if (truthy($3)) good++; if (truthy($4)) { bad++; addf("bad", $1) } if ($5 != "") dec++ }
      if ($6 != "") ike++
      if ($7 != "") { sk++; if ($8 != "") skdec++ }
      if ($9 != "") { mal++; addf("mal", $1) }
      if (sev_err($10)) { experr++; addf("err", $1); if (errmsg == "") errmsg = $11 }
      else if (sev_warn($10)) { expwarn++; if (warnmsg == "") warnmsg = $11 }
      if ($11 ~ /[Ii]ncorrect/) { ikebad++; addf("err", $1); if (errmsg == "") errmsg = $11 }
    }
    END {
      printf "frames=%d esp=%d esp_decrypted=%d icv_good=%d icv_bad=%d ike=%d sk=%d sk_decrypted=%d malformed=%d expert_errors=%d expert_warnings=%d ike_integrity_bad=%d\n", \
        frames, esp, dec, good, bad, ike, sk, skdec, mal, experr, expwarn, ikebad
      why = ""
      if (esp + ike == 0) why = why "no ESP or IKE frames; "
      if (bad > 0) why = why "bad ICV in frames" fl["bad"] "; "
      if (mal > 0) why = why "malformed frames" fl["mal"] "; "
      if (experr > 0 || ikebad > 0) why = why "expert errors in frames" fl["err"] " (" errmsg "); "
      if (has_esp_sa && esp > 0 && dec == 0) why = why "ESP present but nothing decrypted (esp_sa mismatch?); "
      if (has_esp_sa && esp > 0 && good == 0) why = why "no ESP ICV verified; "
      if (has_ike && sk > 0 && skdec == 0) why = why "SK payloads present but nothing decrypted; "
      if (expwarn > 0) printf "note: first expert warning: %s\n", warnmsg
      if (why != "") { printf "FAILED: %s\n", why; exit 1 }
    }' "$out")
  rc=$?
  printf 'tshark_check_decrypt %s: %s\n' "$(basename "$pcap")" "$summary"
  return $rc
}

# ---------------------------------------------------------------------------------------
# traffic checks

# ping_check NS DST [COUNT] [MIN_REPLIES]: ping DST from NS (0.2 s interval); succeeds if
# at least MIN_REPLIES (default COUNT) replies came back. Prints ping's summary line.
ping_check() {
  local ns=$1 dst=$2 count=${3:-3} min=${4:-${3:-3}} out rx
  out=$(nsx "$ns" ping -n -c "$count" -i 0.2 -W 1 "$dst" 2>&1)
  rx=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
  rx=${rx:-0}
  echo "ping $ns -> $dst: $(grep -E 'packets transmitted' <<<"$out")"
  [ "$rx" -ge "$min" ]
}

# iperf3_json FILE tcp|udp: from an iperf3 -J result, "Mbit/s retransmits" (TCP,
# received) or, for UDP,
# "received_Mbit/s lost_percent packets lost sent_Mbit/s"
iperf3_json() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
if "error" in d:
    print(d["error"], file=sys.stderr); sys.exit(1)
e = d.get("end", {})
if sys.argv[2] == "tcp":
    s = e.get("sum_received") or e.get("sum") or {}
    print("%.1f %d" % (s.get("bits_per_second", 0) / 1e6, (e.get("sum_sent") or {}).get("retransmits", 0)))
else:
    s = e.get("sum") or {}
    pk, lost = s.get("packets", 0), s.get("lost_packets", 0)
    sent = (e.get("sum_sent") or s).get("bits_per_second", 0)
    if "sum_received" in e:
        rx = e["sum_received"].get("bits_per_second", 0)
    else:
        rx = sent * (1 - (lost / pk if pk else 1))
    print("%.1f %.3f %d %d %.1f" % (rx / 1e6, s.get("lost_percent", 100.0), pk, lost, sent / 1e6))
EOF
}

# iperf3_tcp NS_SERVER SERVER_ADDR NS_CLIENT SECONDS [CLIENT_ARGS...]: one iperf3 run
# (server with -1 in NS_SERVER bound to SERVER_ADDR, tracked for teardown), client in
# NS_CLIENT. Prints the received rate in Mbit/s (a number, on stdout) and a human line on
# stderr; fails if the run failed or moved nothing.
iperf3_tcp() {
  local nss=$1 addr=$2 nsc=$3 secs=$4; shift 4
  local port=${LAB_IPERF_PORT:-5201}
  local slog="$LAB_DIR/iperf3-server.$RANDOM.log" cjson="$LAB_DIR/iperf3-client.$RANDOM.json"
  lab_bg "$nss" "$slog" iperf3 -s -1 -B "$addr" -p "$port"
  local spid=$LAB_BG_PID
  if ! wait_for "nsx $nss ss -Hltn 'sport = :$port' | grep -q LISTEN" 5; then
    echo "iperf3_tcp: server did not start:" >&2; cat "$slog" >&2; return 1
  fi
  nsx "$nsc" timeout $((secs + 15)) iperf3 -c "$addr" -p "$port" -t "$secs" -J "$@" >"$cjson" 2>&1
  local rc=$?
  wait_for "! kill -0 $spid" 3 || _lab_end_pid "$spid" 1
  local mbps
  mbps=$(iperf3_json "$cjson" tcp | awk '{ print $1 }'; exit "${PIPESTATUS[0]}") || { echo "iperf3_tcp: client failed (rc $rc):" >&2; head -c 2000 "$cjson" >&2; return 1; }
  echo "iperf3 $nsc -> $addr ($nss), ${secs}s: $mbps Mbit/s" >&2
  echo "$mbps"
  [ $rc -eq 0 ] && awk -v m="$mbps" 'BEGIN { exit !(m > 0) }'
}

# ---------------------------------------------------------------------------------------
# fixed-rate UDP streams (udpstream.py): sequence-numbered datagrams, counted at the far end

declare -gA LAB_STREAM_SEND=()   # stream NAME -> sender pid
declare -gA LAB_STREAM_RECV=()   # stream NAME -> receiver pid

# stream_start NAME NS_SRC SRC_ADDR NS_DST DST_ADDR PORT RATE SECONDS [SIZE]: a receiver
# on PORT (any address: DST_ADDR may be on a TUN device that does not exist yet) in NS_DST, then a sender in NS_SRC (from SRC_ADDR) sending RATE
# datagrams/s for SECONDS. Stats (JSON, rewritten every second) in
# $LAB_DIR/stream-NAME.send.json and .recv.json. With LAB_STREAM_UNTIL=EPOCH_S the sender
# stops at that wall-clock time at the latest (a slow start on a busy machine then shortens
# the stream instead of moving its end). With LAB_STREAM_HOLD=1 the sender starts but waits
# for stream_go NAME (start the streams while the tunnel is being set up, so Python's
# start-up time on a busy machine does not count).
stream_start() {
  local name=$1 nss=$2 src=$3 nsd=$4 dst=$5 port=$6 rate=$7 secs=$8 size=${9:-64}
  local tool; tool="$(dirname "${BASH_SOURCE[0]}")/udpstream.py"
  local base="$LAB_DIR/stream-$name"
  rm -f "$base.send.json" "$base.recv.json" "$base.go" "$base.go.until"
  lab_bg "$nsd" "$base.recv.log" python3 "$tool" recv --bind 0.0.0.0 --port "$port" --stats "$base.recv.json"
  LAB_STREAM_RECV[$name]=$LAB_BG_PID
  # a held stream's receiver is waited for in stream_go
  if [ -z "${LAB_STREAM_HOLD:-}" ] && ! _stream_ready "$name" recv; then return 1; fi
  lab_bg "$nss" "$base.send.log" python3 "$tool" send --src "$src" --dst "$dst" --port "$port" \
    --rate "$rate" --duration "$secs" --size "$size" --stats "$base.send.json" \
    ${LAB_STREAM_UNTIL:+--until "$LAB_STREAM_UNTIL"} ${LAB_STREAM_HOLD:+--go "$base.go"}
  LAB_STREAM_SEND[$name]=$LAB_BG_PID
}

# _stream_ready NAME recv|send: wait (20 s) until that end of stream NAME wrote its stats.
_stream_ready() {
  local base="$LAB_DIR/stream-$1"
  wait_for "[ -s '$base.$2.json' ]" 20 && return 0
  echo "stream: $1: the $2 end did not start:" >&2; cat "$base.$2.log" >&2
  return 1
}

# stream_ready NAME...: wait until both ends of these (held) streams run, so that a later
# stream_go starts them at once.
stream_ready() {
  local n
  for n in "$@"; do _stream_ready "$n" recv && _stream_ready "$n" send || return 1; done
}

# stream_go [--until EPOCH_S] NAME...: let the held senders of these streams start (see
# stream_start), optionally to stop at wall-clock time EPOCH_S at the latest.
stream_go() {
  local until="" n
  if [ "${1:-}" = --until ]; then until=$2; shift 2; fi
  stream_ready "$@" || return 1
  for n in "$@"; do
    [ -n "$until" ] && echo "$until" >"$LAB_DIR/stream-$n.go.until"
    : >"$LAB_DIR/stream-$n.go"
  done
}

# stream_wait NAME [TIMEOUT_S]: wait until NAME's sender has finished (default: 60 s).
stream_wait() {
  local pid=${LAB_STREAM_SEND[$1]:-}
  [ -n "$pid" ] || return 1
  wait_for "! kill -0 $pid" "${2:-60}"
}

# stream_stop NAME: stop the sender if still running, let the last datagrams arrive
# (0.5 s), stop the receiver; the stats files are final when this returns.
stream_stop() {
  local name=$1 s=${LAB_STREAM_SEND[$1]:-} r=${LAB_STREAM_RECV[$1]:-}
  [ -n "$s" ] && _lab_end_pid "$s" 2
  sleep 0.5
  [ -n "$r" ] && _lab_end_pid "$r" 3
  unset "LAB_STREAM_SEND[$name]" "LAB_STREAM_RECV[$name]"
}

# stream_stat NAME send|recv KEY: one value from NAME's current stats file.
stream_stat() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
    "$LAB_DIR/stream-$1.$2.json" "$3" 2>/dev/null
}

# stream_report NAME [--max-lost N] [--max-gap-ms MS]: print NAME's result line; fails if
# more than N (default 0) datagrams were lost, any duplicated, or the longest silence
# exceeded MS. Call after stream_stop.
stream_report() {
  local name=$1; shift
  local tool; tool="$(dirname "${BASH_SOURCE[0]}")/udpstream.py"
  python3 "$tool" report "$LAB_DIR/stream-$name.send.json" "$LAB_DIR/stream-$name.recv.json" "$@"
}

# swanctl_conf_join FILE OTHER...: move the connections and secrets of each OTHER
# swanctl.conf (e.g. written by swanctl_conf_gen) into FILE, so one charon loads them all.
