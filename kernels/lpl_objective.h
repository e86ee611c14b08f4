// The LPL layer objective and its analytic gradient (spec §2), written once for both backends.
//
// z holds both views stacked: rows 0..B-1 are view 1, rows B..2B-1 view 2, each row M values
// (pooled: M = C channels; --no_pooling: M = C H W of the block output, NCHW). Per view:
//   pull    = (1/(B M)) sum (z1 - z2[perm])^2
//   Hebbian = -(1/M) sum_m log(var_m + eps)            (stale: -(1/(B-1)) mean_m sum_b (z - m)^2 / (v + eps))
//   decorr  = sum_{i != k} C_ik^2 / (C^2 - C),  C = zc^T zc / (R - 1) over the R x C matrix zc of
//             centred rows (pooled: R = B; no_pooling: the maps reshaped to (B H W) x C)
// and the per-element gradient (pull + Hebbian + decorrelation) in one pass. Covariance and
// zc C go through lpl::gemm (oneDNN / cuBLAS); everything else is the functors below.
#pragma once
#include <cmath>

#include "engine/common.h"
#include "engine/lpl_ops.h"
#include "engine/ops.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

constexpr float kLplEps = 1e-4f;

// Segment j = v M + m (view v, column m) of z: its B values, b-th at z[(v B + b) M + m].
LPL_HD inline int64_t view_column_index(int64_t j, int64_t b, int64_t B, int64_t M) {
  const int64_t v = j >= M ? 1 : 0;  // two views: a compare, not a division
  return (v * B + b) * M + (j - v * M);
}

// Per view v and column m: this shard's B rows' share of the mean over the global batch of Bg rows
// (float64, kept for the variance pass; Bg = B in one process)...
struct LplViewMean {
  const float* z;
  double* mean_d;  // [2 M]
  int64_t B, M, Bg;
  LPL_HD double term(int64_t j, int64_t b) const { return z[view_column_index(j, b, B, M)]; }
  LPL_HD void finish(int64_t j, double s) const { mean_d[j] = s / static_cast<double>(Bg); }
};
// ... and of the unbiased variance around it.
struct LplViewVar {
  const float* z;
  const double* mean_d;
  double* var_d;
  int64_t B, M, Bg;
  LPL_HD double term(int64_t j, int64_t b) const {
    const double d = z[view_column_index(j, b, B, M)] - mean_d[j];
    return d * d;
  }
  LPL_HD void finish(int64_t j, double s) const { var_d[j] = s / static_cast<double>(Bg - 1); }
};
struct LplToFloat {
  const double* src;
  float* dst;
  LPL_HD void operator()(int64_t i) const { dst[i] = static_cast<float>(src[i]); }
};

// Channel means of each view for the decorrelation matrix (no_pooling: mean over the H W
// positions of the per-(c, h, w) means, i.e. over the B H W rows).
struct LplChannelMean {
  const float* mean;  // [2 M], M = C HW: segment j = v C + c is mean[j HW .. j HW + HW)
  float* cmean;       // [2 C]
  int64_t HW;
  LPL_HD double term(int64_t j, int64_t k) const { return mean[j * HW + k]; }
  LPL_HD void finish(int64_t j, double s) const { cmean[j] = static_cast<float>(s / static_cast<double>(HW)); }
};

// zc[v, r, c] = z[v B + b, c HW + s] - cmean[v, c] with r = b HW + s: the centred (B HW) x C matrix.
struct LplCenterRows {
  const float* z;
  const float* cmean;
  float* zc;
  int64_t B, C, HW;
  LPL_HD void operator()(int64_t t) const {
    const int64_t R = B * HW, M = C * HW;
    const DivMod vr = divmod(t, R * C), rc = divmod(vr.r, C), bs = divmod(rc.q, HW);
    const int64_t v = vr.q, c = rc.r, b = bs.q, s = bs.r;
    zc[t] = z[(v * B + b) * M + c * HW + s] - cmean[v * C + c];
  }
};

// Per row j of two stacked [B, Bg] matrices (one per view): the sum of the squares of its entries
// except its own column off + (j mod B), which it zeroes after every term of the row has been read.
// The covariance rows (B = Bg = C, off 0) and the negative samples' cosine rows (this rank's B rows
// against the view's Bg rows, off = this shard's first row).
struct OffDiagRows {
  float* S;           // [2, B, Bg]
  double* partial;    // [2 B]
  int64_t B, Bg, off;
  LPL_HD int64_t own(int64_t j) const { return off + (j >= B ? j - B : j); }
  LPL_HD double term(int64_t j, int64_t k) const {
    const double x = k == own(j) ? 0.0 : static_cast<double>(S[j * Bg + k]);
    return x * x;
  }
  LPL_HD void finish(int64_t j, double s) const {
    S[j * Bg + own(j)] = 0.f;
    partial[j] = s;
  }
};

