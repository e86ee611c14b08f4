#!/usr/bin/env bash
# The paper's cheaper intermediate (SPIKING.md 12.5): run_snn_augmented_grad.sh, i.e. the E/I network
# with the augmented (per-synapse normalised) gradient, 1800 s priming + 10,000 s learning, then the
# Fig. 5 measures early (10-110 s) and at the end, and the Fig. 5 panels as PNG.
# About 9 minutes on one idle core.
#   scripts/spiking/augmented_run.sh [OUT_DIR] [SEED]   env: PYTHON, SIMTIME (10000), REF
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/lpl_augmented}; SEED=${2:-123}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=${REF:-$ROOT/../shared/spec/spiking-ref}
BIN=$ROOT/build/bin/sim_lpl_spiking
[ -x "$BIN" ] || { echo "augmented_run: build first ($BIN missing)" >&2; exit 1; }
mkdir -p "$OUT"; cd "$OUT"
"$PYTHON" "$ROOT/tools/spiking/mk_rates.py" >/dev/null
# The E->I mask: the reference bundle's when present (the one of every reference run), else a seeded one.
if [ -f "$REF/net_inputs/local_inh_connectivity.wmat" ]; then cp "$REF/net_inputs/local_inh_connectivity.wmat" .
else "$PYTHON" "$ROOT/tools/spiking/mk_local_inh_connectivity.py" --seed "$SEED"; fi
"$BIN" --seed "$SEED" --sparseness 0.1 --ampa 1 --ne 100 --ni 25 --wext 0.15 --wee 0.0 --wei 0.5 --wii 0.4 --wie 0.5 \
  --psize 100 --plen 4 --tau_sigma2 30 --phi 1 --lambda 1 --zeta 1e-3 --kappa 10 --eta 1e-2 --tau_weight_decay 1e9 \
  --augment_gradient --ieplastic --tau_mean 600 --simtime "${SIMTIME:-10000}" --dir .
A="$ROOT/tools/spiking/lpl_analysis.py"
echo "== measures, 10-110 s"; "$PYTHON" "$A" measures input_group.0.spk exc.0.spk input_con.0.wmat 10 100
echo "== measures, last 100 s"; "$PYTHON" "$A" measures input_group.0.spk exc.0.spk input_con.0.wmat end 100
"$PYTHON" "$A" network-figures . "$OUT/fig5_augmented.png" --label "augmented gradient, seed $SEED"
