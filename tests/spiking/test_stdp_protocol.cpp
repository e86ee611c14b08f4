// SPIKING.md 12.1 on a subset of the 88 reference runs (all 88: tools/spiking/check_stdp88.py):
// identical post-spike steps and final weights within 1e-5 of the original Auryn program.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "models/spiking/spike_io.h"
#include "models/spiking/stdp_protocol.h"
#include "spiking_test_util.h"
#include "test_util.h"

using namespace lpl::spiking;

namespace {
struct Expected {
  std::string run, set;
  double M, S, sigma2;
  size_t n_post;
  std::vector<double> w;
  std::vector<int64_t> steps;
};

std::vector<Expected> load_expected() {
  std::ifstream f(test::data_dir() + "/stdp/expected.txt");
  REQUIRE(f.good());
  std::vector<Expected> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    Expected e;
    std::string bar;
    in >> e.run >> e.set >> e.M >> e.S >> e.n_post >> e.sigma2 >> bar;
    for (int j = 0; j < 100; ++j) {
      double w;
      in >> w;
      e.w.push_back(w);
    }
    in >> bar;
    int64_t s;
    while (in >> s) e.steps.push_back(s);
    REQUIRE(e.steps.size() == e.n_post);
    out.push_back(std::move(e));
  }
  REQUIRE(out.size() == 6);
  return out;
}

StdpConfig script_config(const Expected& e, const std::string& dir) {
  // run_stdp.sh / run_stdp_long.sh options.
  StdpConfig c;
  c.dir = dir;
  c.input_dir = test::data_dir() + "/stdp/" + e.set;
  c.simtime = 200;
  c.primetime = 0;
  c.wext = 0.5;
  c.psize = 100;
  c.lpl = stdp_default_lpl();
  c.lpl.tau_mean = 600;
  c.lpl.eta = 5e-3;
  c.lpl.init_mean_hz = e.M;
  c.lpl.init_sigma2 = e.S;
  return c;
}
}  // namespace

TEST_CASE("STDP protocol reproduces the original runs (spike steps, weights within 1e-5)") {
  const auto dir = test::temp_dir("stdp");
  for (const auto& e : load_expected()) {
    CAPTURE(e.run);
    const StdpResult r = run_stdp_protocol(script_config(e, dir));
    CHECK(r.steps == 2'000'000);
    REQUIRE(r.post_spike_steps.size() == e.n_post);
    CHECK(r.post_spike_steps == e.steps);
    CHECK(lpl::test::max_abs_diff(r.w_final, e.w) <= 1e-5);
    // Variance trace at step 1 999 000 (last line of con_lpl.0.sig2, printed with 6 decimals).
    std::ifstream sig(dir + "/con_lpl.0.sig2");
    std::string line, last;
    while (std::getline(sig, line)) last = line;
    CHECK(last.rfind("199.900000 ", 0) == 0);
    CHECK(std::abs(std::stod(last.substr(11)) - e.sigma2) <= 2e-6);
    // The written matrix holds the same weights (format of 9.4).
    const Synapses s = read_wmat(dir + "/input_con.0.wmat");
    REQUIRE(s.size() == 100);
    for (int j = 0; j < 100; ++j) CHECK(s.w[j] == doctest::Approx(r.w_final[j]).epsilon(1e-6));
  }
}

TEST_CASE("STDP protocol output files have the original formats") {
  const auto dir = test::temp_dir("stdp_fmt");
  Expected e{"", "short_T20ms_f5", 20, 0.1, 0, 0, {}, {}};
  StdpConfig c = script_config(e, dir);
  c.simtime = 1.0;  // 10 000 steps
  run_stdp_protocol(c);
  std::ifstream syn(dir + "/input_con.0.syn");
  std::string l0;
  std::getline(syn, l0);
  CHECK(l0.rfind("0.000000 5.000000e-01 5.000000e-01 ", 0) == 0);
  std::istringstream fields(l0);
  int n = 0;
  std::string tok;
  while (fields >> tok) ++n;
  CHECK(n == 51);  // time + inputs 0, 2, ..., 98
  std::ifstream sig(dir + "/con_lpl.0.sig2");
  std::getline(sig, l0);
  CHECK(l0 == "0.000000 0.100000");
  std::ifstream pr(dir + "/exc.0.prate");
  std::getline(pr, l0);
  CHECK(l0 == "0 0");
  std::getline(pr, l0);
  CHECK(l0.rfind("0.25 ", 0) == 0);
  const auto spk = read_spikes(dir + "/exc.0.spk");
  REQUIRE(!spk.empty());
  CHECK(spk[0].first == 1000);  // first pairing at t = 0.1 s
}

