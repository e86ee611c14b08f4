// cuda entry points of the LPL objective, block backward and optimiser updates (the arithmetic lives in
// kernels/lpl_objective.h and kernels/lpl_block.h, shared with the other backend).
#include "kernels/launch_cuda.cuh"
#include "kernels/lpl_backend.h"
#include "kernels/lpl_block.h"
#include "kernels/lpl_objective.h"
#include "kernels/negative_objective.h"
#include "kernels/optim.h"

namespace lpl::cuda_backend {

void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& a) {
  if (a.negative_samples)
    kern::negative_objective(CudaLaunch{}, z, dz, terms, slot, a);
  else
    kern::lpl_objective(CudaLaunch{}, z, dz, terms, slot, a);
}
Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled) {
  return kern::lpl_block_delta(CudaLaunch{}, g, a, argmax, pooled);
}
void relu_inplace(Tensor& y) { kern::relu_inplace(CudaLaunch{}, y); }
void relu_mask_inplace(Tensor& d, const Tensor& y) { kern::relu_mask_inplace(CudaLaunch{}, d, y); }
void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h) {
  kern::adam_update(CudaLaunch{}, w, g, m, v, h);
}
void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float wd, bool first) {
  kern::sgd_update(CudaLaunch{}, w, g, buf, lr, momentum, wd, first);
}

}  // namespace lpl::cuda_backend
