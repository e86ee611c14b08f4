// The loader: epoch order, batch shapes, the evaluation view against a float64 reference, and
// identical batches for any thread count.
#include <algorithm>
#include <cmath>
#include <set>

#include "data/loader.h"
#include "models/features.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
// n images (3 x h x w) with smooth, image-dependent patterns; label = index % 7.
ImageSet make_set(int64_t n, int64_t h = 32, int64_t w = 32) {
  ImageSet s;
  s.n = n; s.c = 3; s.h = h; s.w = w;
  s.num_classes = 7;
  s.pixels.resize(static_cast<size_t>(n * 3 * h * w));
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          s.pixels[static_cast<size_t>(((i * 3 + c) * h + y) * w + x)] =
              static_cast<uint8_t>((i * 37 + c * 80 + y * 5 + x * 3 + (x * y) % 17) % 256);
  for (int64_t i = 0; i < n; ++i) s.labels.push_back(static_cast<int32_t>(i % 7));
  return s;
}
DatasetSplits meta_for(int size = 32) {
  DatasetSplits m;
  m.name = "synthetic";
  m.image_size = size;
  m.norm = {{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  return m;
}
}  // namespace

TEST_CASE("loader: the evaluation view is resize to int(1.1 S), centre crop S, normalise (float64 reference)") {
  ImageSet set = make_set(6);
  DatasetSplits meta = meta_for();
  LoaderOptions o;
  o.batch_size = 6;
  o.shuffle = false;
  o.augment = false;
  Loader ld(set, meta, o);
  ld.start_epoch(0);
  Batch b;
  REQUIRE(ld.next(b));
  CHECK(b.eval_view.shape() == Shape{6, 3, 32, 32});
  CHECK(b.view1.shape() == Shape{6, 3, 32, 32});
  auto ev = b.eval_view.to_vector();
  CHECK(b.view1.to_vector() == ev);
  CHECK(b.view2.to_vector() == ev);
  // torchvision: Resize(35) bilinear (half-pixel, clamped at the border), CenterCrop(32) at
  // offset round((35 - 32) / 2) = 2.
  const int R = 35, off = 2;
  std::vector<double> ref(ev.size());
  for (int64_t i = 0; i < 6; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          auto src = [&](int o) {
            double s = (o + off + 0.5) * 32.0 / R - 0.5;
            return std::clamp(s, 0.0, 31.0);
          };
          double sy = src(y), sx = src(x);
          int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);
          int y1 = std::min(y0 + 1, 31), x1 = std::min(x0 + 1, 31);
          double ly = sy - y0, lx = sx - x0;
          auto px = [&](int yy, int xx) { return set.pixels[static_cast<size_t>(((i * 3 + c) * 32 + yy) * 32 + xx)] / 255.0; };
          double v = (1 - ly) * ((1 - lx) * px(y0, x0) + lx * px(y0, x1)) + ly * ((1 - lx) * px(y1, x0) + lx * px(y1, x1));
          ref[static_cast<size_t>(((i * 3 + c) * 32 + y) * 32 + x)] = (v - meta.norm.mean[c]) / meta.norm.std[c];
        }
  test::check_close(ev, ref, 1e-5, 1e-5, "eval view");
  auto lab = b.labels;
  REQUIRE(lab.defined());
  CHECK(lab.dtype() == DType::I32);
  for (int i = 0; i < 6; ++i) CHECK(lab.data<int32_t>()[i] == i % 7);
  CHECK_FALSE(ld.next(b));
}

TEST_CASE("loader: an epoch visits every image once, in a seeded order that changes per epoch") {
  ImageSet set = make_set(50);
  for (int64_t i = 0; i < 50; ++i) set.labels[static_cast<size_t>(i)] = static_cast<int32_t>(i);  // label = index
  DatasetSplits meta = meta_for();
  LoaderOptions o;
  o.batch_size = 8;
  o.augment = false;
  o.drop_last = false;
  auto epoch_labels = [&](int64_t epoch, int threads) {
    LoaderOptions oo = o;
    oo.threads = threads;
    Loader ld(set, meta, oo);
    CHECK(ld.batches_per_epoch() == 7);
    ld.start_epoch(epoch);
    std::vector<int32_t> all;
    Batch b;
    int64_t step = 0;
    while (ld.next(b)) {
      CHECK(b.step_in_epoch == step++);
      CHECK(b.labels.dim(0) == (step == 7 ? 2 : 8));
      for (int64_t k = 0; k < b.labels.dim(0); ++k) all.push_back(b.labels.data<int32_t>()[k]);
    }
    CHECK(step == 7);
    return all;
  };
  auto e0 = epoch_labels(0, 1), e1 = epoch_labels(1, 1), e0b = epoch_labels(0, 3);
  CHECK(e0 == e0b);
  CHECK(e0 != e1);
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  // drop_last drops the partial batch.
  o.drop_last = true;
  Loader ld(set, meta, o);
  CHECK(ld.batches_per_epoch() == 6);
}

