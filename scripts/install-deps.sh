#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and the lab need.
# Safe to run repeatedly. Starts no daemon: a policy-rc.d that forbids service starts
# is put in place for the install only if none exists, and removed afterwards; one that
# was already there (many images ship one) is left as it was.
# Exit status: 0 when every package is installed at the end, otherwise apt-get's status
# (or 1). tests/scripts/install_deps_test.sh runs every exit path with a fake apt-get.
set -euo pipefail

# For the test only: where the policy file lives (default: Debian's path).
policy=${SWANLESS_POLICY_RC_D:-/usr/sbin/policy-rc.d}

build_pkgs=(build-essential cmake pkg-config libssl-dev libboost-dev libmnl-dev
            libcli11-dev catch2 nlohmann-json3-dev clang libclang-rt-14-dev)
lab_pkgs=(strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins libstrongswan-standard-plugins iperf3
          iputils-ping tcpdump tshark frr iproute2 nftables iptables procps psmisc socat python3
          python3-jsonschema python3-cryptography systemd prometheus pandoc lintian man-db)

missing() {
  local p out=()
  for p in "${build_pkgs[@]}" "${lab_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p")
  done
  echo "${out[*]}"
}

read -r -a want <<<"$(missing)"
if [ ${#want[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
# An EXIT trap's last command sets the script's status in bash: keep it a plain 'if', so
# that "nothing to remove" cannot turn a good install into exit 1.
cleanup() {
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
rc=0
apt-get update -q || rc=$?
if [ "$rc" -ne 0 ]; then echo "install-deps: apt-get update failed (rc=$rc)" >&2; exit "$rc"; fi
apt-get install -y -q --no-install-recommends "${want[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then echo "install-deps: apt-get install failed (rc=$rc)" >&2; exit "$rc"; fi

read -r -a still <<<"$(missing)"
if [ ${#still[@]} -ne 0 ]; then
  echo "install-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: installed ${#want[@]} packages"
exit 0
