#include "models/spiking/if_group.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "models/spiking/constants.h"

namespace lpl::spiking {

int64_t steps_for(double seconds) {
  return static_cast<int64_t>(static_cast<double>(static_cast<float>(seconds)) / kDt);
}

template <class Real>
IFGroupT<Real>::IFGroupT(int n, const IFParams& p)
    : v(n, kRestV), g_ampa(n, Real(0)), g_gaba(n, Real(0)), g_nmda(n, Real(0)), thr(n, Real(0)), n_(n),
      mode_(p.threshold_mode), adapt_(p.adapt) {
  LPL_CHECK(n >= 0, "IFGroup: negative size");
  LPL_CHECK(p.ampa_nmda_ratio >= 0, strf("--ampa must be >= 0, got %g", p.ampa_nmda_ratio));
  const double r = p.ampa_nmda_ratio;
  neg_a_ampa_ = -static_cast<Real>(r / (r + 1.0));
  neg_a_nmda_ = -static_cast<Real>(1.0 / (r + 1.0));
  decay_ampa_ = static_cast<Real>(std::exp(-kDt / 5e-3));
  decay_gaba_ = static_cast<Real>(std::exp(-kDt / 10e-3));
  decay_thr_ = static_cast<Real>(std::exp(-kDt / 5e-3));
  mu_nmda_ = static_cast<Real>(1.0 - std::exp(-kDt / 100e-3));
  m_ = static_cast<Real>(kDt / 20e-3);
  if (adapt_) {
    LPL_CHECK(std::isfinite(p.dg_adapt) && p.dg_adapt >= 0, strf("adaptation increment must be >= 0, got %g", p.dg_adapt));
    g_adapt.assign(n, Real(0));
    // AIFGroup keeps its time constants as AurynFloat and divides the double time step by them:
    // tau is a Real here (0.1f for float: dt/tau_nmda rounds to 0.0009999999f, not 0.001f).
    auto tau = [](double t) { return static_cast<double>(static_cast<Real>(t)); };
    decay_ampa_ = static_cast<Real>(std::exp(-kDt / tau(5e-3)));
    decay_gaba_ = static_cast<Real>(std::exp(-kDt / tau(10e-3)));
    decay_thr_ = static_cast<Real>(std::exp(-kDt / tau(5e-3)));
    decay_adapt_ = static_cast<Real>(std::exp(-kDt / tau(0.1)));
    mul_nmda_ = static_cast<Real>(kDt / tau(100e-3));
    m_ = static_cast<Real>(kDt / tau(20e-3));
    dg_adapt_ = static_cast<Real>(p.dg_adapt);
  }
}

template <class Real>
void IFGroupT<Real>::integrate(int64_t n) {
  ring_.begin_step(n);
  if (adapt_) integrate_aif();
  else integrate_if();
}

template <class Real>
void IFGroupT<Real>::integrate_if() {
  auto& out = ring_.now();
  for (int i = 0; i < n_; ++i) {
    Real V = v[i], ga = g_ampa[i], gn = g_nmda[i];
    Real x = ga * neg_a_ampa_;
    x = x + neg_a_nmda_ * gn;
    const Real i_exc = x * V;
    const Real i_inh = (V - kInhRev) * g_gaba[i];
    gn = gn + mu_nmda_ * ga;
    gn = gn - mu_nmda_ * gn;
    g_nmda[i] = gn;
    g_ampa[i] = decay_ampa_ * ga;
    g_gaba[i] = decay_gaba_ * g_gaba[i];
    Real th = decay_thr_ * thr[i];
    const Real i_leak = V - kRestV;
    V = V + m_ * i_exc;
    V = V - m_ * i_inh;
    V = V - m_ * i_leak;
    V = std::min(std::max(V, kInhRev), Real(0));
    if (V > kThetaRest + th) {
      out.push_back(static_cast<uint32_t>(i));
      V = kResetV;
      th = mode_ == ThresholdMode::kSet ? kThetaJump : th + kThetaJump;
    }
    v[i] = V;
    thr[i] = th;
  }
}

// Auryn's AIFGroup::evolve (integrate_linear_nmda_synapses, integrate_membrane, check_thresholds),
// one neuron at a time with the same float operations as its vector passes.
template <class Real>
void IFGroupT<Real>::integrate_aif() {
  auto& out = ring_.now();
  for (int i = 0; i < n_; ++i) {
    Real V = v[i];
    const Real ga = g_ampa[i] * decay_ampa_;
    const Real gg = g_gaba[i] * decay_gaba_;
    const Real gad = g_adapt[i] * decay_adapt_;
    Real gn = g_nmda[i];
    gn = gn + mul_nmda_ * ga;
    gn = gn + (-mul_nmda_) * gn;
    Real x = ga * neg_a_ampa_;
    x = x + neg_a_nmda_ * gn;
    const Real t_exc = x * V;
    const Real g_inh = gg + Real(1) * gad;
    const Real t_inh = (V - kInhRev) * g_inh;
    Real th = thr[i] * decay_thr_;
    const Real t_leak = V - kRestV;
    V = V + m_ * t_exc;
    V = V + (-m_) * t_inh;
    V = V + (-m_) * t_leak;
    V = std::min(std::max(V, kInhRev), Real(0));
    Real ad = gad;
    if (V > kThetaRest + th) {
      out.push_back(static_cast<uint32_t>(i));
      V = kRestV;
      th = mode_ == ThresholdMode::kSet ? kThetaJump : th + kThetaJump;
      ad = ad + dg_adapt_;
    }
    g_ampa[i] = ga;
    g_gaba[i] = gg;
    g_nmda[i] = gn;
    g_adapt[i] = ad;
    v[i] = V;
    thr[i] = th;
  }
}

template class IFGroupT<float>;
template class IFGroupT<double>;

}  // namespace lpl::spiking
