// Per-channel bias of NCHW tensors, written once for both backends.
// bias_backward: db[c] = sum over n, h, w of dy[n, c, h, w], in two segmented sums
// (kernels/segments.h): one float64 partial per (image, channel) plane, then one sum per channel over
// the images. The split depends only on the shape, never on the device or the thread count.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/ops.h"
#include "kernels/reduce.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

// db[c] (+)= sum over n of partial[n * C + c] (segments: the columns of the n x C partials).
struct BiasGradFinish {
  const double* partial;
  float* db;
  int64_t c;
  bool accumulate;
  LPL_HD double term(int64_t ch, int64_t img) const { return partial[img * c + ch]; }
  LPL_HD void finish(int64_t ch, double s) const { db[ch] = static_cast<float>(accumulate ? db[ch] + s : s); }
};

// y[n, c, h, w] += b[c]
struct AddChannelBias {
  float* y;
  const float* b;
  int64_t c, hw;
  LPL_HD void operator()(int64_t i) const { y[i] += b[divmod(divmod(i, hw).q, c).r]; }
};

template <class L>
void bias_backward(const L& launch, const Tensor& dy, Tensor& db, bool accumulate) {
  const int64_t n = dy.dim(0), c = dy.dim(1), hw = dy.dim(2) * dy.dim(3);
  Tensor part = Tensor::empty(Shape{n * c}, dy.device(), DType::I64);  // 8 bytes per partial
  launch.sum(dy.device(), {n * c, hw, SegLayout::rows}, PlaneSum{dy.f(), part.data<double>(), hw});
  launch.sum(dy.device(), {c, n, SegLayout::columns}, BiasGradFinish{part.data<double>(), db.f(), c, accumulate});
}

template <class L>
void add_channel_bias(const L& launch, Tensor& y, const Tensor& b) {
  launch(y.device(), y.numel(), AddChannelBias{y.f(), b.f(), y.dim(1), y.dim(2) * y.dim(3)});
}

}  // namespace lpl::kern
