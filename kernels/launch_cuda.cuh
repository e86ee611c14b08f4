// How a per-element functor runs on a CUDA device: a grid-stride loop on the device's stream; and
// how segmented sums (kernels/segments.h) run: block reductions without atomics.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "engine/cuda_check.h"
#include "engine/device.h"
#include "engine/stream.h"
#include "kernels/segments.h"

namespace lpl {

constexpr int64_t kMaxBlocks = 65535LL * 8;

// I: the loop's index type, int32_t whenever the loop cannot overflow it (cheaper address maths).
template <class I, class F>
__global__ void for_each_kernel(I n, F f) {
  for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < n; i += static_cast<I>(gridDim.x) * blockDim.x)
    f(i);
}

__device__ inline double shfl_down(double v, int o) { return __shfl_down_sync(0xffffffffu, v, o); }
__device__ inline kern::Double2 shfl_down(kern::Double2 v, int o) { return {shfl_down(v.a, o), shfl_down(v.b, o)}; }

// The sum of the block's values (blockDim.x a multiple of 32) in thread 0, in a fixed order:
// shuffles within each warp, then the warps' sums by the first warp.
template <class V>
__device__ V block_sum(V v, V* warp_part) {
  for (int o = 16; o > 0; o >>= 1) v = v + shfl_down(v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_part[warp] = v;
  __syncthreads();
  v = V{};
  if (warp == 0) {
    if (lane < static_cast<int>(blockDim.x >> 5)) v = warp_part[lane];
    for (int o = 16; o > 0; o >>= 1) v = v + shfl_down(v, o);
  }
  __syncthreads();  // warp_part is reused by the next segment
  return v;
}

template <class F>
using TermOf = std::decay_t<decltype(std::declval<const F&>().term(0, 0))>;

// Layout rows: one block per segment, its threads stride k (adjacent threads read adjacent terms).
template <class F>
__global__ void sum_rows_kernel(int64_t segments, int64_t len, F f) {
  using V = TermOf<F>;
  __shared__ V warp_part[32];
  for (int64_t seg = blockIdx.x; seg < segments; seg += gridDim.x) {
    V v{};
    for (int64_t k = threadIdx.x; k < len; k += blockDim.x) v = v + f.term(seg, k);
    v = block_sum(v, warp_part);
    if (threadIdx.x == 0) f.finish(seg, v);
  }
}

// Layout columns: a block holds 32 adjacent segments (threadIdx.x), its blockDim.y rows of threads
// stride k; the rows' sums are added in a fixed tree in shared memory.
constexpr int kColumnRows = 16;
template <class F>
__global__ void sum_columns_kernel(int64_t segments, int64_t len, F f) {
  using V = TermOf<F>;
  __shared__ V part[kColumnRows][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t tile = blockIdx.x; tile * 32 < segments; tile += gridDim.x) {
    const int64_t seg = tile * 32 + tx;
    V v{};
    if (seg < segments)
      for (int64_t k = ty; k < len; k += blockDim.y) v = v + f.term(seg, k);
    part[ty][tx] = v;
    __syncthreads();
    for (int h = static_cast<int>(blockDim.y) / 2; h > 0; h >>= 1) {
      if (ty < h) part[ty][tx] = part[ty][tx] + part[ty + h][tx];
      __syncthreads();
    }
    if (ty == 0 && seg < segments) f.finish(seg, part[0][tx]);
    __syncthreads();
  }
}

struct CudaLaunch {
  static constexpr bool is_cuda = true;
  template <class F>
  void operator()(Device d, int64_t n, const F& f) const {
    if (n <= 0) return;
    constexpr int kThreads = 256;
    int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks);
    if (n + blocks * kThreads <= INT32_MAX)
      for_each_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream(d)>>>(static_cast<int32_t>(n), f);
    else
      for_each_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream(d)>>>(n, f);
    LPL_CUDA_CHECK(cudaGetLastError());
  }

  template <class F>
  void sum(Device d, kern::Segments s, const F& f) const {
    if (s.segments <= 0) return;
    if (s.layout == kern::SegLayout::rows) {
      // 256 threads for long segments; short ones get the multiple of 32 that covers them.
      const int threads = s.len >= 256 ? 256 : static_cast<int>(std::max<int64_t>(32, (s.len + 31) / 32 * 32));
      const int64_t blocks = std::min<int64_t>(s.segments, kMaxBlocks);
      sum_rows_kernel<<<static_cast<unsigned>(blocks), threads, 0, stream(d)>>>(s.segments, s.len, f);
    } else {
      int rows = 1;
      while (rows < kColumnRows && rows < s.len) rows <<= 1;
      const int64_t blocks = std::min<int64_t>((s.segments + 31) / 32, kMaxBlocks);
      sum_columns_kernel<<<static_cast<unsigned>(blocks), dim3(32, static_cast<unsigned>(rows)), 0, stream(d)>>>(
          s.segments, s.len, f);
    }
    LPL_CUDA_CHECK(cudaGetLastError());
  }
};

}  // namespace lpl
