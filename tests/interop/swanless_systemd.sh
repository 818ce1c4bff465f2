#!/usr/bin/env bash
# swanless as contrib/swanless.service runs it: Type=notify, a watchdog, ExecReload, and only
# the capabilities the unit grants, as an unprivileged user.
#   s: swanless, 192.0.2.1 (veth s0)   <--->   c: charon, 192.0.2.2 (veth c0)
#   inner 10.99.0.1 <-> 10.99.0.2 (net, swanless initiates; IKE on port 500, a TUN device)
# A Python listener plays systemd's notify socket ($NOTIFY_SOCKET, WATCHDOG_USEC=1 s);
# swanless runs through setpriv as uid/gid 65534 with the unit's CapabilityBoundingSet and
# AmbientCapabilities and no_new_privs.
# Checks: `systemd-analyze verify` passes on the unit (no warning either); READY=1 arrives
# once, and only when the control socket answers; WATCHDOG=1 keeps coming from the event
# loop; the CHILD_SA comes up and carries ping with those capabilities alone; CapEff is
# exactly the unit's set and CAP_SYS_ADMIN is absent; SIGHUP (ExecReload) gives RELOADING=1
# then READY=1; SIGTERM gives STOPPING=1 and the process exits. Then the log sinks:
# log=journal writes sd-daemon "<N>subsys: " lines, log=syslog datagrams to /dev/log.
# Last, user=nobody: the in-process privilege drop keeps exactly what `swanless check` lists.
# Usage: SWANLESS=build/apps/swanless sudo -E tests/interop/swanless_systemd.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
lab_swanless_bin
UNIT=$here/../../contrib/swanless.service
lab_init sd

# --- the unit itself ---------------------------------------------------------------------
unit=$LAB_DIR/swanless.service
sed "s|/usr/bin/swanless|$SWANLESS|g" "$UNIT" >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && pass "systemd-analyze verify: the unit is clean" \
  || fail "systemd-analyze verify (rc $rc): $out"
caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
bound=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$caps" ] && [ "$caps" = "$bound" ] && pass "the unit grants: $caps" || fail "unit capabilities: '$caps' / '$bound'"
setpriv_caps=$(tr '[:upper:]' '[:lower:]' <<<"$caps" | sed 's/cap_/+/g; s/ /,/g')   # +net_admin,+...

# --- a swanless instance run the way the unit runs it -----------------------------------
lab_pair 10.99.0.2/32 10.99.1.2/32
charon_start c c || die "charon start"
psk="systemd-$$"
pair_charon_conf "$LAB_DIR/c.swanctl.conf" "$psk" --child net 10.99.0.2/32 10.99.0.1/32 tunnel \
  --child net2 10.99.1.2/32 10.99.1.1/32 tunnel
charon_load c c "$LAB_DIR/c.swanctl.conf" || die "charon load"

svc=$LAB_DIR/svc   # what RuntimeDirectory= and the config directory give the user
mkdir -p "$svc"
pair_swanless_conf "$svc/s.conf" "$psk" \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start
chown -R 65534:65534 "$svc"
chmod 0711 "$LAB_DIR"
bin=$SWANLESS
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$bin"; then
  cp "$SWANLESS" "$LAB_DIR/swanless.bin" && chmod 755 "$LAB_DIR/swanless.bin" && bin=$LAB_DIR/swanless.bin
fi

cat >"$LAB_DIR/notify.py" <<'PY'
# systemd's side of sd_notify: a datagram socket; each datagram logged with its time.
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
with open(out, "a", buffering=1) as f:
    print("listening", file=f)
    while True:
        d = s.recv(4096).decode(errors="replace")
        print("%.3f %s" % (time.time(), d.replace("\n", " | ")), file=f)
PY
nsock=$LAB_DIR/notify.sock
nlog=$LAB_DIR/notify.log
lab_bg s "$LAB_DIR/notify.err" python3 "$LAB_DIR/notify.py" "$nsock" "$nlog"
wait_log "$nlog" '^listening' 10 || die "notify listener"

