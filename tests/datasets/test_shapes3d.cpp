// Shapes3D: trajectory properties (spec §4), HDF5 files generated here in the layout of
// 3dshapes.h5, consecutive-frame batches, and the refusals.

#include <filesystem>
#include <set>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/npy.h"
#include "data/shapes3d.h"
#include "data_files.h"
#include "shapes3d_h5.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
std::array<int, 6> decode(int64_t idx, const std::array<int, 6>& sizes) {
  std::array<int, 6> v{};
  for (int f = 5; f >= 0; --f) {
    v[static_cast<size_t>(f)] = static_cast<int>(idx % sizes[static_cast<size_t>(f)]);
    idx /= sizes[static_cast<size_t>(f)];
  }
  return v;
}

const std::array<int, 6> kSmall = {2, 2, 2, 2, 2, 3};  // 96 images
constexpr int kS = 16;
uint8_t px(int64_t i, int y, int x, int c) { return static_cast<uint8_t>((i + y + 2 * x + 50 * c) % 256); }

// A 3dshapes.h5 lookalike: 'images' N x S x S x 3 uint8 in flat factor order, 'labels' N x 6 float64.
void write_h5(const std::string& path, const std::array<int, 6>& sizes, bool scramble_labels = false) {
  int64_t N = 1;
  for (int s : sizes) N *= s;
  std::vector<uint8_t> img(static_cast<size_t>(N * kS * kS * 3));
  std::vector<double> lab(static_cast<size_t>(N * 6));
  for (int64_t i = 0; i < N; ++i) {
    for (int y = 0; y < kS; ++y)
      for (int x = 0; x < kS; ++x)
        for (int c = 0; c < 3; ++c) img[static_cast<size_t>(((i * kS + y) * kS + x) * 3 + c)] = px(i, y, x, c);
    auto v = decode(i, sizes);
    // Values like the real file's: hues 0, 0.1, ..; scale 0.75 + ..; shape 0..3; orientation -30..30.
    lab[static_cast<size_t>(i * 6 + 0)] = 0.1 * v[0];
    lab[static_cast<size_t>(i * 6 + 1)] = 0.1 * v[1];
    lab[static_cast<size_t>(i * 6 + 2)] = 0.1 * v[2];
    lab[static_cast<size_t>(i * 6 + 3)] = 0.75 + 0.5 * v[3] / (sizes[3] - 1);
    lab[static_cast<size_t>(i * 6 + 4)] = v[4];
    lab[static_cast<size_t>(i * 6 + 5)] = -30.0 + 60.0 * v[5] / (sizes[5] - 1);
  }
  if (scramble_labels) std::swap(lab[0], lab[static_cast<size_t>(6 * (N - 1))]);  // floor hue 0 <-> 1
  test::write_shapes3d_h5(path, N, kS, img, lab);
}
void write_traj(const std::string& path, int64_t seqs, int frames) {
  auto t = make_shapes3d_trajectories(3, seqs, frames, kSmall);
  write_npy(path, "i8", {seqs, frames}, t.data());
}
DatasetSplits load(const std::string& dir, int label_factor = -1) {
  DataOptions o;
  o.dataset = "shapes3d";
  o.data_dir = dir;
  o.label_factor = label_factor;
  return load_dataset(o);
}
}  // namespace

