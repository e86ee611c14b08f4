// Float64 reference of the LPL layer objective (spec §2), written from the definitions, for tests.
#pragma once
#include <algorithm>
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

// Float64 reference of the negative-sample baseline's layer objective (--use_negative_samples):
// cosine pull, squared-cosine push over off-diagonal pairs within a view, F.normalize's clamp.
struct RefNegative {
  double pull_coeff = 1, push_coeff = 1;
  int64_t B = 0, M = 0;
  std::vector<int> perm;  // empty: identity pairing

  std::vector<double> unit_rows(const std::vector<double>& z) const {
    std::vector<double> u(z.size());
    for (int64_t r = 0; r < 2 * B; ++r) {
      double s = 0;
      for (int64_t m = 0; m < M; ++m) s += z[r * M + m] * z[r * M + m];
      const double n = std::max(std::sqrt(s), 1e-12);
      for (int64_t m = 0; m < M; ++m) u[r * M + m] = z[r * M + m] / n;
    }
    return u;
  }
  // pull and push (decorr is the LPL term: RefObjective's)
  RefObjective::Terms terms(const std::vector<double>& z) const {
    auto u = unit_rows(z);
    auto dot = [&](int64_t a, int64_t b) {
      double s = 0;
      for (int64_t m = 0; m < M; ++m) s += u[a * M + m] * u[b * M + m];
      return s;
    };
    RefObjective::Terms t;
    for (int64_t b = 0; b < B; ++b) t.pull -= dot(b, B + (perm.empty() ? b : perm[b])) / static_cast<double>(B);
    for (int v = 0; v < 2; ++v) {
      double s = 0;
      for (int64_t a = 0; a < B; ++a)
        for (int64_t b = 0; b < B; ++b)
          if (a != b) s += dot(v * B + a, v * B + b) * dot(v * B + a, v * B + b);
      t.push += 0.5 * s / static_cast<double>(B * (B - 1));
    }
    RefObjective lpl;
    lpl.B = B;
    lpl.M = lpl.C = M;
    t.decorr = lpl.terms(z).decorr;
    return t;
  }
  double loss(const std::vector<double>& z) const {
    RefObjective::Terms t = terms(z);
    return pull_coeff * t.pull + push_coeff * t.push;
  }
};

}  // namespace lpl::test
