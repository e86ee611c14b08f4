#!/usr/bin/env python3
"""Golden values for tests/experiments/test_toy2d.cpp (the toy 2-D neuron of Fig. 2).

Re-derives the notebook "2 - Toy 2D" trainer's formulas in torch float64 with autograd: the loss
terms (MSELoss(y_next, y_prev.detach()), -log(var + 1e-8), naive -var, VICReg hinge), torch.optim.SGD
with weight decay, and Oja's update, on fixed random sequence data; writes w after every step, the
first step's loss and gradient, and the x-selectivity of a fixed weight.
Usage: /usr/bin/python3 tools/make_toy2d_golden.py tests/data/experiments/toy2d_golden.json
"""
import json
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def hebbian_loss(a):
    c = a.mean(dim=0).detach()
    var = ((a - c) ** 2).sum(dim=0) / (a.shape[0] - 1) + 1e-8
    return (-torch.log(var)).mean()


def vic_loss(a):
    c = a.mean(dim=0).detach()
    var = ((a - c) ** 2).sum(dim=0) / (a.shape[0] - 1) + 1e-8
    loss = 1 - torch.sqrt(var)
    loss = torch.where(loss < 0, torch.zeros_like(loss), loss)
    return loss.mean()


def naive_loss(a):
    c = a.mean(dim=0).detach()
    var = ((a - c) ** 2).sum(dim=0) / (a.shape[0] - 1)
    return -var.mean()


def objective(rule, w, x_prev, x_next):
    y = x_prev @ w.T
    y_next = x_next @ w.T
    loss = torch.zeros(())
    pred = rule != "pred_off"
    if rule in ("lpl", "pred_off"):
        loss = loss + hebbian_loss(y_next)
    elif rule == "naive_var":
        loss = loss + naive_loss(y_next)
    elif rule == "vic_var":
        loss = loss + vic_loss(y_next)
    if pred:
        loss = loss + torch.nn.functional.mse_loss(y_next, y.detach())
    return loss


def main():
    out = sys.argv[1]
    rs = np.random.RandomState(7)
    B, steps, sigma = 8, 5, 1.5
    lr, wd = 0.05, 0.15
    labels = np.array([0] * (B // 2) + [1] * (B // 2))
    xs = []
    for t in range(steps + 1):
        x = np.zeros((B, 2))
        x[:, 0] = np.where(labels == 0, 1.0, -1.0) + 0.1 * rs.randn(B)
        x[:, 1] = sigma * rs.randn(B)
        xs.append(x)
    w0 = np.array([[0.31, -0.52]])
    res = {"B": B, "steps": steps, "lr": lr, "weight_decay": wd, "w0": w0[0].tolist(),
           "xs": [x.tolist() for x in xs], "labels": labels.tolist(), "rules": {}}
    for rule in ["lpl", "pred_off", "hebb_off", "naive_var", "vic_var", "oja"]:
        w = torch.tensor(w0, requires_grad=True)
        traj = []
        first = None
        for t in range(steps):
            xp, xn = torch.tensor(xs[t]), torch.tensor(xs[t + 1])
            if rule == "oja":
                with torch.no_grad():
                    yn = xn @ w.T
                    w += (lr * yn * (xn - yn * w)).mean(dim=0) - lr * wd * w
            else:
                opt = torch.optim.SGD([w], lr=lr, weight_decay=wd)
                loss = objective(rule, w, xp, xn)
                opt.zero_grad()
                loss.backward()
                if first is None:
                    first = {"loss": loss.item(), "grad": w.grad[0].tolist()}
                opt.step()
            traj.append(w.detach()[0].tolist())
        res["rules"][rule] = {"w": traj}
        if first is not None:
            res["rules"][rule].update(first)
    # x-selectivity of a fixed weight on the first batch, as the notebook computes it
    wsel = torch.tensor([[0.8, 0.3]])
    proj = torch.tensor(xs[0]) @ wsel.T
    lab = torch.tensor(labels)
    sel = (proj[lab == 0].mean() - proj[lab == 1].mean()) / (proj.max() - proj.min())
    res["selectivity"] = {"w": wsel[0].tolist(), "value": abs(sel.item())}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
