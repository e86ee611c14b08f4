#!/usr/bin/env bash
# GPU check for a bare GPU machine: CUDA toolkit (with cuDNN, cuBLAS), CMake >= 3.25 and a C++
# compiler; no Debian -dev packages, no network. Builds the CUDA-only configuration (CUDA backend,
# every test program with CUDA cases that needs no zlib / HDF5 / stb / oneDNN, bench_ops,
# train_vgg11, make_pairs, compare_weights; header-only dependencies) into build-gpu/, then runs
# the tests, compute-sanitizer, bench_ops, train_vgg11 on CUDA against the CPU, train_vgg11
# --benchmark, --gpus 2 against one GPU (with 2 GPUs and MPI), an Nsight Systems capture and any
# optional checks, and prints one summary. Budget:
# under 5 minutes on one H100/H200 including the build.
#
#   scripts/gpu-check.sh --prepare      where the -dev packages are installed: copy the header-only
#                                       dependencies (doctest, fmt, nlohmann, stb) into .gpu-deps/include
#   scripts/gpu-check.sh --build-only   configure + build build-gpu/, run nothing
#   scripts/gpu-check.sh                configure, build, then every step below
#
# LPL_WERROR=OFF builds without warnings as errors (default ON: a warning fails the build step, and
# the build is then redone with LPL_WERROR=OFF so that the GPU steps still run).
# Optional steps are found by file existence: build-gpu/bin/<program>, nsys on PATH, and every
# executable scripts/gpu-checks/*.sh (run with BUILD_DIR and LOG_DIR set; its last output line is
# its figure). A step that ran nothing reports "skipped", never "ok".
# Logs: $OUT/gpu-check/ when OUT is set, else build-gpu/gpu-check-logs/. Exit status 0 iff no step FAILED.
# Steps after the build share a time budget (GPU_CHECK_BUDGET_S, default 200 s, counted from the end
# of the build); a step that no longer fits reports "skipped" instead of overrunning.
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
TSTART=$(date +%s)
T0=$TSTART  # restarted after the build: the steps' budget clock
BUDGET_S=${GPU_CHECK_BUDGET_S:-200}  # steps after the build; the whole run must fit in 5 minutes
WERROR=${LPL_WERROR:-ON}
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
  echo "================ gpu-check summary ($(( $(date +%s) - TSTART ))s in all, logs in $LOG_DIR) ================"
  printf '%s\n' "${SUMMARY[@]}" | tee "$LOG_DIR/summary.txt"
  exit "$FAILED"
}

# ---- Configure and build --------------------------------------------------------------------------
if [ ! -f "$DEPS/doctest/doctest.h" ]; then
  step configure FAILED "no $DEPS: run scripts/gpu-check.sh --prepare on a machine with the -dev packages and carry .gpu-deps/"
  finish
fi
configure() {  # configure WERROR: cmake into build-gpu/ (configure.log)
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLPL_CUDA_ONLY=ON -DLPL_HEADER_DEPS="$DEPS" \
    -DLPL_WERROR="$1" >"$LOG_DIR/configure.log" 2>&1
}
if configure "$WERROR"; then
  step configure ok "$(grep -o 'lpl: CUDA backend.*' "$LOG_DIR/configure.log" | head -1); $(cmake --version | head -1); LPL_WERROR=$WERROR"
else
  step configure FAILED "see configure.log: $(grep -m1 -i 'error' "$LOG_DIR/configure.log")"
  finish
fi
programs() { echo "$(find "$BUILD/tests" -maxdepth 1 -type f -perm -u+x 2>/dev/null | wc -l) test programs, bin: $(ls "$BUILD/bin" 2>/dev/null | tr '\n' ' ')"; }
B0=$(date +%s)
if cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" >"$LOG_DIR/build.log" 2>&1; then
  step build ok "$(( $(date +%s) - B0 ))s, $(programs)"
elif [ "$WERROR" = ON ] && grep -qE 'Werror|warnings being treated as errors|treated as errors' "$LOG_DIR/build.log"; then
  # Possibly only warnings of this machine's compiler: report them, then rebuild without -Werror
  # so that the scarce GPU time still checks everything else.
  FIRST=$(grep -m1 -E 'warning|error' "$LOG_DIR/build.log")
  mv "$LOG_DIR/build.log" "$LOG_DIR/build-werror.log"
  if configure OFF && cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" >"$LOG_DIR/build.log" 2>&1; then
    step build FAILED "warnings as errors (build-werror.log: $FIRST); rebuilt with LPL_WERROR=OFF in $(( $(date +%s) - B0 ))s, $(programs)"
  else
    step build FAILED "see build.log: $(grep -m1 -E 'error' "$LOG_DIR/build.log")"
    finish
  fi
