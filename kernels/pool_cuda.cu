// cuda entry points of kernels/pool.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch_cuda.cuh"
#include "kernels/pool.h"

namespace lpl::cuda_backend {

MaxPoolResult maxpool2d_forward(const Tensor& x, const Pool2dParams& p) { return kern::maxpool2d_forward(CudaLaunch{}, x, p); }
Tensor maxpool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& x_shape, const Pool2dParams& p) {
  return kern::maxpool2d_backward(CudaLaunch{}, dy, argmax, x_shape, p);
}
Tensor global_avgpool_forward(const Tensor& x) { return kern::global_avgpool_forward(CudaLaunch{}, x); }
Tensor global_avgpool_backward(const Tensor& dy, const Shape& x_shape) { return kern::global_avgpool_backward(CudaLaunch{}, dy, x_shape); }
Tensor adaptive_avgpool_forward(const Tensor& x, int out_h, int out_w) { return kern::adaptive_avgpool_forward(CudaLaunch{}, x, out_h, out_w); }
Tensor adaptive_avgpool_backward(const Tensor& dy, const Shape& x_shape) { return kern::adaptive_avgpool_backward(CudaLaunch{}, dy, x_shape); }

}  // namespace lpl::cuda_backend
