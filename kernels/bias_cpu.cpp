// cpu entry point of kernels/bias.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/bias.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {

void bias_backward(const Tensor& dy, Tensor& db, bool accumulate) { kern::bias_backward(CpuLaunch{}, dy, db, accumulate); }

}  // namespace lpl::cpu_backend
