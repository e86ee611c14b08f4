#include "models/spiking/stdp_protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "engine/common.h"
#include "models/spiking/constants.h"
#include "models/spiking/run_length.h"
#include "models/spiking/spike_io.h"
#include "models/spiking/state_file.h"

namespace lpl::spiking {

LplParams stdp_default_lpl() {
  LplParams p;
  p.delta = 0.0;
  p.tau_sigma2 = 300.0;
  p.tau_mean = 10.0;
  p.init_mean_hz = 20.0;
  p.init_sigma2 = 0.0;
  return p;
}

namespace {
template <class Real>
std::vector<Real> clamp_trace_as(const std::vector<std::vector<double>>& pts) {
  std::vector<int64_t> F(pts.size());
  for (size_t k = 0; k < pts.size(); ++k) {
    if (!(pts[k][0] >= 0 && pts[k][0] <= 2e5) || !std::isfinite(pts[k][1]))  // bounded before the cast to steps
      fail(strf("post_voltage.dat: point %zu (t = %g, V = %g) is not a valid (0 <= time <= 200000 s, voltage)", k + 1, pts[k][0],
                pts[k][1]));
    F[k] = static_cast<int64_t>(std::floor(pts[k][0] / kDt + 0.5));
    if (k > 0 && F[k] < F[k - 1]) fail(strf("post_voltage.dat: times not sorted at point %zu (t = %g)", k + 1, pts[k][0]));
  }
  if (F.back() > 2'000'000'000LL) fail("post_voltage.dat: last time beyond 200000 s");
  std::vector<Real> c(static_cast<size_t>(F.back()), Real(0));
  for (size_t k = 0; k + 1 < pts.size(); ++k) {
    const int64_t a = F[k], b = F[k + 1];
    for (int64_t n = a; n < b; ++n)
      c[n] = static_cast<Real>(pts[k][1] + (pts[k + 1][1] - pts[k][1]) * static_cast<double>(n - a) / static_cast<double>(b - a));
  }
  return c;
}
}  // namespace

std::vector<float> clamp_trace(const std::vector<std::vector<double>>& pts) { return clamp_trace_as<float>(pts); }
std::vector<double> clamp_trace_f64(const std::vector<std::vector<double>>& pts) { return clamp_trace_as<double>(pts); }

std::vector<std::pair<int64_t, uint32_t>> file_input_events(const std::vector<std::vector<double>>& rows, int n_units,
                                                             const std::string& what) {
  std::vector<std::pair<int64_t, uint32_t>> ev;
  ev.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    const double t = rows[k][0], u = rows[k][1];
    if (!(t >= 0) || t > 2e5) fail(strf("%s: line %zu: time %g out of range", what.c_str(), k + 1, t));
    if (!(u >= 0) || u != std::floor(u) || u >= n_units)
      fail(strf("%s: line %zu: unit %g is not in 0..%d", what.c_str(), k + 1, u, n_units - 1));
    ev.emplace_back(std::llround(t / kDt), static_cast<uint32_t>(u));
  }
  std::stable_sort(ev.begin(), ev.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return ev;
}

namespace {
template <class Real>
StdpResult run_stdp_as(const StdpConfig& cfg) {
  LPL_CHECK(cfg.ne >= 1, strf("--ne must be >= 1, got %d", cfg.ne));
  LPL_CHECK(cfg.psize >= 1, strf("--psize must be >= 1, got %d", cfg.psize));
  LPL_CHECK(cfg.simtime >= 0 && cfg.primetime >= 0, "--simtime and --primetime must be >= 0");
  LPL_CHECK(cfg.wext >= 0, strf("--wext must be >= 0, got %g", cfg.wext));
  const RunSteps run = run_steps({"--primetime", cfg.primetime, cfg.primetime, ""}, {"--simtime", cfg.simtime, cfg.simtime, ""});
  const std::string ras = cfg.input_dir + "/spikes.ras", volt = cfg.input_dir + "/post_voltage.dat";
  const auto events = file_input_events(read_numeric_rows(ras, 2), cfg.psize, ras);
  const std::vector<Real> clamp = clamp_trace_as<Real>(read_numeric_rows(volt, 2));

  ensure_directory(cfg.dir);
  IFGroupT<Real> E(cfg.ne, cfg.neuron);
  {
    const std::vector<float> v0 = cfg.init_vmem.empty() ? default_initial_voltages(cfg.ne) : read_initial_voltages(cfg.init_vmem, cfg.ne);
    E.v.assign(v0.begin(), v0.end());
  }
  std::mt19937_64 rng(cfg.seed);
  const Synapses syn = random_synapses(cfg.psize, cfg.ne, cfg.sparseness, static_cast<float>(cfg.wext), false, rng);
  LplConnectionT<Real> con(syn, cfg.lpl);
  SpikeRing in_ring;

  const std::string d = cfg.dir + "/";
  SpikeWriter in_spk(d + "input_group.0.spk"), exc_spk(d + "exc.0.spk");
  RateMonitor prate(d + "exc.0.prate", 2500, cfg.ne);
  std::FILE* fsyn = open_output(d + "input_con.0.syn");
  std::FILE* fsig = open_output(d + "con_lpl.0.sig2");
  const size_t n_mon = std::min<size_t>(con.size(), 100);

  const int64_t prime = run.prime, total = run.total;
  std::vector<uint8_t> now(cfg.ne, 0), d8(cfg.ne, 0);
  StdpResult res;
  res.steps = total;
  size_t ev = 0;
  for (int64_t n = 0; n < total; ++n) {
    // Phase 1: groups.
    E.integrate(n);
    in_ring.begin_step(n);
    auto& in_now = in_ring.now();
    while (ev < events.size() && events[ev].first < n) ++ev;  // negative steps cannot occur; defensive
    while (ev < events.size() && events[ev].first == n) in_now.push_back(events[ev++].second);
    const auto& e_now = E.ring().now();
    const auto& e_d8 = E.ring().delayed();
    const auto& in_d8 = in_ring.delayed();
    exc_spk.write(n, e_now);
    in_spk.write(n, in_now);
    for (uint32_t i : e_now) {
      now[i] = 1;
      res.post_spike_steps.push_back(n);
    }
    for (uint32_t i : e_d8) d8[i] = 1;
    // Phase 2: transmission; phase 3: LPL; phase 4: traces.
    con.transmit(in_d8, E.g_ampa.data());
    con.update(n, in_d8, now.data(), d8.data(), E.v.data(), n >= prime);
    con.update_traces(in_d8, now.data());
    // Phase 5: monitors, then the clamp.
    prate.record(n, e_now.size());
    if (n % 1000 == 0) {
      std::fprintf(fsyn, "%.6f ", static_cast<double>(n) * kDt);
      for (size_t k = 0; k < n_mon; k += 2) std::fprintf(fsyn, "%e ", static_cast<double>(con.weight_pre_major(k)));
      std::fprintf(fsyn, "\n");
      std::fprintf(fsig, "%.6f %.6f\n", static_cast<double>(n) * kDt, static_cast<double>(con.sigma2()[0]));
    }
    const Real cv = n < static_cast<int64_t>(clamp.size()) ? clamp[n] : Real(0);
    for (int i = 0; i < cfg.ne; ++i) E.v[i] = cv;
    for (uint32_t i : e_now) now[i] = 0;
    for (uint32_t i : e_d8) d8[i] = 0;
    if (n % kBatchSteps == 0 && !con.all_finite())
      fail(strf("non-finite LPL state at t = %.4f s (step %lld): check --eta, --initsigma2, --lambda",
                static_cast<double>(n) * kDt, static_cast<long long>(n)));
  }
  close_output(fsyn, d + "input_con.0.syn");
  close_output(fsig, d + "con_lpl.0.sig2");
  in_spk.close();
  exc_spk.close();
  const Synapses out = con.synapses();
  res.w_final = out.w;
  res.sigma2_last = static_cast<float>(con.sigma2()[0]);
  if (!cfg.fast) {
    write_wmat(d + "input_con.0.wmat", out, "LPLConnection");
    write_nstate(d + "exc.0.nstate", E, &con, {{"mean_rate_trace", &con.mean_trace()}});
  }
  return res;
}

}  // namespace

StdpResult run_stdp_protocol(const StdpConfig& cfg) {
  return cfg.double_precision ? run_stdp_as<double>(cfg) : run_stdp_as<float>(cfg);
}

}  // namespace lpl::spiking
