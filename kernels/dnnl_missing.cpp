// Builds without oneDNN (the GPU-check configuration) have no CPU convolution; GEMM falls back
// to plain loops (kernels/gemm_naive.cpp).
#if !LPL_HAVE_DNNL
#include "kernels/backend.h"

namespace lpl::cpu_backend {
// (gemm: kernels/gemm_naive.cpp)
}  // namespace lpl::cpu_backend
#endif
