// The CPU path of the augmentation: one image at a time, plane by plane, all in L1 cache. It calls
// the per-pixel functions of data/augment.h (the CUDA kernels call the same), arranged for speed:
// bilinear taps are computed once per row / column, each jitter operation is one vectorisable loop
// over the planes, and the blur's interior skips the border reflection.
// Floating-point exceptions are never inspected here: letting GCC assume so (results unchanged)
// allows it to vectorise the branch-free hue rotation.
#pragma GCC optimize("no-trapping-math")
#include <algorithm>

#include "data/augment_batch.h"

namespace lpl::data {

namespace {

// Runs fn(rgb) on every pixel of the three planes (op fixed per call, so the loop vectorises).
template <class F>
inline void per_pixel(float* __restrict R, float* __restrict G, float* __restrict B, int64_t P, const F& fn) {
  for (int64_t i = 0; i < P; ++i) {
    float rgb[3] = {R[i], G[i], B[i]};
    fn(rgb);
    R[i] = rgb[0]; G[i] = rgb[1]; B[i] = rgb[2];
  }
}

void apply_op(int op, float f, float mean, float* R, float* G, float* B, int64_t P) {
  switch (op) {
    case kBrightness: per_pixel(R, G, B, P, [&](float* rgb) { jitter_op(kBrightness, f, 0.f, rgb); }); break;
    case kContrast: per_pixel(R, G, B, P, [&](float* rgb) { jitter_op(kContrast, f, mean, rgb); }); break;
    case kSaturation: per_pixel(R, G, B, P, [&](float* rgb) { jitter_op(kSaturation, f, 0.f, rgb); }); break;
    default: per_pixel(R, G, B, P, [&](float* rgb) { jitter_op(kHue, f, 0.f, rgb); }); break;
  }
}

// One pass of the separable blur over a plane. The interior is a loop over x per tap (vectorises)
// that adds the taps in the same order as blur_at; the border calls blur_at (reflect-101).
void blur_plane(const float* __restrict src, float* __restrict dst, int S, const ViewParams& p, int horizontal) {
  const int k = p.blur_taps, r = k / 2;
  for (int y = 0; y < S; ++y) {
    float* d = dst + static_cast<int64_t>(y) * S;
    if (horizontal) {
      for (int x = r; x < S - r; ++x) d[x] = 0.f;
      for (int t = 0; t < k; ++t) {
        const float w = p.blur_w[t];
        const float* s = src + static_cast<int64_t>(y) * S + t - r;
        for (int x = r; x < S - r; ++x) d[x] += w * s[x];
      }
      for (int x = 0; x < r && x < S; ++x) d[x] = blur_at(src, S, p, y, x, 1);
      for (int x = std::max(S - r, r); x < S; ++x) d[x] = blur_at(src, S, p, y, x, 1);
    } else if (y >= r && y < S - r) {
      for (int x = 0; x < S; ++x) d[x] = 0.f;
      for (int t = 0; t < k; ++t) {
        const float w = p.blur_w[t];
        const float* s = src + static_cast<int64_t>(y + t - r) * S;
        for (int x = 0; x < S; ++x) d[x] += w * s[x];
      }
    } else {
      for (int x = 0; x < S; ++x) d[x] = blur_at(src, S, p, y, x, 0);
    }
  }
}

}  // namespace

void augment_view_cpu(const uint8_t* img, int C, int H, int W, const ViewParams& p, int S, const NormF& norm,
                      float* out, float* scratch) {
  const int64_t P = static_cast<int64_t>(S) * S, plane = static_cast<int64_t>(H) * W;
  float* st[3] = {scratch, scratch + P, scratch + 2 * P};
  float* tmp = scratch + 3 * P;
  // Step 1a: bilinear crop-resize + flip. Separable when the crop's rows fit in tmp: each source
  // row of the crop is interpolated along x once, then rows are blended along y (the same
  // arithmetic as bilerp, in the same order).
  AxisTap tx[512];
  const int rows = p.y_hi - p.y_lo + 1;
  if (S <= 512 && static_cast<int64_t>(rows) * S <= 3 * P) {
    for (int x = 0; x < S; ++x) tx[x] = x_tap(p, S, x);
    for (int c = 0; c < 3; ++c) {
      const uint8_t* src = img + (C == 1 ? 0 : c * plane);
      for (int yy = 0; yy < rows; ++yy) {
        const uint8_t* row = src + static_cast<int64_t>(p.y_lo + yy) * W;
        float* h = tmp + static_cast<int64_t>(yy) * S;
        for (int x = 0; x < S; ++x) {
          const float a = row[tx[x].i0], b = row[tx[x].i1];
          h[x] = a + (b - a) * tx[x].l;
        }
      }
      for (int y = 0; y < S; ++y) {
        const AxisTap ty = y_tap(p, y);
        const float* top = tmp + static_cast<int64_t>(ty.i0 - p.y_lo) * S;
        const float* bot = tmp + static_cast<int64_t>(ty.i1 - p.y_lo) * S;
        float* o = st[c] + static_cast<int64_t>(y) * S;
        for (int x = 0; x < S; ++x) o[x] = (top[x] + (bot[x] - top[x]) * ty.l) * (1.f / 255.f);
      }
    }
  } else {
    for (int y = 0; y < S; ++y) {
      const AxisTap ty = y_tap(p, y);
      for (int c = 0; c < 3; ++c) {
        const uint8_t* src = img + (C == 1 ? 0 : c * plane);
        float* o = st[c] + static_cast<int64_t>(y) * S;
        for (int x = 0; x < S; ++x) o[x] = bilerp(src, W, ty, x_tap(p, S, x));
      }
    }
  }
  // Step 1b + 2: the jitter operations in their order (contrast with the current grayscale mean).
  for (int k = 0; k < p.n_ops; ++k) {
    const int op = p.order[k];
    float mean = 0.f;
    if (op == kContrast) {
      double g = 0;
      for (int64_t i = 0; i < P; ++i) g += gray_of(st[0][i], st[1][i], st[2][i]);
      mean = static_cast<float>(g / static_cast<double>(P));
    }
    apply_op(op, p.factor[op], mean, st[0], st[1], st[2], P);
  }
  if (p.gray)
    per_pixel(st[0], st[1], st[2], P, [](float* rgb) { rgb[0] = rgb[1] = rgb[2] = gray_of(rgb[0], rgb[1], rgb[2]); });
  // Step 3: blur (rows into tmp, columns + normalise into out), or just normalise.
  for (int c = 0; c < 3; ++c) {
    float* o = out + c * P;
    const float* s = st[c];
    if (p.blur_taps > 0) {
      blur_plane(st[c], tmp, S, p, 1);
      blur_plane(tmp, o, S, p, 0);
      s = o;
    }
    const float m = norm.mean[c], is = norm.inv_std[c];
    for (int64_t i = 0; i < P; ++i) o[i] = (s[i] - m) * is;
  }
}

}  // namespace lpl::data
