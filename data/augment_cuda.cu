// The GPU path of the augmentation: the per-pixel functions of data/augment.h as CUDA kernels over
// a batch of views (sample -> grayscale mean per view -> finish -> blur rows -> blur columns +
// normalise). The uint8 images stay on the device; only the view parameters travel per batch.
#include "data/augment_batch.h"
#include "kernels/launch_cuda.cuh"

namespace lpl::data {

namespace {

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

// One block per view: the mean of the grayscale image after step 1 (needed by contrast).
__global__ void gray_mean_kernel(const float* stage, int64_t P, float* means) {
  const int64_t b = blockIdx.x;
  const float* s = stage + b * 3 * P;
  float acc = 0.f;
  for (int64_t i = threadIdx.x; i < P; i += blockDim.x) acc += gray_of(s[i], s[P + i], s[2 * P + i]);
  __shared__ float red[256];
  red[threadIdx.x] = acc;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k /= 2) {
    if (static_cast<int>(threadIdx.x) < k) red[threadIdx.x] += red[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) means[b] = red[0] / static_cast<float>(P);
}

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

}  // namespace

void augment_views_cuda(Device d, const uint8_t* images, int C, int H, int W, const int64_t* idx,
                        const ViewParams* params, int64_t B, int S, const NormF& norm, float* out, float* scratch) {
  if (B <= 0) return;
  const int64_t P = static_cast<int64_t>(S) * S;
  float* stage = scratch;
  float* tmp = scratch + 3 * B * P;
  float* means = scratch + 6 * B * P;
  CudaLaunch launch;
  launch(d, B * P, SampleStep{images, idx, params, C, H, W, S, stage});
  gray_mean_kernel<<<static_cast<unsigned>(B), 256, 0, stream(d)>>>(stage, P, means);
  LPL_CUDA_CHECK(cudaGetLastError());
  launch(d, B * P, FinishStep{params, means, S, stage});
  launch(d, B * 3 * P, BlurStep{params, S, 1, norm, stage, tmp});
  launch(d, B * 3 * P, BlurStep{params, S, 0, norm, tmp, out});
}

}  // namespace lpl::data
