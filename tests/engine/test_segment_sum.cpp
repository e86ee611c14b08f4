// The segmented-sum primitive (kernels/segments.h) on the CPU launcher, with functors written here:
// both layouts, double and Double2 terms, lengths around the eight-lane unrolling, empty segments,
// and enough segments for the parallel path. The CUDA launcher runs the same functors of the ops in
// tests/engine/test_reductions.cpp (every op built on it, on both devices, against float64 sums).
#include <cstdint>
#include <vector>

#include "kernels/launch.h"
#include "test_util.h"

using namespace lpl;
using kern::Double2;
using kern::SegLayout;

namespace {

// Segment s, term k: an integer-valued term, so every order of addition gives the exact sum.
struct IntTerms {
  double* out;
  int* finished;
  LPL_HD double term(int64_t s, int64_t k) const { return static_cast<double>((s * 7 + k * 3) % 11) - 5.0; }
  LPL_HD void finish(int64_t s, double v) const {
    out[s] = v;
    finished[s] += 1;
  }
};

struct PairTerms {
  Double2* out;
  LPL_HD Double2 term(int64_t s, int64_t k) const { return {static_cast<double>(k + 1), static_cast<double>(s - k)}; }
  LPL_HD void finish(int64_t s, Double2 v) const { out[s] = v; }
};

// A real-valued column sum of a row-major matrix, against float64 in order.
struct MatColumns {
  const float* x;
  int64_t cols;
  double* out;
  LPL_HD double term(int64_t j, int64_t i) const { return x[i * cols + j]; }
  LPL_HD void finish(int64_t j, double v) const { out[j] = v; }
};

}  // namespace

TEST_CASE("segmented sums on the CPU launcher: every segment finished once with its exact sum") {
  for (SegLayout layout : {SegLayout::rows, SegLayout::columns})
    for (int64_t segments : {int64_t{1}, int64_t{3}, int64_t{33}, int64_t{5000}})
      for (int64_t len : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{9}, int64_t{17}, int64_t{1000}}) {
        CAPTURE(segments);
        CAPTURE(len);
        std::vector<double> out(static_cast<size_t>(segments), -1e300);
        std::vector<int> finished(static_cast<size_t>(segments), 0);
        CpuLaunch{}.sum(cpu(), {segments, len, layout}, IntTerms{out.data(), finished.data()});
        for (int64_t s = 0; s < segments; ++s) {
          double ref = 0;
          for (int64_t k = 0; k < len; ++k) ref += static_cast<double>((s * 7 + k * 3) % 11) - 5.0;
          REQUIRE(finished[static_cast<size_t>(s)] == 1);
          REQUIRE(out[static_cast<size_t>(s)] == ref);
        }
      }
}

TEST_CASE("segmented sums on the CPU launcher: Double2 terms add both components") {
  const int64_t segments = 40, len = 29;
  std::vector<Double2> out(segments, Double2{-1, -1});
  CpuLaunch{}.sum(cpu(), {segments, len, SegLayout::rows}, PairTerms{out.data()});
  for (int64_t s = 0; s < segments; ++s) {
    CHECK(out[static_cast<size_t>(s)].a == len * (len + 1) / 2.0);
    CHECK(out[static_cast<size_t>(s)].b == static_cast<double>(s * len - len * (len - 1) / 2));
  }
}

TEST_CASE("segmented sums on the CPU launcher: column sums of a float matrix within float64 rounding") {
  const int64_t rows = 301, cols = 45;
  auto x = test::random_vec(static_cast<size_t>(rows * cols), 3);
  std::vector<double> out(cols, 0);
  CpuLaunch{}.sum(cpu(), {cols, rows, SegLayout::columns}, MatColumns{x.data(), cols, out.data()});
  std::vector<double> ref(cols, 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) ref[j] += x[i * cols + j];
  for (int64_t j = 0; j < cols; ++j) CHECK(std::abs(out[j] - ref[j]) <= 1e-12);
}
