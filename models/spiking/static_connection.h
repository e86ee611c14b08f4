// Static sparse connection and the symmetric inhibitory STDP connection (Vogels-Sprekeler, SPIKING.md 5).
#pragma once
#include <cstdint>
#include <vector>

#include "models/spiking/synapses.h"

namespace lpl::spiking {

class StaticConnection {
 public:
  explicit StaticConnection(Synapses syn);
  // Phase 2: each delayed presynaptic spike adds w to the target conductance (stored order). The
  // weights are the float32 values of the files/options in both precisions (they never change).
  template <class Real>
  void transmit(const std::vector<uint32_t>& delayed_pre, Real* g_target) const {
    for (uint32_t j : delayed_pre)
      for (uint32_t k = ptr_[j]; k < ptr_[j + 1]; ++k) g_target[s_.post[k]] += s_.w[k];
  }
  const Synapses& synapses() const { return s_; }

 protected:
  Synapses s_;
  std::vector<uint32_t> ptr_;
};

struct IstdpParams {
  double zeta = 1e-3;   // learning rate
  double kappa = 3.0;   // target rate (Hz)
  double tau_stdp = 20e-3;
  double wmax = 1.0;
  bool plastic = false;  // --ieplastic
};

// State type `Real`: float (the original's float32 arithmetic) or double (--double) for the
// plastic weights and both traces.
template <class Real>
class IstdpConnectionT : public StaticConnection {
 public:
  IstdpConnectionT(Synapses syn, const IstdpParams& p);
  // Phase 2 of step n: transmission with the presynaptic-spike update (clip below), then the
  // postsynaptic-spike update (clip above); traces hold their values of step n-1.
  void transmit_and_learn(const std::vector<uint32_t>& delayed_pre, const std::vector<uint32_t>& post_now,
                          Real* g_target);
  // Phase 4: presynaptic trace (+1 per delayed spike) and postsynaptic trace (+1 per spike at n).
  void update_traces(const std::vector<uint32_t>& delayed_pre, const std::vector<uint32_t>& post_now);
  // Current weights (rounded to float32 when Real is double), in the stored (file) order.
  Synapses synapses() const;
  const std::vector<Real>& post_trace() const { return x_post_; }
  bool all_finite() const;

 private:
  IstdpParams p_;
  double fudge_;  // 2 kappa tau_stdp
  Real decay_;
  std::vector<Real> w_, x_pre_, x_post_;
  std::vector<uint32_t> post_ptr_, post_syn_;  // per target: indices of its synapses
};

using IstdpConnection = IstdpConnectionT<float>;
using IstdpConnection64 = IstdpConnectionT<double>;

}  // namespace lpl::spiking
