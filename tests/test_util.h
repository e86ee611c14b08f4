// Helpers shared by tests: device lists, random tensors, comparisons, finite differences.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"

namespace lpl::test {

// tests/data/<rel>: from $LPL_TEST_DATA (set by ctest) or the source tree this binary was built from.
inline std::string data_path(const std::string& rel) {
  const char* d = std::getenv("LPL_TEST_DATA");
  return std::string(d ? d : LPL_TEST_DATA_DIR) + "/" + rel;
}

// Registers a test body `void fn(Device)` twice: "<name> [cpu]" and "<name> [cuda]". Without a
// visible GPU the CUDA case is reported by doctest as skipped, never as passed.
#define LPL_TEST_ON_DEVICES(name, fn)                                                         \
  TEST_CASE(name " [cpu]") { fn(::lpl::cpu()); }                                              \
  TEST_CASE(name " [cuda]" * doctest::skip(::lpl::cuda_device_count() == 0)) { fn(::lpl::cuda(0)); }

// A test case that needs a GPU (e.g. a CPU-vs-CUDA comparison): skipped when none is visible.
#define LPL_GPU_TEST_CASE(name) TEST_CASE(name " [cuda]" * doctest::skip(::lpl::cuda_device_count() == 0))

inline std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(g);
  return v;
}

inline Tensor random_tensor(const Shape& s, uint32_t seed, Device d = cpu(), float lo = -1.f, float hi = 1.f) {
  return Tensor::from_vector(random_vec(static_cast<size_t>(s.numel()), seed, lo, hi), s, d);
}

// Max |a - b| / (atol + rtol |b|) <= 1 elementwise; reports the worst element on failure.
inline void check_close(const std::vector<float>& a, const std::vector<double>& b, double rtol, double atol,
                        const std::string& what) {
  REQUIRE_MESSAGE(a.size() == b.size(), what << ": size " << a.size() << " vs " << b.size());
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double r = std::abs(a[i] - b[i]) / (atol + rtol * std::abs(b[i]));
    if (!(r <= worst)) { worst = r; wi = i; }
  }
  CHECK_MESSAGE(worst <= 1.0, what << ": element " << wi << " got " << a[wi] << " expected " << b[wi]);
}
inline void check_close(const std::vector<float>& a, const std::vector<float>& b, double rtol, double atol,
                        const std::string& what) {
  check_close(a, std::vector<double>(b.begin(), b.end()), rtol, atol, what);
}

// Central finite difference of a scalar function f of the vector x at every coordinate, in float64.
inline std::vector<double> finite_diff(std::vector<double> x, const std::function<double(const std::vector<double>&)>& f,
                                       double h = 1e-3) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double xi = x[i];
    x[i] = xi + h;
    double fp = f(x);
    x[i] = xi - h;
    double fm = f(x);
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

// The bytes of a version-1 .npy file with a hand-written header, e.g. shapes no real array can
// have (the overflow tests of issue 11); `data` follows the header as is.
inline std::string npy_bytes(const std::string& descr, const std::string& shape_text, const std::string& data = "") {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

}  // namespace lpl::test
