// ReLU forward and backward, written once for both backends (see kernels/span.h for the split).
#pragma once
#include "engine/ops.h"
#include "kernels/span.h"

namespace lpl::kern {

// y = max(x, 0); NaN passes through (as PyTorch's relu).
struct ReluFwd {
  const float* x;
  float* y;
  int64_t n, per;
  LPL_HD void operator()(int64_t s) const {
    const float* __restrict__ xs = x;
    float* __restrict__ ys = y;
    const int64_t b = s * per, e = min64(b + per, n);
    for (int64_t i = b; i < e; ++i) ys[i] = xs[i] <= 0.f ? 0.f : xs[i];
  }
};

// dx = dy where y > 0, else 0.
struct ReluBwd {
  const float* dy;
  const float* y;
  float* dx;
  int64_t n, per;
  LPL_HD void operator()(int64_t s) const {
    const float* __restrict__ dys = dy;
    const float* __restrict__ ys = y;
    float* __restrict__ dxs = dx;
    const int64_t b = s * per, e = min64(b + per, n);
    for (int64_t i = b; i < e; ++i) {
      const float g = dys[i];  // loaded unconditionally: a select, not a branch per element
      dxs[i] = ys[i] > 0.f ? g : 0.f;
    }
  }
};

template <class L>
Tensor relu_forward(const L& launch, const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  const Span sp = flat_spans<L>(x.numel());
  launch(x.device(), sp.count, ReluFwd{x.f(), y.f(), x.numel(), sp.per});
  return y;
}

template <class L>
Tensor relu_backward(const L& launch, const Tensor& dy, const Tensor& y) {
  Tensor dx = Tensor::empty(dy.shape(), dy.device());
  const Span sp = flat_spans<L>(dy.numel());
  launch(dy.device(), sp.count, ReluBwd{dy.f(), y.f(), dx.f(), dy.numel(), sp.per});
  return dx;
}

}  // namespace lpl::kern
