// `pairs`: the user's own temporal pairs for contiguity experiments. --data_dir holds view1.npy and
// view2.npy (N x C x H x W, C = 3 or 1 (replicated), H, W >= 32; float32 used as given, uint8
// scaled to [0, 1]) and optionally labels.npy (int64 or int32, N). No augmentation and no
// normalisation. Splits: the SSL split is all N pairs; with labels, the view-1 images are permuted
// with split_seed and the first 80 % are the probe-training split, the rest the probe test split
// (no validation split); without labels the probe splits are empty.
#include <algorithm>

#include "data/npy.h"
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
// Copies image rows [idx[begin], idx[end]) of a (possibly 1-channel) array into 3-channel storage.
template <class T>
void gather(const T* src, int64_t C, int64_t P, const std::vector<int64_t>& idx, int64_t begin, int64_t end,
            std::vector<T>& dst) {
  dst.resize(static_cast<size_t>((end - begin) * 3 * P));
  for (int64_t k = begin; k < end; ++k)
    for (int c = 0; c < 3; ++c)
      std::copy_n(src + (idx[static_cast<size_t>(k)] * C + (C == 1 ? 0 : c)) * P, P, dst.begin() + ((k - begin) * 3 + c) * P);
}
}  // namespace

DatasetSplits load_pairs(const DataOptions& opt) {
  if (opt.data_dir.empty()) fail("pairs: --data_dir is required (a folder with view1.npy, view2.npy and optionally labels.npy)");
  const std::string dir = opt.data_dir;
  NpyRaw v1 = read_npy(dir + "/view1.npy"), v2 = read_npy(dir + "/view2.npy");
  auto shape_str = [](const NpyRaw& a) {
    std::string s;
    for (size_t i = 0; i < a.shape.size(); ++i) s += (i ? " x " : "") + std::to_string(a.shape[i]);
    return s;
  };
  if (v1.shape.size() != 4) fail("pairs: " + dir + "/view1.npy has shape " + shape_str(v1) + ", want N x C x H x W");
  if (v1.shape != v2.shape) fail("pairs: view1.npy is " + shape_str(v1) + " but view2.npy is " + shape_str(v2) + " (they must match)");
  if (v1.dtype != v2.dtype) fail("pairs: view1.npy is " + v1.dtype + " but view2.npy is " + v2.dtype + " (they must match)");
  if (v1.dtype != "f4" && v1.dtype != "u1") fail("pairs: view1.npy has dtype " + v1.dtype + ", want float32 or uint8");
  const int64_t N = v1.shape[0], C = v1.shape[1], H = v1.shape[2], W = v1.shape[3];
  if (C != 1 && C != 3) fail(strf("pairs: view1.npy has %lld channels, want 1 or 3", static_cast<long long>(C)));
  if (H < 32 || W < 32) fail(strf("pairs: images are %lld x %lld, want H, W >= 32", static_cast<long long>(H), static_cast<long long>(W)));
  if (N < 1) fail("pairs: view1.npy holds no images");
  if (v1.dtype == "f4") {
    check_finite_images(v1.as<float>(), N, C * H * W, "pairs: " + dir + "/view1.npy");
    check_finite_images(v2.as<float>(), N, C * H * W, "pairs: " + dir + "/view2.npy");
  }
  DatasetSplits d;
  d.name = "pairs";
  d.image_size = static_cast<int>(H);
  d.norm = {{0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}};
  d.augment = false;
  std::vector<int32_t> labels;
  if (file_exists(dir + "/labels.npy")) {
    NpyRaw l = read_npy(dir + "/labels.npy");
    if (l.shape.size() != 1 || l.shape[0] != N)
      fail(strf("pairs: labels.npy has shape %s, want (%lld,) like the views", shape_str(l).c_str(), static_cast<long long>(N)));
    if (l.dtype != "i8" && l.dtype != "i4") fail("pairs: labels.npy has dtype " + l.dtype + ", want int64 or int32");
    for (int64_t i = 0; i < N; ++i) {
      int64_t v = l.dtype == "i8" ? l.as<int64_t>()[i] : l.as<int32_t>()[i];
      if (v < 0) fail(strf("pairs: labels.npy: label %lld of image %lld is not a class index (labels are 0, 1, ...)", static_cast<long long>(v), static_cast<long long>(i)));
      if (v > kMaxClassLabel)
        fail(strf("pairs: labels.npy: label %lld of image %lld is above the bound of %lld (labels are class indices "
                  "0..C-1, and the probe holds one row per class)", static_cast<long long>(v), static_cast<long long>(i),
                  static_cast<long long>(kMaxClassLabel)));
      labels.push_back(static_cast<int32_t>(v));
    }
  }
  const int64_t P = H * W;
  std::vector<int64_t> all(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) all[static_cast<size_t>(i)] = i;
  auto make = [&](const std::vector<int64_t>& idx, int64_t b, int64_t e, bool both) {
    ImageSet s;
    s.n = e - b; s.c = 3; s.h = H; s.w = W;
    if (v1.dtype == "f4") {
      gather(v1.as<float>(), C, P, idx, b, e, s.fpixels);
      if (both) gather(v2.as<float>(), C, P, idx, b, e, s.fpixels2);
    } else {
      gather(v1.as<uint8_t>(), C, P, idx, b, e, s.pixels);
      if (both) gather(v2.as<uint8_t>(), C, P, idx, b, e, s.pixels2);
    }
    if (!labels.empty()) {
      for (int64_t k = b; k < e; ++k) s.labels.push_back(labels[static_cast<size_t>(idx[static_cast<size_t>(k)])]);
      s.num_classes = *std::max_element(labels.begin(), labels.end()) + 1;
    }
    return s;
  };
  d.ssl_train = make(all, 0, N, true);
  if (!labels.empty()) {
    auto perm = seeded_permutation(N, opt.split_seed);
    d.probe_train = make(perm, 0, N * 4 / 5, false);
    d.test = make(perm, N * 4 / 5, N, false);
  }
  return d;
}

}  // namespace lpl::data::detail
