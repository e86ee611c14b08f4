// Per-channel bias of NCHW tensors, written once for both backends.
// bias_backward: db[c] = sum over n, h, w of dy[n, c, h, w]. It runs in two passes so both backends
// add in the same order: one float64 partial per (image, channel) plane, then one sum per channel
// over the images. The split depends only on the shape, never on the device.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/ops.h"

namespace lpl::kern {

// partial[i] = sum of plane i (i = n * C + c) of dy.
struct BiasGradPartial {
  const float* dy;
  double* partial;
  int64_t hw;
  LPL_HD void operator()(int64_t i) const {
    const float* p = dy + i * hw;
    double s = 0;
    for (int64_t k = 0; k < hw; ++k) s += p[k];
    partial[i] = s;
  }
};

// db[c] (+)= sum over n of partial[n * C + c] (adjacent threads read adjacent partials).
struct BiasGradFinish {
  const double* partial;
  float* db;
  int64_t n, c;
  bool accumulate;
  LPL_HD void operator()(int64_t ch) const {
    double s = 0;
    for (int64_t img = 0; img < n; ++img) s += partial[img * c + ch];
    db[ch] = static_cast<float>(accumulate ? db[ch] + s : s);
  }
};

// y[n, c, h, w] += b[c]
struct AddChannelBias {
  float* y;
  const float* b;
  int64_t c, hw;
  LPL_HD void operator()(int64_t i) const { y[i] += b[(i / hw) % c]; }
};

template <class L>
void bias_backward(const L& launch, const Tensor& dy, Tensor& db, bool accumulate) {
  const int64_t n = dy.dim(0), c = dy.dim(1), hw = dy.dim(2) * dy.dim(3);
  Tensor part = Tensor::empty(Shape{n * c}, dy.device(), DType::I64);  // 8 bytes per partial
  launch(dy.device(), n * c, BiasGradPartial{dy.f(), part.data<double>(), hw});
  launch(dy.device(), c, BiasGradFinish{part.data<double>(), db.f(), n, c, accumulate});
}

template <class L>
void add_channel_bias(const L& launch, Tensor& y, const Tensor& b) {
  launch(y.device(), y.numel(), AddChannelBias{y.f(), b.f(), y.dim(1), y.dim(2) * y.dim(3)});
}

}  // namespace lpl::kern