TEST_CASE("loader: a fixed seed gives identical augmented batches with 1 and with 2 threads") {
  ImageSet set = make_set(40);
  DatasetSplits meta = meta_for();
  auto run = [&](int threads, int prefetch) {
    LoaderOptions o;
    o.batch_size = 16;
    o.threads = threads;
    o.prefetch = prefetch;
    Loader ld(set, meta, o);
    std::vector<float> all;
    for (int64_t epoch : {3, 4}) {
      ld.start_epoch(epoch);
      Batch b;
      while (ld.next(b)) {
        for (const Tensor* t : {&b.view1, &b.view2, &b.eval_view}) {
          auto v = t->to_vector();
          all.insert(all.end(), v.begin(), v.end());
        }
      }
    }
    return all;
  };
  auto a = run(1, 2), b = run(2, 1), c = run(2, 4);
  REQUIRE(a.size() == static_cast<size_t>(2 * 2 * 3 * 16 * 3 * 32 * 32));
  CHECK(a == b);
  CHECK(a == c);
  // The two views differ from each other and from the evaluation view.
  const size_t V = 16 * 3 * 32 * 32;
  CHECK(!std::equal(a.begin(), a.begin() + V, a.begin() + V));
  CHECK(!std::equal(a.begin() + V, a.begin() + 2 * V, a.begin() + 2 * V));
}

TEST_CASE("loader: restarting an epoch midway gives the same batches") {
  ImageSet set = make_set(32);
  DatasetSplits meta = meta_for();
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = 2;
  Loader ld(set, meta, o);
  ld.start_epoch(5);
  Batch first, b;
  REQUIRE(ld.next(first));
  REQUIRE(ld.next(b));
  ld.start_epoch(5);
  REQUIRE(ld.next(b));
  CHECK(b.view1.to_vector() == first.view1.to_vector());
  CHECK(b.step_in_epoch == 0);
}

TEST_CASE("loader: resuming at batch k of an epoch gives that epoch's batches k, k+1, ... (checkpoint resume)") {
  ImageSet set = make_set(40);
  DatasetSplits meta = meta_for();
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = 2;
  Loader ld(set, meta, o);
  std::vector<std::vector<float>> full;
  ld.start_epoch(2);
  Batch b;
  while (ld.next(b)) full.push_back(b.view2.to_vector());
  REQUIRE(full.size() == 5);
  for (int64_t k : {0, 3, 4}) {
    ld.start_epoch(2, k);
    for (int64_t j = k; j < 5; ++j) {
      REQUIRE(ld.next(b));
      CHECK(b.step_in_epoch == j);
      CHECK(b.view2.to_vector() == full[static_cast<size_t>(j)]);
    }
    CHECK_FALSE(ld.next(b));
  }
  ld.start_epoch(2, 5);  // a checkpoint taken after the last batch: nothing left
  CHECK_FALSE(ld.next(b));
  CHECK_THROWS_WITH_AS(ld.start_epoch(2, 6), doctest::Contains("cannot start epoch 2 at batch 6 (it has 5 batches)"),
                       Error);
}

TEST_CASE("loader: bad options and splits are refused clearly") {
  ImageSet set = make_set(4);
  DatasetSplits meta = meta_for();
  LoaderOptions o;
  o.batch_size = 8;
  CHECK_THROWS_WITH_AS(Loader(set, meta, o), doctest::Contains("batch_size 8 is larger than the split (4 images)"), Error);
  o.batch_size = 0;
  CHECK_THROWS_WITH_AS(Loader(set, meta, o), doctest::Contains("batch_size 0 must be positive"), Error);
  o.batch_size = 2;
  o.threads = 0;
  CHECK_THROWS_WITH_AS(Loader(set, meta, o), doctest::Contains("threads 0 must be at least 1"), Error);
  o.threads = 1;
  ImageSet bad = set;
  bad.pixels.pop_back();
  CHECK_THROWS_WITH_AS(Loader(bad, meta, o), doctest::Contains("want n*c*h*w"), Error);
  Loader ld(set, meta, o);
  Batch b;
  CHECK_THROWS_WITH_AS(ld.next(b), doctest::Contains("call start_epoch first"), Error);
  ImageSet unl = set;
  unl.labels.clear();
  Loader lu(unl, meta, o);
  lu.start_epoch(0);
  REQUIRE(lu.next(b));
  CHECK_FALSE(b.labels.defined());
}

