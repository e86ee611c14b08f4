#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan + UBSan) and runs each over its seed corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   SECONDS per target (default 120); targets default to all
#   scripts/fuzz.sh --build-only
# env: FUZZ_BUILD (default build-fuzz), FUZZ_WORK (new inputs and findings; default FUZZ_BUILD/work)
# Prints per target the executions and the findings (crash-/leak-/timeout-/oom- files); exits 1
# when there are findings, 77 when clang with libFuzzer is not installed (setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(npy safetensors idx idx_gz wmat spk nstate)
BUILD=${FUZZ_BUILD:-build-fuzz}
WORK=${FUZZ_WORK:-$BUILD/work}
CXX_FUZZ=${CXX_FUZZ:-clang++}

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' > "$probe/p.cpp"
if ! "$CXX_FUZZ" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
  echo "fuzz: $CXX_FUZZ cannot build libFuzzer targets (install clang and libclang-rt-14-dev): skipped"
  exit 77
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S fuzz -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX_FUZZ" "${launcher[@]}" >/dev/null
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" >/dev/null
if [ "${1:-}" = "--build-only" ]; then exit 0; fi

SECONDS_PER=${1:-120}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=("${ALL[@]}"); fi
findings=0
printf '%-12s %12s %9s\n' target executions findings
for t in "${TARGETS[@]}"; do
  rm -rf "$WORK/$t/findings"  # findings of this run only
  mkdir -p "$WORK/$t/corpus" "$WORK/$t/findings"
  log="$WORK/$t/log.txt"
  # New inputs go to the work corpus (first folder), never into the seeds under fuzz/corpus.
  # -rss_limit_mb / -malloc_limit_mb: an allocation sized by an unchecked header is a finding.
  "$BUILD/fuzz_$t" "$WORK/$t/corpus" "fuzz/corpus/$t" -max_total_time="$SECONDS_PER" -max_len=65536 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$WORK/$t/findings/" >"$log" 2>&1 && rc=0 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  n=$(find "$WORK/$t/findings" -type f | wc -l)
  # A fuzzer that failed without an artifact, or ran nothing, counts as a finding: it checked nothing.
  if [ "$n" -eq 0 ] && { [ "$rc" -ne 0 ] || [ "${execs:-0}" -eq 0 ]; }; then
    n=1
    echo "$t: the fuzzer exited $rc after ${execs:-0} executions without a finding file (see $log)" >&2
  fi
  findings=$((findings + n))
  printf '%-12s %12s %9s\n' "$t" "${execs:-0}" "$n"
  if [ "$n" -gt 0 ]; then grep -m3 -E 'ERROR|runtime error|SUMMARY|uncaught|what\(\)' "$log" | sed 's/^/    /' || true; fi
done
[ "$findings" -eq 0 ]
