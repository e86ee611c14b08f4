// Error checks for CUDA runtime, cuBLAS and cuDNN calls (CUDA builds only).
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "engine/common.h"

namespace lpl {
[[noreturn]] void cuda_fail(const char* what, const char* msg, const char* file, int line);
}

#define LPL_CUDA_CHECK(expr)                                                        \
  do {                                                                              \
    cudaError_t e_ = (expr);                                                        \
    if (e_ != cudaSuccess) ::lpl::cuda_fail(#expr, cudaGetErrorString(e_), __FILE__, __LINE__); \
  } while (0)