TEST_CASE("first_images keeps every per-image array consistent (uint8, float32 views, labels, factors)") {
  ImageSet s = make_set(5, 32, 32);
  const size_t img = 3 * 32 * 32;
  s.fpixels.assign(5 * img, 0.f);
  for (size_t k = 0; k < s.fpixels.size(); ++k) s.fpixels[k] = static_cast<float>(k);
  s.fpixels2 = s.fpixels;
  s.pixels2 = s.pixels;
  s.factor_labels.assign(5 * 6, 0);
  for (size_t k = 0; k < s.factor_labels.size(); ++k) s.factor_labels[k] = static_cast<int32_t>(k);
  const ImageSet h = first_images(s, 2);
  CHECK(h.n == 2);
  CHECK(h.pixels.size() == 2 * img);
  CHECK(h.pixels2.size() == 2 * img);
  CHECK(h.fpixels.size() == 2 * img);
  CHECK(h.fpixels2.size() == 2 * img);
  CHECK(h.fpixels.back() == static_cast<float>(2 * img - 1));
  CHECK(h.labels == std::vector<int32_t>{0, 1});
  CHECK(h.factor_labels.size() == 12);
  CHECK(h.factor_labels.back() == 11);
  // Float-only data (pairs of float32 .npy files): the loader accepts the head split.
  ImageSet f = s;
  f.pixels.clear();
  f.pixels2.clear();
  const ImageSet fh = first_images(f, 3);
  CHECK(fh.pixels.empty());
  CHECK(fh.fpixels.size() == 3 * img);
  LoaderOptions lo;
  lo.batch_size = 3;
  lo.shuffle = false;
  lo.augment = false;
  DatasetSplits meta = meta_for();
  meta.augment = false;
  CHECK_NOTHROW(Loader(fh, meta, lo));
  CHECK(first_images(s, 0).n == 5);   // 0: all
  CHECK(first_images(s, 99).n == 5);  // more than there are: all
}

TEST_CASE("loader: training batches without the evaluation view carry the same two views (issue 13)") {
  ImageSet set = make_set(40);
  DatasetSplits meta = meta_for();
  auto run = [&](bool eval_view, bool augment) {
    LoaderOptions o;
    o.batch_size = 16;
    o.threads = 2;
    o.eval_view = eval_view;
    o.augment = augment;
    Loader ld(set, meta, o);
    ld.start_epoch(5);
    std::vector<Batch> out;
    Batch b;
    while (ld.next(b)) out.push_back(b);
    return out;
  };
  const auto with = run(true, true), without = run(false, true);
  REQUIRE(with.size() == without.size());
  REQUIRE(!with.empty());
  for (size_t i = 0; i < with.size(); ++i) {
    CHECK(with[i].eval_view.defined());
    CHECK(!without[i].eval_view.defined());  // training never reads it: not made at all
    CHECK(without[i].view1.to_vector() == with[i].view1.to_vector());
    CHECK(without[i].view2.to_vector() == with[i].view2.to_vector());
    CHECK(labels_from_tensor(without[i].labels) == labels_from_tensor(with[i].labels));
  }
  // Without augmentation the views are the evaluation view: it is made whatever eval_view says.
  const auto plain = run(false, false);
  REQUIRE(!plain.empty());
  CHECK(plain[0].eval_view.defined());
  CHECK(plain[0].view1.to_vector() == plain[0].eval_view.to_vector());
}

TEST_CASE("loader: the shards of 2 and 3 ranks put together are the one-rank batches (data parallelism, issue 14)") {
  ImageSet set = make_set(50);
  DatasetSplits meta = meta_for();
  // Per batch: view 1, view 2, labels of the rows of `rank` of `ranks`.
  struct Rows {
    std::vector<std::vector<float>> v1, v2;
    std::vector<std::vector<int32_t>> labels;
  };
  auto run = [&](int rank, int ranks) {
    LoaderOptions o;
    o.batch_size = 12;
    o.threads = 2;
    o.eval_view = false;
    o.rank = rank;
    o.ranks = ranks;
    Loader ld(set, meta, o);
    ld.start_epoch(5, 1);  // mid-epoch (resume) too
    Rows r;
    Batch b;
    while (ld.next(b)) {
      CHECK(b.view1.dim(0) == 12 / ranks);
      r.v1.push_back(b.view1.to_vector());
      r.v2.push_back(b.view2.to_vector());
      std::vector<int32_t> l(static_cast<size_t>(b.labels.numel()));
      std::copy(b.labels.data<int32_t>(), b.labels.data<int32_t>() + l.size(), l.begin());
      r.labels.push_back(l);
    }
    return r;
  };
  const Rows one = run(0, 1);
  REQUIRE(one.v1.size() == 3);  // 50 / 12 = 4 batches, from batch 1 on
  for (int ranks : {2, 3}) {
    CAPTURE(ranks);
    std::vector<Rows> shards;
    for (int k = 0; k < ranks; ++k) shards.push_back(run(k, ranks));
    for (size_t b = 0; b < one.v1.size(); ++b) {
      std::vector<float> v1, v2;
      std::vector<int32_t> l;
      for (const Rows& s : shards) {
        v1.insert(v1.end(), s.v1[b].begin(), s.v1[b].end());
        v2.insert(v2.end(), s.v2[b].begin(), s.v2[b].end());
        l.insert(l.end(), s.labels[b].begin(), s.labels[b].end());
      }
      CHECK(v1 == one.v1[b]);
      CHECK(v2 == one.v2[b]);
      CHECK(l == one.labels[b]);
    }
  }
  LoaderOptions bad;
  bad.batch_size = 10;
  bad.ranks = 3;
  CHECK_THROWS_WITH_AS(Loader(set, meta, bad), doctest::Contains("does not split evenly over 3 ranks"), Error);
  bad.batch_size = 12;
  bad.rank = 3;
  CHECK_THROWS_WITH_AS(Loader(set, meta, bad), doctest::Contains("rank 3 of 3 ranks"), Error);
}
