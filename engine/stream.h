// The one compute stream per CUDA device that every op, copy and allocation is ordered on.
#pragma once
#include <cuda_runtime.h>

#include "engine/device.h"

namespace lpl {
// The device's stream; also makes the device current for the calling thread (kernels launch there).
cudaStream_t stream(Device d);
// cudaSetDevice through a per-thread cache: every engine call goes through here.
void set_current_device(int dev);
}
