// Static sparse connection and the symmetric inhibitory STDP connection (Vogels-Sprekeler, SPIKING.md 5).
#pragma once
#include <cstdint>
#include <vector>

#include "models/spiking/synapses.h"

namespace lpl::spiking {

class StaticConnection {
 public:
  explicit StaticConnection(Synapses syn);
  // Phase 2: each delayed presynaptic spike adds w to the target conductance (stored order).
  void transmit(const std::vector<uint32_t>& delayed_pre, float* g_target) const;
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

class IstdpConnection : public StaticConnection {
 public:
  IstdpConnection(Synapses syn, const IstdpParams& p);
  // Phase 2 of step n: transmission with the presynaptic-spike update (clip below), then the
  // postsynaptic-spike update (clip above); traces hold their values of step n-1.
  void transmit_and_learn(const std::vector<uint32_t>& delayed_pre, const std::vector<uint32_t>& post_now,
                          float* g_target);
  // Phase 4: presynaptic trace (+1 per delayed spike) and postsynaptic trace (+1 per spike at n).
  void update_traces(const std::vector<uint32_t>& delayed_pre, const std::vector<uint32_t>& post_now);
  const std::vector<float>& post_trace() const { return x_post_; }
  bool all_finite() const;

 private:
  IstdpParams p_;
  double fudge_;  // 2 kappa tau_stdp
  float decay_;
  std::vector<float> x_pre_, x_post_;
  std::vector<uint32_t> post_ptr_, post_syn_;  // per target: indices of its synapses
};

}  // namespace lpl::spiking
