#!/usr/bin/env bash
# The 88 STDP-protocol runs of the original sweep_stdp_long.sh and sweep_stdp.sh (SPIKING.md 7.5),
# in parallel with sim_sweep, then the Fig. 6 figures. Inputs are generated once per (T, rho) with
# tools/spiking/mk_spikes.py (identical to spiking-ref/stdp_inputs); each run has its own folder.
#   scripts/spiking/sweep_stdp.sh [OUT_DIR] [JOBS]      env: PYTHON, EXTRA (extra program options)
# Outputs: OUT_DIR/<run>/ (program files), OUT_DIR/input_con_mean-{M}_sigma2-{S}_fr-{F}[_long].wmat and
# input_con_{F}hz.0.wmat (the names the notebook reads), OUT_DIR/fig6_*.png.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/lpl_stdp_sweep}
JOBS=${2:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$ROOT/build/bin/sim_lpl_stdp_protocol
[ -x "$BIN" ] || { echo "sweep_stdp: build first ($BIN missing)" >&2; exit 1; }
mkdir -p "$OUT/inputs"
OUT=$(cd "$OUT" && pwd)
mkinputs() {  # folder T rho
  mkdir -p "$OUT/inputs/$1"
  (cd "$OUT/inputs/$1" && "$PYTHON" "$ROOT/tools/spiking/mk_spikes.py" --interval "$2" --freq "$3")
}
FREQS="0.1 1 5 10 20 30 40 50"
mkinputs long_T50ms_f10 50e-3 10
for F in $FREQS; do mkinputs "short_T20ms_f$F" 20e-3 "$F"; done
common="--prime 0.0 --simtime 200 --sparsenes 1.0 --wext 0.5 --wee 0.0 --psize 100 --plen 4 --tau_mean 600 --tau_sigma2 20 --lambda 1 --eta 5e-3 --quiet ${EXTRA:-}"
jobs=$OUT/jobs.txt
: > "$jobs"
for M in 0 5 10 12 15 20 30; do for S in 0.0 0.001 0.005 0.01 0.1 0.2 1.0 100; do
  r=long_mean-${M}_sigma2-${S}_fr-10
  echo "$OUT/$r $BIN $common --dir . --initmean $M --initsigma2 $S --input_dir $OUT/inputs/long_T50ms_f10" >> "$jobs"
done; done
for F in $FREQS; do
  echo "$OUT/shortdefault_fr-$F $BIN $common --dir . --initmean 20 --initsigma2 0.1 --input_dir $OUT/inputs/short_T20ms_f$F" >> "$jobs"
  for M in 0 20 50; do
    echo "$OUT/short_mean-${M}_sigma2-0.1_fr-$F $BIN $common --dir . --initmean $M --initsigma2 0.1 --input_dir $OUT/inputs/short_T20ms_f$F" >> "$jobs"
  done
done
"$ROOT/build/bin/sim_sweep" -j "$JOBS" "$jobs"
for d in "$OUT"/long_mean-*; do cp "$d/input_con.0.wmat" "$OUT/input_con_$(basename "${d#*long_}")_long.wmat"; done
for d in "$OUT"/short_mean-*; do cp "$d/input_con.0.wmat" "$OUT/input_con_$(basename "${d#*short_}").wmat"; done
for F in $FREQS; do cp "$OUT/shortdefault_fr-$F/input_con.0.wmat" "$OUT/input_con_${F}hz.0.wmat"; done
"$PYTHON" "$ROOT/tools/spiking/lpl_analysis.py" stdp-figures "$OUT" "$OUT/fig6"
