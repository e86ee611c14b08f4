// cpu entry points of kernels/activation.h (the arithmetic lives there, shared with the other backend).
#include "kernels/activation.h"
#include "kernels/backend.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {

Tensor relu_forward(const Tensor& x) { return kern::relu_forward(CpuLaunch{}, x); }
Tensor relu_backward(const Tensor& dy, const Tensor& y) { return kern::relu_backward(CpuLaunch{}, dy, y); }

}  // namespace lpl::cpu_backend
