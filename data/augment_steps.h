// The batched augmentation as per-element steps (sample -> grayscale mean per view -> finish ->
// blur rows -> blur columns + normalise), written once over the launcher: augment_cuda.cu runs
// them as CUDA grids, augment_steps_cpu.cpp as CPU loops, so the CPU tests execute the GPU's
// arithmetic (and compare it with the fused CPU loop of augment_cpu.cpp).
#pragma once
#include <cstdint>

#include "data/augment_batch.h"

namespace lpl::data::steps {

struct SampleStep {
  const uint8_t* images;
  const int64_t* idx;
  const ViewParams* params;
  int C, H, W, S;
  float* stage;
  LPL_HD void operator()(int64_t i) const {
    const int64_t P = static_cast<int64_t>(S) * S, b = i / P, pix = i % P;
    const uint8_t* img = images + idx[b] * C * static_cast<int64_t>(H) * W;
    float rgb[3];
    sample_pixel(img, C, H, W, params[b], S, static_cast<int>(pix / S), static_cast<int>(pix % S), rgb);
    float* o = stage + b * 3 * P + pix;
    o[0] = rgb[0]; o[P] = rgb[1]; o[2 * P] = rgb[2];
  }
};

struct FinishStep {
  const ViewParams* params;
  const float* means;
  int S;
  float* stage;
  LPL_HD void operator()(int64_t i) const {
    const int64_t P = static_cast<int64_t>(S) * S, b = i / P, pix = i % P;
    float* o = stage + b * 3 * P + pix;
    float rgb[3] = {o[0], o[P], o[2 * P]};
    finish_pixel(params[b], means[b], rgb);
    o[0] = rgb[0]; o[P] = rgb[1]; o[2 * P] = rgb[2];
  }
};

// i runs over B x 3 planes x S x S; horizontal pass (src stage -> tmp), or vertical + normalise.
struct BlurStep {
  const ViewParams* params;
  int S, horizontal;
  NormF norm;
  const float* src;
  float* dst;
  LPL_HD void operator()(int64_t i) const {
    const int64_t P = static_cast<int64_t>(S) * S, plane = i / P, pix = i % P, b = plane / 3;
    const int c = static_cast<int>(plane % 3), y = static_cast<int>(pix / S), x = static_cast<int>(pix % S);
    const ViewParams& p = params[b];
    const float* s = src + plane * P;
    float v = p.blur_taps > 0 ? blur_at(s, S, p, y, x, horizontal) : s[pix];
    dst[i] = horizontal ? v : (v - norm.mean[c]) * norm.inv_std[c];
  }
};

// The whole batch; `gray_means(stage, P, means)` fills each view's grayscale mean after sampling
// (a block reduction on the GPU, a loop on the CPU). scratch: 6 * B * S * S + B floats.
template <class L, class MeanFn>
void augment_views(const L& launch, Device d, const uint8_t* images, int C, int H, int W, const int64_t* idx,
                   const ViewParams* params, int64_t B, int S, const NormF& norm, float* out, float* scratch,
                   const MeanFn& gray_means) {
  if (B <= 0) return;
  const int64_t P = static_cast<int64_t>(S) * S;
  float* stage = scratch;
  float* tmp = scratch + 3 * B * P;
  float* means = scratch + 6 * B * P;
  launch(d, B * P, SampleStep{images, idx, params, C, H, W, S, stage});
  gray_means(stage, B, P, means);
  launch(d, B * P, FinishStep{params, means, S, stage});
  launch(d, B * 3 * P, BlurStep{params, S, 1, norm, stage, tmp});
  launch(d, B * 3 * P, BlurStep{params, S, 0, norm, tmp, out});
}

}  // namespace lpl::data::steps
