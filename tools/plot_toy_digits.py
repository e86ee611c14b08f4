#!/usr/bin/env python3
"""Fig. S2 from lpl_toy_digits's output directory: DIR/toy_digits.png.

Top row: the learned weights of the last run of every (rule, sequence) as 56 x 56 images (red
positive, blue negative, centred at 0). Bottom row: final location and digit sensitivity per rule
for each sequence (mean and std over runs), and both sensitivities over training.
Usage: python3 tools/plot_toy_digits.py DIR. Exit status 3 when matplotlib or numpy is missing.
"""
import csv
import json
import math
import os
import sys

LABELS = {"lpl": "LPL", "pred_off": "Pred. off", "hebb_off": "Hebb. off", "oja": "Oja"}
COLORS = {"lpl": "#EE7733", "pred_off": "gray", "hebb_off": "#33BBEE", "oja": "black"}
SEQ = {"digit": "Dig. seq.", "location": "Loc. seq."}


def mean_std(v):
    v = [x for x in v if not math.isnan(x)]
    if not v:
        return float("nan"), 0.0
    m = sum(v) / len(v)
    return m, (math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0)


def main():
    if len(sys.argv) != 2:
        print("usage: plot_toy_digits.py DIR", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import colors
        import numpy as np
    except ImportError:
        print("plot_toy_digits.py: matplotlib/numpy are not installed (apt-get install python3-matplotlib)",
              file=sys.stderr)
        return 3
    d = sys.argv[1]
    with open(os.path.join(d, "toy_digits.json")) as f:
        meta = json.load(f)
    panels = meta["weights_npy"]["panels"]
    weights = np.load(os.path.join(d, "weights.npy"))
    with open(os.path.join(d, "final.csv")) as f:
        finals = list(csv.DictReader(f))
    with open(os.path.join(d, "measures.csv")) as f:
        meas = list(csv.DictReader(f))
    rules = []
    seqs = []
    for p in panels:
        if p["rule"] not in rules:
            rules.append(p["rule"])
        if p["seq"] not in seqs:
            seqs.append(p["seq"])

    ncol = max(len(panels), 2 * len(seqs))
    fig = plt.figure(figsize=(2.3 * ncol, 5.6))
    gs = fig.add_gridspec(2, ncol, height_ratios=[1, 1.15])
    for k, p in enumerate(panels):
        ax = fig.add_subplot(gs[0, k])
        w = weights[k]
        lo, hi = float(w.min()), float(w.max())
        norm = colors.TwoSlopeNorm(vmin=min(lo, -1e-12), vcenter=0.0, vmax=max(hi, 1e-12))
        ax.imshow(w, cmap="RdBu_r", interpolation="none", norm=norm)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("{}, {}".format(LABELS.get(p["rule"], p["rule"]), SEQ.get(p["seq"], p["seq"])), fontsize=8)
    # final sensitivities as bars
    for si, s in enumerate(seqs):
        ax = fig.add_subplot(gs[1, si])
        xs = list(range(len(rules)))
        for off, key, name, hatch in ((-0.2, "location_sensitivity", "location", ""),
                                      (0.2, "digit_sensitivity", "digit", "//")):
            ms = [mean_std([float(r[key]) for r in finals if r["rule"] == ru and r["seq"] == s]) for ru in rules]
            ax.bar([x + off for x in xs], [m for m, _ in ms], width=0.38, yerr=[e for _, e in ms],
                   color=[COLORS.get(ru, "C0") for ru in rules], alpha=0.85, hatch=hatch, edgecolor="white",
                   label=name + " sens.")
        ax.set_xticks(xs)
        ax.set_xticklabels([LABELS.get(r, r) for r in rules], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title("final, " + SEQ.get(s, s) + " (plain: loc., hatched: digit)", fontsize=7)
    # sensitivities over training
    for si, s in enumerate(seqs):
        ax = fig.add_subplot(gs[1, len(seqs) + si])
        for ru in rules:
            rows = [r for r in meas if r["rule"] == ru and r["seq"] == s]
            steps = sorted({int(r["step"]) for r in rows})
            for key, ls in (("location_sensitivity", "-"), ("digit_sensitivity", "--")):
                m = [mean_std([float(r[key]) for r in rows if int(r["step"]) == t])[0] for t in steps]
                ax.plot(steps, m, color=COLORS.get(ru, "C0"), ls=ls,
                        label="{} {}".format(LABELS.get(ru, ru), "loc." if ls == "-" else "digit"))
        ax.set_ylim(0, 1)
        ax.set_xlabel("training step")
        ax.set_title("sensitivity over training, " + SEQ.get(s, s), fontsize=8)
        ax.legend(fontsize=6, frameon=False)
    data = meta["data"]
    names = data.get("class_names")
    cls = "classes {} and {}".format(*data["classes"]) + (" ({} / {})".format(*names) if names else "")
    fig.suptitle("Toy digits (Fig. S2): {} of {}; {} runs x {} steps".format(
        cls, data["dir"], meta["params"]["runs"], meta["params"]["steps"]), fontsize=9)
    fig.tight_layout()
    out = os.path.join(d, "toy_digits.png")
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
