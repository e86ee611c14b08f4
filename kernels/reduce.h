// Small reductions and element-wise helpers, written once for both backends.
// Whole-tensor reductions run as one functor per chunk writing a float64 partial; the host adds
// the partials, so CPU and GPU add in the same order and give the same result.
#pragma once
#include <cmath>
#include <vector>

#include "engine/common.h"
#include "engine/ops.h"

namespace lpl::kern {

constexpr int64_t kChunk = 4096;

struct ChunkSum {
  const float* x;
  int64_t n;
  double* partial;
  LPL_HD void operator()(int64_t c) const {
    double s = 0;
    int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    for (int64_t i = c * kChunk; i < end; ++i) s += x[i];
    partial[c] = s;
  }
};

struct ChunkNonFinite {
  const float* x;
  int64_t n;
  double* partial;
  LPL_HD void operator()(int64_t c) const {
    double bad = 0;
    int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    for (int64_t i = c * kChunk; i < end; ++i) bad += (is_finite(x[i]) ? 0.0 : 1.0);
    partial[c] = bad;
  }
};

// *out += sum of n partials, in order (one call).
struct AddPartials {
  const double* partial;
  int64_t n;
  double* out;
  LPL_HD void operator()(int64_t) const {
    double s = *out;
    for (int64_t c = 0; c < n; ++c) s += partial[c];
    *out = s;
  }
};

// out[j] (+)= sum_i x[i, j]: one thread per column (adjacent threads read adjacent columns).
struct ColumnSum {
  const float* x;
  float* out;
  int64_t rows, cols;
  bool accumulate;
  LPL_HD void operator()(int64_t j) const {
    double s = 0;
    for (int64_t i = 0; i < rows; ++i) s += x[i * cols + j];
    out[j] = static_cast<float>(accumulate ? out[j] + s : s);
  }
};

struct AddRowBias {
  float* y;
  const float* b;
  int64_t cols;
  LPL_HD void operator()(int64_t i) const { y[i] += b[i % cols]; }
};

struct Axpy {
  float a;
  const float* x;
  float* y;
  LPL_HD void operator()(int64_t i) const { y[i] += a * x[i]; }
};

// Column mean and unbiased variance (two passes over the column, float64 accumulation).
struct ColumnMeanVar {
  const float* z;
  float* mean;
  float* var;
  int64_t rows, cols;
  LPL_HD void operator()(int64_t j) const {
    double s = 0;
    for (int64_t i = 0; i < rows; ++i) s += z[i * cols + j];
    double m = s / static_cast<double>(rows);
    double q = 0;
    for (int64_t i = 0; i < rows; ++i) {
      double d = z[i * cols + j] - m;
      q += d * d;
    }
    mean[j] = static_cast<float>(m);
    var[j] = static_cast<float>(q / static_cast<double>(rows - 1));
  }
};

// Drivers shared by both backends (L is CpuLaunch or CudaLaunch).
template <class L, class F>
double chunked_reduce(const L& launch, const Tensor& x) {
  const int64_t n = x.numel();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return 0.0;
  Tensor part = Tensor::empty(Shape{chunks}, x.device(), DType::I64);  // 8 bytes per partial
  launch(x.device(), chunks, F{x.f(), n, part.data<double>()});
  std::vector<double> h(static_cast<size_t>(chunks));
  read_to_host(h.data(), part.data<double>(), x.device(), h.size() * sizeof(double));
  double s = 0;
  for (double v : h) s += v;
  return s;
}

template <class L>
double sum_all(const L& launch, const Tensor& x) {
  return chunked_reduce<L, ChunkSum>(launch, x);
}
template <class L>
bool all_finite(const L& launch, const Tensor& x) {
  return chunked_reduce<L, ChunkNonFinite>(launch, x) == 0.0;
}
template <class L>
void count_nonfinite(const L& launch, const Tensor& x, Tensor& out, int64_t slot) {
  const int64_t n = x.numel();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return;
  Tensor part = Tensor::empty(Shape{chunks}, x.device(), DType::I64);  // 8 bytes per partial
  launch(x.device(), chunks, ChunkNonFinite{x.f(), n, part.data<double>()});
  launch(x.device(), 1, AddPartials{part.data<double>(), chunks, out.data<double>() + slot});
}
template <class L>
void column_sum(const L& launch, const Tensor& x, Tensor& out, bool accumulate) {
  launch(x.device(), x.dim(1), ColumnSum{x.f(), out.f(), x.dim(0), x.dim(1), accumulate});
}
template <class L>
void add_row_bias(const L& launch, Tensor& y, const Tensor& b) {
  launch(y.device(), y.numel(), AddRowBias{y.f(), b.f(), y.dim(1)});
}
template <class L>
void axpy(const L& launch, float a, const Tensor& x, Tensor& y) {
  launch(x.device(), x.numel(), Axpy{a, x.f(), y.f()});
}
template <class L>
ColumnStats column_mean_var(const L& launch, const Tensor& z) {
  ColumnStats s{Tensor::empty({z.dim(1)}, z.device()), Tensor::empty({z.dim(1)}, z.device())};
  launch(z.device(), z.dim(1), ColumnMeanVar{z.f(), s.mean.f(), s.var.f(), z.dim(0), z.dim(1)});
  return s;
}

}  // namespace lpl::kern
