// The two backends' entry points, declared from one list so they cannot drift apart.
#pragma once
#include "engine/ops.h"

namespace lpl::cpu_backend {
#include "kernels/backend_ops.inc"
}  // namespace lpl::cpu_backend

namespace lpl::cuda_backend {
#include "kernels/backend_ops.inc"
}  // namespace lpl::cuda_backend
