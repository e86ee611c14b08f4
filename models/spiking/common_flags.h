// Options shared by both programs: erratum variants (SPIKING.md 4.7) and the neuron/LPL options.
#pragma once
#include "models/spiking/if_group.h"
#include "models/spiking/lpl_connection.h"
#include "models/spiking/options.h"

namespace lpl::spiking {

void add_erratum_options(Options& o);
// Reads --threshold_mode, --delta_mode, --delta, --unit_gain_eligibility, --reparam into the params.
void apply_erratum_options(const Options& o, IFParams& neuron, LplParams& lpl);
// Runs `body` and turns lpl::Error (and other exceptions) into one message on stderr and status 1.
int run_main(const char* program, int (*body)(int, char**), int argc, char** argv);

}  // namespace lpl::spiking
