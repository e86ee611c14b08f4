#!/usr/bin/env bash
# GPU check for a bare GPU machine: CUDA toolkit (with cuDNN, cuBLAS), CMake and a C++ compiler;
# no Debian -dev packages, no network. Builds the CUDA-only configuration (CUDA backend + its
# tests + bench_ops, header-only dependencies) into build-gpu/, runs the tests, compute-sanitizer,
# the benchmark and any optional checks, then prints one summary. Budget: under 5 minutes on one
# H100/H200.
#
#   scripts/gpu-check.sh --prepare      where the -dev packages are installed: copy the header-only
#                                       dependencies (doctest, fmt, nlohmann, stb) into .gpu-deps/include
#   scripts/gpu-check.sh --build-only   configure + build build-gpu/, run nothing
#   scripts/gpu-check.sh                configure, build, ctest, compute-sanitizer, bench_ops, extra checks
#
# Optional steps are found by file existence: build-gpu/bin/bench_ops, and every executable
# scripts/gpu-checks/*.sh (run with BUILD_DIR and LOG_DIR set; its last output line is its figure).
# Logs: $OUT/gpu-check/ when OUT is set, else build-gpu/gpu-check-logs/. Exit status 0 iff no step FAILED.
# Steps after the build share a time budget (GPU_CHECK_BUDGET_S, default 285 s from the start);
# a step that no longer fits reports "skipped" instead of overrunning.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEPS=$ROOT/.gpu-deps/include
BUILD=$ROOT/build-gpu
MODE=${1:-run}

if [ "$MODE" = "--prepare" ]; then
  set -e
  rm -rf "$DEPS"
  mkdir -p "$DEPS"
  for d in doctest fmt nlohmann; do
    [ -d "/usr/include/$d" ] || { echo "gpu-check --prepare: /usr/include/$d missing (run scripts/setup.sh)" >&2; exit 1; }
    cp -r "/usr/include/$d" "$DEPS/"
  done
  [ -d /usr/include/stb ] && cp -r /usr/include/stb "$DEPS/"
  echo "gpu-check --prepare: header-only dependencies in $DEPS ($(du -sh "$DEPS" | cut -f1))"
  exit 0
fi
case "$MODE" in
  run | --build-only) ;;
  *) echo "usage: scripts/gpu-check.sh [--prepare | --build-only]" >&2; exit 2 ;;
esac

# The toolkit's usual place, when nvcc / compute-sanitizer are not on PATH.
command -v nvcc >/dev/null 2>&1 || [ ! -d /usr/local/cuda/bin ] || export PATH=$PATH:/usr/local/cuda/bin
if [ -n "${OUT:-}" ]; then LOG_DIR=$OUT/gpu-check; else LOG_DIR=$BUILD/gpu-check-logs; fi
mkdir -p "$LOG_DIR"
T0=$(date +%s)
BUDGET_S=${GPU_CHECK_BUDGET_S:-285}  # the whole run must fit in 5 minutes
SUMMARY=()
FAILED=0
# step NAME STATUS DETAIL: record one summary line.
step() {
  SUMMARY+=("$(printf '%-18s %-8s %s' "$1" "$2" "$3")")
  [ "$2" = "FAILED" ] && FAILED=1
  printf '[gpu-check] %-18s %-8s %s  (%ss elapsed)\n' "$1" "$2" "$3" "$(( $(date +%s) - T0 ))"
}
finish() {
  echo
  echo "================ gpu-check summary ($(( $(date +%s) - T0 ))s, logs in $LOG_DIR) ================"
  printf '%s\n' "${SUMMARY[@]}" | tee "$LOG_DIR/summary.txt"
  exit "$FAILED"
}

# ---- Configure and build --------------------------------------------------------------------------
if [ ! -f "$DEPS/doctest/doctest.h" ]; then
  step configure FAILED "no $DEPS: run scripts/gpu-check.sh --prepare on a machine with the -dev packages and carry .gpu-deps/"
  finish
fi
if cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLPL_CUDA_ONLY=ON -DLPL_HEADER_DEPS="$DEPS" \
    >"$LOG_DIR/configure.log" 2>&1; then
  step configure ok "$(grep -o 'lpl: CUDA backend.*' "$LOG_DIR/configure.log" | head -1)"
else
  step configure FAILED "see configure.log: $(grep -m1 -i 'error' "$LOG_DIR/configure.log")"
  finish
fi
B0=$(date +%s)
if cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" >"$LOG_DIR/build.log" 2>&1; then
  step build ok "$(( $(date +%s) - B0 ))s, $(find "$BUILD/tests" -maxdepth 1 -type f -perm -u+x | wc -l) test programs"
else
  step build FAILED "see build.log: $(grep -m1 -E 'error' "$LOG_DIR/build.log")"
  finish
fi
[ "$MODE" = "--build-only" ] && finish

