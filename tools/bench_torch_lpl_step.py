#!/usr/bin/env python3
"""The LPL training step of train_vgg11 in PyTorch, written from ../shared/spec/LPL.md §1-§3, timed.

VGG-11 (8 conv3x3 blocks, ReLU, max-pool after blocks 1, 2, 4, 6, 8), layer-local (each block's
input detached), per layer the LPL objective on the globally average-pooled output (pull + Hebbian +
10 x decorrelation, both views batched into one forward of 2B images), autograd backward, Adam with
L2 decay 1.5e-6 (none on biases). Prints one JSON line like `train_vgg11 --benchmark`:
    {"images_per_s": ..., "batch": 256, "device": "cpu", "threads": 2, "framework": "torch <version>"}
Both views are counted. Usage (Debian's python3-torch):
    /usr/bin/python3 tools/bench_torch_lpl_step.py --steps 5 --batch_size 256 --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS = [64, 128, 256, 256, 512, 512, 512, 512]
POOL = [True, True, False, True, False, True, False, True]


class Block(nn.Module):
    def __init__(self, cin, cout, pool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.pool = pool

    def forward(self, x):
        y = F.relu(self.conv(x))
        return F.max_pool2d(y, 2) if self.pool else y


def lpl_layer_loss(z, B, coeffs=(1.0, 1.0, 10.0), eps=1e-4):
    z1, z2 = z[:B], z[B:]
    pull = F.mse_loss(z1, z2)

    def hebb(a):
        mu = a.mean(dim=0).detach()
        var = ((a - mu) ** 2).sum(dim=0) / (a.shape[0] - 1)
        return -torch.log(var + eps).mean()

    def decorr(a):
        ac = a - a.mean(dim=0).detach()
        cov = (ac.t() @ ac).fill_diagonal_(0) / (a.shape[0] - 1)
        return (cov ** 2).sum() / (cov.shape[0] ** 2 - cov.shape[0])

    push = 0.5 * (hebb(z1) + hebb(z2))
    dec = 0.5 * (decorr(z1) + decorr(z2))
    return coeffs[0] * pull + coeffs[1] * push + coeffs[2] * dec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch_size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--image_size", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(24)
    B, S = args.batch_size, args.image_size
    blocks, cin = nn.ModuleList(), 3
    for c, p in zip(CHANNELS, POOL):
        blocks.append(Block(cin, c, p))
        cin = c
    decay = [p for n, p in blocks.named_parameters() if not n.endswith("bias")]
    no_decay = [p for n, p in blocks.named_parameters() if n.endswith("bias")]
    opt = torch.optim.Adam([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4,
                           weight_decay=1.5e-6)
    x = torch.rand(2 * B, 3, S, S) * 4 - 2  # both views stacked, as train_vgg11 --benchmark

    def step():
        opt.zero_grad(set_to_none=True)
        h, total = x, 0.0
        for blk in blocks:
            y = blk(h.detach())  # layer-local: no gradient crosses a block boundary
            total = total + lpl_layer_loss(y.mean(dim=(2, 3)), B)
            h = y
        total.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    el = time.perf_counter() - t0
    print(json.dumps({"images_per_s": 2 * B * args.steps / el, "batch": B, "device": "cpu",
                      "threads": args.threads, "framework": "torch " + torch.__version__}))


if __name__ == "__main__":
    main()
