// sim_lpl_spiking: the plastic E/I network of the paper's Fig. 5 (SPIKING.md 3, 8.1), a drop-in
// replacement for the Auryn program: same options and defaults, same output files. Reads
// rates0..rates<plen>.dat and local_inh_connectivity.wmat from the working directory (or --input_dir).
#include <cstdio>
#include <iostream>

#include "engine/common.h"
#include "models/spiking/common_flags.h"
#include "models/spiking/network.h"
#include "models/spiking/spike_io.h"

using namespace lpl::spiking;

static int body(int argc, char** argv) {
  Options o;
  o.add_switch("quiet", "no progress output");
  o.add_switch("verbose", "verbose log");
  o.add("seed", "123", "seeds the Poisson inputs and the random connectivity (not the initial voltages)");
  o.add("eta", "1e-3", "LPL learning rate");
  o.add("zeta", "1e-3", "iSTDP learning rate");
  o.add("kappa", "3", "iSTDP target rate (Hz)");
  o.add("sparseness", "0.2", "connection probability of IN->E and I->I (and E->E)");
  o.add("tau_mean", "10", "mean-rate trace time constant (s); priming lasts 3 tau_mean");
  o.add("tau_sigma2", "300", "variance trace time constant (s)");
  o.add("tau_weight_decay", "1e9", "weight decay time constant (s); enabled only if < 1e5");
  o.add("lambda", "1", "Hebbian strength");
  o.add("phi", "1", "predictive strength");
  o.add("simtime", "3600", "learning-phase duration (s), after priming");
  o.add("dir", ".", "output directory");
  o.add("label", "", "parsed, no effect");
  o.add("stimtime", "", "parsed, no effect");
  o.add("wext", "0.2", "initial IN->E weight (also the E->E initial weight)");
  o.add("wee", "0", "> 0 creates the E->E LPL connection (port addition: its final weights go to ee_con.0.wmat)");
  o.add("wei", "0.2", "E->I weight (mask x wei)");
  o.add("wie", "1.0", "initial I->E weight");
  o.add("wii", "1.0", "I->I weight");
  o.add("wmax", "1.0", "upper bound of LPL and iSTDP weights");
  o.add("ampa", "1.0", "AMPA/NMDA ratio of the E group");
  o.add("ne", "100", "E neurons");
  o.add("ni", "0", "I neurons (0 removes I and its connections)");
  o.add("psize", "200", "units per input population");
  o.add("plen", "3", "index of the last rate file (plen+1 files)");
  o.add("tau_chk", "0.1", "parsed, no effect (progress-bar rate estimate)");
  o.add_switch("adapt", "E group with spike-triggered adaptation (Auryn AIFGroup, tau 100 ms, +1 per spike)");
  o.add_switch("fast", "skip the end-of-run files (exc.0.nstate, input_con.0.wmat, con_ie.0.wmat, ee_con.0.wmat)");
  o.add_switch("ieplastic", "inhibitory STDP on I->E");
  o.add_switch("augment_gradient", "per-synapse gradient normalisation");
  add_erratum_options(o);
  o.add("input_dir", ".", "port addition: folder holding rates*.dat and local_inh_connectivity.wmat");
  o.add("input_spikes", "", "port addition: replay this input spike file (.spk or .spk.gz) instead of Poisson inputs");
  o.add("init_vmem", "", "port addition: initial E voltages file ('neuron value [hex]' lines)");
  o.add("load_connectivity", "", "port addition: folder with input_con/con_ei/con_ie/con_ii.0.wmat (positions, initial weights)");
  o.add_switch("poisson_quirk", "port addition: emulate Auryn's Poisson scheme (unit 0 of each group at about half rate)");
  o.add_switch("double", "port addition: neuron, synapse and trace state in float64 (sensitivity studies; about 1.15x the CPU time)");
  if (!o.parse(argc, argv)) {
    std::cout << o.help("sim_lpl_spiking");
    return 1;
  }
  NetworkConfig c;
  c.dir = o.str("dir");
  c.input_dir = o.str("input_dir");
  c.input_spikes = o.str("input_spikes");
  c.init_vmem = o.str("init_vmem");
  c.load_connectivity = o.str("load_connectivity");
  c.seed = static_cast<uint64_t>(o.integer("seed"));
  c.sparseness = o.num("sparseness");
  c.wext = o.num("wext");
  c.wee = o.num("wee");
  c.wei = o.num("wei");
  c.wie = o.num("wie");
  c.wii = o.num("wii");
  c.ne = o.int32("ne");
  c.ni = o.int32("ni");
  c.psize = o.int32("psize");
  c.plen = o.int32("plen");
  c.simtime = o.num("simtime");
  c.fast = o.flag("fast");
  c.quiet = o.flag("quiet");
  c.poisson_quirk = o.flag("poisson_quirk");
  c.neuron.ampa_nmda_ratio = o.num("ampa");
  c.neuron.adapt = o.flag("adapt");
  c.double_precision = o.flag("double");
  c.lpl = network_default_lpl();
  c.lpl.eta = o.num("eta");
  c.lpl.lambda = o.num("lambda");
  c.lpl.phi = o.num("phi");
  c.lpl.tau_mean = o.num("tau_mean");
  c.lpl.tau_sigma2 = o.num("tau_sigma2");
  c.lpl.tau_weight_decay = o.num("tau_weight_decay");
  c.lpl.wmax = o.num("wmax");
  c.lpl.augment = o.flag("augment_gradient");
  c.istdp.zeta = o.num("zeta");
  c.istdp.kappa = o.num("kappa");
  c.istdp.wmax = c.lpl.wmax;
  c.istdp.plastic = o.flag("ieplastic");
  apply_erratum_options(o, c.neuron, c.lpl);
  const NetworkResult r = run_network(c);
  std::FILE* log = open_output(c.dir + "/sim_lpl_spiking.0.log");
  std::fprintf(log, "steps %lld (priming %lld)\nexc_spikes %llu\ninh_spikes %llu\ninput_spikes %llu\nwall_s %.3f\n",
               static_cast<long long>(r.steps), static_cast<long long>(r.prime_steps),
               static_cast<unsigned long long>(r.exc_spikes), static_cast<unsigned long long>(r.inh_spikes),
               static_cast<unsigned long long>(r.input_spikes), r.wall_s);
  std::fprintf(log, "wall_s_per_simulated_s %.4f\n", r.steps > 0 ? r.wall_s / (r.steps * 1e-4) : 0.0);
  std::fprintf(log, "state %s\nexc_group %s\n", c.double_precision ? "float64" : "float32", c.neuron.adapt ? "AIFGroup" : "IFGroup");
  close_output(log, c.dir + "/sim_lpl_spiking.0.log");
  if (!c.quiet)
    std::printf("sim_lpl_spiking: %lld steps, E %llu spikes, I %llu spikes, %.2f s wall (%.4f s per simulated s)\n",
                static_cast<long long>(r.steps), static_cast<unsigned long long>(r.exc_spikes),
                static_cast<unsigned long long>(r.inh_spikes), r.wall_s, r.steps > 0 ? r.wall_s / (r.steps * 1e-4) : 0.0);
  return 0;
}

int main(int argc, char** argv) { return run_main("sim_lpl_spiking", body, argc, argv); }
