// cpu entry points of the LPL objective, block backward and optimiser updates (the arithmetic lives in
// kernels/lpl_objective.h and kernels/lpl_block.h, shared with the other backend).
#include "kernels/launch.h"
#include "kernels/lpl_backend.h"
#include "kernels/lpl_block.h"
#include "kernels/lpl_objective.h"
#include "kernels/negative_objective.h"
#include "kernels/optim.h"

namespace lpl::cpu_backend {

void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& a) {
  if (a.negative_samples)
    kern::negative_objective(CpuLaunch{}, z, dz, terms, slot, a);
  else
    kern::lpl_objective(CpuLaunch{}, z, dz, terms, slot, a);
}
Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled) {
  return kern::lpl_block_delta(CpuLaunch{}, g, a, argmax, pooled);
}
void relu_inplace(Tensor& y) { kern::relu_inplace(CpuLaunch{}, y); }
void relu_mask_inplace(Tensor& d, const Tensor& y) { kern::relu_mask_inplace(CpuLaunch{}, d, y); }
void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h) {
  kern::adam_update(CpuLaunch{}, w, g, m, v, h);
}
void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float wd, bool first) {
  kern::sgd_update(CpuLaunch{}, w, g, buf, lr, momentum, wd, first);
}

}  // namespace lpl::cpu_backend
