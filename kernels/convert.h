// float32 <-> bfloat16 conversion, written once for both backends (the bf16 copies that --precision
// bf16 feeds to cuDNN / cuBLAS / oneDNN matmul). bfloat16 is the top half of a float32: converting
// rounds to nearest, ties to even (as oneDNN, cuDNN and PyTorch do); NaN stays a (quiet) NaN, and
// infinities and values past the largest bf16 round to infinity.
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/ops.h"
#include "kernels/span.h"

namespace lpl::kern {

LPL_HD inline uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
LPL_HD inline float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
LPL_HD inline uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN: keep it quiet
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);                                   // ties to even
  return static_cast<uint16_t>((u + rounding) >> 16);
}
LPL_HD inline float bf16_to_f32(uint16_t h) { return bits_f32(static_cast<uint32_t>(h) << 16); }

struct ToBf16 {
  const float* x;
  uint16_t* y;
  int64_t n, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t i1 = min64(s * per + per, n);
    for (int64_t i = s * per; i < i1; ++i) y[i] = f32_to_bf16(x[i]);
  }
};
struct ToF32 {
  const uint16_t* x;
  float* y;
  int64_t n, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t i1 = min64(s * per + per, n);
    for (int64_t i = s * per; i < i1; ++i) y[i] = bf16_to_f32(x[i]);
  }
};

// y[n, e] = bf16(x[n, e] - mean[e]) for x seen as rows [N, cols]: the batch-centred copy that
// --precision bf16 convolutions and linear layers read (engine/ops.cpp says why).
struct CentredToBf16 {
  const float* x;
  const float* mean;
  uint16_t* y;
  int64_t cols, per;  // per: a whole row on the CPU, one item on CUDA (row_spans)
  LPL_HD void operator()(int64_t s) const {
    const int64_t i0 = s * per, e0 = divmod(i0, cols).r;
    for (int64_t k = 0; k < per; ++k) y[i0 + k] = f32_to_bf16(x[i0 + k] - mean[e0 + k]);
  }
};

template <class L>
Tensor to_bf16(const L& launch, const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.device(), DType::BF16);
  const Span sp = flat_spans<L>(x.numel());
  launch(x.device(), sp.count, ToBf16{x.f(), y.data<uint16_t>(), x.numel(), sp.per});
  return y;
}
// mean holds x.numel() / x.dim(0) values: one per item of a batch row.
template <class L>
Tensor to_bf16_centred(const L& launch, const Tensor& x, const Tensor& mean) {
  Tensor y = Tensor::empty(x.shape(), x.device(), DType::BF16);
  const int64_t cols = mean.numel();
  const Span sp = row_spans<L>(x.numel() / cols, cols);
  launch(x.device(), sp.count, CentredToBf16{x.f(), mean.f(), y.data<uint16_t>(), cols, sp.per});
  return y;
}
template <class L>
Tensor to_f32(const L& launch, const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  const Span sp = flat_spans<L>(x.numel());
  launch(x.device(), sp.count, ToF32{x.data<uint16_t>(), y.f(), x.numel(), sp.per});
  return y;
}

}  // namespace lpl::kern
