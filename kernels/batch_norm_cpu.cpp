// cpu entry points of kernels/batch_norm.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/batch_norm.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {

Tensor batch_norm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                                Tensor& running_var, const BatchNormParams& p, BatchNormSaved* saved) {
  return kern::batch_norm_train_forward(CpuLaunch{}, x, gamma, beta, running_mean, running_var, p, saved);
}
Tensor batch_norm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                               const Tensor& running_var, const BatchNormParams& p) {
  return kern::batch_norm_eval_forward(CpuLaunch{}, x, gamma, beta, running_mean, running_var, p);
}
Tensor batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const BatchNormSaved& saved,
                           Tensor& dgamma, Tensor& dbeta) {
  return kern::batch_norm_backward(CpuLaunch{}, dy, x, gamma, saved, dgamma, dbeta);
}

}  // namespace lpl::cpu_backend
