#include "models/spiking/if_group.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "models/spiking/constants.h"

namespace lpl::spiking {

int64_t steps_for(double seconds) {
  return static_cast<int64_t>(static_cast<double>(static_cast<float>(seconds)) / kDt);
}

IFGroup::IFGroup(int n, const IFParams& p)
    : v(n, kRestV), g_ampa(n, 0.f), g_gaba(n, 0.f), g_nmda(n, 0.f), thr(n, 0.f), n_(n), mode_(p.threshold_mode) {
  LPL_CHECK(n >= 0, "IFGroup: negative size");
  LPL_CHECK(p.ampa_nmda_ratio >= 0, strf("--ampa must be >= 0, got %g", p.ampa_nmda_ratio));
  const double r = p.ampa_nmda_ratio;
  neg_a_ampa_ = -static_cast<float>(r / (r + 1.0));
  neg_a_nmda_ = -static_cast<float>(1.0 / (r + 1.0));
  decay_ampa_ = static_cast<float>(std::exp(-kDt / 5e-3));
  decay_gaba_ = static_cast<float>(std::exp(-kDt / 10e-3));
  decay_thr_ = static_cast<float>(std::exp(-kDt / 5e-3));
  mu_nmda_ = static_cast<float>(1.0 - std::exp(-kDt / 100e-3));
  m_ = static_cast<float>(kDt / 20e-3);
}

void IFGroup::integrate(int64_t n) {
  ring_.begin_step(n);
  auto& out = ring_.now();
  for (int i = 0; i < n_; ++i) {
    float V = v[i], ga = g_ampa[i], gn = g_nmda[i];
    float x = ga * neg_a_ampa_;
    x = x + neg_a_nmda_ * gn;
    const float i_exc = x * V;
    const float i_inh = (V - kInhRev) * g_gaba[i];
    gn = gn + mu_nmda_ * ga;
    gn = gn - mu_nmda_ * gn;
    g_nmda[i] = gn;
    g_ampa[i] = decay_ampa_ * ga;
    g_gaba[i] = decay_gaba_ * g_gaba[i];
    float th = decay_thr_ * thr[i];
    const float i_leak = V - kRestV;
    V = V + m_ * i_exc;
    V = V - m_ * i_inh;
    V = V - m_ * i_leak;
    V = std::min(std::max(V, kInhRev), 0.0f);
    if (V > kThetaRest + th) {
      out.push_back(static_cast<uint32_t>(i));
      V = kResetV;
      th = mode_ == ThresholdMode::kSet ? kThetaJump : th + kThetaJump;
    }
    v[i] = V;
    thr[i] = th;
  }
}

}  // namespace lpl::spiking
