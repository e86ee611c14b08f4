// Element-wise add and dropout, written once for both backends (see kernels/span.h for the split).
#pragma once
#include <cstdint>

#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/span.h"

namespace lpl::kern {

// y = a + b
struct AddFwd {
  const float* a;
  const float* b;
  float* y;
  int64_t n, per;
  LPL_HD void operator()(int64_t s) const {
    const float* __restrict__ as = a;
    const float* __restrict__ bs = b;
    float* __restrict__ ys = y;
    const int64_t i0 = s * per, i1 = min64(i0 + per, n);
    for (int64_t i = i0; i < i1; ++i) ys[i] = as[i] + bs[i];
  }
};

template <class L>
Tensor add(const L& launch, const Tensor& a, const Tensor& b) {
  Tensor y = Tensor::empty(a.shape(), a.device());
  const Span sp = flat_spans<L>(a.numel());
  launch(a.device(), sp.count, AddFwd{a.f(), b.f(), y.f(), a.numel(), sp.per});
  return y;
}

// Dropout: element i is kept when CounterRng{seed, stream}.uniform(i / 4, i % 4) >= p, and then
// y = x / (1 - p); otherwise y = 0. The same functor serves the backward (x = dy): the mask is a
// pure function of (seed, stream, i). Spans start at multiples of 4, so one Philox block serves
// four consecutive elements.
struct DropoutApply {
  const float* x;
  float* y;
  int64_t n, per;
  float p, keep;  // keep = 1 - p
  uint64_t seed, stream;
  LPL_HD void operator()(int64_t s) const {
    const CounterRng rng{seed, stream};
    const float* __restrict__ xs = x;
    float* __restrict__ ys = y;
    const int64_t i1 = min64(s * per + per, n);
    for (int64_t i = s * per; i < i1; i += 4) {
      const Philox4 r = rng.block(static_cast<uint64_t>(i) / 4);
      const int64_t e = min64(i + 4, i1);
      for (int64_t j = i; j < e; ++j)
        ys[j] = CounterRng::to_unit(r.v[j - i]) >= p ? xs[j] / keep : 0.f;
    }
  }
};

// Spans of a multiple of 4 elements: 4 per CUDA thread (one Philox block each), long runs on the CPU.
template <class L>
Span dropout_spans(int64_t n) {
  constexpr int64_t per = L::is_cuda ? 4 : 1024;
  return {per, (n + per - 1) / per};
}

template <class L>
Tensor dropout_apply(const L& launch, const Tensor& x, float p, uint64_t seed, uint64_t stream) {
  Tensor y = Tensor::empty(x.shape(), x.device());
  const Span sp = dropout_spans<L>(x.numel());
  launch(x.device(), sp.count, DropoutApply{x.f(), y.f(), x.numel(), sp.per, p, 1.f - p, seed, stream});
  return y;
}

}  // namespace lpl::kern
