#!/usr/bin/env bash
# The Debian package, as a user gets it: built with CPack from a build tree, clean under
# lintian (documented overrides only), installed with dpkg -i on this machine, then:
# the binary and unit in place, `systemd-analyze verify` on the installed unit, the
# packaged sample config refused by `swanless check` until edited (with the reason), the
# swanless system user created and owning the 0600 secrets file, both man pages rendered by
# `man -l`; purged at the end (also on failure) with nothing of it left.
#   sudo tests/package/package_test.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: package_test.sh BUILD_DIR}
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
[ "$(id -u)" -eq 0 ] || { echo "package_test: needs root (dpkg -i)"; exit 1; }
if dpkg-query -W -f='${Status}' swanless 2>/dev/null | grep -q 'install ok installed'; then
  echo "package_test: a swanless package is already installed here; not touching it"; exit 1
fi
purge() { dpkg --purge swanless >/dev/null 2>&1; }
trap purge EXIT

rm -f "$build"/swanless_*.deb
(cd "$build" && cpack >cpack.log 2>&1) || { cat "$build/cpack.log"; fail "cpack"; exit 1; }
deb=$(ls "$build"/swanless_*.deb 2>/dev/null | head -1)
check "cpack built $(basename "${deb:-none}")" test -s "$deb"
lint=$(lintian "$deb" 2>&1 | grep -v 'running with root privileges')
check "lintian: no error or warning${lint:+ ($lint)}" test -z "$lint"
overrides=$(lintian --show-overrides "$deb" 2>&1 | grep -c '^O:')
echo "lintian overrides used: $overrides (packaging/lintian-overrides says why)"

out=$(dpkg -i "$deb" 2>&1); rc=$?
check "dpkg -i${out:+: $(tail -n 1 <<<"$out")}" test $rc -eq 0
check "/usr/bin/swanless runs (--help)" eval "/usr/bin/swanless --help >/dev/null"
check "the unit is installed" test -f /usr/lib/systemd/system/swanless.service
v=$(systemd-analyze verify /usr/lib/systemd/system/swanless.service 2>&1); rc=$?
check "systemd-analyze verify on the installed unit${v:+ ($v)}" test $rc -eq 0 -a -z "$v"
check "conffile: /etc/swanless/swanless.conf" grep -qx /etc/swanless/swanless.conf /var/lib/dpkg/info/swanless.conffiles
check "postinst made the system user swanless" eval "getent passwd swanless >/dev/null"
check "secrets file 0600 swanless:swanless" test "$(stat -c %a:%U:%G /etc/swanless/swanless.secrets 2>/dev/null)" = 600:swanless:swanless
out=$(/usr/bin/swanless check -c /etc/swanless/swanless.conf 2>&1); rc=$?
echo "$out" | sed 's/^/  check: /'
check "swanless check refuses the packaged sample until edited (exit $rc)" \
  eval "[ $rc -eq 1 ] && grep -q 'this is the sample configuration' <<<\"\$out\""
# the same file with sample=yes removed and a conn written passes
edited=$(mktemp -d)
sed '/^    sample=yes/d; /^# conn %default/,$ s/^# \{0,1\}//' /etc/swanless/swanless.conf >"$edited/swanless.conf"
printf '203.0.113.10 198.51.100.20 : PSK "edited"\n' >"$edited/swanless.secrets"
chmod 600 "$edited/swanless.secrets"
out=$(/usr/bin/swanless check -c "$edited/swanless.conf" 2>&1); rc=$?
check "the sample's example, uncommented and without sample=yes, passes check (exit $rc)" test $rc -eq 0
[ $rc -eq 0 ] || echo "$out" | tail -n 5
rm -rf "$edited"
for page in 8/swanless 5/swanless.conf; do
  f=/usr/share/man/man${page%%/*}/${page#*/}.${page%%/*}.gz
  txt=$(MANWIDTH=100 man -l "$f" 2>/dev/null)
  check "man -l $f renders ($(wc -l <<<"$txt") lines, NAME section)" eval "grep -q '^NAME' <<<\"\$txt\" && [ \$(wc -l <<<\"\$txt\") -gt 20 ]"
done

purge
trap - EXIT
check "dpkg --purge leaves no binary, unit, config or user" \
  eval "[ ! -e /usr/bin/swanless ] && [ ! -e /usr/lib/systemd/system/swanless.service ] && [ ! -e /etc/swanless ] && ! getent passwd swanless >/dev/null"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