# /dev/net/tun is 0666 where udev runs (Debian's 50-udev-default.rules); in a container it
# may be 0600 root. Then the unit's user needs a node it may open: here one of our own,
# bound over /dev/net/tun in the mount namespace `ip netns exec` gives swanless only.
tunwrap=()
if ! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 3<>/dev/net/tun' 2>/dev/null; then
  echo "note: /dev/net/tun is $(stat -c %a /dev/net/tun) here: swanless gets a node of its own (uid 65534)"
  mknod "$svc/tun" c 10 200 && chown 65534:65534 "$svc/tun" && chmod 0600 "$svc/tun" || die "mknod"
  tunwrap=(sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$svc/tun")
fi
SWANLESS=$bin swanless_start s s "$svc/s.conf" "${tunwrap[@]}" env NOTIFY_SOCKET="$nsock" WATCHDOG_USEC=1000000 \
  setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
  --bounding-set=-all,"$setpriv_caps" --inh-caps=-all,"$setpriv_caps" --ambient-caps=-all,"$setpriv_caps" \
  || die "swanless start"
pid=${LAB_SWL_PID[s]}
check "READY=1 sent" wait_log "$nlog" 'READY=1' 10
grep 'READY=1' "$nlog" | head -1
check "status answers once READY=1 is in" swanless_has s 'Security Associations'
check "READY=1 once only at start" test "$(grep -c 'READY=1' "$nlog")" = 1

st=$(cat "/proc/$pid/status" 2>/dev/null)
[ -n "$st" ] || { fail "swanless (pid $pid) is not running"; tail -n 20 "$(swanless_log s)"; }
echo "swanless pid $pid: $(grep -E '^(Uid|Gid|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' <<<"$st" | tr -s '\t ' ' ' | tr '\n' ';')"
check "runs as 65534:65534" awk '/^Uid:/ { u = ($2 == 65534 && $3 == 65534) } /^Gid:/ { g = ($2 == 65534) } END { exit !(u && g) }' <<<"$st"
check "NoNewPrivs is set" grep -qE '^NoNewPrivs:[[:space:]]+1' <<<"$st"
# CAP_NET_BIND_SERVICE 10, CAP_NET_ADMIN 12, CAP_NET_RAW 13: mask 0x3400
want_mask=0
for c in $caps; do
  case $c in CAP_NET_BIND_SERVICE) want_mask=$((want_mask | 1 << 10)) ;; CAP_NET_ADMIN) want_mask=$((want_mask | 1 << 12)) ;;
    CAP_NET_RAW) want_mask=$((want_mask | 1 << 13)) ;; *) fail "unexpected capability $c in the unit" ;; esac
