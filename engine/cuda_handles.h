// cuBLAS and cuDNN handles, one per device, bound to the device's compute stream.
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include "engine/cuda_check.h"
#include "engine/device.h"

namespace lpl {
cublasHandle_t cublas_handle(Device d);
cudnnHandle_t cudnn_handle(Device d);
// Scratch memory for cuDNN/cuBLAS workspaces (grown on demand, kept between calls).
void* cuda_workspace(Device d, size_t bytes);
}  // namespace lpl

#define LPL_CUBLAS_CHECK(expr)                                                                   \
  do {                                                                                           \
    cublasStatus_t s_ = (expr);                                                                  \
    if (s_ != CUBLAS_STATUS_SUCCESS) ::lpl::cuda_fail(#expr, cublasGetStatusString(s_), __FILE__, __LINE__); \
  } while (0)
#define LPL_CUDNN_CHECK(expr)                                                                    \
  do {                                                                                           \
    cudnnStatus_t s_ = (expr);                                                                   \
    if (s_ != CUDNN_STATUS_SUCCESS) ::lpl::cuda_fail(#expr, cudnnGetErrorString(s_), __FILE__, __LINE__); \
  } while (0)
