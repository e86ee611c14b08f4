// cuda entry points of kernels/activation.h (the arithmetic lives there, shared with the other backend).
#include "kernels/activation.h"
#include "kernels/backend.h"
#include "kernels/launch_cuda.cuh"

namespace lpl::cuda_backend {

Tensor relu_forward(const Tensor& x) { return kern::relu_forward(CudaLaunch{}, x); }
Tensor relu_backward(const Tensor& dy, const Tensor& y) { return kern::relu_backward(CudaLaunch{}, dy, y); }

}  // namespace lpl::cuda_backend
