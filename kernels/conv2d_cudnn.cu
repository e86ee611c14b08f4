// CUDA convolution through cuDNN's convolution API (NCHW float32 in and out, no layout changes).
// cuDNN 9 marks this legacy API deprecated (warnings appear with -DCUDNN_WARN_DEPRECATED); its calls
// are confined to this file, which silences only that warning (it compiles cleanly with that
// define and warnings as errors). Descriptors and the algorithm
// choice are made once per shape and math mode: the first call asks cuDNN which algorithms work
// (cudnnFind) and keeps the first deterministic one of a fixed preference order (Plan::choose), so
// repeated runs and other processes give identical results. Math is full float32 (CUDNN_FMA_MATH)
// unless set_allow_tf32(true). With --precision bf16 the tensors cuDNN sees are bfloat16 copies
// (kernels/convert.h) on the tensor cores, with float32 accumulation; the results are converted back
// to float32 (a weight gradient thus carries bf16 rounding, as under PyTorch's autocast).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "engine/cuda_handles.h"
#include "engine/stream.h"
#include "kernels/backend.h"
#include "kernels/bias.h"
#include "kernels/convert.h"
#include "kernels/launch_cuda.cuh"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace lpl::cuda_backend {
namespace {

// Scratch memory cuDNN may use while benchmarking algorithms (the chosen one usually needs far less).
constexpr size_t kMaxWorkspace = size_t{1} << 30;

enum Pass { kForward = 0, kBackwardFilter = 1, kBackwardData = 2 };

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
  size_t workspace = 0;
  bool chosen = false;
  bool bf16 = false;
  // bf16 only: cuDNN has no bf16 algorithm for this shape; the convolution runs in float32.
  bool unsupported = false;
  // tensor_ops: TF32 or bf16 (both run on the tensor cores); bf16: the tensors are bfloat16.
  Plan(const Shape& xs, const Shape& ws, const Shape& ys, const Conv2dParams& p, bool tensor_ops, bool bf16_)
      : bf16(bf16_) {
    LPL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    LPL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    LPL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    LPL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    auto i = [](int64_t v) { return static_cast<int>(v); };
    const cudnnDataType_t t = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    LPL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, i(xs[0]), i(xs[1]), i(xs[2]), i(xs[3])));
    LPL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, i(ys[0]), i(ys[1]), i(ys[2]), i(ys[3])));
    LPL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, i(ws[0]), i(ws[1]), i(ws[2]), i(ws[3])));
    LPL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, p.pad_h, p.pad_w, p.stride_h, p.stride_w, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    LPL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, tensor_ops ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  }
  ~Plan() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // Picks an algorithm from cuDNN's results (status, determinism, math type, memory). By default the
  // first successful deterministic one in a fixed preference order: the choice then does not depend on
  // measured times, so two processes on the same GPU pick the same algorithm and give the same bits.
  // LPL_CUDNN_BENCHMARK=1 takes the fastest deterministic one instead (like cudnn.benchmark; processes
  // may then differ). Without TF32 or bf16 it never takes a tensor-op algorithm; with them the chosen
  // algorithm's math type is applied to the descriptor (as PyTorch does). No deterministic algorithm:
  // the fastest successful one, with a warning.
  // A bf16 plan that cuDNN cannot serve (no algorithm, or the search itself refused): the caller runs
  // the float32 convolution instead, with one warning per shape.
  void mark_unsupported(const char* op) {
    std::fprintf(stderr, "warning: %s: cuDNN has no bf16 algorithm for this shape; it runs in float32\n", op);
    unsupported = chosen = true;
  }
  // The status of an algorithm search: true to go on choosing; false when a bf16 plan was refused.
  bool searched(cudnnStatus_t st, const char* op) {
    if (st == CUDNN_STATUS_SUCCESS) return true;
    if (bf16) {
      mark_unsupported(op);
      return false;
    }
    LPL_CUDNN_CHECK(st);
    return false;
  }

  template <class Perf, class Algo, size_t N>
  void choose(const Perf* perf, int n, bool tensor_ops, const char* op, const std::array<Algo, N>& order) {
    auto usable = [&](const Perf& q, bool deterministic) {
      if (q.status != CUDNN_STATUS_SUCCESS) return false;
      if (!tensor_ops && (q.mathType == CUDNN_TENSOR_OP_MATH || q.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
        return false;
      return !deterministic || q.determinism == CUDNN_DETERMINISTIC;
    };
    static const bool by_time = [] {
      const char* e = std::getenv("LPL_CUDNN_BENCHMARK");
      return e && e[0] == '1';
    }();
    int best = -1;
    if (!by_time)
      for (size_t o = 0; o < N && best < 0; ++o)
        for (int k = 0; k < n && best < 0; ++k)
          if (perf[k].algo == order[o] && usable(perf[k], true)) best = k;
    for (int k = 0; k < n && best < 0; ++k)  // results come sorted by time
      if (usable(perf[k], true)) best = k;
    if (best < 0) {
      for (int k = 0; k < n && best < 0; ++k)
        if (usable(perf[k], false)) best = k;
      if (best >= 0)
        std::fprintf(stderr, "warning: %s: cuDNN has no deterministic algorithm for this shape; using algorithm %d "
                     "(results may differ in the last bits from run to run)\n", op, static_cast<int>(perf[best].algo));
    }
    if (best < 0 && bf16) {
      mark_unsupported(op);
      return;
    }
    LPL_CHECK(best >= 0, strf("%s: cuDNN found no usable algorithm for this shape", op));
    algo = static_cast<int>(perf[best].algo);
    workspace = perf[best].memory;
    if (tensor_ops) LPL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, perf[best].mathType));
    chosen = true;
  }
};

