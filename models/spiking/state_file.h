// Neuron state file (.nstate, SPIKING.md 9.5) in the port's own column layout.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/spiking/if_group.h"
#include "models/spiking/lpl_connection.h"

namespace lpl::spiking {

// Columns: avgsqrerr err g_ampa g_gaba g_nmda mem thr, then the named traces (one value per neuron).
void write_nstate(const std::string& path, const IFGroup& g, const LplConnection* lpl,
                  const std::vector<std::pair<std::string, const std::vector<float>*>>& traces);

}  // namespace lpl::spiking