else
  step build FAILED "see build.log: $(grep -m1 -E 'error' "$LOG_DIR/build.log")"
  finish
fi
[ "$MODE" = "--build-only" ] && finish
T0=$(date +%s)  # the steps' budget starts now
# left: seconds of the budget still unspent.
left() { echo $(( BUDGET_S - ($(date +%s) - T0) )); }

# ---- Tests ----------------------------------------------------------------------------------------
GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
CT=$(left); [ "$CT" -gt 150 ] && CT=150
(cd "$BUILD" && timeout "$CT" ctest -V -j 4 --timeout 120) >"$LOG_DIR/ctest.log" 2>&1
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
  SAN_RAN=0
  for t in engine_test_activation engine_test_pool engine_test_loss gpu_test_cpu_vs_cuda; do
    [ -x "$BUILD/tests/$t" ] || continue
    left=$(( $(left) - 100 ))  # keep time for the benchmarks and the training comparison
    if [ $left -lt 15 ]; then SAN_DETAIL+="$t not run (time budget); "; continue; fi
    [ $left -gt 60 ] && left=60
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
    SAN_RAN=$(( SAN_RAN + 1 ))
  done
  # Nothing checked (no test program built, or no time left) is not a pass.
  [ "$SAN_STATUS" = ok ] && [ "$SAN_RAN" -eq 0 ] && SAN_STATUS=skipped && SAN_DETAIL="nothing run: ${SAN_DETAIL:-no op test program built}"
  step compute-sanitizer "$SAN_STATUS" "$SAN_DETAIL"
fi

# ---- Operator benchmark (optional: apps/bench_ops) -------------------------------------------------
if [ -x "$BUILD/bin/bench_ops" ]; then
  if timeout 120 "$BUILD/bin/bench_ops" --device cuda --json >"$LOG_DIR/bench_ops.json" 2>"$LOG_DIR/bench_ops.err"; then
    G=$(grep -oE '"conv_fwd_bwdfilter_gflops" *: *[-0-9.eE+]+' "$LOG_DIR/bench_ops.json" | grep -oE '[-0-9.eE+]+$')
    timeout 120 "$BUILD/bin/bench_ops" --device cuda --precision bf16 --json >"$LOG_DIR/bench_ops_bf16.json" 2>>"$LOG_DIR/bench_ops.err"
    GB=$(grep -oE '"conv_fwd_bwdfilter_gflops" *: *[-0-9.eE+]+' "$LOG_DIR/bench_ops_bf16.json" 2>/dev/null | grep -oE '[-0-9.eE+]+$')
    step bench_ops ok "conv_fwd_bwdfilter_gflops=${G:-?} fp32, ${GB:-?} bf16 (bench_ops.json, bench_ops_bf16.json)"
  else
    step bench_ops FAILED "rc $?: $(tail -1 "$LOG_DIR/bench_ops.err")"
  fi
else
  step bench_ops skipped "build-gpu/bin/bench_ops not built"
fi

# ---- train_vgg11: a few steps on CUDA against the same steps on the CPU ------------------------------
# A generated `pairs` set (make_pairs: 64 pairs of 3 x 32 x 32, no augmentation, so both devices see
# the same batches). Plain SGD at a constant learning rate (no warm-up), no evaluation. The initial
# weights come from a CPU run whose only step has learning rate 0 (--warmup_epochs 1: start_lr 0),
# so compare_weights measures the trained change: max |cuda - cpu| / max |cpu - initial| per tensor.
TRAIN=$BUILD/bin/train_vgg11
WORK=$BUILD/gpu-check-work
TRAIN_ARGS=(--dataset pairs --data_dir "$WORK/pairs" --batch_size 16 --optimizer sgd --momentum 0.9
  --learning_rate 0.01 --eval_every 0 --histogram_samples 0 --random_seed 7)
TRAIN_TOL=${GPU_CHECK_TRAIN_TOL:-1e-3}
if [ ! -x "$TRAIN" ] || [ ! -x "$BUILD/bin/make_pairs" ] || [ ! -x "$BUILD/bin/compare_weights" ]; then
  step train-cpu-vs-cuda skipped "train_vgg11 / make_pairs / compare_weights not built"
elif [ "$(left)" -lt 60 ]; then
  step train-cpu-vs-cuda skipped "out of time budget ($(left)s left)"
