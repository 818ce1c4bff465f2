#!/usr/bin/env bash
# A fuzzing campaign: every libFuzzer target (or the ones named) for N minutes each, one at
# a time, with its dictionary, from fuzz/corpus/<name>/ plus what earlier campaigns kept.
# The corpus found is minimised (-merge=1) back into fuzz/corpus/<name>/ (new files only,
# the seeds stay); a table of execs, execs/s, coverage and crashes is printed at the end
# and written to build-fuzz/campaign.tsv. Crash reproducers are kept in build-fuzz/crashes/
# and make the script exit 1.
#   scripts/fuzz-long.sh [-m MINUTES] [-j JOBS] [TARGET...]     (FUZZ_MINUTES, default 10)
# -j runs that many targets side by side (one core each).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. scripts/fuzz-dict.sh
minutes=${FUZZ_MINUTES:-10}
jobs=1
while getopts "m:j:" o; do
  case $o in m) minutes=$OPTARG ;; j) jobs=$OPTARG ;; *) exit 2 ;; esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
if [ ! -d build-fuzz ] || [ ! -x "build-fuzz/fuzz/fuzz_${targets[0]}" ]; then
  cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DSWANLESS_FUZZ=ON -DSWANLESS_SANITIZE=ON \
    -DSWANLESS_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build-fuzz -j"$(nproc)" || exit 1
fi
work=build-fuzz/campaign
mkdir -p "$work" build-fuzz/crashes

run_one() {  # NAME: fuzz, then merge; prints one TSV row
  local name=$1 bin=build-fuzz/fuzz/fuzz_$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/merged"
  [ -d "fuzz/corpus/$name" ] && cp -rn "fuzz/corpus/$name/." "$dir/corpus/" 2>/dev/null
  # shellcheck disable=SC2046
  "$bin" $(fuzz_dict "$name") -max_total_time=$((minutes * 60)) -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="build-fuzz/crashes/$name-" "$dir/corpus" >"$dir/fuzz.log" 2>&1
  local rc=$?
  local execs eps cov ft crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/fuzz.log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$dir/fuzz.log" | tail -1 | cut -d' ' -f2)
  crashes=$(find build-fuzz/crashes -name "$name-*" 2>/dev/null | wc -l)
  # minimise into the repository corpus: only files that add coverage over the seeds
  mkdir -p "fuzz/corpus/$name"
  "$bin" $(fuzz_dict "$name") -merge=1 "fuzz/corpus/$name" "$dir/corpus" >"$dir/merge.log" 2>&1
  local kept; kept=$(find "fuzz/corpus/$name" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$minutes" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
    "$crashes" "$kept" >"$dir/row.tsv"
  [ $rc -eq 0 ] || echo "fuzz $name: exit $rc (see $dir/fuzz.log)" >&2
}

running=0
for t in "${targets[@]}"; do
  [ -x "build-fuzz/fuzz/fuzz_$t" ] || { echo "no target fuzz_$t" >&2; exit 2; }
  echo "$(date +%H:%M:%S) fuzzing $t for $minutes min" >&2
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
{
  printf 'target\tminutes\texecs\texecs/s\tcov\tft\tcrashes\tcorpus\n'
  for t in "${targets[@]}"; do cat "$work/$t/row.tsv"; done
} | tee build-fuzz/campaign.tsv | column -t -s $'\t'
total=$(find build-fuzz/crashes -type f | wc -l)
[ "$total" -eq 0 ] || { echo "$total crash reproducer(s) in build-fuzz/crashes"; exit 1; }
