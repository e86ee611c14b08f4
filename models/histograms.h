// The histogram quantities of spec §6 (the original's SSLEvalCallback.log_histograms) on final-layer
// features, and a streaming histogram with TensorBoard's default ("tensorflow") buckets so the
// N(N-1)/2 pairwise cosines never have to be stored.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/features.h"

namespace lpl::metrics {

// Counts over the edges torch.utils.tensorboard uses for bins="tensorflow": -1e20 .. -1e-12, 0,
// 1e-12 .. 1e20 in factors of 1.1; np.histogram semantics (bins [e_i, e_i+1), the last closed;
// values outside the edges are counted in num/sum but in no bucket).
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> counts;  // one per bucket of default_edges()
  Histogram();
  void add(double v);
  void merge(const Histogram& o);
  static const std::vector<double>& default_edges();
  // bucket_limit and bucket exactly as torch's make_histogram writes them into a HistogramProto
  // (empty leading and trailing buckets trimmed).
  void tensorboard_buckets(std::vector<double>& bucket_limit, std::vector<double>& bucket) const;
};
Histogram histogram_of(const std::vector<double>& values);

struct HistogramValues {
  std::vector<double> unit_activities;            // mean of X^2 per unit [D]
  std::vector<double> unit_correlations;          // off-diagonal (i < j) of X_std^T X_std / (N - 1)
  std::vector<double> corr_eig_vals;              // eigenvalues of that correlation matrix (ascending)
  std::vector<double> corr_eig_vals_normalized;   // log(clamp(lambda, 1e-8) / max lambda)
  std::vector<double> gram_eig_vals;              // eigenvalues of X^T X (uncentred)
  std::vector<double> gram_eig_vals_normalized;
  Histogram cos_dists;                            // cosines of the rows of X - mean, pairs i < j
};
// X_std = (X - mean) / (std + 1e-8) with the unbiased std, as the original.
HistogramValues histogram_values(const FeatureMatrix& x);
// The seven histograms under their TensorBoard names ("Activity Statistics/unit_activities", ...).
std::vector<std::pair<std::string, Histogram>> named_histograms(const FeatureMatrix& x);

}  // namespace lpl::metrics
