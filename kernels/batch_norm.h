// Batch norm over (N, H, W) per channel (torch.nn.BatchNorm2d), written once for both backends.
// The per-channel reductions run in two deterministic passes, as bias_backward's: one float64
// partial per (image, channel) plane, then one sum per channel over the images in image order. The
// split depends only on the shape, never on the device or the thread count, and nothing is atomic:
// the same bits on every run, and CPU and CUDA add the same partials in the same order.
// The statistics are two-pass (mean, then the sum of squared deviations from it), both in float64.
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/common.h"
#include "engine/ops.h"
#include "kernels/span.h"

namespace lpl::kern {

// Sum of p[0..n) in float64 with eight independent partial sums (no serial add chain on the CPU).
LPL_HD inline double plane_sum(const float* __restrict__ p, int64_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[i + k];
  for (; i < n; ++i) a[0] += p[i];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// partial[i] = sum of plane i (i = n * C + c) of x.
struct BnPlaneSum {
  const float* x;
  double* partial;
  int64_t hw;
  int64_t per;  // = hw: the work of one call, for the CPU launcher's inline/parallel choice
  LPL_HD void operator()(int64_t i) const { partial[i] = plane_sum(x + i * hw, hw); }
};

// mean[ch] = sum over images of partial[img * C + ch] / count.
struct BnChannelMean {
  const double* partial;
  double* mean;
  int64_t n, c;
  double count;
  int64_t per;  // = n
  LPL_HD void operator()(int64_t ch) const {
    double s = 0;
    for (int64_t img = 0; img < n; ++img) s += partial[img * c + ch];
    mean[ch] = s / count;
  }
};

// partial[i] = sum over plane i of (x - mean[c])^2.
struct BnPlaneSqDev {
  const float* x;
  const double* mean;
  double* partial;
  int64_t hw, c;
  int64_t per;  // = hw
  LPL_HD void operator()(int64_t i) const {
    const float* __restrict__ p = x + i * hw;
    const double m = mean[i % c];
    double a[4] = {0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 4 <= hw; k += 4)
      for (int j = 0; j < 4; ++j) {
        const double dv = p[k + j] - m;
        a[j] += dv * dv;
      }
    for (; k < hw; ++k) {
      const double dv = p[k] - m;
      a[0] += dv * dv;
    }
    partial[i] = (a[0] + a[1]) + (a[2] + a[3]);
  }
};

// Per channel: the batch mean and 1 / sqrt(biased variance + eps) for the normalisation and the
// backward, and the running statistics' update with the unbiased variance (as PyTorch).
struct BnTrainFinish {
  const double* partial;  // sums of squared deviations per plane
  const double* mean_d;
  float* mean;
  float* invstd;
  float* running_mean;
  float* running_var;
  int64_t n, c;
  double count, eps, momentum;
  int64_t per;  // = n
  LPL_HD void operator()(int64_t ch) const {
    double q = 0;
    for (int64_t img = 0; img < n; ++img) q += partial[img * c + ch];
    const double m = mean_d[ch], var_b = q / count, var_u = q / (count - 1);
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
    const int64_t b = s * per, ch = (b / hw) % c;
    const float m = mean[ch], sc = invstd[ch] * gamma[ch], sh = beta[ch];
    const float* __restrict__ xs = x;
    float* __restrict__ ys = y;
    for (int64_t i = b; i < b + per; ++i) ys[i] = (xs[i] - m) * sc + sh;
  }
};

// Backward partials of plane i: partial[i] = sum dy, partial[N C + i] = sum dy (x - mean[c]).
struct BnBwdPlane {
  const float* dy;
  const float* x;
  const float* mean;
  double* partial;
  int64_t hw, c, nc;
  int64_t per;  // = hw
  LPL_HD void operator()(int64_t i) const {
    const float* __restrict__ g = dy + i * hw;
    const float* __restrict__ p = x + i * hw;
    const double m = mean[i % c];
    double s[4] = {0, 0, 0, 0}, t[4] = {0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 4 <= hw; k += 4)
      for (int j = 0; j < 4; ++j) {
        s[j] += g[k + j];
        t[j] += g[k + j] * (p[k + j] - m);
      }
    for (; k < hw; ++k) {
      s[0] += g[k];
      t[0] += g[k] * (p[k] - m);
    }
    partial[i] = (s[0] + s[1]) + (s[2] + s[3]);
    partial[nc + i] = (t[0] + t[1]) + (t[2] + t[3]);
  }
};

// Per channel: dbeta += sum dy, dgamma += sum dy xhat, and the two means the dx formula needs,
// k[ch] = sum dy / count and k[C + ch] = sum dy xhat / count.
struct BnBwdFinish {
  const double* partial;
  const float* invstd;
  float* dgamma;
  float* dbeta;
  float* k;
  int64_t n, c;
  double count;
  int64_t per;  // = n
  LPL_HD void operator()(int64_t ch) const {
    const int64_t nc = n * c;
    double sdy = 0, sdyx = 0;
    for (int64_t img = 0; img < n; ++img) {
      sdy += partial[img * c + ch];
      sdyx += partial[nc + img * c + ch];
    }
    sdyx *= static_cast<double>(invstd[ch]);
    dbeta[ch] = static_cast<float>(static_cast<double>(dbeta[ch]) + sdy);
    dgamma[ch] = static_cast<float>(static_cast<double>(dgamma[ch]) + sdyx);
    k[ch] = static_cast<float>(sdy / count);
    k[c + ch] = static_cast<float>(sdyx / count);
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
    const int64_t b = s * per, ch = (b / hw) % c;
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
  const double count = static_cast<double>(n * hw);
  BatchNormSaved local;
  BatchNormSaved& sv = saved ? *saved : local;
  sv.mean = Tensor::empty({c}, d);
  sv.invstd = Tensor::empty({c}, d);
  Tensor part = f64_scratch(n * c, d), mean_d = f64_scratch(c, d);
  launch(d, n * c, BnPlaneSum{x.f(), part.data<double>(), hw, hw});
  launch(d, c, BnChannelMean{part.data<double>(), mean_d.data<double>(), n, c, count, n});
  launch(d, n * c, BnPlaneSqDev{x.f(), mean_d.data<double>(), part.data<double>(), hw, c, hw});
  launch(d, c,
         BnTrainFinish{part.data<double>(), mean_d.data<double>(), sv.mean.f(), sv.invstd.f(), running_mean.f(),
                       running_var.f(), n, c, count, static_cast<double>(p.eps), static_cast<double>(p.momentum), n});
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
  const double count = static_cast<double>(n * hw);
  Tensor part = f64_scratch(2 * n * c, d), k = Tensor::empty({2 * c}, d);
  launch(d, n * c, BnBwdPlane{dy.f(), x.f(), saved.mean.f(), part.data<double>(), hw, c, n * c, hw});
  launch(d, c, BnBwdFinish{part.data<double>(), saved.invstd.f(), dgamma.f(), dbeta.f(), k.f(), n, c, count, n});
  Tensor dx = Tensor::empty(x.shape(), d);
  const Span sp = row_spans<L>(n * c, hw);
  launch(d, sp.count,
         BnBwdApply{dy.f(), x.f(), saved.mean.f(), saved.invstd.f(), gamma.f(), k.f(), dx.f(), c, hw, sp.per});
  return dx;
}

}  // namespace lpl::kern