// Fixed preference orders (usually fast first; deterministic ones only are taken from them).
constexpr std::array<cudnnConvolutionFwdAlgo_t, 8> kFwdOrder{
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED,     CUDNN_CONVOLUTION_FWD_ALGO_GEMM,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,            CUDNN_CONVOLUTION_FWD_ALGO_FFT,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,              CUDNN_CONVOLUTION_FWD_ALGO_DIRECT};
constexpr std::array<cudnnConvolutionBwdFilterAlgo_t, 6> kBwdFilterOrder{
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED,
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT,
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3};
constexpr std::array<cudnnConvolutionBwdDataAlgo_t, 6> kBwdDataOrder{
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED,
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0};

using Key = std::array<int64_t, 15>;
Key make_key(Pass pass, Device d, const Shape& x, const Shape& w, const Conv2dParams& p, bool tf32, bool bf16) {
  return {pass, d.index, x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.stride_h, p.stride_w, p.pad_h, p.pad_w,
          tf32 ? 1 : 0, bf16 ? 1 : 0};
}

std::mutex g_mu;
std::map<Key, std::unique_ptr<Plan>>& plans() {
  static std::map<Key, std::unique_ptr<Plan>> m;
  return m;
}

Shape out_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  return Shape{x[0], w[0], (x[2] + 2 * p.pad_h - w[2]) / p.stride_h + 1, (x[3] + 2 * p.pad_w - w[3]) / p.stride_w + 1};
}

bool bf16_mode() { return precision() == Precision::bf16; }

Plan& plan_for(Pass pass, Device d, const Shape& x, const Shape& w, const Conv2dParams& p, bool bf16) {
  const bool tf32 = allow_tf32();
  auto& m = plans();
  Key k = make_key(pass, d, x, w, p, tf32, bf16);
  auto it = m.find(k);
  if (it != m.end()) return *it->second;
  return *m.emplace(k, std::make_unique<Plan>(x, w, out_shape(x, w, p), p, tf32 || bf16, bf16)).first->second;
}

// What cuDNN reads: the tensor itself (float32, or a bf16 forward's input that engine/ops.cpp hands
// over centred and already bfloat16), or its bfloat16 copy with --precision bf16.
Tensor operand(const Tensor& t, bool bf16) {
  return bf16 && t.dtype() != DType::BF16 ? kern::to_bf16(CudaLaunch{}, t) : t;
}
// An output buffer of cuDNN's data type.
Tensor output_buffer(const Shape& s, Device d, bool bf16) { return Tensor::empty(s, d, bf16 ? DType::BF16 : DType::F32); }

// Algorithms are benchmarked with up to kMaxWorkspace bytes of scratch (less when the GPU is short),
// taken from the caching allocator for the benchmark only (the kept workspace is the chosen one's).
Tensor benchmark_workspace(Device d) {
  size_t free_b = 0, total_b = 0;
  LPL_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return Tensor::empty(Shape{static_cast<int64_t>(std::min(kMaxWorkspace, free_b / 4))}, d, DType::U8);
}

constexpr int kMaxAlgos = 16;

// The three passes, in float32 or (bf16) on bfloat16 copies. A bf16 shape that cuDNN cannot serve
// jumps to `fp32:` (after the lock is released) and runs in float32.
Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p, bool bf16) {
  const Device d = x.device();
  Tensor yo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Plan& pl = plan_for(kForward, d, x.shape(), w.shape(), p, bf16);
    if (pl.unsupported) goto fp32;
    {
      cudnnHandle_t h = cudnn_handle(d);
      const Tensor xo = operand(x, bf16), wo = operand(w, bf16);
      yo = output_buffer(out_shape(x.shape(), w.shape(), p), d, bf16);
      if (!pl.chosen) {
        Tensor ws = benchmark_workspace(d);
        cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
        int n = 0;
        if (pl.searched(cudnnFindConvolutionForwardAlgorithmEx(h, pl.x, xo.data<void>(), pl.w, wo.data<void>(), pl.conv,
                                                               pl.y, yo.data<void>(), kMaxAlgos, &n, perf,
                                                               ws.data<void>(), ws.nbytes()),
                        "conv2d_forward"))
          pl.choose(perf, n, allow_tf32() || bf16, "conv2d_forward", kFwdOrder);
        if (pl.unsupported) goto fp32;
      }
      const float one = 1.f, zero = 0.f;
      LPL_CUDNN_CHECK(cudnnConvolutionForward(h, &one, pl.x, xo.data<void>(), pl.w, wo.data<void>(), pl.conv,
                                              static_cast<cudnnConvolutionFwdAlgo_t>(pl.algo),
                                              cuda_workspace(d, pl.workspace), pl.workspace, &zero, pl.y,
                                              yo.data<void>()));
    }
  }
  {
    Tensor y = bf16 ? kern::to_f32(CudaLaunch{}, yo) : yo;
    if (b.defined()) kern::add_channel_bias(CudaLaunch{}, y, b);
    return y;
  }
