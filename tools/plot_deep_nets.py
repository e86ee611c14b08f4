#!/usr/bin/env python3
"""Fig. 3 panels (the original's notebooks "3 - Deep nets", "3a - Readout accuracies", "3b - Layerwise
feature quality"): linear readout accuracy of several trained networks, grouped by label, several
seeds per label.

Usage:
  python3 tools/plot_deep_nets.py --out DIR --run LABEL=PATH [--run LABEL=PATH ...]
                                  [--chance ACC] [--title TEXT] [--no_plot] [--overwrite]

PATH is an eval_linear result: an eval.json, a results.yaml (eval_linear's or the original eval.py's;
PATH#KEY picks the entry KEY when the file holds several runs), or a run directory holding one of
them. Give a label once per seed (e.g. --run lpl=seed1/eval.json --run lpl=seed2/eval.json). The label
"pixels" reads the file's pixel-readout probe instead (drawn as a horizontal line, as the notebook's
"Pixel readout"). Per label and layer the accuracy (top-1; a cross-validated run counts as the mean
of its folds) is averaged over the label's runs; the error is the notebook's np.std(runs) / sqrt(n)
(the standard error with the population standard deviation; 0 for a single run). The same for the
participation ratio over the runs that hold it.

Writes DIR/deep_nets_layers.csv (label, layer, n_runs, acc_mean, acc_sem, pr_mean, pr_sem),
DIR/deep_nets_last_layer.csv (label, layer, n_runs, acc_mean, acc_sem), and unless --no_plot
DIR/deep_nets_last_layer.png (bars per label), DIR/deep_nets_layers.png (lines per label over layers)
and DIR/deep_nets_pr.png. Existing outputs are kept unless --overwrite.

Exit status: 0 done, 1 bad input (missing or corrupt file, inconsistent runs; one message naming it),
2 usage, 3 CSV written but matplotlib missing (no plots).
"""
import argparse
import csv
import json
import math
import os
import sys

PROG = "plot_deep_nets.py"
# Colours and names of the labels the notebooks use; any other label gets the next default colour.
KNOWN = {
    "lpl": ("#333333", "LPL (layer-local)"),
    "lpl_e2e": ("#1f77b4", "LPL (end-to-end)"),
    "end_to_end": ("#1f77b4", "LPL (end-to-end)"),
    "pred_off": ("#d62728", "Pred. off"),
    "hebb_off": ("#ff7f0e", "Hebb off"),
    "decorr_off": ("#9467bd", "Decorr. off"),
    "lpl_shuffled": ("#8c564b", "LPL shuffled"),
    "shuffled": ("#8c564b", "LPL shuffled"),
    "supervised": ("#2ca02c", "Supervised"),
    "negative_samples": ("#17becf", "Negative samples"),
    "random": ("#7f7f7f", "Random"),
}


class InputError(Exception):
    pass


def parse_block_yaml(text, path):
    """The block-style YAML of results.yaml (eval_linear's, or yaml.dump of the original eval.py):
    top-level run keys, each a map of fields holding '- x' lists or '- - x' lists of fold lists."""
    root, run, field, item_indent = {}, None, None, None
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        if line.startswith("-"):
            if field is None:
                raise InputError("{}:{}: list item outside a field".format(path, lineno))
            values = line.replace("-", " ", 2 if line.startswith("- -") else 1).split()
            if len(values) != 1:
                raise InputError("{}:{}: cannot read '{}'".format(path, lineno, raw))
            v = parse_scalar(values[0], path, lineno)
            if item_indent is None:
                item_indent = indent
            if line.startswith("- -"):
                field.append([v])
            elif indent > item_indent and field and isinstance(field[-1], list):
                field[-1].append(v)  # the next fold of a cross-validated layer
            else:
                field.append(v)
            continue
        if not line.endswith(":"):
            if ":" in line:
                continue  # a scalar entry ("key: value"): not used here
            raise InputError("{}:{}: cannot read '{}'".format(path, lineno, raw))
        key = line[:-1].strip()
        if indent == 0:
            run = root[key] = {}
            field = None
        elif run is None:
            raise InputError("{}:{}: unexpected indentation".format(path, lineno))
        else:
            field = run[key] = []
            item_indent = None
    return root


def parse_scalar(s, path, lineno):
    low = s.lower()
    if low in (".nan", "nan"):
        return float("nan")
    if low in (".inf", "inf"):
        return float("inf")
    if low in ("-.inf", "-inf"):
        return float("-inf")
    try:
        return float(s)
    except ValueError:
        raise InputError("{}:{}: '{}' is not a number".format(path, lineno, s))


def number_list(v, what, path):
    if not isinstance(v, list) or not v:
        raise InputError("{}: {} is not a non-empty list".format(path, what))
    out = []
    for x in v:
        if isinstance(x, list):  # a cross-validated run: its folds
            if not x or not all(isinstance(f, (int, float)) for f in x):
                raise InputError("{}: {} has a bad fold list".format(path, what))
            out.append(sum(x) / len(x))
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out.append(float(x))
        else:
            raise InputError("{}: {} holds a non-number".format(path, what))
    return out


