// sim_lpl_stdp_protocol (SPIKING.md section 7): one clamped IF neuron (or --ne identical ones)
// receiving 100 file-driven inputs through an LPL connection.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/spiking/if_group.h"
#include "models/spiking/lpl_connection.h"

namespace lpl::spiking {

struct StdpConfig {
  std::string dir = ".";        // outputs
  std::string input_dir = ".";  // spikes.ras and post_voltage.dat
  std::string init_vmem;        // optional initial-voltage file
  double simtime = 3600, primetime = 0;
  double wext = 0.2, sparseness = 1.0;
  int ne = 1, psize = 200;
  uint64_t seed = 123;
  bool fast = false, quiet = true;
  bool double_precision = false;  // --double: all neuron, synapse and trace state in float64
  IFParams neuron;
  LplParams lpl;  // the program sets delta = 0, tau_sigma2 = 300 s
};

struct StdpResult {
  int64_t steps = 0;
  std::vector<int64_t> post_spike_steps;  // all spikes of neuron 0..ne-1 (neuron 0 first if ne = 1)
  std::vector<float> w_final;             // pre-major (file) order (float32 also with --double)
  float sigma2_last = 0;                  // s of neuron 0 after the last step
};

// LPL parameters of the protocol program (4.1): delta 0, tau_sigma2 300 s regardless of the option.
LplParams stdp_default_lpl();

StdpResult run_stdp_protocol(const StdpConfig& cfg);

// The voltage-clamp array of 7.4: one float32 value per step from (time, voltage) points.
std::vector<float> clamp_trace(const std::vector<std::vector<double>>& points);
// The same interpolation kept in float64 (--double).
std::vector<double> clamp_trace_f64(const std::vector<std::vector<double>>& points);
// File input of 7.3: (step, unit) events from (time, unit) rows, in file order within a step.
std::vector<std::pair<int64_t, uint32_t>> file_input_events(const std::vector<std::vector<double>>& rows, int n_units,
                                                             const std::string& what);

}  // namespace lpl::spiking