TEST_CASE("shapes3d: trajectories move exactly one non-shape factor by 1 (a quarter by 2), wrap hues, reflect the rest") {
  const int64_t seqs = 64000;
  const int frames = 17;
  auto t = make_shapes3d_trajectories(42, seqs, frames);
  REQUIRE(t.size() == static_cast<size_t>(seqs * frames));
  CHECK(t == make_shapes3d_trajectories(42, seqs, frames));
  CHECK(t != make_shapes3d_trajectories(43, seqs, frames));
  std::array<int, 6> moved{};
  int64_t steps = 0, double_steps = 0, hue_step1 = 0, hue_step1_all10 = 0;
  for (int64_t s = 0; s < seqs; ++s) {
    std::vector<std::array<int, 6>> v;
    for (int k = 0; k < frames; ++k) {
      REQUIRE(t[static_cast<size_t>(s * frames + k)] >= 0);
      REQUIRE(t[static_cast<size_t>(s * frames + k)] < 480000);
      v.push_back(decode(t[static_cast<size_t>(s * frames + k)], kShapes3dFactorSizes));
    }
    std::set<int> changing;
    for (int k = 1; k < frames; ++k)
      for (int f = 0; f < 6; ++f)
        if (v[static_cast<size_t>(k)][static_cast<size_t>(f)] != v[0][static_cast<size_t>(f)]) changing.insert(f);
    REQUIRE(changing.size() == 1);  // exactly one factor moves
    const int f = *changing.begin();
    REQUIRE(f != 4);                 // never the shape
    moved[static_cast<size_t>(f)]++;
    if (f == 3 || f == 5) {          // scale / orientation: steps of 1 or 2 (0 when reflecting a 2-step)
      int big = 0;
      for (int k = 1; k < frames; ++k) {
        int d = std::abs(v[static_cast<size_t>(k)][static_cast<size_t>(f)] - v[static_cast<size_t>(k - 1)][static_cast<size_t>(f)]);
        REQUIRE(d <= 2);
        big += d == 2;
      }
      ++steps;
      double_steps += big > 0;
    } else {
      std::set<int> hues;
      for (auto& x : v) hues.insert(x[static_cast<size_t>(f)]);
      if (hues.size() >= 9) { ++hue_step1; hue_step1_all10 += hues.size() == 10; }
    }
  }
  for (int f : {0, 1, 2, 3, 5}) CHECK(std::abs(moved[static_cast<size_t>(f)] / double(seqs) - 0.2) < 0.01);
  CHECK(std::abs(double_steps / double(steps) - 0.25) < 0.02);  // a quarter of the sequences step by 2
  CHECK(hue_step1 > 0);
  CHECK(hue_step1_all10 == hue_step1);  // 16 unit steps around 10 hues: the hue wraps and visits all
}

TEST_CASE("shapes3d: a generated 3dshapes.h5 loads NCHW, labels per --label_factor, splits and frame sequence") {
  test::TempDir d;
  write_h5(d / "3dshapes.h5", kSmall);
  write_traj(d / "3dshapes_trajectories.npy", 10, 5);
  DatasetSplits s = load(d.path);
  CHECK(s.name == "shapes3d");
  CHECK_FALSE(s.augment);
  CHECK(s.image_size == kS);
  CHECK(s.ssl_train.n == 96);
  CHECK(s.ssl_train.sequence.size() == 50);
  CHECK(s.probe_train.n == 64);
  CHECK(s.test.n == 32);
  CHECK(s.ssl_train.num_classes == 2);  // shape (default)
  for (int64_t i = 0; i < 96; ++i) {
    CHECK(s.ssl_train.labels[static_cast<size_t>(i)] == decode(i, kSmall)[4]);
    for (int c = 0; c < 3; ++c) CHECK(s.ssl_train.pixels[static_cast<size_t>(((i * 3 + c) * kS + 3) * kS + 7)] == px(i, 3, 7, c));
  }
  DatasetSplits o = load(d.path, 5);
  CHECK(o.ssl_train.num_classes == 3);
  for (int64_t i = 0; i < 96; ++i) CHECK(o.ssl_train.labels[static_cast<size_t>(i)] == i % 3);
  // Every factor's class index travels with the images through the splits (eval_linear probes each).
  CHECK(s.factor_sizes == std::vector<int>(kSmall.begin(), kSmall.end()));
  REQUIRE(s.ssl_train.factor_labels.size() == 96 * 6);
  for (int64_t i = 0; i < 96; ++i)
    for (int f = 0; f < 6; ++f) CHECK(s.ssl_train.factor_labels[static_cast<size_t>(i * 6 + f)] == decode(i, kSmall)[static_cast<size_t>(f)]);
  for (const ImageSet* split : {&s.probe_train, &s.test}) {
    REQUIRE(split->factor_labels.size() == static_cast<size_t>(split->n * 6));
    for (int64_t i = 0; i < split->n; ++i) {
      // Find the image by its pixels (px() is distinct for every index here), then its factors.
      int64_t idx = -1;
      for (int64_t j = 0; j < 96 && idx < 0; ++j)
        if (split->pixels[static_cast<size_t>(i * 3 * kS * kS)] == px(j, 0, 0, 0) &&
            split->pixels[static_cast<size_t>(i * 3 * kS * kS + 1)] == px(j, 0, 1, 0))
          idx = j;
      REQUIRE(idx >= 0);
      for (int f = 0; f < 6; ++f)
        CHECK(split->factor_labels[static_cast<size_t>(i * 6 + f)] == decode(idx, kSmall)[static_cast<size_t>(f)]);
      CHECK(split->labels[static_cast<size_t>(i)] == split->factor_labels[static_cast<size_t>(i * 6 + 4)]);
    }
  }
  // Consecutive-frame batches: blocks of B + 1 frames, view 2 row r = view 1 row r + 1.
  LoaderOptions lo;
  lo.batch_size = 4;
  lo.threads = 2;
  Loader ld(s.ssl_train, s, lo);
  CHECK(ld.batches_per_epoch() == 10);  // 50 frames / blocks of 5
  ld.start_epoch(0);
  Batch b;
  std::set<int64_t> blocks;
  while (ld.next(b)) {
    CHECK(b.view1.shape() == Shape{4, 3, kS, kS});
    auto v1 = b.view1.to_vector(), v2 = b.view2.to_vector();
    const size_t V = 3 * kS * kS;
    // Which block: find the frame of view 1 row 0 among the block starts.
    int64_t found = -1;
    for (int64_t blk = 0; blk < 10; ++blk) {
      const int64_t img = s.ssl_train.sequence[static_cast<size_t>(blk * 5)];
      if (std::abs(v1[0] - px(img, 0, 0, 0) / 255.f) < 1e-6f && std::abs(v1[1] - px(img, 0, 1, 0) / 255.f) < 1e-6f &&
          std::abs(v1[V - 1] - px(img, kS - 1, kS - 1, 2) / 255.f) < 1e-6f && !blocks.count(blk)) {
        found = blk;
        break;
      }
    }
    REQUIRE(found >= 0);
    blocks.insert(found);
    for (int r = 0; r < 4; ++r) {
      const int64_t i1 = s.ssl_train.sequence[static_cast<size_t>(found * 5 + r)], i2 = s.ssl_train.sequence[static_cast<size_t>(found * 5 + r + 1)];
      CHECK(v1[r * V + 5] == doctest::Approx(px(i1, 0, 5, 0) / 255.0));
      CHECK(v2[r * V + 5] == doctest::Approx(px(i2, 0, 5, 0) / 255.0));
      CHECK(b.labels.data<int32_t>()[r] == decode(i1, kSmall)[4]);
    }
  }
  CHECK(blocks.size() == 10);
}

