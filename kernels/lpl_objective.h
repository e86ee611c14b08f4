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

namespace lpl::kern {

constexpr float kLplEps = 1e-4f;

// Per view v and column m: mean and unbiased variance over the view's B rows (float64 sums).
struct LplViewStats {
  const float* z;
  float* mean;  // [2 M]
  float* var;   // [2 M]
  int64_t B, M;
  LPL_HD void operator()(int64_t j) const {
    const int64_t v = j / M, m = j % M;
    const float* zv = z + v * B * M + m;
    double s = 0;
    for (int64_t b = 0; b < B; ++b) s += zv[b * M];
    const double mu = s / static_cast<double>(B);
    double q = 0;
    for (int64_t b = 0; b < B; ++b) {
      double d = zv[b * M] - mu;
      q += d * d;
    }
    mean[j] = static_cast<float>(mu);
    var[j] = static_cast<float>(q / static_cast<double>(B - 1));
  }
};

// Channel means of each view for the decorrelation matrix (no_pooling: mean over the H W
// positions of the per-(c, h, w) means, i.e. over the B H W rows).
struct LplChannelMean {
  const float* mean;  // [2 M], M = C HW
  float* cmean;       // [2 C]
  int64_t C, HW;
  LPL_HD void operator()(int64_t j) const {
    const int64_t v = j / C, c = j % C;
    const float* p = mean + v * C * HW + c * HW;
    double s = 0;
    for (int64_t k = 0; k < HW; ++k) s += p[k];
    cmean[j] = static_cast<float>(s / static_cast<double>(HW));
  }
};

// zc[v, r, c] = z[v B + b, c HW + s] - cmean[v, c] with r = b HW + s: the centred (B HW) x C matrix.
struct LplCenterRows {
  const float* z;
  const float* cmean;
  float* zc;
  int64_t B, C, HW;
  LPL_HD void operator()(int64_t t) const {
    const int64_t R = B * HW, M = C * HW;
    const int64_t v = t / (R * C), rem = t % (R * C), r = rem / C, c = rem % C;
    const int64_t b = r / HW, s = r % HW;
    zc[t] = z[(v * B + b) * M + c * HW + s] - cmean[v * C + c];
  }
};

// Zero the covariance diagonal and sum the squares of each row's off-diagonal entries.
struct LplCovRows {
  float* cov;       // [2, C, C]
  double* partial;  // [2 C]
  int64_t C;
  LPL_HD void operator()(int64_t j) const {
    const int64_t i = j % C;
    float* row = cov + j * C;  // row i of view j / C
    row[i] = 0.f;
    double s = 0;
    for (int64_t k = 0; k < C; ++k) s += static_cast<double>(row[k]) * row[k];
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
    const int64_t row = i / M, m = i % M;
    const int64_t v = row >= B ? 1 : 0, b = row - v * B;
    const int64_t pb = perm ? (v == 0 ? perm[b] : inv[b]) : b;
    const float zi = z[i];
    const float other = z[((1 - v) * B + pb) * M + m];
    float g = kpull * (zi - other);
    g -= kpush * (zi - hm[v * hstride + m]) / (hv[v * hstride + m] + kLplEps);
    if (G) {
      const int64_t c = m / HW, s = m % HW;
      g += kdec * G[(v * B + b) * HW * C + s * C + c];
    }
    dz[i] = g;
  }
};

// Per column m: the pull sum over the B pairs and the Hebbian sum of both views.
struct LplColumnTerms {
  const float* z;
  const float* mean;  // [2 M]
  const float* var;   // [2 M]
  const float* sm;    // stale mean [M] or null
  const float* sv;
  const int32_t* perm;
  double* pull_part;  // [M]
  double* push_part;  // [M]
  int64_t B, M;
  LPL_HD void operator()(int64_t m) const {
    double p = 0, h = 0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t pb = perm ? perm[b] : b;
      double d = static_cast<double>(z[b * M + m]) - z[(B + pb) * M + m];
      p += d * d;
    }
    if (sm) {
      const double den = static_cast<double>(sv[m]) + kLplEps;
      for (int64_t b = 0; b < 2 * B; ++b) {
        double d = static_cast<double>(z[b * M + m]) - sm[m];
        h += d * d / den;
      }
    } else {
      h = log(static_cast<double>(var[m]) + kLplEps) + log(static_cast<double>(var[M + m]) + kLplEps);
    }
    pull_part[m] = p;
    push_part[m] = h;
  }
};

// One thread: adds the partials into the layer's three float64 slots.
struct LplFinalizeTerms {
  const double* pull_part;
  const double* push_part;
  const double* dec_part;  // [2 C] or null
  double* out;             // 3 slots
  int64_t B, M, C;
  bool stale;
  LPL_HD void operator()(int64_t) const {
    double p = 0, h = 0, d = 0;
    for (int64_t m = 0; m < M; ++m) {
      p += pull_part[m];
      h += push_part[m];
    }
    if (dec_part)
      for (int64_t j = 0; j < 2 * C; ++j) d += dec_part[j];
    out[0] = p / (static_cast<double>(B) * M);
    out[1] = stale ? -0.5 * h / (static_cast<double>(B - 1) * M) : -0.5 * h / static_cast<double>(M);
    out[2] = dec_part ? 0.5 * d / (static_cast<double>(C) * C - C) : 0.0;
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

  Tensor stats = Tensor::empty({4, M}, d);  // mean view 1, mean view 2, var view 1, var view 2
  float* mean = stats.f();
  float* var = stats.f() + 2 * M;
  launch(d, 2 * M, LplViewStats{zp, mean, var, B, M});

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
      launch(d, 2 * C, LplChannelMean{mean, cm.f(), C, HW});
      cmean = cm.f();
    }
    Tensor zc = Tensor::empty({2, R, C}, d);
    launch(d, 2 * R * C, LplCenterRows{zp, cmean, zc.f(), B, C, HW});
    Tensor cov = Tensor::empty({2, C, C}, d);
    for (int64_t v = 0; v < 2; ++v)
      gemm(d, true, false, C, C, R, 1.0f / static_cast<float>(R - 1), zc.f() + v * R * C, C,
           zc.f() + v * R * C, C, 0.f, cov.f() + v * C * C, C);
    dec_part = Tensor::empty({2 * C}, d, DType::I64);
    launch(d, 2 * C, LplCovRows{cov.f(), dec_part.data<double>(), C});
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
            a.coeffs.pull * 2.0f / static_cast<float>(B * M),
            a.coeffs.push / static_cast<float>(M * (B - 1)),
            C >= 2 ? a.coeffs.decorr * 2.0f / (static_cast<float>(C * C - C) * static_cast<float>(R - 1)) : 0.f};
  launch(d, N * M, g);

  Tensor part = Tensor::empty({2, M}, d, DType::I64);
  double* pull_part = part.data<double>();
  double* push_part = part.data<double>() + M;
  launch(d, M, LplColumnTerms{zp, mean, var, use_stale ? hm : nullptr, use_stale ? hv : nullptr, perm,
                              pull_part, push_part, B, M});
  launch(d, 1, LplFinalizeTerms{pull_part, push_part, dec_part.defined() ? dec_part.data<double>() : nullptr,
                                terms.data<double>() + 3 * slot, B, M, C, use_stale});
  if (a.stale_mean) launch(d, M, LplStaleUpdate{mean, var, a.stale_mean->f(), a.stale_var->f(), M});
}

}  // namespace lpl::kern
