// Neuron state precision (--double) and the adaptive E group (--adapt, Auryn's AIFGroup): the
// groups against float64 statements of their equations (SPIKING.md 2; AIFGroup.cpp), and the
// spike-frequency adaptation they produce.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "models/spiking/constants.h"
#include "models/spiking/if_group.h"
#include "test_util.h"

using namespace lpl::spiking;

namespace {
// Input conductance increments per step (phase 2): AMPA events of weight 0.3 at rate_hz, GABA
// events of weight 0.4 at rate_hz / 4, from a fixed seed.
struct Drive {
  std::vector<double> ampa, gaba;
};
Drive make_drive(int64_t steps, double rate_hz, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Drive d{std::vector<double>(steps, 0), std::vector<double>(steps, 0)};
  for (int64_t n = 0; n < steps; ++n) {
    d.ampa[n] = u(gen) < rate_hz * kDt ? 0.3 : 0.0;
    d.gaba[n] = u(gen) < rate_hz / 4 * kDt ? 0.4 : 0.0;
  }
  return d;
}

struct Trace {
  std::vector<double> v;
  std::vector<int64_t> spikes;
};

// The group run on the drive (increments added after integration, as phase 2 does).
template <class Real>
Trace run_group(const IFParams& p, const Drive& d, double v0) {
  IFGroupT<Real> g(1, p);
  g.v[0] = static_cast<Real>(v0);
  Trace t;
  for (int64_t n = 0; n < static_cast<int64_t>(d.ampa.size()); ++n) {
    g.integrate(n);
    if (!g.ring().now().empty()) t.spikes.push_back(n);
    g.g_ampa[0] += static_cast<Real>(d.ampa[n]);
    g.g_gaba[0] += static_cast<Real>(d.gaba[n]);
    t.v.push_back(static_cast<double>(g.v[0]));
  }
  return t;
}

// SPIKING.md 2 in float64 (A_ampa = A_nmda = 0.5, threshold set to 100 mV).
Trace reference_if(const Drive& d, double v) {
  const double dt = kDt, a_ampa = std::exp(-dt / 5e-3), a_gaba = std::exp(-dt / 10e-3), a_thr = std::exp(-dt / 5e-3);
  const double mu = 1.0 - std::exp(-dt / 100e-3), m = dt / 20e-3;
  double ga = 0, gg = 0, gn = 0, th = 0;
  Trace t;
  for (size_t n = 0; n < d.ampa.size(); ++n) {
    const double i_exc = (-0.5 * ga - 0.5 * gn) * v, i_inh = (v + 0.080) * gg;
    gn += mu * ga;
    gn -= mu * gn;
    ga *= a_ampa;
    gg *= a_gaba;
    th *= a_thr;
    v += m * i_exc - m * i_inh - m * (v + 0.070);
    v = std::clamp(v, -0.080, 0.0);
    if (v > -0.050 + th) {
      t.spikes.push_back(static_cast<int64_t>(n));
      v = -0.070;
      th = 0.100;
    }
    ga += d.ampa[n];
    gg += d.gaba[n];
    t.v.push_back(v);
  }
  return t;
}

// Auryn's AIFGroup::evolve in float64: decays first, NMDA from the decayed AMPA, currents from the
// decayed conductances, g_adapt1 (tau 100 ms) adds to g_gaba, +dg per spike.
Trace reference_aif(const Drive& d, double v, double dg) {
  const double dt = kDt, a_ampa = std::exp(-dt / 5e-3), a_gaba = std::exp(-dt / 10e-3), a_thr = std::exp(-dt / 5e-3);
  const double a_adapt = std::exp(-dt / 0.1), mul = dt / 100e-3, m = dt / 20e-3;
  double ga = 0, gg = 0, gn = 0, gad = 0, th = 0;
  Trace t;
  for (size_t n = 0; n < d.ampa.size(); ++n) {
    ga *= a_ampa;
    gg *= a_gaba;
    gad *= a_adapt;
    gn += mul * ga;
    gn -= mul * gn;
    const double t_exc = (-0.5 * ga - 0.5 * gn) * v, t_inh = (v + 0.080) * (gg + gad);
    th *= a_thr;
    v += m * t_exc - m * t_inh - m * (v + 0.070);
    v = std::clamp(v, -0.080, 0.0);
    if (v > -0.050 + th) {
      t.spikes.push_back(static_cast<int64_t>(n));
      v = -0.070;
      th = 0.100;
      gad += dg;
    }
    ga += d.ampa[n];
    gg += d.gaba[n];
    t.v.push_back(v);
  }
  return t;
}

IFParams adaptive() {
  IFParams p;
  p.adapt = true;
  p.dg_adapt = 1.0;
  return p;
}
}  // namespace

