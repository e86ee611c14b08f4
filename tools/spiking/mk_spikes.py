#!/usr/bin/env python3
"""Writes the STDP-protocol inputs spikes.ras and post_voltage.dat (SPIKING.md 7.2) into the
current directory, like the original repository's mk_spikes.py (NumPy only, deterministic).

Usage: mk_spikes.py [--interval 20e-3] [--freq 10] [--pairings 100] [--n 100]"""
import argparse
import numpy as np

DT = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--interval', type=float, default=20e-3, help='T: largest pre/post offset (s)')
    ap.add_argument('--freq', type=float, default=10.0, help='pairing frequency rho (Hz)')
    ap.add_argument('--pairings', type=int, default=100)
    ap.add_argument('--n', type=int, default=100, help='number of inputs')
    a = ap.parse_args()
    if a.freq <= 0 or a.interval <= 0 or a.pairings < 1 or a.n < 2:
        ap.error('need freq > 0, interval > 0, pairings >= 1, n >= 2')
    T = a.interval
    offsets = -T + 2 * T * np.arange(a.n) / (a.n - 1)      # d_j; input j fires at t_p + d_j
    tp = 0.1 + np.arange(a.pairings) / a.freq
    times = (tp[:, None] + offsets[None, :]).ravel()
    units = np.tile(np.arange(a.n), a.pairings)
    order = np.argsort(times)  # overlapping pairings: sorted by time (NumPy's default sort decides exact ties, as the original)
    with open('spikes.ras', 'w') as f:
        for t, j in zip(times[order], units[order]):
            f.write('%e %i\n' % (t, j))
    pts = [(0.0, -51e-3)]
    for t in tp:
        pts += [(t - 10e-3 - DT, -51e-3), (t - 10e-3, -51e-3), (t - 2 * DT, -51e-3), (t - DT, -20e-3), (t, -20e-3),
                (t + DT, -51e-3), (t + 5e-3, -51e-3)]
    pts += [(tp[-1] + 10e-3, -60e-3), (tp[-1] + 200.0, -60e-3)]
    with open('post_voltage.dat', 'w') as f:
        for t, v in pts:
            f.write('%e %e\n' % (t, v))


if __name__ == '__main__':
    main()
