#!/usr/bin/env bash
# The main job on the built-in lab: installs the packages, builds swanless, starts the
# reference scenario (tests/lab: a datacenter with a real strongSwan and a real PIM
# router behind a NAT, a multicast source) with swanless in the cloud namespace, and shows
# the multicast arriving and `swanless status` live. Ctrl-C tears everything down.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "demo.sh needs root (network namespaces)"; exit 1; }
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target swanless
SWANLESS="$top/build/apps/swanless" exec bash tests/lab/lab.sh demo "$@"
