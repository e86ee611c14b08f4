// Small reductions and element-wise helpers, written once for both backends.
// Sums go through the launchers' segmented sums (kernels/segments.h), in float64: whole-tensor ones
// per chunk of kChunk values, then the chunks' partials on the device, so a read is one value.
#pragma once
#include <cmath>
#include <vector>

#include "engine/common.h"
#include "engine/ops.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

constexpr int64_t kChunk = 4096;

// partial[c] = sum of chunk c of x (chunks of kChunk values; the last one may be short).
struct ChunkSum {
  const float* x;
  int64_t n;
  double* partial;
  LPL_HD double term(int64_t c, int64_t k) const {
    const int64_t i = c * kChunk + k;
    return i < n ? static_cast<double>(x[i]) : 0.0;
  }
  LPL_HD void finish(int64_t c, double s) const { partial[c] = s; }
};

// partial[c] = how many values of chunk c are NaN or infinite.
struct ChunkNonFinite {
  const float* x;
  int64_t n;
  double* partial;
  LPL_HD double term(int64_t c, int64_t k) const {
    const int64_t i = c * kChunk + k;
    return i < n && !is_finite(x[i]) ? 1.0 : 0.0;
  }
  LPL_HD void finish(int64_t c, double s) const { partial[c] = s; }
};

// *out += sum of n partials (one segment).
struct AddPartials {
  const double* partial;
  double* out;
  LPL_HD double term(int64_t, int64_t c) const { return partial[c]; }
  LPL_HD void finish(int64_t, double s) const { *out += s; }
};

// out[j] (+)= sum_i x[i, j] (segments: columns).
struct ColumnSum {
  const float* x;
  float* out;
  int64_t cols;
  bool accumulate;
  LPL_HD double term(int64_t j, int64_t i) const { return x[i * cols + j]; }
  LPL_HD void finish(int64_t j, double s) const { out[j] = static_cast<float>(accumulate ? out[j] + s : s); }
};

// partial[i] = sum of plane i (the i-th run of len contiguous values, e.g. i = n * C + c of NCHW)
// (segments: rows). The first pass of the per-channel sums of bias_backward and batch norm.
struct PlaneSum {
  const float* x;
  double* partial;
  int64_t len;
  LPL_HD double term(int64_t i, int64_t k) const { return x[i * len + k]; }
  LPL_HD void finish(int64_t i, double s) const { partial[i] = s; }
};

// out[ch] = (sum over images of partial[img * C + ch]) / divisor (segments: the columns of the
// n x C partials). The second pass: divisor 1 for a sum, the element count for a mean.
struct ChannelSum {
  const double* partial;
  double* out;
  int64_t c;
  double divisor;
  LPL_HD double term(int64_t ch, int64_t img) const { return partial[img * c + ch]; }
  LPL_HD void finish(int64_t ch, double s) const { out[ch] = s / divisor; }
};

// y[n, j] += b[j], then ReLU when relu (max(v, 0), NaN -> 0 as LplReluInplace): the bias and ReLU of
// a bf16 block forward in one pass.
struct AddRowBias {
  float* y;
  const float* b;
  int64_t cols, per;  // per: a whole row on the CPU, one item on CUDA (row_spans)
  bool relu;
  LPL_HD void operator()(int64_t s) const {
    const int64_t i0 = s * per, j0 = divmod(i0, cols).r;
    if (relu) {
      for (int64_t k = 0; k < per; ++k) {
        const float v = y[i0 + k] + b[j0 + k];
        y[i0 + k] = v > 0.f ? v : 0.f;
      }
    } else {
      for (int64_t k = 0; k < per; ++k) y[i0 + k] += b[j0 + k];
    }
  }
};

// out[e] = scale * sum over n of x[n, e] for x seen as rows [N, cols], the rows added in order (float):
// a span of columns per call, each row's part a contiguous read (CUDA: a column per thread, coalesced).
// The batch sums of --precision bf16's centring (engine/ops.cpp), over tensors of up to 10^8 items.
struct BatchSum {
  const float* x;
  float* out;
  int64_t rows, cols, per;
  float scale;
  LPL_HD void operator()(int64_t s) const {
    const int64_t e0 = s * per, e1 = min64(e0 + per, cols);
    for (int64_t e = e0; e < e1; ++e) out[e] = x[e];
    for (int64_t n = 1; n < rows; ++n) {
      const float* r = x + n * cols;
      for (int64_t e = e0; e < e1; ++e) out[e] += r[e];
    }
    for (int64_t e = e0; e < e1; ++e) out[e] *= scale;
  }
};

