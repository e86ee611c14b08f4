#!/usr/bin/env bash
# SPIKING.md 12.4: the network with the port's own inputs (Poisson draws, random connectivity and a
# seeded E->I mask) over a few seeds, run_snn.sh parameters with --simtime 100 (1800 s priming +
# 100 s learning), in parallel with sim_sweep; prints the statistics of every run, then compares
# their distribution over the seeds with the reference values (spiking-ref/net1900/summary.txt;
# tools/spiking/compare_seed_stats.py, exit status 1 if a reference value is outside).
# CONNECTIVITY=reference uses Auryn's draw (spiking-ref/net_init, its E->I mask) with our own inputs.
#   scripts/spiking/stats_seeds.sh [OUT_DIR] [JOBS] [SEEDS...]
#   env: PYTHON, SIMTIME (100), TAU_MEAN (600), EXTRA, CONNECTIVITY (own|reference), REF
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/tmp/lpl_stats}; JOBS=${2:-$(nproc)}; shift 2 || true
SEEDS=${*:-1 2 3}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$ROOT/build/bin/sim_lpl_spiking
REF=${REF:-$ROOT/../shared/spec/spiking-ref}
CONN=""
if [ "${CONNECTIVITY:-own}" = reference ]; then
  [ -d "$REF/net_init" ] || { echo "stats_seeds: reference bundle not found at $REF (set REF=)" >&2; exit 1; }
  CONN="--load_connectivity $REF/net_init"
fi
[ -x "$BIN" ] || { echo "stats_seeds: build first ($BIN missing)" >&2; exit 1; }
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
: > "$OUT/jobs.txt"
for s in $SEEDS; do
  d=$OUT/seed$s; mkdir -p "$d"
  (cd "$d" && "$PYTHON" "$ROOT/tools/spiking/mk_rates.py" && "$PYTHON" "$ROOT/tools/spiking/mk_local_inh_connectivity.py" --seed "$s")
  if [ -n "$CONN" ]; then cp "$REF/net_inputs/local_inh_connectivity.wmat" "$d/"; fi
  echo "$d $BIN --quiet --seed $s --sparseness 0.1 --ampa 1 --ne 100 --ni 25 --wext 0.15 --wee 0.0 --wei 0.5 --wii 0.4 --wie 0.5 --psize 100 --plen 4 --tau_sigma2 30 --phi 1 --lambda 1 --zeta 1e-3 --kappa 10 --eta 1e-2 --tau_weight_decay 1e9 --ieplastic --tau_mean ${TAU_MEAN:-600} --simtime ${SIMTIME:-100} --dir . $CONN ${EXTRA:-}" >> "$OUT/jobs.txt"
done
"$ROOT/build/bin/sim_sweep" -j "$JOBS" "$OUT/jobs.txt"
summ=()
for s in $SEEDS; do
  echo "== seed $s ($(grep wall_s_per "$OUT/seed$s/sim_lpl_spiking.0.log"))"
  "$PYTHON" "$ROOT/tools/spiking/summarize_run.py" "$OUT/seed$s" --prime-s "$("$PYTHON" -c "print(3*${TAU_MEAN:-600})")" --json "$OUT/seed$s/summary.json"
  summ+=("$OUT/seed$s/summary.json")
done
cat <<'REF'
== reference (Auryn, net1900, its own draw): input groups 4.98-5.17 Hz (unit 0 ~2.5 Hz with Auryn's quirk,
   ~5 Hz without); priming E 0.151 Hz, I 0.014 Hz; first 100 s of learning E 1.23 Hz, I 0.35 Hz; LPL weight
   mean 0.177 (5 at w_max); I->E mean 0.482 (0.43-0.69); IO correlation 10-110 s 0.225. Expect +-10-20 %.
REF
"$PYTHON" "$ROOT/tools/spiking/compare_seed_stats.py" --label "${CONNECTIVITY:-own} connectivity, seeds $SEEDS" \
  --json "$OUT/compare.json" "${summ[@]}"
