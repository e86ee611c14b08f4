#include "models/linalg64.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"
#include "engine/parallel.h"

namespace lpl::linalg {

Mat from_f32(const float* x, int64_t rows, int64_t cols) {
  Mat m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) m.v[static_cast<size_t>(i)] = x[i];
  return m;
}

std::vector<double> column_means(const Mat& x) {
  std::vector<double> mu(static_cast<size_t>(x.cols), 0.0);
  for (int64_t i = 0; i < x.rows; ++i) {
    const double* r = x.row(i);
    for (int64_t j = 0; j < x.cols; ++j) mu[static_cast<size_t>(j)] += r[j];
  }
  if (x.rows > 0)
    for (auto& m : mu) m /= static_cast<double>(x.rows);
  return mu;
}

Mat center_rows(const Mat& x) {
  Mat c = x;
  const auto mu = column_means(x);
  for (int64_t i = 0; i < x.rows; ++i) {
    double* r = c.row(i);
    for (int64_t j = 0; j < x.cols; ++j) r[j] -= mu[static_cast<size_t>(j)];
  }
  return c;
}

Mat normalize_rows(const Mat& x, double eps) {
  Mat u = x;
  for (int64_t i = 0; i < x.rows; ++i) {
    double* r = u.row(i);
    double s = 0;
    for (int64_t j = 0; j < x.cols; ++j) s += r[j] * r[j];
    const double nrm = std::sqrt(s);
    const double inv = nrm > eps ? 1.0 / nrm : 0.0;
    for (int64_t j = 0; j < x.cols; ++j) r[j] *= inv;
  }
  return u;
}

Mat gram_cols(const Mat& x) {
  const int64_t n = x.rows, d = x.cols;
  Mat g(d, d);
  // Each thread owns rows i of G: G[i, j] = sum_r x[r, i] x[r, j]; the j loop vectorises.
#pragma omp parallel for schedule(dynamic, 4) num_threads(num_threads())
  for (int64_t i = 0; i < d; ++i) {
    double* gi = g.row(i);
    for (int64_t r = 0; r < n; ++r) {
      const double* xr = x.row(r);
      const double a = xr[i];
      if (a == 0.0) continue;
      for (int64_t j = 0; j <= i; ++j) gi[j] += a * xr[j];
    }
  }
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = i + 1; j < d; ++j) g(i, j) = g(j, i);
  return g;
}

Mat gram_rows(const Mat& x) {
  const int64_t n = x.rows, d = x.cols;
  Mat g(n, n);
#pragma omp parallel for schedule(dynamic, 4) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) {
    const double* xi = x.row(i);
    for (int64_t j = 0; j <= i; ++j) {
      const double* xj = x.row(j);
      double s = 0;
      for (int64_t k = 0; k < d; ++k) s += xi[k] * xj[k];
      g(i, j) = s;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) g(i, j) = g(j, i);
  return g;
}

