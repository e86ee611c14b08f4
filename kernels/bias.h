// Per-channel bias of NCHW tensors, written once for both backends.
// bias_backward: db[c] = sum over n, h, w of dy[n, c, h, w]. It runs in two passes so both backends
// add in the same order: one float64 partial per (channel, block of kBiasRows images), then one sum
// per channel over its partials. The split depends only on the shape, never on the device.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/ops.h"

namespace lpl::kern {

constexpr int64_t kBiasRows = 8;

struct BiasGradPartial {
  const float* dy;
  double* partial;  // [C, blocks]
  int64_t n, c, hw, blocks;
  LPL_HD void operator()(int64_t i) const {
    const int64_t ch = i / blocks, blk = i % blocks;
    const int64_t n0 = blk * kBiasRows, n1 = n0 + kBiasRows < n ? n0 + kBiasRows : n;
    double s = 0;
    for (int64_t img = n0; img < n1; ++img) {
      const float* p = dy + (img * c + ch) * hw;
      for (int64_t k = 0; k < hw; ++k) s += p[k];
    }
    partial[i] = s;
  }
};

struct BiasGradFinish {
  const double* partial;
  float* db;
  int64_t blocks;
  bool accumulate;
  LPL_HD void operator()(int64_t ch) const {
    double s = 0;
    for (int64_t k = 0; k < blocks; ++k) s += partial[ch * blocks + k];
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
  const int64_t blocks = n == 0 ? 1 : (n + kBiasRows - 1) / kBiasRows;
  Tensor part = Tensor::empty(Shape{c * blocks}, dy.device(), DType::I64);  // 8 bytes per partial
  launch(dy.device(), c * blocks, BiasGradPartial{dy.f(), part.data<double>(), n, c, hw, blocks});
  launch(dy.device(), c, BiasGradFinish{part.data<double>(), db.f(), blocks, accumulate});
}

template <class L>
void add_channel_bias(const L& launch, Tensor& y, const Tensor& b) {
  launch(y.device(), y.numel(), AddChannelBias{y.f(), b.f(), y.dim(1), y.dim(2) * y.dim(3)});
}

}  // namespace lpl::kern
