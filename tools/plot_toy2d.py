#!/usr/bin/env python3
"""Fig. 2 from lpl_toy2d's output directory: DIR/toy2d.png.

Panels: (a) the 2-D sequence data at the largest trajectory sigma with every rule's learned weight
direction; (b) the weight's angle from the x axis (the slow feature) over training; (c) alignment
|cos(w, x)| and (d) x-selectivity of the final weight versus the noise sigma_y.
Usage: python3 tools/plot_toy2d.py DIR. Exit status 3 when matplotlib is missing.
"""
import csv
import json
import math
import os
import random
import sys

COLORS = {"lpl": "#EE7733", "pred_off": "gray", "hebb_off": "#33BBEE", "oja": "black",
          "naive_var": "#009988", "vic_var": "#CC3311"}
LABELS = {"lpl": "LPL", "pred_off": "Pred. off (Hebbian only)", "hebb_off": "Hebb. off (pred. only)",
          "oja": "Oja", "naive_var": "Naive variance", "vic_var": "VICReg variance"}


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def mean_std(v):
    v = [x for x in v if not math.isnan(x)]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, s


def main():
    if len(sys.argv) != 2:
        print("usage: plot_toy2d.py DIR", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_toy2d.py: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    d = sys.argv[1]
    with open(os.path.join(d, "toy2d.json")) as f:
        meta = json.load(f)
    rules = meta["params"]["rules"]
    sweep = read_csv(os.path.join(d, "sweep.csv"))
    traj = read_csv(os.path.join(d, "trajectories.csv"))
    tsig = meta["params"]["trajectory_sigmas"]

    fig, axs = plt.subplots(1, 4, figsize=(17, 3.9))
    # (a) data and learned directions (rep 0, final step, at the largest trajectory sigma: where the
    # rules part)
    ax = axs[0]
    if tsig:
        s0 = max(tsig)
        rng = random.Random(0)
        n = 300
        xs = [(1 if i < n // 2 else -1) + 0.1 * rng.gauss(0, 1) for i in range(n)]
        ys = [s0 * rng.gauss(0, 1) for _ in range(n)]
        ax.scatter(xs[: n // 2], ys[: n // 2], s=4, color="#4477AA", alpha=0.5, label="cluster x=+1")
        ax.scatter(xs[n // 2:], ys[n // 2:], s=4, color="#BBBBBB", alpha=0.6, label="cluster x=-1")
        r = 2.5 * max(1.0, s0)
        for rule in rules:
            rows = [t for t in traj if t["rule"] == rule and float(t["sigma"]) == s0 and t["rep"] == "0"]
            if not rows:
                continue
            last = max(rows, key=lambda t: int(t["step"]))
            wx, wy = float(last["w_x"]), float(last["w_y"])
            nrm = math.hypot(wx, wy)
            if nrm == 0 or math.isnan(nrm):
                continue
            ux, uy = wx / nrm, wy / nrm
            ax.plot([-r * ux, r * ux], [-r * uy, r * uy], color=COLORS.get(rule), lw=1.6, label=LABELS.get(rule, rule))
        ax.set_xlim(-3, 3)
        ax.set_ylim(-r, r)
        ax.set_title("(a) data, sigma_y = {:g}; learned w".format(s0), fontsize=9)
        ax.set_xlabel("x (slow)")
        ax.set_ylabel("y (fast noise)")
        ax.legend(fontsize=6, loc="lower left", frameon=False)
    # (b) angle over training at the trajectory sigmas (mean over reps; thin: each rep)
    ax = axs[1]
    styles = ["-", "--", ":"]
    for si, s in enumerate(tsig[:3]):
        for rule in rules:
            rows = [t for t in traj if t["rule"] == rule and float(t["sigma"]) == s]
            reps = sorted({t["rep"] for t in rows})
            by_step = {}
            for t in rows:
                by_step.setdefault(int(t["step"]), []).append(float(t["angle_deg"]))
            steps = sorted(by_step)
            ax.plot(steps, [mean_std(by_step[k])[0] for k in steps], color=COLORS.get(rule), ls=styles[si], lw=1.5,
                    label="{} (sigma {:g})".format(LABELS.get(rule, rule), s) if len(tsig) > 1 else LABELS.get(rule, rule))
            if len(reps) > 1:
                for rep in reps:
                    rr = sorted((int(t["step"]), float(t["angle_deg"])) for t in rows if t["rep"] == rep)
                    ax.plot([a for a, _ in rr], [b for _, b in rr], color=COLORS.get(rule), ls=styles[si], lw=0.4, alpha=0.35)
    ax.set_ylim(-3, 93)
    ax.set_yticks([0, 30, 60, 90])
    ax.set_xlabel("training step")
    ax.set_ylabel("angle of w from x axis (deg)")
    ax.set_title("(b) weight angle over training", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    # (c), (d) final alignment and selectivity versus sigma
    for ax, key, title in ((axs[2], "abs_cos_x", "(c) alignment |cos(w, x axis)|"),
                           (axs[3], "selectivity", "(d) x-selectivity")):
        for rule in rules:
            rows = [t for t in sweep if t["rule"] == rule]
            sig = sorted({float(t["sigma"]) for t in rows})
            if not sig:
                continue
            ms = [mean_std([abs(float(t[key])) for t in rows if float(t["sigma"]) == s]) for s in sig]
            m = [a for a, _ in ms]
            lo = [a - b for a, b in ms]
            hi = [a + b for a, b in ms]
            ax.semilogx(sig, m, color=COLORS.get(rule), label=LABELS.get(rule, rule),
                        ls="--" if rule == "oja" else "-")
            ax.fill_between(sig, lo, hi, color=COLORS.get(rule), alpha=0.15)
        ax.set_ylim(-0.05, 1.15)
        ax.set_xlabel("sigma_y")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, frameon=False)
    fig.suptitle("Toy 2-D LPL neuron (Fig. 2): reps {}, noise_p {}".format(meta["params"]["reps"], meta["params"]["noise_p"]),
                 fontsize=10)
    fig.tight_layout()
    out = os.path.join(d, "toy2d.png")
    fig.savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
