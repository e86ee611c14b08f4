// Batch norm over (N, H, W) per channel (torch.nn.BatchNorm2d), written once for both backends.
// The per-channel reductions run in two segmented sums (kernels/segments.h), as bias_backward's: one
// float64 partial per (image, channel) plane, then one sum per channel over the images. The split
// depends only on the shape, never on the thread count, and nothing is atomic: the same bits on
// every run of a backend.
// The statistics are two-pass (mean, then the sum of squared deviations from it), both in float64.
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/common.h"
#include "engine/comm.h"
#include "engine/ops.h"
#include "kernels/reduce.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

// partial[i] = sum over plane i of (x - mean[c])^2 (segments: rows).
struct BnPlaneSqDev {
  const float* x;
  const double* mean;
  double* partial;
  int64_t hw, c;
  LPL_HD double term(int64_t i, int64_t k) const {
    const double dv = x[i * hw + k] - mean[divmod(i, c).r];
    return dv * dv;
  }
  LPL_HD void finish(int64_t i, double s) const { partial[i] = s; }
};

// Per channel, from the sum of squared deviations q: the batch mean and 1 / sqrt(biased variance +
// eps) for the normalisation and the backward, and the running statistics' update with the unbiased
// variance (as PyTorch).
struct BnTrainFinish {
  const double* q_d;
  const double* mean_d;
  float* mean;
  float* invstd;
  float* running_mean;
  float* running_var;
  double count, eps, momentum;
  LPL_HD void operator()(int64_t ch) const {
    const double q = q_d[ch], m = mean_d[ch], var_b = q / count, var_u = q / (count - 1);
    mean[ch] = static_cast<float>(m);
    invstd[ch] = static_cast<float>(1.0 / sqrt(var_b + eps));
    running_mean[ch] = static_cast<float>((1 - momentum) * running_mean[ch] + momentum * m);
    running_var[ch] = static_cast<float>((1 - momentum) * running_var[ch] + momentum * var_u);
  }
};

// Evaluation: invstd[ch] = 1 / sqrt(running_var[ch] + eps).
struct BnEvalInvstd {
  const float* running_var;
  float* invstd;
  double eps;
  LPL_HD void operator()(int64_t ch) const {
    invstd[ch] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[ch]) + eps));
  }
};

// y = (x - mean[c]) * (invstd[c] * gamma[c]) + beta[c]. Span s covers items [s per, s per + per) of
// one plane (per = 1 on CUDA, a whole plane on the CPU).
struct BnApply {
  const float* x;
  float* y;
  const float* mean;
  const float* invstd;
  const float* gamma;
  const float* beta;
  int64_t c, hw, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t b = s * per, ch = divmod(divmod(b, hw).q, c).r;
    const float m = mean[ch], sc = invstd[ch] * gamma[ch], sh = beta[ch];
    const float* __restrict__ xs = x;
    float* __restrict__ ys = y;
    for (int64_t i = b; i < b + per; ++i) ys[i] = (xs[i] - m) * sc + sh;
  }
};

// Backward partials of plane i (segments: rows): partial[i] = (sum dy, sum dy (x - mean[c])).
struct BnBwdPlane {
  const float* dy;
  const float* x;
  const float* mean;
  Double2* partial;
  int64_t hw, c;
  LPL_HD Double2 term(int64_t i, int64_t k) const {
    const float g = dy[i * hw + k];
    return {g, g * (x[i * hw + k] - static_cast<double>(mean[divmod(i, c).r]))};
  }
  LPL_HD void finish(int64_t i, Double2 s) const { partial[i] = s; }
};

// Per channel (segments: columns of the plane partials): (sum dy, sum dy (x - mean)).
struct BnBwdSums {
  const Double2* partial;
  Double2* sums;
  int64_t c;
  LPL_HD Double2 term(int64_t ch, int64_t img) const { return partial[img * c + ch]; }
  LPL_HD void finish(int64_t ch, Double2 s) const { sums[ch] = s; }
};

// dbeta += sum dy, dgamma += sum dy xhat (this rank's sums: the step adds the ranks' gradients).
struct BnBwdParamGrads {
  const Double2* sums;
  const float* invstd;
  float* dgamma;
  float* dbeta;
  LPL_HD void operator()(int64_t ch) const {
    dbeta[ch] = static_cast<float>(static_cast<double>(dbeta[ch]) + sums[ch].a);
    dgamma[ch] = static_cast<float>(static_cast<double>(dgamma[ch]) + sums[ch].b * static_cast<double>(invstd[ch]));
  }
};

// The two means the dx formula needs (over the global batch's sums): k[ch] = sum dy / count and
// k[C + ch] = sum dy xhat / count.
struct BnBwdMeans {
  const Double2* sums;
  const float* invstd;
  float* k;
  int64_t c;
  double count;
  LPL_HD void operator()(int64_t ch) const {
    k[ch] = static_cast<float>(sums[ch].a / count);
    k[c + ch] = static_cast<float>(sums[ch].b * static_cast<double>(invstd[ch]) / count);
  }
};

// dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)), xhat = (x - mean) invstd; spans as BnApply.
struct BnBwdApply {
  const float* dy;
  const float* x;
  const float* mean;
  const float* invstd;
  const float* gamma;
  const float* k;
  float* dx;
  int64_t c, hw, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t b = s * per, ch = divmod(divmod(b, hw).q, c).r;
    const float m = mean[ch], inv = invstd[ch], sc = gamma[ch] * inv, k1 = k[ch], k2 = k[c + ch];
    const float* __restrict__ g = dy;
    const float* __restrict__ xs = x;
    float* __restrict__ out = dx;
    for (int64_t i = b; i < b + per; ++i) out[i] = sc * (g[i] - k1 - (xs[i] - m) * inv * k2);
  }
};

// Float64 scratch of n values on device d (8-byte elements).
inline Tensor f64_scratch(int64_t n, Device d) { return Tensor::empty(Shape{n}, d, DType::I64); }

template <class L>
Tensor batch_norm_train_forward(const L& launch, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                Tensor& running_mean, Tensor& running_var, const BatchNormParams& p,
                                BatchNormSaved* saved) {
  const Device d = x.device();
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Communicator* comm = p.comm;  // several ranks: the statistics of their global batch
  const double count = static_cast<double>(n * hw) * (comm ? comm->size() : 1);
  BatchNormSaved local;
  BatchNormSaved& sv = saved ? *saved : local;
  sv.mean = Tensor::empty({c}, d);
  sv.invstd = Tensor::empty({c}, d);
  sv.comm = comm;
  Tensor part = f64_scratch(n * c, d), mean_d = f64_scratch(c, d), q_d = f64_scratch(c, d);
  const Segments planes{n * c, hw, SegLayout::rows}, channels{c, n, SegLayout::columns};
  launch.sum(d, planes, PlaneSum{x.f(), part.data<double>(), hw});
  launch.sum(d, channels, ChannelSum{part.data<double>(), mean_d.data<double>(), c, count});  // the means
  if (comm) comm->all_reduce_sum(mean_d.data<double>(), c, d);
  launch.sum(d, planes, BnPlaneSqDev{x.f(), mean_d.data<double>(), part.data<double>(), hw, c});
  launch.sum(d, channels, ChannelSum{part.data<double>(), q_d.data<double>(), c, 1.0});
  if (comm) comm->all_reduce_sum(q_d.data<double>(), c, d);
  launch(d, c,
         BnTrainFinish{q_d.data<double>(), mean_d.data<double>(), sv.mean.f(), sv.invstd.f(), running_mean.f(),
                       running_var.f(), count, static_cast<double>(p.eps), static_cast<double>(p.momentum)});
  Tensor y = Tensor::empty(x.shape(), d);
  const Span sp = row_spans<L>(n * c, hw);
  launch(d, sp.count, BnApply{x.f(), y.f(), sv.mean.f(), sv.invstd.f(), gamma.f(), beta.f(), c, hw, sp.per});
  return y;
}

template <class L>
Tensor batch_norm_eval_forward(const L& launch, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               const Tensor& running_mean, const Tensor& running_var, const BatchNormParams& p) {
  const Device d = x.device();
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor invstd = Tensor::empty({c}, d);
  launch(d, c, BnEvalInvstd{running_var.f(), invstd.f(), static_cast<double>(p.eps)});
  Tensor y = Tensor::empty(x.shape(), d);
  const Span sp = row_spans<L>(n * c, hw);
  launch(d, sp.count, BnApply{x.f(), y.f(), running_mean.f(), invstd.f(), gamma.f(), beta.f(), c, hw, sp.per});
  return y;
}

template <class L>
Tensor batch_norm_backward(const L& launch, const Tensor& dy, const Tensor& x, const Tensor& gamma,
                           const BatchNormSaved& saved, Tensor& dgamma, Tensor& dbeta) {
  const Device d = x.device();
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Communicator* comm = saved.comm;
  const double count = static_cast<double>(n * hw) * (comm ? comm->size() : 1);
  Tensor part = f64_scratch(2 * n * c, d), sums_t = f64_scratch(2 * c, d), k = Tensor::empty({2 * c}, d);
  auto* pp = reinterpret_cast<Double2*>(part.data<double>());
  auto* sums = reinterpret_cast<Double2*>(sums_t.data<double>());
  launch.sum(d, {n * c, hw, SegLayout::rows}, BnBwdPlane{dy.f(), x.f(), saved.mean.f(), pp, hw, c});
  launch.sum(d, {c, n, SegLayout::columns}, BnBwdSums{pp, sums, c});
  launch(d, c, BnBwdParamGrads{sums, saved.invstd.f(), dgamma.f(), dbeta.f()});
  if (comm) comm->all_reduce_sum(sums_t.data<double>(), 2 * c, d);
  launch(d, c, BnBwdMeans{sums, saved.invstd.f(), k.f(), c, count});
  Tensor dx = Tensor::empty(x.shape(), d);
  const Span sp = row_spans<L>(n * c, hw);
  launch(d, sp.count,
         BnBwdApply{dy.f(), x.f(), saved.mean.f(), saved.invstd.f(), gamma.f(), k.f(), dx.f(), c, hw, sp.per});
  return dx;
}

}  // namespace lpl::kern
