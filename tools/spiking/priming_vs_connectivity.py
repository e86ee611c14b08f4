#!/usr/bin/env python3
"""SPIKING.md 12.4 diagnosis: how the priming-phase E rate depends on the random IN->E draw.

For each run folder (output of sim_lpl_spiking, or the Auryn reference with its setup .wmat files)
reads the IN->E connectivity (input_con.0.wmat: only positions are used; weights are all --wext
during priming) and the E spikes of the priming window, and prints per run: the number of IN->E
synapses, the population rate, and per-neuron rate as a function of the neuron's in-degree.
Pooling many seeds of our own draw gives the model's rate-vs-in-degree curve; the reference run
(Auryn's draw) is then compared with that curve: the population rate the curve predicts for the
reference in-degrees versus the rate Auryn measured.

  priming_vs_connectivity.py --prime-s 300 RUN_DIR... [--ref NET_INIT_DIR EXC_SPK] [--json OUT]
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_wmat(path):
    with open(path) as f:
        lines = [l for l in f if not l.startswith('%')]
    rows, cols, nnz = (int(x) for x in lines[0].split())
    a = np.loadtxt(lines[1:1 + nnz], ndmin=2)
    return rows, cols, a[:, 0].astype(int) - 1, a[:, 1].astype(int) - 1


def indegree(path):
    """Per target neuron: number of inputs; also the synapse count and the number of input units."""
    rows, cols, pre, post = read_wmat(path)
    return np.bincount(post, minlength=cols), len(pre), rows


def spike_counts(path, n_units, last_step):
    raw = np.fromfile(path, dtype='<u4')
    rec = raw.reshape(-1, 2)[1:]  # drop the header record
    rec = rec[rec[:, 0] < last_step]
    return np.bincount(rec[:, 1], minlength=n_units)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('runs', nargs='+')
    ap.add_argument('--prime-s', type=float, required=True, help='length of the priming window (s) to count spikes in')
    ap.add_argument('--ref', nargs=2, metavar=('NET_INIT_DIR', 'EXC_SPK'), help='Auryn reference: setup folder and exc.0.spk')
    ap.add_argument('--ref-prime-s', type=float, default=None, help='priming window of the reference (default --prime-s)')
    ap.add_argument('--draws', type=int, default=20000, help='fresh Bernoulli draws for the percentile of the reference draw')
    ap.add_argument('--p', type=float, default=0.1, help='connection probability of those draws (--sparseness)')
    ap.add_argument('--json')
    a = ap.parse_args()
    last = int(round(a.prime_s * 1e4))
    per_run, ks, rs = [], [], []
    for d in a.runs:
        k, n, _ = indegree(os.path.join(d, 'input_con.0.wmat'))
        c = spike_counts(os.path.join(d, 'exc.0.spk'), len(k), last)
        r = c / a.prime_s
        per_run.append({'run': d, 'n_syn': int(n), 'rate_hz': float(r.mean()), 'max_indegree': int(k.max())})
        ks.append(k)
        rs.append(r)
    ks, rs = np.concatenate(ks), np.concatenate(rs)
    # Model curve: Poisson regression of each neuron's spike count on its in-degree (log link,
    # quadratic in the in-degree): near-threshold firing grows about exponentially with the drive,
    # and neurons without spikes stay in the fit.
    counts = np.rint(rs * a.prime_s)
    z = (ks - 50.0) / 10.0
    X = np.stack([np.ones_like(z), z, z * z], axis=1)
    beta = np.zeros(3)
    beta[0] = np.log(max(counts.mean(), 1e-9))
    for _ in range(100):
        mu = np.exp(X @ beta)
        step = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (counts - mu))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    def predict(k):
        zz = (np.asarray(k, dtype=float) - 50.0) / 10.0
        return np.exp(beta[0] + beta[1] * zz + beta[2] * zz * zz) / a.prime_s
    curve = {int(d): float(predict([d])[0]) for d in range(int(ks.min()), int(ks.max()) + 1)}
    print(f"{'run':40s} {'n_syn':>6s} {'E rate (Hz)':>12s} {'predicted':>10s}")
    for pr, k in zip(per_run, np.split(ks, len(per_run))):
        pr['predicted_hz'] = float(predict(k).mean())
        print(f"{os.path.basename(pr['run'].rstrip('/')):40s} {pr['n_syn']:6d} {pr['rate_hz']:12.4f} {pr['predicted_hz']:10.4f}")
    rates = np.array([p['rate_hz'] for p in per_run])
    nsyn = np.array([p['n_syn'] for p in per_run])
    summary = {'runs': per_run, 'rate_mean': float(rates.mean()), 'rate_sd': float(rates.std(ddof=1)) if len(rates) > 1 else 0.0,
               'rate_p05_p95': [float(np.percentile(rates, 5)), float(np.percentile(rates, 95))],
               'corr_rate_nsyn': float(np.corrcoef(rates, nsyn)[0, 1]) if len(rates) > 2 else None,
               'curve_rate_by_indegree': curve}
    print(f"own draws: {len(rates)} runs, E rate mean {rates.mean():.4f} Hz sd {summary['rate_sd']:.4f} "
          f"(5-95 %: {summary['rate_p05_p95'][0]:.4f}-{summary['rate_p05_p95'][1]:.4f}); "
          f"IN->E synapses {nsyn.mean():.0f} +- {nsyn.std(ddof=1) if len(nsyn) > 1 else 0:.0f}; "
          f"corr(rate, n_syn) {summary['corr_rate_nsyn']}")
    if a.ref:
        k, n, n_pre = indegree(os.path.join(a.ref[0], 'input_con.0.wmat'))
        rp = a.ref_prime_s or a.prime_s
        c = spike_counts(a.ref[1], len(k), int(round(rp * 1e4)))
        r = c / rp
        pred = predict(k)
        rank = float((rates < r.mean()).mean())
        # Where does the reference draw sit among fresh Bernoulli(p) draws, by the rate the model
        # curve predicts for their in-degrees?
        rng = np.random.default_rng(12345)
        deg = rng.binomial(n_pre, a.p, size=(a.draws, len(k)))
        pred_draws = predict(deg.ravel()).reshape(deg.shape).mean(axis=1)
        pct = float((pred_draws < pred.mean()).mean())
        summary['bernoulli_draws'] = {'n': a.draws, 'predicted_rate_mean': float(pred_draws.mean()),
                                      'predicted_rate_p05_p50_p95': [float(x) for x in np.percentile(pred_draws, [5, 50, 95])]}
        summary['reference'] = {'percentile_among_bernoulli_draws': pct, 'n_syn': int(n), 'rate_hz': float(r.mean()), 'predicted_hz': float(pred.mean()),
                                'fraction_of_own_draws_below': rank,
                                'corr_per_neuron_rate_vs_prediction': float(np.corrcoef(r, pred)[0, 1])}
        print(f"reference (Auryn's draw): {n} IN->E synapses, E rate {r.mean():.4f} Hz; our model's curve predicts "
              f"{pred.mean():.4f} Hz for its in-degrees; {100 * rank:.0f} % of our own draws have a lower rate; "
              f"per-neuron corr(rate, predicted) {summary['reference']['corr_per_neuron_rate_vs_prediction']:.3f}")
        q = summary['bernoulli_draws']['predicted_rate_p05_p50_p95']
        print(f"{a.draws} fresh Bernoulli({a.p}) draws of {n_pre}x{len(k)}: predicted E rate 5/50/95 % = "
              f"{q[0]:.4f}/{q[1]:.4f}/{q[2]:.4f} Hz; the reference draw's {pred.mean():.4f} Hz is at percentile {100 * pct:.1f}")
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
