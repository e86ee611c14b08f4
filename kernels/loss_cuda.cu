// cuda entry point of kernels/loss.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch_cuda.cuh"
#include "kernels/loss.h"

namespace lpl::cuda_backend {

CrossEntropyResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  return kern::softmax_cross_entropy(CudaLaunch{}, logits, labels);
}
Tensor softmax_cross_entropy_into(const Tensor& logits, const Tensor& labels, Tensor& out, int64_t slot) {
  return kern::softmax_cross_entropy_into(CudaLaunch{}, logits, labels, out, slot);
}

}  // namespace lpl::cuda_backend
