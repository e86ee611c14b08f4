#!/usr/bin/env bash
# Compares lpl's conv forward + backward-filter speed (apps/bench_ops) with PyTorch's on the same
# VGG-11 shapes, in one go (bench_ops --only conv_fwd,conv_bwd_filter). Each side runs --rounds
# times alternately (the best figure of each counts), so background load hits both alike; on a busy
# machine compare the ratio, not the absolute figures.
#   tools/compare_conv_speed.sh [--threads N] [--batch B] [--reps R] [--rounds K]
#   env: BUILD_DIR (default build), PYTHON (default /usr/bin/python3, which has Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=2 BATCH=256 REPS=3 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "compare_conv_speed: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
BENCH=${BUILD_DIR:-build}/bin/bench_ops
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$BENCH" ] || { echo "compare_conv_speed: $BENCH not found: build first (scripts/build.sh)" >&2; exit 1; }
"$PYTHON" -c "import torch" 2>/dev/null || { echo "compare_conv_speed: $PYTHON has no torch (scripts/setup.sh --tools)" >&2; exit 1; }
figure() { "$PYTHON" -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["conv_fwd_bwdfilter_gflops"])'; }
best() { "$PYTHON" -c 'import sys; print(max(float(v) for v in sys.argv[1:]))' "$@"; }
ours=() theirs=()
for ((r = 1; r <= ROUNDS; r++)); do
  ours+=("$("$BENCH" --device cpu --threads "$THREADS" --batch "$BATCH" --reps "$REPS" --only conv_fwd,conv_bwd_filter --json | figure)")
  theirs+=("$("$PYTHON" tools/bench_torch_conv.py --threads "$THREADS" --batch "$BATCH" --reps "$REPS" --json | figure)")
  echo "round $r: lpl ${ours[-1]} GFLOP/s, pytorch ${theirs[-1]} GFLOP/s"
done
o=$(best "${ours[@]}") t=$(best "${theirs[@]}")
"$PYTHON" -c "import sys; o, t = float(sys.argv[1]), float(sys.argv[2]); print(f'conv fwd+bwd-filter, {sys.argv[3]} threads, batch {sys.argv[4]}: lpl {o:.1f} GFLOP/s, pytorch {t:.1f} GFLOP/s, ratio {o / t:.3f}')" "$o" "$t" "$THREADS" "$BATCH"