TEST_CASE("STDP protocol: missing or corrupt inputs give one clear error") {
  const auto dir = test::temp_dir("stdp_err");
  Expected e{"", "does_not_exist", 20, 0.1, 0, 0, {}, {}};
  StdpConfig c = script_config(e, dir);
  CHECK_THROWS_WITH(run_stdp_protocol(c), doctest::Contains("cannot open"));
  {
    std::ofstream(dir + "/spikes.ras") << "1.0e-01 0\n2.0e-01 150\n";
    std::ofstream(dir + "/post_voltage.dat") << "0 -0.051\n1 -0.051\n";
  }
  c.input_dir = dir;
  CHECK_THROWS_WITH(run_stdp_protocol(c), doctest::Contains("unit 150 is not in 0..99"));
  std::ofstream(dir + "/spikes.ras") << "1.0e-01 0\n2.0e-01 abc\n";
  CHECK_THROWS_WITH(run_stdp_protocol(c), doctest::Contains("not a number"));
}

namespace {
// The variance trace s (4.3 step 11) and mean trace m (phase 4) depend on nothing but the post-spike
// steps. Recomputed here in Real arithmetic with Real constants: s after `steps` steps.
template <class Real>
double variance_trace(const Expected& e, int64_t steps) {
  const Real c1 = static_cast<Real>(-kDt / 600.0), inv_tau = static_cast<Real>(1.0 / 300.0);
  const Real decay_s = static_cast<Real>(std::exp(-kDt / 300.0)), decay_m = static_cast<Real>(std::exp(-kDt / 600.0));
  std::vector<uint8_t> spk(static_cast<size_t>(steps), 0);
  for (int64_t n : e.steps)
    if (n < steps) spk[n] = 1;
  Real m = static_cast<Real>(e.M * 600.0), s = static_cast<Real>(e.S);
  for (int64_t n = 0; n < steps; ++n) {
    Real u = m * c1;
    if (n >= 8 && spk[n - 8]) u = u + Real(1);
    u = u * u;
    u = u * inv_tau;
    s = (s + u) * decay_s;
    if (spk[n]) m = m + Real(1);
    m = m * decay_m;
  }
  return s;
}
}  // namespace

// SPIKING.md 8.1 --double on the reference runs. The float64 run does not reproduce Auryn's weights
// to 1e-5: Auryn keeps the slow traces in float32, where exp(-dt/600 s) and exp(-dt/300 s) are only
// 3 and 6 ulps below 1 (time constants 6.8 % short after rounding) and the variance increments
// (~1e-8) are below the resolution of s (~0.2). Its variance trace ends 3.8-5.5 % below the float64
// value (checked below from the spike steps alone), and the Hebbian term lambda*(S-m dt/tau)/(s+xi)
// scales with 1/s. (Run with only m and s in float32 and everything else in double, all six runs
// match Auryn's weights within 1.8e-6 with identical spikes, so nothing else contributes.)
TEST_CASE("STDP protocol with --double: spikes as the original; weights differ only through Auryn's float32 slow traces") {
  const auto dir = test::temp_dir("stdp64");
  int identical_runs = 0;
  for (const auto& e : load_expected()) {
    CAPTURE(e.run);
    StdpConfig c = script_config(e, dir);
    c.double_precision = true;
    c.fast = true;
    const StdpResult r = run_stdp_protocol(c);
    // Post-spike steps: the clamp ramp crosses the threshold a few steps earlier or later when the
    // input weights differ; 5 of the 6 runs are identical (short_mean-0_sigma2-0.1_fr-0.1: 3 of 29
    // spikes 4 steps later, its weights fall by 0.4).
    REQUIRE(r.post_spike_steps.size() == e.steps.size());
    identical_runs += r.post_spike_steps == e.steps;
    for (size_t k = 0; k < e.steps.size(); ++k) CHECK(std::llabs(r.post_spike_steps[k] - e.steps[k]) <= 5);
    if (r.post_spike_steps != e.steps) continue;  // the traces below follow the original's spikes
    // The float32 recursion reproduces Auryn's printed s (6 decimals); the float64 one is the --double run.
    const double s32 = variance_trace<float>(e, 1'999'001), s64 = variance_trace<double>(e, 1'999'001);
    CHECK(std::abs(s32 - e.sigma2) <= 2e-6 * std::max(1.0, e.sigma2));
    CHECK(std::abs(r.sigma2_last - variance_trace<double>(e, r.steps)) <= 1e-6 * s64);  // stored as float32
    CHECK(e.sigma2 < 0.97 * s64);
    CHECK(e.sigma2 > 0.93 * s64);
    // Weights: the Hebbian part of the change differs by about as much as s (<= 5.5 %).
    double worst = 0;
    for (int j = 0; j < 100; ++j) {
      const double d = std::abs(r.w_final[j] - e.w[j]);
      worst = lpl::test::nan_max(worst, d);
      CHECK(d <= 0.06 * std::abs(e.w[j] - 0.5) + 5e-5);
    }
    MESSAGE(e.run << ": s float64 " << s64 << ", Auryn " << e.sigma2 << " (" << 100 * (e.sigma2 / s64 - 1)
                  << " %), max |w64 - w_Auryn| " << worst);
  }
  CHECK(identical_runs >= 5);
}
