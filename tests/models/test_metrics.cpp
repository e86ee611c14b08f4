// Representation metrics (spec §5), the §6 histogram quantities and the float64 eigensolver, against
// hand-computed values on tiny inputs and brute-force pair sums on random ones.
#include <cmath>
#include <numeric>
#include <random>

#include "models/histograms.h"
#include "models/linalg64.h"
#include "models/metrics.h"
#include "test_util.h"

using namespace lpl;
using lpl::linalg::Mat;

namespace {

FeatureMatrix fm(int64_t n, int64_t d, std::vector<float> v) {
  FeatureMatrix m;
  m.n = n;
  m.d = d;
  m.x = std::move(v);
  return m;
}

Mat mat(int64_t n, std::vector<double> v) {
  Mat m(n, n);
  m.v = std::move(v);
  return m;
}

void check_eigs(const std::vector<double>& got, std::vector<double> want, double tol) {
  std::sort(want.begin(), want.end());
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol, i << ": " << got[i] << " vs " << want[i]);
}

double cosd(const double* a, const double* b, int64_t d) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t k = 0; k < d; ++k) ab += a[k] * b[k], aa += a[k] * a[k], bb += b[k] * b[k];
  return ab / std::sqrt(aa * bb);
}

}  // namespace

TEST_CASE("symmetric eigenvalues of hand-computed matrices") {
  check_eigs(linalg::symmetric_eigenvalues(mat(1, {-4})), {-4}, 1e-14);
  check_eigs(linalg::symmetric_eigenvalues(mat(2, {2, 1, 1, 2})), {1, 3}, 1e-13);
  check_eigs(linalg::symmetric_eigenvalues(mat(3, {2, -1, 0, -1, 2, -1, 0, -1, 2})),
             {2 - std::sqrt(2.0), 2, 2 + std::sqrt(2.0)}, 1e-13);
  // Full (not tridiagonal) 3x3 with eigenvalues 0, 0, 3 (all-ones) and a repeated eigenvalue.
  check_eigs(linalg::symmetric_eigenvalues(mat(3, {1, 1, 1, 1, 1, 1, 1, 1, 1})), {0, 0, 3}, 1e-13);
  check_eigs(linalg::symmetric_eigenvalues(mat(4, {5, 0, 0, 0, 0, -1, 0, 0, 0, 0, 5, 0, 0, 0, 0, 2})), {-1, 2, 5, 5},
             1e-14);
  CHECK_THROWS_WITH_AS(linalg::symmetric_eigenvalues(Mat(2, 3)), "symmetric_eigenvalues: matrix must be square, got 2 x 3",
                       Error);
}

TEST_CASE("symmetric eigenvalues of a rank-deficient Gram matrix (fewer samples than units, dead units)") {
  // X^T X of 6 samples x 200 units (20 of them dead, as ReLU features are): 194 zero eigenvalues,
  // and the other 6 equal those of X X^T. Such blocks of zeros never met the relative deflation test.
  const int64_t n = 6, d = 200;
  std::mt19937_64 g(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x[static_cast<size_t>(i * d + j)] = j % 10 == 3 ? 0.0 : static_cast<float>(u(g));
  Mat gram(d, d), small(n, n);
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < d; ++b)
      for (int64_t i = 0; i < n; ++i) gram(a, b) += x[static_cast<size_t>(i * d + a)] * x[static_cast<size_t>(i * d + b)];
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b)
      for (int64_t j = 0; j < d; ++j) small(a, b) += x[static_cast<size_t>(a * d + j)] * x[static_cast<size_t>(b * d + j)];
  std::vector<double> ev = linalg::symmetric_eigenvalues(gram), top = linalg::symmetric_eigenvalues(small);
  REQUIRE(ev.size() == static_cast<size_t>(d));
  const double scale = top.back();
  for (int64_t i = 0; i < d - n; ++i) CHECK(std::abs(ev[static_cast<size_t>(i)]) <= 1e-12 * scale);
  for (int64_t i = 0; i < n; ++i) CHECK(std::abs(ev[static_cast<size_t>(d - n + i)] - top[static_cast<size_t>(i)]) <= 1e-12 * scale);
}

