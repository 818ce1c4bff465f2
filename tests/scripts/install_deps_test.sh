#!/usr/bin/env bash
# Every exit path of scripts/install-deps.sh, with fake dpkg-query, apt-get and
# debconf-set-selections first on PATH (nothing is installed, no root needed):
#   - everything present: exit 0, apt-get never runs
#   - packages missing, a policy-rc.d already there (as on the project's images): exit 0,
#     the file is left exactly as it was (the bug of issue 10: exit 1 here)
#   - packages missing, no policy-rc.d: one that forbids starts (exit 101) exists while
#     apt-get installs, and is gone afterwards; exit 0
#   - apt-get update fails / apt-get install fails: its status, policy file removed
#   - apt-get "succeeds" but a package is still missing: exit 1
#   - a second run after a good one: "all packages present", exit 0
# Prints "N passed, M failed"; exits 1 if anything failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
script=$here/../../scripts/install-deps.sh
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "PASS: $*"; }
ko() { failed=$((failed + 1)); echo "FAIL: $*"; }

work=$(mktemp -d /tmp/swl-deps-test.XXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
cat >"$work/bin/dpkg-query" <<'F'
#!/usr/bin/env bash
# dpkg-query -W -f='${Status}' PKG: installed when $FAKE/installed/PKG exists
pkg=${!#}
if [ -e "$FAKE/installed/$pkg" ]; then printf 'install ok installed'; exit 0; fi
echo "dpkg-query: no packages found matching $pkg" >&2; exit 1
F
cat >"$work/bin/apt-get" <<'F'
#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE/apt.log"
case " $* " in
  *" update "*) exit "${FAKE_UPDATE_RC:-0}" ;;
esac
# during install: is there a policy-rc.d, and does it forbid starting services?
if [ -x "$SWANLESS_POLICY_RC_D" ]; then "$SWANLESS_POLICY_RC_D"; echo "policy rc $?" >>"$FAKE/apt.log"
else echo "policy none" >>"$FAKE/apt.log"; fi
[ "${FAKE_INSTALL_RC:-0}" -eq 0 ] || exit "$FAKE_INSTALL_RC"
for a in "$@"; do
  case $a in -*|install) ;; *) [ "$a" = "${FAKE_SKIP:-}" ] || touch "$FAKE/installed/$a" ;; esac
done
exit 0
F
printf '#!/bin/sh\ncat >/dev/null\n' >"$work/bin/debconf-set-selections"
chmod +x "$work/bin/"*
pkgs=$(sed -n '/^build_pkgs=(/,/)$/p; /^lab_pkgs=(/,/)$/p' "$script" | tr '()' '  ' | sed 's/[a-z_]*=//' | tr -s ' \n' '\n' | grep -v '^$')
[ -n "$pkgs" ] || { echo "cannot read the package lists of $script"; exit 1; }

# run_case NAME [ENV=VALUE...]: fresh fake state; sets rc and out
run_case() {
  export FAKE=$work/$1; shift
  rm -rf "$FAKE"; mkdir -p "$FAKE/installed"
  export SWANLESS_POLICY_RC_D=$FAKE/policy-rc.d
  out=$(env PATH="$work/bin:$PATH" "$@" bash "$script" 2>&1); rc=$?
}
all_installed() { local p; for p in $pkgs; do touch "$FAKE/installed/$p"; done; }

# 1. everything present
export FAKE=$work/present; rm -rf "$FAKE"; mkdir -p "$FAKE/installed"; all_installed
export SWANLESS_POLICY_RC_D=$FAKE/policy-rc.d
out=$(env PATH="$work/bin:$PATH" bash "$script" 2>&1); rc=$?
[ $rc -eq 0 ] && [ ! -e "$FAKE/apt.log" ] && grep -q "all packages present" <<<"$out" \
  && ok "all present: exit 0, apt-get not run" || ko "all present: rc=$rc, out: $out"

# 2. missing packages, policy-rc.d already there (the image's own)
export FAKE=$work/existing; rm -rf "$FAKE"; mkdir -p "$FAKE/installed"
export SWANLESS_POLICY_RC_D=$FAKE/policy-rc.d
printf '#!/bin/sh\n# the image'"'"'s own\nexit 101\n' >"$SWANLESS_POLICY_RC_D"; chmod 755 "$SWANLESS_POLICY_RC_D"
before=$(sha256sum <"$SWANLESS_POLICY_RC_D")
out=$(env PATH="$work/bin:$PATH" bash "$script" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "existing policy-rc.d: exit 0 after installing" || ko "existing policy-rc.d: rc=$rc (issue 10), out: $out"
[ "$(sha256sum <"$SWANLESS_POLICY_RC_D" 2>/dev/null)" = "$before" ] && ok "existing policy-rc.d left as it was" \
  || ko "existing policy-rc.d changed or removed"
out=$(env PATH="$work/bin:$PATH" bash "$script" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "all packages present" <<<"$out" && ok "second run: all present, exit 0" \
  || ko "second run: rc=$rc, out: $out"

# 3. missing packages, no policy-rc.d
run_case created
[ $rc -eq 0 ] && ok "no policy-rc.d: exit 0 after installing" || ko "no policy-rc.d: rc=$rc, out: $out"
grep -q "policy rc 101" "$FAKE/apt.log" && ok "no policy-rc.d: one forbidding starts (101) during apt-get install" \
  || ko "no policy-rc.d: none in place during install ($(grep policy "$FAKE/apt.log"))"
[ ! -e "$SWANLESS_POLICY_RC_D" ] && ok "no policy-rc.d: the one created is removed afterwards" \
  || ko "no policy-rc.d: created file left behind"
n=$(grep -c '^apt-get .*install' "$FAKE/apt.log")
[ "$n" -eq 1 ] && ok "one apt-get install for all missing packages" || ko "$n apt-get install calls"

# 4. apt-get update fails
run_case upd FAKE_UPDATE_RC=100
[ $rc -eq 100 ] && [ ! -e "$SWANLESS_POLICY_RC_D" ] && grep -q "update failed" <<<"$out" \
  && ok "apt-get update fails: exit 100, says so, policy removed" || ko "update fails: rc=$rc, out: $out"

# 5. apt-get install fails
run_case inst FAKE_INSTALL_RC=100
[ $rc -eq 100 ] && [ ! -e "$SWANLESS_POLICY_RC_D" ] && grep -q "install failed" <<<"$out" \
  && ok "apt-get install fails: exit 100, says so, policy removed" || ko "install fails: rc=$rc, out: $out"

# 6. install "succeeds" but one package is still not installed
run_case short FAKE_SKIP=frr
[ $rc -eq 1 ] && grep -q "still missing after install: frr" <<<"$out" \
  && ok "a package still missing after apt-get: exit 1, named" || ko "still missing: rc=$rc, out: $out"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
