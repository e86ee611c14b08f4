#!/usr/bin/env bash
# SPIKING.md 12.6 / 4.7: the erratum variants of the STDP protocol (long sweep, T = 50 ms, 10 Hz).
#  - --reparam with initial variance S*1e-4 must reproduce the default run with S (Auryn: max dW diff 3.6e-5);
#  - --unit_gain_eligibility with eta*20 must reproduce the default run (the filter gain only rescales eta);
#  - --threshold_mode add and --delta_mode per_pre_spike (delta 1e-3) are shown against the default.
# With REF set to spiking-ref (default ../shared/spec/spiking-ref, if present) the 50-s network replay is
# also run with --reparam next to the default, for a qualitative comparison (spike counts, weights).
#   scripts/spiking/erratum_variants.sh [OUT_DIR] [JOBS]     env: PYTHON, REF
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/lpl_erratum}; JOBS=${2:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$ROOT/build/bin/sim_lpl_stdp_protocol
[ -x "$BIN" ] || { echo "erratum_variants: build first ($BIN missing)" >&2; exit 1; }
mkdir -p "$OUT/inputs"; OUT=$(cd "$OUT" && pwd)
(cd "$OUT/inputs" && "$PYTHON" "$ROOT/tools/spiking/mk_spikes.py" --interval 50e-3 --freq 10)
common="--prime 0.0 --simtime 200 --sparsenes 1.0 --wext 0.5 --psize 100 --tau_mean 600 --lambda 1 --quiet --input_dir $OUT/inputs"
: > "$OUT/jobs.txt"
for M in 0 10 20; do for S in 0.001 0.1 1.0 100; do
  Sr=$("$PYTHON" -c "print(repr($S*1e-4))")
  echo "$OUT/default_M${M}_S$S $BIN $common --dir . --eta 5e-3 --initmean $M --initsigma2 $S" >> "$OUT/jobs.txt"
  echo "$OUT/reparam_M${M}_S$S $BIN $common --dir . --eta 5e-3 --initmean $M --initsigma2 $Sr --reparam" >> "$OUT/jobs.txt"
  echo "$OUT/unitgain_M${M}_S$S $BIN $common --dir . --eta 0.1 --initmean $M --initsigma2 $S --unit_gain_eligibility" >> "$OUT/jobs.txt"
  echo "$OUT/thradd_M${M}_S$S $BIN $common --dir . --eta 5e-3 --initmean $M --initsigma2 $S --threshold_mode add" >> "$OUT/jobs.txt"
  echo "$OUT/preDelta_M${M}_S$S $BIN $common --dir . --eta 5e-3 --initmean $M --initsigma2 $S --delta_mode per_pre_spike --delta 1e-3" >> "$OUT/jobs.txt"
done; done
REF=${REF:-$ROOT/../shared/spec/spiking-ref}
if [ -d "$REF/net50" ]; then
  net="$ROOT/build/bin/sim_lpl_spiking --quiet --seed 123 --sparseness 0.1 --ne 100 --ni 25 --wext 0.15 --wei 0.5 --wii 0.4 --wie 0.5 --psize 100 --plen 4 --tau_sigma2 30 --zeta 1e-3 --kappa 10 --eta 1e-2 --ieplastic --tau_mean 10 --simtime 20 --dir . --input_spikes $REF/net50/input_group.0.spk --load_connectivity $REF/net_init"
  echo "$OUT/net50_default $net" >> "$OUT/jobs.txt"
  echo "$OUT/net50_reparam $net --reparam" >> "$OUT/jobs.txt"
fi
"$ROOT/build/bin/sim_sweep" -j "$JOBS" "$OUT/jobs.txt" | tail -1
for v in default reparam; do
  [ -d "$OUT/net50_$v" ] || continue
  echo "network 50-s replay, $v:"; "$PYTHON" "$ROOT/tools/spiking/summarize_run.py" "$OUT/net50_$v" --prime-s 30 | grep -E "rate|w_"
done
"$PYTHON" - "$OUT" <<'PY'
import os, sys
import numpy as np
sys.path.insert(0, os.path.join(os.environ.get('ROOT', ''), 'tools', 'spiking'))
out = sys.argv[1]
def dW(run):
    with open(os.path.join(out, run, 'input_con.0.wmat')) as f:
        body = [l for l in f if not l.startswith('%')]
    return (np.array([float(l.split()[2]) for l in body[1:]]) - 0.5) / 0.5
def nspk(run):
    return (os.path.getsize(os.path.join(out, run, 'exc.0.spk')) - 8) // 8
worst = {}
print('%-16s %12s %12s %14s %14s   %s' % ('run (M, S)', 'reparam', 'unit gain', 'threshold add', 'delta/pre', '(max |dW - dW_default|)'))
for M in (0, 10, 20):
    for S in ('0.001', '0.1', '1.0', '100'):
        d = dW('default_M%d_S%s' % (M, S))
        row = [np.abs(dW('%s_M%d_S%s' % (v, M, S)) - d).max() for v in ('reparam', 'unitgain', 'thradd', 'preDelta')]
        for v, x in zip(('reparam', 'unitgain'), row[:2]): worst[v] = max(worst.get(v, 0), x)
        print('M=%-3d S=%-8s %12.2e %12.2e %14.3f %14.2e   post spikes default %d, threshold add %d'
              % (M, S, row[0], row[1], row[2], row[3], nspk('default_M%d_S%s' % (M, S)), nspk('thradd_M%d_S%s' % (M, S))))
m10 = max(np.abs(dW('reparam_M10_S%s' % S) - dW('default_M10_S%s' % S)).max() for S in ('0.1', '1.0', '100'))
# Equal up to float32 rounding of the tiny rescaled variances (and the per-pre-spike delta of --reparam,
# < 5e-6 in dW): curves span 0.1-1 in dW, so 2e-4 is well below anything visible.
ok = worst['reparam'] <= 2e-4 and worst['unitgain'] <= 2e-5
print('reparam (S*1e-4) vs default: max |dW diff| %.2e over all runs, %.2e for the Fig. 6 panels M = 10, S = 0.1/1/100 '
      '(Auryn 3.6e-5); unit-gain (eta*20) vs default: %.2e -> %s' % (worst['reparam'], m10, worst['unitgain'], 'PASS' if ok else 'FAIL'))
sys.exit(0 if ok else 1)
PY