else
  rm -rf "$WORK" && mkdir -p "$WORK"
  tl=$(( $(left) - 40 )); [ $tl -gt 120 ] && tl=120
  S0=$(date +%s)
  # train LOG ARGS...: one train_vgg11 run into LOG; its exit status also in TRC.
  train() { local log=$1; shift; timeout "$tl" "$TRAIN" "${TRAIN_ARGS[@]}" "$@" >"$log" 2>&1; TRC=$?; return $TRC; }
  if ! "$BUILD/bin/make_pairs" "$WORK/pairs" 64 32 1 >"$LOG_DIR/train_pairs.log" 2>&1; then
    step train-cpu-vs-cuda FAILED "make_pairs: $(tail -1 "$LOG_DIR/train_pairs.log")"
  elif ! train "$LOG_DIR/train_init.log" --max_epochs 1 --warmup_epochs 1 --max_steps 1 --device cpu \
         --log_dir "$WORK/init" --experiment_name init; then
    step train-cpu-vs-cuda FAILED "initial weights (CPU, lr 0): rc $TRC: $(tail -1 "$LOG_DIR/train_init.log")"
  elif ! train "$LOG_DIR/train_cuda.log" --max_epochs 1 --warmup_epochs 0 --max_steps 3 --device cuda \
         --log_dir "$WORK/cuda" --experiment_name cuda; then
    step train-cpu-vs-cuda FAILED "--device cuda: rc $TRC: $(grep -m1 'error' "$LOG_DIR/train_cuda.log" || tail -1 "$LOG_DIR/train_cuda.log")"
  elif ! train "$LOG_DIR/train_cpu.log" --max_epochs 1 --warmup_epochs 0 --max_steps 3 --device cpu \
         --log_dir "$WORK/cpu" --experiment_name cpu; then
    step train-cpu-vs-cuda FAILED "--device cpu: rc $TRC: $(tail -1 "$LOG_DIR/train_cpu.log")"
  else
    w() { find "$WORK/$1" -path '*checkpoints/last.safetensors' | head -1; }
    CMP=$("$BUILD/bin/compare_weights" "$(w cpu)" "$(w cuda)" "$TRAIN_TOL" --base "$(w init)" 2>&1)
    rc=$?
    echo "$CMP" >"$LOG_DIR/train_compare.log"
    if [ $rc -eq 0 ]; then st=ok; else st=FAILED; fi
    step train-cpu-vs-cuda "$st" "$(echo "$CMP" | tail -1); 3 SGD steps, $(( $(date +%s) - S0 ))s"
  fi
fi

# ---- train_vgg11 --benchmark on CUDA -----------------------------------------------------------------
if [ ! -x "$TRAIN" ]; then
  step train-benchmark skipped "train_vgg11 not built"
elif [ "$(left)" -lt 30 ]; then
  step train-benchmark skipped "out of time budget ($(left)s left)"
else
  if timeout 60 "$TRAIN" --benchmark 20 --batch_size 256 --device cuda >"$LOG_DIR/train_benchmark.json" \
       2>"$LOG_DIR/train_benchmark.err"; then
    T32=$(timeout 60 "$TRAIN" --benchmark 20 --batch_size 256 --device cuda --tf32 2>/dev/null | grep -oE '"images_per_s":[0-9.eE+]+' | cut -d: -f2)
    BF=$(timeout 60 "$TRAIN" --benchmark 20 --batch_size 256 --device cuda --precision bf16 2>"$LOG_DIR/train_benchmark_bf16.err" | grep -oE '"images_per_s":[0-9.eE+]+' | cut -d: -f2)
    step train-benchmark ok "VGG-11 layer-local batch 256: $(grep -oE '"images_per_s":[0-9.eE+]+' "$LOG_DIR/train_benchmark.json" | cut -d: -f2) images/s (--tf32: ${T32:-?}, --precision bf16: ${BF:-?})"
  else
    step train-benchmark FAILED "rc $?: $(tail -1 "$LOG_DIR/train_benchmark.err")"
  fi
fi

# ---- --gpus 2: two ranks (NCCL) against one GPU with the same global batch; scaling ----------------------
if [ "${GPUS:-0}" -lt 2 ]; then
  step train-2-gpus skipped "${GPUS:-0} GPU(s) visible (needs 2)"
elif ! command -v mpirun >/dev/null 2>&1 || ! grep -q 'MPI yes' "$LOG_DIR/configure.log" 2>/dev/null; then
  step train-2-gpus skipped "no MPI on this machine or in this build (openmpi-bin libopenmpi-dev)"
