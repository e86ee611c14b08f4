#!/usr/bin/env python3
"""Writes the E->I mask local_inh_connectivity.wmat (SPIKING.md 3.3) into the current directory: for
I unit k = 0..ni-1 with centre c_k = ne*k/(ni-1) and E unit x, P(connect) = exp(-(x - c_k)^2 / sigma^2)
(sigma^2, not 2 sigma^2), sampled independently. Unlike the original (unseeded) generator the draw is
seeded. Usage: mk_local_inh_connectivity.py [--seed 1] [--ne 100] [--ni 25] [--sigma 20]"""
import argparse
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--ne', type=int, default=100)
    ap.add_argument('--ni', type=int, default=25)
    ap.add_argument('--sigma', type=float, default=20.0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    x = np.arange(a.ne)[:, None]
    c = a.ne * np.arange(a.ni)[None, :] / max(a.ni - 1, 1)
    M = (rng.random((a.ne, a.ni)) < np.exp(-(x - c) ** 2 / a.sigma ** 2)).astype(float)
    i, j = np.nonzero(M)
    with open('local_inh_connectivity.wmat', 'w') as f:
        f.write('%%%%MatrixMarket matrix coordinate real general\n%%\n%d %d %d\n' % (a.ne, a.ni, len(i)))
        for p, q in zip(i, j):
            f.write('%d %d %.16e\n' % (p + 1, q + 1, 1.0))
    print('local_inh_connectivity.wmat: %d connections, density %.3f' % (len(i), M.mean()))


if __name__ == '__main__':
    main()
