#!/usr/bin/env bash
# The training-step speeds the README states, in one go: train_vgg11 --benchmark for every encoder,
# mode and precision it quotes, and the same steps in Debian's PyTorch (tools/bench_torch_lpl_step.py),
# each --rounds times alternately so background load hits both alike. One line per step:
#   <step>: lpl A-B, pytorch C-D, lpl/pytorch E-Fx (images/s)   (ranges over the rounds; n/a: failed)
#   tools/compare_step_speed.sh [--threads N] [--rounds K] [--quick]
#   --quick: VGG-11 layer-local fp32 and bf16 only
#   env: BUILD_DIR (default build), PYTHON (default /usr/bin/python3, which has Debian's python3-torch),
#        OLD_BIN (an older train_vgg11 to time beside ours, e.g. to measure a change), MPIRUN (default
#        mpirun; the 2-rank row is skipped without it)
# Idle machine only: a build or another benchmark on 2 cores cuts the figures several times over.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=2 ROUNDS=2 QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "compare_step_speed: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
TRAIN=${BUILD_DIR:-build}/bin/train_vgg11
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$TRAIN" ] || { echo "compare_step_speed: $TRAIN not found: build first (scripts/build.sh)" >&2; exit 1; }
"$PYTHON" -c "import torch" 2>/dev/null || { echo "compare_step_speed: $PYTHON has no torch (scripts/setup.sh --tools)" >&2; exit 1; }

# images/s from a run's last JSON line; "nan" (shown as n/a) when the run failed
ips() { local out; out=$("$@" 2>/dev/null) || { echo nan; return; }
  grep -oE '"images_per_s": ?[0-9.eE+]+' <<<"$out" | tail -1 | grep -oE '[0-9.eE+]+$' || echo nan; }
lpl() { ips "$TRAIN" --benchmark 5 --device cpu "$@"; }
old() { ips "$OLD_BIN" --benchmark 5 --device cpu "$@"; }
torch() { ips "$PYTHON" tools/bench_torch_lpl_step.py --steps 5 --threads "$THREADS" "$@"; }
ranks2() {
  command -v "${MPIRUN:-mpirun}" >/dev/null || { echo nan; return; }
  ips "${MPIRUN:-mpirun}" -np 2 --bind-to none "$TRAIN" --benchmark 5 --device cpu --threads 1 "$@"
}

# name | lpl arguments | PyTorch arguments (empty: none)
STEPS=(
  "VGG-11 layer-local fp32, batch 256|--batch_size 256|--batch_size 256"
  "VGG-11 layer-local bf16, batch 256|--batch_size 256 --precision bf16|--batch_size 256"
  "VGG-11 layer-local, PyTorch views apart (the original's step)||--batch_size 256 --views_apart"
)
[ "$QUICK" = 1 ] || STEPS+=(
  "VGG-11 negative samples + projector, batch 256|--batch_size 256 --use_negative_samples --use_projector_mlp --decorr_coeff 0|"
  "VGG-11 supervised, batch 256|--batch_size 256 --train_with_supervision|"
  "VGG-11 end-to-end, batch 256|--batch_size 256 --train_end_to_end|--batch_size 256 --end_to_end"
  "AlexNet layer-local, batch 128|--batch_size 128 --encoder alexnet|--batch_size 128 --encoder alexnet"
  "AlexNet end-to-end, batch 128|--batch_size 128 --encoder alexnet --train_end_to_end|--batch_size 128 --encoder alexnet --end_to_end"
  "ResNet-50 end-to-end, batch 64|--batch_size 64 --encoder resnet --train_end_to_end|--batch_size 64 --encoder resnet --end_to_end"
  "VGG-11 layer-local, batch 128, 1 thread|RANK1|"
  "VGG-11 layer-local, batch 128, mpirun -np 2, 1 thread each|RANK2|"
)

range() { "$PYTHON" -c 'import sys
v=[float(x) for x in sys.argv[1:] if x != "nan"]
print("-".join(sorted({"%.0f" % min(v), "%.0f" % max(v)}, key=float)) if v else "n/a")' "$@"; }
ratio() { "$PYTHON" -c 'import sys
a=[float(x) for x in sys.argv[1].split()]; b=[float(x) for x in sys.argv[2].split()]
r=[x / y for x, y in zip(a, b) if x == x and y == y and y > 0]
print(("%.2f-%.2fx" % (min(r), max(r))) if r else "n/a")' "$1" "$2"; }

for step in "${STEPS[@]}"; do
  IFS='|' read -r name ours theirs <<<"$step"
  a=() b=() o=()
  for ((r = 1; r <= ROUNDS; r++)); do
    case "$ours" in
      "") ;;
      RANK1) a+=("$(lpl --threads 1 --batch_size 128)") ;;
      RANK2) a+=("$(ranks2 --batch_size 128)") ;;
      *) # shellcheck disable=SC2086
         a+=("$(lpl --threads "$THREADS" $ours)")
         # shellcheck disable=SC2086
         [ -z "${OLD_BIN:-}" ] || o+=("$(old --threads "$THREADS" $ours)") ;;
    esac
    # shellcheck disable=SC2086
    [ -z "$theirs" ] || b+=("$(torch $theirs)")
  done
  parts=()
  [ ${#a[@]} = 0 ] || parts+=("lpl $(range "${a[@]}")")
  [ ${#o[@]} = 0 ] || parts+=("OLD_BIN $(range "${o[@]}")")
  [ ${#b[@]} = 0 ] || parts+=("pytorch $(range "${b[@]}")")
  [ ${#a[@]} = 0 ] || [ ${#b[@]} = 0 ] || parts+=("lpl/pytorch $(ratio "${a[*]}" "${b[*]}")")
  line=$(printf '%s, ' "${parts[@]}")
  echo "$name: ${line%, } (images/s)"
done