namespace {

// Householder reduction of the symmetric a (lower triangle used, destroyed) to tridiagonal form:
// diagonal d[0..n), sub-diagonal e[i] coupling i and i+1 (e[n-1] = 0).
void tridiagonalize(Mat& a, std::vector<double>& d, std::vector<double>& e) {
  const int64_t n = a.rows;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a(i, j) = a(j, i);
  std::vector<double> v(static_cast<size_t>(n)), p(static_cast<size_t>(n));
  for (int64_t k = 0; k + 2 < n; ++k) {
    // x = a[k+1.., k]; reflect it onto alpha * e_1.
    double xnorm2 = 0;
    for (int64_t i = k + 1; i < n; ++i) xnorm2 += a(i, k) * a(i, k);
    const double xnorm = std::sqrt(xnorm2);
    if (xnorm == 0.0) continue;
    const double x0 = a(k + 1, k);
    const double alpha = x0 > 0 ? -xnorm : xnorm;
    double vnorm2 = 0;
    for (int64_t i = k + 1; i < n; ++i) {
      v[static_cast<size_t>(i)] = a(i, k) - (i == k + 1 ? alpha : 0.0);
      vnorm2 += v[static_cast<size_t>(i)] * v[static_cast<size_t>(i)];
    }
    if (vnorm2 == 0.0) continue;
    const double vinv = 1.0 / std::sqrt(vnorm2);
    for (int64_t i = k + 1; i < n; ++i) v[static_cast<size_t>(i)] *= vinv;
    // H A H = A - 2 v w^T - 2 w v^T with p = A v and w = p - (v^T p) v (trailing block only).
    double vtp = 0;
    for (int64_t i = k + 1; i < n; ++i) {
      double s = 0;
      for (int64_t j = k + 1; j < n; ++j) s += a(i, j) * v[static_cast<size_t>(j)];
      p[static_cast<size_t>(i)] = s;
      vtp += v[static_cast<size_t>(i)] * s;
    }
    for (int64_t i = k + 1; i < n; ++i) p[static_cast<size_t>(i)] -= vtp * v[static_cast<size_t>(i)];
    for (int64_t i = k + 1; i < n; ++i)
      for (int64_t j = k + 1; j < n; ++j)
        a(i, j) -= 2.0 * (v[static_cast<size_t>(i)] * p[static_cast<size_t>(j)] +
                          p[static_cast<size_t>(i)] * v[static_cast<size_t>(j)]);
    a(k + 1, k) = a(k, k + 1) = alpha;
    for (int64_t i = k + 2; i < n; ++i) a(i, k) = a(k, i) = 0.0;
  }
  d.assign(static_cast<size_t>(n), 0.0);
  e.assign(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) d[static_cast<size_t>(i)] = a(i, i);
  for (int64_t i = 0; i + 1 < n; ++i) e[static_cast<size_t>(i)] = a(i + 1, i);
}

// Implicit QL with Wilkinson-type shifts on the tridiagonal (d, e); eigenvalues left in d.
void tridiagonal_ql(std::vector<double>& d, std::vector<double>& e) {
  const int64_t n = static_cast<int64_t>(d.size());
  const double eps = std::numeric_limits<double>::epsilon();
  // Off-diagonals below eps * |T| are negligible in absolute terms (the reduction to tridiagonal
  // form already errs by that much); the relative test alone never deflates the blocks of zero
  // eigenvalues of a rank-deficient matrix (features of fewer samples than units, dead units).
  double norm = 0;
  for (int64_t i = 0; i < n; ++i) norm = std::max(norm, std::abs(d[static_cast<size_t>(i)]) + std::abs(e[static_cast<size_t>(i)]));
  for (int64_t l = 0; l < n; ++l) {
    int iter = 0;
    int64_t m;
    do {
      for (m = l; m + 1 < n; ++m) {
        const double dd = std::abs(d[static_cast<size_t>(m)]) + std::abs(d[static_cast<size_t>(m + 1)]);
        const double em = std::abs(e[static_cast<size_t>(m)]);
        if (em <= eps * dd || em <= eps * norm) break;
      }
      if (m == l) break;
      LPL_CHECK(++iter <= 100, "symmetric_eigenvalues: QL iteration did not converge");
      double g = (d[static_cast<size_t>(l + 1)] - d[static_cast<size_t>(l)]) / (2.0 * e[static_cast<size_t>(l)]);
      double r = std::hypot(g, 1.0);
      g = d[static_cast<size_t>(m)] - d[static_cast<size_t>(l)] + e[static_cast<size_t>(l)] / (g + std::copysign(r, g));
      double s = 1, c = 1, p = 0;
      bool underflow = false;
      for (int64_t i = m - 1; i >= l; --i) {
        const double f = s * e[static_cast<size_t>(i)], b = c * e[static_cast<size_t>(i)];
        r = std::hypot(f, g);
        e[static_cast<size_t>(i + 1)] = r;
        if (r == 0.0) {  // deflation inside the sweep
          d[static_cast<size_t>(i + 1)] -= p;
          e[static_cast<size_t>(m)] = 0.0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[static_cast<size_t>(i + 1)] - p;
        r = (d[static_cast<size_t>(i)] - g) * s + 2.0 * c * b;
        p = s * r;
        d[static_cast<size_t>(i + 1)] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[static_cast<size_t>(l)] -= p;
      e[static_cast<size_t>(l)] = g;
      e[static_cast<size_t>(m)] = 0.0;
    } while (m != l);
  }
}

}  // namespace

std::vector<double> symmetric_eigenvalues(const Mat& a) {
  LPL_CHECK(a.rows == a.cols, strf("symmetric_eigenvalues: matrix must be square, got %lld x %lld",
                                   static_cast<long long>(a.rows), static_cast<long long>(a.cols)));
  for (double x : a.v) LPL_CHECK(std::isfinite(x), "symmetric_eigenvalues: matrix has a non-finite entry");
  if (a.rows == 0) return {};
  Mat w = a;
  std::vector<double> d, e;
  tridiagonalize(w, d, e);
  tridiagonal_ql(d, e);
  std::sort(d.begin(), d.end());
  return d;
}

}  // namespace lpl::linalg
