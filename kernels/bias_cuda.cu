// cuda entry point of kernels/bias.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/bias.h"
#include "kernels/launch_cuda.cuh"

namespace lpl::cuda_backend {

void bias_backward(const Tensor& dy, Tensor& db, bool accumulate) { kern::bias_backward(CudaLaunch{}, dy, db, accumulate); }

}  // namespace lpl::cuda_backend
