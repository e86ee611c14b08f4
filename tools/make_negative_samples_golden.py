#!/usr/bin/env python3
"""Golden values of the negative-sample baseline's layer objective (--use_negative_samples, spec §2),
computed in float64 with PyTorch autograd from the definitions (F.normalize rows; pull = -mean_b
cos(z1_b, z2_b); push = mean over off-diagonal pairs of cos^2 within a view, averaged over the two
views), for tests/lpl/test_negative_objective.cpp.

    /usr/bin/python3 tools/make_negative_samples_golden.py > tests/data/lpl/negative_samples_objective.json
"""
import json

import torch
import torch.nn.functional as F


def pull(a, b):
    return -(F.normalize(a, dim=-1) * F.normalize(b, dim=-1)).sum(-1).mean()


def push(a):
    u = F.normalize(a, dim=-1)
    s2 = (u @ u.T) ** 2
    off = ~torch.eye(a.shape[0], dtype=torch.bool)
    return s2[off].mean()


def case(B, M, coeffs, seed, relu):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(B, M, generator=g, dtype=torch.float64)
    z2 = z1 + 0.5 * torch.randn(B, M, generator=g, dtype=torch.float64)
    if relu:  # a ReLU projector's output: non-negative, some zeros
        z1, z2 = z1.clamp_min(0), z2.clamp_min(0)
    z1 = z1.float().double().requires_grad_()  # values exactly representable in float32
    z2 = z2.float().double().requires_grad_()
    p = pull(z1, z2)
    h = 0.5 * (push(z1) + push(z2))
    total = coeffs[0] * p + coeffs[1] * h
    total.backward()
    return {"B": B, "M": M, "coeffs": coeffs, "z1": z1.detach().flatten().tolist(),
            "z2": z2.detach().flatten().tolist(), "pull": p.item(), "push": h.item(), "total": total.item(),
            "grad_z1": z1.grad.flatten().tolist(), "grad_z2": z2.grad.flatten().tolist()}


if __name__ == "__main__":
    cases = [case(8, 6, [1.0, 1.0], 1, False), case(5, 16, [0.5, 2.0], 2, True), case(16, 4, [1.0, 0.0], 3, False)]
    print(json.dumps({"layout": "z1, z2 and gradients are row-major B x M; coeffs = [pull, push]", "cases": cases}))
