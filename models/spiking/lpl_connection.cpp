#include "models/spiking/lpl_connection.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "models/spiking/constants.h"
#include "models/spiking/finite.h"

namespace lpl::spiking {

void apply_reparam(LplParams& p, bool delta_given) {
  p.sigma2_times_dt = true;
  p.lambda *= kDt;
  p.xi = 1e-7;
  p.delta_mode = DeltaMode::kPerPreSpike;
  if (!delta_given) p.delta = 1e-3;
}

template <class Real>
LplConnectionT<Real>::LplConnectionT(const Synapses& syn, const LplParams& p)
    : n_pre_(syn.n_pre), n_post_(syn.n_post), p_(p) {
  // Longer time constants make the traces meaningless (the mean trace is rate x tau_mean and
  // overflows float; the per-step decay dt/tau underflows) and exceed any run (< 429497 s).
  constexpr double kMaxTau = 1e9;
  LPL_CHECK(p.tau_mean > 0, strf("--tau_mean must be > 0, got %g", p.tau_mean));
  LPL_CHECK(p.tau_mean <= kMaxTau, strf("--tau_mean must be at most %g s, got %g", kMaxTau, p.tau_mean));
  LPL_CHECK(p.tau_sigma2 > 0, strf("--tau_sigma2 must be > 0, got %g", p.tau_sigma2));
  LPL_CHECK(p.tau_sigma2 <= kMaxTau, strf("--tau_sigma2 must be at most %g s, got %g", kMaxTau, p.tau_sigma2));
  LPL_CHECK(p.wmax > 0, strf("--wmax must be > 0, got %g", p.wmax));
  pre_ptr_ = row_pointers(syn);  // validates the order
  const size_t ns = syn.size();
  // Post-major layout: count per target, then place synapses in (post, pre) order.
  post_ptr_.assign(static_cast<size_t>(n_post_) + 1, 0);
  for (size_t k = 0; k < ns; ++k) {
    LPL_CHECK(syn.post[k] < static_cast<uint32_t>(n_post_) && syn.pre[k] < static_cast<uint32_t>(n_pre_),
              strf("LPL connection: synapse %zu (%u -> %u) outside %d x %d", k, syn.pre[k], syn.post[k], n_pre_, n_post_));
    ++post_ptr_[syn.post[k] + 1];
  }
  for (int i = 0; i < n_post_; ++i) post_ptr_[i + 1] += post_ptr_[i];
  std::vector<uint32_t> fill(post_ptr_.begin(), post_ptr_.end() - 1);
  pre_of_.resize(ns);
  w_.resize(ns);
  pm_post_ = syn.post;
  pm_syn_.resize(ns);
  for (size_t k = 0; k < ns; ++k) {
    const uint32_t s = fill[syn.post[k]]++;
    pre_of_[s] = syn.pre[k];
    w_[s] = static_cast<Real>(syn.w[k]);
    pm_syn_[k] = s;
  }
  orig_pre_ = syn.pre;
  orig_post_ = syn.post;
  const Real zero = 0;
  c_.assign(ns, zero);
  ebar_.assign(ns, zero);
  G_.assign(ns, zero);
  if (p.augment) v_.assign(ns, zero);

  x_.assign(n_pre_, zero);
  p_psp_.assign(n_pre_, zero);
  p_line_.assign(static_cast<size_t>(n_pre_) * kLocDelay, zero);
  p8_.assign(n_pre_, zero);
  err_.assign(n_post_, zero);
  e1_.assign(n_post_, zero);
  e2_.assign(n_post_, zero);
  m_.assign(n_post_, static_cast<Real>(p.init_mean_hz * p.tau_mean));
  s_.assign(n_post_, static_cast<Real>(p.init_sigma2));
  avgsqrerr_.assign(n_post_, zero);
  f_line_.assign(static_cast<size_t>(n_post_) * kLocDelay, zero);
  f8_.assign(n_post_, zero);
  spike_line_.assign(static_cast<size_t>(n_post_) * kPostDelay, 0);

  c1_ = static_cast<Real>(-kDt / p.tau_mean);
  xi_ = static_cast<Real>(p.xi);
  lambda_ = static_cast<Real>(p.lambda);
  delta_ = p.delta_mode == DeltaMode::kErrorBias ? static_cast<Real>(p.delta) : Real(0);
  phi_ = static_cast<Real>(p.phi);
  beta_ = static_cast<Real>(p.beta);
  theta_s_ = static_cast<Real>(p.theta_s);
  k_d_ = static_cast<Real>(kDt / p.tau_d);
  k_r_ = static_cast<Real>(kDt / p.tau_r);
  decay_r_ = static_cast<Real>(std::exp(-kDt / p.tau_r));
  k_psp_ = static_cast<Real>(kDt / p.tau_psp);
  inv_tau_s2_ = static_cast<Real>(p.sigma2_times_dt ? kDt / p.tau_sigma2 : 1.0 / p.tau_sigma2);
  decay_s2_ = static_cast<Real>(std::exp(-kDt / p.tau_sigma2));
  decay_syn_ = static_cast<Real>(std::exp(-kDt / p.tau_syn));
  decay_mean_ = static_cast<Real>(std::exp(-kDt / p.tau_mean));
  rho_ = static_cast<Real>(std::exp(-static_cast<double>(kBatchSteps) * kDt / p.tau_rms));
  inc_scale_ = p.unit_gain_eligibility ? k_r_ : Real(1);
  decay_avg_ = static_cast<Real>(std::exp(-kDt / 10.0));
  kappa_wd_ = p.tau_weight_decay < 1e5 ? 1.0 - std::exp(-static_cast<double>(kBatchSteps) * kDt / p.tau_weight_decay) : 0.0;
}

template <class Real>
void LplConnectionT<Real>::transmit(const std::vector<uint32_t>& delayed_pre, Real* g_target) const {
  for (uint32_t j : delayed_pre)
    for (uint32_t k = pre_ptr_[j]; k < pre_ptr_[j + 1]; ++k) g_target[pm_post_[k]] += w_[pm_syn_[k]];
}

namespace {
// The hot loop (~90 % of a network step). Built for AVX-512, AVX2 and baseline x86-64 and chosen
// at load time; every clone performs the same IEEE operations per synapse in the same order
// (no FMA contraction, no reassociation), so results are bit-identical across machines.
template <class Real>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void synapse_pass(int n_post, const uint32_t* __restrict post_ptr, const uint32_t* __restrict pre,
                  const Real* __restrict p8, const Real* __restrict f8, const Real* __restrict e2, Real inc_scale,
                  Real k_d, Real decay_r, Real* __restrict c, Real* __restrict eb, Real* __restrict G) {
  for (int i = 0; i < n_post; ++i) {
    const Real fi = f8[i] * inc_scale, ei = e2[i];
    const uint32_t b = post_ptr[i], e = post_ptr[i + 1];
#pragma omp simd
    for (uint32_t s = b; s < e; ++s) {
      const Real cs = c[s] + p8[pre[s]] * fi;
      const Real es = eb[s] + k_d * (cs - eb[s]);
      c[s] = cs * decay_r;
      eb[s] = es;
      G[s] = G[s] + es * ei;
    }
  }
}
}  // namespace

template <class Real>
void LplConnectionT<Real>::update(int64_t n, const std::vector<uint32_t>& delayed_pre, const uint8_t* post_now,
                                  const uint8_t* post_d8, const Real* v_post, bool active) {
  const Real dtf = static_cast<Real>(kDt);
  // Steps 1-3: delay line of the target's spikes, error, surrogate derivative (+ avgsqrerr diagnostic).
  uint8_t* line200 = &spike_line_[static_cast<size_t>(n % kPostDelay) * n_post_];
  const size_t loc = static_cast<size_t>(n % kLocDelay);
  Real* fl = &f_line_[loc * n_post_];
  for (int i = 0; i < n_post_; ++i) {
    avgsqrerr_[i] = avgsqrerr_[i] * decay_avg_ + dtf * e2_[i] * e2_[i];
    const bool s200 = line200[i] != 0;
    line200[i] = post_now[i];
    const bool s8 = post_d8[i] != 0;
    Real e = m_[i] * c1_;
    if (s8) e = e + Real(1);
    e = e / (s_[i] + xi_);
    e = e * lambda_;
    e = e + delta_;
    if (s8) e = e - phi_;
    if (s200) e = e + phi_;
    err_[i] = e;
    Real f = 0;
    if (!(v_post[i] < Real(-0.080))) {
      const Real q = Real(1) + std::fabs(beta_ * (v_post[i] - theta_s_));
      f = beta_ / (q * q);
    }
    // Step 4: 8-step delay of f'.
    f8_[i] = fl[i];
    fl[i] = f;
  }
  Real* pl = &p_line_[loc * n_pre_];
  for (int j = 0; j < n_pre_; ++j) {
    p8_[j] = pl[j];
    pl[j] = p_psp_[j];
  }
  // Steps 5-8 fused per synapse (post-major).
  synapse_pass(n_post_, post_ptr_.data(), pre_of_.data(), p8_.data(), f8_.data(), e2_.data(), inc_scale_, k_d_, decay_r_,
               c_.data(), ebar_.data(), G_.data());
  if (p_.delta_mode == DeltaMode::kPerPreSpike) {
    const Real d = static_cast<Real>(p_.delta);
    for (uint32_t j : delayed_pre)
      for (uint32_t k = pre_ptr_[j]; k < pre_ptr_[j + 1]; ++k) G_[pm_syn_[k]] += d;
  }
  // Step 9: batch update at multiples of N_batch (n = 0 included); the reset happens while priming too.
  if (n % kBatchSteps == 0) {
    const Real nb = static_cast<Real>(kBatchSteps);
    const double wmax = static_cast<Real>(p_.wmax);
    for (size_t s = 0; s < w_.size(); ++s) {
      const double g = G_[s] / nb;
      if (p_.augment) v_[s] = std::max(static_cast<Real>(g * g), rho_ * v_[s]);
      G_[s] = 0;
      if (!active) continue;
      const double scale = p_.augment ? 1.0 / (std::sqrt(static_cast<double>(v_[s])) + 1e-32) : 1.0;
      double w = w_[s];
      if (kappa_wd_ > 0) w = static_cast<Real>(w - kappa_wd_ * w * p_.eta);
      w = static_cast<Real>(w + scale * g * p_.eta);
      w_[s] = static_cast<Real>(std::min(std::max(w, 0.0), wmax));
    }
  }
  // Steps 10-11: PSP trace and variance trace.
  for (int j = 0; j < n_pre_; ++j) p_psp_[j] = p_psp_[j] + k_psp_ * (x_[j] - p_psp_[j]);
  for (int i = 0; i < n_post_; ++i) {
    Real u = m_[i] * c1_;
    if (post_d8[i]) u = u + Real(1);
    u = u * u;
    u = u * inv_tau_s2_;
    s_[i] = (s_[i] + u) * decay_s2_;
  }
}

template <class Real>
void LplConnectionT<Real>::update_traces(const std::vector<uint32_t>& delayed_pre, const uint8_t* post_now) {
  for (int i = 0; i < n_post_; ++i) {
    Real m = m_[i];
    if (post_now[i]) m = m + Real(1);
    m_[i] = m * decay_mean_;
    e1_[i] = e1_[i] + k_r_ * (err_[i] - e1_[i]);
    e2_[i] = e2_[i] + k_d_ * (e1_[i] - e2_[i]);
  }
  for (uint32_t j : delayed_pre) x_[j] += Real(1);
  for (int j = 0; j < n_pre_; ++j) x_[j] *= decay_syn_;
}

template <class Real>
Synapses LplConnectionT<Real>::synapses() const {
  Synapses s;
  s.n_pre = n_pre_;
  s.n_post = n_post_;
  s.pre = orig_pre_;
  s.post = orig_post_;
  s.w.resize(w_.size());
  for (size_t k = 0; k < w_.size(); ++k) s.w[k] = static_cast<float>(w_[pm_syn_[k]]);
  return s;
}

template <class Real>
bool LplConnectionT<Real>::all_finite() const {
  for (Real w : w_)
    if (!finite_value(w)) return false;
  for (int i = 0; i < n_post_; ++i)
    if (!finite_value(err_[i]) || !finite_value(e2_[i]) || !finite_value(s_[i]) || !finite_value(m_[i])) return false;
  return true;
}

template class LplConnectionT<float>;
template class LplConnectionT<double>;

}  // namespace lpl::spiking
