// cuda entry points of kernels/elementwise.h and kernels/convert.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/launch_cuda.cuh"

namespace lpl::cuda_backend {

Tensor add(const Tensor& a, const Tensor& b) { return kern::add(CudaLaunch{}, a, b); }
Tensor dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t stream) {
  return kern::dropout_apply(CudaLaunch{}, x, p, seed, stream);
}
Tensor dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t stream) {
  return kern::dropout_apply(CudaLaunch{}, dy, p, seed, stream);
}
Tensor to_bf16(const Tensor& x) { return kern::to_bf16(CudaLaunch{}, x); }
Tensor to_bf16_centred(const Tensor& x, const Tensor& mean) { return kern::to_bf16_centred(CudaLaunch{}, x, mean); }
Tensor to_f32(const Tensor& x) { return kern::to_f32(CudaLaunch{}, x); }

}  // namespace lpl::cuda_backend
