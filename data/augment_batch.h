// Whole views from ViewParams: the CPU loop over one image (augment_cpu.cpp) and the CUDA kernels
// over a batch (augment_cuda.cu). Both run the per-pixel functions of data/augment.h.
#pragma once
#include <cstdint>

#include "data/augment.h"
#include "engine/device.h"

namespace lpl::data {

struct NormF {
  float mean[3], inv_std[3];
};

// Scratch floats augment_view_cpu needs for an S x S view.
inline int64_t augment_scratch_floats(int S) { return 6 * static_cast<int64_t>(S) * S; }

// One view of the uint8 image `img` (C x H x W, C = 1 or 3) into out (3 x S x S, normalised).
void augment_view_cpu(const uint8_t* img, int C, int H, int W, const ViewParams& p, int S, const NormF& norm,
                      float* out, float* scratch);

// B views on a CUDA device: view b is of image idx[b] of `images` (N x C x H x W uint8, on the
// device) with params[b] (on the device); out is B x 3 x S x S; scratch holds
// 6 * B * S * S + B floats. Queued on the device's stream.
void augment_views_cuda(Device d, const uint8_t* images, int C, int H, int W, const int64_t* idx,
                        const ViewParams* params, int64_t B, int S, const NormF& norm, float* out, float* scratch);

// The same B views through the GPU's per-element steps (data/augment_steps.h) on the CPU, with host
// pointers: what the CPU tests run to execute the CUDA kernels' arithmetic.
void augment_views_steps_cpu(const uint8_t* images, int C, int H, int W, const int64_t* idx, const ViewParams* params,
                             int64_t B, int S, const NormF& norm, float* out, float* scratch);

}  // namespace lpl::data
