#!/usr/bin/env bash
# The Shapes3D figures with small settings (well under a minute on 2 cores): a small 3dshapes.h5
# (tools/make_shapes3d_small.py), its trajectories, eval_linear on an untrained network (per-factor
# probes, pixel probes, saved features), then lpl_shapes3d_figures on all of it.
#   tools/shapes3d_figures_small.sh OUT_DIR [BIN_DIR (default build/bin)]
# OUT_DIR must not exist yet. The paper-size command is in the report of issue 16 / the program's --help.
set -euo pipefail
out=${1:?usage: tools/shapes3d_figures_small.sh OUT_DIR [BIN_DIR]}
bin=${2:-build/bin}
here=$(cd "$(dirname "$0")" && pwd)
py=${LPL_PYTHON:-/usr/bin/python3}
[ -x "$py" ] || py=python3
if [ -e "$out" ]; then echo "shapes3d_figures_small.sh: $out exists" >&2; exit 1; fi
sizes=4,4,4,3,2,4
"$py" "$here/make_shapes3d_small.py" "$out/data" --sizes $sizes --px 32
"$bin/make_shapes3d_trajectories" --out "$out/data/3dshapes_trajectories.npy" --sizes $sizes --sequences 2000
"$bin/eval_linear" --random_init --dataset shapes3d --data_dir "$out/data" --device cpu --threads 2 \
  --last_layer_only --no_metrics --no_plot --probe_epochs 10 --evaluate_pixel_acc \
  --out "$out/eval/random/eval.json" --save_features "$out/features/random" > "$out/eval_random.log"
LPL_SOURCE_DIR=${LPL_SOURCE_DIR:-$(dirname "$here")} "$bin/lpl_shapes3d_figures" --out "$out/figures" \
  --trajectories "$out/data/3dshapes_trajectories.npy" --sizes $sizes --h5 "$out/data/3dshapes.h5" \
  --eval random="$out/eval/random/eval.json" --features random="$out/features/random/probe_train" \
  --pixels "$out/data" --vote_batch 256 --votes_per_value 5 --vote_reps 3