done
eff=$((16#$(awk '/^CapEff:/ { print $2 }' <<<"$st"; [ -n "$st" ] || echo ffff)))
bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' <<<"$st"; [ -n "$st" ] || echo ffff)))
check "CapEff is exactly the unit's set ($(printf '%#x' "$eff"))" test "$eff" = "$want_mask"
check "CapBnd holds no more than the unit's set; CAP_SYS_ADMIN (21) absent" \
  test $((bnd & ~want_mask)) = 0 -a $((bnd & (1 << 21))) = 0

if wait_for "swanless_has s 'net\\{.*INSTALLED'" 15; then pass "the CHILD_SA comes up with the unit's capabilities"
else fail "no CHILD_SA"; tail -n 20 "$(swanless_log s)"; fi
check "ping through the TUN device 10.99.0.1 -> 10.99.0.2" ping_check s 10.99.0.2 3

n0=$(grep -c 'WATCHDOG=1' "$nlog")
sleep 3
n1=$(grep -c 'WATCHDOG=1' "$nlog")
check "WATCHDOG=1 keeps coming (every 0.5 s for WATCHDOG_USEC=1 s): $((n1 - n0)) in 3 s" test $((n1 - n0)) -ge 4

kill -HUP "$pid"
check "SIGHUP (ExecReload): RELOADING=1" wait_log "$nlog" 'RELOADING=1' 5
check "then READY=1 again" wait_for "[ \$(grep -c 'READY=1' '$nlog') -ge 2 ]" 5
awk '/RELOADING=1/ { r = NR } /READY=1/ { if (r && NR > r) ok = 1 } END { exit !ok }' "$nlog" \
  && pass "READY=1 follows RELOADING=1" || fail "no READY=1 after RELOADING=1"
check "still serving after the reload" swanless_has s 'net\{.*INSTALLED'

swanless_stop s
check "SIGTERM: STOPPING=1" grep -q 'STOPPING=1' "$nlog"
tail -n 4 "$nlog"

# --- the log sinks: log=journal (sd-daemon priority prefixes on stderr) and log=syslog
# (datagrams to /dev/log; a private /dev in the mount namespace of this instance, with a
# listener as /dev/log, so the host's syslog is never touched)
pair_swanless_conf "$LAB_DIR/sj.conf" "$psk" setup.log=journal setup.loglevel='"warn, net info"' \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start
swanless_start s sj "$LAB_DIR/sj.conf" || fail "swanless start (log=journal)"
wait_for "swanless_has sj 'net\\{.*INSTALLED'" 15 || fail "log=journal: no CHILD_SA"
swanless_stop sj
jlog=$(swanless_log sj)
check "log=journal: every line starts with a priority and a subsystem ($(grep -c . "$jlog") lines, e.g. '$(head -n 1 "$jlog")')" \
  eval "[ -s '$jlog' ] && ! grep -vqE '^<[3-7]>(ike|esp|gre|pim|net|cfg): ' '$jlog'"
check "log=journal with loglevel=\"warn, net info\": net's info lines (<6>net:), no info from the others" \
  eval "grep -q '^<6>net: ' '$jlog' && ! grep -qE '^<[67]>(ike|esp|gre|pim|cfg): ' '$jlog'"

cat >"$LAB_DIR/devlog.py" <<'PY'
# A stand-in for the syslog daemon: datagrams on /dev/log, one per line in the output file.
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").rstrip("\n") + "\n")
PY
pair_swanless_conf "$LAB_DIR/sy.conf" "$psk" setup.log=syslog \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start
ylog=$LAB_DIR/syslog.out
: >"$ylog"
# shellcheck disable=SC2016  # expanded by the inner sh
private_dev='mount -t tmpfs -o mode=0755 swl-dev /dev && mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/urandom c 1 9 \
  && mkdir /dev/net && mknod -m 600 /dev/net/tun c 10 200 \
  && { timeout 120 python3 "$1" /dev/log "$2" & echo $! >"$3"; } && sleep 0.5 && shift 3 && exec "$@"'
swanless_start s sy "$LAB_DIR/sy.conf" sh -c "$private_dev" sh "$LAB_DIR/devlog.py" "$ylog" "$LAB_DIR/devlog.pid" \
  || fail "swanless start (log=syslog)"
wait_for "swanless_has sy 'net\\{.*INSTALLED'" 15 || fail "log=syslog: no CHILD_SA"
swanless_stop sy
kill "$(cat "$LAB_DIR/devlog.pid" 2>/dev/null)" 2>/dev/null
head -n 2 "$ylog"
# <30> = facility daemon (3) * 8 + info (6); <28> warning, <27> error
check "log=syslog: datagrams to /dev/log, facility daemon, ident swanless[pid], subsystem named ($(grep -c . "$ylog") lines)" \
  eval "grep -qE '^<30>.*swanless\\[[0-9]+\\]: net: listening on UDP' '$ylog' && ! grep -vqE '^<(2[4-9]|3[01])>' '$ylog'"
check "log=syslog: nothing on stderr but what precedes the config" eval "! grep -q 'listening on UDP' '$(swanless_log sy)'"
findmnt -n /dev | grep -q swl-dev && fail "the private /dev leaked to the host" || pass "the host's /dev is untouched"

# --- user=nobody: started as root, swanless opens its sockets, TUN and control socket, then
# becomes nobody keeping only what `swanless check` lists; a reload that adds a conn (a new
# route on the TUN device needs CAP_NET_ADMIN) still works after the drop.
# net's lifetime 14 s (rekeymargin 5 s, fuzz 0): a CHILD_SA rekey 9 s in, after the drop
pair_swanless_conf "$LAB_DIR/su.conf" "$psk" setup.user=nobody esp=aes256-sha256-modp2048! \
  rekeymargin=5s rekeyfuzz=0% \
  --conn net leftsubnet=10.99.0.1/32 rightsubnet=10.99.0.2/32 auto=start lifetime=14s
chown 65534 "$LAB_DIR/su.secrets"   # a reload re-reads it as nobody
# check runs where swanless runs: which side of a conn is local depends on the namespace's
# addresses (this host's own eth0 may well hold 192.0.2.2).
listed=$(nsx s "$SWANLESS" check -c "$LAB_DIR/su.conf" 2>&1 | grep -oE '^  CAP_[A-Z_]+' | sort -u | tr -d ' ' | tr '\n' ' ')
mask=0
for c in $listed; do
  case $c in CAP_NET_BIND_SERVICE) mask=$((mask | 1 << 10)) ;; CAP_NET_ADMIN) mask=$((mask | 1 << 12)) ;;
    CAP_NET_RAW) mask=$((mask | 1 << 13)) ;; esac
