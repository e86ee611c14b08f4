#!/usr/bin/env bash
# The paper's baselines at one budget on Fashion-MNIST: each mode trains STEPS steps of batch 64 at
# a constant learning rate (no warm-up: with the original's per-epoch warm-up, epoch 0 trains at
# lr 0), then probe_vgg11 fits a linear probe on the final layer (5000 train / 2000 test images).
#   scripts/compare_baselines.sh [STEPS] [ENCODER]   (default 100 vgg)   env: BIN (default build/bin), THREADS (2), OUT
# ENCODER vgg | alexnet | resnet; modes an encoder does not have (ResNet-50: layer-local, projectors)
# are listed as such.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
STEPS=${1:-100}
ENCODER=${2:-vgg}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d /tmp/lpl_baselines.XXXXXX)}
mkdir -p "$OUT"
export OMP_NUM_THREADS=$THREADS
common=(--encoder "$ENCODER" --dataset fashion-mnist --batch_size 64 --max_steps "$STEPS" --warmup_epochs 0 --learning_rate 1e-3
  --eval_every 0 --threads "$THREADS" --log_dir "$OUT")
declare -A modes=(
  [lpl]=""
  [negative_samples]="--use_negative_samples --decorr_coeff 0 --use_projector_mlp"
  [supervised]="--train_with_supervision"
  [supervised_end-to-end]="--train_end_to_end --train_with_supervision"
  [lpl_end-to-end]="--train_end_to_end"
  [negative_samples_end-to-end]="--train_end_to_end --use_negative_samples --decorr_coeff 0 --use_projector_mlp"
)
printf '%-28s %-22s %s\n' mode "total loss first -> last" "final-layer probe"
untrained_shown=0
for m in lpl negative_samples supervised supervised_end-to-end lpl_end-to-end negative_samples_end-to-end; do
  # shellcheck disable=SC2086
  if ! "$BIN/train_vgg11" "${common[@]}" ${modes[$m]} --experiment_name "$m" >"$OUT/$m.train.log" 2>&1; then
    if grep -q "end-to-end only\|has no projector" "$OUT/$m.train.log"; then
      printf '%-28s %s\n' "$m" "(not a mode of $ENCODER: $(grep -o 'error: .*' "$OUT/$m.train.log" | head -n 1))"
      continue
    fi
    echo "$m: train_vgg11 failed, see $OUT/$m.train.log" >&2
    exit 1
  fi
  loss=$(grep '^total loss' "$OUT/$m.train.log" | tail -n 1 | sed 's/total loss //')
  w=$(find "$OUT/fashion-mnist/$m" -name last.safetensors | head -n 1)
  extra=(--no_untrained)
  [ $untrained_shown = 0 ] && extra=()
  "$BIN/probe_vgg11" --weights "$w" --dataset fashion-mnist --threads "$THREADS" --train_images 5000 --test_images 2000 \
    "${extra[@]}" >"$OUT/$m.probe.log" 2>&1
  printf '%-28s %-22s %s\n' "$m" "$loss" "$(grep -o 'top-1 [0-9.]* %' "$OUT/$m.probe.log" | head -n 1)"
  if [ $untrained_shown = 0 ]; then
    printf '%-28s %-22s %s\n' "(untrained, same seed)" "" "$(grep -o 'top-1 [0-9.]* %' "$OUT/$m.probe.log" | tail -n 1)"
    untrained_shown=1
  fi
done
echo "logs: $OUT"
