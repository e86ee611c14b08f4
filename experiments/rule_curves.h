// The LPL rule and objective as curves (the original's notebooks "E1 - Learning rule visualization"
// and "S1 - Loss-function visualization"), computed with the engine's own layer objective
// (engine/lpl_ops.h lpl_objective), not with re-typed formulas.
//
// E1: one rate neuron z = f(h - 3 r0) + r0 (r0 = 2) whose input h co-varies with one presynaptic
// input x = h (weight 1). Its weight change is eta x f'(a) g with the postsynaptic factor
// g = -dL/dz of the layer objective for a sample of value z at time t whose previous value was
// z - dz/dt, with the running estimates zbar (mean) and var (variance) of the neuron's output:
// g = (z - zbar) / var - dz/dt. The engine computes it as lpl_objective with --stale_estimates
// (the Hebbian term around given running estimates), pull 1, push 1, decorrelation 0, on a batch of
// B = 2 pairs: with B = 2 its normalisations 2 / (B M) (pull) and 1 / ((B - 1) M) (Hebbian) are both
// 1 / M, so g = -M dz. f is the phenomenological rate function of Rajan, Abbott & Sompolinsky (2010)
// (rmax 80) or a ReLU.
//
// S1: the scenario of the notebook: two objects whose outputs lie at +-D/2, each seen at its centre
// +- D/4, the two views of a pair drawn independently from the same object. The batch of all eight
// (object, view-1 offset, view-2 offset) combinations gives the engine's pull term D^2 / 8 and,
// through its log-variance Hebbian term, the variance of z. The engine has only the log-variance
// form of the Hebbian objective; the other forms the notebook compares (-var, SFA's 1 - var,
// VICReg's hinge max(0, 1 - sd)) are functions of that same variance, evaluated here.
#pragma once
#include <string>
#include <vector>

#include "engine/device.h"

namespace lpl::exp {

enum class RateFn { rajan, relu };
const char* rate_fn_name(RateFn f);
// The rate function and its derivative at a (the notebook's activation() / derivative()).
double rate(RateFn f, double a);
double rate_derivative(RateFn f, double a);

// Postsynaptic factors g[i] = -M dL/dz of the engine's objective (see above) for M units at once:
// unit i has output z[i] now and z[i] - dzdt[i] one step before, running mean zbar[i] and variance
// var[i] (> 1e-4: the engine adds eps = 1e-4 to the running variance, so it is given var - eps).
std::vector<double> lpl_postsynaptic_factors(const std::vector<double>& z, const std::vector<double>& dzdt,
                                             const std::vector<double>& zbar, const std::vector<double>& var,
                                             Device d = cpu());

struct E1Settings {
  double eta = 1e-3;
  double step = 0.1;  // input grid h = 0, step, ... < h_max (80 for the Rajan function, 50 for the ReLU)
  int map_nx = 99, map_ny = 49;  // heatmap grids (dz/dt or zbar) x var
  Device device = cpu();
};

// One curve of a panel: dw(h) for one value of the panel's parameter, the others at their
// defaults (zbar 30, var 1, dz/dt 0).
struct RuleCurve {
  std::string nonlinearity;  // "rajan" | "relu"
  std::string panel;         // "mean" (zbar varies) | "variance" | "rate" (dz/dt varies)
  double zbar = 30, var = 1, dzdt = 0;
  std::vector<double> h, z, dw;
};
// The notebook's nine curves per rate function: zbar 20/30/40, var 0.75/1/2 (ReLU 0.7/1/2),
// dz/dt -10/0/10.
std::vector<RuleCurve> e1_curves(const E1Settings& s);

// dw at a fixed input h = 45 (Rajan function) over a grid: "rate_var" dz/dt in [-10, 10] x var in
// [1, 3] (zbar 30); "mean_var" zbar in [0, 60] x var in [1, 3] (dz/dt 0).
struct RuleMap {
  std::string name;
  double h = 45;
  std::vector<double> x, var;  // axes (nx, ny)
  std::vector<double> dw;      // [ny][nx], row = var index
};
std::vector<RuleMap> e1_maps(const E1Settings& s);

struct S1Settings {
  int points = 50;            // D grid: linspace(1e-3, 10, points)
  double d_min = 1e-3, d_max = 10;
  int repeats = 1;            // copies of the eight combinations in the batch (B = 8 repeats)
  Device device = cpu();
};
struct S1Row {
  double D = 0;
  double pred = 0;         // the engine's pull term
  double engine_hebb = 0;  // the engine's Hebbian term: -log(unbiased batch variance + 1e-4)
  double var = 0;          // variance of z over the scenario (population), from engine_hebb
  double neg_var = 0, neg_logvar = 0, sfa = 0, hinge = 0;  // -var, -log var, 1 - var, max(0, 1 - sqrt var)
};
std::vector<S1Row> s1_rows(const S1Settings& s);

}  // namespace lpl::exp