fp32:
  return forward(x.dtype() == DType::BF16 ? kern::to_f32(CudaLaunch{}, x) : x, w, b, p, false);
}

void backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                     bool accumulate, bool bf16) {
  const Device d = x.device();
  Tensor dwo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Plan& pl = plan_for(kBackwardFilter, d, x.shape(), dw.shape(), p, bf16);
    if (pl.unsupported) goto fp32;
    {
      cudnnHandle_t h = cudnn_handle(d);
      const Tensor xo = operand(x, bf16), dyo = operand(dy, bf16);
      // bf16: cuDNN writes a bfloat16 dW, converted (and added) into the caller's float32 one below.
      dwo = bf16 ? output_buffer(dw.shape(), d, true) : dw;
      if (!pl.chosen) {
        // Benchmark into a scratch dW: the caller's may hold gradients to accumulate into.
        Tensor scratch = output_buffer(dw.shape(), d, bf16);
        Tensor ws = benchmark_workspace(d);
        cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
        int n = 0;
        if (pl.searched(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, pl.x, xo.data<void>(), pl.y, dyo.data<void>(),
                                                                      pl.conv, pl.w, scratch.data<void>(), kMaxAlgos,
                                                                      &n, perf, ws.data<void>(), ws.nbytes()),
                        "conv2d_backward_filter"))
          pl.choose(perf, n, allow_tf32() || bf16, "conv2d_backward_filter", kBwdFilterOrder);
        if (pl.unsupported) goto fp32;
      }
      const float one = 1.f, beta = accumulate && !bf16 ? 1.f : 0.f;
      LPL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, pl.x, xo.data<void>(), pl.y, dyo.data<void>(), pl.conv,
                                                     static_cast<cudnnConvolutionBwdFilterAlgo_t>(pl.algo),
                                                     cuda_workspace(d, pl.workspace), pl.workspace, &beta, pl.w,
                                                     dwo.data<void>()));
    }
  }
  if (bf16) {
    if (accumulate) {
      cuda_backend::axpy(1.f, kern::to_f32(CudaLaunch{}, dwo), dw);
    } else {
      const kern::Span sp = kern::flat_spans<CudaLaunch>(dw.numel());
      CudaLaunch{}(d, sp.count, kern::ToF32{dwo.data<uint16_t>(), dw.f(), dw.numel(), sp.per});
    }
  }
  if (db) kern::bias_backward(CudaLaunch{}, dy, *db, accumulate);
  return;
fp32:
  backward_filter(x.dtype() == DType::BF16 ? kern::to_f32(CudaLaunch{}, x) : x, dy, dw, db, p, accumulate, false);
}

Tensor backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p, bool bf16) {
  const Device d = dy.device();
  Tensor dxo;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    Plan& pl = plan_for(kBackwardData, d, x_shape, w.shape(), p, bf16);
    if (pl.unsupported) goto fp32;
    {
      cudnnHandle_t h = cudnn_handle(d);
      const Tensor dyo = operand(dy, bf16), wo = operand(w, bf16);
      dxo = output_buffer(x_shape, d, bf16);
      if (!pl.chosen) {
        Tensor ws = benchmark_workspace(d);
        cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
        int n = 0;
        if (pl.searched(cudnnFindConvolutionBackwardDataAlgorithmEx(h, pl.w, wo.data<void>(), pl.y, dyo.data<void>(),
                                                                    pl.conv, pl.x, dxo.data<void>(), kMaxAlgos, &n,
                                                                    perf, ws.data<void>(), ws.nbytes()),
                        "conv2d_backward_data"))
          pl.choose(perf, n, allow_tf32() || bf16, "conv2d_backward_data", kBwdDataOrder);
        if (pl.unsupported) goto fp32;
      }
      const float one = 1.f, zero = 0.f;
      LPL_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, pl.w, wo.data<void>(), pl.y, dyo.data<void>(), pl.conv,
                                                   static_cast<cudnnConvolutionBwdDataAlgo_t>(pl.algo),
                                                   cuda_workspace(d, pl.workspace), pl.workspace, &zero, pl.x,
                                                   dxo.data<void>()));
    }
  }
  return bf16 ? kern::to_f32(CudaLaunch{}, dxo) : dxo;
fp32:
  return backward_data(dy, w, x_shape, p, false);
}

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  return forward(x, w, b, p, x.dtype() == DType::BF16);
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                            bool accumulate) {
  backward_filter(x, dy, dw, db, p, accumulate, x.dtype() == DType::BF16);
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  return backward_data(dy, w, x_shape, p, bf16_mode());
}

}  // namespace lpl::cuda_backend

#pragma GCC diagnostic pop
