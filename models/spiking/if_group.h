// Conductance-based integrate-and-fire group with AMPA/NMDA/GABA and the spike-triggered moving
// threshold (SPIKING.md section 2), in the spec's float operation order. State type `Real`: float
// (the original's float32 arithmetic, default) or double (--double, same operations in float64).
// With IFParams::adapt the group is Auryn's AIFGroup (--adapt): an extra adaptation conductance
// g_adapt1 that adds to g_gaba, +dg_adapt per spike, and the AIFGroup's own step order.
#pragma once
#include <cstdint>
#include <vector>

#include "models/spiking/spike_ring.h"

namespace lpl::spiking {

enum class ThresholdMode { kSet, kAdd };  // code: theta set to 100 mV; erratum #5: theta += 100 mV

struct IFParams {
  double ampa_nmda_ratio = 1.0;  // --ampa: A_ampa = r/(r+1), A_nmda = 1/(r+1)
  ThresholdMode threshold_mode = ThresholdMode::kSet;
  bool adapt = false;     // --adapt: Auryn's AIFGroup
  double dg_adapt = 1.0;  // g_adapt1 increment per spike (sim_lpl_spiking sets dg_adapt1 = 1.0)
};

template <class Real>
class IFGroupT {
 public:
  static constexpr Real kRestV = Real(-0.070), kResetV = Real(-0.070), kInhRev = Real(-0.080), kThetaRest = Real(-0.050);
  static constexpr Real kThetaJump = Real(0.100);

  IFGroupT(int n, const IFParams& p);
  int size() const { return n_; }
  bool adaptive() const { return adapt_; }
  // Phase 1 of step n: integrate every neuron and append the spiking ones to ring().now().
  void integrate(int64_t n);
  SpikeRing& ring() { return ring_; }
  const SpikeRing& ring() const { return ring_; }

  std::vector<Real> v, g_ampa, g_gaba, g_nmda, thr;
  std::vector<Real> g_adapt;  // adaptive groups only (empty otherwise)

 private:
  void integrate_if();   // IFGroup order (SPIKING.md 2)
  void integrate_aif();  // AIFGroup order: decays first, currents from the decayed conductances

  int n_;
  ThresholdMode mode_;
  bool adapt_;
  Real neg_a_ampa_, neg_a_nmda_, decay_ampa_, decay_gaba_, decay_thr_, mu_nmda_, m_;
  Real decay_adapt_ = 0, mul_nmda_ = 0, dg_adapt_ = 0;  // AIFGroup constants
  SpikeRing ring_;
};

using IFGroup = IFGroupT<float>;
using IFGroup64 = IFGroupT<double>;

}  // namespace lpl::spiking
