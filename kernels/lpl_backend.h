// Backend entry points of the LPL ops (engine/lpl_ops.h), declared once for both backends.
#pragma once
#include "engine/lpl_ops.h"

#define LPL_LPL_BACKEND_OPS                                                                         \
  void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& a); \
  Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, bool pooled);        \
  void relu_inplace(Tensor& y);                                                                      \
  void relu_mask_inplace(Tensor& d, const Tensor& y);                                                \
  void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h);           \
  void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float wd, bool first);

namespace lpl::cpu_backend {
LPL_LPL_BACKEND_OPS
}  // namespace lpl::cpu_backend
namespace lpl::cuda_backend {
LPL_LPL_BACKEND_OPS
}  // namespace lpl::cuda_backend
#undef LPL_LPL_BACKEND_OPS
