// load_dataset(): picks the reader, and the helpers every reader shares (splits, resizing).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "data/readers.h"
#include "data/shapes3d.h"
#include "engine/common.h"
#include "engine/rng.h"

namespace lpl::data {

namespace detail {

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  CounterRng rng{seed, 0x5311u};  // stream "split"
  for (int64_t i = n - 1; i > 0; --i) {
    Philox4 r = rng.block(static_cast<uint64_t>(i));
    auto j = static_cast<int64_t>(CounterRng::to_unit_d(r.v[0], r.v[1]) * static_cast<double>(i + 1));
    std::swap(p[i], p[std::min(j, i)]);
  }
  return p;
}

ImageSet subset(const ImageSet& set, const std::vector<int64_t>& idx, int64_t begin, int64_t end) {
  ImageSet out;
  out.n = end - begin;
  out.c = set.c; out.h = set.h; out.w = set.w;
  out.num_classes = set.num_classes;
  const size_t img = static_cast<size_t>(set.c * set.h * set.w);
  out.pixels.resize(static_cast<size_t>(out.n) * img);
  if (!set.labels.empty()) out.labels.resize(static_cast<size_t>(out.n));
  const size_t nf = set.n > 0 ? set.factor_labels.size() / static_cast<size_t>(set.n) : 0;
  out.factor_labels.resize(static_cast<size_t>(out.n) * nf);
  for (int64_t k = begin; k < end; ++k) {
    const int64_t i = idx[static_cast<size_t>(k)];
    std::copy_n(set.pixels.begin() + static_cast<ptrdiff_t>(i * img), img,
                out.pixels.begin() + static_cast<ptrdiff_t>((k - begin) * img));
    if (!set.labels.empty()) out.labels[static_cast<size_t>(k - begin)] = set.labels[static_cast<size_t>(i)];
    std::copy_n(set.factor_labels.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(i) * nf), nf,
                out.factor_labels.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(k - begin) * nf));
  }
  return out;
}

namespace {
// PIL's precompute_coeffs for the bilinear (triangle) filter: support widens when shrinking.
struct Taps {
  std::vector<int> start, count;
  std::vector<float> w;
  int kmax = 0;
};
Taps bilinear_taps(int in, int out) {
  Taps t;
  const double scale = static_cast<double>(in) / out, fs = std::max(scale, 1.0), support = fs;
  t.kmax = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(out); t.count.resize(out); t.w.assign(static_cast<size_t>(out) * t.kmax, 0.f);
  for (int o = 0; o < out; ++o) {
    const double center = (o + 0.5) * scale;
    int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    int hi = std::min(static_cast<int>(center + support + 0.5), in);
    int cnt = std::min(hi - lo, t.kmax);
    double total = 0;
    std::vector<double> w(static_cast<size_t>(cnt));
    for (int k = 0; k < cnt; ++k) {
      double x = (k + lo - center + 0.5) / fs;
      w[k] = std::max(0.0, 1.0 - std::abs(x));
      total += w[k];
    }
    t.start[o] = lo; t.count[o] = cnt;
    for (int k = 0; k < cnt; ++k) t.w[static_cast<size_t>(o) * t.kmax + k] = static_cast<float>(total > 0 ? w[k] / total : 0);
  }
  return t;
}
}  // namespace

void resize_bilinear_u8(const uint8_t* src, int C, int H, int W, uint8_t* dst, int OH, int OW) {
  Taps tx = bilinear_taps(W, OW), ty = bilinear_taps(H, OH);
  std::vector<float> mid(static_cast<size_t>(H) * OW);
  for (int c = 0; c < C; ++c) {
    const uint8_t* s = src + static_cast<int64_t>(c) * H * W;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < OW; ++x) {
        float acc = 0;
        for (int k = 0; k < tx.count[x]; ++k) acc += tx.w[x * tx.kmax + k] * s[y * W + tx.start[x] + k];
        mid[static_cast<size_t>(y) * OW + x] = acc;
      }
    uint8_t* d = dst + static_cast<int64_t>(c) * OH * OW;
    for (int y = 0; y < OH; ++y)
      for (int x = 0; x < OW; ++x) {
        float acc = 0;
        for (int k = 0; k < ty.count[y]; ++k) acc += ty.w[y * ty.kmax + k] * mid[static_cast<size_t>(ty.start[y] + k) * OW + x];
        d[y * OW + x] = static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
      }
  }
}

ImageSet resize_images(const ImageSet& set, int size) {
  if (set.h == size && set.w == size) return set;
  ImageSet out = set;
  out.h = out.w = size;
  const int64_t in_img = set.c * set.h * set.w, out_img = set.c * size * size;
  out.pixels.assign(static_cast<size_t>(set.n * out_img), 0);
  for (int64_t i = 0; i < set.n; ++i)
    resize_bilinear_u8(set.pixels.data() + i * in_img, static_cast<int>(set.c), static_cast<int>(set.h),
                       static_cast<int>(set.w), out.pixels.data() + i * out_img, size, size);
  return out;
}

ImageSet replicate_to_rgb(const ImageSet& set) {
  if (set.c == 3) return set;
  LPL_CHECK(set.c == 1, strf("replicate_to_rgb: %lld channels (want 1 or 3)", static_cast<long long>(set.c)));
  ImageSet out = set;
  out.c = 3;
  const int64_t P = set.h * set.w;
  out.pixels.resize(static_cast<size_t>(set.n * 3 * P));
  for (int64_t i = 0; i < set.n; ++i)
    for (int c = 0; c < 3; ++c)
      std::copy_n(set.pixels.begin() + i * P, P, out.pixels.begin() + (i * 3 + c) * P);
  return out;
}

}  // namespace detail

ImageSet first_images(const ImageSet& set, int64_t n) {
  if (n <= 0 || n >= set.n) return set;
  ImageSet out = set;
  out.n = n;
  // Every per-image array (whichever this dataset fills) keeps its first n images' entries.
  auto cut = [&](auto& v) { v.resize(v.size() / static_cast<size_t>(set.n) * static_cast<size_t>(n)); };
  cut(out.pixels);
  cut(out.pixels2);
  cut(out.fpixels);
  cut(out.fpixels2);
  cut(out.labels);
  cut(out.factor_labels);
  return out;
}

DatasetSplits load_dataset(const DataOptions& opt) {
#if LPL_HAVE_ZLIB
  if (opt.dataset == "fashion-mnist" || opt.dataset == "fashion_mnist") return detail::load_fashion_mnist(opt);
#endif
  if (opt.dataset == "cifar10") return detail::load_cifar10(opt);
  if (opt.dataset == "stl10") return detail::load_stl10(opt);
  if (opt.dataset == "pairs") return detail::load_pairs(opt);
#if LPL_HAVE_STB
  if (opt.dataset == "imagenet2012") return detail::load_imagenet(opt);
#endif
#if LPL_HAVE_HDF5
  if (opt.dataset == "shapes3d") return detail::load_shapes3d(opt);
#endif
  if (opt.dataset == "fashion-mnist" || opt.dataset == "shapes3d" || opt.dataset == "imagenet2012")
    fail("--dataset " + opt.dataset + ": not available in this build (the CUDA-only check build has no zlib / HDF5 / stb)");
  fail("--dataset " + opt.dataset + ": unknown (choose cifar10, stl10, fashion-mnist, shapes3d, imagenet2012, pairs)");
}

}  // namespace lpl::data