def resolve(path):
    """PATH[#KEY] -> (file, key)."""
    key = None
    if "#" in path:
        path, key = path.rsplit("#", 1)
    if os.path.isdir(path):
        for name in ("eval.json", "results.yaml"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name), key
        raise InputError("{}: neither eval.json nor results.yaml in this directory".format(path))
    if not os.path.isfile(path):
        raise InputError("{}: no such file".format(path))
    return path, key


def load_run(label, spec):
    """One run: {'layers': [...], 'acc': [...], 'pr': [... or None]} or, for 'pixels', {'acc': value}."""
    path, key = resolve(spec)
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise InputError("{}: cannot read ({})".format(path, e.strerror))
    if path.endswith(".json"):
        try:
            r = json.loads(text)
        except ValueError as e:
            raise InputError("{}: not valid JSON ({})".format(path, e))
        if not isinstance(r, dict):
            raise InputError("{}: not an eval_linear result (no object)".format(path))
        chance = r.get("chance")
        if label == "pixels":
            p = r.get("pixels")
            if not isinstance(p, dict) or not isinstance(p.get("top1"), (int, float)):
                raise InputError("{}: no pixel readout ('pixels.top1') in this result".format(path))
            return {"acc": float(p["top1"]), "chance": chance}
        layers = r.get("layers")
        if not isinstance(layers, list) or not layers:
            raise InputError("{}: not an eval_linear result (no 'layers')".format(path))
        nums, acc, pr = [], [], []
        for i, l in enumerate(layers):
            if not isinstance(l, dict) or not isinstance(l.get("layer"), int) or not isinstance(l.get("top1"), (int, float)):
                raise InputError("{}: layer entry {} lacks 'layer' or 'top1'".format(path, i))
            nums.append(l["layer"])
            acc.append(float(l["top1"]))
            v = (l.get("metrics") or {}).get("participation_ratio")
            pr.append(float(v) if isinstance(v, (int, float)) else float("nan"))
        return {"layers": nums, "acc": acc, "pr": pr, "chance": chance}
    r = parse_block_yaml(text, path)
    if label == "pixels":
        p = r.get("pixels")
        if not isinstance(p, dict) or "acc" not in p:
            raise InputError("{}: no 'pixels' entry".format(path))
        return {"acc": sum(number_list(p["acc"], "pixels.acc", path)) / len(p["acc"]), "chance": None}
    keys = [k for k in r if k != "pixels"]
    if key is None:
        if len(keys) != 1:
            raise InputError("{}: holds {} runs ({}); pick one with PATH#KEY".format(path, len(keys), ", ".join(keys) or "none"))
        key = keys[0]
    if key not in r or not isinstance(r[key], dict):
        raise InputError("{}: no run '{}' (has {})".format(path, key, ", ".join(keys) or "none"))
    e = r[key]
    if "acc" not in e:
        raise InputError("{}: run '{}' has no 'acc'".format(path, key))
    acc = number_list(e["acc"], key + ".acc", path)
    pr = number_list(e["pr"], key + ".pr", path) if "pr" in e else [float("nan")] * len(acc)
    if len(pr) != len(acc):
        raise InputError("{}: run '{}' has {} accuracies but {} PR values".format(path, key, len(acc), len(pr)))
    return {"layers": list(range(1, len(acc) + 1)), "acc": acc, "pr": pr, "chance": None}


