// The negative-sample baseline's layer objective (--use_negative_samples, spec §2) and its analytic
// gradient, written once for both backends (the original's cosine_pull_loss / cosine_push_loss):
//   u_r     = z_r / max(||z_r||, 1e-12)                      (F.normalize, per row)
//   pull    = -(1/B) sum_b u1_b . u2_{perm b}
//   push    = (1/2) sum_v (1/(B (B-1))) sum_{a != b} (u_a . u_b)^2     (within view v)
//   decorr  = the LPL decorrelation term of z (logged as the original does; its coefficient is 0)
// With g = dL/du of a row: dL/dz = (g - (g . u) u) / ||z|| (g / 1e-12 where the norm is clamped).
//   dL/du1_b = -(pull_coeff / B) u2_{perm b} + push_coeff (2 / (B (B-1))) sum_{a != b} S_ba u_a
// with S = U U^T of the row's view. S and S_offdiag U go through lpl::gemm; the rest are the functors
// below (one row per call: the rows are independent and M is at most a few thousand).
#pragma once
#include <cmath>

#include "engine/common.h"
#include "engine/lpl_ops.h"
#include "engine/ops.h"
#include "kernels/lpl_objective.h"

namespace lpl::kern {

constexpr double kNormEps = 1e-12;  // F.normalize's default

// u = z / max(||z||, eps) per row; keeps the (clamped) norm.
struct NegNormalizeRows {
  const float* z;
  float* u;
  float* norm;  // [2B]
  int64_t M;
  LPL_HD void operator()(int64_t r) const {
    const float* x = z + r * M;
    double s = 0;
    for (int64_t m = 0; m < M; ++m) s += static_cast<double>(x[m]) * x[m];
    double n = sqrt(s);
    n = n > kNormEps ? n : kNormEps;
    const float inv = static_cast<float>(1.0 / n);
    for (int64_t m = 0; m < M; ++m) u[r * M + m] = x[m] * inv;
    norm[r] = static_cast<float>(n);
  }
};

// dL/dz of one row (both terms), and for view-1 rows the positive pair's cosine (float64).
struct NegGradRows {
  const float* u;
  const float* norm;
  const float* G;       // [2B, M]: S_offdiag U per view
  const int32_t* perm;  // null: identity pairing
  const int32_t* inv;
  float* dz;
  double* pull_part;    // [B]
  int64_t B, M;
  float kpull, kpush;   // pull_coeff / B, push_coeff * 2 / (B (B-1))
  LPL_HD void operator()(int64_t r) const {
    const int64_t v = r >= B ? 1 : 0, b = r - v * B;
    const int64_t pb = perm ? (v == 0 ? perm[b] : inv[b]) : b;
    const float* ur = u + r * M;
    const float* up = u + ((1 - v) * B + pb) * M;
    const float* gr = G + r * M;
    float* d = dz + r * M;
    double dot = 0, pair = 0;
    for (int64_t m = 0; m < M; ++m) {
      const float g = -kpull * up[m] + kpush * gr[m];
      d[m] = g;
      dot += static_cast<double>(g) * ur[m];
      pair += static_cast<double>(ur[m]) * up[m];
    }
    const double n = norm[r];
    const float fd = static_cast<float>(dot);
    const float inv_n = static_cast<float>(1.0 / n);
    if (n > kNormEps) {
      for (int64_t m = 0; m < M; ++m) d[m] = (d[m] - fd * ur[m]) * inv_n;
    } else {  // clamped norm: u = z / eps, a linear map
      for (int64_t m = 0; m < M; ++m) d[m] = d[m] * inv_n;
    }
    if (v == 0) pull_part[b] = pair;
  }
};

// One thread: the pull and push slots of the layer (the decorrelation slot is the LPL pass's).
struct NegFinalizeTerms {
  const double* pull_part;  // [B]
  const double* push_part;  // [2B] sums of squared off-diagonal cosines per row
  double* out;
  int64_t B;
  LPL_HD void operator()(int64_t) const {
    double p = 0, h = 0;
    for (int64_t b = 0; b < B; ++b) p += pull_part[b];
    for (int64_t r = 0; r < 2 * B; ++r) h += push_part[r];
    out[0] = -p / static_cast<double>(B);
    out[1] = 0.5 * h / (static_cast<double>(B) * static_cast<double>(B - 1));
  }
};

template <class L>
void negative_objective(const L& launch, const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot,
                        const LplObjectiveArgs& a) {
  const Device d = z.device();
  const int64_t N = z.dim(0), B = N / 2, M = z.numel() / N;
  // The decorrelation term's value, from the LPL pass with every coefficient 0 (its dz is overwritten).
  LplObjectiveArgs lpl_args;
  lpl_args.coeffs = {0.f, 0.f, 0.f};
  lpl_objective(launch, z, dz, terms, slot, lpl_args);

  Tensor u = Tensor::empty({N, M}, d), norm = Tensor::empty({N}, d);
  launch(d, N, NegNormalizeRows{z.f(), u.f(), norm.f(), M});
  Tensor S = Tensor::empty({2, B, B}, d), G = Tensor::empty({N, M}, d);
  for (int64_t v = 0; v < 2; ++v)
    gemm(d, false, true, B, B, M, 1.f, u.f() + v * B * M, M, u.f() + v * B * M, M, 0.f, S.f() + v * B * B, B);
  Tensor part = Tensor::empty({3 * B}, d, DType::I64);  // float64: pull [B], push [2B]
  double* pull_part = part.data<double>();
  double* push_part = pull_part + B;
  launch(d, N, LplCovRows{S.f(), push_part, B});  // zeroes S's diagonal, sums each row's squares
  for (int64_t v = 0; v < 2; ++v)
    gemm(d, false, false, B, M, B, 1.f, S.f() + v * B * B, B, u.f() + v * B * M, M, 0.f, G.f() + v * B * M, M);

  const int32_t* perm = a.positive_perm ? a.positive_perm->data<int32_t>() : nullptr;
  Tensor inv;
  if (perm) {
    inv = Tensor::empty({B}, d, DType::I32);
    launch(d, B, LplInversePerm{perm, inv.data<int32_t>()});
  }
  launch(d, N,
         NegGradRows{u.f(), norm.f(), G.f(), perm, perm ? inv.data<int32_t>() : nullptr, dz.f(), pull_part, B, M,
                     a.coeffs.pull / static_cast<float>(B),
                     a.coeffs.push * 2.0f / (static_cast<float>(B) * static_cast<float>(B - 1))});
  launch(d, 1, NegFinalizeTerms{pull_part, push_part, terms.data<double>() + 3 * slot, B});
}

}  // namespace lpl::kern
