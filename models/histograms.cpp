#include "models/histograms.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"
#include "models/linalg64.h"

namespace lpl::metrics {

const std::vector<double>& Histogram::limits() {
  static const std::vector<double> l = [] {
    std::vector<double> pos;
    for (double v = 1e-12; v < 1e20; v *= 1.1) pos.push_back(v);
    std::vector<double> e;
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) e.push_back(-*it);
    e.push_back(0.0);
    e.insert(e.end(), pos.begin(), pos.end());
    e.push_back(std::numeric_limits<double>::max());
    return e;
  }();
  return l;
}

Histogram::Histogram() : counts(limits().size(), 0.0) {}

void Histogram::add(double v) {
  if (num == 0) {
    min = max = v;
  } else {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  num += 1;
  sum += v;
  sum_squares += v * v;
  const auto& l = limits();
  const size_t k = static_cast<size_t>(std::upper_bound(l.begin(), l.end(), v) - l.begin());
  counts[std::min(k, l.size() - 1)] += 1;
}

void Histogram::merge(const Histogram& o) {
  if (o.num == 0) return;
  if (num == 0) {
    min = o.min;
    max = o.max;
  } else {
    min = std::min(min, o.min);
    max = std::max(max, o.max);
  }
  num += o.num;
  sum += o.sum;
  sum_squares += o.sum_squares;
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
}

tb::Histogram Histogram::to_tb() const {
  tb::Histogram h;
  if (num == 0) return h;
  h.min = min;
  h.max = max;
  h.num = num;
  h.sum = sum;
  h.sum_squares = sum_squares;
  size_t first = 0, last = counts.size();
  while (first < counts.size() && counts[first] == 0) ++first;
  while (last > first && counts[last - 1] == 0) --last;
  for (size_t k = first; k < last; ++k) {
    h.bucket_limit.push_back(limits()[k]);
    h.bucket.push_back(counts[k]);
  }
  return h;
}

Histogram histogram_of(const std::vector<double>& values) {
  Histogram h;
  for (double v : values) h.add(v);
  return h;
}

namespace {

std::vector<double> log_normalized(const std::vector<double>& eig) {
  const double mx = *std::max_element(eig.begin(), eig.end());
  std::vector<double> out;
  out.reserve(eig.size());
  for (double l : eig) out.push_back(std::log(std::max(l, 1e-8) / mx));
  return out;
}

}  // namespace

HistogramValues histogram_values(const FeatureMatrix& x) {
  LPL_CHECK(x.n >= 2 && x.d >= 1 && static_cast<int64_t>(x.x.size()) == x.n * x.d,
            strf("histogram_values: need at least 2 feature rows, got %lld x %lld", static_cast<long long>(x.n),
                 static_cast<long long>(x.d)));
  using linalg::Mat;
  const Mat X = linalg::from_f32(x.x.data(), x.n, x.d);
  const int64_t n = x.n, d = x.d;
  HistogramValues h;
  h.unit_activities.assign(static_cast<size_t>(d), 0.0);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t k = 0; k < d; ++k) h.unit_activities[static_cast<size_t>(k)] += X(a, k) * X(a, k) / static_cast<double>(n);

  Mat xs = linalg::center_rows(X);
  for (int64_t k = 0; k < d; ++k) {
    double v = 0;
    for (int64_t a = 0; a < n; ++a) v += xs(a, k) * xs(a, k);
    const double inv = 1.0 / (std::sqrt(v / static_cast<double>(n - 1)) + 1e-8);
    for (int64_t a = 0; a < n; ++a) xs(a, k) *= inv;
  }
  Mat corr = linalg::gram_cols(xs);
  for (double& v : corr.v) v /= static_cast<double>(n - 1);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i + 1; j < d; ++j) h.unit_correlations.push_back(corr(i, j));
  h.corr_eig_vals = linalg::symmetric_eigenvalues(corr);
  h.corr_eig_vals_normalized = log_normalized(h.corr_eig_vals);
  h.gram_eig_vals = linalg::symmetric_eigenvalues(linalg::gram_cols(X));
  h.gram_eig_vals_normalized = log_normalized(h.gram_eig_vals);

  const Mat u = linalg::normalize_rows(linalg::center_rows(X));
  h.cos_dists = linalg::reduce_row_pairs(u, Histogram{}, [](Histogram& acc, int64_t, int64_t, double dot) { acc.add(dot); });
  return h;
}

std::vector<std::pair<std::string, Histogram>> named_histograms(const FeatureMatrix& x) {
  const HistogramValues v = histogram_values(x);
  return {{"Activity Statistics/unit_activities", histogram_of(v.unit_activities)},
          {"Activity Statistics/unit_correlations", histogram_of(v.unit_correlations)},
          {"Correlation Matrix/eig_vals", histogram_of(v.corr_eig_vals)},
          {"Correlation Matrix/normalized_eig_vals", histogram_of(v.corr_eig_vals_normalized)},
          {"Gramian Matrix/eig_vals", histogram_of(v.gram_eig_vals)},
          {"Gramian Matrix/normalized_eig_vals", histogram_of(v.gram_eig_vals_normalized)},
          {"Embedding Similarity/cos_dists", v.cos_dists}};
}

}  // namespace lpl::metrics
