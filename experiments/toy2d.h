// Fig. 2 of the paper (notebook "2 - Toy 2D"): one linear rate neuron y = w . x, no bias, learning from
// sequences of 2-D points. x (the slow feature) stays in its cluster at +-1 (plus N(0, 0.1^2) jitter)
// from one step to the next; y (the fast feature) is fresh N(0, sigma^2) noise every step. LPL learns
// w along x whatever sigma; Hebbian-only rules learn the direction of largest variance, which is y
// once sigma^2 exceeds the variance along x (B^2 + 0.01, i.e. sigma > ~1).
//
// The objective is the notebook's, not the deep-net one of engine/lpl_ops.h: the predictive term is
// MSE(y_next, stopgrad(y_prev)) between consecutive steps (only y_next gets gradient), the Hebbian term
// -log(var(y_next) + 1e-8) acts on y_next alone, with weight decay in SGD. A single neuron has no
// decorrelation term. So it is written here in float64.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/rng.h"

namespace lpl::exp {

// The learning rules of the notebook's trainer() and the paper's ablations.
enum class Toy2dRule {
  kLpl,       // predictive + Hebbian (-log variance)
  kPredOff,   // Hebbian only ("Pred. off")
  kHebbOff,   // predictive only (collapses: no Hebbian term)
  kOja,       // Oja's rule with weight decay (the notebook's classical Hebbian baseline)
  kNaiveVar,  // predictive + naive variance term -var (no log: Fig. S1 "naive")
  kVicVar,    // predictive + VICReg's hinge max(0, 1 - std) (Fig. S1 "VICReg")
};
const std::vector<Toy2dRule>& toy2d_all_rules();
std::string toy2d_rule_name(Toy2dRule r);            // "lpl", "pred_off", "hebb_off", "oja", "naive_var", "vic_var"
Toy2dRule toy2d_rule_from_name(const std::string& s);  // fails naming the unknown rule and the known ones

// Normal and uniform draws from the engine's counter-based RNG (Box-Muller), so every run's numbers
// depend only on (seed, stream) whatever the thread count.
struct Toy2dRng {
  CounterRng rng;
  uint64_t counter = 0;
  bool has_spare = false;  // Box-Muller gives two normals per draw
  double spare = 0;
  Toy2dRng(uint64_t seed, uint64_t stream) : rng{seed, stream} {}
  double uniform();  // [0, 1)
  double normal();   // N(0, 1)
};

// n points, row-major [n, 2], with their cluster labels (0: x = +B, 1: x = -B).
struct Toy2dBatch {
  std::vector<double> x;
  std::vector<int> labels;
  int64_t n() const { return static_cast<int64_t>(labels.size()); }
};

// The notebook's sample_data: the first n/2 points in cluster 0, the rest in cluster 1 (B = 1).
Toy2dBatch toy2d_sample(int64_t n, double sigma, Toy2dRng& rng);
// next_sequence_element: each point keeps its cluster (flips with probability noise_p), gets a fresh
// 0.1 jitter on x and fresh N(0, sigma^2) on y.
Toy2dBatch toy2d_next(const Toy2dBatch& prev, double sigma, double noise_p, Toy2dRng& rng);

// Loss and gradient of one step's objective at weights w, for prev -> next. Oja has no loss (grad 0).
// y_prev is a constant (stop-gradient); w_prev, when given, are the weights that computed it (tests
// hold it fixed while they vary w), else w.
struct Toy2dLoss {
  double pred = 0, hebb = 0;  // the terms that the rule uses (others stay 0)
  double total = 0;
  double grad[2] = {0, 0};    // d total / d w (without weight decay)
};
Toy2dLoss toy2d_loss(const double w[2], const Toy2dBatch& prev, const Toy2dBatch& next, Toy2dRule rule,
                     const double* w_prev = nullptr);

// One update of w in place: torch SGD (w -= lr (grad + wd w)) for the loss rules; for Oja the
// notebook's w += lr mean_b(y (x - y w)) - lr wd w, with y = w . x_next.
void toy2d_step(double w[2], const Toy2dBatch& prev, const Toy2dBatch& next, Toy2dRule rule, double lr, double wd);

// Angle of w from the x axis folded to [0, 90] degrees (w's sign is arbitrary): 0 = the slow
// feature, 90 = the noise direction. |cos| is the notebook's "alignment with x-axis".
double toy2d_angle_deg(const double w[2]);
double toy2d_abs_cos(const double w[2]);
// The notebook's x-selectivity of w on labelled data: (mean y | cluster 0 - mean y | cluster 1) /
// (max y - min y), sign dropped (the plots show its absolute value).
double toy2d_selectivity(const double w[2], const Toy2dBatch& data);

struct Toy2dRun {
  Toy2dRule rule = Toy2dRule::kLpl;
  double sigma = 1, noise_p = 0;
  int64_t batch = 200, steps = 10000;
  double lr = 1e-2, weight_decay = 0.15;
  int64_t record_every = 0;  // >0: trajectory of w every record_every steps (and at 0 and the end)
  uint64_t seed = 1, stream = 0;
};
// The notebook's schedule for a sigma: steps max(10000, 100 sigma), lr min(1e-2 / sigma, 1e-2).
int64_t toy2d_default_steps(double sigma);
double toy2d_default_lr(double sigma);

struct Toy2dResult {
  double w[2] = {0, 0};
  std::vector<int64_t> traj_step;
  std::vector<double> traj_w;  // [len(traj_step), 2]
  double selectivity = 0;      // on 10000 fresh validation points
};
// nn.Linear(2, 1, bias=False) init (U(-1/sqrt 2, 1/sqrt 2)), then `steps` updates along one sequence.
Toy2dResult toy2d_train(const Toy2dRun& run);

}  // namespace lpl::exp
