#include "models/spiking/state_file.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "engine/common.h"
#include "models/spiking/spike_io.h"

namespace lpl::spiking {

namespace {
constexpr const char* kDelayTag = "# spike_delay_buffer last_step ";

// Whole-token decimal integer, or false.
bool parse_integer(const std::string& s, long long& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}
}  // namespace

std::string spike_delay_line(const SpikeRing& ring) {
  const int64_t last = ring.step();
  std::ostringstream out;
  out << kDelayTag << last << " delay " << kAxonalDelay;
  // Pending: emitted at last-7..last (kAxonalDelay steps); step last-8 was transmitted at step last.
  for (int64_t m = last - kAxonalDelay + 1; m <= last; ++m) {
    if (m < 0) continue;
    out << " | " << m << ":";
    for (uint32_t u : ring.at(m)) out << " " << u;
  }
  return out.str();
}

SpikeDelayBuffer parse_spike_delay_line(const std::string& line) {
  const std::string tag = kDelayTag;
  if (line.rfind(tag, 0) != 0) fail("spike delay line: does not start with '" + tag + "'");
  SpikeDelayBuffer b;
  std::istringstream in(line.substr(tag.size()));
  std::string word;
  int delay = 0;
  // last_step >= -1 (a run of 0 steps): the step window below subtracts from it.
  if (!(in >> b.last_step >> word >> delay) || word != "delay" || delay != kAxonalDelay || b.last_step < -1)
    fail(strf("spike delay line: expected 'last_step <step> delay %d' with step >= -1", kAxonalDelay));
  std::string tok;
  while (in >> tok) {
    if (tok == "|") {
      std::string step_tok;
      if (!(in >> step_tok) || step_tok.size() < 2 || step_tok.back() != ':')
        fail("spike delay line: expected '<step>:' after '|'");
      long long m = 0;
      if (!parse_integer(step_tok.substr(0, step_tok.size() - 1), m) || m < 0 || m > b.last_step || m <= b.last_step - kAxonalDelay ||
          (!b.pending.empty() && m <= b.pending.back().first))
        fail("spike delay line: bad or out-of-order step '" + step_tok + "'");
      b.pending.emplace_back(m, std::vector<uint32_t>{});
      continue;
    }
    if (b.pending.empty()) fail("spike delay line: unit '" + tok + "' before the first step");
    long long u = 0;
    if (!parse_integer(tok, u) || u < 0 || u > 0xFFFFFFFFll) fail("spike delay line: bad unit '" + tok + "'");
    b.pending.back().second.push_back(static_cast<uint32_t>(u));
  }
  return b;
}

template <class Real>
void write_nstate(const std::string& path, const IFGroupT<Real>& g, const LplConnectionT<Real>* lpl,
                  const std::vector<std::pair<std::string, const std::vector<Real>*>>& traces) {
  std::FILE* f = open_output(path);
  const bool adapt = g.adaptive();
  std::fprintf(f, "# Auryn SpikingGroup state file for n=%d neurons\n", g.size());
  std::fprintf(f, "# Default field order (might be overwritten): avgsqrerr err %sg_ampa g_gaba g_nmda mem thr (plus traces:",
               adapt ? "g_adapt1 " : "");
  for (const auto& t : traces) std::fprintf(f, " %s", t.first.c_str());
  std::fprintf(f, ")\n%s\n", spike_delay_line(g.ring()).c_str());
  for (int i = 0; i < g.size(); ++i) {
    const double a = lpl ? static_cast<double>(lpl->avgsqrerr()[i]) : 0.0, e = lpl ? static_cast<double>(lpl->err()[i]) : 0.0;
    std::fprintf(f, "%e %e ", a, e);
    if (adapt) std::fprintf(f, "%e ", static_cast<double>(g.g_adapt[i]));
    std::fprintf(f, "%e %e %e %e %e ", static_cast<double>(g.g_ampa[i]), static_cast<double>(g.g_gaba[i]),
                 static_cast<double>(g.g_nmda[i]), static_cast<double>(g.v[i]), static_cast<double>(g.thr[i]));
    for (const auto& t : traces) std::fprintf(f, "%e ", static_cast<double>((*t.second)[i]));
    std::fprintf(f, "\n");
  }
  close_output(f, path);
}

template void write_nstate<float>(const std::string&, const IFGroupT<float>&, const LplConnectionT<float>*,
                                  const std::vector<std::pair<std::string, const std::vector<float>*>>&);
template void write_nstate<double>(const std::string&, const IFGroupT<double>&, const LplConnectionT<double>*,
                                   const std::vector<std::pair<std::string, const std::vector<double>*>>&);

}  // namespace lpl::spiking
