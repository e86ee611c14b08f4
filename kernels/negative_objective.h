// The negative-sample baseline's layer objective (--use_negative_samples, spec §2) and its analytic
// gradient, written once for both backends (the original's cosine_pull_loss / cosine_push_loss):
//   u_r     = z_r / max(||z_r||, 1e-12)                      (F.normalize, per row)
//   pull    = -(1/B) sum_b u1_b . u2_{perm b}
//   push    = (1/2) sum_v (1/(B (B-1))) sum_{a != b} (u_a . u_b)^2     (within view v)
//   decorr  = the LPL decorrelation term of z (logged as the original does; its coefficient is 0)
// With g = dL/du of a row: dL/dz = (g - (g . u) u) / ||z|| (g / 1e-12 where the norm is clamped).
//   dL/du1_b = -(pull_coeff / B) u2_{perm b} + push_coeff (2 / (B (B-1))) sum_{a != b} S_ba u_a
// with S = U U^T of the row's view. S and S_offdiag U go through lpl::gemm; the row sums are segmented
// sums (kernels/segments.h), the rest per-element functors.
#pragma once
#include <cmath>

#include "engine/common.h"
#include "engine/lpl_ops.h"
#include "engine/ops.h"
#include "kernels/lpl_objective.h"

namespace lpl::kern {

constexpr double kNormEps = 1e-12;  // F.normalize's default

// norm[r] = max(||z_r||, eps) (segments: rows).
struct NegRowNorm {
  const float* z;
  float* norm;  // [2B]
  int64_t M;
  LPL_HD double term(int64_t r, int64_t m) const {
    const double x = z[r * M + m];
    return x * x;
  }
  LPL_HD void finish(int64_t r, double s) const {
    const double n = sqrt(s);
    norm[r] = static_cast<float>(n > kNormEps ? n : kNormEps);
  }
};

// u = z / norm per row. Span s covers items [s per, s per + per) of one row.
struct NegScaleRows {
  const float* z;
  const float* norm;
  float* u;
  int64_t M, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t i0 = s * per, r = divmod(i0, M).q;
    const float inv = static_cast<float>(1.0 / static_cast<double>(norm[r]));
    for (int64_t i = i0; i < i0 + per; ++i) u[i] = z[i] * inv;
  }
};

// What both passes over a row need: the row's view, its positive pair's row, dL/du at m.
struct NegRowGeom {
  const float* u;
  const float* G;       // [2B, M]: S_offdiag U per view
  const int32_t* perm;  // null: identity pairing
  const int32_t* inv;
  int64_t B, M;
  float kpull, kpush;   // pull_coeff / B, push_coeff * 2 / (B (B-1))
  LPL_HD int64_t pair_row(int64_t r) const {
    const int64_t v = r >= B ? 1 : 0, b = r - v * B;
    const int64_t pb = perm ? (v == 0 ? perm[b] : inv[b]) : b;
    return (1 - v) * B + pb;
  }
  LPL_HD float dl_du(int64_t r, int64_t pr, int64_t m) const { return -kpull * u[pr * M + m] + kpush * G[r * M + m]; }
};

// Per row r: a = (dL/du) . u_r, b = u_r . u_pair (segments: rows); the pair's cosine of view-1 rows
// is the pull term's partial.
struct NegRowDots {
  NegRowGeom g;
  double* dot;        // [2B]
  double* pull_part;  // [B]
  LPL_HD Double2 term(int64_t r, int64_t m) const {
    const int64_t pr = g.pair_row(r);
    const float ur = g.u[r * g.M + m];
    return {static_cast<double>(g.dl_du(r, pr, m)) * ur, static_cast<double>(ur) * g.u[pr * g.M + m]};
  }
  LPL_HD void finish(int64_t r, Double2 s) const {
    dot[r] = s.a;
    if (r < g.B) pull_part[r] = s.b;
  }
};

// dL/dz of every element: (dL/du - (dL/du . u) u) / ||z|| (dL/du / eps where the norm is clamped).
struct NegGradApply {
  NegRowGeom g;
  const double* dot;
  const float* norm;
  float* dz;
  LPL_HD void operator()(int64_t i) const {
    const DivMod rm = divmod(i, g.M);
    const int64_t r = rm.q, m = rm.r;
    const float d = g.dl_du(r, g.pair_row(r), m);
    const double n = norm[r];
    const float inv_n = static_cast<float>(1.0 / n);
    dz[i] = n > kNormEps ? (d - static_cast<float>(dot[r]) * g.u[i]) * inv_n : d * inv_n;
  }
};

