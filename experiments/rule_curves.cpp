#include "experiments/rule_curves.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/common.h"
#include "engine/lpl_ops.h"
#include "engine/tensor.h"

namespace lpl::exp {
namespace {

// The engine's variance epsilon (kernels/lpl_objective.h kLplEps, a float).
constexpr double kEps = static_cast<double>(1e-4f);
constexpr double kR0 = 2, kRmax = 80;

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = n == 1 ? a : a + (b - a) * i / (n - 1);
  return v;
}

// h = 0, step, 2 step, ... below h_max (numpy's arange(0, h_max, step)).
std::vector<double> input_grid(double h_max, double step) {
  const auto n = static_cast<int64_t>(std::ceil(h_max / step - 1e-9));
  std::vector<double> h(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) h[static_cast<size_t>(i)] = static_cast<double>(i) * step;
  return h;
}

double sech2(double x) {
  const double c = std::cosh(x);
  return 1.0 / (c * c);
}

// The neuron's output and the slope of f at its input: z = f(h - 3 r0) + r0 (the notebook's offset).
double output(RateFn f, double h) { return rate(f, h - 3 * kR0) + kR0; }
double slope(RateFn f, double h) { return rate_derivative(f, h - 3 * kR0); }

// dw for each input of a curve: eta x f'(a) g with x = h and g from the engine.
std::vector<double> weight_changes(RateFn f, const std::vector<double>& h, double zbar, double var, double dzdt,
                                   const E1Settings& s, std::vector<double>* z_out) {
  const size_t n = h.size();
  std::vector<double> z(n);
  for (size_t i = 0; i < n; ++i) z[i] = output(f, h[i]);
  const auto g = lpl_postsynaptic_factors(z, std::vector<double>(n, dzdt), std::vector<double>(n, zbar),
                                          std::vector<double>(n, var), s.device);
  std::vector<double> dw(n);
  for (size_t i = 0; i < n; ++i) dw[i] = s.eta * h[i] * slope(f, h[i]) * g[i] + 0.0;  // + 0: no "-0" at h = 0
  if (z_out) *z_out = std::move(z);
  return dw;
}

}  // namespace

const char* rate_fn_name(RateFn f) { return f == RateFn::rajan ? "rajan" : "relu"; }

double rate(RateFn f, double a) {
  if (f == RateFn::relu) return a > 0 ? a : 0.0;
  return a < 0 ? kR0 * std::tanh(a / kR0) : (kRmax - kR0) * std::tanh(a / (kRmax - kR0));
}

double rate_derivative(RateFn f, double a) {
  if (f == RateFn::relu) return a >= 0 ? 1.0 : 0.0;
  return a < 0 ? sech2(a / kR0) : sech2(a / (kRmax - kR0));
}

std::vector<double> lpl_postsynaptic_factors(const std::vector<double>& z, const std::vector<double>& dzdt,
                                             const std::vector<double>& zbar, const std::vector<double>& var,
                                             Device d) {
  const auto M = static_cast<int64_t>(z.size());
  LPL_CHECK(M > 0 && dzdt.size() == z.size() && zbar.size() == z.size() && var.size() == z.size(),
            fmt::format("lpl_postsynaptic_factors: z, dzdt, zbar and var need the same non-zero length, got {}, {}, "
                        "{}, {}", z.size(), dzdt.size(), zbar.size(), var.size()));
  // Rows: view 1 = (z now, zbar), view 2 = (z one step before, zbar). The second pair only fills the
  // batch to B = 2 (with stale estimates it does not touch the first pair's gradient).
  std::vector<float> rows(static_cast<size_t>(4 * M)), sm(static_cast<size_t>(M)), sv(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    const auto i = static_cast<size_t>(m);
    LPL_CHECK(var[i] > kEps, fmt::format("lpl_postsynaptic_factors: variance {} must exceed the engine's eps {}",
                                         var[i], kEps));
    rows[i] = static_cast<float>(z[i]);
    rows[static_cast<size_t>(M) + i] = static_cast<float>(zbar[i]);
    rows[static_cast<size_t>(2 * M) + i] = static_cast<float>(z[i] - dzdt[i]);
    rows[static_cast<size_t>(3 * M) + i] = static_cast<float>(zbar[i]);
    sm[i] = static_cast<float>(zbar[i]);
    sv[i] = static_cast<float>(var[i] - kEps);  // the engine divides by (v + eps)
  }
  Tensor zt = Tensor::from_vector(rows, {4, M}, d), dz = Tensor::empty({4, M}, d);
  Tensor mean = Tensor::from_vector(sm, {M}, d), v = Tensor::from_vector(sv, {M}, d);
  Tensor terms = lpl_terms_buffer(d, 1);
  LplObjectiveArgs a;
  a.coeffs = {1.f, 1.f, 0.f};
  a.stale_mean = &mean;
  a.stale_var = &v;
  a.stale_valid = true;
  lpl_objective(zt, dz, terms, 0, a);
  const auto g = dz.to_vector();
  std::vector<double> out(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) out[static_cast<size_t>(m)] = -static_cast<double>(M) * g[static_cast<size_t>(m)];
  return out;
}

