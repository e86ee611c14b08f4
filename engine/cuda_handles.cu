#include "engine/cuda_handles.h"

#include <mutex>

#include "engine/ops.h"
#include "engine/stream.h"
#include "engine/tensor.h"

namespace lpl {

namespace {
constexpr int kMaxDevices = 16;
}

cublasHandle_t cublas_handle(Device d) {
  static cublasHandle_t h[kMaxDevices] = {};
  static std::once_flag once[kMaxDevices];
  std::call_once(once[d.index], [&] {
    set_current_device(d.index);
    LPL_CUBLAS_CHECK(cublasCreate(&h[d.index]));
    LPL_CUBLAS_CHECK(cublasSetStream(h[d.index], stream(d)));
  });
  // Full float32 unless TF32 is allowed explicitly (set_allow_tf32; the original computes in fp32).
  // The default math mode already excludes TF32 for float32 (CUBLAS_PEDANTIC_MATH would also rule out
  // faster exact kernels).
  static int mode[kMaxDevices] = {};  // 0 unset, 1 fp32, 2 tf32
  const int want = allow_tf32() ? 2 : 1;
  if (mode[d.index] != want) {
    LPL_CUBLAS_CHECK(cublasSetMathMode(h[d.index], want == 2 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    mode[d.index] = want;
  }
  return h[d.index];
}

cudnnHandle_t cudnn_handle(Device d) {
  static cudnnHandle_t h[kMaxDevices] = {};
  static std::once_flag once[kMaxDevices];
  std::call_once(once[d.index], [&] {
    set_current_device(d.index);
    LPL_CUDNN_CHECK(cudnnCreate(&h[d.index]));
    LPL_CUDNN_CHECK(cudnnSetStream(h[d.index], stream(d)));
  });
  return h[d.index];
}

void* cuda_workspace(Device d, size_t bytes) {
  static Tensor ws[kMaxDevices];
  if (!ws[d.index].defined() || ws[d.index].nbytes() < bytes)
    ws[d.index] = Tensor::empty(Shape{static_cast<int64_t>(bytes) + 256}, d, DType::U8);
  return ws[d.index].data<void>();
}

}  // namespace lpl
