#!/usr/bin/env bash
# The paper's smaller experiments with small settings, in a few minutes on 2 cores: every lpl_* program
# and plot tool (experiments/README.md), PNGs gathered in OUT/png, a summary at the end. The full-size
# commands are in the README ("The paper's figures").
#   scripts/figures.sh [OUT (default: figures)]
# Environment: BIN_DIR (default build/bin), THREADS (2). OUT must not exist yet (nothing is overwritten).
# A failed step is reported and the others still run; the exit status is 1 if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-figures}
BIN=${BIN_DIR:-build/bin}
T=${THREADS:-2}
PY=${LPL_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
export LPL_SOURCE_DIR=$ROOT
if [ -e "$OUT" ]; then echo "figures.sh: $OUT exists (give a new folder)" >&2; exit 1; fi
for p in lpl_rule_curves lpl_toy2d lpl_toy_digits lpl_shapes3d_figures lpl_swap_exposure train_vgg11 eval_linear; do
  [ -x "$BIN/$p" ] || { echo "figures.sh: $BIN/$p not built (bash scripts/build.sh)" >&2; exit 1; }
done
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
SUMMARY=()
FAILED=0
# step NAME CMD...: runs CMD with its output in logs/NAME.log, records status and wall time.
step() {
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name"
  if "$@" >"$OUT/logs/$name.log" 2>&1; then
    SUMMARY+=("$(printf '%-14s ok      %4ds' "$name" $((SECONDS - t0)))")
  else
    local rc=$?
    SUMMARY+=("$(printf '%-14s FAILED  %4ds  (rc %d; see logs/%s.log: %s)' "$name" $((SECONDS - t0)) "$rc" "$name" "$(tail -1 "$OUT/logs/$name.log")")")
    FAILED=1
  fi
}
skip() { SUMMARY+=("$(printf '%-14s skipped        (%s)' "$1" "$2")"); }

# E1 / S1: the rule and the loss forms, from the engine's objective (already the paper's settings).
step rule_curves "$BIN/lpl_rule_curves" --out "$OUT/rule_curves"
# Fig. 2: a single LPL neuron on the 2-D two-cluster sequences, and its ablations.
step toy2d "$BIN/lpl_toy2d" --out "$OUT/toy2d" --reps 2 --num_sigmas 9 --steps 3000 --trajectory_sigmas 0.3,3 --threads "$T"

FMNIST=/usr/share/datasets/fashion-mnist
if [ -f "$FMNIST/train-images-idx3-ubyte.gz" ]; then
  # Fig. S2: a single LPL layer on sequences of two classes (Fashion-MNIST 5 and 6 for MNIST's digits).
  step toy_digits "$BIN/lpl_toy_digits" --out "$OUT/toy_digits" --runs 2 --steps 300 --threads "$T"
  # Fig. 3 panels: short Fashion-MNIST runs of LPL (two seeds) and its ablations, probed per layer,
  # with an untrained network and the pixels.
  deep_nets() {
    local runs=() label args seed
    for spec in "lpl:24:" "lpl:25:" "pred_off:24:--pull_coeff 0" "hebb_off:24:--push_coeff 0" "decorr_off:24:--decorr_coeff 0"; do
      IFS=: read -r label seed args <<<"$spec"
      # shellcheck disable=SC2086
      "$BIN/train_vgg11" --dataset fashion-mnist --batch_size 64 --max_steps 40 --warmup_epochs 0 --threads "$T" \
        --random_seed "$seed" --log_dir "$OUT/runs" --experiment_name "${label}_s$seed" $args || return 1
      "$BIN/eval_linear" --experiment_dir "$OUT/runs/fashion-mnist/${label}_s$seed/lpl" --dataset fashion-mnist \
        --threads "$T" --limit_probe_train 5000 --limit_test 2000 --no_metrics --no_plot \
        --out "$OUT/runs/${label}_s$seed.json" || return 1
      runs+=(--run "$label=$OUT/runs/${label}_s$seed.json")
    done
    "$BIN/eval_linear" --random_init --dataset fashion-mnist --threads "$T" --limit_probe_train 5000 --limit_test 2000 \
      --no_metrics --no_plot --evaluate_pixel_acc --out "$OUT/runs/random.json" || return 1
    "$PY" tools/plot_deep_nets.py --out "$OUT/deep_nets" "${runs[@]}" --run "random=$OUT/runs/random.json" \
      --run "pixels=$OUT/runs/random.json" --title "Fashion-MNIST, 40 steps (small settings)"
  }
  step deep_nets deep_nets
  # Fig. 4: swap exposure on a network without biases (as the paper's; a biased one lights up the empty
  # canvas), trained 100 steps here: the smallest whose readout is position tolerant enough to mean much.
  swap_exposure() {
    "$BIN/train_vgg11" --dataset fashion-mnist --no_biases --batch_size 32 --max_steps 100 --warmup_epochs 0 \
      --threads "$T" --random_seed 1 --log_dir "$OUT/runs" --experiment_name swap_nobias || return 1
    "$BIN/lpl_swap_exposure" --run_dir "$OUT/runs/fashion-mnist/swap_nobias/lpl" --dataset fashion-mnist \
      --out "$OUT/swap_exposure" --pairs 8 --first_image 0 --readout_pool 128 --readout_steps 1000 \
      --readout_batch 64 --exposure_steps 400 --threads "$T"
  }
  step swap_exposure swap_exposure
else
  for s in toy_digits deep_nets swap_exposure; do skip "$s" "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"; done
fi
# ED Figs. 5-6: Shapes3D trajectory statistics, transition probabilities, disentanglement (small h5 made here).
step shapes3d bash tools/shapes3d_figures_small.sh "$OUT/shapes3d" "$BIN"

# Every PNG in one folder, named after its step.
mkdir -p "$OUT/png"
while IFS= read -r f; do
  rel=${f#"$OUT"/}
  cp "$f" "$OUT/png/$(echo "${rel%%/*}")_$(basename "$f")"
done < <(find "$OUT" -name '*.png' -not -path "$OUT/png/*" | sort)
echo
echo "figures.sh: $OUT ($(find "$OUT/png" -name '*.png' | wc -l) PNGs in $OUT/png)"
printf '  %s\n' "${SUMMARY[@]}"
exit $FAILED
