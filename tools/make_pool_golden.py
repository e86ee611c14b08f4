#!/usr/bin/env python3
"""Golden outputs of PyTorch's max_pool2d (values, indices, backward), adaptive_avg_pool2d
(forward, backward) and cross_entropy (loss, gradient) for tests/engine/test_golden_ops.cpp.

    /usr/bin/python3 tools/make_pool_golden.py   # writes tests/data/ops/pool_golden.json

Inputs include many ties (small integers) so the tests check PyTorch's tie-breaking exactly."""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "ops", "pool_golden.json")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def maxpool_cases():
    cases = []
    for shape, k, s, p, ties in [
        ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), True),
        ((1, 5, 7, 9), (3, 3), (2, 2), (1, 1), True),
        ((2, 3, 6, 5), (3, 3), (1, 1), (1, 1), False),
        ((1, 2, 7, 10), (3, 2), (2, 3), (1, 0), True),
        ((3, 1, 5, 5), (2, 2), (1, 1), (1, 1), True),
    ]:
        if ties:  # small integers: many equal values in a window
            x = torch.randint(-2, 3, shape).float()
        else:
            x = torch.randn(shape)
        x.requires_grad_(True)
        y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({"shape": list(shape), "kernel": list(k), "stride": list(s), "pad": list(p),
                      "x": flat(x), "y": flat(y), "argmax": [int(v) for v in idx.reshape(-1).tolist()],
                      "dy": flat(dy), "dx": flat(x.grad)})
    return cases


def adaptive_cases():
    cases = []
    for shape, out in [((2, 3, 8, 8), (4, 4)), ((1, 5, 7, 9), (3, 4)), ((2, 2, 5, 6), (6, 6)),
                       ((1, 3, 13, 11), (6, 5)), ((1, 2, 1, 1), (6, 6)), ((2, 2, 10, 7), (1, 1))]:
        x = torch.randn(shape, requires_grad=True)
        y = F.adaptive_avg_pool2d(x, out)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({"shape": list(shape), "out": list(out), "x": flat(x), "y": flat(y), "dy": flat(dy),
                      "dx": flat(x.grad)})
    return cases


def xent_cases():
    cases = []
    for b, k, scale in [(1, 1, 1.0), (4, 10, 3.0), (7, 13, 30.0), (3, 5, 1000.0)]:
        z = (torch.randn(b, k) * scale).requires_grad_(True)
        labels = torch.randint(0, k, (b,))
        loss = F.cross_entropy(z, labels)
        loss.backward()
        cases.append({"batch": b, "classes": k, "logits": flat(z), "labels": labels.tolist(),
                      "loss": float(loss), "dlogits": flat(z.grad)})
    return cases


def main():
    data = {"torch": torch.__version__, "maxpool": maxpool_cases(), "adaptive_avgpool": adaptive_cases(),
            "cross_entropy": xent_cases()}
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
