// cpu entry point of kernels/loss.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch.h"
#include "kernels/loss.h"

namespace lpl::cpu_backend {

CrossEntropyResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  return kern::softmax_cross_entropy(CpuLaunch{}, logits, labels);
}
Tensor softmax_cross_entropy_into(const Tensor& logits, const Tensor& labels, Tensor& out, int64_t slot) {
  return kern::softmax_cross_entropy_into(CpuLaunch{}, logits, labels, out, slot);
}

}  // namespace lpl::cpu_backend
