#!/usr/bin/env python3
"""Statistics of one network run (SPIKING.md 12.4): input group rates (and unit 0), E/I rates in
priming and in the first 100 s of learning, LPL and I->E weight statistics, IO correlation in the
notebook's early window (10-110 s). Usage: summarize_run.py <run_dir> [--prime-s 1800] [--json out.json]"""
import argparse, json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lpl_analysis as A


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('run'); ap.add_argument('--prime-s', type=float, default=1800.0); ap.add_argument('--json')
    a = ap.parse_args()
    si, ui = A.read_spk(os.path.join(a.run, 'input_group.0.spk'))
    es, eu = A.read_spk(os.path.join(a.run, 'exc.0.spk'))
    T = (si.max() + 1) * 1e-4 if len(si) else 0.0
    T = round(T, 0)
    s = {}
    s['input_group_rate_hz'] = [float(((ui // 100) == g).sum() / (100 * T)) for g in range(5)]
    s['input_unit0_rate_hz'] = [float((ui == 100 * g).sum() / T) for g in range(5)]
    P = int(a.prime_s * 1e4)
    L = max(min(100.0, T - a.prime_s), 1e-9)   # learning window: the first 100 s (or less)
    Ls = int(round(L * 1e4))
    s['exc_rate_priming_hz'] = float((es < P).sum() / (100 * a.prime_s))
    s['exc_rate_learning100_hz'] = float(((es >= P) & (es < P + Ls)).sum() / (100 * L))
    fi = os.path.join(a.run, 'inh.0.spk')
    if os.path.exists(fi):
        is_, iu = A.read_spk(fi)
        s['inh_rate_priming_hz'] = float((is_ < P).sum() / (25 * a.prime_s))
        s['inh_rate_learning100_hz'] = float(((is_ >= P) & (is_ < P + Ls)).sum() / (25 * L))
    W = A.read_wmat(os.path.join(a.run, 'input_con.0.wmat')); w = W[W > 0]
    s['lpl_w_mean'] = float(w.mean()); s['lpl_n_at_wmax'] = int((w >= 1.0).sum()); s['lpl_n'] = int(len(w))
    fw = os.path.join(a.run, 'con_ie.0.wmat')
    if os.path.exists(fw):
        Wie = A.read_wmat(fw); wie = Wie[Wie != 0]
        s['ie_w_mean'] = float(wie.mean()); s['ie_w_min'] = float(wie.min()); s['ie_w_max'] = float(wie.max())
    D = min(100.0, T - 10.0)   # the notebook's early window 10-110 s (shorter runs: 10 s to the end)
    X, Y, _, _ = A.binned((si, ui), (es, eu), 10.0, D)
    s['io_corr_10_%ds' % round(10 + D)] = float(A.decode(X, Y)[2])
    for k, v in s.items():
        print('%-26s %s' % (k, ' '.join('%.4f' % x for x in v) if isinstance(v, list) else ('%.4f' % v if isinstance(v, float) else v)))
    if a.json:
        json.dump(s, open(a.json, 'w'), indent=1)


if __name__ == '__main__':
    main()
