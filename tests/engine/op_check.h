// Helpers for the op tests: finite differences through an op's own float32 forward, tie-free inputs.
#pragma once
#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "test_util.h"

namespace lpl::test {

// Central finite differences of f(x) = sum_i g_i * fwd(x)_i (a float64 dot product of the op's
// float32 output) with respect to every element of x. fwd runs on device d.
inline std::vector<double> op_finite_diff(Device d, const std::vector<float>& x, const Shape& xs,
                                          const std::function<Tensor(const Tensor&)>& fwd,
                                          const std::vector<float>& g, double h = 1e-3) {
  std::vector<double> xd(x.begin(), x.end());
  return finite_diff(
      xd,
      [&](const std::vector<double>& v) {
        std::vector<float> vf(v.begin(), v.end());
        std::vector<float> y = fwd(Tensor::from_vector(vf, xs, d)).to_vector();
        REQUIRE(y.size() == g.size());
        double s = 0;
        for (size_t i = 0; i < y.size(); ++i) s += static_cast<double>(g[i]) * y[i];
        return s;
      },
      h);
}

// n distinct values spaced `gap` apart in random order, centred on 0: no ties within 2h for h < gap/2.
inline std::vector<float> distinct_values(size_t n, uint32_t seed, float gap = 0.01f) {
  std::vector<size_t> perm(n);
  std::iota(perm.begin(), perm.end(), size_t{0});
  std::shuffle(perm.begin(), perm.end(), std::mt19937(seed));
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (static_cast<float>(perm[i]) - static_cast<float>(n) / 2.f) * gap;
  return v;
}

}  // namespace lpl::test
