// sim_lpl_spiking (SPIKING.md 1.1, 3): 100 E + 25 I integrate-and-fire neurons learning from 500
// Poisson inputs (or a replayed input spike file) with spiking LPL and inhibitory STDP.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/spiking/if_group.h"
#include "models/spiking/lpl_connection.h"
#include "models/spiking/static_connection.h"

namespace lpl::spiking {

struct NetworkConfig {
  std::string dir = ".";        // outputs
  std::string input_dir = ".";  // rates*.dat and local_inh_connectivity.wmat
  std::string input_spikes;     // replay file (.spk or .spk.gz) instead of Poisson inputs
  std::string init_vmem;        // initial E voltages file (default: Auryn's seed-42 draw, built in)
  std::string load_connectivity;  // folder with input_con/con_ei/con_ie/con_ii .0.wmat
  uint64_t seed = 123;
  double sparseness = 0.2, wext = 0.2, wee = 0.0, wei = 0.2, wie = 1.0, wii = 1.0;
  int ne = 100, ni = 0, psize = 200, plen = 3;
  double simtime = 3600;  // learning phase (s), after 3 tau_mean of priming
  bool fast = false, quiet = true, poisson_quirk = false;
  bool write_files = true;      // false: no output files at all (benchmarks, tests)
  bool collect_spikes = false;  // keep E and I spikes in the result (tests)
  bool double_precision = false;  // --double: all neuron, synapse and trace state in float64
  IFParams neuron;              // E group (the I group always uses ampa ratio 1 and never adapts)
  LplParams lpl;
  IstdpParams istdp;
};

struct NetworkResult {
  int64_t steps = 0, prime_steps = 0;
  uint64_t exc_spikes = 0, inh_spikes = 0, input_spikes = 0;
  std::vector<std::pair<uint32_t, uint32_t>> exc, inh;  // (step, unit) with collect_spikes
  Synapses w_in, w_ie, w_ee;                             // final LPL, I->E and (--wee > 0) E->E weights
  double wall_s = 0;
};

NetworkResult run_network(const NetworkConfig& cfg);

// The LPL defaults of the network program (4.1).
LplParams network_default_lpl();

// The paper's network (run_snn.sh, SPIKING.md 8.1): 100 E, 25 I, 5 x 100 inputs, sparseness 0.1,
// weights 0.15 / 0.5 / 0.5 / 0.4, eta 1e-2, tau_sigma2 30 s, iSTDP (zeta 1e-3, kappa 10 Hz), with
// the given tau_mean (priming 3 tau_mean) and learning time. dir, inputs and seed are left default.
NetworkConfig run_snn_config(double tau_mean = 600.0, double simtime = 100000.0);

}  // namespace lpl::spiking
