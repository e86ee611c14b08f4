#!/usr/bin/env python3
"""Figures of lpl_shapes3d_figures (ED Figs. 5-6, the original's notebook "E5 - 3D shapes").

  python3 tools/plot_shapes3d.py OUT_DIR [--h5 3dshapes.h5]

Reads OUT_DIR/shapes3d_figures.json and the CSV files beside it and writes, for what is there:
  shapes3d_frames.png        the example sequences: their frames (with --h5) or factor values per frame
  shapes3d_transitions.png   per-factor transition probabilities P(value at t+1 | value at t), log colour
                             scale as the notebook; top: values in file order, bottom: along the recovered
                             hue cycle (the notebook's plot corrected for the colour permutation)
  shapes3d_statistics.png    which factor moves per sequence, and the step sizes
  shapes3d_disentanglement.png  the scores per network (majority vote: mean +- std over repetitions, the
                             paper's values as marks; probe means separately)
Exit status 3 when matplotlib is missing (the program then reports the plots as skipped).
"""
import csv
import json
import os
import sys

FACTORS = ["floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"]
PAPER_ALIASES = {"lpl": "LPL", "pred_off": "pred_off", "pred. off": "pred_off", "predictive_off": "pred_off",
                 "random": "random", "random_network": "random", "pixels": "pixels"}


