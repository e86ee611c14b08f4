#!/usr/bin/env python3
"""SPIKING.md 12.1: runs all 88 STDP-protocol runs of spiking-ref/stdp_runs.csv with the port's
sim_lpl_stdp_protocol and compares them with the original Auryn results: identical post-spike
count, |w_port - w_Auryn| <= 1e-5 for every synapse, and the post-spike steps.

Usage: check_stdp88.py [--ref ../shared/spec/spiking-ref] [--bin build/bin/sim_lpl_stdp_protocol]
                       [--jobs N] [--out DIR] [--runs SUBSTRING]
Exit status 0 only if every run passes. Needs numpy only."""
import argparse, concurrent.futures as cf, csv, os, subprocess, sys, tempfile, time
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def read_wmat(fn):
    with open(fn) as f:
        lines = [l for l in f if not l.startswith('%')]
    rows, cols, nnz = map(int, lines[0].split())
    w = np.zeros((rows, cols))
    for l in lines[1:1 + nnz]:
        i, j, v = l.split()
        w[int(i) - 1, int(j) - 1] = float(v)
    return w


def input_set(row):
    if row['sweep'] == 'long':
        return 'long_T50ms_f10'
    return 'short_T20ms_f' + row['freq_hz']


def run_one(args, row, ref_w, ref_steps):
    out = os.path.join(args.out, row['run'])
    os.makedirs(out, exist_ok=True)
    cmd = [args.bin, '--prime', '0.0', '--simtime', '200', '--dir', out, '--sparsenes', '1.0', '--wext', '0.5',
           '--wee', '0.0', '--psize', '100', '--plen', '4', '--tau_mean', '600', '--tau_sigma2', '20',
           '--lambda', '1', '--eta', '5e-3', '--initmean', row['initmean_hz'], '--initsigma2', row['initsigma2'],
           '--quiet', '--input_dir', os.path.join(args.ref, 'stdp_inputs', input_set(row))]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode != 0:
        return row['run'], False, 'exit %d: %s' % (p.returncode, p.stderr.strip()), wall, 0, 0
    spk = np.fromfile(os.path.join(out, 'exc.0.spk'), dtype='<u4').reshape(-1, 2)[1:, 0].astype(np.int64)
    w = read_wmat(os.path.join(out, 'input_con.0.wmat'))[:, 0]
    dw = float(np.abs(w - ref_w).max())
    n_ref = int(row['n_post_spikes'])
    same_steps = len(spk) == len(ref_steps) and bool(np.all(spk == ref_steps))
    ok = len(spk) == n_ref and dw <= 1e-5
    msg = 'post %d/%d steps %s max|dw| %.2e' % (len(spk), n_ref, 'identical' if same_steps else 'DIFFER', dw)
    return row['run'], ok, msg, wall, dw, same_steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ref', default=os.path.join(os.path.dirname(ROOT), 'shared', 'spec', 'spiking-ref'))
    ap.add_argument('--bin', default=os.path.join(ROOT, 'build', 'bin', 'sim_lpl_stdp_protocol'))
    ap.add_argument('--jobs', type=int, default=os.cpu_count())
    ap.add_argument('--out', default=None)
    ap.add_argument('--runs', default='', help='only runs whose name contains this')
    args = ap.parse_args()
    if args.out is None:
        args.out = tempfile.mkdtemp(prefix='stdp88_')
    rows = [r for r in csv.DictReader(open(os.path.join(args.ref, 'stdp_runs.csv'))) if args.runs in r['run']]
    ref_w = {}
    for fn in ('stdp_long.csv', 'stdp_short.csv'):
        for r in csv.DictReader(open(os.path.join(args.ref, fn))):
            ref_w.setdefault(r['run'], {})[int(r['j'])] = float(r['w_final'])
    ref_steps = {}
    for r in csv.DictReader(open(os.path.join(args.ref, 'stdp_post_spikes.csv'))):
        ref_steps.setdefault(r['run'], []).append(int(r['step']))
    t0 = time.time()
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = [ex.submit(run_one, args, r, np.array([ref_w[r['run']][j] for j in range(100)]),
                          np.array(ref_steps.get(r['run'], []), dtype=np.int64)) for r in rows]
        results = [f.result() for f in futs]
    n_ok = sum(r[1] for r in results)
    for name, ok, msg, wall, _, _ in results:
        print('%-40s %s  %s  (%.2f s)' % (name, 'ok  ' if ok else 'FAIL', msg, wall))
    print('runs passing: %d/%d; identical post-spike steps in %d/%d; max |w_port - w_Auryn| = %.2e; '
          'mean wall per run %.2f s (Auryn %.2f s); total %.1f s with %d jobs; outputs in %s'
          % (n_ok, len(results), sum(bool(r[5]) for r in results), len(results), max(r[4] for r in results),
             np.mean([r[3] for r in results]), np.mean([float(r['auryn_wall_s']) for r in rows]),
             time.time() - t0, args.jobs, args.out))
    return 0 if n_ok == len(results) else 1


if __name__ == '__main__':
    sys.exit(main())
