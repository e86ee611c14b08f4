#!/usr/bin/env python3
"""PyTorch reference for apps/bench_ops: times conv forward and backward-filter of every VGG-11 conv
(3x3, pad 1, batch B, 32x32 input) on the CPU and prints sum FLOP / sum seconds over those rows.

  /usr/bin/python3 tools/bench_torch_conv.py --threads 2 [--batch 256] [--reps 3] [--json]

FLOP = 2 x multiply-adds, counted exactly as bench_ops counts them. Backward-filter is timed alone
(torch.nn.grad.conv2d_weight goes through the same convolution_backward as autograd; only the
weight gradient is requested)."""
import argparse
import json
import sys
import time

import torch

# (in channels, out channels, spatial size of the block's input): VGG-11 at 32x32 (spec section 1).
VGG11_CONVS = [(3, 64, 32), (64, 128, 16), (128, 256, 8), (256, 256, 8),
               (256, 512, 4), (512, 512, 4), (512, 512, 2), (512, 512, 2)]


def best_time(fn, reps):
    fn()  # warm-up (oneDNN primitive creation, allocations)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads < 1 or a.batch < 1 or a.reps < 1:
        sys.exit("bench_torch_conv: --threads, --batch and --reps must be positive")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows = []
    with torch.no_grad():
        for ci, co, s in VGG11_CONVS:
            x = torch.randn(a.batch, ci, s, s)
            w = torch.randn(co, ci, 3, 3) * 0.05
            b = torch.randn(co)
            dy = torch.randn(a.batch, co, s, s)
            flops = 2.0 * a.batch * co * ci * 9 * s * s
            shape = f"{a.batch}x{ci}x{s}x{s} -> {co}"
            fwd = best_time(lambda: torch.nn.functional.conv2d(x, w, b, 1, 1), a.reps)
            bwf = best_time(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, 1, 1), a.reps)
            rows.append({"op": "conv_fwd", "shape": shape, "flops": flops, "seconds": fwd, "gflops": flops / fwd / 1e9})
            rows.append({"op": "conv_bwd_filter", "shape": shape, "flops": flops, "seconds": bwf,
                         "gflops": flops / bwf / 1e9})
    total = sum(r["flops"] for r in rows) / sum(r["seconds"] for r in rows) / 1e9
    if a.json:
        print(json.dumps({"device": "cpu", "threads": a.threads, "torch": torch.__version__, "rows": rows,
                          "conv_fwd_bwdfilter_gflops": total}))
    else:
        for r in rows:
            print(f"{r['op']:<16} {r['shape']:<22} {r['seconds'] * 1e3:9.2f} ms {r['gflops']:8.1f} GFLOP/s")
        print(f"torch {torch.__version__} threads {a.threads}: conv_fwd_bwdfilter_gflops {total:.1f}")


if __name__ == "__main__":
    main()
