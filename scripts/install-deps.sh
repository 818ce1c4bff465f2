#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and the lab need.
# Safe to run repeatedly. Starts no daemon: a policy-rc.d that forbids service starts
# is put in place for the install only if none exists, and removed afterwards.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libssl-dev libboost-dev libmnl-dev
            libcli11-dev catch2 nlohmann-json3-dev clang libclang-rt-14-dev)
lab_pkgs=(strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins iperf3
          iputils-ping tcpdump tshark frr iproute2 iptables procps psmisc socat python3)

want=()
for p in "${build_pkgs[@]}" "${lab_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
done
[ ${#want[@]} -eq 0 ] && { echo "install-deps: all packages present"; exit 0; }

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${want[@]}"