TEST_CASE("symmetric eigenvalues of Q diag(lambda) Q^T") {
  const int64_t n = 40;
  std::mt19937_64 g(5);
  std::normal_distribution<double> nd;
  // Orthonormal Q by Gram-Schmidt of a random matrix (columns).
  Mat q(n, n);
  for (double& v : q.v) v = nd(g);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t p = 0; p < j; ++p) {
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += q(i, j) * q(i, p);
      for (int64_t i = 0; i < n; ++i) q(i, j) -= dot * q(i, p);
    }
    double nrm = 0;
    for (int64_t i = 0; i < n; ++i) nrm += q(i, j) * q(i, j);
    for (int64_t i = 0; i < n; ++i) q(i, j) /= std::sqrt(nrm);
  }
  std::vector<double> lam(n);
  for (int64_t i = 0; i < n; ++i) lam[static_cast<size_t>(i)] = (i % 7 == 0) ? 3.0 : std::pow(1.3, static_cast<double>(i)) - 20;
  Mat a(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += q(i, k) * lam[static_cast<size_t>(k)] * q(j, k);
      a(i, j) = s;
    }
  check_eigs(linalg::symmetric_eigenvalues(a), lam, 1e-9 * 3e4);
}

TEST_CASE("cosine metrics of a hand-computed case") {
  // Centred rows (2,0), (0,2), (-2,1), (0,-3), shifted by (1,-2); classes {0,1} and {2,3}.
  // within = (0 + (-1/sqrt5)) / 2, cross = (-2/sqrt5 + 0 + 1/sqrt5 - 1) / 4, ratio = |within / cross|.
  const auto x = fm(4, 2, {3, -2, 1, 0, -1, -1, 1, -5});
  const auto c = metrics::cosine_metrics(x, {7, 7, 3, 3});
  const double s5 = std::sqrt(5.0);
  CHECK(c.within == doctest::Approx(-0.5 / s5).epsilon(1e-12));
  CHECK(c.cross == doctest::Approx((-1 / s5 - 1) / 4).epsilon(1e-12));
  CHECK(c.ratio == doctest::Approx((0.5 / s5) / ((1 / s5 + 1) / 4)).epsilon(1e-12));
}

TEST_CASE("cosine metrics match brute-force pair sums; a one-sample class has no within pairs") {
  const int64_t n = 150, d = 9;
  auto v = test::random_vec(static_cast<size_t>(n * d), 11, -1, 2);
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7) % 5);
  y[0] = 9;  // class 9 has a single sample
  const auto x = fm(n, d, v);
  const Mat c = linalg::center_rows(linalg::from_f32(v.data(), n, d));
  std::vector<double> wsum(10, 0), wcnt(10, 0);
  double csum = 0, ccnt = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      const double s = cosd(c.row(i), c.row(j), d);
      if (y[i] == y[j]) wsum[y[i]] += s, wcnt[y[i]] += 1;
      else csum += s, ccnt += 1;
    }
  double within = 0;
  for (int k = 0; k < 5; ++k) within += wsum[k] / wcnt[k] / 5;
  const auto m = metrics::cosine_metrics(x, y);
  CHECK(m.within == doctest::Approx(within).epsilon(1e-11));
  CHECK(m.cross == doctest::Approx(csum / ccnt).epsilon(1e-11));
}

