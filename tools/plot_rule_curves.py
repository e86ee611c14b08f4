#!/usr/bin/env python3
"""Figures of lpl_rule_curves: OUT/e1_curves.csv -> e1_rule_curves.png (weight change vs output z,
rows: Rajan rate function / ReLU, columns: zbar, variance, dz/dt), OUT/e1_maps.csv -> e1_maps.png,
OUT/s1_losses.csv -> s1_losses.png (pred, a Hebbian form and their sum vs object distance D).

Usage: python3 tools/plot_rule_curves.py OUT_DIR
Exit status 3 when matplotlib is missing (the program then reports the plots as skipped).
"""
import csv
import os
import sys


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) != 2:
        print("usage: plot_rule_curves.py OUT_DIR", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_rule_curves.py: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    out = sys.argv[1]
    colors = ["#92C5DE", "#4393C3", "#2166AC"]

    rows = read_csv(os.path.join(out, "e1_curves.csv"))
    panels = [("mean", "zbar", r"$\bar z$"), ("variance", "var", r"$\sigma_z^2$"), ("rate", "dzdt", r"$dz/dt$")]
    fig, axes = plt.subplots(2, 3, figsize=(10, 5.6), sharey="row")
    for r, (nl, title) in enumerate([("rajan", "rate function of Rajan et al. 2010"), ("relu", "ReLU")]):
        for c, (panel, key, label) in enumerate(panels):
            ax = axes[r][c]
            sel = [x for x in rows if x["nonlinearity"] == nl and x["panel"] == panel]
            params = []
            for x in sel:
                if x[key] not in params:
                    params.append(x[key])
            for i, p in enumerate(params):
                pts = [x for x in sel if x[key] == p]
                ax.plot([float(x["z"]) for x in pts], [float(x["dw"]) for x in pts], color=colors[i % 3],
                        label="{} = {:g}".format(label, float(p)))
            ax.axhline(0, color="gray", lw=0.8, zorder=0)
            ax.set_xlabel("postsynaptic rate z")
            if c == 0:
                ax.set_ylabel("weight change $\\Delta w$\n({})".format(title), fontsize=9)
            ax.set_ylim(-0.6, 1.5)
            ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.suptitle("LPL rule vs output co-varying with one input (engine objective; Extended Data Fig. 1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "e1_rule_curves.png"), dpi=120)
    plt.close(fig)

    maps = read_csv(os.path.join(out, "e1_maps.csv"))
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
    for ax, (name, xlabel) in zip(axes, [("rate_var", "dz/dt"), ("mean_var", r"$\bar z$")]):
        sel = [x for x in maps if x["map"] == name]
        xs = sorted({float(x["x"]) for x in sel})
        vs = sorted({float(x["var"]) for x in sel})
        grid = {(float(x["x"]), float(x["var"])): float(x["dw"]) for x in sel}
        img = [[grid[(xv, v)] for xv in xs] for v in vs]
        lim = max(abs(v) for row in img for v in row)
        im = ax.imshow(img, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                       extent=[xs[0], xs[-1], vs[0], vs[-1]])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(r"$\sigma_z^2$")
        ax.set_title("$\\Delta w$ at input h = {:g}".format(float(sel[0]["h"])), fontsize=9)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "e1_maps.png"), dpi=120)
    plt.close(fig)

    s1 = read_csv(os.path.join(out, "s1_losses.csv"))
    D = [float(x["D"]) for x in s1]
    pred = [float(x["pred"]) for x in s1]
    forms = [("neg_var", r"$-\sigma_z^2$"), ("neg_logvar", r"$-\log\sigma_z^2$ (LPL)"), ("sfa", r"$1-\sigma_z^2$ (SFA)"),
             ("hinge", r"ReLU$(1-\sigma_z)$ (VICReg)")]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.3))
    for i, (ax, (key, label)) in enumerate(zip(axes, forms)):
        h = [float(x[key]) for x in s1]
        tot = [a + b for a, b in zip(pred, h)]
        ax.plot(D, pred, color="gray", ls="--", label=r"$\mathcal{L}_\mathrm{pred}$")
        ax.plot(D, h, color="gray", label=label)
        ax.plot(D, tot, color=["#8da0cb", "#fc8d62", "#e78ac3", "#66c2a5"][i], label="sum")
        k = min(range(len(tot)), key=lambda j: tot[j])
        if 0 < k < len(tot) - 1:
            ax.plot([D[k]], [tot[k]], "k.", ms=6)
        ax.set_xlabel("distance D between objects")
        ax.set_ylim(min(min(tot), min(h), 0) - 0.5, max(12, max(pred) * 0.6))
        if key in ("neg_var", "sfa"):
            ax.set_ylim(min(tot) - 1, max(pred) + 1)
        ax.legend(fontsize=7, frameon=False)
    axes[0].set_ylabel("loss")
    fig.suptitle("Predictive loss plus Hebbian forms vs distance of two objects (engine terms; Fig. S1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "s1_losses.png"), dpi=120)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
