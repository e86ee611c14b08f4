#!/usr/bin/env python3
"""Plots of an eval_linear results file (eval.json -> eval_accuracy.png, eval_participation_ratio.png).

Called by eval_linear after it writes the JSON; usable by hand: python3 tools/plot_eval.py eval.json
Exit status 3 when matplotlib is missing (eval_linear then reports the plots as skipped).
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        print("usage: plot_eval.py RESULTS.json", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_eval.py: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    path = sys.argv[1]
    with open(path) as f:
        r = json.load(f)
    stem = os.path.splitext(path)[0]
    layers = [l["layer"] for l in r["layers"]]
    weights = str(r["weights"])
    parts = weights.split(os.sep)
    if "checkpoints" in parts:  # <log_root>/<dataset>/<experiment>/<descriptor>/checkpoints/<file>
        i = parts.index("checkpoints")
        weights = os.sep.join(parts[max(0, i - 2):i])
    title = "{} | {}".format(r["dataset"], weights)

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    top1 = [l["top1"] for l in r["layers"]]
    top5 = [l["top5"] for l in r["layers"]]
    if "top1_std" in r["layers"][0]:
        ax.errorbar(layers, top1, yerr=[l["top1_std"] for l in r["layers"]], marker="o", label="top-1", capsize=3)
    else:
        ax.plot(layers, top1, marker="o", label="top-1")
    if r.get("num_classes", 0) > 5:
        ax.plot(layers, top5, marker="s", alpha=0.6, label="top-5")
    if "pixels" in r:
        ax.axhline(r["pixels"]["top1"], color="gray", linestyle="--", label="pixels (top-1)")
    if r.get("chance"):
        ax.axhline(r["chance"], color="black", linestyle=":", label="chance")
    ax.set_xlabel("layer")
    ax.set_ylabel("linear probe test accuracy")
    ax.set_xticks(layers)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(stem + "_accuracy.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    pr = [l["metrics"].get("participation_ratio") for l in r["layers"]]
    ax.plot(layers, [p if p is not None else float("nan") for p in pr], marker="o", label="per test batch (eval.py)")
    dims = [l["metrics"].get("mean_class_dim") for l in r["layers"]]
    if any(d is not None for d in dims):
        ax.plot(layers, [d if d is not None else float("nan") for d in dims], marker="s", label="mean per class")
    ax.set_xlabel("layer")
    ax.set_ylabel("participation ratio")
    ax.set_xticks(layers)
    ax.set_yscale("log")
    from matplotlib.ticker import ScalarFormatter
    for axis_formatter in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
        f = ScalarFormatter()
        f.set_scientific(False)
        axis_formatter(f)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(stem + "_participation_ratio.png", dpi=120)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
