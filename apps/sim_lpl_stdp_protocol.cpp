// sim_lpl_stdp_protocol: the LPL STDP induction protocol of the paper's Fig. 6 (SPIKING.md 7, 8.2),
// a drop-in replacement for the Auryn program: same options and defaults, same output files.
// Reads spikes.ras and post_voltage.dat from the working directory (or --input_dir).
#include <chrono>
#include <cstdio>
#include <iostream>

#include "engine/common.h"
#include "models/spiking/common_flags.h"
#include "models/spiking/spike_io.h"
#include "models/spiking/stdp_protocol.h"

using namespace lpl::spiking;

static int body(int argc, char** argv) {
  Options o;
  o.add_switch("quiet", "quiet mode");
  o.add_switch("verbose", "verbose mode");
  o.add("seed", "123", "random seed (no random quantity depends on it with sparseness 1)");
  o.add("eta", "1e-3", "LPL learning rate");
  o.add("sparseness", "1.0", "IN -> E connection probability");
  o.add("tau_mean", "10", "time constant of the mean-rate trace (s)");
  o.add("tau_sigma2", "300", "parsed but not used: tau_sigma2 is 300 s in this program");
  o.add("lambda", "1", "Hebbian strength");
  o.add("phi", "1", "predictive strength");
  o.add("simtime", "3600", "simulated time (s) after --primetime");
  o.add("primetime", "0", "time (s) with weight updates disabled, before --simtime");
  o.add("dir", ".", "output directory");
  o.add("wext", "0.2", "initial weight");
  o.add("wmax", "1.0", "upper weight bound");
  o.add("ampa", "1.0", "AMPA/NMDA ratio");
  o.add("ne", "1", "number of (identical, clamped) neurons");
  o.add("psize", "200", "number of input units");
  o.add("initmean", "20", "initial mean rate M (Hz)");
  o.add("initsigma2", "0.0", "initial variance trace S");
  o.add_switch("adapt", "E neuron with spike-triggered adaptation (Auryn AIFGroup, tau 100 ms, +1 per spike)");
  o.add_switch("fast", "skip the end-of-run files (exc.0.nstate, input_con.0.wmat)");
  for (const char* ignored : {"load", "bgrate", "label", "wee", "wei", "wie", "wii", "stimfile", "wstim", "stimtime",
                              "plen", "stimfreq"})
    o.add(ignored, "", "parsed, no effect");
  add_erratum_options(o);
  o.add("input_dir", ".", "port addition: folder holding spikes.ras and post_voltage.dat");
  o.add("init_vmem", "", "port addition: initial voltages file ('neuron value [hex]' lines)");
  o.add_switch("double", "port addition: neuron, synapse and trace state in float64 (sensitivity studies)");
  if (!o.parse(argc, argv)) {
    std::cout << o.help("sim_lpl_stdp_protocol");
    return 1;
  }
  StdpConfig c;
  c.dir = o.str("dir");
  c.input_dir = o.str("input_dir");
  c.init_vmem = o.str("init_vmem");
  c.simtime = o.num("simtime");
  c.primetime = o.num("primetime");
  c.wext = o.num("wext");
  c.sparseness = o.num("sparseness");
  c.ne = o.int32("ne");
  c.psize = o.int32("psize");
  c.seed = static_cast<uint64_t>(o.integer("seed"));
  c.fast = o.flag("fast");
  c.quiet = o.flag("quiet");
  c.neuron.ampa_nmda_ratio = o.num("ampa");
  c.neuron.adapt = o.flag("adapt");
  c.double_precision = o.flag("double");
  c.lpl = stdp_default_lpl();
  c.lpl.eta = o.num("eta");
  c.lpl.lambda = o.num("lambda");
  c.lpl.phi = o.num("phi");
  c.lpl.tau_mean = o.num("tau_mean");
  c.lpl.wmax = o.num("wmax");
  c.lpl.init_mean_hz = o.num("initmean");
  c.lpl.init_sigma2 = o.num("initsigma2");
  (void)o.num("tau_sigma2");  // validated, unused (SPIKING.md 8.2)
  apply_erratum_options(o, c.neuron, c.lpl);
  const auto t0 = std::chrono::steady_clock::now();
  const StdpResult r = run_stdp_protocol(c);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::FILE* log = open_output(c.dir + "/sim_lpl_stdp_protocol.0.log");
  std::fprintf(log, "steps %lld\npost_spikes %zu\nsigma2_last %g\nwall_s %.3f\n", static_cast<long long>(r.steps),
               r.post_spike_steps.size(), static_cast<double>(r.sigma2_last), wall);
  std::fprintf(log, "state %s\nexc_group %s\n", c.double_precision ? "float64" : "float32", c.neuron.adapt ? "AIFGroup" : "IFGroup");
  close_output(log, c.dir + "/sim_lpl_stdp_protocol.0.log");
  if (!c.quiet)
    std::printf("sim_lpl_stdp_protocol: %lld steps, %zu post spikes, %.2f s wall\n", static_cast<long long>(r.steps),
                r.post_spike_steps.size(), wall);
  return 0;
}

int main(int argc, char** argv) { return run_main("sim_lpl_stdp_protocol", body, argc, argv); }
