#!/usr/bin/env python3
"""Analysis of the spiking programs' outputs (SPIKING.md 10): the paper's Fig. 5 measures and the
Fig. 5 / Fig. 6 figures as PNG. Debian numpy/scipy/scikit-learn/matplotlib only.

  lpl_analysis.py measures <input_group.spk[.xz|.gz]> <exc.spk> <input_con.wmat> <t_start|end> [duration=100]
      prints the measures in the format of spiking-ref/analysis/measures.py (must reproduce
      spiking-ref/net*/measures_*.txt; see tools/spiking/check_measures.sh)
  lpl_analysis.py network-figures <run_dir> <out.png> [--label NAME]
      population rates over time, per-neuron rates, selectivity, weight histograms of one run
  lpl_analysis.py stdp-figures <sweep_dir> <out_prefix>
      STDP curves (long sweep, M = 10, S = 0.1 / 1 / 100) and the rate dependence (indices 25/75)
      from a folder holding one sub-folder per run named as in spiking-ref/stdp_runs.csv
"""
import gzip, lzma, os, sys
import numpy as np

BIN = 25e-3; GROUP = 100; NGROUPS = 5; NE = 100


# ---- readers ------------------------------------------------------------------------------------
def _open(fn):
    if fn.endswith('.xz'): return lzma.open(fn, 'rb')
    if fn.endswith('.gz'): return gzip.open(fn, 'rb')
    return open(fn, 'rb')


def read_spk(fn):
    """Auryn binary spike file -> (steps, units) as int64 (SPIKING.md 9.2)."""
    with _open(fn) as f:
        raw = f.read()
    if len(raw) < 8 or len(raw) % 8:
        raise SystemExit('%s: not a spike file (size %d)' % (fn, len(raw)))
    a = np.frombuffer(raw, dtype='<u4').reshape(-1, 2)
    if a[0, 0] != 10000 or a[0, 1] != 287960082:
        raise SystemExit('%s: bad spike-file header %s' % (fn, a[0]))
    return a[1:, 0].astype(np.int64), a[1:, 1].astype(np.int64)


def read_wmat(fn, shape=None):
    """MatrixMarket .wmat -> dense (pre x post) matrix, zeros where there is no synapse."""
    with _open(fn) as f:
        lines = [l.decode() for l in f]
    if not lines or not lines[0].startswith('%%MatrixMarket matrix coordinate'):
        raise SystemExit('%s: not a MatrixMarket coordinate file' % fn)
    body = [l for l in lines if not l.startswith('%') and l.strip()]
    rows, cols, nnz = map(int, body[0].split())
    if len(body) - 1 < nnz:
        raise SystemExit('%s: truncated (%d of %d entries)' % (fn, len(body) - 1, nnz))
    e = np.array([l.split()[:3] for l in body[1:1 + nnz]], dtype=float).reshape(-1, 3)
    W = np.zeros((rows, cols))
    W[e[:, 0].astype(int) - 1, e[:, 1].astype(int) - 1] = e[:, 2]
    return W


def read_prate(fn):
    d = np.loadtxt(fn, ndmin=2)
    return d[1:] if len(d) > 1 else d[:0]   # notebooks drop the first line (step 0 alone)


# ---- measures (SPIKING.md 10) ------------------------------------------------------------------
def window(steps, ids, t0, t1):
    t = steps * (1.0 / 10000)               # step x (1/10000) in double, as the notebook
    m = (t >= t0) & (t <= t1)
    return t[m], ids[m]


