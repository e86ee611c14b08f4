// The layer-local backward of one VGG block (spec §2), written once for both backends: the
// learning signal dL/dz is carried through the global average pool (1/(H W) to every position),
// the 2x2 max-pool (to each window's arg-max) and the ReLU mask to the conv output in one pass.
#pragma once
#include <cstdint>

#include "engine/common.h"
#include "engine/tensor.h"

namespace lpl::kern {

struct LplBlockDelta {
  const float* g;         // pooled: [N, C]; else the block output's shape [N, C, PH, PW]
  const float* a;         // ReLU output [N, C, H, W]
  const int32_t* argmax;  // [N, C, PH, PW] flat h W + w of each window's maximum, or null (no pool)
  float* delta;           // [N, C, H, W]
  int64_t H, W, PH, PW;
  bool pooled;
  float inv_area;  // 1 / (PH PW): the global average pool's factor
  LPL_HD void operator()(int64_t i) const {
    const int64_t w = i % W, h = (i / W) % H, nc = i / (H * W);
    float out = 0.f;
    if (a[i] > 0.f) {
      if (argmax) {
        const int64_t ph = h / 2, pw = w / 2;
        if (ph < PH && pw < PW) {
          const int64_t j = nc * PH * PW + ph * PW + pw;
          if (argmax[j] == static_cast<int32_t>(h * W + w)) out = pooled ? g[nc] * inv_area : g[j];
        }
      } else {
        out = pooled ? g[nc] * inv_area : g[i];
      }
    }
    delta[i] = out;
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
    if (!(y[i] > 0.f)) d[i] = 0.f;
  }
};

template <class L>
Tensor lpl_block_delta(const L& launch, const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled) {
  const int64_t H = a.dim(2), W = a.dim(3);
  const int64_t PH = argmax.defined() ? argmax.dim(2) : H, PW = argmax.defined() ? argmax.dim(3) : W;
  Tensor delta = Tensor::empty(a.shape(), a.device());
  launch(a.device(), a.numel(),
         LplBlockDelta{g.f(), a.f(), argmax.defined() ? argmax.data<int32_t>() : nullptr, delta.f(), H, W, PH,
                       PW, pooled, 1.0f / static_cast<float>(PH * PW)});
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