def mean_sem(xs):
    """Mean and the notebook's error np.std(xs) / sqrt(n) over the finite values; NaN if none."""
    v = [x for x in xs if isinstance(x, float) and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan"), 0
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
    return m, sd / math.sqrt(len(v)), len(v)


def aggregate(runs, specs):
    """label -> list of per-run results (specs: label -> their PATHs); returns the two tables' rows."""
    layer_rows, last_rows = [], []
    for label, rs in runs.items():
        if label == "pixels":
            m, s, n = mean_sem([r["acc"] for r in rs])
            last_rows.append((label, "", n, m, s))
            continue
        first = rs[0]
        for spec, r in zip(specs[label], rs):
            if r["layers"] != first["layers"]:
                raise InputError("{}: layers {} differ from the label's first run ({}: layers {})".format(
                    spec, r["layers"], specs[label][0], first["layers"]))
        for i, layer in enumerate(first["layers"]):
            am, asem, n = mean_sem([r["acc"][i] for r in rs])
            pm, psem, _ = mean_sem([r["pr"][i] for r in rs])
            layer_rows.append((label, layer, n, am, asem, pm, psem))
        last = len(first["layers"]) - 1
        am, asem, n = mean_sem([r["acc"][last] for r in rs])
        last_rows.append((label, first["layers"][last], n, am, asem))
    return layer_rows, last_rows


def fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    return str(v)


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([fmt(x) for x in r])
    os.replace(tmp, path)


def style(label, i):
    default = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
    c, name = KNOWN.get(label, (default[i % len(default)], label))
    return c, name


def plot(out, layer_rows, last_rows, chance, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pixels = [r for r in last_rows if r[0] == "pixels"]
    bars = [r for r in last_rows if r[0] != "pixels"]
    labels = [r[0] for r in bars]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * max(len(bars), 2), 3.6))
    xs = list(range(len(bars)))
    ax.bar(xs, [r[3] for r in bars], yerr=[r[4] for r in bars], capsize=4,
           color=[style(l, i)[0] for i, l in enumerate(labels)], width=0.6)
    for x, r in zip(xs, bars):
        ax.text(x, r[3] + (r[4] if math.isfinite(r[4]) else 0) + 0.01, "{:.3f}".format(r[3]), ha="center", fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels([style(l, i)[1] + "\n(n={})".format(r[2]) for i, (l, r) in enumerate(zip(labels, bars))],
                       rotation=30, ha="right", fontsize=8)
    if chance is not None:
        ax.axhline(chance, color="k", lw=0.8, ls=":", label="chance")
    if pixels:
        ax.axhline(pixels[0][3], color="k", ls="--", label="pixel readout")
    ax.set_ylabel("last-layer linear readout accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    if chance is not None or pixels:
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "deep_nets_last_layer.png"), dpi=120)
    plt.close(fig)

    for key, ylabel, fname in ((3, "linear readout accuracy", "deep_nets_layers.png"),
                               (5, "participation ratio", "deep_nets_pr.png")):
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        drawn = False
        for i, label in enumerate(labels):
            rows = [r for r in layer_rows if r[0] == label and math.isfinite(r[key])]
            if not rows:
                continue
            c, name = style(label, i)
            ax.errorbar([r[1] for r in rows], [r[key] for r in rows], yerr=[r[key + 1] for r in rows], color=c,
                        marker="o", ms=3, capsize=2, label=name)
            drawn = True
        if not drawn:
            plt.close(fig)
            continue
        if key == 3:
            if chance is not None:
                ax.axhline(chance, color="k", lw=0.8, ls=":", label="chance")
            if pixels:
                ax.axhline(pixels[0][3], color="k", ls="--", label="pixel readout")
            ax.set_ylim(0, 1)
        ax.set_xticks(sorted({r[1] for r in layer_rows}))
        ax.set_xlabel("layer")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        fig.savefig(os.path.join(out, fname), dpi=120)
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="Fig. 3 readout panels from eval_linear results")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--run", action="append", default=[], metavar="LABEL=PATH", help="one run of a label (repeat)")
    ap.add_argument("--chance", type=float, default=None, help="chance level (default: 1 / classes from eval.json)")
    ap.add_argument("--title", default="", help="title of the figures")
    ap.add_argument("--no_plot", action="store_true", help="write the CSV files only (no matplotlib needed)")
    ap.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    a = ap.parse_args()
    if not a.run:
        ap.error("give at least one --run LABEL=PATH")
    runs, specs = {}, {}
    try:
        chance = a.chance
        for spec in a.run:
            if "=" not in spec or not spec.split("=", 1)[0] or not spec.split("=", 1)[1]:
                ap.error("--run wants LABEL=PATH, got '{}'".format(spec))
            label, path = spec.split("=", 1)
            r = load_run(label, path)
            runs.setdefault(label, []).append(r)
            specs.setdefault(label, []).append(path)
            if chance is None and isinstance(r.get("chance"), (int, float)) and r["chance"] > 0:
                chance = float(r["chance"])
        layer_rows, last_rows = aggregate(runs, specs)
        outs = [os.path.join(a.out, f) for f in ("deep_nets_layers.csv", "deep_nets_last_layer.csv")]
        for p in outs:
            if os.path.exists(p) and not a.overwrite:
                raise InputError("{} exists (pass --overwrite to replace it)".format(p))
        os.makedirs(a.out, exist_ok=True)
    except InputError as e:
        print("{}: error: {}".format(PROG, e), file=sys.stderr)
        return 1
    write_csv(outs[0], ["label", "layer", "n_runs", "acc_mean", "acc_sem", "pr_mean", "pr_sem"], layer_rows)
    write_csv(outs[1], ["label", "layer", "n_runs", "acc_mean", "acc_sem"], last_rows)
    for r in last_rows:
        print("{:>18} layer {:>2} n={}  acc {:.4f} +- {:.4f}".format(r[0], r[1], r[2], r[3], r[4]))
    print("wrote {} and {}".format(outs[0], outs[1]))
    if a.no_plot:
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("{}: matplotlib is not installed (apt-get install python3-matplotlib): no plots".format(PROG), file=sys.stderr)
        return 3
    plot(a.out, layer_rows, last_rows, chance, a.title)
    print("plots: {}/deep_nets_last_layer.png, deep_nets_layers.png, deep_nets_pr.png".format(a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
