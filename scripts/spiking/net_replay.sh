#!/usr/bin/env bash
# SPIKING.md 12.2 / 12.3: replays a reference network run (recorded inputs, reference connectivity
# and initial state) with the port and compares it with the original Auryn outputs.
#   scripts/spiking/net_replay.sh 50|1900 [OUT_DIR]     env: REF (spiking-ref folder), PYTHON
# 50: 500 000 steps (seconds); 1900: 19 000 000 steps (a few minutes on one core).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REF=${REF:-$ROOT/../shared/spec/spiking-ref}
PYTHON=${PYTHON:-/usr/bin/python3}
which=${1:?usage: net_replay.sh 50|1900 [OUT_DIR]}
OUT=${2:-/tmp/lpl_net$which}
BIN=$ROOT/build/bin/sim_lpl_spiking
[ -x "$BIN" ] || { echo "net_replay: build first ($BIN missing)" >&2; exit 1; }
[ -d "$REF" ] || { echo "net_replay: reference folder $REF not found (set REF=)" >&2; exit 1; }
mkdir -p "$OUT"
case $which in
  50) extra=(--tau_mean 10 --simtime 20); spk=$REF/net50/input_group.0.spk; prime=() ;;
  1900) extra=(--tau_mean 600 --simtime 100); spk=$OUT/input_group.ref.spk; prime=(--prime-steps 18000000)
        [ -s "$spk" ] || xz -dc "$REF/net1900/input_group.0.spk.xz" > "$spk" ;;
  *) echo "net_replay: first argument must be 50 or 1900" >&2; exit 1 ;;
esac
# run_snn.sh parameters (spiking-ref/README.md section 3) plus the replay options of the port.
/usr/bin/time -f "net_replay: %e s wall, %U s user" "$BIN" --quiet --seed 123 --sparseness 0.1 --ampa 1 --ne 100 --ni 25 \
  --wext 0.15 --wee 0.0 --wei 0.5 --wii 0.4 --wie 0.5 --psize 100 --plen 4 --tau_sigma2 30 --phi 1 --lambda 1 \
  --zeta 1e-3 --kappa 10 --eta 1e-2 --tau_weight_decay 1e9 --ieplastic "${extra[@]}" --dir "$OUT/out" \
  --input_spikes "$spk" --load_connectivity "$REF/net_init"
cat "$OUT/out/sim_lpl_spiking.0.log"
"$PYTHON" "$ROOT/tools/spiking/compare_network.py" "$OUT/out" "$REF/net$which/out" "${prime[@]}"
