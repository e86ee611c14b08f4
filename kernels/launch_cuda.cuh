// How a per-element functor runs on a CUDA device: a grid-stride loop on the device's stream.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "engine/cuda_check.h"
#include "engine/device.h"
#include "engine/stream.h"

namespace lpl {

template <class F>
__global__ void for_each_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    f(i);
}

struct CudaLaunch {
  static constexpr bool is_cuda = true;
  template <class F>
  void operator()(Device d, int64_t n, const F& f) const {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 65535LL * 8);
    for_each_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream(d)>>>(n, f);
    LPL_CUDA_CHECK(cudaGetLastError());
  }
};

}  // namespace lpl
