// The CPU path of the augmentation: one image at a time, in as few passes as the view needs (one
// when there is neither contrast nor blur, else sample -> finish -> blur), all in cache.
#include <cstring>

#include "data/augment_batch.h"

namespace lpl::data {

namespace {
inline void store_normalised(const NormF& n, const float rgb[3], float* out, int64_t i, int64_t P) {
  for (int c = 0; c < 3; ++c) out[c * P + i] = (rgb[c] - n.mean[c]) * n.inv_std[c];
}
}  // namespace

void augment_view_cpu(const uint8_t* img, int C, int H, int W, const ViewParams& p, int S, const NormF& norm,
                      float* out, float* scratch) {
  const int64_t P = static_cast<int64_t>(S) * S;
  const bool blur = p.blur_taps > 0, mean = needs_mean(p);
  float rgb[3];
  if (!blur && !mean) {  // one pass: sample, finish, normalise
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        sample_pixel(img, C, H, W, p, S, y, x, rgb);
        finish_pixel(p, 0.f, rgb);
        store_normalised(norm, rgb, out, y * S + x, P);
      }
    return;
  }
  float* stage = scratch;  // 3 planes
  float* tmp = scratch + 3 * P;
  double gsum = 0;
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      sample_pixel(img, C, H, W, p, S, y, x, rgb);
      const int64_t i = y * S + x;
      stage[i] = rgb[0]; stage[P + i] = rgb[1]; stage[2 * P + i] = rgb[2];
      gsum += gray_of(rgb[0], rgb[1], rgb[2]);
    }
  const float m = static_cast<float>(gsum / static_cast<double>(P));
  for (int64_t i = 0; i < P; ++i) {
    rgb[0] = stage[i]; rgb[1] = stage[P + i]; rgb[2] = stage[2 * P + i];
    finish_pixel(p, m, rgb);
    if (blur) {
      stage[i] = rgb[0]; stage[P + i] = rgb[1]; stage[2 * P + i] = rgb[2];
    } else {
      store_normalised(norm, rgb, out, i, P);
    }
  }
  if (!blur) return;
  for (int c = 0; c < 3; ++c) {
    const float* s = stage + c * P;
    float* t = tmp + c * P;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) t[y * S + x] = blur_at(s, S, p, y, x, 1);
  }
  for (int c = 0; c < 3; ++c) {
    const float* t = tmp + c * P;
    float* o = out + c * P;
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) o[y * S + x] = (blur_at(t, S, p, y, x, 0) - norm.mean[c]) * norm.inv_std[c];
  }
}

}  // namespace lpl::data
