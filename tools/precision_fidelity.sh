#!/usr/bin/env bash
# The README's --precision check (issue 15): for each seed, a Fashion-MNIST run of 150 steps (batch 256,
# Adam 1e-3, no warm-up) in fp32 and in bf16, then eval_linear's per-layer probe; prints the top-1
# tables and, per layer, the fp32 seeds' range, the bf16 runs outside it and the paired difference.
#   tools/precision_fidelity.sh OUT_DIR [SEED ...]        (default seeds 24 25 26; ~4 min per run, 2 threads)
# Environment: BIN_DIR (default build/bin), THREADS (default 2), DEVICE (default cpu).
# Runs already finished in OUT_DIR (their .json exists) are not run again.
set -euo pipefail
out=${1:?usage: tools/precision_fidelity.sh OUT_DIR [SEED ...]}
shift
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(24 25 26)
bin=${BIN_DIR:-build/bin}
threads=${THREADS:-2}
device=${DEVICE:-cpu}
for p in train_vgg11 eval_linear; do
  [ -x "$bin/$p" ] || { echo "precision_fidelity: $bin/$p not found (build first, or set BIN_DIR)" >&2; exit 2; }
done
mkdir -p "$out"
for seed in "${seeds[@]}"; do
  for prec in fp32 bf16; do
    name=${prec}_s$seed
    [ -s "$out/$name.json" ] && continue
    echo "== $name"
    "$bin/train_vgg11" --dataset fashion-mnist --batch_size 256 --max_steps 150 --warmup_epochs 0 --device "$device" \
      --threads "$threads" --precision "$prec" --random_seed "$seed" --log_dir "$out/runs" --experiment_name "$name" \
      > "$out/$name.train.log" 2>&1 || { echo "training $name failed: see $out/$name.train.log" >&2; exit 1; }
    "$bin/eval_linear" --experiment_dir "$out/runs/fashion-mnist/$name/lpl" --dataset fashion-mnist --device "$device" \
      --threads "$threads" --limit_probe_train 10000 --limit_test 2000 --no_metrics --no_plot --out "$out/$name.json.tmp" \
      > "$out/$name.eval.log" 2>&1 || { echo "evaluating $name failed: see $out/$name.eval.log" >&2; exit 1; }
    mv "$out/$name.json.tmp" "$out/$name.json"
  done
done
python3 - "$out" "${seeds[@]}" <<'EOF'
import json, sys
out, seeds = sys.argv[1], sys.argv[2:]
top1 = {(p, s): [l["top1"] for l in json.load(open(f"{out}/{p}_s{s}.json"))["layers"]] for p in ("fp32", "bf16") for s in seeds}
L = len(top1[("fp32", seeds[0])])
print("| run | " + " | ".join(str(k + 1) for k in range(L)) + " |")
print("|---" * (L + 1) + "|")
for p in ("fp32", "bf16"):
    for s in seeds:
        print(f"| {p}, seed {s} | " + " | ".join(f"{v:.4f}" for v in top1[(p, s)]) + " |")
outside = []
for k in range(L):
    f = [top1[("fp32", s)][k] for s in seeds]
    lo, hi = min(f), max(f)
    for s in seeds:
        v = top1[("bf16", s)][k]
        if not lo <= v <= hi:
            outside.append(f"layer {k + 1} seed {s}: {v:.4f} vs fp32 {lo:.4f}-{hi:.4f}")
    mean16 = sum(top1[("bf16", s)][k] for s in seeds) / len(seeds)
    d = [100 * (top1[("bf16", s)][k] - top1[("fp32", s)][k]) for s in seeds]  # paired, in points
    md = sum(d) / len(d)
    sd = (sum((x - md) ** 2 for x in d) / (len(d) - 1)) ** 0.5 if len(d) > 1 else float("nan")
    t = md / (sd / len(d) ** 0.5) if sd > 0 else float("nan")
    print(f"layer {k + 1}: fp32 seeds {lo:.4f}-{hi:.4f}, bf16 mean {mean16:.4f}; "
          f"bf16 - fp32 at the same seed {md:+.2f} +- {sd:.2f} points (paired t {'n/a' if t != t else f'{t:.2f}'})")
print("bf16 outside the fp32 seeds' range: " + ("; ".join(outside) if outside else "none"))
# The issue's test asks a bf16 run to land inside the range of two fp32 seeds at every layer. Its base
# rate: how often does a third fp32 seed pass it? For three runs drawn alike, 1/3 per layer.
from itertools import combinations
def rate(prec):
    layer_in = all_in = cases = 0
    for a, b in combinations(seeds, 2):
        for c in seeds:
            if c in (a, b):
                continue
            ins = [min(top1[("fp32", a)][k], top1[("fp32", b)][k]) <= top1[(prec, c)][k] <=
                   max(top1[("fp32", a)][k], top1[("fp32", b)][k]) for k in range(L)]
            cases += 1
            layer_in += sum(ins)
            all_in += all(ins)
    return layer_in, all_in, cases
if len(seeds) >= 3:
    for prec in ("fp32", "bf16"):
        li, ai, n = rate(prec)
        print(f"{prec} run at a third seed inside the range of two other fp32 seeds: {li} of {n * L} "
              f"(layer, pair, seed) cases ({100 * li / (n * L):.0f} %), at all {L} layers in {ai} of {n}")
EOF