TEST_CASE("shapes3d: datasets declaring 2^61 images are refused before any allocation (issue 11)") {
  test::TempDir d;
  test::write_shapes3d_h5_declared(d / "3dshapes.h5", uint64_t{1} << 61, 64);
  write_traj(d / "3dshapes_trajectories.npy", 4, 3);
  const std::string want = "shapes3d: " + (d / "3dshapes.h5") +
                           ": 'labels': declared shape (2305843009213693952,6) is too large (overflows 64-bit byte count)";
  CHECK_THROWS_WITH_AS(load(d.path), want.c_str(), Error);
}

TEST_CASE("shapes3d: missing, corrupt, truncated and inconsistent files give one clear error") {
  test::TempDir d;
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains("https://storage.googleapis.com/3d-shapes/3dshapes.h5"), Error);
  write_h5(d / "3dshapes.h5", kSmall);
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains(("make_shapes3d_trajectories --out " + d.path + "/3dshapes_trajectories.npy").c_str()), Error);
  write_traj(d / "3dshapes_trajectories.npy", 4, 3);
  CHECK(load(d.path).ssl_train.n == 96);
  CHECK_THROWS_WITH_AS(load(d.path, 6), doctest::Contains("--label_factor 6: choose 0..5"), Error);
  std::vector<int64_t> bad{0, 1, 96, 2};
  write_npy(d / "3dshapes_trajectories.npy", "i8", {2, 2}, bad.data());
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains("frame 2 refers to image 96, but"), Error);
  write_traj(d / "3dshapes_trajectories.npy", 4, 3);
  auto bytes = test::read_bytes(d / "3dshapes.h5");
  auto cut = bytes;
  cut.resize(cut.size() / 2);
  test::write_bytes(d / "3dshapes.h5", cut);
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains("(truncated or corrupt?)"), Error);
  test::write_bytes(d / "3dshapes.h5", std::vector<uint8_t>(4096, 7));
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains("is not a readable HDF5 file"), Error);
  write_h5(d / "3dshapes.h5", kSmall, true);
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains("is not in the flat factor order of spec"), Error);
}
