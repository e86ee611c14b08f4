// The layer-local backward of one VGG block (spec §2), written once for both backends: the
// learning signal dL/dz is carried through the global average pool (1/(H W) to every position),
// the 2x2 max-pool (to each window's arg-max) and the ReLU mask to the conv output in one pass.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/tensor.h"
#include "kernels/span.h"

namespace lpl::kern {

// v where c holds, else +0: a bit mask, so the compiler cannot turn it into a branch.
LPL_HD inline float keep_if(bool c, float v) {
  return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, v) & (0u - static_cast<uint32_t>(c)));
}

struct LplBlockDelta {
  const float* g;         // pooled: [N, C]; else the block output's shape [N, C, PH, PW]
  const float* a;         // ReLU output [N, C, H, W]
  const int32_t* argmax;  // [N, C, PH, PW] flat h W + w of each window's maximum, or null (no pool)
  float* delta;           // [N, C, H, W]
  int64_t H, W, PH, PW;
  bool pooled;
  float inv_area;  // 1 / (PH PW): the global average pool's factor
  int64_t pairs;   // column pairs per row: (W + 1) / 2, the unit of the span space
  int64_t per;
  // Span s covers column pairs [p0, p0 + per) of one row (n, c, h): on CUDA one pair, on the CPU
  // the whole row. With a pool, the pair (2p, 2p + 1) is one window's two columns, sharing its
  // arg-max and gradient; rows and columns the pool drops (odd H or W) get no gradient.
  LPL_HD void operator()(int64_t s) const {
    const int64_t i0 = s * per;
    const DivMod rp = divmod(i0, pairs), nh = divmod(rp.q, H);
    const int64_t nc = nh.q, h = nh.r, row = rp.q * W, p1 = min64(rp.r + per, pairs);
    const float gp = pooled ? g[nc] * inv_area : 0.f;
    const float* __restrict__ ar = a + row;
    float* __restrict__ dr = delta + row;
    // Branch-free selects: which positions pass the ReLU and win their window is data, and a
    // mispredicted branch per element costs more on the CPU than the loads it would save.
    if (!argmax) {
      const float* __restrict__ gr = pooled ? g : g + row;  // read only when not pooled
      for (int64_t w = 2 * rp.r; w < min64(2 * p1, W); ++w) dr[w] = keep_if(ar[w] > 0.f, pooled ? gp : gr[w]);
      return;
    }
    // The 2x2 stride-2 pool covers rows < 2 PH and columns < 2 PW; the others (odd H or W) get no
    // gradient.
    const int64_t ph = h / 2, full = min64(p1, PW);  // pairs [rp.r, full) are windows' columns
    if (ph >= PH) {
      for (int64_t w = 2 * rp.r; w < min64(2 * p1, W); ++w) dr[w] = 0.f;
      return;
    }
    const int64_t base = nc * PH * PW + ph * PW;
    const int32_t* __restrict__ am = argmax + base;
    const float* __restrict__ gr = pooled ? g : g + base;  // read only when not pooled
    const int32_t hW = static_cast<int32_t>(h * W);
    for (int64_t p = rp.r; p < full; ++p) {
      const float v = pooled ? gp : gr[p];
      const int32_t left = hW + static_cast<int32_t>(2 * p), win = am[p];
      dr[2 * p] = keep_if((ar[2 * p] > 0.f) & (win == left), v);
      dr[2 * p + 1] = keep_if((ar[2 * p + 1] > 0.f) & (win == left + 1), v);
    }
    for (int64_t w = 2 * max64(full, rp.r); w < min64(2 * p1, W); ++w) dr[w] = 0.f;  // the dropped column
  }
};

struct LplReluInplace {
  float* y;
  LPL_HD void operator()(int64_t i) const { y[i] = y[i] > 0.f ? y[i] : 0.f; }
};

struct LplReluMask {
  float* d;
  const float* y;
  LPL_HD void operator()(int64_t i) const {
    d[i] = y[i] > 0.f ? d[i] : 0.f;
  }
};

template <class L>
Tensor lpl_block_delta(const L& launch, const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled) {
  const int64_t H = a.dim(2), W = a.dim(3);
  const int64_t PH = argmax.defined() ? argmax.dim(2) : H, PW = argmax.defined() ? argmax.dim(3) : W;
  Tensor delta = Tensor::empty(a.shape(), a.device());
  const int64_t pairs = (W + 1) / 2;
  const Span sp = row_spans<L>(a.dim(0) * a.dim(1) * H, pairs);
  launch(a.device(), sp.count,
         LplBlockDelta{g.f(), a.f(), argmax.defined() ? argmax.data<int32_t>() : nullptr, delta.f(), H, W, PH,
                       PW, pooled, 1.0f / static_cast<float>(PH * PW), pairs, sp.per});
  return delta;
}

template <class L>
void relu_inplace(const L& launch, Tensor& y) {
  launch(y.device(), y.numel(), LplReluInplace{y.f()});
}
template <class L>
void relu_mask_inplace(const L& launch, Tensor& d, const Tensor& y) {
  launch(d.device(), d.numel(), LplReluMask{d.f(), y.f()});
}

}  // namespace lpl::kern