TEST_CASE("IF neuron with float64 state (--double) follows the float64 equations; float32 state differs at ~1e-7") {
  const Drive sub = make_drive(30'000, 100, 3);  // subthreshold: no spikes in any precision
  const Trace ref = reference_if(sub, -0.065), f64 = run_group<double>(IFParams{}, sub, -0.065),
              f32 = run_group<float>(IFParams{}, sub, -0.065);
  REQUIRE(ref.spikes.empty());
  CHECK(f64.spikes.empty());
  CHECK(f32.spikes.empty());
  const double d64 = lpl::test::max_abs_diff(f64.v, ref.v), d32 = lpl::test::max_abs_diff(f32.v, ref.v);
  MESSAGE("subthreshold |V - V_ref| max: float64 state " << d64 << " V, float32 state " << d32 << " V");
  CHECK(d64 <= 0.07 * 1e-12);
  CHECK(d32 <= 0.07 * 1e-5);
  CHECK(d32 >= 0.07 * 1e-9);  // float32 state really rounds: --double changes the arithmetic

  const Drive supra = make_drive(30'000, 3000, 4);  // spiking
  const Trace sref = reference_if(supra, -0.065), s64 = run_group<double>(IFParams{}, supra, -0.065);
  REQUIRE(sref.spikes.size() > 20);
  CHECK(s64.spikes == sref.spikes);
  CHECK(lpl::test::max_abs_diff(s64.v, sref.v) <= 0.07 * 1e-12);
}

TEST_CASE("adaptive neuron (--adapt) follows Auryn's AIFGroup equations in float64 and float32") {
  const Drive d = make_drive(30'000, 3000, 5);
  const Trace ref = reference_aif(d, -0.065, 1.0);
  const Trace a64 = run_group<double>(adaptive(), d, -0.065), a32 = run_group<float>(adaptive(), d, -0.065);
  REQUIRE(ref.spikes.size() > 10);
  CHECK(a64.spikes == ref.spikes);
  CHECK(lpl::test::max_abs_diff(a64.v, ref.v) <= 0.07 * 1e-12);
  // float32: same spikes; the voltages agree to float32 resolution of the trajectory.
  CHECK(a32.spikes == ref.spikes);
  CHECK(lpl::test::max_abs_diff(a32.v, ref.v) <= 0.07 * 1e-5);
  // Not the IF group: the adaptation conductance and the AIF order change the trajectory.
  const Trace plain = run_group<double>(IFParams{}, d, -0.065);
  CHECK(plain.spikes.size() > ref.spikes.size());
  // With dg_adapt = 0 only the order differs (decay before the currents; NMDA rate dt/tau, not 1-exp).
  const Trace ref0 = reference_aif(d, -0.065, 0.0);
  IFParams p0 = adaptive();
  p0.dg_adapt = 0.0;
  CHECK(run_group<double>(p0, d, -0.065).spikes == ref0.spikes);
  CHECK(lpl::test::max_abs_diff(ref0.v, reference_if(d, -0.065).v) > 1e-4);
}

TEST_CASE("adaptive neuron: spike-frequency adaptation under a constant drive") {
  // g_ampa held at 2 before every step (a constant conductance drive).
  auto constant_drive = [](const IFParams& p, int64_t steps) {
    IFGroup g(1, p);
    std::vector<int64_t> sp;
    for (int64_t n = 0; n < steps; ++n) {
      g.g_ampa[0] = 2.0f;
      g.integrate(n);
      if (!g.ring().now().empty()) sp.push_back(n);
    }
    return sp;
  };
  const auto plain = constant_drive(IFParams{}, 10'000), adapt = constant_drive(adaptive(), 10'000);
  REQUIRE(plain.size() > 20);
  REQUIRE(adapt.size() > 5);
  // Plain IF: no adaptation (NMDA builds up, so its intervals only shorten).
  CHECK(plain.back() - plain[plain.size() - 2] <= plain[1] - plain[0]);
  // Adaptive: intervals that grow (never shrink by more than one step) to 1.5 times the first.
  for (size_t k = 2; k < adapt.size(); ++k) CHECK(adapt[k] - adapt[k - 1] >= adapt[k - 1] - adapt[k - 2] - 1);
  CHECK(2 * (adapt.back() - adapt[adapt.size() - 2]) >= 3 * (adapt[1] - adapt[0]));
  CHECK(adapt.size() < plain.size() / 2);
  MESSAGE("1 s of constant drive: " << plain.size() << " spikes (IF), " << adapt.size() << " spikes (AIF), intervals "
                                    << adapt[1] - adapt[0] << " -> " << adapt.back() - adapt[adapt.size() - 2] << " steps");
}

TEST_CASE("adaptive neuron: threshold mode 'add' and bad parameters") {
  IFParams p = adaptive();
  p.threshold_mode = ThresholdMode::kAdd;
  IFGroup g(1, p);
  g.v[0] = -0.04f;  // spikes at step 0
  g.integrate(0);
  REQUIRE(g.ring().now().size() == 1);
  CHECK(g.thr[0] == 0.1f);
  CHECK(g.g_adapt[0] == 1.0f);
  g.thr[0] = 0.05f;
  g.v[0] = 0.0f;  // above -50 mV + 0.05 * exp(-dt/5 ms) = ~-1 mV
  g.integrate(1);
  REQUIRE(g.ring().now().size() == 1);
  CHECK(g.thr[0] == doctest::Approx(0.05 * std::exp(-kDt / 5e-3) + 0.1).epsilon(1e-6));
  p.dg_adapt = -1;
  CHECK_THROWS_WITH(IFGroup(1, p), doctest::Contains("adaptation increment must be >= 0"));
  CHECK(IFGroup(1, IFParams{}).g_adapt.empty());
}
