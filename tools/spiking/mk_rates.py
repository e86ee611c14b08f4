#!/usr/bin/env python3
"""Writes the network's input rate files rates0.dat ... rates4.dat (SPIKING.md 6.1) into the current
directory, like the original mk_rates.py (NumPy seed 42, deterministic): P0 constant 5 Hz; P1 a
smooth random signal with period 3 s (11 periods, 10-ms points); P2 = P1 permuted in time; P3 the
same recipe with period 3 + 1/13 s; P4 = P3 permuted. Usage: mk_rates.py [--seed 42]"""
import argparse
import numpy as np


def signal(T, ab, t):
    i = np.arange(len(ab))
    z = ((1.1 ** (-i) * ab[:, 0])[None, :] * np.sin(2 * np.pi * i[None, :] * (t[:, None] + ab[None, :, 1]) / T)).sum(1)
    z = (z - z.mean()) / (z.std() + 1e-4)
    return np.maximum(4 * z + 5, 0.1)


def write(fn, t, r):
    with open(fn, 'w') as f:
        for a, b in zip(t, r):
            f.write('%e %e\n' % (a, b))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--seed', type=int, default=42)
    a = ap.parse_args()
    np.random.seed(a.seed)
    with open('rates0.dat', 'w') as f:
        f.write('0 5.000000e+00\n1.000000e+02 5.000000e+00\n')
    for k, T in ((1, 3.0), (3, 3.0 + 1.0 / 13)):
        ab = np.random.rand(128, 2)
        t = np.arange(0, 11 * T, 0.01)
        r = signal(T, ab, t)
        write('rates%d.dat' % k, t, r)
        write('rates%d.dat' % (k + 1), t, np.random.permutation(r))


if __name__ == '__main__':
    main()
