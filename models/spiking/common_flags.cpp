#include "models/spiking/common_flags.h"

#include <cstdio>
#include <exception>

#include "engine/common.h"

namespace lpl::spiking {

void add_erratum_options(Options& o) {
  o.add("threshold_mode", "set", "erratum #5: 'set' (code: theta = 100 mV after a spike) or 'add' (theta += 100 mV)");
  o.add("delta_mode", "error_bias", "erratum #2: 'error_bias' (code) or 'per_pre_spike' (published Eq. 18)");
  o.add("delta", "program default", "transmitter-triggered plasticity strength delta");
  o.add_switch("unit_gain_eligibility", "erratum #3: unit-gain inner eligibility filter (increment times dt/tau_r)");
  o.add_switch("reparam", "erratum #4: variance increment times dt, lambda*dt, xi = 1e-7, per-pre-spike delta 1e-3");
}

void apply_erratum_options(const Options& o, IFParams& neuron, LplParams& lpl) {
  const std::string tm = o.str("threshold_mode");
  if (tm == "set") neuron.threshold_mode = ThresholdMode::kSet;
  else if (tm == "add") neuron.threshold_mode = ThresholdMode::kAdd;
  else fail(strf("--threshold_mode must be 'set' or 'add', got '%s'", tm.c_str()));
  if (o.given("delta")) lpl.delta = o.num("delta");
  if (o.flag("reparam")) apply_reparam(lpl, o.given("delta"));
  if (o.given("delta_mode")) {
    const std::string dm = o.str("delta_mode");
    if (dm == "error_bias") lpl.delta_mode = DeltaMode::kErrorBias;
    else if (dm == "per_pre_spike") lpl.delta_mode = DeltaMode::kPerPreSpike;
    else fail(strf("--delta_mode must be 'error_bias' or 'per_pre_spike', got '%s'", dm.c_str()));
  }
  lpl.unit_gain_eligibility = o.flag("unit_gain_eligibility");
}

int run_main(const char* program, int (*body)(int, char**), int argc, char** argv) {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace lpl::spiking
