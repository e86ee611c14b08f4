// Optimiser updates written once for both backends (the arithmetic of torch.optim.Adam / SGD).
#pragma once
#include <cmath>

#include "engine/common.h"
#include "engine/lpl_ops.h"

namespace lpl::kern {

struct AdamStep {
  float* w;
  const float* g;
  float* m;
  float* v;
  float lr, b1, b2, eps, wd, step_size, inv_sqrt_bc2;
  LPL_HD void operator()(int64_t i) const {
    const float gi = g[i] + wd * w[i];
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
};

struct SgdStep {
  float* w;
  const float* g;
  float* buf;
  float lr, momentum, wd;
  bool first;
  LPL_HD void operator()(int64_t i) const {
    float gi = g[i] + wd * w[i];
    if (momentum != 0.f) {
      gi = first ? gi : momentum * buf[i] + gi;
      buf[i] = gi;
    }
    w[i] -= lr * gi;
  }
};

template <class L>
void adam_update(const L& launch, Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(h.step));
  launch(w.device(), w.numel(),
         AdamStep{w.f(), g.f(), m.f(), v.f(), h.lr, h.beta1, h.beta2, h.eps, h.weight_decay,
                  static_cast<float>(h.lr / bc1), static_cast<float>(1.0 / std::sqrt(bc2))});
}

template <class L>
void sgd_update(const L& launch, Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float wd,
                bool first) {
  launch(w.device(), w.numel(), SgdStep{w.f(), g.f(), buf.f(), lr, momentum, wd, first});
}

}  // namespace lpl::kern