done
swanless_start s su "$LAB_DIR/su.conf" || fail "swanless start (user=nobody)"
wait_for "swanless_has su 'net\\{.*INSTALLED'" 15 || fail "user=nobody: no CHILD_SA"
upid=${LAB_SWL_PID[su]}
ust=$(cat "/proc/$upid/status" 2>/dev/null)
echo "user=nobody: $(grep -E '^(Uid|Gid|CapEff|CapPrm|NoNewPrivs):' <<<"$ust" | tr -s '\t ' ' ' | tr '\n' ';')"
check "user=nobody: runs as 65534 after start-up" awk '/^Uid:/ { ok = ($2 == 65534 && $3 == 65534 && $4 == 65534) } END { exit !ok }' <<<"$ust"
ueff=$((16#$(awk '/^CapEff:/ { print $2 }' <<<"$ust"; [ -n "$ust" ] || echo ffff)))
uprm=$((16#$(awk '/^CapPrm:/ { print $2 }' <<<"$ust"; [ -n "$ust" ] || echo ffff)))
check "user=nobody: CapEff and CapPrm are what swanless check lists ($listed= $(printf '%#x' "$mask"))" \
  test "$ueff" = "$mask" -a "$uprm" = "$mask"
check "user=nobody: the log says what it kept" grep -q "running as nobody (uid 65534" "$(swanless_log su)"
check "user=nobody: ping through net" ping_check s 10.99.0.2 2
# The status document reports the same privileges as /proc (issue 16: uid, capability sets,
# no_new_privs), and core dumps are off: a non-dumpable process's /proc files belong to root.
pj=$(swanless_json su 'd["process"]')
echo "user=nobody: status process: $pj"
check "user=nobody: status --json shows uid 65534, CapEff as listed, no_new_privs, not dumpable" \
  swanless_json_true su "d['process']['uid'] == 65534 and sorted(d['process']['cap_effective']) == sorted('$listed'.split()) and d['process']['no_new_privs'] and not d['process']['dumpable']"
# Key material lives in OpenSSL's secure heap, locked while swanless was still root.
check "user=nobody: keys in a locked secure heap, in use, none in ordinary memory" \
  swanless_json_true su "d['process']['secure_heap']['locked'] and d['process']['secure_heap']['used'] > 0 and d['process']['secure_heap']['fallbacks'] == 0"
check "user=nobody: the text status names the locked secure heap" swanless_has su "keys in a locked secure heap of 1024 KiB"
check "user=nobody: no core dump possible (/proc/PID/status owned by root while Uid is 65534)" \
  test "$(stat -c %u "/proc/$upid/status")" = 0
check "user=nobody: the text status says it" swanless_has su "running as uid 65534.*no_new_privs; no core dumps"
spi0=$(swanless_json su 'd["ike_sas"][0]["children"][0]["spi_in"]')
if wait_for "[ \"\$(swanless_counter su child_rekeys)\" -ge 1 ] 2>/dev/null" 25; then
  spi1=$(swanless_json su '[c for s in d["ike_sas"] for c in s["children"] if c["state"] == "INSTALLED"][0]["spi_in"]')
  [ "$spi1" != "$spi0" ] && pass "user=nobody: CHILD_SA rekeyed after the drop ($spi0 -> $spi1)" \
    || fail "user=nobody: rekey counted but the SPI is still $spi0"
  check "user=nobody: ping through net after the rekey" ping_check s 10.99.0.2 2
else
  fail "user=nobody: no CHILD_SA rekey within 25 s"; tail -n 15 "$(swanless_log su)"
fi
cat >>"$LAB_DIR/su.conf" <<EOF

conn net2
    leftsubnet=10.99.1.1/32
    rightsubnet=10.99.1.2/32
    auto=start
EOF
kill -HUP "$upid"
if wait_for "swanless_has su 'net2\\{.*INSTALLED'" 15; then pass "user=nobody: a reload adds conn net2 after the drop"
else fail "user=nobody: net2 not installed after the reload"; tail -n 15 "$(swanless_log su)"; fi
check "user=nobody: ping through net2 (its route was added after the drop)" ping_check s 10.99.1.2 2
check "user=nobody: no permission error in the log" eval "! grep -qiE 'not permitted|permission denied' '$(swanless_log su)'"
swanless_stop su

# --- user=nobody group=daemon with nothing to keep: IKE on 4500 (no port below 1024), a
# transport-mode conn with forceencaps=yes (no TUN device, no raw socket), so swanless
# check lists no capability and none is kept. A reload then asks for what only root could
# do: a tunnel-mode conn (a TUN device: CAP_NET_ADMIN), an IKE_SA on UDP port 600
# (CAP_NET_BIND_SERVICE) and a config setup change. Each is refused by name with the
# capability and "restart"; the conn that was there stays loaded and the daemon serves.
pair_swanless_conf "$LAB_DIR/sz.conf" "$psk" setup.user=nobody setup.group=daemon \
  --conn tp type=transport forceencaps=yes leftikeport=4500 auto=add
chown 65534 "$LAB_DIR/sz.secrets"
check "zero caps: swanless check lists no capability" \
  eval "! nsx s '$SWANLESS' check -c '$LAB_DIR/sz.conf' 2>&1 | grep -qE '^  CAP_'"
swanless_start s sz "$LAB_DIR/sz.conf" || fail "swanless start (zero caps)"
zpid=${LAB_SWL_PID[sz]}
# The control socket exists a moment before the drop: wait for the daemon to say it ran it.
wait_log "$(swanless_log sz)" 'running as nobody' 10 || fail "zero caps: no 'running as nobody' in the log"
zst=$(cat "/proc/$zpid/status" 2>/dev/null)
echo "zero caps: $(grep -E '^(Uid|Gid|Groups|CapEff|CapPrm|NoNewPrivs):' <<<"$zst" | tr -s '\t ' ' ' | tr '\n' ';')"
check "zero caps: uid 65534, gid 1 (group=daemon), no supplementary groups" \
  awk '/^Uid:/ { u = ($2 == 65534 && $4 == 65534) } /^Gid:/ { g = ($2 == 1 && $4 == 1) } /^Groups:/ { n = NF }
       END { exit !(u && g && n == 1) }' <<<"$zst"
check "zero caps: CapEff and CapPrm are empty" \
  awk '/^Cap(Eff|Prm):/ && $2 != "0000000000000000" { bad = 1 } /^CapEff:/ { seen = 1 } END { exit bad || !seen }' <<<"$zst"
cat >>"$LAB_DIR/sz.conf" <<EOF

conn tn
    leftsubnet=10.98.0.1/32
    rightsubnet=10.98.0.2/32
    right=192.0.2.8
    forceencaps=yes
    leftikeport=4500
    auto=add

conn low
    type=transport
    right=192.0.2.9
    forceencaps=yes
    leftikeport=600
    auto=add
EOF
sed -i 's/^config setup$/config setup\n    dumpable=yes/' "$LAB_DIR/sz.conf"
zlog=$(swanless_log sz)
kill -HUP "$zpid"
wait_log "$zlog" 'reload: .* refused' 10 || fail "zero caps: no reload summary"
grep 'reload:' "$zlog" | sed 's/^/  | /'
check "zero caps: the tunnel-mode conn is refused, naming CAP_NET_ADMIN and restart" \
  grep -qE "reload: tn: not started: .*needs CAP_NET_ADMIN, which swanless gave up when it became nobody.*restart swanless" "$zlog"
check "zero caps: the IKE_SA on port 600 is refused, naming CAP_NET_BIND_SERVICE and restart" \
  grep -qE "reload: low: not started: no IKE socket on 192.0.2.1:600; it needs CAP_NET_BIND_SERVICE.*restart swanless" "$zlog"
check "zero caps: the config setup change is named, to take effect at restart" \
  grep -q "reload: config setup dumpable changed: the running values stay until swanless restarts" "$zlog"
check "zero caps: the reload keeps tp (1 unchanged) and counts 2 refused" \
  grep -qE "reload: 1 IKE_SA configuration\(s\) unchanged, .*, 2 refused" "$zlog"
check "zero caps: still serving, still not dumpable, heap state reported" \
  swanless_json_true sz "d['process']['uid'] == 65534 and not d['process']['dumpable'] and 'secure_heap' in d['process']"
swanless_stop sz
charon_stop c
lab_summary
