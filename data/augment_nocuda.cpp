// Builds without the CUDA backend: the GPU augmentation path is refused clearly.
#include "data/augment_batch.h"
#include "engine/common.h"

#if !LPL_HAVE_CUDA
namespace lpl::data {
void augment_views_cuda(Device, const uint8_t*, int, int, int, const int64_t*, const ViewParams*, int64_t, int,
                        const NormF&, float*, float*) {
  fail("data loader: GPU augmentation needs a build with the CUDA backend");
}
}  // namespace lpl::data
#endif