elif [ ! -f "$WORK/pairs/view1.npy" ] || [ "$(left)" -lt 60 ]; then
  step train-2-gpus skipped "no generated pairs or out of time budget ($(left)s left)"
else
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  D2=(--max_epochs 1 --warmup_epochs 0 --max_steps 3 --device cuda)
  if timeout 120 "$TRAIN" "${TRAIN_ARGS[@]}" "${D2[@]}" --log_dir "$WORK/g1" --experiment_name g1 >"$LOG_DIR/train_g1.log" 2>&1 &&
     timeout 120 "$TRAIN" "${TRAIN_ARGS[@]}" "${D2[@]}" --gpus 2 --log_dir "$WORK/g2" --experiment_name g2 >"$LOG_DIR/train_g2.log" 2>&1; then
    w() { find "$WORK/$1" -path '*checkpoints/last.safetensors' | head -1; }
    CMP=$("$BUILD/bin/compare_weights" "$(w g1)" "$(w g2)" "$TRAIN_TOL" --base "$(w init)" 2>&1); rc=$?
    B1=$(timeout 60 "$TRAIN" --benchmark 20 --batch_size 512 --device cuda 2>/dev/null | grep -oE '"images_per_s":[0-9.eE+]+' | cut -d: -f2)
    B2=$(timeout 60 "$TRAIN" --benchmark 20 --batch_size 512 --device cuda --gpus 2 2>/dev/null | grep -oE '"images_per_s":[0-9.eE+]+' | cut -d: -f2)
    if [ $rc -eq 0 ]; then st=ok; else st=FAILED; fi
    step train-2-gpus "$st" "$(echo "$CMP" | tail -1); batch 512: 1 GPU ${B1:-?}, 2 GPUs ${B2:-?} images/s"
  else
    step train-2-gpus FAILED "see train_g1.log / train_g2.log: $(tail -1 "$LOG_DIR/train_g2.log")"
  fi
fi

# ---- Nsight Systems capture of a few training steps (optional: nsys) ---------------------------------
NSYS=$(command -v nsys || true)
if [ -z "$NSYS" ]; then
  step nsys skipped "nsys not installed"
elif [ ! -x "$TRAIN" ] || [ ! -d "$WORK/pairs" ]; then
  step nsys skipped "no train_vgg11 or no generated pairs (train-cpu-vs-cuda did not get that far)"
elif [ "$(left)" -lt 40 ]; then
  step nsys skipped "out of time budget ($(left)s left)"
else
  # --profile: 2 warm-up steps, then 5 steps between cudaProfilerStart/Stop, nothing written.
  if timeout 90 "$NSYS" profile --capture-range=cudaProfilerApi --capture-range-end=stop --trace=cuda,nvtx,cublas,cudnn \
       --force-overwrite=true -o "$LOG_DIR/train_vgg11" "$TRAIN" "${TRAIN_ARGS[@]}" --max_epochs 4 --device cuda --profile \
       --profile_warmup_steps 2 --profile_steps 5 --log_dir "$WORK/nsys" >"$LOG_DIR/nsys.log" 2>&1 &&
     [ -f "$LOG_DIR/train_vgg11.nsys-rep" ]; then
    step nsys ok "train_vgg11.nsys-rep ($(du -h "$LOG_DIR/train_vgg11.nsys-rep" | cut -f1))"
  else
    step nsys FAILED "see nsys.log: $(tail -1 "$LOG_DIR/nsys.log")"
  fi
fi

# ---- Optional checks: scripts/gpu-checks/*.sh ----------------------------------------------------------
shopt -s nullglob
for s in "$ROOT"/scripts/gpu-checks/*.sh; do
  name=$(basename "$s" .sh)
  left=$(left)
  if [ $left -lt 20 ]; then step "$name" skipped "out of time budget"; continue; fi
  BUILD_DIR=$BUILD LOG_DIR=$LOG_DIR timeout "$left" bash "$s" >"$LOG_DIR/$name.log" 2>&1
  rc=$?
  # Exit status 77: the check had nothing to run here.
  if [ $rc -eq 0 ]; then step "$name" ok "$(tail -1 "$LOG_DIR/$name.log")"
  elif [ $rc -eq 77 ]; then step "$name" skipped "$(tail -1 "$LOG_DIR/$name.log")"
  else step "$name" FAILED "rc $rc: $(tail -1 "$LOG_DIR/$name.log")"
  fi
done

finish
