// Helpers shared by tests: device lists, random tensors, comparisons, finite differences.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iterator>
#include <random>
#include <sstream>
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

// Debian's dataset-fashion-mnist (scripts/setup.sh installs it).
inline bool have_fashion_mnist() {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz"})
    if (!std::filesystem::exists(dir + f)) return false;
  return true;
}

// A test case that reads Debian's Fashion-MNIST. Its doctest suite "needs-data" makes ctest run such
// cases as their own test "<area>.<file>.data" (tests/CMakeLists.txt), reported "Skipped" (exit 77)
// when the dataset is missing, never "Passed".
#define LPL_FASHION_MNIST_TEST_CASE(name) \
  TEST_CASE(name * doctest::test_suite("needs-data") * doctest::skip(!::lpl::test::have_fashion_mnist()))

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

struct CloseResult {
  bool ok;
  std::string msg;
};

// Elementwise |a - b| <= atol + rtol |b| over all elements. A NaN on either side, or an infinity not
// matched by the same infinity, fails wherever it is (reported with its index and count); otherwise
// the message names the worst element and how many are out of tolerance.
inline CloseResult compare_close(const std::vector<float>& a, const std::vector<double>& b, double rtol, double atol) {
  std::ostringstream m;
  m.precision(9);
  if (a.size() != b.size()) {
    m << "size " << a.size() << " vs " << b.size();
    return {false, m.str()};
  }
  size_t n_nonfinite = 0, first_nonfinite = 0, n_out = 0, wi = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (x == y) continue;  // the same infinity (NaN equals nothing)
      if (n_nonfinite++ == 0) first_nonfinite = i;
      continue;
    }
    const double d = std::abs(x - y);
    double r = d == 0 ? 0 : d / (atol + rtol * std::abs(y));  // d > 0 with zero tolerance: inf
    if (std::isnan(r)) r = INFINITY;  // a NaN tolerance (e.g. scaled by a NaN maximum) fails
    n_out += r > 1;
    if (r > worst) {
      worst = r;
      wi = i;
    }
  }
  if (n_nonfinite > 0)
    m << "element " << first_nonfinite << " got " << a[first_nonfinite] << " expected " << b[first_nonfinite] << " ("
      << n_nonfinite << " non-finite mismatches); ";
  if (!a.empty())
    m << "worst element " << wi << " got " << a[wi] << " expected " << b[wi] << ", error " << worst << " x tolerance ("
      << n_out << " of " << a.size() << " elements out of tolerance)";
  return {n_nonfinite == 0 && n_out == 0, m.str()};
}

// CHECKs compare_close, the message prefixed with `what`.
inline void check_close(const std::vector<float>& a, const std::vector<double>& b, double rtol, double atol,
                        const std::string& what) {
  const CloseResult r = compare_close(a, b, rtol, atol);
  CHECK_MESSAGE(r.ok, what << ": " << r.msg);
}
inline void check_close(const std::vector<float>& a, const std::vector<float>& b, double rtol, double atol,
                        const std::string& what) {
  check_close(a, std::vector<double>(b.begin(), b.end()), rtol, atol, what);
}

// max(a, b) that keeps a NaN: std::max(worst, NaN) returns worst, so a NaN error would pass.
inline double nan_max(double a, double b) { return std::isnan(a) || a >= b ? a : b; }

// Largest |v[k]| in float64; NaN when any element is NaN.
template <class V>
double max_abs(const V& v) {
  double m = 0;
  for (const auto& x : v) m = nan_max(m, std::abs(static_cast<double>(x)));
  return m;
}

// Largest |a[k] - b[k]| in float64; NaN when any difference is NaN or the sizes differ.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  if (std::size(a) != std::size(b)) return NAN;
  double m = 0;
  for (size_t k = 0; k < std::size(a); ++k) m = nan_max(m, std::abs(static_cast<double>(a[k]) - static_cast<double>(b[k])));
  return m;
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
