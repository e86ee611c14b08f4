// Placeholders until the activation/pooling/loss kernels land (deleted by that change).
#include "kernels/backend.h"

namespace lpl::cuda_backend {
Tensor relu_forward(const Tensor&) { fail("relu_forward: not implemented yet"); }
Tensor relu_backward(const Tensor&, const Tensor&) { fail("relu_backward: not implemented yet"); }
MaxPoolResult maxpool2d_forward(const Tensor&, const Pool2dParams&) { fail("maxpool2d_forward: not implemented yet"); }
Tensor maxpool2d_backward(const Tensor&, const Tensor&, const Shape&) { fail("maxpool2d_backward: not implemented yet"); }
Tensor global_avgpool_forward(const Tensor&) { fail("global_avgpool_forward: not implemented yet"); }
Tensor global_avgpool_backward(const Tensor&, const Shape&) { fail("global_avgpool_backward: not implemented yet"); }
Tensor adaptive_avgpool_forward(const Tensor&, int, int) { fail("adaptive_avgpool_forward: not implemented yet"); }
Tensor adaptive_avgpool_backward(const Tensor&, const Shape&) { fail("adaptive_avgpool_backward: not implemented yet"); }
CrossEntropyResult softmax_cross_entropy(const Tensor&, const Tensor&) { fail("softmax_cross_entropy: not implemented yet"); }
}  // namespace lpl::cuda_backend
