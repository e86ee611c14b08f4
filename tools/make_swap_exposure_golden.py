#!/usr/bin/python3
"""Golden values for tests/experiments/test_swap_exposure.cpp, from the formulas of the original's
notebook "4 - Comparison to experimental data" (re-derived here, float64 PyTorch autograd):

- the canvas: an image in a zero-padded column of 13 image heights, rolled down by slot x H;
- AdaptiveAvgPool2d((13, 1)) of a feature map whose height 13 does not divide, flattened [N, C * 13];
- the exposure objective: pull = mean over the pull pairs of MSE(target.detach(), trained), Hebbian
  -mean log(var + 1e-4) and decorrelation sum_{i != k} C_ik^2 / (M^2 - M) over all rows together
  (mean detached), weighted 1, 1, 10; its gradient with respect to every row;
- the readout step's objective: pull MSE(z1, z2) with both views trained.

Usage: /usr/bin/python3 tools/make_swap_exposure_golden.py > tests/data/experiments/swap_exposure_golden.json
"""
import json
import sys

import torch

torch.manual_seed(5)
dt = torch.float64


def canvas(images, slot, slots=13):
    n, c, h, w = images.shape
    out = torch.zeros(n, c, slots * h, w, dtype=images.dtype)
    out[:, :, :h, :] = images
    return torch.roll(out, h * slot, 2)


def hebbian(a):
    centre = a.mean(dim=0).detach()
    var = ((a - centre) ** 2).sum(dim=0) / (a.shape[0] - 1)
    return -torch.log(var + 1e-4).mean()


def decorr(a):
    centred = a - a.mean(dim=0).detach()
    cov = torch.einsum('ij,ik->jk', centred, centred).fill_diagonal_(0) / (a.shape[0] - 1)
    return torch.sum(cov ** 2) / (cov.shape[0] ** 2 - cov.shape[0])


def mse(a, b):
    return ((a - b) ** 2).mean()


out = {}

# Canvas: 2 images, 2 channels, 3 x 2 pixels, at slots 0, 6, 12.
img = torch.randn(2, 2, 3, 2, dtype=dt)
out["canvas_images"] = img.flatten().tolist()
out["canvas_shape"] = list(img.shape)
for s in (0, 6, 12):
    out[f"canvas_slot_{s}"] = canvas(img, s).flatten().tolist()

# Adaptive pooling to (13, 1): a [2, 3, 20, 2] map (20 rows into 13 bins).
fmap = torch.randn(2, 3, 20, 2, dtype=dt)
out["pool_input"] = fmap.flatten().tolist()
out["pool_shape"] = list(fmap.shape)
out["pool_output"] = torch.nn.AdaptiveAvgPool2d((13, 1))(fmap).reshape(2, -1).flatten().tolist()

# The exposure objective on 12 blocks of P rows (centre P1 N1 P2 N2, non-swap ..., swap ...), M units.
P, M = 2, 5
z = torch.randn(12 * P, M, dtype=dt, requires_grad=True)
blk = [z[i * P:(i + 1) * P] for i in range(12)]
cP1, cN1, cP2, cN2, nP1, nN1, nP2, nN2, sP1, sN1, sP2, sN2 = blk
pull = (mse(cP1.detach(), nP1) + mse(cP1.detach(), sN1) + mse(cN1.detach(), nN1) + mse(cN1.detach(), sP1)
        + mse(cP2.detach(), nP2) + mse(cP2.detach(), sN2) + mse(cN2.detach(), nN2) + mse(cN2.detach(), sP2)) / 8
push = hebbian(z)
dec = decorr(z)
total = 1.0 * pull + 1.0 * push + 10.0 * dec
total.backward()
out["exposure_pairs"] = P
out["exposure_units"] = M
out["exposure_z"] = z.detach().flatten().tolist()
out["exposure_terms"] = [pull.item(), push.item(), dec.item()]
out["exposure_dz"] = z.grad.flatten().tolist()

# The readout step's objective: B pairs of views, both trained.
B = 3
z2 = torch.randn(2 * B, M, dtype=dt, requires_grad=True)
pull2 = mse(z2[:B], z2[B:])
push2 = hebbian(z2)
dec2 = decorr(z2)
(pull2 + push2 + 10.0 * dec2).backward()
out["pair_b"] = B
out["pair_z"] = z2.detach().flatten().tolist()
out["pair_terms"] = [pull2.item(), push2.item(), dec2.item()]
out["pair_dz"] = z2.grad.flatten().tolist()

json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
