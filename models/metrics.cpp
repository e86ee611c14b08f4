#include "models/metrics.h"

#include <cmath>
#include <limits>
#include <map>

#include "engine/common.h"
#include "models/linalg64.h"

namespace lpl::metrics {
namespace {

using linalg::Mat;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct SumAcc {
  double s = 0;
  void merge(const SumAcc& o) { s += o.s; }
};

void check_input(const FeatureMatrix& x, const std::vector<int32_t>* y, const char* what) {
  LPL_CHECK(x.n >= 2 && x.d >= 1, strf("%s: need at least 2 feature rows of dimension >= 1, got %lld x %lld", what,
                                       static_cast<long long>(x.n), static_cast<long long>(x.d)));
  LPL_CHECK(static_cast<int64_t>(x.x.size()) == x.n * x.d, strf("%s: feature matrix holds %zu values, not %lld x %lld",
                                                               what, x.x.size(), static_cast<long long>(x.n),
                                                               static_cast<long long>(x.d)));
  if (y)
    LPL_CHECK(static_cast<int64_t>(y->size()) == x.n, strf("%s: %zu labels for %lld feature rows", what, y->size(),
                                                          static_cast<long long>(x.n)));
}

// Row indices of each class, classes in ascending label order.
std::vector<std::vector<int64_t>> group_by_class(const std::vector<int32_t>& y) {
  std::map<int32_t, std::vector<int64_t>> g;
  for (size_t i = 0; i < y.size(); ++i) g[y[i]].push_back(static_cast<int64_t>(i));
  std::vector<std::vector<int64_t>> out;
  for (auto& [label, idx] : g) out.push_back(std::move(idx));
  return out;
}

Mat gather(const Mat& x, const std::vector<int64_t>& idx) {
  Mat m(static_cast<int64_t>(idx.size()), x.cols);
  for (size_t i = 0; i < idx.size(); ++i)
    std::copy(x.row(idx[i]), x.row(idx[i]) + x.cols, m.row(static_cast<int64_t>(i)));
  return m;
}

double pr_of(const Mat& rows) {
  if (rows.rows < 2) return kNaN;
  const Mat c = linalg::center_rows(rows);
  const Mat g = c.rows <= c.cols ? linalg::gram_rows(c) : linalg::gram_cols(c);
  double tr = 0, fro = 0;
  for (int64_t i = 0; i < g.rows; ++i) tr += g(i, i);
  for (double v : g.v) fro += v * v;
  return fro > 0 ? tr * tr / fro : kNaN;
}

double sum_sq(const double* a, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * a[i];
  return s;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) s += x, ++n;
  return n > 0 ? s / static_cast<double>(n) : kNaN;
}

}  // namespace

CosineMetrics cosine_metrics(const FeatureMatrix& x, const std::vector<int32_t>& y) {
  check_input(x, &y, "cosine_metrics");
  // sum_{i<j in S} u_i . u_j = (||sum_S u||^2 - sum_S ||u||^2) / 2 for the normalised centred rows u.
  const Mat u = linalg::normalize_rows(linalg::center_rows(linalg::from_f32(x.x.data(), x.n, x.d)));
  auto pair_sum = [&](const std::vector<int64_t>& idx) {
    std::vector<double> s(static_cast<size_t>(u.cols), 0.0);
    double diag = 0;
    for (int64_t i : idx) {
      const double* r = u.row(i);
      for (int64_t k = 0; k < u.cols; ++k) s[static_cast<size_t>(k)] += r[k];
      diag += sum_sq(r, u.cols);
    }
    return (sum_sq(s.data(), u.cols) - diag) / 2;
  };
  std::vector<int64_t> all(static_cast<size_t>(x.n));
  for (int64_t i = 0; i < x.n; ++i) all[static_cast<size_t>(i)] = i;
  const double total = pair_sum(all);
  const double total_pairs = static_cast<double>(x.n) * static_cast<double>(x.n - 1) / 2;
  double within_sum = 0, within_pairs = 0;
  std::vector<double> class_means;
  for (const auto& idx : group_by_class(y)) {
    const double n = static_cast<double>(idx.size());
    const double s = pair_sum(idx), pairs = n * (n - 1) / 2;
    within_sum += s;
    within_pairs += pairs;
    class_means.push_back(pairs > 0 ? s / pairs : kNaN);
  }
  CosineMetrics m;
  m.within = mean_of(class_means);
  const double cross_pairs = total_pairs - within_pairs;
  m.cross = cross_pairs > 0 ? (total - within_sum) / cross_pairs : kNaN;
  m.ratio = std::abs(m.within / m.cross);
  return m;
}

ManifoldMetrics manifold_metrics(const FeatureMatrix& x, const std::vector<int32_t>& y) {
  check_input(x, &y, "manifold_metrics");
  const Mat X = linalg::from_f32(x.x.data(), x.n, x.d);
  const int64_t d = x.d;
  auto mean_radius = [&](const Mat& rows, const std::vector<double>& c) {
    double s = 0;
    for (int64_t i = 0; i < rows.rows; ++i) {
      double q = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double t = rows(i, k) - c[static_cast<size_t>(k)];
        q += t * t;
      }
      s += std::sqrt(q);
    }
    return s / static_cast<double>(rows.rows);
  };
  ManifoldMetrics m;
  m.global_radius = mean_radius(X, linalg::column_means(X));
  std::vector<double> radii, dims;
  std::vector<std::vector<double>> centres;
  for (const auto& idx : group_by_class(y)) {
    const Mat rows = gather(X, idx);
    auto c = linalg::column_means(rows);
    radii.push_back(mean_radius(rows, c));
    dims.push_back(pr_of(rows));
    // Centred by its own mean over features and scaled to unit norm (correlation() of metrics.py).
    double mu = 0;
    for (double v : c) mu += v;
    mu /= static_cast<double>(d);
    for (double& v : c) v -= mu;
    const double nrm = std::sqrt(sum_sq(c.data(), d));
    for (double& v : c) v = nrm > 0 ? v / nrm : kNaN;
    centres.push_back(std::move(c));
  }
  std::vector<double> corr;
  for (size_t k = 0; k < centres.size(); ++k)
    for (size_t l = k + 1; l < centres.size(); ++l) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += centres[k][static_cast<size_t>(j)] * centres[l][static_cast<size_t>(j)];
      corr.push_back(s);
    }
  m.mean_class_correlation = corr.empty() ? kNaN : mean_of(corr);
  m.mean_class_radius = mean_of(radii) / m.global_radius;
  m.mean_class_dim = mean_of(dims);
  return m;
}

