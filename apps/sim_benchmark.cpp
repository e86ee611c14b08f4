// sim_benchmark: single-core speed of the standard network (run_snn.sh parameters, own Poisson
// inputs, all output files written) in wall and CPU seconds per simulated second, against Auryn's
// 0.19 s per simulated second (SPIKING.md 11). Usage:
//   sim_benchmark [--simtime 50] [--tau_mean 10] [--input_dir tests/data/spiking] [--dir /tmp/...] [--repeats 3] [--double]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include "models/spiking/common_flags.h"
#include "models/spiking/network.h"

using namespace lpl::spiking;

static double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static int body(int argc, char** argv) {
  const char* src = std::getenv("LPL_SOURCE_DIR");
  Options o;
  o.add("simtime", "20", "learning-phase seconds (after 3 tau_mean of priming)");
  o.add("tau_mean", "10", "tau_mean (s): priming lasts 3 tau_mean");
  o.add("input_dir", std::string(src ? src : ".") + "/tests/data/spiking", "folder with rates*.dat and the E->I mask");
  o.add("dir", (std::filesystem::temp_directory_path() / "lpl_sim_benchmark").string(), "output folder");
  o.add("repeats", "3", "runs; the best is reported");
  o.add("seed", "123", "seed");
  o.add_switch("double", "float64 state (sim_lpl_spiking --double)");
  if (!o.parse(argc, argv)) {
    std::cout << o.help("sim_benchmark");
    return 1;
  }
  NetworkConfig c = run_snn_config(o.num("tau_mean"), o.num("simtime"));
  c.dir = o.str("dir");
  c.input_dir = o.str("input_dir");
  c.seed = static_cast<uint64_t>(o.integer("seed"));
  c.double_precision = o.flag("double");
  const int repeats = static_cast<int>(std::max(1LL, o.integer("repeats")));
  double best_wall = 1e30, best_cpu = 1e30;
  NetworkResult r;
  for (int k = 0; k < repeats; ++k) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    r = run_network(c);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - c0;
    best_wall = std::min(best_wall, wall);
    best_cpu = std::min(best_cpu, cpu);
    std::printf("run %d: %.2f s wall, %.2f s CPU for %.0f simulated s (E %llu, I %llu spikes)\n", k + 1, wall, cpu,
                r.steps * 1e-4, static_cast<unsigned long long>(r.exc_spikes), static_cast<unsigned long long>(r.inh_spikes));
  }
  const double sim_s = r.steps * 1e-4, auryn = 0.19;
  std::printf("standard network (run_snn.sh parameters, 625 units, %zu LPL synapses, %s state), best of %d:\n", r.w_in.size(),
              c.double_precision ? "float64" : "float32", repeats);
  std::printf("  port : %.4f s wall / %.4f s CPU per simulated second (%.2f us per step)\n", best_wall / sim_s,
              best_cpu / sim_s, 1e6 * best_wall / r.steps);
  std::printf("  Auryn: %.4f s wall per simulated second (SPIKING.md 11, one core)\n", auryn);
  std::printf("  speed-up: %.1fx (wall), %.1fx (CPU); target >= 3x\n", auryn / (best_wall / sim_s), auryn / (best_cpu / sim_s));
  return 0;
}

int main(int argc, char** argv) { return run_main("sim_benchmark", body, argc, argv); }
