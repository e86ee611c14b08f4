// Softmax cross-entropy with int32 labels (mean over the batch), written once for both backends.
// One row per call: numerically stable (the row maximum is subtracted before exp), float64 sums.
// softmax_cross_entropy range-checks labels on the host (engine/ops.cpp); softmax_cross_entropy_into
// does not wait for the device: an out-of-range label gives a NaN row loss.
#pragma once
#include <cmath>
#include <limits>
#include <vector>

#include "engine/ops.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

struct SoftmaxXent {
  const float* logits;
  const int32_t* labels;
  float* dlogits;
  double* row_loss;
  int64_t classes;
  int64_t per;      // = classes (work per call, for the CPU launcher)
  double inv_batch;
  LPL_HD void operator()(int64_t r) const {
    const float* __restrict__ z = logits + r * classes;
    float* __restrict__ dz = dlogits + r * classes;
    float m = z[0];
    for (int64_t k = 1; k < classes; ++k) m = z[k] > m ? z[k] : m;
    double s = 0;
    for (int64_t k = 0; k < classes; ++k) s += exp(static_cast<double>(z[k]) - m);
    const int32_t y = labels[r];
    if (y < 0 || y >= classes) {  // refused on the host where labels are checked; never read out of bounds
      row_loss[r] = std::numeric_limits<double>::quiet_NaN();
      for (int64_t k = 0; k < classes; ++k) dz[k] = 0.f;
      return;
    }
    const double log_s = log(s);
    // loss_r = log sum_k exp(z_k) - z_y;  d loss / d z_k = (softmax_k - [k == y]) / batch.
    row_loss[r] = log_s + m - static_cast<double>(z[y]);
    for (int64_t k = 0; k < classes; ++k) {
      const double p = exp(static_cast<double>(z[k]) - m - log_s);
      dz[k] = static_cast<float>((p - (k == y ? 1.0 : 0.0)) * inv_batch);
    }
  }
};

// *out = (float) (sum of the b row losses) / b (one segment).
struct MeanRows {
  const double* rows;
  int64_t b;
  double* out;
  LPL_HD double term(int64_t, int64_t r) const { return rows[r]; }
  LPL_HD void finish(int64_t, double s) const { *out = static_cast<double>(static_cast<float>(s / static_cast<double>(b))); }
};

template <class L>
CrossEntropyResult softmax_cross_entropy(const L& launch, const Tensor& logits, const Tensor& labels) {
  const int64_t b = logits.dim(0), k = logits.dim(1);
  CrossEntropyResult r;
  r.dlogits = Tensor::empty(logits.shape(), logits.device());
  Tensor rows = Tensor::empty(Shape{b + 1}, logits.device(), DType::I64);  // 8 bytes per row loss; the mean last
  launch(logits.device(), b,
         SoftmaxXent{logits.f(), labels.data<int32_t>(), r.dlogits.f(), rows.data<double>(), k, k,
                     1.0 / static_cast<double>(b)});
  // The mean as softmax_cross_entropy_into makes it, read as one value.
  launch.sum(logits.device(), {1, b, SegLayout::rows}, MeanRows{rows.data<double>(), b, rows.data<double>() + b});
  double mean = 0;
  read_to_host(&mean, rows.data<double>() + b, logits.device(), sizeof(double));
  r.loss = static_cast<float>(mean);
  return r;
}


template <class L>
Tensor softmax_cross_entropy_into(const L& launch, const Tensor& logits, const Tensor& labels, Tensor& out,
                                  int64_t slot) {
  const int64_t b = logits.dim(0), k = logits.dim(1);
  Tensor dlogits = Tensor::empty(logits.shape(), logits.device());
  Tensor rows = Tensor::empty(Shape{b}, logits.device(), DType::I64);  // 8 bytes per row loss
  launch(logits.device(), b,
         SoftmaxXent{logits.f(), labels.data<int32_t>(), dlogits.f(), rows.data<double>(), k, k,
                     1.0 / static_cast<double>(b)});
  launch.sum(logits.device(), {1, b, SegLayout::rows}, MeanRows{rows.data<double>(), b, out.data<double>() + slot});
  return dlogits;
}

}  // namespace lpl::kern
