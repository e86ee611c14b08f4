// Conductance-based integrate-and-fire group with AMPA/NMDA/GABA and the spike-triggered moving
// threshold (SPIKING.md section 2), float32 state, the spec's float operation order.
#pragma once
#include <cstdint>
#include <vector>

#include "models/spiking/spike_ring.h"

namespace lpl::spiking {

enum class ThresholdMode { kSet, kAdd };  // code: theta set to 100 mV; erratum #5: theta += 100 mV

struct IFParams {
  double ampa_nmda_ratio = 1.0;  // --ampa: A_ampa = r/(r+1), A_nmda = 1/(r+1)
  ThresholdMode threshold_mode = ThresholdMode::kSet;
};

class IFGroup {
 public:
  static constexpr float kRestV = -0.070f, kResetV = -0.070f, kInhRev = -0.080f, kThetaRest = -0.050f;
  static constexpr float kThetaJump = 0.100f;

  IFGroup(int n, const IFParams& p);
  int size() const { return n_; }
  // Phase 1 of step n: integrate every neuron and append the spiking ones to ring().now().
  void integrate(int64_t n);
  SpikeRing& ring() { return ring_; }
  const SpikeRing& ring() const { return ring_; }

  std::vector<float> v, g_ampa, g_gaba, g_nmda, thr;

 private:
  int n_;
  ThresholdMode mode_;
  float neg_a_ampa_, neg_a_nmda_, decay_ampa_, decay_gaba_, decay_thr_, mu_nmda_, m_;
  SpikeRing ring_;
};

}  // namespace lpl::spiking
