#!/usr/bin/env bash
# SPIKING.md 12.4, the priming-rate check in detail: how much of the seed-to-seed spread of the
# priming E rate comes from the random IN->E draw, and where Auryn's draw (spiking-ref) sits.
#  (a) N runs with our own connectivity draws (seeds 1..N, own Poisson inputs, seeded masks);
#  (b) M runs with Auryn's connectivity (spiking-ref/net_init) and our own Poisson inputs;
# each PRIME_S seconds of priming (run_snn.sh parameters; priming does not depend on tau_mean except
# for its length), then tools/spiking/priming_vs_connectivity.py: per-neuron rate vs in-degree over
# the own draws (Poisson regression), the rate it predicts for Auryn's in-degrees, and that draw's
# percentile among fresh Bernoulli(0.1) draws.
#   scripts/spiking/priming_connectivity.sh [OUT_DIR] [JOBS] [N] [M]   env: PRIME_S (300), PYTHON, REF
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/lpl_priming}; JOBS=${2:-$(nproc)}; N=${3:-30}; M=${4:-6}
PRIME_S=${PRIME_S:-300}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=${REF:-$ROOT/../shared/spec/spiking-ref}
BIN=$ROOT/build/bin/sim_lpl_spiking
[ -x "$BIN" ] || { echo "priming_connectivity: build first ($BIN missing)" >&2; exit 1; }
[ -d "$REF/net_init" ] || { echo "priming_connectivity: reference bundle not found at $REF (set REF=)" >&2; exit 1; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
TAU=$("$PYTHON" -c "print($PRIME_S/3)")
ARGS="--quiet --sparseness 0.1 --ampa 1 --ne 100 --ni 25 --wext 0.15 --wee 0.0 --wei 0.5 --wii 0.4 --wie 0.5 --psize 100 --plen 4 --tau_sigma2 30 --phi 1 --lambda 1 --zeta 1e-3 --kappa 10 --eta 1e-2 --tau_weight_decay 1e9 --ieplastic --tau_mean $TAU --simtime 0"
(cd "$OUT" && "$PYTHON" "$ROOT/tools/spiking/mk_rates.py" >/dev/null)
: > "$OUT/jobs.txt"
for s in $(seq 1 "$N"); do
  d=$OUT/own$s; mkdir -p "$d"; cp "$OUT"/rates*.dat "$d/"
  (cd "$d" && "$PYTHON" "$ROOT/tools/spiking/mk_local_inh_connectivity.py" --seed "$s" >/dev/null)
  echo "$d $BIN $ARGS --seed $s --dir ." >> "$OUT/jobs.txt"
done
for s in $(seq 1 "$M"); do
  d=$OUT/refconn$s; mkdir -p "$d"; cp "$OUT"/rates*.dat "$REF/net_inputs/local_inh_connectivity.wmat" "$d/"
  echo "$d $BIN $ARGS --seed $s --load_connectivity $REF/net_init --dir ." >> "$OUT/jobs.txt"
done
"$ROOT/build/bin/sim_sweep" -j "$JOBS" "$OUT/jobs.txt"
echo "== our own draws (seeds 1..$N), first $PRIME_S s of priming"
"$PYTHON" "$ROOT/tools/spiking/priming_vs_connectivity.py" --prime-s "$PRIME_S" --json "$OUT/priming_vs_connectivity.json" \
  --ref "$REF/net_init" "$REF/net1900/out/exc.0.spk" "$OUT"/own*
echo "== Auryn's connectivity with our own Poisson inputs (seeds 1..$M) vs Auryn's run, first $PRIME_S s"
"$PYTHON" - "$PRIME_S" "$REF/net1900/out/exc.0.spk" "$OUT"/refconn* <<'PY'
import sys, numpy as np
T = float(sys.argv[1]); last = int(round(T * 1e4))
def rate(p):
    r = np.fromfile(p, dtype='<u4').reshape(-1, 2)[1:]
    return (r[:, 0] < last).sum() / (100 * T)
ref = rate(sys.argv[2]); own = [rate(d + '/exc.0.spk') for d in sys.argv[3:]]
print(f"Auryn {ref:.4f} Hz; ours {' '.join(f'{x:.4f}' for x in own)} Hz: mean {np.mean(own):.4f} ({100 * (np.mean(own) - ref) / ref:+.1f} %)")
PY
