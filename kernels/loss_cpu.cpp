// cpu entry point of kernels/loss.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch.h"
#include "kernels/loss.h"

namespace lpl::cpu_backend {

CrossEntropyResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  return kern::softmax_cross_entropy(CpuLaunch{}, logits, labels);
}

}  // namespace lpl::cpu_backend