TEST_CASE("manifold metrics of a hand-computed case") {
  // Class 0: (0,0,0), (2,0,0) -> centre (1,0,0), radius 1. Class 1: (0,2,0), (0,2,2) -> centre
  // (0,2,1), radius 1. Global radius (sqrt(1.5) + sqrt(3.5)) / 2; each class has PR 1 (one direction);
  // centroid correlation = (2/3,-1/3,-1/3).(-1,1,0) / (sqrt(6)/3 * sqrt(2)) = -sqrt(3)/2.
  const auto x = fm(4, 3, {0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 2, 2});
  const auto m = metrics::manifold_metrics(x, {0, 0, 1, 1});
  const double R = (std::sqrt(1.5) + std::sqrt(3.5)) / 2;
  CHECK(m.global_radius == doctest::Approx(R).epsilon(1e-12));
  CHECK(m.mean_class_radius == doctest::Approx(1 / R).epsilon(1e-12));
  CHECK(m.mean_class_dim == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(m.mean_class_correlation == doctest::Approx(-std::sqrt(3.0) / 2).epsilon(1e-12));
}

TEST_CASE("participation ratio: whole set and eval.py's per-batch mean") {
  // Centred rows (1,0), (-1,0), (0,2), (0,-2): covariance diag(2, 8) -> PR = 10^2 / (4 + 64).
  const auto x = fm(4, 2, {1, 0, -1, 0, 0, 2, 0, -2});
  CHECK(metrics::participation_ratio(x) == doctest::Approx(100.0 / 68.0).epsilon(1e-12));
  // Batches of 2: each batch spans one direction -> PR 1.
  CHECK(metrics::batch_mean_participation_ratio(x, 2) == doctest::Approx(1.0).epsilon(1e-12));
  // Batches of 3: [(1,0), (-1,0), (0,2)] has centred covariance diag(2, 8/3) -> PR 1.96; the
  // one-row batch left over has no PR and is skipped.
  CHECK(metrics::batch_mean_participation_ratio(x, 3) == doctest::Approx(1.96).epsilon(1e-12));
  // More rows than dimensions and more dimensions than rows give the same PR (X_c^T X_c vs X_c X_c^T).
  const int64_t n = 30, d = 12;
  auto v = test::random_vec(static_cast<size_t>(n * d), 3);
  const auto a = fm(n, d, v);
  const Mat c = linalg::center_rows(linalg::from_f32(v.data(), n, d));
  const auto eig = linalg::symmetric_eigenvalues(linalg::gram_rows(c));
  double s = 0, s2 = 0;
  for (double l : eig) s += l, s2 += l * l;
  CHECK(metrics::participation_ratio(a) == doctest::Approx(s * s / s2).epsilon(1e-10));
  CHECK(metrics::participation_ratio(a, 0, 5) == doctest::Approx(metrics::participation_ratio(fm(5, d, {v.begin(), v.begin() + 5 * d}))).epsilon(1e-12));
}

TEST_CASE("push metrics and mean activation of a hand-computed case") {
  // Rows e1, e2, (1,1): cosines 0, 1/sqrt2, 1/sqrt2.
  const auto x = fm(3, 2, {1, 0, 0, 1, 1, 1});
  const auto p = metrics::push_metrics(x);
  CHECK(p.cosine_push == doctest::Approx(1.0 / 3.0).epsilon(1e-12));
  const double d2 = 2 - std::sqrt(2.0);  // ||u_a - u_b||^2 = 2 - 2 cos
  CHECK(p.uniformity_push == doctest::Approx(std::log((std::exp(-4.0) + 2 * std::exp(-2 * d2)) / 3)).epsilon(1e-12));
  // Per column: mean 2/3, unbiased variance 1/3.
  const double var = 1.0 / 3.0 + 1e-4;
  CHECK(p.kl_push == doctest::Approx(-0.5 * (1 + std::log(var) - 4.0 / 9.0 - var)).epsilon(1e-12));
  CHECK(metrics::mean_activation(x) == doctest::Approx(4.0 / 6.0).epsilon(1e-12));
}

TEST_CASE("push metrics match brute force over pairs (more rows than one block)") {
  const int64_t n = 133, d = 5;
  auto v = test::random_vec(static_cast<size_t>(n * d), 8, -1, 1);
  const Mat X = linalg::from_f32(v.data(), n, d);
  double c2 = 0, u = 0;
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      if (a == b) continue;
      const double c = cosd(X.row(a), X.row(b), d);
      c2 += c * c;
      if (a < b) u += std::exp(-2 * (2 - 2 * c));
    }
  const auto p = metrics::push_metrics(fm(n, d, v));
  CHECK(p.cosine_push == doctest::Approx(c2 / (n * (n - 1))).epsilon(1e-11));
  CHECK(p.uniformity_push == doctest::Approx(std::log(u / (n * (n - 1) / 2))).epsilon(1e-11));
}

TEST_CASE("named metrics use the TensorBoard names of spec §6") {
  const auto x = fm(4, 2, {3, -2, 1, 0, -1, -1, 1, -5});
  const auto named = metrics::named_representation_metrics(x, {0, 0, 1, 1});
  REQUIRE(named.size() == 10);
  CHECK(named[0].first == "Cosine Metrics/within_class_mean_cosine");
  CHECK(named[2].first == "Cosine Metrics/ratio");
  CHECK(named[6].first == "Manifold Metrics/mean_class_dim");
  CHECK(named[9].first == "Push Metrics/kl_push");
  CHECK(named[2].second == doctest::Approx(metrics::cosine_metrics(x, {0, 0, 1, 1}).ratio));
}

