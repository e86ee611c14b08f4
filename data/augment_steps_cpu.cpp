// The GPU's batched augmentation steps (data/augment_steps.h) run as CPU loops, so the CPU test
// suite executes exactly the per-pixel arithmetic the CUDA kernels run.
#include "data/augment_steps.h"
#include "kernels/launch.h"

namespace lpl::data {

void augment_views_steps_cpu(const uint8_t* images, int C, int H, int W, const int64_t* idx, const ViewParams* params,
                             int64_t B, int S, const NormF& norm, float* out, float* scratch) {
  steps::augment_views(CpuLaunch{}, cpu(), images, C, H, W, idx, params, B, S, norm, out, scratch,
                       [](const float* stage, int64_t nb, int64_t P, float* means) {
                         for (int64_t b = 0; b < nb; ++b) {
                           const float* s = stage + b * 3 * P;
                           double acc = 0;
                           for (int64_t i = 0; i < P; ++i) acc += gray_of(s[i], s[P + i], s[2 * P + i]);
                           means[b] = static_cast<float>(acc / static_cast<double>(P));
                         }
                       });
}

}  // namespace lpl::data
