// Builds without oneDNN (the GPU-check configuration) have no CPU convolution; GEMM falls back
// to plain loops (kernels/gemm_naive.cpp).
#if !LPL_HAVE_DNNL
#include "kernels/backend.h"

namespace lpl::cpu_backend {
Tensor conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&) {
  fail("conv2d_forward on the CPU: this build has no oneDNN (CUDA-only configuration)");
}
void conv2d_backward_filter(const Tensor&, const Tensor&, Tensor&, Tensor*, const Conv2dParams&, bool) {
  fail("conv2d_backward_filter on the CPU: this build has no oneDNN (CUDA-only configuration)");
}
Tensor conv2d_backward_data(const Tensor&, const Tensor&, const Shape&, const Conv2dParams&) {
  fail("conv2d_backward_data on the CPU: this build has no oneDNN (CUDA-only configuration)");
}
}  // namespace lpl::cpu_backend
#endif
