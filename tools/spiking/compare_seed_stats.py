#!/usr/bin/env python3
"""SPIKING.md 12.4: compare the statistics of several runs (summary.json files written by
summarize_run.py) with the reference run (spiking-ref/net1900/summary.txt values), as
distributions. The reference is one run (one seed, one connectivity draw), so the question is
whether it could be one more draw from the runs' distribution. Per statistic: the runs' mean, s.d.
and range, the reference value, its deviation from the mean in percent and in s.d., and a verdict:
  'within'  the reference lies inside the runs' prediction interval for one new draw,
            mean +- t * sd * sqrt(1 + 1/n) (Student t, n - 1 degrees of freedom), at a family-wise
            level --alpha (default 0.05) over all statistics compared (Bonferroni);
  'close'   the runs' mean is within --tol (default 20 %) of the reference;
  'OUTSIDE' neither.
Usage: compare_seed_stats.py [--tol 0.2] [--alpha 0.05] [--label NAME] summary.json...
(exit status 1 if any statistic is OUTSIDE)"""
import argparse
import json
import sys

import numpy as np

# spiking-ref/net1900/summary.txt and measures_t10_D100.txt (Auryn, its own draw and inputs).
REFERENCE = {
    'exc_rate_priming_hz': 0.1511,
    'inh_rate_priming_hz': 0.0144,
    'exc_rate_learning100_hz': 1.2298,
    'inh_rate_learning100_hz': 0.3456,
    'lpl_w_mean': 0.176825,
    'ie_w_mean': 0.482083,
    'io_corr_10_110s': 0.225,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('summaries', nargs='+')
    ap.add_argument('--tol', type=float, default=0.2)
    ap.add_argument('--alpha', type=float, default=0.05)
    ap.add_argument('--label', default='runs')
    ap.add_argument('--json')
    a = ap.parse_args()
    from scipy import stats
    runs = [json.load(open(f)) for f in a.summaries]
    rows, bad = [], 0
    keys = [k for k in REFERENCE if any(k in r for r in runs)]
    n = len(runs)
    # Two-sided prediction interval for one new draw, Bonferroni over the statistics compared.
    tq = stats.t.ppf(1 - a.alpha / (2 * len(keys)), n - 1) * np.sqrt(1 + 1 / n) if n > 1 else float('inf')
    print(f"{a.label}: {n} runs; prediction interval mean +- {tq:.2f} sd (family-wise alpha {a.alpha} over {len(keys)} statistics)")
    if n < 5:
        print(f"note: with {n} runs the prediction interval is too wide to reject anything; judge by 'close' "
              f"(the runs' mean within {100 * a.tol:.0f} % of the reference)")
    print(f"{'statistic':26s} {'mean':>8s} {'sd':>8s} {'min':>8s} {'max':>8s} {'reference':>9s} {'ref-mean':>9s} {'in sd':>6s}  verdict")
    for key in keys:
        ref = REFERENCE[key]
        vals = np.array([r[key] for r in runs if key in r], dtype=float)
        if len(vals) == 0:
            continue
        m = vals.mean()
        sd = vals.std(ddof=1) if len(vals) > 1 else 0.0
        z = (ref - m) / sd if sd > 0 else float('inf') * np.sign(ref - m)
        rel = (m - ref) / ref
        verdict = 'within' if abs(z) <= tq else ('close' if abs(rel) <= a.tol else 'OUTSIDE')
        if abs(rel) <= a.tol and verdict == 'within':
            verdict = 'within, close'
        bad += verdict == 'OUTSIDE'
        rows.append({'statistic': key, 'mean': m, 'sd': sd, 'min': vals.min(), 'max': vals.max(), 'reference': ref,
                     'rel_diff_of_mean': rel, 'z_of_reference': z, 'verdict': verdict})
        print(f"{key:26s} {m:8.4f} {sd:8.4f} {vals.min():8.4f} {vals.max():8.4f} {ref:9.4f} {100 * (ref - m) / m:+8.1f}% {z:+6.2f}  {verdict}")
    if a.json:
        json.dump(rows, open(a.json, 'w'), indent=1, default=float)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