# ---- Tests ----------------------------------------------------------------------------------------
GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
(cd "$BUILD" && timeout 150 ctest -V -j 4 --timeout 120) >"$LOG_DIR/ctest.log" 2>&1
RC=$?
# doctest's per-program summaries: "N: [doctest] test cases: T | P passed | F failed | S skipped"
read -r PASSED SKIPPED FAILCASES < <(grep -E '\[doctest\] test cases:' "$LOG_DIR/ctest.log" |
  sed -E 's/.*\| *([0-9]+) passed \| *([0-9]+) failed \| *([0-9]+) skipped.*/\1 \3 \2/' |
  awk '{p+=$1; s+=$2; f+=$3} END {print p+0, s+0, f+0}')
TESTS_LINE=$(grep -E 'tests passed|tests failed' "$LOG_DIR/ctest.log" | tail -1)
DETAIL="${TESTS_LINE:-no ctest summary}; doctest cases: $PASSED passed, $FAILCASES failed, $SKIPPED skipped; GPUs: $GPUS"
if [ $RC -eq 0 ] && [ "$SKIPPED" -eq 0 ] && [ "$PASSED" -gt 0 ]; then
  step ctest ok "$DETAIL"
elif [ $RC -eq 0 ]; then
  step ctest FAILED "$DETAIL (CUDA cases must run here, not be skipped)"
else
  step ctest FAILED "$DETAIL; see ctest.log: $(grep -m3 -E 'ERROR|Failed|\*\*\*' "$LOG_DIR/ctest.log" | tr '\n' ' ')"
fi

# ---- compute-sanitizer (memcheck) on the op tests' CUDA cases ------------------------------------
SAN=$(command -v compute-sanitizer || true)
[ -z "$SAN" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && SAN=/usr/local/cuda/bin/compute-sanitizer
if [ -z "$SAN" ]; then
  step compute-sanitizer skipped "not installed"
else
  SAN_STATUS=ok
  SAN_DETAIL=""
  for t in engine_test_activation engine_test_pool engine_test_loss gpu_test_cpu_vs_cuda; do
    [ -x "$BUILD/tests/$t" ] || continue
    left=$(( BUDGET_S - 60 - ($(date +%s) - T0) ))  # keep a minute for the benchmark
    if [ $left -lt 15 ]; then SAN_DETAIL+="$t not run (time budget); "; continue; fi
    [ $left -gt 90 ] && left=90
    log=$LOG_DIR/sanitizer_$t.log
    (cd "$ROOT/tests" && timeout "$left" "$SAN" --tool memcheck --error-exitcode 99 "$BUILD/tests/$t" -tc='*cuda*') >"$log" 2>&1
    rc=$?
    errs=$(grep -oE 'ERROR SUMMARY: [0-9]+ error' "$log" | tail -1 | grep -oE '[0-9]+')
    if [ -z "$errs" ]; then
      # No summary: the sanitizer could not attach here (unsupported driver/GPU) or timed out.
      if [ $rc -eq 124 ]; then SAN_STATUS=FAILED; SAN_DETAIL+="$t timed out; "
      elif [ "$SAN_STATUS" = ok ]; then SAN_STATUS=skipped; SAN_DETAIL="not working here: $(grep -m1 -v '^\s*$' "$log")"; break
      fi
    elif [ "$errs" -ne 0 ] || [ $rc -ne 0 ]; then
      SAN_STATUS=FAILED; SAN_DETAIL+="$t: $errs errors (rc $rc); "
    else
      SAN_DETAIL+="$t 0 errors; "
    fi
  done
  step compute-sanitizer "$SAN_STATUS" "$SAN_DETAIL"
fi

# ---- Operator benchmark (optional: apps/bench_ops) -------------------------------------------------
if [ -x "$BUILD/bin/bench_ops" ]; then
  if timeout 120 "$BUILD/bin/bench_ops" --device cuda --json >"$LOG_DIR/bench_ops.json" 2>"$LOG_DIR/bench_ops.err"; then
    G=$(grep -oE '"conv_fwd_bwdfilter_gflops" *: *[-0-9.eE+]+' "$LOG_DIR/bench_ops.json" | grep -oE '[-0-9.eE+]+$')
    step bench_ops ok "conv_fwd_bwdfilter_gflops=${G:-?} (bench_ops.json)"
  else
    step bench_ops FAILED "rc $?: $(tail -1 "$LOG_DIR/bench_ops.err")"
  fi
else
  step bench_ops skipped "build-gpu/bin/bench_ops not built"
fi

# ---- Optional checks: scripts/gpu-checks/*.sh ----------------------------------------------------------
shopt -s nullglob
for s in "$ROOT"/scripts/gpu-checks/*.sh; do
  name=$(basename "$s" .sh)
  left=$(( BUDGET_S - ($(date +%s) - T0) ))
  if [ $left -lt 20 ]; then step "$name" skipped "out of time budget"; continue; fi
  if BUILD_DIR=$BUILD LOG_DIR=$LOG_DIR timeout "$left" bash "$s" >"$LOG_DIR/$name.log" 2>&1; then
    step "$name" ok "$(tail -1 "$LOG_DIR/$name.log")"
  else
    step "$name" FAILED "rc $?: $(tail -1 "$LOG_DIR/$name.log")"
  fi
done

finish