struct LplInversePerm {
  const int32_t* perm;
  int32_t* inv;
  LPL_HD void operator()(int64_t b) const { inv[perm[b]] = static_cast<int32_t>(b); }
};

// dL/dz for every element of both views.
struct LplGrad {
  const float* z;
  float* dz;
  const float* hm;  // Hebbian centre: batch means [2 M] (hstride M) or stale means [M] (hstride 0)
  const float* hv;  // Hebbian variance, same layout
  int64_t hstride;
  const float* G;   // [2, R, C]: zc C_offdiag, or null when the decorrelation coefficient is 0
  const int32_t* perm;  // null: identity pairing
  const int32_t* inv;
  int64_t B, M, C, HW;
  float kpull, kpush, kdec;
  LPL_HD void operator()(int64_t i) const {
    const DivMod rm = divmod(i, M);
    const int64_t row = rm.q, m = rm.r;
    const int64_t v = row >= B ? 1 : 0, b = row - v * B;
    const int64_t pb = perm ? (v == 0 ? perm[b] : inv[b]) : b;
    const float zi = z[i];
    const float other = z[((1 - v) * B + pb) * M + m];
    float g = kpull * (zi - other);
    g -= kpush * (zi - hm[v * hstride + m]) / (hv[v * hstride + m] + kLplEps);
    if (G) {
      const DivMod cs = divmod(m, HW);
      const int64_t c = cs.q, s = cs.r;
      g += kdec * G[(v * B + b) * HW * C + s * C + c];
    }
    dz[i] = g;
  }
};

// Per column m: the pull sum over the B pairs.
struct LplPullColumns {
  const float* z;
  const int32_t* perm;
  double* pull_part;  // [M]
  int64_t B, M;
  LPL_HD double term(int64_t m, int64_t b) const {
    const int64_t pb = perm ? perm[b] : b;
    const double d = static_cast<double>(z[b * M + m]) - z[(B + pb) * M + m];
    return d * d;
  }
  LPL_HD void finish(int64_t m, double s) const { pull_part[m] = s; }
};

// --stale_estimates: per column m, the Hebbian sum of both views around the running estimates.
struct LplStaleHebbianColumns {
  const float* z;
  const float* sm;  // [M]
  const float* sv;
  double* push_part;  // [M]
  int64_t M;
  LPL_HD double term(int64_t m, int64_t b) const {
    const double d = static_cast<double>(z[b * M + m]) - sm[m];
    return d * d / (static_cast<double>(sv[m]) + kLplEps);
  }
  LPL_HD void finish(int64_t m, double s) const { push_part[m] = s; }
};

// The layer's three float64 slots: segment 0 adds the pull partials, 1 the Hebbian ones (batch
// statistics: log(var + eps) of both views, computed here), 2 the decorrelation rows.
struct LplFinalizeTerms {
  const double* pull_part;  // [M]
  const double* push_part;  // [M] (stale) or null
  const float* var;         // [2 M] batch variances (used when push_part is null)
  const double* dec_part;   // [2 C] or null
  double* out;              // 3 slots
  int64_t B, M, C;
  LPL_HD double term(int64_t s, int64_t k) const {
    if (s == 0) return k < M ? pull_part[k] : 0.0;
    if (s == 1) {
      if (k >= M) return 0.0;
      if (push_part) return push_part[k];
      return log(static_cast<double>(var[k]) + kLplEps) + log(static_cast<double>(var[M + k]) + kLplEps);
    }
    return dec_part && k < 2 * C ? dec_part[k] : 0.0;
  }
  LPL_HD void finish(int64_t s, double v) const {
    if (s == 0) out[0] = v / (static_cast<double>(B) * M);
    if (s == 1) out[1] = push_part ? -0.5 * v / (static_cast<double>(B - 1) * M) : -0.5 * v / static_cast<double>(M);
    if (s == 2) out[2] = dec_part ? 0.5 * v / (static_cast<double>(C) * C - C) : 0.0;
  }
};

// The running estimates for --stale_estimates: this step's mean and variance averaged over views.
struct LplStaleUpdate {
  const float* mean;
  const float* var;
  float* sm;
  float* sv;
  int64_t M;
  LPL_HD void operator()(int64_t m) const {
    sm[m] = 0.5f * (mean[m] + mean[M + m]);
    sv[m] = 0.5f * (var[m] + var[M + m]);
  }
};

