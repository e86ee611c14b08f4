#!/usr/bin/env python3
"""Compares a port network run with an original Auryn run (SPIKING.md 12.2 / 12.3).

Usage: compare_network.py <port_out_dir> <auryn_out_dir> [--prime-steps N] [--window-steps N]
Prints spike agreement (per group and per window), per-neuron counts, weight differences and
statistics. Needs numpy only."""
import argparse, os, sys
import numpy as np


def read_spk(fn):
    a = np.fromfile(fn, dtype='<u4').reshape(-1, 2)
    assert a[0, 0] == 10000 and a[0, 1] == 287960082, (fn, a[0])
    return a[1:, 0].astype(np.int64), a[1:, 1].astype(np.int64)


def read_wmat(fn):
    with open(fn) as f:
        lines = [l for l in f if not l.startswith('%')]
    nnz = int(lines[0].split()[2])
    e = np.array([l.split() for l in lines[1:1 + nnz]], dtype=float)
    return e[:, 0].astype(int), e[:, 1].astype(int), e[:, 2]


def match(port, ref, lo=None, hi=None):
    """Spikes of (step, unit) sets: identical ones, and for the rest the nearest same-unit shift."""
    ps, pu = port; rs, ru = ref
    if lo is not None:
        m = (ps >= lo) & (ps < hi); ps, pu = ps[m], pu[m]
        m = (rs >= lo) & (rs < hi); rs, ru = rs[m], ru[m]
    P = set(zip(ps.tolist(), pu.tolist())); R = set(zip(rs.tolist(), ru.tolist()))
    same = len(P & R)
    shifts = []
    for s, u in R - P:
        cand = ps[pu == u]
        shifts.append(int(np.abs(cand - s).min()) if len(cand) else 10**9)
    return same, len(P), len(R), shifts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('port'); ap.add_argument('ref')
    ap.add_argument('--prime-steps', type=int, default=None)
    ap.add_argument('--window-steps', type=int, default=1000000)
    a = ap.parse_args()
    ok = True
    for g in ('exc', 'inh'):
        port, ref = read_spk(os.path.join(a.port, g + '.0.spk')), read_spk(os.path.join(a.ref, g + '.0.spk'))
        same, np_, nr, shifts = match(port, ref)
        cnt_p = np.bincount(port[1], minlength=100); cnt_r = np.bincount(ref[1], minlength=100)
        per_neuron_equal = bool(np.all(cnt_p == cnt_r))
        print('%s: port %d spikes, Auryn %d, identical %d (%.2f%%), per-neuron counts equal: %s, max shift of the others: %s'
              % (g, np_, nr, same, 100.0 * same / max(nr, 1), per_neuron_equal, max(shifts) if shifts else '-'))
        if a.prime_steps is not None:
            last = int(max(port[0].max(initial=0), ref[0].max(initial=0))) + 1
            edges = list(range(0, a.prime_steps, a.window_steps)) + [a.prime_steps, last]
            for lo, hi in zip(edges[:-1], edges[1:]):
                s, p_, r_, _ = match(port, ref, lo, hi)
                print('  %s steps %9d-%9d: port %6d Auryn %6d identical %6d (%.2f%%)' % (g, lo, hi, p_, r_, s, 100.0 * s / max(r_, 1)))
    ex_p, ex_r = read_spk(os.path.join(a.port, 'exc.0.spk')), read_spk(os.path.join(a.ref, 'exc.0.spk'))
    _, _, _, _ = match(ex_p, ex_r)
    shifted_neurons = set()
    P = set(zip(ex_p[0].tolist(), ex_p[1].tolist()))
    for s, u in zip(ex_r[0].tolist(), ex_r[1].tolist()):
        if (s, u) not in P: shifted_neurons.add(u)
    for name in ('input_con', 'con_ie'):
        fp, fr = os.path.join(a.port, name + '.0.wmat'), os.path.join(a.ref, name + '.0.wmat')
        if not (os.path.exists(fp) and os.path.exists(fr)): continue
        ip, jp, wp = read_wmat(fp); ir, jr, wr = read_wmat(fr)
        assert np.all(ip == ir) and np.all(jp == jr), name + ': synapse positions differ'
        d = np.abs(wp - wr)
        post = jp - 1 if name == 'input_con' else jp - 1
        exact = np.array([p not in shifted_neurons for p in post])
        print('%s: %d synapses, max |dw| %.2e (onto spike-exact E neurons %.2e, others %.2e); mean port %.6f Auryn %.6f'
              % (name, len(d), d.max(), d[exact].max() if exact.any() else 0, d[~exact].max() if (~exact).any() else 0,
                 wp.mean(), wr.mean()))
    print('E neurons with a shifted spike: %s' % sorted(shifted_neurons))
    if a.prime_steps is not None:
        ok = criteria_12_3(a, ex_p, ex_r) and ok
        print('SPIKING.md 12.3: %s' % ('PASS' if ok else 'FAIL'))
    return 0 if ok else 1


def criteria_12_3(a, ex_p, ex_r):
    """Priming: >= 99 % E / >= 98 % I spikes identical, counts per 100-s window within 1 % or 1 spike;
    learning window: E rate within 2 % of 1.2298 Hz, I within 5 % of 0.3456 Hz, mean LPL weight
    within 1 % of 0.17683, mean I->E weight within 0.5 % of 0.48208."""
    ok = True
    P = a.prime_steps
    for g, need in (('exc', 0.99), ('inh', 0.98)):
        port, ref = read_spk(os.path.join(a.port, g + '.0.spk')), read_spk(os.path.join(a.ref, g + '.0.spk'))
        same, _, nr, _ = match(port, ref, 0, P)
        c = same >= need * nr
        for lo in range(0, P, a.window_steps):
            cp = int(((port[0] >= lo) & (port[0] < lo + a.window_steps)).sum())
            cr = int(((ref[0] >= lo) & (ref[0] < lo + a.window_steps)).sum())
            c = c and abs(cp - cr) <= max(1, 0.01 * cr)
        print('  priming %s: %.2f%% identical (need %.0f%%), window counts within 1%% or 1 spike: %s'
              % (g, 100.0 * same / nr, 100 * need, 'ok' if c else 'FAIL'))
        ok = ok and c
        n_units = 100 if g == 'exc' else 25
        rate = ((port[0] >= P) & (port[0] < P + 1000000)).sum() / (100.0 * n_units)
        target, tol = (1.2298, 0.02) if g == 'exc' else (0.3456, 0.05)
        c = abs(rate - target) <= tol * target
        print('  learning %s rate %.4f Hz (Auryn %.4f, tolerance %.0f%%): %s' % (g, rate, target, 100 * tol, 'ok' if c else 'FAIL'))
        ok = ok and c
    for name, target, tol in (('input_con', 0.17683, 0.01), ('con_ie', 0.48208, 0.005)):
        w = read_wmat(os.path.join(a.port, name + '.0.wmat'))[2].mean()
        c = abs(w - target) <= tol * target
        print('  mean %s weight %.5f (Auryn %.5f, tolerance %.1f%%): %s' % (name, w, target, 100 * tol, 'ok' if c else 'FAIL'))
        ok = ok and c
    return ok


if __name__ == '__main__':
    sys.exit(main())