struct Axpy {
  float a;
  const float* x;
  float* y;
  LPL_HD void operator()(int64_t i) const { y[i] += a * x[i]; }
};

// Column mean and unbiased variance in two passes over the columns (float64 sums; the float64 mean
// is kept for the second pass).
struct ColumnMean {
  const float* z;
  double* mean_d;
  float* mean;
  int64_t rows, cols;
  LPL_HD double term(int64_t j, int64_t i) const { return z[i * cols + j]; }
  LPL_HD void finish(int64_t j, double s) const {
    mean_d[j] = s / static_cast<double>(rows);
    mean[j] = static_cast<float>(mean_d[j]);
  }
};
struct ColumnVar {
  const float* z;
  const double* mean_d;
  float* var;
  int64_t rows, cols;
  LPL_HD double term(int64_t j, int64_t i) const {
    const double d = z[i * cols + j] - mean_d[j];
    return d * d;
  }
  LPL_HD void finish(int64_t j, double s) const { var[j] = static_cast<float>(s / static_cast<double>(rows - 1)); }
};

// Drivers shared by both backends (L is CpuLaunch or CudaLaunch).
template <class L, class F>
double chunked_reduce(const L& launch, const Tensor& x) {
  const int64_t n = x.numel();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return 0.0;
  Tensor part = Tensor::empty(Shape{chunks + 1}, x.device(), DType::I64);  // 8 bytes per partial; the total last
  double* p = part.data<double>();
  memset_zero(p + chunks, x.device(), sizeof(double));
  launch.sum(x.device(), {chunks, kChunk, SegLayout::rows}, F{x.f(), n, p});
  launch.sum(x.device(), {1, chunks, SegLayout::rows}, AddPartials{p, p + chunks});
  double s = 0;
  read_to_host(&s, p + chunks, x.device(), sizeof(double));
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
  launch.sum(x.device(), {chunks, kChunk, SegLayout::rows}, ChunkNonFinite{x.f(), n, part.data<double>()});
  launch.sum(x.device(), {1, chunks, SegLayout::rows}, AddPartials{part.data<double>(), out.data<double>() + slot});
}
template <class L>
void column_sum(const L& launch, const Tensor& x, Tensor& out, bool accumulate) {
  launch.sum(x.device(), {x.dim(1), x.dim(0), SegLayout::columns}, ColumnSum{x.f(), out.f(), x.dim(1), accumulate});
}
template <class L>
void add_row_bias(const L& launch, Tensor& y, const Tensor& b, bool relu) {
  const Span sp = row_spans<L>(y.dim(0), y.dim(1));
  launch(y.device(), sp.count, AddRowBias{y.f(), b.f(), y.dim(1), sp.per, relu});
}
template <class L>
Tensor batch_sum(const L& launch, const Tensor& x, float scale) {
  Shape s = x.shape();
  s[0] = 1;
  Tensor out = Tensor::empty(s, x.device());
  const int64_t cols = out.numel();
  const Span sp = flat_spans<L>(cols);
  launch(x.device(), sp.count, BatchSum{x.f(), out.f(), x.dim(0), cols, sp.per, scale});
  return out;
}
template <class L>
void axpy(const L& launch, float a, const Tensor& x, Tensor& y) {
  launch(x.device(), x.numel(), Axpy{a, x.f(), y.f()});
}
template <class L>
ColumnStats column_mean_var(const L& launch, const Tensor& z) {
  const Device d = z.device();
  const int64_t rows = z.dim(0), cols = z.dim(1);
  ColumnStats s{Tensor::empty({cols}, d), Tensor::empty({cols}, d)};
  Tensor mean_d = Tensor::empty({cols}, d, DType::I64);  // float64 means
  const Segments seg{cols, rows, SegLayout::columns};
  launch.sum(d, seg, ColumnMean{z.f(), mean_d.data<double>(), s.mean.f(), rows, cols});
  launch.sum(d, seg, ColumnVar{z.f(), mean_d.data<double>(), s.var.f(), rows, cols});
  return s;
}

}  // namespace lpl::kern
