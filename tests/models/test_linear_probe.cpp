// Linear probe: learns linearly separable features, stays at chance on shuffled labels, makes the
// first Adam step the float64 reference predicts, scores top-1/top-5 as the original, and its
// cross-validation folds partition the data.
#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "models/linear_probe.h"
#include "models/online_eval.h"
#include "test_util.h"

using namespace lpl;

namespace {

// Gaussian blobs around well separated class centres (distance >> noise): linearly separable.
void blobs(int64_t n, int64_t d, int classes, uint64_t seed, FeatureMatrix& x, std::vector<int32_t>& y,
           double noise = 0.3) {
  std::mt19937_64 g(1234);  // class centres fixed across calls so train and test share them
  std::normal_distribution<double> nd;
  std::vector<double> centres(static_cast<size_t>(classes * d));
  for (auto& c : centres) c = 3 * nd(g);
  std::mt19937_64 s(seed);
  x.n = n;
  x.d = d;
  x.x.resize(static_cast<size_t>(n * d));
  y.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(i % classes);
    y[static_cast<size_t>(i)] = k;
    for (int64_t j = 0; j < d; ++j)
      x.x[static_cast<size_t>(i * d + j)] = static_cast<float>(centres[static_cast<size_t>(k * d + j)] + noise * nd(s));
  }
}

}  // namespace

static void separable(Device dev) {
  FeatureMatrix xtr, xte;
  std::vector<int32_t> ytr, yte;
  blobs(3000, 24, 10, 1, xtr, ytr);
  blobs(1000, 24, 10, 2, xte, yte);
  ProbeOptions o;
  o.device = dev;
  LinearProbe p(24, 10, o);
  const auto losses = p.fit(xtr, ytr);
  REQUIRE(losses.size() == 20);
  CHECK(losses.back() < 0.2 * losses.front());
  const ProbeAccuracy a = p.evaluate(xte, yte);
  CHECK(a.top1 >= 0.99);
  CHECK(a.top5 >= a.top1);
  CHECK(a.top5 == 1.0);
}
LPL_TEST_ON_DEVICES("probe reaches ~100 % on linearly separable features", separable)

static void shuffled(Device dev) {
  FeatureMatrix xtr, xte;
  std::vector<int32_t> ytr, yte;
  blobs(4000, 32, 10, 3, xtr, ytr);
  blobs(4000, 32, 10, 4, xte, yte);
  std::mt19937_64 g(9);
  std::shuffle(ytr.begin(), ytr.end(), g);
  std::shuffle(yte.begin(), yte.end(), g);
  ProbeOptions o;
  o.device = dev;
  const ProbeAccuracy a = train_and_test_probe(xtr, ytr, xte, yte, 10, o);
  // Chance is 0.1 (std of the estimate ~0.005 for 4000 test rows).
  CHECK(a.top1 > 0.07);
  CHECK(a.top1 < 0.13);
  CHECK(a.top5 > 0.44);
  CHECK(a.top5 < 0.56);
}
LPL_TEST_ON_DEVICES("probe stays at chance on shuffled labels", shuffled)

static void first_adam_step(Device dev) {
  // One batch, one epoch: Adam's first step moves every parameter by lr * sign(gradient) (up to
  // eps), so the update reveals the gradient's sign, checked against a float64 reference.
  const int64_t n = 7, d = 4;
  const int c = 3;
  FeatureMatrix x;
  x.n = n;
  x.d = d;
  x.x = test::random_vec(static_cast<size_t>(n * d), 5);
  const std::vector<int32_t> y{0, 2, 1, 1, 0, 2, 2};
  ProbeOptions o;
  o.device = dev;
  o.epochs = 1;
  o.batch_size = 64;
  o.lr = 0.01;
  LinearProbe p(d, c, o);
  const auto w0 = p.weight();
  const auto b0 = p.bias();
  p.fit(x, y);
  std::vector<double> gw(static_cast<size_t>(c * d), 0.0), gb(c, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> z(c);
    double mx = -1e300;
    for (int k = 0; k < c; ++k) {
      z[k] = b0[k];
      for (int64_t j = 0; j < d; ++j) z[k] += static_cast<double>(w0[k * d + j]) * x.x[i * d + j];
      mx = std::max(mx, z[k]);
    }
    double s = 0;
    for (int k = 0; k < c; ++k) s += std::exp(z[k] - mx);
    for (int k = 0; k < c; ++k) {
      const double dz = (std::exp(z[k] - mx) / s - (k == y[i] ? 1.0 : 0.0)) / n;
      gb[k] += dz;
      for (int64_t j = 0; j < d; ++j) gw[k * d + j] += dz * x.x[i * d + j];
    }
  }
  for (size_t i = 0; i < gw.size(); ++i)
    CHECK(p.weight()[i] == doctest::Approx(w0[i] - 0.01 * (gw[i] > 0 ? 1 : -1)).epsilon(1e-5));
  for (int k = 0; k < c; ++k) CHECK(p.bias()[k] == doctest::Approx(b0[k] - 0.01 * (gb[k] > 0 ? 1 : -1)).epsilon(1e-5));
}
LPL_TEST_ON_DEVICES("probe's first Adam step follows the float64 cross-entropy gradient", first_adam_step)

