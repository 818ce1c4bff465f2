# shellcheck shell=bash
# fuzz_dict NAME: the libFuzzer dictionary (fuzz/dict/*.dict) for fuzz target NAME, as a
# -dict= option, or nothing. Sourced by scripts/test.sh and scripts/fuzz-long.sh.
fuzz_dict() {
  local d=""
  case $1 in
    ike_*) d=ike ;;
    esp_*|fixup|tun_offload) d=esp ;;
    gre*|pim) d=pim ;;
    control) d=control ;;
    swanctl) d=swanctl ;;
  esac
  local top; top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ -n "$d" ] && [ -f "$top/fuzz/dict/$d.dict" ] && echo "-dict=$top/fuzz/dict/$d.dict"
}
