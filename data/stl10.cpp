// STL-10, official binary version: stl10_binary/{unlabeled_X, train_X, train_y, test_X, test_y}.bin.
// Splits: the 100,000 unlabeled images are permuted with split_seed; the first 95,000 are the SSL
// split, the other 5,000 the validation split. The 5,000 labeled training images are permuted
// with split_seed + 1; the first 4,500 are the probe-training split (the other 500 are held out
// and not used). The 8,000 test images are the probe test split. --downsample_images resizes
// every image to 32 px (PIL bilinear, antialiased) at load.
#include "data/stl10.h"

#include <algorithm>
#include <fstream>

#include "data/download.h"
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
constexpr int64_t kSide = 96, kImage = 3 * kSide * kSide;
void check_size(const std::string& path, size_t got, int64_t want, const char* what) {
  if (static_cast<int64_t>(got) != want)
    fail(strf("stl10: %s has %zu bytes, want %lld (%s)%s", path.c_str(), got, static_cast<long long>(want), what,
              static_cast<int64_t>(got) < want ? ": truncated" : ": wrong size"));
}
}  // namespace

ImageSet read_stl10_images(const std::string& path, int64_t n) {
  if (!file_exists(path)) fail("stl10: missing file " + path);
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail("stl10: cannot open " + path);
  check_size(path, static_cast<size_t>(f.tellg()), n * kImage, strf("%lld images of 3 x 96 x 96", static_cast<long long>(n)).c_str());
  f.seekg(0);
  ImageSet s;
  s.n = n; s.c = 3; s.h = kSide; s.w = kSide;
  s.pixels.resize(static_cast<size_t>(n * kImage));
  // Read in chunks (the unlabeled file is 2.8 GB), transposing the column-major channels: byte
  // x * 96 + y of a channel is pixel (y, x).
  const int64_t chunk = 1024;
  std::vector<uint8_t> raw(static_cast<size_t>(chunk * kImage));
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    if (!f.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(m * kImage))) fail("stl10: cannot read " + path);
    for (int64_t i = 0; i < m * 3; ++i) {
      const uint8_t* src = raw.data() + i * kSide * kSide;
      uint8_t* dst = s.pixels.data() + (b * 3 + i) * kSide * kSide;
      for (int64_t x = 0; x < kSide; ++x)
        for (int64_t y = 0; y < kSide; ++y) dst[y * kSide + x] = src[x * kSide + y];
    }
  }
  return s;
}

std::vector<int32_t> read_stl10_labels(const std::string& path, int64_t n) {
  if (!file_exists(path)) fail("stl10: missing file " + path);
  std::vector<uint8_t> raw = read_file(path, "stl10");
  check_size(path, raw.size(), n, strf("%lld labels", static_cast<long long>(n)).c_str());
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (raw[i] < 1 || raw[i] > 10)
      fail(strf("stl10: %s: label %u of image %lld is outside 1..10", path.c_str(), raw[i], static_cast<long long>(i)));
    out[static_cast<size_t>(i)] = raw[i] - 1;
  }
  return out;
}

DatasetSplits load_stl10_from(const std::string& folder, const Stl10Counts& counts, uint64_t split_seed, bool downsample) {
  DatasetSplits d;
  d.name = "stl10";
  d.image_size = downsample ? 32 : 96;
  d.norm = {{0.43f, 0.42f, 0.39f}, {0.27f, 0.26f, 0.27f}};
  auto labeled = [&](const std::string& stem, int64_t n) {
    ImageSet s = read_stl10_images(folder + "/" + stem + "_X.bin", n);
    s.labels = read_stl10_labels(folder + "/" + stem + "_y.bin", n);
    s.num_classes = 10;
    return s;
  };
  auto finish = [&](ImageSet s) { return downsample ? resize_images(s, 32) : s; };
  ImageSet train = labeled("train", counts.train);
  d.test = finish(labeled("test", counts.test));
  auto tperm = seeded_permutation(train.n, split_seed + 1);
  d.probe_train = finish(subset(train, tperm, 0, train.n * 9 / 10));
  {
    ImageSet unl = read_stl10_images(folder + "/unlabeled_X.bin", counts.unlabeled);
    auto perm = seeded_permutation(unl.n, split_seed);
    const int64_t n_ssl = unl.n * 19 / 20;  // 95,000 of 100,000
    d.validation = finish(subset(unl, perm, n_ssl, unl.n));
    d.ssl_train = finish(subset(unl, perm, 0, n_ssl));
  }
  return d;
}

DatasetSplits load_stl10(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? default_data_dir("stl10") : opt.data_dir;
  const Stl10Counts official;
  if (file_exists(dir + "/unlabeled_X.bin")) return load_stl10_from(dir, official, opt.split_seed, opt.downsample_images);
  ensure_dataset({"stl10", "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
                  "91f7769df0f17e558f3565bffb0c7dfb", "stl10_binary/unlabeled_X.bin"},
                 dir);
  return load_stl10_from(dir + "/stl10_binary", official, opt.split_seed, opt.downsample_images);
}

}  // namespace lpl::data::detail
