// Float64 linear algebra on the host for the evaluation metrics: row-major feature matrices,
// their Gram matrices, all-pairs reductions and a symmetric eigensolver (Householder
// tridiagonalisation + implicit QL). Sizes here are at most a few thousand, so plain loops suffice.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lpl::linalg {

// A dense row-major float64 matrix.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  Mat() = default;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  double* row(int64_t i) { return v.data() + i * cols; }
  const double* row(int64_t i) const { return v.data() + i * cols; }
  double& operator()(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
};

// Rows of a float32 row-major matrix as float64.
Mat from_f32(const float* x, int64_t rows, int64_t cols);
// Column means [cols].
std::vector<double> column_means(const Mat& x);
// x - mean(x) over rows.
Mat center_rows(const Mat& x);
// Each row divided by its L2 norm; rows with norm <= eps become zero (as F.normalize, eps 1e-12).
Mat normalize_rows(const Mat& x, double eps = 1e-12);
// X^T X [cols, cols].
Mat gram_cols(const Mat& x);
// X X^T [rows, rows].
Mat gram_rows(const Mat& x);

// Eigenvalues of a symmetric matrix in ascending order (only the lower triangle is read).
// Fails with lpl::Error when the matrix is not square or QL does not converge.
std::vector<double> symmetric_eigenvalues(const Mat& a);

// Calls f(a, b, dot(u_a, u_b)) for every pair a < b of rows of u, in row blocks spread over threads.
// Acc is a per-thread accumulator: Acc must be copyable and have merge(const Acc&).
template <class Acc, class F>
Acc reduce_row_pairs(const Mat& u, const Acc& init, const F& f);

}  // namespace lpl::linalg

#include "models/linalg64_pairs.h"