std::vector<RuleCurve> e1_curves(const E1Settings& s) {
  LPL_CHECK(s.step > 0 && std::isfinite(s.step), fmt::format("e1_curves: step must be positive, got {}", s.step));
  std::vector<RuleCurve> out;
  for (RateFn f : {RateFn::rajan, RateFn::relu}) {
    const auto h = input_grid(f == RateFn::rajan ? 80.0 : 50.0, s.step);
    const double low_var = f == RateFn::rajan ? 0.75 : 0.7;
    auto add = [&](const char* panel, double zbar, double var, double dzdt) {
      RuleCurve c{rate_fn_name(f), panel, zbar, var, dzdt, h, {}, {}};
      c.dw = weight_changes(f, h, zbar, var, dzdt, s, &c.z);
      out.push_back(std::move(c));
    };
    for (double zbar : {20.0, 30.0, 40.0}) add("mean", zbar, 1.0, 0.0);
    for (double var : {low_var, 1.0, 2.0}) add("variance", 30.0, var, 0.0);
    for (double dzdt : {-10.0, 0.0, 10.0}) add("rate", 30.0, 1.0, dzdt);
  }
  return out;
}

std::vector<RuleMap> e1_maps(const E1Settings& s) {
  LPL_CHECK(s.map_nx >= 2 && s.map_ny >= 2, fmt::format("e1_maps: grids need at least 2 x 2 points, got {} x {}",
                                                        s.map_nx, s.map_ny));
  std::vector<RuleMap> out;
  for (const char* name : {"rate_var", "mean_var"}) {
    RuleMap m;
    m.name = name;
    const bool rate_map = m.name == "rate_var";
    m.x = rate_map ? linspace(-10, 10, s.map_nx) : linspace(0, 60, s.map_nx);
    m.var = linspace(1, 3, s.map_ny);
    std::vector<double> z, dzdt, zbar, var;
    for (double v : m.var)
      for (double x : m.x) {
        z.push_back(output(RateFn::rajan, m.h));
        dzdt.push_back(rate_map ? x : 0.0);
        zbar.push_back(rate_map ? 30.0 : x);
        var.push_back(v);
      }
    const auto g = lpl_postsynaptic_factors(z, dzdt, zbar, var, s.device);
    for (double gi : g) m.dw.push_back(s.eta * m.h * slope(RateFn::rajan, m.h) * gi);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<S1Row> s1_rows(const S1Settings& s) {
  LPL_CHECK(s.points >= 2 && s.repeats >= 1 && s.d_min > 0 && s.d_max > s.d_min,
            fmt::format("s1_rows: need points >= 2, repeats >= 1 and 0 < d_min < d_max, got {}, {}, {}, {}", s.points,
                        s.repeats, s.d_min, s.d_max));
  const int64_t B = 8 * static_cast<int64_t>(s.repeats);
  std::vector<S1Row> out;
  for (double D : linspace(s.d_min, s.d_max, s.points)) {
    std::vector<float> rows(static_cast<size_t>(2 * B));
    int64_t b = 0;
    for (int r = 0; r < s.repeats; ++r)
      for (double obj : {-1.0, 1.0})
        for (double o1 : {-1.0, 1.0})
          for (double o2 : {-1.0, 1.0}) {
            rows[static_cast<size_t>(b)] = static_cast<float>(obj * D / 2 + o1 * D / 4);
            rows[static_cast<size_t>(B + b)] = static_cast<float>(obj * D / 2 + o2 * D / 4);
            ++b;
          }
    Tensor z = Tensor::from_vector(rows, {2 * B, 1}, s.device), dz = Tensor::empty({2 * B, 1}, s.device);
    Tensor terms = lpl_terms_buffer(s.device, 1);
    LplObjectiveArgs a;
    a.coeffs = {1.f, 1.f, 0.f};
    lpl_objective(z, dz, terms, 0, a);
    const LplTerms t = lpl_terms_read(terms)[0];
    S1Row r;
    r.D = D;
    r.pred = t.pull;
    r.engine_hebb = t.push;
    // Both views have the same variance, so the Hebbian term is -log(v + eps) with v unbiased over B.
    r.var = (std::exp(-t.push) - kEps) * static_cast<double>(B - 1) / static_cast<double>(B);
    r.neg_var = -r.var;
    r.neg_logvar = -std::log(r.var);
    r.sfa = 1 - r.var;
    r.hinge = std::max(0.0, 1 - std::sqrt(r.var));
    out.push_back(r);
  }
  return out;
}

}  // namespace lpl::exp
