// The spiking LPL rule of SPIKING.md section 4 on a sparse connection (IN -> E). Synapse state is
// stored post-major so the per-step pass (steps 5-8 of 4.3) is one fused loop per target neuron.
// State type `Real`: float (the original's float32 arithmetic) or double (--double).
#pragma once
#include <cstdint>
#include <vector>

#include "models/spiking/synapses.h"

namespace lpl::spiking {

enum class DeltaMode { kErrorBias, kPerPreSpike };  // erratum #2: code (default) / published Eq. 18

struct LplParams {
  double eta = 1e-3, lambda = 1.0, phi = 1.0;
  double delta = 1e-5, xi = 1e-3;
  DeltaMode delta_mode = DeltaMode::kErrorBias;
  double beta = 1000.0, theta_s = -0.050;
  double tau_syn = 5e-3, tau_psp = 20e-3, tau_r = 2e-3, tau_d = 10e-3;
  double tau_mean = 600.0, tau_sigma2 = 300.0;
  double wmax = 1.0;
  bool augment = false;
  double tau_rms = 100.0;
  double tau_weight_decay = 1e9;  // enabled only if < 1e5
  bool unit_gain_eligibility = false;  // erratum #3: multiply the step-5 increment by dt/tau_r
  bool sigma2_times_dt = false;        // erratum #4 (--reparam): variance increment u*dt/tau_sigma2
  double init_mean_hz = 0.0, init_sigma2 = 0.0;
};

// Applies --reparam: variance increment times dt, lambda*dt, xi = 1e-7, per-pre-spike delta
// (1e-3 unless the user gave --delta).
void apply_reparam(LplParams& p, bool delta_given);

template <class Real>
class LplConnectionT {
 public:
  LplConnectionT(const Synapses& syn, const LplParams& p);

  // Phase 2: each delayed presynaptic spike adds w to g_ampa of its targets (stored pre-major order).
  void transmit(const std::vector<uint32_t>& delayed_pre, Real* g_target) const;
  // Phase 3 of step n (4.3). post_now/post_d8: target spikes at n and n-8 as 0/1 flags;
  // v_post: target membranes after phase 1; active: weight updates enabled (not priming).
  void update(int64_t n, const std::vector<uint32_t>& delayed_pre, const uint8_t* post_now, const uint8_t* post_d8,
              const Real* v_post, bool active);
  // Phase 4: traces owned by the source (x) and target (m, error filters, avgsqrerr) groups.
  void update_traces(const std::vector<uint32_t>& delayed_pre, const uint8_t* post_now);

  // Weights in the pre-major (file) order of the Synapses given to the constructor (rounded to
  // float32 for files when Real is double).
  Synapses synapses() const;
  size_t size() const { return w_.size(); }
  int n_post() const { return n_post_; }
  // Per-target state, for monitors and the .nstate file.
  const std::vector<Real>& err() const { return err_; }
  const std::vector<Real>& sigma2() const { return s_; }
  const std::vector<Real>& mean_trace() const { return m_; }
  const std::vector<Real>& avgsqrerr() const { return avgsqrerr_; }
  const std::vector<Real>& error_filtered() const { return e2_; }  // the doubly filtered error
  const std::vector<Real>& psp() const { return p_psp_; }           // per presynaptic unit
  const std::vector<Real>& pre_trace() const { return x_; }
  Real weight_pre_major(size_t k) const { return w_[pm_syn_[k]]; }
  // True when every weight and per-neuron trace is finite (checked once per batch by the programs).
  bool all_finite() const;

 private:
  int n_pre_, n_post_;
  LplParams p_;
  // Post-major synapse arrays.
  std::vector<uint32_t> post_ptr_, pre_of_;
  std::vector<Real> w_, c_, ebar_, G_, v_;
  // Pre-major view: per presynaptic unit the range in pm_post_/pm_syn_ (index into post-major arrays).
  std::vector<uint32_t> pre_ptr_, pm_post_, pm_syn_;
  std::vector<uint32_t> orig_pre_, orig_post_;
  // Per presynaptic unit: trace x (tau_syn), PSP trace p, and the 8-step delay line of p.
  std::vector<Real> x_, p_psp_, p_line_;
  // Per target: error, filters, mean and variance traces, delay lines of f' (8) and spikes (200).
  std::vector<Real> err_, e1_, e2_, m_, s_, avgsqrerr_, f_line_;
  std::vector<uint8_t> spike_line_;
  std::vector<Real> p8_, f8_;
  // Constants computed in double, stored as Real.
  Real c1_, xi_, lambda_, delta_, phi_, beta_, theta_s_, k_d_, decay_r_, k_psp_, k_r_, inv_tau_s2_, decay_s2_;
  Real decay_syn_, decay_mean_, rho_, inc_scale_, decay_avg_;
  double kappa_wd_;
};

using LplConnection = LplConnectionT<float>;
using LplConnection64 = LplConnectionT<double>;

}  // namespace lpl::spiking