TEST_CASE("top-5 equals top-1 with <= 5 classes; otherwise counts the 5 best") {
  FeatureMatrix l;
  l.n = 2;
  l.d = 4;
  l.x = {0.1f, 0.9f, 0.5f, 0.0f,   // label 2 is second best
         0.0f, 0.0f, 0.0f, 1.0f};  // label 3 is best
  auto a = topk_accuracy(l, {2, 3});
  CHECK(a.top1 == 0.5);
  CHECK(a.top5 == 0.5);
  l.d = 7;
  l.x = {7, 6, 5, 4, 3, 2, 1,   // label 4 ranks 5th -> in top 5
         7, 6, 5, 4, 3, 2, 1};  // label 5 ranks 6th -> not
  a = topk_accuracy(l, {4, 5});
  CHECK(a.top1 == 0);
  CHECK(a.top5 == 0.5);
}

TEST_CASE("cross-validation folds partition the data") {
  const auto folds = kfold_test_indices(103, 10, 0);
  REQUIRE(folds.size() == 10);
  std::multiset<int64_t> all;
  for (size_t f = 0; f < folds.size(); ++f) {
    CHECK(folds[f].size() == (f < 3 ? 11u : 10u));  // sklearn: the first n % k folds are larger
    all.insert(folds[f].begin(), folds[f].end());
  }
  REQUIRE(all.size() == 103);
  for (int64_t i = 0; i < 103; ++i) CHECK(all.count(i) == 1);
  CHECK(kfold_test_indices(103, 10, 0) == folds);  // deterministic
  CHECK(kfold_test_indices(103, 10, 1) != folds);  // shuffled by the seed
  CHECK_THROWS_WITH_AS(kfold_test_indices(5, 10, 0),
                       "cross-validation: need 2 <= folds <= samples, got 10 folds for 5 samples", Error);
}

TEST_CASE("cross-validated probe: mean and population std over the folds") {
  FeatureMatrix x;
  std::vector<int32_t> y;
  blobs(500, 8, 4, 6, x, y);
  ProbeOptions o;
  o.batch_size = 25;  // 16 Adam steps per epoch
  const CrossValidation cv = cross_validate_probe(x, y, 4, 5, o);
  REQUIRE(cv.folds.size() == 5);
  double m = 0;
  for (const auto& f : cv.folds) m += f.top1 / 5;
  double v = 0;
  for (const auto& f : cv.folds) v += (f.top1 - m) * (f.top1 - m) / 5;
  CHECK(cv.top1_mean == doctest::Approx(m));
  CHECK(cv.top1_std == doctest::Approx(std::sqrt(v)));
  CHECK(cv.top1_mean > 0.95);
  CHECK(cv.top5_mean == cv.top1_mean);  // 4 classes
}

TEST_CASE("probe refuses bad input with one clear message") {
  ProbeOptions o;
  LinearProbe p(3, 4, o);
  FeatureMatrix x;
  x.n = 2;
  x.d = 3;
  x.x = {1, 2, 3, 4, 5, 6};
  CHECK_THROWS_WITH_AS(p.fit(x, {0, 4}), "linear probe training: label 4 of row 1 is outside [0, 4)", Error);
  CHECK_THROWS_WITH_AS(p.fit(x, {0}), "linear probe training: 1 labels for 2 feature rows", Error);
  x.x[4] = std::nanf("");
  CHECK_THROWS_WITH_AS(p.fit(x, {0, 1}), "linear probe training: feature row 1 has a non-finite value", Error);
  FeatureMatrix wrong;
  wrong.n = 1;
  wrong.d = 2;
  wrong.x = {1, 2};
  CHECK_THROWS_WITH_AS(p.evaluate(wrong, {0}), "linear probe evaluation: features have dimension 2, the probe expects 3", Error);
  CHECK_THROWS_WITH_AS(LinearProbe(3, 1, o), "linear probe: need at least 2 classes, got 1", Error);
}

TEST_CASE("online evaluation returns the readout accuracy and the §6 metrics by name") {
  FeatureMatrix xtr, xte;
  std::vector<int32_t> ytr, yte;
  blobs(1200, 16, 10, 7, xtr, ytr);
  blobs(600, 16, 10, 8, xte, yte);
  OnlineEvalOptions o;
  o.probe.batch_size = 64;
  const auto r = online_evaluation(xtr, ytr, xte, yte, 10, o);
  REQUIRE(r.size() == 11);
  CHECK(r[0].first == "Performance/linear_readout_acc");
  CHECK(r[0].second > 0.98);
  CHECK(r[1].first == "Cosine Metrics/within_class_mean_cosine");
  CHECK(r[1].second > 0.9);  // tight blobs: rows of one class point the same way
  CHECK(r[10].first == "Push Metrics/kl_push");
  o.metrics = false;
  CHECK(online_evaluation(xtr, ytr, xte, yte, 10, o).size() == 1);
  CHECK(is_histogram_epoch(1));
  CHECK(is_histogram_epoch(800));
  CHECK_FALSE(is_histogram_epoch(2));
}
