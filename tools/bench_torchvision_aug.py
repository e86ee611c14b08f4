#!/usr/bin/python3
"""The original's augmentation on one thread (torchvision + OpenCV, as pl_bolts' SimCLR transforms
that lpl_main.py uses: two SimCLR views + the evaluation view per source image), next to
build/bin/bench_data --json in the same run; prints both rates and the ratio.

    /usr/bin/python3 tools/bench_torchvision_aug.py   (Debian python3-torchvision, python3-opencv) [--bench build/bin/bench_data] [--seconds 3]
"""
import argparse
import json
import subprocess
import time

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import transforms


class GaussianBlur:
    """pl_bolts' GaussianBlur: OpenCV blur with p 0.5, sigma U(0.1, 2.0) (reflect-101 borders)."""

    def __init__(self, kernel_size, p=0.5, min=0.1, max=2.0):
        self.k, self.p, self.min, self.max = kernel_size, p, min, max

    def __call__(self, sample):
        sample = np.array(sample)
        if np.random.random_sample() < self.p:
            sigma = (self.max - self.min) * np.random.random_sample() + self.min
            sample = cv2.GaussianBlur(sample, (self.k, self.k), sigma)
        return sample


def simclr_transforms(h):
    k = int(0.1 * h)
    if k % 2 == 0:
        k += 1
    norm = transforms.Normalize(mean=[0.491, 0.482, 0.447], std=[0.247, 0.243, 0.261])
    jitter = transforms.ColorJitter(0.8, 0.8, 0.8, 0.2)
    train = transforms.Compose([
        transforms.RandomResizedCrop(size=h),
        transforms.RandomHorizontalFlip(p=0.5),
        transforms.RandomApply([jitter], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        GaussianBlur(kernel_size=k, p=0.5),
        transforms.ToTensor(),
        norm,
    ])
    evaluation = transforms.Compose([
        transforms.Resize(int(h + 0.1 * h)),
        transforms.CenterCrop(h),
        transforms.ToTensor(),
        norm,
    ])
    return train, evaluation


def torchvision_rate(h, seconds):
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, h, 3), dtype=np.uint8)) for _ in range(256)]
    train, evaluation = simclr_transforms(h)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for img in images:
            train(img), train(img), evaluation(img)
        done += len(images)
    return done / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default="build/bin/bench_data")
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    tv32 = torchvision_rate(32, a.seconds)
    tv96 = torchvision_rate(96, a.seconds)
    out = subprocess.run([a.bench, "--json", "--seconds", str(a.seconds)], check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout.strip().splitlines()[-1])
    res = {
        "torchvision_images_per_s_32px": round(tv32, 1),
        "torchvision_images_per_s_96px": round(tv96, 1),
        "lpl_images_per_s_32px": ours["images_per_s_32px"],
        "lpl_images_per_s_96px": ours["images_per_s_96px"],
        "ratio_32px": round(ours["images_per_s_32px"] / tv32, 2),
        "ratio_96px": round(ours["images_per_s_96px"] / tv96, 2),
    }
    print(json.dumps(res))
    print(f"one thread, source images/s (2 views + eval view each): 32 px lpl {res['lpl_images_per_s_32px']:.0f} vs "
          f"torchvision {tv32:.0f} -> {res['ratio_32px']}x; 96 px lpl {res['lpl_images_per_s_96px']:.0f} vs "
          f"torchvision {tv96:.0f} -> {res['ratio_96px']}x")


if __name__ == "__main__":
    main()
