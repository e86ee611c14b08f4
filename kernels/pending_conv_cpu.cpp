// Placeholders until the convolution backend lands (deleted by that change).
#include "kernels/backend.h"

namespace lpl::cpu_backend {
Tensor conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const Conv2dParams&) { fail("conv2d_forward: not implemented yet"); }
void conv2d_backward_filter(const Tensor&, const Tensor&, Tensor&, Tensor*, const Conv2dParams&, bool) { fail("conv2d_backward_filter: not implemented yet"); }
Tensor conv2d_backward_data(const Tensor&, const Tensor&, const Shape&, const Conv2dParams&) { fail("conv2d_backward_data: not implemented yet"); }
void bias_backward(const Tensor&, Tensor&, bool) { fail("bias_backward: not implemented yet"); }
}  // namespace lpl::cpu_backend
