// reduce_row_pairs (declared in models/linalg64.h): all pairs a < b of rows, blocked so that the
// inner loop runs over a contiguous block of transposed rows (it vectorises without reassociating
// the float64 sums), parallel over row blocks with one accumulator per thread.
#pragma once
#include <omp.h>

#include <algorithm>
#include <vector>

#include "engine/parallel.h"

namespace lpl::linalg {

template <class Acc, class F>
Acc reduce_row_pairs(const Mat& u, const Acc& init, const F& f) {
  constexpr int64_t kB = 64;
  const int64_t n = u.rows, d = u.cols;
  const int64_t nblocks = (n + kB - 1) / kB;
  Acc total = init;
#pragma omp parallel num_threads(num_threads())
  {
    Acc local = init;
    std::vector<double> ut(static_cast<size_t>(d * kB));  // block of rows b, transposed [d, kB]
    std::vector<double> dots(kB);
#pragma omp for schedule(dynamic, 1)
    for (int64_t bj = 0; bj < nblocks; ++bj) {
      const int64_t j0 = bj * kB, nj = std::min(kB, n - j0);
      for (int64_t b = 0; b < nj; ++b)
        for (int64_t k = 0; k < d; ++k) ut[static_cast<size_t>(k * kB + b)] = u(j0 + b, k);
      // Rows a < j0 + nj pair with this block; a < b is enforced inside the diagonal block.
      for (int64_t a = 0; a < j0 + nj; ++a) {
        std::fill(dots.begin(), dots.end(), 0.0);
        const double* ua = u.row(a);
        for (int64_t k = 0; k < d; ++k) {
          const double x = ua[k];
          const double* t = ut.data() + k * kB;
          for (int64_t b = 0; b < nj; ++b) dots[static_cast<size_t>(b)] += x * t[b];
        }
        for (int64_t b = std::max<int64_t>(0, a - j0 + 1); b < nj; ++b) f(local, a, j0 + b, dots[static_cast<size_t>(b)]);
      }
    }
#pragma omp critical(lpl_reduce_row_pairs)
    total.merge(local);
  }
  return total;
}

}  // namespace lpl::linalg
