// Neuron state file (.nstate, SPIKING.md 9.5) in the port's own column layout, and its line 3: the
// port's one-line text form of the group's spike delay buffer (Auryn writes a Boost archive there).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/spiking/if_group.h"
#include "models/spiking/lpl_connection.h"
#include "models/spiking/spike_ring.h"

namespace lpl::spiking {

// Columns: avgsqrerr err [g_adapt1] g_ampa g_gaba g_nmda mem thr, then the named traces (one value
// per neuron); g_adapt1 only for adaptive (--adapt) groups. Line 3 is spike_delay_line(g.ring()).
template <class Real>
void write_nstate(const std::string& path, const IFGroupT<Real>& g, const LplConnectionT<Real>* lpl,
                  const std::vector<std::pair<std::string, const std::vector<Real>*>>& traces);

// The spikes still in flight after the last completed step L: those emitted at steps L-7..L, which
// the targets receive at steps L+1..L+8 (the ring's 9th slot, step L-8, was delivered at step L):
//   "# spike_delay_buffer last_step L delay 8 | L-7: u u ... | L-6: | ... | L: u"
// Steps < 0 are left out (a run of 0 steps gives "... last_step -1 delay 8").
std::string spike_delay_line(const SpikeRing& ring);

struct SpikeDelayBuffer {
  int64_t last_step = -1;
  std::vector<std::pair<int64_t, std::vector<uint32_t>>> pending;  // (emission step, units), ascending steps
};
// Parses a spike_delay_line; malformed text throws lpl::Error naming the problem.
SpikeDelayBuffer parse_spike_delay_line(const std::string& line);

}  // namespace lpl::spiking
