// cuda entry points of the LPL objective and block backward (the arithmetic lives in
// kernels/lpl_objective.h and kernels/lpl_block.h, shared with the other backend).
#include "kernels/launch_cuda.cuh"
#include "kernels/lpl_backend.h"
#include "kernels/lpl_block.h"
#include "kernels/lpl_objective.h"

namespace lpl::cuda_backend {

void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& a) {
  kern::lpl_objective(CudaLaunch{}, z, dz, terms, slot, a);
}
Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled) {
  return kern::lpl_block_delta(CudaLaunch{}, g, a, argmax, pooled);
}
void relu_inplace(Tensor& y) { kern::relu_inplace(CudaLaunch{}, y); }
void relu_mask_inplace(Tensor& d, const Tensor& y) { kern::relu_mask_inplace(CudaLaunch{}, d, y); }

}  // namespace lpl::cuda_backend
