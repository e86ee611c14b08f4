// SimCLR augmentation of spec §4, written once for the CPU and the GPU. A view is described by
// ViewParams (drawn per image and view from the counter-based RNG, so the result depends only on
// (seed, epoch, image, view)); the per-pixel steps below are __host__ __device__ functions that the
// CPU runs as a loop per image (augment_cpu.cpp) and CUDA runs as kernels (augment_cuda.cu):
//   1. sample   random resized crop (bilinear, torchvision's half-pixel mapping) + flip, then the
//               colour-jitter operations that come before contrast (contrast needs the image mean)
//   2. finish   contrast with the mean of the grayscale image, the remaining jitter operations,
//               grayscale
//   3. blur     separable Gaussian, reflect-101 borders (horizontal, then vertical + normalise)
// Images are float in [0, 1] between steps (the original rounds to 8 bits after each; spec §4
// allows float arithmetic).
#pragma once
#include <cmath>
#include <cstdint>

#include "engine/common.h"
#include "engine/rng.h"

namespace lpl::data {

constexpr int kMaxBlurTaps = 31;  // int(0.1 * 300) made odd: images up to 300 px
enum JitterOp : int { kBrightness = 0, kContrast = 1, kSaturation = 2, kHue = 3 };

struct ViewParams {
  // Source sampling: source x = left + (x + 0.5) * scale_x - 0.5, clamped to [x_lo, x_hi] (same in y).
  float left = 0, top = 0, scale_x = 1, scale_y = 1;
  int x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  int crop_x = 0, crop_y = 0, crop_w = 0, crop_h = 0;  // the crop box (for tests and display)
  int flip = 0;
  int n_ops = 0;         // 4 when colour jitter is applied, else 0
  int contrast_pos = 0;  // position of contrast in `order` (n_ops when jitter is off)
  int order[4] = {0, 1, 2, 3};
  float factor[4] = {1, 1, 1, 0};  // brightness, contrast, saturation factors; hue shift (turns)
  int gray = 0;
  int blur_taps = 0;     // 0: no blur; else odd kernel size
  float sigma = 0;
  float blur_w[kMaxBlurTaps] = {};
};

// ---- drawing the parameters ----------------------------------------------------------------------
// Blocks of the RNG per (image, view): 0..9 crop attempts, 10 the coin flips, 11 jitter factors,
// 12 jitter order + blur sigma. The stream is (epoch, view): stream = epoch * 4 + view.
constexpr uint64_t kBlocksPerImage = 16;
LPL_HD inline uint64_t view_stream(int64_t epoch, int view) { return static_cast<uint64_t>(epoch) * 4u + static_cast<uint64_t>(view); }

LPL_HD inline int blur_kernel_size(int image_size) {
  int k = static_cast<int>(0.1 * image_size);
  if (k % 2 == 0) ++k;
  return k < kMaxBlurTaps ? k : kMaxBlurTaps;
}

LPL_HD inline void set_crop(ViewParams& p, int i, int j, int h, int w, int S) {
  p.crop_y = i; p.crop_x = j; p.crop_h = h; p.crop_w = w;
  p.top = static_cast<float>(i);
  p.left = static_cast<float>(j);
  p.scale_y = static_cast<float>(h) / static_cast<float>(S);
  p.scale_x = static_cast<float>(w) / static_cast<float>(S);
  p.y_lo = i; p.y_hi = i + h - 1;
  p.x_lo = j; p.x_hi = j + w - 1;
}

// Python's round(): half to even (nearbyint in the default rounding mode).
LPL_HD inline int round_half_even(double v) { return static_cast<int>(nearbyint(v)); }

// torchvision RandomResizedCrop.get_params with scale (0.08, 1), ratio (3/4, 4/3).
LPL_HD inline void draw_crop(ViewParams& p, const CounterRng& rng, uint64_t base, int H, int W, int S) {
  const double area = static_cast<double>(H) * W;
  const double log_lo = log(3.0 / 4.0), log_hi = log(4.0 / 3.0);
  for (int attempt = 0; attempt < 10; ++attempt) {
    Philox4 r = rng.block(base + static_cast<uint64_t>(attempt));
    double target = area * (0.08 + 0.92 * CounterRng::to_unit(r.v[0]));
    double aspect = exp(log_lo + (log_hi - log_lo) * CounterRng::to_unit(r.v[1]));
    int w = round_half_even(sqrt(target * aspect));
    int h = round_half_even(sqrt(target / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      int i = static_cast<int>(CounterRng::to_unit(r.v[2]) * static_cast<float>(H - h + 1));
      int j = static_cast<int>(CounterRng::to_unit(r.v[3]) * static_cast<float>(W - w + 1));
      set_crop(p, i, j, h, w, S);
      return;
    }
  }
  double in_ratio = static_cast<double>(W) / H;
  int w = W, h = H;
  if (in_ratio < 3.0 / 4.0) {
    h = round_half_even(w / (3.0 / 4.0));
  } else if (in_ratio > 4.0 / 3.0) {
    w = round_half_even(h * (4.0 / 3.0));
  }
  set_crop(p, (H - h) / 2, (W - w) / 2, h, w, S);
}

LPL_HD inline void set_blur(ViewParams& p, int taps, float sigma) {
  p.blur_taps = taps;
  p.sigma = sigma;
  // torchvision _get_gaussian_kernel1d: x = -(k-1)/2 .. (k-1)/2, exp(-x^2 / (2 sigma^2)), normalised.
  float sum = 0;
  for (int t = 0; t < taps; ++t) {
    float x = static_cast<float>(t) - 0.5f * static_cast<float>(taps - 1);
    p.blur_w[t] = expf(-0.5f * (x / sigma) * (x / sigma));
    sum += p.blur_w[t];
  }
  for (int t = 0; t < taps; ++t) p.blur_w[t] /= sum;
}

// One SimCLR view of an H x W source image at output size S (spec §4).
LPL_HD inline ViewParams draw_view_params(uint64_t seed, int64_t epoch, int view, int64_t image, int H, int W, int S) {
  ViewParams p;
  CounterRng rng{seed, view_stream(epoch, view)};
  const uint64_t base = static_cast<uint64_t>(image) * kBlocksPerImage;
  draw_crop(p, rng, base, H, W, S);
  Philox4 coins = rng.block(base + 10), fac = rng.block(base + 11), ord = rng.block(base + 12);
  p.flip = CounterRng::to_unit(coins.v[0]) < 0.5f;
  if (CounterRng::to_unit(coins.v[1]) < 0.8f) {
    p.n_ops = 4;
    p.factor[kBrightness] = 0.2f + 1.6f * CounterRng::to_unit(fac.v[0]);
    p.factor[kContrast] = 0.2f + 1.6f * CounterRng::to_unit(fac.v[1]);
    p.factor[kSaturation] = 0.2f + 1.6f * CounterRng::to_unit(fac.v[2]);
    p.factor[kHue] = -0.2f + 0.4f * CounterRng::to_unit(fac.v[3]);
    // Uniform random order (Fisher-Yates with three draws).
    for (int k = 3; k > 0; --k) {
      int m = static_cast<int>(CounterRng::to_unit(ord.v[3 - k]) * static_cast<float>(k + 1));
      int t = p.order[k]; p.order[k] = p.order[m]; p.order[m] = t;
    }
    for (int k = 0; k < 4; ++k)
      if (p.order[k] == kContrast) p.contrast_pos = k;
  }
  p.gray = CounterRng::to_unit(coins.v[2]) < 0.2f;
  if (CounterRng::to_unit(coins.v[3]) < 0.5f) set_blur(p, blur_kernel_size(S), 0.1f + 1.9f * CounterRng::to_unit(ord.v[3]));
  if (p.n_ops == 0) p.contrast_pos = 0;
  return p;
}

// The evaluation view: resize to int(1.1 S) (bilinear), centre crop S (torchvision's rounding).
LPL_HD inline ViewParams eval_view_params(int H, int W, int S) {
  ViewParams p;
  int R = static_cast<int>(1.1 * S);
  int off = round_half_even((R - S) / 2.0);
  p.scale_y = static_cast<float>(H) / static_cast<float>(R);
  p.scale_x = static_cast<float>(W) / static_cast<float>(R);
  p.top = off * p.scale_y;
  p.left = off * p.scale_x;
  p.y_lo = 0; p.y_hi = H - 1;
  p.x_lo = 0; p.x_hi = W - 1;
  p.crop_y = 0; p.crop_x = 0; p.crop_h = H; p.crop_w = W;
  return p;
}

// The source itself at output size S (no augmentation: plain bilinear resize, identity when S == H).
LPL_HD inline ViewParams plain_view_params(int H, int W, int S) {
  ViewParams p;
  set_crop(p, 0, 0, H, W, S);
  return p;
}

// ---- per-pixel arithmetic ------------------------------------------------------------------------
// max / min written as the selects x86 max/min instructions compute, so CPU loops vectorise.
LPL_HD inline float max_sel(float a, float b) { return a > b ? a : b; }
LPL_HD inline float min_sel(float a, float b) { return a < b ? a : b; }
LPL_HD inline float clamp01(float v) { return min_sel(max_sel(v, 0.f), 1.f); }
LPL_HD inline float gray_of(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

// Rotates the hue (HSV) by `shift` turns. Branch-free (selects only), so CPU loops vectorise:
// h from the max channel, then HSV -> RGB as c_n = v - v s clamp(min(k, 4 - k), 0, 1) with
// k = (n + 6 h) mod 6 for n = 5, 3, 1 (R, G, B). Gray pixels (s = 0) come back unchanged.
// |shift| <= 0.5 (spec: 0.2), so one wrap step brings the hue back into [0, 1).
LPL_HD inline void rgb_hue_shift(float rgb[3], float shift) {
  const float r = rgb[0], g = rgb[1], b = rgb[2];
  const float mx = max_sel(r, max_sel(g, b)), mn = min_sel(r, min_sel(g, b));
  const float d = mx - mn;
  const float dd = d > 0.f ? d : 1.f;
  const float inv = 1.f / dd;  // all three candidates computed, then selected (no branches)
  const float hr = (g - b) * inv, hg = (b - r) * inv + 2.f, hb = (r - g) * inv + 4.f;
  float h = mx == r ? hr : (mx == g ? hg : hb);
  h = h * (1.f / 6.f) + shift;
  h = h < 0.f ? h + 1.f : (h >= 1.f ? h - 1.f : h);
  const float h6 = h * 6.f;
  const float vs = d;  // v * s = mx * (d / mx)
  const float n[3] = {5.f, 3.f, 1.f};
  for (int c = 0; c < 3; ++c) {
    float k = n[c] + h6;
    k = k >= 6.f ? k - 6.f : k;
    float w = clamp01(min_sel(k, 4.f - k));
    rgb[c] = mx - vs * w;
  }
}

// One colour-jitter operation on one pixel; `mean` is the image's grayscale mean (contrast only).
LPL_HD inline void jitter_op(int op, float f, float mean, float rgb[3]) {
  switch (op) {
    case kBrightness:
      for (int c = 0; c < 3; ++c) rgb[c] = clamp01(rgb[c] * f);
      break;
    case kContrast:
      for (int c = 0; c < 3; ++c) rgb[c] = clamp01(f * rgb[c] + (1.f - f) * mean);
      break;
    case kSaturation: {
      float g = gray_of(rgb[0], rgb[1], rgb[2]);
      for (int c = 0; c < 3; ++c) rgb[c] = clamp01(f * rgb[c] + (1.f - f) * g);
      break;
    }
    default:
      rgb_hue_shift(rgb, f);
      break;
  }
}

// One output coordinate's bilinear taps along an axis: source = start + (o + 0.5) * scale - 0.5,
// clamped to [lo, hi] (torchvision's half-pixel mapping, taps inside the crop).
struct AxisTap {
  int i0, i1;
  float l;
};
LPL_HD inline AxisTap axis_tap(float start, float scale, int lo, int hi, int o) {
  float s = start + (static_cast<float>(o) + 0.5f) * scale - 0.5f;
  s = fminf(fmaxf(s, static_cast<float>(lo)), static_cast<float>(hi));
  int i0 = static_cast<int>(s);
  return {i0, i0 < hi ? i0 + 1 : i0, s - static_cast<float>(i0)};
}
LPL_HD inline AxisTap x_tap(const ViewParams& p, int S, int x) {  // flip after the resize
  return axis_tap(p.left, p.scale_x, p.x_lo, p.x_hi, p.flip ? S - 1 - x : x);
}
LPL_HD inline AxisTap y_tap(const ViewParams& p, int y) { return axis_tap(p.top, p.scale_y, p.y_lo, p.y_hi, y); }
LPL_HD inline float bilerp(const uint8_t* plane, int W, const AxisTap& ty, const AxisTap& tx) {
  const uint8_t* r0 = plane + ty.i0 * W;
  const uint8_t* r1 = plane + ty.i1 * W;
  float a = r0[tx.i0], b = r0[tx.i1], c = r1[tx.i0], d = r1[tx.i1];
  float top = a + (b - a) * tx.l, bot = c + (d - c) * tx.l;
  return (top + (bot - top) * ty.l) * (1.f / 255.f);
}

// The jitter operations before contrast (step 1 ends with them).
LPL_HD inline void jitter_prefix(const ViewParams& p, float rgb[3]) {
  for (int k = 0; k < p.contrast_pos; ++k) jitter_op(p.order[k], p.factor[p.order[k]], 0.f, rgb);
}

// Step 1 for output pixel (y, x) of an S x S view from a uint8 C x H x W image (C = 1 or 3):
// bilinear crop-resize, flip, and the jitter operations before contrast.
LPL_HD inline void sample_pixel(const uint8_t* img, int C, int H, int W, const ViewParams& p, int S, int y, int x,
                                float rgb[3]) {
  const AxisTap ty = y_tap(p, y), tx = x_tap(p, S, x);
  const int64_t plane = static_cast<int64_t>(H) * W;
  for (int c = 0; c < 3; ++c) rgb[c] = bilerp(img + (C == 1 ? 0 : c * plane), W, ty, tx);
  jitter_prefix(p, rgb);
}

LPL_HD inline bool needs_mean(const ViewParams& p) { return p.contrast_pos < p.n_ops; }

// Step 2: contrast (given the grayscale mean after step 1), the rest of the jitter, grayscale.
LPL_HD inline void finish_pixel(const ViewParams& p, float mean, float rgb[3]) {
  for (int k = p.contrast_pos; k < p.n_ops; ++k) jitter_op(p.order[k], p.factor[p.order[k]], mean, rgb);
  if (p.gray) {
    float g = gray_of(rgb[0], rgb[1], rgb[2]);
    rgb[0] = rgb[1] = rgb[2] = g;
  }
}

// reflect-101 (OpenCV's default border: ... 2 1 | 0 1 2 ... n-1 | n-2 ...).
LPL_HD inline int reflect101(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

// Step 3: one tap-sum of the separable blur over a plane `src` (S x S) at (y, x); `dy`/`dx` say
// which direction (horizontal: dx = 1, dy = 0).
LPL_HD inline float blur_at(const float* src, int S, const ViewParams& p, int y, int x, int horizontal) {
  const int r = p.blur_taps / 2;
  float acc = 0.f;
  for (int t = 0; t < p.blur_taps; ++t) {
    int yy = horizontal ? y : reflect101(y + t - r, S);
    int xx = horizontal ? reflect101(x + t - r, S) : x;
    acc += p.blur_w[t] * src[yy * S + xx];
  }
  return acc;
}

}  // namespace lpl::data
