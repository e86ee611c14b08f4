#!/usr/bin/env python3
"""Golden values for tests/experiments/test_rule_curves.cpp, in float64 numpy from the formulas of the
original's notebooks (no engine code involved):

E1 ("E1 - Learning rule visualization"): a neuron z = f(h - 3 r0) + r0 (r0 = 2) with one input x = h;
  dw = eta * h * f'(h - 3 r0) * ((z - zbar) / var - dz/dt), eta = 1e-3, f the rate function of Rajan,
  Abbott & Sompolinsky 2010 (rmax 80: r0 tanh(a / r0) below 0, (rmax - r0) tanh(a / (rmax - r0)) above)
  or a ReLU; h = 0, step, ... < 80 (Rajan) or < 50 (ReLU); nine curves per function (zbar 20/30/40;
  var 0.75 (ReLU 0.7)/1/2; dz/dt -10/0/10, the others at zbar 30, var 1, dz/dt 0); and dw at h = 45
  (Rajan) over dz/dt in [-10, 10] x var in [1, 3] (zbar 30) and zbar in [0, 60] x var in [1, 3].
S1 ("S1 - Loss-function visualization"): over D = linspace(1e-3, 10, 50), L_pred = D^2 / 8 and
  var = D^2 (1/4 + 1/16), and the Hebbian forms -var, -log var, 1 - var, max(0, 1 - sqrt var); also
  the engine's own Hebbian term for the eight-pair batch of the scenario, -log(var 8/7 + eps).

Writes tests/data/experiments/rule_curves_golden.json (coarse grids, so the file stays small):
  python3 tools/make_rule_curves_golden.py [--out PATH] [--step 2.0] [--map 11x5]
"""
import argparse
import json
import os

import numpy as np

R0, RMAX, ETA = 2.0, 80.0, 1e-3
EPS = float(np.float32(1e-4))  # the engine's float epsilon


def rate(name, a):
    if name == "relu":
        return np.maximum(a, 0.0)
    return np.where(a < 0, R0 * np.tanh(a / R0), (RMAX - R0) * np.tanh(a / (RMAX - R0)))


def rate_slope(name, a):
    if name == "relu":
        return (a >= 0).astype(np.float64)
    inner = np.where(a < 0, a / R0, a / (RMAX - R0))
    return 1.0 / np.cosh(inner) ** 2


def dw(name, h, zbar, var, dzdt):
    z = rate(name, h - 3 * R0) + R0
    return z, ETA * h * rate_slope(name, h - 3 * R0) * ((z - zbar) / var - dzdt)


def main():
    p = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "experiments", "rule_curves_golden.json"))
    p.add_argument("--step", type=float, default=2.0)
    p.add_argument("--map", default="11x5")
    a = p.parse_args()
    nx, ny = (int(v) for v in a.map.split("x"))

    curves = []
    for name, hmax, low_var in (("rajan", 80.0, 0.75), ("relu", 50.0, 0.7)):
        h = np.arange(0.0, hmax, a.step)
        params = [("mean", zb, 1.0, 0.0) for zb in (20.0, 30.0, 40.0)]
        params += [("variance", 30.0, v, 0.0) for v in (low_var, 1.0, 2.0)]
        params += [("rate", 30.0, 1.0, r) for r in (-10.0, 0.0, 10.0)]
        for panel, zbar, var, dzdt in params:
            z, w = dw(name, h, zbar, var, dzdt)
            curves.append({"nonlinearity": name, "panel": panel, "zbar": zbar, "var": var, "dzdt": dzdt,
                           "h": h.tolist(), "z": z.tolist(), "dw": w.tolist()})
    maps = []
    var = np.linspace(1, 3, ny)
    for mname, xs in (("rate_var", np.linspace(-10, 10, nx)), ("mean_var", np.linspace(0, 60, nx))):
        X, V = np.meshgrid(xs, var)  # rows: var
        h = np.full_like(X, 45.0)
        if mname == "rate_var":
            _, w = dw("rajan", h, 30.0, V, X)
        else:
            _, w = dw("rajan", h, X, V, 0.0)
        maps.append({"name": mname, "h": 45.0, "x": xs.tolist(), "var": var.tolist(), "dw": w.ravel().tolist()})

    D = np.linspace(1e-3, 10, 50)
    s1v = D ** 2 * (1.0 / 4 + 1.0 / 16)
    s1 = {"D": D.tolist(), "pred": (D ** 2 / 8).tolist(), "var": s1v.tolist(), "neg_var": (-s1v).tolist(),
          "neg_logvar": (-np.log(s1v)).tolist(), "sfa": (1 - s1v).tolist(),
          "hinge": np.maximum(0.0, 1 - np.sqrt(s1v)).tolist(),
          "engine_hebb": (-np.log(s1v * 8.0 / 7.0 + EPS)).tolist()}
    out = {"e1": {"eta": ETA, "step": a.step, "map_points": [nx, ny], "curves": curves, "maps": maps}, "s1": s1}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
