// cpu entry points of kernels/elementwise.h and kernels/convert.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {

Tensor add(const Tensor& a, const Tensor& b) { return kern::add(CpuLaunch{}, a, b); }
Tensor dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t stream) {
  return kern::dropout_apply(CpuLaunch{}, x, p, seed, stream);
}
Tensor dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t stream) {
  return kern::dropout_apply(CpuLaunch{}, dy, p, seed, stream);
}
Tensor to_bf16(const Tensor& x) { return kern::to_bf16(CpuLaunch{}, x); }
Tensor to_bf16_centred(const Tensor& x, const Tensor& mean) { return kern::to_bf16_centred(CpuLaunch{}, x, mean); }
Tensor to_f32(const Tensor& x) { return kern::to_f32(CpuLaunch{}, x); }

}  // namespace lpl::cpu_backend