TEST_CASE("metrics refuse inputs that do not fit") {
  CHECK_THROWS_WITH_AS(metrics::cosine_metrics(fm(3, 2, {1, 0, 0, 1, 1, 1}), {0, 1}),
                       "cosine_metrics: 2 labels for 3 feature rows", Error);
  CHECK_THROWS_WITH_AS(metrics::push_metrics(fm(1, 2, {1, 0})),
                       "push_metrics: need at least 2 feature rows of dimension >= 1, got 1 x 2", Error);
}

TEST_CASE("histogram quantities of a hand-computed case") {
  // X = [(1,0), (0,1), (1,1)]: unit activities 2/3; unit correlation -1/2 -> correlation eigenvalues
  // 1/2, 3/2; X^T X = [[2,1],[1,2]] -> 1, 3; centred rows (1,-2)/3, (-2,1)/3, (1,1)/3 have cosines
  // -4/5, -1/sqrt10, -1/sqrt10.
  const auto h = metrics::histogram_values(fm(3, 2, {1, 0, 0, 1, 1, 1}));
  check_eigs(h.unit_activities, {2.0 / 3, 2.0 / 3}, 1e-12);
  REQUIRE(h.unit_correlations.size() == 1);
  CHECK(h.unit_correlations[0] == doctest::Approx(-0.5).epsilon(1e-7));
  check_eigs(h.corr_eig_vals, {0.5, 1.5}, 1e-7);
  check_eigs(h.corr_eig_vals_normalized, {std::log(1.0 / 3), 0}, 1e-7);
  check_eigs(h.gram_eig_vals, {1, 3}, 1e-12);
  check_eigs(h.gram_eig_vals_normalized, {std::log(1.0 / 3), 0}, 1e-12);
  CHECK(h.cos_dists.num == 3);
  CHECK(h.cos_dists.min == doctest::Approx(-0.8).epsilon(1e-12));
  CHECK(h.cos_dists.max == doctest::Approx(-1 / std::sqrt(10.0)).epsilon(1e-12));
  CHECK(h.cos_dists.sum == doctest::Approx(-0.8 - 2 / std::sqrt(10.0)).epsilon(1e-12));
  CHECK(h.cos_dists.sum_squares == doctest::Approx(0.64 + 0.2).epsilon(1e-12));
  const auto named = metrics::named_histograms(fm(3, 2, {1, 0, 0, 1, 1, 1}));
  REQUIRE(named.size() == 7);
  CHECK(named[0].first == "Activity Statistics/unit_activities");
  CHECK(named[6].first == "Embedding Similarity/cos_dists");
}

TEST_CASE("streaming histograms equal the TensorBoard writer's histograms of the same values") {
  const auto& l = metrics::Histogram::limits();
  CHECK(l.size() == 2 * 774 + 2);  // 1e-12 * 1.1^k < 1e20 for k = 0..773, 0 and DBL_MAX
  CHECK(l[774] == 0.0);
  CHECK(l[775] == 1e-12);
  std::vector<double> v{0.5, 0.5, -0.25, 2.0, 0.0, -1e-13, 3e25};
  for (float x : test::random_vec(500, 4, -3, 3)) v.push_back(x);
  // Accumulated in two parts and merged, as the pair reductions do per thread.
  metrics::Histogram a = metrics::histogram_of({v.begin(), v.begin() + 100});
  a.merge(metrics::histogram_of({v.begin() + 100, v.end()}));
  const tb::Histogram got = a.to_tb(), want = tb::make_histogram(v);
  CHECK(got.min == want.min);
  CHECK(got.max == want.max);
  CHECK(got.num == want.num);
  CHECK(got.sum == doctest::Approx(want.sum).epsilon(1e-14));
  CHECK(got.sum_squares == doctest::Approx(want.sum_squares).epsilon(1e-14));
  CHECK(got.bucket_limit == want.bucket_limit);
  CHECK(got.bucket == want.bucket);
  // 2.0 lies in [2.0 / 1.1^a, 2.0 * 1.1^b): the bucket whose limit is the first one above it.
  metrics::Histogram one = metrics::histogram_of({2.0});
  const tb::Histogram t = one.to_tb();
  REQUIRE(t.bucket_limit.size() == 1);
  CHECK(t.bucket_limit[0] > 2.0);
  CHECK(t.bucket_limit[0] / 1.1 <= 2.0 * (1 + 1e-12));
  CHECK(t.bucket[0] == 1);
}