template <class L>
void lpl_objective(const L& launch, const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot,
                   const LplObjectiveArgs& a) {
  const Device d = z.device();
  const int64_t N = z.dim(0), B = N / 2, M = z.numel() / N;
  const int64_t C = a.no_pooling ? z.dim(1) : M;
  const int64_t HW = a.no_pooling ? z.dim(2) * z.dim(3) : 1;
  const int64_t R = B * HW;
  const float* zp = z.f();
  // The global batch (this shard times the ranks: equal shards) and its decorrelation rows. Every
  // sum over rows below is all-reduced before it is used, so each rank sees the global statistics.
  Communicator* comm = a.comm;
  const int64_t Bg = comm ? B * comm->size() : B, Rg = Bg * HW;

  Tensor stats = Tensor::empty({4, M}, d);  // mean view 1, mean view 2, var view 1, var view 2
  float* mean = stats.f();
  float* var = stats.f() + 2 * M;
  {
    Tensor stats_d = Tensor::empty({4 * M}, d, DType::I64);  // the same in float64
    double* mean_d = stats_d.data<double>();
    double* var_d = mean_d + 2 * M;
    const Segments cols{2 * M, B, SegLayout::columns};
    launch.sum(d, cols, LplViewMean{zp, mean_d, B, M, Bg});
    if (comm) comm->all_reduce_sum(mean_d, 2 * M, d);
    launch.sum(d, cols, LplViewVar{zp, mean_d, var_d, B, M, Bg});
    if (comm) comm->all_reduce_sum(var_d, 2 * M, d);
    launch(d, 4 * M, LplToFloat{mean_d, stats.f()});
  }

  const int32_t* perm = a.positive_perm ? a.positive_perm->data<int32_t>() : nullptr;
  Tensor inv;
  if (perm) {
    inv = Tensor::empty({B}, d, DType::I32);
    launch(d, B, LplInversePerm{perm, inv.data<int32_t>()});
  }

  // Decorrelation: centred rows, covariance (diagonal zeroed) and zc C per view.
  Tensor dec_part, G;
  if (C >= 2) {
    const float* cmean = mean;
    Tensor cm;
    if (HW > 1) {
      cm = Tensor::empty({2, C}, d);
      launch.sum(d, {2 * C, HW, SegLayout::rows}, LplChannelMean{mean, cm.f(), HW});
      cmean = cm.f();
    }
    Tensor zc = Tensor::empty({2, R, C}, d);
    launch(d, 2 * R * C, LplCenterRows{zp, cmean, zc.f(), B, C, HW});
    Tensor cov = Tensor::empty({2, C, C}, d);
    for (int64_t v = 0; v < 2; ++v)
      gemm(d, true, false, C, C, R, 1.0f / static_cast<float>(Rg - 1), zc.f() + v * R * C, C,
           zc.f() + v * R * C, C, 0.f, cov.f() + v * C * C, C);
    if (comm) comm->all_reduce_sum(cov.f(), 2 * C * C, d);
    dec_part = Tensor::empty({2 * C}, d, DType::I64);
    launch.sum(d, {2 * C, C, SegLayout::rows}, OffDiagRows{cov.f(), dec_part.data<double>(), C, C, 0});
    if (a.coeffs.decorr != 0.f) {
      G = Tensor::empty({2, R, C}, d);
      for (int64_t v = 0; v < 2; ++v)
        gemm(d, false, false, R, C, C, 1.f, zc.f() + v * R * C, C, cov.f() + v * C * C, C, 0.f,
             G.f() + v * R * C, C);
    }
  }

  const bool use_stale = a.stale_mean && a.stale_valid;
  const float* hm = use_stale ? a.stale_mean->f() : mean;
  const float* hv = use_stale ? a.stale_var->f() : var;
  LplGrad g{zp, dz.f(), hm, hv, use_stale ? 0 : M, G.defined() ? G.f() : nullptr, perm,
            perm ? inv.data<int32_t>() : nullptr, B, M, C, HW,
            a.coeffs.pull * 2.0f / static_cast<float>(Bg * M),
            a.coeffs.push / static_cast<float>(M * (Bg - 1)),
            C >= 2 ? a.coeffs.decorr * 2.0f / (static_cast<float>(C * C - C) * static_cast<float>(Rg - 1)) : 0.f};
  launch(d, N * M, g);

  Tensor part = Tensor::empty({2, M}, d, DType::I64);
  double* pull_part = part.data<double>();
  double* push_part = use_stale ? part.data<double>() + M : nullptr;
  launch.sum(d, {M, B, SegLayout::columns}, LplPullColumns{zp, perm, pull_part, B, M});
  if (use_stale) launch.sum(d, {M, 2 * B, SegLayout::columns}, LplStaleHebbianColumns{zp, hm, hv, push_part, M});
  if (comm) comm->all_reduce_sum(pull_part, (use_stale ? 2 : 1) * M, d);  // push_part follows pull_part
  const int64_t fin_len = dec_part.defined() ? kern::max64(M, 2 * C) : M;
  launch.sum(d, {3, fin_len, SegLayout::rows},
             LplFinalizeTerms{pull_part, push_part, var, dec_part.defined() ? dec_part.data<double>() : nullptr,
                              terms.data<double>() + 3 * slot, Bg, M, C});
  if (a.stale_mean) launch(d, M, LplStaleUpdate{mean, var, a.stale_mean->f(), a.stale_var->f(), M});
}

}  // namespace lpl::kern
