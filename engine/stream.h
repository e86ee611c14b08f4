// The one compute stream per CUDA device that every op, copy and allocation is ordered on.
#pragma once
#include <cuda_runtime.h>

#include "engine/device.h"

namespace lpl {
cudaStream_t stream(Device d);
}