def nice(name):
    name = name.replace("_", " ")
    return name[0].upper() + name[1:]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_frames(out, plt, summary, h5):
    rows = read_csv(os.path.join(out, "example_trajectories.csv"))
    if not rows:
        return None
    seqs = sorted({int(float(r["sequence"])) for r in rows})
    frames = max(int(float(r["frame"])) for r in rows) + 1
    moving = {}
    for q in seqs:
        vals = [[int(float(r[f])) for f in FACTORS] for r in rows if int(float(r["sequence"])) == q]
        ch = [FACTORS[k] for k in range(6) if len({v[k] for v in vals}) > 1]
        moving[q] = ", ".join(ch) if ch else "none"
    if h5:
        import h5py
        import numpy as np
        with h5py.File(h5, "r") as f:
            images = f["images"]
            n_grid = 1
            for s in summary["sizes"]:
                n_grid *= s
            if images.shape[0] != n_grid:
                raise SystemExit("plot_shapes3d.py: %s holds %d images, the factor sizes %s make %d"
                                 % (h5, images.shape[0], summary["sizes"], n_grid))
            fig, axes = plt.subplots(len(seqs), frames, figsize=(frames * 0.8, len(seqs) * 0.95), squeeze=False)
            for i, q in enumerate(seqs):
                idx = [int(float(r["index"])) for r in rows if int(float(r["sequence"])) == q]
                for t in range(frames):
                    ax = axes[i][t]
                    ax.imshow(np.asarray(images[idx[t]]), interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    ax.set_frame_on(False)
                axes[i][0].set_ylabel(nice(moving[q]), fontsize=7, rotation=0, ha="right", va="center")
            fig.suptitle("Example sequences (rows), frames t = 0..%d" % (frames - 1), fontsize=9)
    else:
        # Hues as their position along the recovered cycle (the file's hue values are shuffled).
        pos = {}
        for f in FACTORS:
            order = summary.get("trajectories", {}).get("factors", {}).get(f, {}).get("order")
            pos[f] = {v: k for k, v in enumerate(order)} if order else None
        fig, axes = plt.subplots(1, len(seqs), figsize=(3.0 * len(seqs), 2.6), squeeze=False)
        for i, q in enumerate(seqs):
            ax = axes[0][i]
            vals = [[int(float(r[f])) for f in FACTORS] for r in rows if int(float(r["sequence"])) == q]
            for k, f in enumerate(FACTORS):
                ys = [pos[f][v[k]] if pos[f] else v[k] for v in vals]
                ax.plot(range(frames), ys, marker=".", label=nice(f))
            ax.set_title("sequence %d: %s moves" % (q, moving[q]), fontsize=8)
            ax.set_xlabel("frame")
            ax.set_ylabel("value (hues: cycle position)", fontsize=7)
        axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path = os.path.join(out, "shapes3d_frames.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_transitions(out, plt, summary):
    import numpy as np
    from matplotlib.colors import LogNorm
    rows = read_csv(os.path.join(out, "transitions.csv"))
    sizes = summary["sizes"]
    tr = summary["trajectories"]
    fig, axes = plt.subplots(2, 6, figsize=(13, 4.8), constrained_layout=True)
    im = None
    for k, f in enumerate(FACTORS):
        n = sizes[k]
        p = np.full((n, n), np.nan)
        for r in rows:
            if r["factor"] == f:
                p[int(r["from"]), int(r["to"])] = float(r["probability"])
        order = tr["factors"][f]["order"]
        for row, (m, label) in enumerate([(p, "file order"), (p[np.ix_(order, order)], "along the moves")]):
            ax = axes[row][k]
            shown = np.where(m > 0, m, np.nan)  # zeros left blank, as the notebook's log scale does
            im = ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=1e-3, vmax=1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(nice(f) + " (t+1)", fontsize=8)
            ax.set_ylabel(nice(f) + " (t)", fontsize=8)
            if k == 0:
                ax.set_title(label, fontsize=8, loc="left")
            if row == 1 and k < 3 and not tr["factors"][f]["order_recovered"]:
                ax.set_title("(no cycle found)", fontsize=7)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="P(t+1 | t)")
    fig.suptitle("Transition probabilities of the factors (%d sequences x %d frames%s)"
                 % (tr["sequences"], tr["frames"], ", across sequences" if tr["across_sequences"] else ""), fontsize=9)
    path = os.path.join(out, "shapes3d_transitions.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_statistics(out, plt, summary):
    moving = read_csv(os.path.join(out, "moving_factors.csv"))
    steps = read_csv(os.path.join(out, "step_sizes.csv"))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    a1.bar([nice(r["factor"]) for r in moving], [float(r["fraction"]) for r in moving], color="tab:blue")
    a1.set_ylabel("fraction of sequences")
    a1.set_title("Which factor moves in a sequence", fontsize=9)
    a1.tick_params(axis="x", labelrotation=45, labelsize=7)
    width = 0.15
    for k, f in enumerate(FACTORS):
        hs = [(int(r["step"]), int(r["count"])) for r in steps if r["factor"] == f]
        tot = sum(c for _, c in hs)
        if tot == 0:
            continue
        hs = [(d, c) for d, c in hs if d <= 4]
        a2.bar([d + (k - 2.5) * width for d, _ in hs], [c / tot for _, c in hs], width=width, label=nice(f))
    a2.set_xlabel("step size per frame (positions along the factor's moves)")
    a2.set_ylabel("fraction of frame pairs")
    a2.set_title("Step sizes of the moving factor", fontsize=9)
    a2.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out, "shapes3d_statistics.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_disentanglement(out, plt, summary):
    rows = read_csv(os.path.join(out, "disentanglement.csv"))
    if not rows:
        return None
    paper = summary.get("paper_majority_vote", {})
    groups = [("majority_vote", "Majority-vote score (notebook, paper)"), ("probe_mean", "Mean linear-probe top-1 (eval_linear)")]
    groups = [(m, t) for m, t in groups if any(r["metric"] == m for r in rows)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.4), squeeze=False)
    for ax, (metric, title) in zip(axes[0], groups):
        rs = [r for r in rows if r["metric"] == metric]
        x = range(len(rs))
        ys = [float(r["score"]) if r["score"] not in ("", "nan") else float("nan") for r in rs]
        err = [float(r["std"]) if r["std"] not in ("", "nan") else 0.0 for r in rs]
        ax.bar(x, ys, yerr=err if metric == "majority_vote" else None, capsize=3, color="tab:blue")
        for i, y in enumerate(ys):
            ax.text(i, (y if y == y else 0) + 0.02, "%.1f%%" % (100 * y) if y == y else "n/a", ha="center", fontsize=7)
        if metric == "majority_vote":
            ax.axhline(1 / 6, color="gray", ls="--", lw=0.8, label="chance (1/6)")
            marks = [(i, paper[PAPER_ALIASES[r["label"].lower()]]) for i, r in enumerate(rs)
                     if PAPER_ALIASES.get(r["label"].lower()) in paper]
            if marks:
                ax.plot([m[0] for m in marks], [m[1] for m in marks], "r_", ms=18, mew=2, label="paper")
            ax.legend(fontsize=7)
        ax.set_xticks(list(x))
        ax.set_xticklabels([r["label"] for r in rs], rotation=30, fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("score")
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, "shapes3d_disentanglement.png")
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main():
    args = sys.argv[1:]
    h5 = None
    if "--h5" in args:
        i = args.index("--h5")
        if i + 1 >= len(args):
            print("plot_shapes3d.py: --h5 needs a file", file=sys.stderr)
            return 2
        h5 = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print("usage: plot_shapes3d.py OUT_DIR [--h5 3dshapes.h5]", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy  # noqa: F401
    except ImportError:
        print("plot_shapes3d.py: matplotlib/numpy are not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    if h5:
        try:
            import h5py  # noqa: F401
        except ImportError:
            print("plot_shapes3d.py: h5py is missing: drawing factor values instead of frames", file=sys.stderr)
            h5 = None
    out = args[0]
    with open(os.path.join(out, "shapes3d_figures.json")) as f:
        summary = json.load(f)
    made = []
    if "trajectories" in summary:
        made += [plot_frames(out, plt, summary, h5), plot_transitions(out, plt, summary), plot_statistics(out, plt, summary)]
    if "disentanglement" in summary:
        made.append(plot_disentanglement(out, plt, summary))
    for p in made:
        if p:
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
