#!/usr/bin/python3
"""Plots lpl_swap_exposure's swap_exposure_mean.csv in the style of the paper's Fig. 4 (top row):
object selectivity Delta(P - N) against swap exposures at the swap, non-swap and control positions,
the mean over pairs x units with its SEM as a band and the pre-exposure value dashed; a fourth panel
overlays the three changes from their starting values; with swap_exposure_responses.csv a fifth shows
the mean responses at the swap position to the preferred object P and to N (Fig. 4's right panel).

Usage: plot_swap_exposure.py swap_exposure_mean.csv out.png [swap_exposure_responses.csv]
Exit status 3 when matplotlib is missing (the program then reports that no plot was drawn).
"""
import csv
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.stderr.write("plot_swap_exposure.py: matplotlib is not installed\n")
    sys.exit(3)

COLOURS = {"swap": "#BB5566", "non-swap": "#222222", "control": "#777777"}
TITLES = {"swap": "Swap position", "non-swap": "Non-swap position", "control": "Control objects"}


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    data = {}
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            d = data.setdefault(row["condition"], ([], [], []))
            d[0].append(int(row["step"]))
            d[1].append(float(row["mean_delta"]))
            d[2].append(float(row["sem"]))
    if not data:
        sys.stderr.write("plot_swap_exposure.py: no rows in %s\n" % sys.argv[1])
        return 1
    conds = [c for c in ("swap", "non-swap", "control") if c in data]
    resp = None
    if len(sys.argv) == 4:
        with open(sys.argv[3], newline="") as f:
            rows = list(csv.DictReader(f))
        resp = ([int(float(r["step"])) for r in rows], [float(r["swap_p"]) for r in rows],
                [float(r["swap_n"]) for r in rows])
    lo = min(min(m - s for m, s in zip(data[c][1], data[c][2])) for c in conds)
    hi = max(max(m + s for m, s in zip(data[c][1], data[c][2])) for c in conds)
    pad = 0.08 * (hi - lo if hi > lo else 1.0)
    panels = len(conds) + 1 + (resp is not None)
    fig, axes = plt.subplots(1, panels, figsize=(3.0 * panels, 2.8), dpi=150)
    for ax, c in zip(axes, conds):
        x, y, e = data[c]
        ax.plot(x, y, color=COLOURS[c])
        ax.fill_between(x, [a - b for a, b in zip(y, e)], [a + b for a, b in zip(y, e)], color=COLOURS[c], alpha=0.2)
        ax.hlines(y[0], x[0], x[-1], linestyle="--", color="k", linewidth=0.8)
        ax.set_title(TITLES[c], fontsize=9)
        ax.set_xlabel("Swap exposures (steps)", fontsize=8)
        ax.set_ylim(min(0.0, lo - pad), hi + pad)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("Object selectivity\n" + r"$\Delta(P-N)$ (au)", fontsize=8)
    ax = axes[len(conds)]
    for c in conds:
        x, y, _ = data[c]
        ax.plot(x, [v - y[0] for v in y], color=COLOURS[c], label=c, linestyle="-" if c != "control" else ":")
    ax.axhline(0.0, color="k", linewidth=0.6)
    ax.set_title("Change from before exposure", fontsize=9)
    ax.set_xlabel("Swap exposures (steps)", fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.tick_params(labelsize=7)
    if resp is not None:
        ax = axes[-1]
        x, p, n = resp
        ax.plot(x, p, color="#BB5566", label="P (preferred)")
        ax.plot(x, n, color="#004488", label="N")
        ax.hlines(0.5 * (p[0] + n[0]), x[0], x[-1], linestyle="--", color="k", linewidth=0.8)
        ax.set_title("Responses at the swap position", fontsize=9)
        ax.set_xlabel("Swap exposures (steps)", fontsize=8)
        ax.set_ylabel("Mean response (au)", fontsize=8)
        ax.legend(fontsize=7, frameon=False, loc="best")
        ax.tick_params(labelsize=7)
    for a in axes:
        a.spines["top"].set_visible(False)
        a.spines["right"].set_visible(False)
    fig.tight_layout()
    fig.savefig(sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
