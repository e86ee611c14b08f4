#!/usr/bin/env python3
"""The LPL training step of train_vgg11 in PyTorch, written from ../shared/spec/LPL.md §1-§3, timed.

--encoder vgg (default): VGG-11 (8 conv3x3 blocks, ReLU, max-pool after blocks 1, 2, 4, 6, 8).
--encoder alexnet: the original's AlexNet encoder (7 blocks, dropout 0.5 before blocks 6 and 7).
--encoder resnet: ResNet-50 as the original's models/resnets.py (torchvision's, bottlenecks without
batch norm), end-to-end only; the two views go through it as two forward passes (the original's
batch norm sees each view as its own batch).
Layer-local (default; each block's input detached) or --end_to_end (the objective on the last layer
only); per trained layer the LPL objective on the globally average-pooled output (pull + Hebbian +
10 x decorrelation; VGG and AlexNet batch both views into one forward of 2B images), autograd
backward, Adam with L2 decay 1.5e-6 (none on biases and on names with 'bn'). Prints one JSON line
like `train_vgg11 --benchmark`:
    {"images_per_s": ..., "batch": 256, "device": "cpu", "threads": 2, "framework": "torch <version>"}
--views_apart: each view through the network in its own forward pass of B images, as the original's
training step does (LPL.loss_step runs self.network(img_1) and self.network(img_2)); the default
batches both views into one pass of 2B images, as train_vgg11 does.
Both views are counted. Usage (Debian's python3-torch):
    /usr/bin/python3 tools/bench_torch_lpl_step.py --steps 5 --batch_size 256 --threads 2
    /usr/bin/python3 tools/bench_torch_lpl_step.py --encoder resnet --end_to_end --steps 3 --batch_size 32
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


def alexnet_blocks():
    def blk(*mods):
        return nn.Sequential(*mods)
    relu = lambda: nn.ReLU(inplace=True)
    pool = lambda: nn.MaxPool2d(3, 2)
    return nn.ModuleList([
        blk(nn.Conv2d(3, 64, 11, 4, 2), relu(), pool()),
        blk(nn.Conv2d(64, 192, 5, padding=2), relu(), pool()),
        blk(nn.Conv2d(192, 384, 3, padding=1), relu()),
        blk(nn.Conv2d(384, 256, 3, padding=1), relu()),
        blk(nn.Conv2d(256, 256, 3, padding=2), relu(), pool()),
        blk(nn.AdaptiveAvgPool2d((6, 6)), nn.Dropout(0.5), nn.Conv2d(256, 4096, 6), relu()),
        blk(nn.Dropout(0.5), nn.Conv2d(4096, 4096, 1), relu()),
    ])


def resnet50_without_bottleneck_bn():
    import torchvision
    net = torchvision.models.resnet50()
    for m in net.modules():
        if isinstance(m, torchvision.models.resnet.Bottleneck):
            m.bn1, m.bn2, m.bn3 = nn.Identity(), nn.Identity(), nn.Identity()
    net.fc = nn.Identity()
    net.avgpool = nn.Identity()
    return net


def resnet_features(net, x):
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


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
    ap.add_argument("--encoder", choices=["vgg", "alexnet", "resnet"], default="vgg")
    ap.add_argument("--end_to_end", action="store_true")
    ap.add_argument("--views_apart", action="store_true", help="one forward pass per view (the original's step)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(24)
    B, S = args.batch_size, args.image_size
    if args.encoder == "resnet":
        if not args.end_to_end:
            raise SystemExit("--encoder resnet trains end-to-end only (as the original): add --end_to_end")
        model = resnet50_without_bottleneck_bn()
        blocks = None
    elif args.encoder == "alexnet":
        model = blocks = alexnet_blocks()
    else:
        blocks, cin = nn.ModuleList(), 3
        for c, p in zip(CHANNELS, POOL):
            blocks.append(Block(cin, c, p))
            cin = c
        model = blocks
    model.train()
    skip = lambda n: "bias" in n or "bn" in n or "norm" in n  # the original's rule, by name
    decay = [p for n, p in model.named_parameters() if not skip(n)]
    no_decay = [p for n, p in model.named_parameters() if skip(n)]
    opt = torch.optim.Adam([{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4,
                           weight_decay=1.5e-6)
    x = torch.rand(2 * B, 3, S, S) * 4 - 2  # both views stacked, as train_vgg11 --benchmark

    def step():
        opt.zero_grad(set_to_none=True)
        if blocks is None:  # ResNet-50: one forward per view, the objective on the pooled last stage
            z = torch.cat([resnet_features(model, x[:B]), resnet_features(model, x[B:])]).mean(dim=(2, 3))
            total = lpl_layer_loss(z, B)
        elif args.views_apart:  # the original's step: one pass per view, the objective on the pair
            zs = [[], []]
            for v in range(2):
                h = x[v * B:(v + 1) * B]
                for i, blk in enumerate(blocks):
                    h = blk(h if args.end_to_end else h.detach())
                    zs[v].append(h.mean(dim=(2, 3)))
            layers = range(len(blocks)) if not args.end_to_end else [len(blocks) - 1]
            total = sum(lpl_layer_loss(torch.cat([zs[0][i], zs[1][i]]), B) for i in layers)
        else:
            h, total = x, 0.0
            for i, blk in enumerate(blocks):
                y = blk(h if args.end_to_end else h.detach())  # layer-local: no gradient crosses a block
                if not args.end_to_end or i == len(blocks) - 1:
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
                      "threads": args.threads, "encoder": args.encoder,
                      "mode": "end-to-end" if args.end_to_end else "layer-local",
                      "views": "apart" if args.views_apart else "batched",
                      "framework": "torch " + torch.__version__}))


if __name__ == "__main__":
    main()