// The pull and push slots of the layer (the decorrelation slot is the LPL pass's): segment 0 adds
// the B pull partials, segment 1 the 2B push partials (all-reduced over the ranks before: Bg rows).
struct NegFinalizeTerms {
  const double* pull_part;  // [B]
  const double* push_part;  // [2B] sums of squared off-diagonal cosines per row
  double* out;
  int64_t B, Bg;
  LPL_HD double term(int64_t s, int64_t k) const {
    if (s == 0) return k < B ? pull_part[k] : 0.0;
    return push_part[k];
  }
  LPL_HD void finish(int64_t s, double v) const {
    if (s == 0) out[0] = -v / static_cast<double>(Bg);
    else out[1] = 0.5 * v / (static_cast<double>(Bg) * static_cast<double>(Bg - 1));
  }
};

template <class L>
void negative_objective(const L& launch, const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot,
                        const LplObjectiveArgs& a) {
  const Device d = z.device();
  const int64_t N = z.dim(0), B = N / 2, M = z.numel() / N;
  // Several ranks (a.comm): the push term pairs every row with every row of its view in the global
  // batch, so each rank gathers all ranks' normalised rows; the partial terms are all-reduced.
  Communicator* comm = a.comm;
  const int ranks = comm ? comm->size() : 1;
  const int64_t Bg = B * ranks, off = comm ? B * comm->rank() : 0;
  // The decorrelation term's value, from the LPL pass with every coefficient 0 (its dz is overwritten).
  LplObjectiveArgs lpl_args;
  lpl_args.coeffs = {0.f, 0.f, 0.f};
  lpl_args.comm = comm;
  lpl_objective(launch, z, dz, terms, slot, lpl_args);

  Tensor u = Tensor::empty({N, M}, d), norm = Tensor::empty({N}, d);
  launch.sum(d, {N, M, SegLayout::rows}, NegRowNorm{z.f(), norm.f(), M});
  const Span sp = row_spans<L>(N, M);
  launch(d, sp.count, NegScaleRows{z.f(), norm.f(), u.f(), M, sp.per});
  // ug: each view's Bg rows in global order, [2][Bg][M] (one process: u itself).
  Tensor ug = u;
  if (comm) {
    Tensor all = Tensor::empty({ranks * N, M}, d);  // rank-major: rank q's view 1 rows, then its view 2 rows
    comm->all_gather(u.f(), all.f(), N * M, d);
    ug = Tensor::empty({2 * Bg, M}, d);
    const size_t shard = static_cast<size_t>(B * M) * sizeof(float);
    for (int q = 0; q < ranks; ++q)
      for (int64_t v = 0; v < 2; ++v)
        memcpy_bytes(ug.f() + (v * Bg + q * B) * M, d, all.f() + (q * N + v * B) * M, d, shard);
  }
  Tensor S = Tensor::empty({2, B, Bg}, d), G = Tensor::empty({N, M}, d);
  for (int64_t v = 0; v < 2; ++v)
    gemm(d, false, true, B, Bg, M, 1.f, u.f() + v * B * M, M, ug.f() + v * Bg * M, M, 0.f, S.f() + v * B * Bg, Bg);
  Tensor part = Tensor::empty({3 * B}, d, DType::I64);  // float64: pull [B], push [2B]
  double* pull_part = part.data<double>();
  double* push_part = pull_part + B;
  // The cosines of this rank's rows with all Bg rows of their view: each row's own pair zeroed.
  launch.sum(d, {N, Bg, SegLayout::rows}, OffDiagRows{S.f(), push_part, B, Bg, off});
  for (int64_t v = 0; v < 2; ++v)
    gemm(d, false, false, B, M, Bg, 1.f, S.f() + v * B * Bg, Bg, ug.f() + v * Bg * M, M, 0.f, G.f() + v * B * M, M);

  const int32_t* perm = a.positive_perm ? a.positive_perm->data<int32_t>() : nullptr;
  Tensor inv;
  if (perm) {
    inv = Tensor::empty({B}, d, DType::I32);
    launch(d, B, LplInversePerm{perm, inv.data<int32_t>()});
  }
  const NegRowGeom geom{u.f(), G.f(), perm, perm ? inv.data<int32_t>() : nullptr, B, M,
                        a.coeffs.pull / static_cast<float>(Bg),
                        a.coeffs.push * 2.0f / (static_cast<float>(Bg) * static_cast<float>(Bg - 1))};
  Tensor dot = Tensor::empty({N}, d, DType::I64);  // float64
  launch.sum(d, {N, M, SegLayout::rows}, NegRowDots{geom, dot.data<double>(), pull_part});
  launch(d, N * M, NegGradApply{geom, dot.data<double>(), norm.f(), dz.f()});
  if (comm) comm->all_reduce_sum(pull_part, 3 * B, d);  // the ranks' partials, entry by entry (then summed below)
  launch.sum(d, {2, 2 * B, SegLayout::rows}, NegFinalizeTerms{pull_part, push_part, terms.data<double>() + 3 * slot, B, Bg});
}

}  // namespace lpl::kern
