#include "models/spiking/network.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <memory>
#include <random>

#include "engine/common.h"
#include "models/spiking/constants.h"
#include "models/spiking/poisson_group.h"
#include "models/spiking/run_length.h"
#include "models/spiking/spike_io.h"
#include "models/spiking/state_file.h"

namespace lpl::spiking {

LplParams network_default_lpl() {
  LplParams p;
  p.eta = 1e-3;
  p.delta = 1e-5;
  p.tau_mean = 10.0;
  p.tau_sigma2 = 300.0;
  return p;
}

NetworkConfig run_snn_config(double tau_mean, double simtime) {
  NetworkConfig c;
  c.sparseness = 0.1;
  c.ne = 100;
  c.ni = 25;
  c.wext = 0.15;
  c.wei = 0.5;
  c.wii = 0.4;
  c.wie = 0.5;
  c.psize = 100;
  c.plen = 4;
  c.simtime = simtime;
  c.lpl = network_default_lpl();
  c.lpl.tau_mean = tau_mean;
  c.lpl.tau_sigma2 = 30;
  c.lpl.eta = 1e-2;
  c.istdp.zeta = 1e-3;
  c.istdp.kappa = 10;
  c.istdp.plastic = true;
  return c;
}

namespace {

void check_shape(const Synapses& s, int pre, int post, const std::string& what) {
  if (s.n_pre != pre || s.n_post != post)
    fail(strf("%s is %d x %d, but the network needs %d x %d (check --ne/--ni/--psize/--plen)", what.c_str(), s.n_pre,
              s.n_post, pre, post));
}

struct Monitors {
  SpikeWriter in, exc, inh;
  RateMonitor exc_rate, inh_rate;
  std::vector<RateMonitor> pois;
};


template <class Real>
NetworkResult run_network_as(const NetworkConfig& cfg) {
  const auto t_start = std::chrono::steady_clock::now();
  LPL_CHECK(cfg.ne >= 1, strf("--ne must be >= 1, got %d", cfg.ne));
  LPL_CHECK(cfg.ni >= 0, strf("--ni must be >= 0, got %d", cfg.ni));
  LPL_CHECK(cfg.psize >= 1 && cfg.plen >= 0, strf("--psize must be >= 1 and --plen >= 0, got %d and %d", cfg.psize, cfg.plen));
  LPL_CHECK(cfg.simtime >= 0 && cfg.lpl.tau_mean >= 0, "--simtime and --tau_mean must be >= 0");
  LPL_CHECK(cfg.sparseness >= 0 && cfg.sparseness <= 1, strf("--sparseness must be in [0, 1], got %g", cfg.sparseness));
  const RunSteps run = run_steps({"--tau_mean", cfg.lpl.tau_mean, 3.0 * cfg.lpl.tau_mean, " (priming 3 x --tau_mean)"},
                                 {"--simtime", cfg.simtime, cfg.simtime, ""});
  LPL_CHECK(static_cast<int64_t>(cfg.psize) * (static_cast<int64_t>(cfg.plen) + 1) <= INT32_MAX,
            strf("--psize %d x (--plen %d + 1) input units exceed %d", cfg.psize, cfg.plen, INT32_MAX));
  const int ne = cfg.ne, ni = cfg.ni, ngroups = cfg.plen + 1, nin = cfg.psize * ngroups;
  const std::string d = cfg.dir + "/";

  // Connectivity (1.1 order): C_in, (C_EE), C_EI, C_IE, C_II.
  Synapses s_in, s_ee, s_ei, s_ie, s_ii;
  const float wext = static_cast<float>(cfg.wext);
  if (!cfg.load_connectivity.empty()) {
    const std::string L = cfg.load_connectivity + "/";
    s_in = read_wmat(L + "input_con.0.wmat");
    check_shape(s_in, nin, ne, L + "input_con.0.wmat");
    if (ni > 0) {
      s_ei = read_wmat(L + "con_ei.0.wmat");
      s_ie = read_wmat(L + "con_ie.0.wmat");
      s_ii = read_wmat(L + "con_ii.0.wmat");
      check_shape(s_ei, ne, ni, L + "con_ei.0.wmat");
      check_shape(s_ie, ni, ne, L + "con_ie.0.wmat");
      check_shape(s_ii, ni, ni, L + "con_ii.0.wmat");
    }
  }
  std::mt19937_64 crng(cfg.seed ^ 0xc0ffee123ULL);
  if (cfg.load_connectivity.empty()) {
    s_in = random_synapses(nin, ne, cfg.sparseness, wext, false, crng);
    if (ni > 0) {
      const std::string mask_file = cfg.input_dir + "/local_inh_connectivity.wmat";
      const Synapses mask = read_wmat(mask_file);
      check_shape(mask, ne, ni, mask_file);
      s_ei = masked_synapses(mask, static_cast<float>(cfg.wei));
      s_ie = random_synapses(ni, ne, 0.5, static_cast<float>(cfg.wie), false, crng);
      s_ii = random_synapses(ni, ni, cfg.sparseness, static_cast<float>(cfg.wii), true, crng);
    }
  }
  const bool has_ee = cfg.wee > 0;
  if (has_ee) s_ee = random_synapses(ne, ne, cfg.sparseness, wext, true, crng);

  // Inputs: Poisson groups from rate files, or the replayed spike file.
  std::vector<PoissonGroup> pois;
  std::unique_ptr<SpikeReader> replay;
  if (!cfg.input_spikes.empty()) {
    replay = std::make_unique<SpikeReader>(cfg.input_spikes, static_cast<uint32_t>(nin));
  } else {
    std::seed_seq seq{static_cast<uint64_t>(cfg.seed), uint64_t{0x51a7e5}};
    std::vector<uint64_t> seeds(ngroups);
    seq.generate(seeds.begin(), seeds.end());
    for (int g = 0; g < ngroups; ++g)
      pois.emplace_back(cfg.psize, RateSchedule::from_file(cfg.input_dir + "/rates" + std::to_string(g) + ".dat"), seeds[g],
                        cfg.poisson_quirk);
  }

  IFGroupT<Real> E(ne, cfg.neuron);
  {
    const std::vector<float> v0 = cfg.init_vmem.empty() ? default_initial_voltages(ne) : read_initial_voltages(cfg.init_vmem, ne);
    E.v.assign(v0.begin(), v0.end());
  }
  IFGroupT<Real> I(ni, IFParams{1.0, cfg.neuron.threshold_mode});
  SpikeRing in_ring;
  LplConnectionT<Real> c_in(s_in, cfg.lpl);
  std::unique_ptr<LplConnectionT<Real>> c_ee;
  if (has_ee) c_ee = std::make_unique<LplConnectionT<Real>>(s_ee, cfg.lpl);
  std::unique_ptr<StaticConnection> c_ei, c_ii;
  std::unique_ptr<IstdpConnectionT<Real>> c_ie;
  if (ni > 0) {
    c_ei = std::make_unique<StaticConnection>(s_ei);
    c_ie = std::make_unique<IstdpConnectionT<Real>>(s_ie, cfg.istdp);
    c_ii = std::make_unique<StaticConnection>(s_ii);
  }

  Monitors mon;
  if (cfg.write_files) {
    ensure_directory(cfg.dir);
    mon.in = SpikeWriter(d + "input_group.0.spk");
    mon.exc = SpikeWriter(d + "exc.0.spk");
    mon.exc_rate = RateMonitor(d + "exc.0.prate", 1'000'000, ne);
    if (ni > 0) {
      mon.inh = SpikeWriter(d + "inh.0.spk");
      mon.inh_rate = RateMonitor(d + "inh.0.prate", 1'000'000, ni);
      write_wmat(d + "con_ei.0.wmat", s_ei, "local_inh_connectivity.wmat");
      write_wmat(d + "con_ii.0.wmat", s_ii, "SparseConnection");
    }
    for (int g = 0; g < ngroups; ++g)
      mon.pois.emplace_back(d + "poisson" + std::to_string(g) + ".0.prate", 1'000'000, cfg.psize);
  }

  NetworkResult res;
  res.prime_steps = run.prime;
  res.steps = run.total;
  std::vector<uint8_t> now(ne, 0), d8(ne, 0);
  std::vector<size_t> group_count(ngroups, 0);
  const std::vector<uint32_t> no_spikes;
  const int64_t progress_every = std::max<int64_t>(res.steps / 20, 1);

  for (int64_t n = 0; n < res.steps; ++n) {
    // Phase 1: E, P0..P4 -> IN, I.
    E.integrate(n);
    in_ring.begin_step(n);
    auto& in_now = in_ring.now();
    std::fill(group_count.begin(), group_count.end(), 0);
    if (replay) {
      replay->spikes_at(n, in_now);
      for (uint32_t u : in_now) ++group_count[u / cfg.psize];
    } else {
      for (int g = 0; g < ngroups; ++g) {
        const size_t before = in_now.size();
        pois[g].draw(n, in_now);
        for (size_t k = before; k < in_now.size(); ++k) in_now[k] += static_cast<uint32_t>(g * cfg.psize);
        group_count[g] = in_now.size() - before;
      }
    }
    if (ni > 0) I.integrate(n);
    const auto& e_now = E.ring().now();
    const auto& e_d8 = E.ring().delayed();
    const auto& in_d8 = in_ring.delayed();
    const auto& i_now = ni > 0 ? I.ring().now() : no_spikes;
    const auto& i_d8 = ni > 0 ? I.ring().delayed() : no_spikes;
    for (uint32_t i : e_now) now[i] = 1;
    for (uint32_t i : e_d8) d8[i] = 1;
    res.exc_spikes += e_now.size();
    res.inh_spikes += i_now.size();
    res.input_spikes += in_now.size();
    if (cfg.collect_spikes) {
      for (uint32_t i : e_now) res.exc.emplace_back(static_cast<uint32_t>(n), i);
      for (uint32_t i : i_now) res.inh.emplace_back(static_cast<uint32_t>(n), i);
    }
    // Phase 2: transmission (connection order).
    c_in.transmit(in_d8, E.g_ampa.data());
    if (c_ee) c_ee->transmit(e_d8, E.g_ampa.data());
    if (ni > 0) {
      c_ei->transmit(e_d8, I.g_ampa.data());
      c_ie->transmit_and_learn(i_d8, e_now, E.g_gaba.data());
      c_ii->transmit(i_d8, I.g_gaba.data());
    }
    // Phase 3: LPL (updates gated by the priming switch).
    const bool active = n >= res.prime_steps;
    c_in.update(n, in_d8, now.data(), d8.data(), E.v.data(), active);
    if (c_ee) c_ee->update(n, e_d8, now.data(), d8.data(), E.v.data(), active);
    // Phase 4: traces.
    c_in.update_traces(in_d8, now.data());
    if (c_ee) c_ee->update_traces(e_d8, now.data());
    if (ni > 0) c_ie->update_traces(i_d8, e_now);
    // Phase 5: monitors.
    if (cfg.write_files) {
      mon.in.write(n, in_now);
      mon.exc.write(n, e_now);
      mon.exc_rate.record(n, e_now.size());
      if (ni > 0) {
        mon.inh.write(n, i_now);
        mon.inh_rate.record(n, i_now.size());
      }
      for (int g = 0; g < ngroups; ++g) mon.pois[g].record(n, group_count[g]);
    }
    for (uint32_t i : e_now) now[i] = 0;
    for (uint32_t i : e_d8) d8[i] = 0;
    if (n % kBatchSteps == 0) {
      if (!c_in.all_finite() || (c_ie && !c_ie->all_finite()) || (c_ee && !c_ee->all_finite()))
        fail(strf("non-finite weights or LPL traces at t = %.4f s (step %lld): check --eta, --zeta, --lambda",
                  static_cast<double>(n) * kDt, static_cast<long long>(n)));
    }
    if (!cfg.quiet && (n + 1) % progress_every == 0) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      const double per_step = el / static_cast<double>(n + 1), eta = per_step * static_cast<double>(res.steps - n - 1);
      std::printf("t = %.1f s of %.1f s (%s), E %llu spikes, I %llu spikes, %.1f s wall, %.4f s wall per simulated s, "
                  "ETA %.0f s\n",
                  (n + 1) * kDt, res.steps * kDt, active ? "learning" : "priming",
                  static_cast<unsigned long long>(res.exc_spikes), static_cast<unsigned long long>(res.inh_spikes), el,
                  per_step / kDt, eta);
      std::fflush(stdout);
    }
  }
  mon.in.close();
  mon.exc.close();
  mon.inh.close();
  res.w_in = c_in.synapses();
  if (ni > 0) res.w_ie = c_ie->synapses();
  if (c_ee) res.w_ee = c_ee->synapses();
  if (cfg.write_files && !cfg.fast) {
    write_wmat(d + "input_con.0.wmat", res.w_in, "LPLConnection");
    // Port addition: the original never writes the E->E weights.
    if (c_ee) write_wmat(d + "ee_con.0.wmat", res.w_ee, "LPLConnection");
    if (ni > 0) write_wmat(d + "con_ie.0.wmat", res.w_ie, cfg.istdp.plastic ? "SymmetricSTDPConnection" : "SparseConnection");
    std::vector<std::pair<std::string, const std::vector<Real>*>> traces{{"mean_rate_trace", &c_in.mean_trace()}};
    if (ni > 0) traces.emplace_back("istdp_post_trace", &c_ie->post_trace());
    write_nstate(d + "exc.0.nstate", E, &c_in, traces);
  }
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return res;
}

}  // namespace

NetworkResult run_network(const NetworkConfig& cfg) {
  return cfg.double_precision ? run_network_as<double>(cfg) : run_network_as<float>(cfg);
}

}  // namespace lpl::spiking
