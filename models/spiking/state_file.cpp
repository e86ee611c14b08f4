#include "models/spiking/state_file.h"

#include "models/spiking/spike_io.h"

namespace lpl::spiking {

void write_nstate(const std::string& path, const IFGroup& g, const LplConnection* lpl,
                  const std::vector<std::pair<std::string, const std::vector<float>*>>& traces) {
  std::FILE* f = open_output(path);
  std::fprintf(f, "# Auryn SpikingGroup state file for n=%d neurons\n", g.size());
  std::fprintf(f, "# Default field order (might be overwritten): avgsqrerr err g_ampa g_gaba g_nmda mem thr (plus traces:");
  for (const auto& t : traces) std::fprintf(f, " %s", t.first.c_str());
  std::fprintf(f, ")\n# lpl port: the spike delay buffer is not stored\n");
  for (int i = 0; i < g.size(); ++i) {
    const double a = lpl ? lpl->avgsqrerr()[i] : 0.0, e = lpl ? lpl->err()[i] : 0.0;
    std::fprintf(f, "%e %e %e %e %e %e %e ", a, e, static_cast<double>(g.g_ampa[i]), static_cast<double>(g.g_gaba[i]),
                 static_cast<double>(g.g_nmda[i]), static_cast<double>(g.v[i]), static_cast<double>(g.thr[i]));
    for (const auto& t : traces) std::fprintf(f, "%e ", static_cast<double>((*t.second)[i]));
    std::fprintf(f, "\n");
  }
  close_output(f, path);
}

}  // namespace lpl::spiking