double participation_ratio(const FeatureMatrix& x, int64_t row0, int64_t rows) {
  if (rows < 0) rows = x.n - row0;
  LPL_CHECK(row0 >= 0 && rows >= 0 && row0 + rows <= x.n,
            strf("participation_ratio: rows [%lld, %lld) out of range for %lld rows", static_cast<long long>(row0),
                 static_cast<long long>(row0 + rows), static_cast<long long>(x.n)));
  return pr_of(linalg::from_f32(x.row(row0), rows, x.d));
}

double batch_mean_participation_ratio(const FeatureMatrix& x, int64_t batch_size) {
  LPL_CHECK(batch_size >= 2, "batch_mean_participation_ratio: batch size must be >= 2");
  std::vector<double> prs;
  for (int64_t r = 0; r < x.n; r += batch_size) {
    const int64_t b = std::min(batch_size, x.n - r);
    if (b >= 2) prs.push_back(participation_ratio(x, r, b));
  }
  return mean_of(prs);
}

PushMetrics push_metrics(const FeatureMatrix& x) {
  check_input(x, nullptr, "push_metrics");
  const Mat X = linalg::from_f32(x.x.data(), x.n, x.d);
  const Mat u = linalg::normalize_rows(X);
  const double n = static_cast<double>(x.n);
  PushMetrics m;
  {  // sum_{a,b} cos^2 = ||U U^T||_F^2 = ||U^T U||_F^2; remove the diagonal ||u_a||^4.
    const Mat g = u.rows <= u.cols ? linalg::gram_rows(u) : linalg::gram_cols(u);
    double all = 0, diag = 0;
    for (double v : g.v) all += v * v;
    for (int64_t a = 0; a < u.rows; ++a) {
      const double q = sum_sq(u.row(a), u.cols);
      diag += q * q;
    }
    m.cosine_push = (all - diag) / (n * (n - 1));
  }
  {
    std::vector<double> sq(static_cast<size_t>(x.n));
    for (int64_t a = 0; a < x.n; ++a) sq[static_cast<size_t>(a)] = sum_sq(u.row(a), u.cols);
    const SumAcc s = linalg::reduce_row_pairs(u, SumAcc{}, [&](SumAcc& acc, int64_t a, int64_t b, double dot) {
      const double d2 = std::max(0.0, sq[static_cast<size_t>(a)] + sq[static_cast<size_t>(b)] - 2 * dot);
      acc.s += std::exp(-2.0 * d2);
    });
    m.uniformity_push = std::log(s.s / (n * (n - 1) / 2));
  }
  {
    const auto mu = linalg::column_means(X);
    double s = 0;
    for (int64_t k = 0; k < x.d; ++k) {
      double v = 0;
      for (int64_t a = 0; a < x.n; ++a) {
        const double t = X(a, k) - mu[static_cast<size_t>(k)];
        v += t * t;
      }
      v = v / (n - 1) + 1e-4;
      s += 1 + std::log(v) - mu[static_cast<size_t>(k)] * mu[static_cast<size_t>(k)] - v;
    }
    m.kl_push = -0.5 * s / static_cast<double>(x.d);
  }
  return m;
}

double mean_activation(const FeatureMatrix& x) {
  LPL_CHECK(x.n * x.d > 0, "mean_activation: empty feature matrix");
  double s = 0;
  for (float v : x.x) s += v;
  return s / static_cast<double>(x.x.size());
}

std::vector<std::pair<std::string, double>> named_representation_metrics(const FeatureMatrix& x,
                                                                         const std::vector<int32_t>& y) {
  return named_representation_metrics(x, y, push_metrics(x));
}

std::vector<std::pair<std::string, double>> named_representation_metrics(const FeatureMatrix& x,
                                                                         const std::vector<int32_t>& y,
                                                                         const PushMetrics& p) {
  const CosineMetrics c = cosine_metrics(x, y);
  const ManifoldMetrics mf = manifold_metrics(x, y);
  return {{"Cosine Metrics/within_class_mean_cosine", c.within},
          {"Cosine Metrics/cross_class_mean_cosine", c.cross},
          {"Cosine Metrics/ratio", c.ratio},
          {"Manifold Metrics/mean_class_correlation", mf.mean_class_correlation},
          {"Manifold Metrics/mean_class_radius", mf.mean_class_radius},
          {"Manifold Metrics/global_radius", mf.global_radius},
          {"Manifold Metrics/mean_class_dim", mf.mean_class_dim},
          {"Push Metrics/cosine_push", p.cosine_push},
          {"Push Metrics/uniformity_push", p.uniformity_push},
          {"Push Metrics/kl_push", p.kl_push}};
}

}  // namespace lpl::metrics
