#!/usr/bin/env python3
"""Golden values for tests/experiments/test_toy_digits.cpp (the single neuron of Fig. S2).

Re-derives the notebook "S2 - Toy digits" in torch float64: its trainer loop (y_past = the previous
step's outputs, MSELoss(y, y_past.detach()) + hebbian_loss(y), torch.optim.SGD with weight decay;
Oja's update) on fixed small random inputs, and its get_sample / location_sensitivity /
digit_sensitivity on four 28 x 28 images and a 56 x 56 weight given by closed formulas (so the test
rebuilds them without the file carrying them).
Usage: /usr/bin/python3 tools/make_toy_digits_golden.py tests/data/experiments/toy_digits_golden.json
"""
import json
import math
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def hebbian_loss(a):
    c = a.mean(dim=0).detach()
    var = ((a - c) ** 2).sum(dim=0) / (a.shape[0] - 1) + 1e-8
    return (-torch.log(var)).mean()


def trainer_steps(rule, w0, xs, lr, wd):
    net = torch.nn.Linear(w0.shape[1], 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor(w0))
    opt = torch.optim.SGD(net.parameters(), lr=lr, weight_decay=wd)
    y_past = net(torch.tensor(xs[0]))
    ws, ys = [], []
    for t in range(1, len(xs)):
        x = torch.tensor(xs[t])
        y = net(x)
        if rule == "oja":
            with torch.no_grad():
                net.weight.data += (lr * y * (x - y * net.weight.data)).mean(dim=0)
        else:
            loss = 0.
            if rule in ("lpl", "pred_off"):
                loss = loss + hebbian_loss(y)
            if rule in ("lpl", "hebb_off"):
                loss = loss + torch.nn.functional.mse_loss(y, y_past.detach())
            opt.zero_grad()
            loss.backward()
            opt.step()
        ys.append(y.detach()[:, 0].tolist())
        ws.append(net.weight.detach()[0].tolist())
        y_past = y.clone()
    return ws, ys


# Inputs by formula (the C++ test computes the same): image k pixel p, weight index i.
def image_pixel(k, p):
    return ((p * 7 + k * 13) % 17) / 16.0 * (0.5 + 0.5 * math.sin(0.05 * p + k))


def weight(i):
    return math.sin(0.37 * i + 0.1) + 0.3 * math.cos(0.011 * i)


def main():
    out = sys.argv[1]
    rs = np.random.RandomState(3)
    B, D, steps = 6, 10, 4
    lr, wd = 0.2, 0.15
    # inputs exactly representable in float32 (the C++ step takes float inputs)
    xs = [rs.rand(B, D).astype(np.float32).astype(np.float64) for _ in range(steps + 1)]
    w0 = rs.uniform(-0.3, 0.3, size=(1, D))
    res = {"B": B, "D": D, "lr": lr, "weight_decay": wd, "w0": w0[0].tolist(), "xs": [x.tolist() for x in xs],
           "rules": {}}
    for rule in ["lpl", "pred_off", "hebb_off", "oja"]:
        ws, ys = trainer_steps(rule, w0, xs, lr, wd)
        res["rules"][rule] = {"w": ws, "y": ys}

    # the notebook's measures: raw_data = 2 images of class 0, then 2 of class 1
    raw = torch.zeros(4, 1, 28, 28)
    for k in range(4):
        for p in range(784):
            raw[k, 0, p // 28, p % 28] = float(np.float32(image_pixel(k, p)))  # stored as float32

    def get_sample(digit, position):
        c, w, h = raw[0].shape
        o = torch.zeros_like(raw[0]).squeeze().repeat(2, 2)
        o[w * position:w * (position + 1), h * position:h * (position + 1)] = raw[digit]
        return o

    W = torch.tensor([[weight(i) for i in range(56 * 56)]])
    loc1 = torch.stack([get_sample(i, 0) for i in range(4)]).view(4, -1)
    loc2 = torch.stack([get_sample(i, 1) for i in range(4)]).view(4, -1)
    dig1 = torch.stack([get_sample(i, p) for i in range(2) for p in range(2)]).view(4, -1)
    dig2 = torch.stack([get_sample(i + 2, p) for i in range(2) for p in range(2)]).view(4, -1)

    def sens(a, b):
        a, b = a @ W.T, b @ W.T
        return (torch.abs(a.mean() - b.mean()) / (torch.max(a.max(), b.max()) - torch.min(a.min(), b.min()))).item()

    res["measures"] = {"location": sens(loc1, loc2), "digit": sens(dig1, dig2),
                       "canvas_sum_image1_loc1": get_sample(1, 1).sum().item()}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
