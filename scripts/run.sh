#!/usr/bin/env bash
# The README's main job: install dependencies, build, then a short layer-local LPL run of VGG-11 on
# Fashion-MNIST on the CPU (a few minutes on 2 cores), and a final-layer linear probe of the trained
# network beside the same probe on the untrained network (same seed).
#   env: THREADS (default 2), STEPS (default 200), BATCH (default 64), RUN_DIR (default ./runs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
THREADS=${THREADS:-2}
STEPS=${STEPS:-200}
BATCH=${BATCH:-64}
RUN_DIR=${RUN_DIR:-$PWD/runs}
EXP=fmnist-$(date +%m%d%H%M%S)
# No warm-up (the original's epoch 0 trains at lr 0) and a step budget instead of 800 epochs.
./build/bin/train_vgg11 --dataset fashion-mnist --batch_size "$BATCH" --max_epochs 1 --max_steps "$STEPS" \
  --warmup_epochs 0 --learning_rate 1e-3 --threads "$THREADS" --log_dir "$RUN_DIR" --experiment_name "$EXP"
./build/bin/probe_vgg11 --dataset fashion-mnist --threads "$THREADS" --train_images 5000 --test_images 2000 \
  --weights "$RUN_DIR/fashion-mnist/$EXP/lpl/checkpoints/last.safetensors"
