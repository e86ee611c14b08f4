// The GPU path of the augmentation: the steps of data/augment_steps.h as CUDA grids over a batch of
// views. The uint8 images stay on the device; only the view parameters travel per batch.
#include "data/augment_steps.h"
#include "kernels/launch_cuda.cuh"

namespace lpl::data {

namespace {
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
}  // namespace

void augment_views_cuda(Device d, const uint8_t* images, int C, int H, int W, const int64_t* idx,
                        const ViewParams* params, int64_t B, int S, const NormF& norm, float* out, float* scratch) {
  steps::augment_views(CudaLaunch{}, d, images, C, H, W, idx, params, B, S, norm, out, scratch,
                       [&](const float* stage, int64_t nb, int64_t P, float* means) {
                         gray_mean_kernel<<<static_cast<unsigned>(nb), 256, 0, stream(d)>>>(stage, P, means);
                         LPL_CUDA_CHECK(cudaGetLastError());
                       });
}

}  // namespace lpl::data
