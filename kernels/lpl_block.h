// The layer-local backward of one VGG block (spec §2), written once for both backends: the
// learning signal dL/dz is carried through the global average pool (1/(H W) to every position),
// the 2x2 max-pool (to each window's arg-max) and the ReLU mask to the conv output in one pass.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/tensor.h"
#include "kernels/span.h"

namespace lpl::kern {

// Span s covers items [s per, s per + per) of one row (n, c, h) of the conv output: on CUDA one
// item, on the CPU the whole row (one division per row instead of two per item).
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
  int64_t per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t i0 = s * per;
    const DivMod rw = divmod(i0, W), nh = divmod(rw.q, H);
    const int64_t nc = nh.q, h = nh.r, row = i0 - rw.r, w0 = rw.r;
    const float gp = pooled ? g[nc] * inv_area : 0.f;
    // Branch-free selects: which positions pass the ReLU and win their window is data, and a
    // mispredicted branch per element costs more on the CPU than the loads it would save.
    if (!argmax) {
      for (int64_t w = w0; w < w0 + per; ++w) {
        const float v = pooled ? gp : g[row + w];
        delta[row + w] = keep_if(a[row + w] > 0.f, v);
      }
      return;
    }
    // Rows and columns past the pooled extent (odd H or W: the pool drops them) get no gradient; the
    // clamped index keeps their loads in bounds.
    const int64_t ph = h / 2, phc = ph < PH ? ph : PH - 1;
    const int64_t base = nc * PH * PW + phc * PW;
    const int32_t hW = static_cast<int32_t>(h * W);
    if (per == W && ph < PH) {
      // A whole row (the CPU): the two columns of each window share its arg-max and gradient.
      const float* __restrict__ ar = a + row;
      float* __restrict__ dr = delta + row;
      const int32_t* __restrict__ am = argmax + base;
      const float* __restrict__ gr = pooled ? g : g + base;  // read only when not pooled
      for (int64_t pw = 0; pw < PW; ++pw) {
        const float v = pooled ? gp : gr[pw];
        const int32_t left = hW + static_cast<int32_t>(2 * pw), win = am[pw];
        dr[2 * pw] = keep_if((ar[2 * pw] > 0.f) & (win == left), v);
        dr[2 * pw + 1] = keep_if((ar[2 * pw + 1] > 0.f) & (win == left + 1), v);
      }
      for (int64_t w = 2 * PW; w < W; ++w) dr[w] = 0.f;  // odd W: the pool drops the last column
      return;
    }
    for (int64_t w = w0; w < w0 + per; ++w) {
      const int64_t pw = w / 2, pwc = pw < PW ? pw : PW - 1;
      const int64_t j = base + pwc;
      const float v = pooled ? gp : g[j];
      const bool hit = (a[row + w] > 0.f) & (ph < PH) & (pw < PW) & (argmax[j] == hW + static_cast<int32_t>(w));
      delta[row + w] = keep_if(hit, v);
    }
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
  const Span sp = row_spans<L>(a.dim(0) * a.dim(1) * H, W);
  launch(a.device(), sp.count,
         LplBlockDelta{g.f(), a.f(), argmax.defined() ? argmax.data<int32_t>() : nullptr, delta.f(), H, W, PH,
                       PW, pooled, 1.0f / static_cast<float>(PH * PW), sp.per});
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
