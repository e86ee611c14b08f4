// Float64 reference of the LPL layer objective (spec §2), written from the definitions, for tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace lpl::test {

struct RefObjective {
  double pull_coeff = 1, push_coeff = 1, decorr_coeff = 10;
  int64_t B = 0, M = 0;      // z is [2B, M]
  int64_t C = 0, HW = 1;     // decorrelation matrix is (B HW) x C; pooled: C = M, HW = 1
  std::vector<int> perm;     // empty: identity pairing
  std::vector<double> sm, sv;  // stale mean / variance (empty: ordinary Hebbian term)

  struct Terms {
    double pull = 0, push = 0, decorr = 0;
  };

  Terms terms(const std::vector<double>& z) const {
    const double eps = 1e-4;
    Terms t;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t pb = perm.empty() ? b : perm[b];
      for (int64_t m = 0; m < M; ++m) {
        double d = z[b * M + m] - z[(B + pb) * M + m];
        t.pull += d * d;
      }
    }
    t.pull /= static_cast<double>(B * M);
    for (int v = 0; v < 2; ++v) {
      const double* zv = z.data() + v * B * M;
      double h = 0;
      for (int64_t m = 0; m < M; ++m) {
        double mu = 0, var = 0;
        for (int64_t b = 0; b < B; ++b) mu += zv[b * M + m];
        mu /= B;
        for (int64_t b = 0; b < B; ++b) var += (zv[b * M + m] - mu) * (zv[b * M + m] - mu);
        var /= (B - 1);
        if (sm.empty()) {
          h += std::log(var + eps);
        } else {
          double s = 0;
          for (int64_t b = 0; b < B; ++b) s += (zv[b * M + m] - sm[m]) * (zv[b * M + m] - sm[m]) / (sv[m] + eps);
          h += s / (B - 1);
        }
      }
      t.push += 0.5 * (-h / M);
      // Decorrelation on the (B HW) x C matrix X[b HW + s][c] = z[b][c HW + s].
      const int64_t R = B * HW;
      std::vector<double> mu(C, 0.0);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t c = 0; c < C; ++c) mu[c] += zv[(r / HW) * M + c * HW + r % HW];
      for (auto& x : mu) x /= R;
      double s = 0;
      for (int64_t i = 0; i < C; ++i)
        for (int64_t k = 0; k < C; ++k) {
          if (i == k) continue;
          double cov = 0;
          for (int64_t r = 0; r < R; ++r)
            cov += (zv[(r / HW) * M + i * HW + r % HW] - mu[i]) * (zv[(r / HW) * M + k * HW + r % HW] - mu[k]);
          cov /= (R - 1);
          s += cov * cov;
        }
      if (C >= 2) t.decorr += 0.5 * s / static_cast<double>(C * C - C);
    }
    return t;
  }

  double loss(const std::vector<double>& z) const {
    Terms t = terms(z);
    return pull_coeff * t.pull + push_coeff * t.push + decorr_coeff * t.decorr;
  }
};

}  // namespace lpl::test