def binned(inp, exc, t_start=None, duration=100.0):
    si, ii = inp; se, ie = exc
    if t_start is None:
        t_start = si.max() * (1.0 / 10000) - duration
    t_end = t_start + duration
    nb = int((t_end - t_start) / BIN)
    X = np.zeros((nb, NE)); Y = np.zeros((nb, NGROUPS))
    t, i = window(se, ie, t_start, t_end)
    b = np.floor_divide(t - t_start - 1e-4, BIN).astype(int)   # Python // semantics; -1 wraps to the last bin
    np.add.at(X, (b, i), 1)
    t, i = window(si, ii, t_start, t_end)
    b = np.floor_divide(t - t_start - 1e-4, BIN).astype(int)
    np.add.at(Y, (b, i // GROUP), 1)
    return X, Y, t_start, t_end


def decode(X, Y, test=0.05):
    from sklearn.linear_model import Lasso
    from sklearn.metrics import r2_score
    s = int((1 - test) * len(X))
    r2 = [r2_score(Y[s:, g], Lasso(alpha=0.1).fit(X[:s], Y[:s, g]).predict(X[s:])) for g in range(NGROUPS)]
    P = Lasso(alpha=0.1).fit(X[:s], Y[:s]).predict(X[s:])
    return r2, r2_score(Y[s:], P), np.corrcoef(P.ravel(), Y[s:].ravel())[0, 1]


def participation_ratio(X):
    Xc = X - X.mean(0)
    ev = np.linalg.eigvalsh(Xc @ Xc.T)
    return ev.sum() ** 2 / (ev ** 2).sum()


def group_weights(W):
    return W.reshape(NGROUPS, GROUP, -1).mean(1)   # (5, 100)


def rel(v, a, b):
    return (v[a] - v[b]) / (v[a] + v[b] + 1e-9)


def measures(fin, fexc, fw, ts, dur=100.0):
    inp, exc = read_spk(fin), read_spk(fexc)
    X, Y, t0, t1 = binned(inp, exc, ts, dur)
    r2, r2all, io = decode(X, Y)
    t, i = window(exc[0], exc[1], t0, t1)
    rates = np.bincount(i, minlength=NE) / dur
    corrs = [np.corrcoef(X.ravel(), np.repeat(Y[:, j], NE))[0, 1] for j in range(NGROUPS)]
    W = group_weights(read_wmat(fw))
    out = ['window_start_s %.4f' % t0, 'window_end_s %.4f' % t1, 'n_bins %d' % len(X),
           'r2_per_group ' + ' '.join('%.6f' % x for x in r2), 'r2_joint %.6f' % r2all, 'io_corr %.6f' % io,
           'participation_ratio %.6f' % participation_ratio(X), 'exc_rate_mean_hz %.6f' % rates.mean(),
           'exc_spikes_in_window %d' % len(t), 'input_counts_per_group ' + ' '.join('%d' % x for x in Y.sum(0)),
           'corr_X_Yj ' + ' '.join('%.6f' % x for x in corrs),
           'group_weight_mean ' + ' '.join('%.6f' % x for x in W.mean(1)),
           'selectivity_P1_mean %.6f' % rel(W, 1, 2).mean(), 'selectivity_P2_mean %.6f' % rel(W, 3, 4).mean()]
    h, _ = np.histogram(rel(W, 3, 1), bins=11, range=(-1, 1))
    out.append('rel_selectivity_hist11 ' + ' '.join(map(str, h)))
    return out


# ---- figures -------------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def network_figures(run, png, label=''):
    plt = _plt()
    fig, ax = plt.subplots(2, 3, figsize=(15, 8))
    for name, col in (('exc', 'tab:blue'), ('inh', 'tab:red')):
        fn = os.path.join(run, name + '.0.prate')
        if os.path.exists(fn):
            d = read_prate(fn)
            if len(d): ax[0, 0].plot(d[:, 0], d[:, 1], 'o-', color=col, label=name)
    ax[0, 0].set(xlabel='time (s)', ylabel='population rate (Hz)', title='rates (100-s bins)'); ax[0, 0].legend()
    es, eu = read_spk(os.path.join(run, 'exc.0.spk'))
    t_last = es.max() * 1e-4 if len(es) else 0
    lo = max(0.0, t_last - 100.0)
    _, i = window(es, eu, lo, t_last)
    ax[0, 1].hist(np.bincount(i, minlength=NE) / max(t_last - lo, 1e-9), bins=30, color='tab:blue')
    ax[0, 1].set(xlabel='rate (Hz)', ylabel='E neurons', title='E rates, last %.0f s' % (t_last - lo))
    m = (es * 1e-4 >= max(0, t_last - 2.0))
    ax[0, 2].plot(es[m] * 1e-4, eu[m], '|', ms=3, color='k')
    ax[0, 2].set(xlabel='time (s)', ylabel='E neuron', title='raster, last 2 s')
    W = read_wmat(os.path.join(run, 'input_con.0.wmat'))
    ax[1, 0].hist(W[W > 0], bins=50, color='tab:green', log=True, label='IN->E (LPL)')
    ax[1, 0].set(xlabel='weight', ylabel='synapses', title='weights at the end')
    G = group_weights(W)
    parts = ax[1, 1].violinplot([rel(G, 1, 2), rel(G, 3, 4)], showmeans=True)
    ax[1, 1].set_xticks([1, 2]); ax[1, 1].set_xticklabels(['P1 vs ctl', 'P2 vs ctl'])
    ax[1, 1].set(ylim=(-1.05, 1.05), ylabel='selectivity', title='selectivity per neuron')
    ax[1, 2].hist(rel(G, 3, 1), bins=11, range=(-1, 1), color='tab:purple')
    ax[1, 2].set(xlabel='(W_P2 - W_P1)/(W_P2 + W_P1)', ylabel='E neurons', title='relative selectivity')
    fn = os.path.join(run, 'con_ie.0.wmat')
    if os.path.exists(fn):
        Wie = read_wmat(fn)
        ax[1, 0].hist(Wie[Wie > 0], bins=50, color='tab:red', alpha=0.5, log=True, label='I->E')
    ax[1, 0].legend()
    fig.suptitle('sim_lpl_spiking %s (%s)' % (label, run))
    fig.tight_layout(); fig.savefig(png, dpi=90); plt.close(fig)


def stdp_weights(folder):
    W = read_wmat(os.path.join(folder, 'input_con.0.wmat'))
    return (W[:, 0] - 0.5) / 0.5


def stdp_figures(sweep, prefix):
    plt = _plt()
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    dt50 = 50.0 - 100.0 * np.arange(100) / 99
    for k, (S, title) in enumerate((('0.1', 'Hebbian (S = 0.1)'), ('1.0', 'S = 1'), ('100', 'predictive (S = 100)'))):
        for M in ('0', '10', '20', '30'):
            d = os.path.join(sweep, 'long_mean-%s_sigma2-%s_fr-10' % (M, S))
            if os.path.exists(os.path.join(d, 'input_con.0.wmat')):
                ax[k].plot(dt50, stdp_weights(d), lw=2 if M == '10' else 1, label='M = %s Hz' % M)
        ax[k].axhline(0, color='k', lw=0.5); ax[k].axvline(0, color='k', lw=0.5)
        ax[k].set(xlabel='t_post - t_pre (ms)', ylabel='dW', title=title); ax[k].legend(fontsize=8)
    fig.tight_layout(); fig.savefig(prefix + '_stdp_curves.png', dpi=90); plt.close(fig)
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    freqs = ['0.1', '1', '5', '10', '20', '30', '40', '50']
    for k, M in enumerate(('20', '0', '50')):
        ltp, ltd, fs = [], [], []
        for F in freqs:
            d = os.path.join(sweep, 'short_mean-%s_sigma2-0.1_fr-%s' % (M, F))
            if os.path.exists(os.path.join(d, 'input_con.0.wmat')):
                w = stdp_weights(d); ltp.append(w[25]); ltd.append(w[75]); fs.append(float(F))
        ax[k].semilogx(fs, ltp, 'o-', label='dt = +9.9 ms'); ax[k].semilogx(fs, ltd, 's-', label='dt = -10.3 ms')
        ax[k].axhline(0, color='k', lw=0.5)
        ax[k].set(xlabel='pairing rate (Hz)', ylabel='dW', title='rate dependence, M = %s Hz' % M); ax[k].legend(fontsize=8)
    fig.tight_layout(); fig.savefig(prefix + '_rate_dependence.png', dpi=90); plt.close(fig)


def main(argv):
    if len(argv) < 2 or argv[1] in ('-h', '--help'):
        print(__doc__); return 1
    cmd = argv[1]
    if cmd == 'measures' and len(argv) >= 6:
        ts = None if argv[5] == 'end' else float(argv[5])
        dur = float(argv[6]) if len(argv) > 6 else 100.0
        print('\n'.join(measures(argv[2], argv[3], argv[4], ts, dur)))
        return 0
    if cmd == 'network-figures' and len(argv) >= 4:
        label = argv[5] if len(argv) > 5 and argv[4] == '--label' else ''
        network_figures(argv[2], argv[3], label); print('wrote', argv[3]); return 0
    if cmd == 'stdp-figures' and len(argv) == 4:
        stdp_figures(argv[2], argv[3]); print('wrote %s_stdp_curves.png and %s_rate_dependence.png' % (argv[3], argv[3]))
        return 0
    print(__doc__); return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
