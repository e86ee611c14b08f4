#!/usr/bin/env python3
"""Regenerates tests/data/lpl/lpl_layer_objective.json (spec golden/lpl_layer_objective.json): the
LPL layer objective's terms and its gradients dL/dz1, dL/dz2, in float64 with PyTorch autograd, from
the authors' loss code (fmi-basel/latent-predictive-learning, models/module.py: pull = F.mse_loss,
LPL.hebbian_loss, LPL.decorr_loss, each averaged over the two views; total = sum of coeff x term),
written out here in the same operations so the float64 results agree to the last bit.

The random inputs z1, z2 (B x M, uniform in [0, 2)) were drawn once and their generator was not
recorded, so they are read back from the existing file; every other number is recomputed. Use --check
to compare instead of print.

    /usr/bin/python3 tools/make_lpl_layer_objective_golden.py > tests/data/lpl/lpl_layer_objective.json
    /usr/bin/python3 tools/make_lpl_layer_objective_golden.py --check
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

EPS = 1e-4  # inside log(var + eps), as in the authors' hebbian_loss
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "lpl",
                      "lpl_layer_objective.json")


def hebbian(a):
    # -mean_i log(var_i + eps), var unbiased around the batch mean held constant (detached).
    centre = a.mean(dim=0).detach()
    var = ((a - centre) ** 2).sum(dim=0) / (a.shape[0] - 1)
    return -torch.log(var + EPS).mean()


def decorrelation(a):
    # Off-diagonal squared covariances over M^2 - M (the erratum's formula).
    centred = a - a.mean(dim=0).detach()
    cov = torch.einsum("ij,ik->jk", centred, centred).fill_diagonal_(0) / (a.shape[0] - 1)
    return torch.sum(cov ** 2) / (cov.shape[0] ** 2 - cov.shape[0])


def case(B, M, coeffs, z1, z2):
    z1 = torch.tensor(z1, dtype=torch.float64).reshape(B, M).requires_grad_()
    z2 = torch.tensor(z2, dtype=torch.float64).reshape(B, M).requires_grad_()
    pull = F.mse_loss(z1, z2)
    push = 0.5 * (hebbian(z1) + hebbian(z2))
    decorr = 0.5 * (decorrelation(z1) + decorrelation(z2))
    total = coeffs[0] * pull + coeffs[1] * push + coeffs[2] * decorr
    total.backward()
    return {"B": B, "M": M, "coeffs": coeffs, "z1": z1.detach().flatten().tolist(), "z2": z2.detach().flatten().tolist(),
            "pull": pull.item(), "push": push.item(), "decorr": decorr.item(), "total": total.item(),
            "grad_z1": z1.grad.flatten().tolist(), "grad_z2": z2.grad.flatten().tolist()}


def regenerate(inputs):
    cases = [case(c["B"], c["M"], c["coeffs"], c["z1"], c["z2"]) for c in inputs["cases"]]
    return {"layout": inputs["layout"], "cases": cases}


def worst_relative_difference(a, b):
    """Largest |a - b| / max(|b|, 1e-300) over every number of two cases lists (NaN-safe: NaN -> inf)."""
    worst = 0.0
    for ca, cb in zip(a["cases"], b["cases"]):
        for k, vb in cb.items():
            va = ca[k]
            for x, y in zip(va if isinstance(va, list) else [va], vb if isinstance(vb, list) else [vb]):
                r = abs(x - y) / max(abs(y), 1e-300)
                worst = max(worst, r) if not math.isnan(r) else math.inf
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", default=GOLDEN, help="JSON whose z1, z2, B, M and coeffs are used")
    ap.add_argument("--check", action="store_true", help="compare with --inputs instead of printing")
    args = ap.parse_args()
    with open(args.inputs) as f:
        text = f.read()
    old = json.loads(text)
    new = regenerate(old)
    out = json.dumps(new)
    if not args.check:
        print(out, end="")
        sys.exit(0)
    worst = worst_relative_difference(new, old)
    print(f"byte-identical: {out == text}; worst relative difference {worst:.3g}")
    sys.exit(0 if worst <= 1e-12 else 1)
