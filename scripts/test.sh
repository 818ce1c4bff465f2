#!/usr/bin/env bash
# The project's test command (README): installs what it needs, builds, runs every test.
#   1. Debian packages (scripts/install-deps.sh), then the tests of the scripts themselves
#   2. Release (-O3) build with g++ (-Werror), what users get, and the Catch2 unit tests (ctest)
#   3. the Debian package: built, linted, installed, checked, purged (tests/package)
#   4. libFuzzer targets with clang + ASan/UBSan, each run briefly on its seed corpus
#   5. namespace tests against real peers (tests/interop, tests/lab, tests/adversary) — need root
# Prints "N passed, M failed" at the end; exits non-zero when anything failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
jobs=$(nproc)
passed=0
failed=0
failures=()
step() { printf '\n=== %s ===\n' "$*"; }
record() {  # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS: $1"
  else failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1 (rc=$2)"; fi
}

step "dependencies"
bash scripts/install-deps.sh || { echo "dependency installation failed"; exit 1; }

step "script tests (install-deps exit paths, fake apt-get)"
for t in tests/scripts/*_test.sh; do
  bash "$t"
  record "$t" $?
done

step "build (g++)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build -j"$jobs"
rc=$?
record "build" $rc
[ $rc -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }

step "unit tests (ctest)"
(cd build && ctest --output-on-failure -j"$jobs")
record "unit tests" $?

step "Debian package (cpack, lintian, dpkg -i, the installed sample and man pages)"
if [ "$(id -u)" -ne 0 ]; then
  echo "the package test installs the .deb: needs root, skipped"
  record "package test needs root" 1
else
  bash tests/package/package_test.sh "$top/build"
  record "tests/package/package_test.sh" $?
fi

. scripts/fuzz-dict.sh
step "fuzz targets (clang, ASan+UBSan, ${FUZZ_SECONDS}s each)"
if cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DSWANLESS_FUZZ=ON -DSWANLESS_SANITIZE=ON \
     -DSWANLESS_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build build-fuzz -j"$jobs"; then
  for f in fuzz/*.cpp; do
    name=$(basename "$f" .cpp)
    corpus=$(mktemp -d)
    [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$corpus/"
    # shellcheck disable=SC2046
    ./build-fuzz/fuzz/fuzz_"$name" $(fuzz_dict "$name") -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
        -artifact_prefix="build-fuzz/$name-" "$corpus" >"build-fuzz/$name.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || tail -40 "build-fuzz/$name.log"
    record "fuzz $name" $rc
    rm -rf "$corpus"
  done
else
  record "fuzz build" 1
fi

step "namespace tests (real strongSwan, PIM router)"
if [ "$(id -u)" -ne 0 ]; then
  echo "namespace tests need root: skipped"
  record "namespace tests need root" 1
else
  for t in tests/interop/swanless_*.sh tests/lab/test_*.sh tests/adversary/*.sh; do
    [ -e "$t" ] || continue
    echo "--- $t"
    SWANLESS="$top/build/apps/swanless" timeout 900 bash "$t"
    record "$t" $?
  done
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
