// Representation metrics of spec §5 on features X (N x D) with labels y, computed in float64 on
// the host, as the original's metrics/metrics.py, metrics/losses.py and eval.py define them.
// Where the original would produce NaN from degenerate input (a class with one sample has no
// pairs and no spread) that class is left out of the corresponding class mean.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/features.h"

namespace lpl::metrics {

struct CosineMetrics {
  double within = 0;  // mean over classes of the mean cosine over pairs i < j within the class
  double cross = 0;   // mean cosine over pairs i < j of different classes
  double ratio = 0;   // |within / cross|
};
// Cosine similarity of the rows of X - mean(X).
CosineMetrics cosine_metrics(const FeatureMatrix& x, const std::vector<int32_t>& y);

struct ManifoldMetrics {
  double mean_class_correlation = 0;  // mean over class pairs k < l of corr(c_k, c_l)
  double mean_class_radius = 0;       // mean_k r_k / R
  double global_radius = 0;           // R = mean_n ||x_n - c||
  double mean_class_dim = 0;          // mean_k PR_k
};
ManifoldMetrics manifold_metrics(const FeatureMatrix& x, const std::vector<int32_t>& y);

// PR = (sum lambda)^2 / sum lambda^2 over the eigenvalues of the centred Gram matrix of the rows,
// i.e. trace(G)^2 / ||G||_F^2 (the same for X_c X_c^T and X_c^T X_c; the smaller one is formed).
// Rows [row0, row0 + rows) of x; NaN for fewer than 2 rows or identical rows.
double participation_ratio(const FeatureMatrix& x, int64_t row0 = 0, int64_t rows = -1);
// eval.py's per-layer PR: the unweighted mean over consecutive batches of batch_size rows (the
// last one may be smaller; batches of one row are skipped) of each batch's PR.
double batch_mean_participation_ratio(const FeatureMatrix& x, int64_t batch_size = 256);

struct PushMetrics {
  double cosine_push = 0;      // mean over a != b of cos(x_a, x_b)^2
  double uniformity_push = 0;  // log mean_{a<b} exp(-2 ||x^_a - x^_b||^2), x^ = x / ||x||
  double kl_push = 0;          // -0.5 mean_d (1 + log(var_d + 1e-4) - mu_d^2 - (var_d + 1e-4))
};
PushMetrics push_metrics(const FeatureMatrix& x);

// Mean of all entries.
double mean_activation(const FeatureMatrix& x);

// The scalars of spec §6 under their TensorBoard names ("Cosine Metrics/ratio", ...), in the
// original's order: cosine, manifold and push metrics of x.
std::vector<std::pair<std::string, double>> named_representation_metrics(const FeatureMatrix& x,
                                                                         const std::vector<int32_t>& y);
// The same with the label-free push metrics given (computed once when one X is scored on several
// label sets, e.g. the Shapes3D factors).
std::vector<std::pair<std::string, double>> named_representation_metrics(const FeatureMatrix& x,
                                                                         const std::vector<int32_t>& y,
                                                                         const PushMetrics& push);

}  // namespace lpl::metrics
