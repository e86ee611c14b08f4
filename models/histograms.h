// The histogram quantities of spec §6 (the original's SSLEvalCallback.log_histograms) on final-layer
// features, and a streaming histogram with TensorBoard's default ("tensorflow") buckets so the
// N(N-1)/2 pairwise cosines never have to be stored.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/tb_events.h"
#include "models/features.h"

namespace lpl::metrics {

// Streaming counts over TensorBoard's default bucket limits (-1e20 .. -1e-12, 0, 1e-12 .. 1e20 in
// factors of 1.1, then DBL_MAX): bucket k holds limits[k-1] <= v < limits[k], as tb::make_histogram
// (engine/tb_events.h) counts them, so to_tb() gives what the event writer expects.
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> counts;  // one per entry of limits()
  Histogram();
  void add(double v);
  void merge(const Histogram& o);
  static const std::vector<double>& limits();
  // Identical to tb::make_histogram of the same values (used range of buckets only).
  tb::Histogram to_tb() const;
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
