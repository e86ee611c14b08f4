#include "experiments/toy2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"

namespace lpl::exp {

namespace {
constexpr double kB = 1.0;          // cluster centres at x = +-B
constexpr double kJitter = 0.1;     // std of the jitter on x
constexpr double kVarEps = 1e-8;    // the notebook's variance epsilon
constexpr double kPi = 3.14159265358979323846;
}  // namespace

const std::vector<Toy2dRule>& toy2d_all_rules() {
  static const std::vector<Toy2dRule> all = {Toy2dRule::kLpl, Toy2dRule::kPredOff, Toy2dRule::kHebbOff,
                                             Toy2dRule::kOja, Toy2dRule::kNaiveVar, Toy2dRule::kVicVar};
  return all;
}

std::string toy2d_rule_name(Toy2dRule r) {
  switch (r) {
    case Toy2dRule::kLpl: return "lpl";
    case Toy2dRule::kPredOff: return "pred_off";
    case Toy2dRule::kHebbOff: return "hebb_off";
    case Toy2dRule::kOja: return "oja";
    case Toy2dRule::kNaiveVar: return "naive_var";
    case Toy2dRule::kVicVar: return "vic_var";
  }
  return "?";
}

Toy2dRule toy2d_rule_from_name(const std::string& s) {
  std::string known;
  for (Toy2dRule r : toy2d_all_rules()) {
    if (toy2d_rule_name(r) == s) return r;
    known += (known.empty() ? "" : ", ") + toy2d_rule_name(r);
  }
  fail("unknown rule '" + s + "' (known: " + known + ")");
}

double Toy2dRng::uniform() {
  const Philox4 b = rng.block(counter++);
  return CounterRng::to_unit_d(b.v[0], b.v[1]);
}

double Toy2dRng::normal() {
  if (has_spare) {
    has_spare = false;
    return spare;
  }
  const Philox4 b = rng.block(counter++);
  const double u1 = 1.0 - CounterRng::to_unit_d(b.v[0], b.v[1]);  // (0, 1]: log is finite
  const double u2 = CounterRng::to_unit_d(b.v[2], b.v[3]);
  const double r = std::sqrt(-2.0 * std::log(u1));
  spare = r * std::sin(2.0 * kPi * u2);
  has_spare = true;
  return r * std::cos(2.0 * kPi * u2);
}

Toy2dBatch toy2d_sample(int64_t n, double sigma, Toy2dRng& rng) {
  Toy2dBatch b;
  b.x.resize(static_cast<size_t>(2 * n));
  b.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int label = i < n / 2 ? 0 : 1;
    b.labels[i] = label;
    b.x[2 * i] = (label == 0 ? kB : -kB) + kJitter * rng.normal();
    b.x[2 * i + 1] = sigma * rng.normal();
  }
  return b;
}

Toy2dBatch toy2d_next(const Toy2dBatch& prev, double sigma, double noise_p, Toy2dRng& rng) {
  Toy2dBatch b;
  const int64_t n = prev.n();
  b.x.resize(static_cast<size_t>(2 * n));
  b.labels = prev.labels;
  for (int64_t i = 0; i < n; ++i) {
    if (noise_p > 0 && rng.uniform() < noise_p) b.labels[i] = 1 - b.labels[i];
    b.x[2 * i] = (b.labels[i] == 0 ? kB : -kB) + kJitter * rng.normal();
    b.x[2 * i + 1] = sigma * rng.normal();
  }
  return b;
}

Toy2dLoss toy2d_loss(const double w[2], const Toy2dBatch& prev, const Toy2dBatch& next, Toy2dRule rule,
                     const double* w_prev) {
  const double* wp = w_prev ? w_prev : w;
  Toy2dLoss L;
  if (rule == Toy2dRule::kOja) return L;
  const int64_t n = next.n();
  LPL_CHECK(n >= 2 && prev.n() == n, "toy2d: a step needs two batches of the same size >= 2");
  auto y_at = [&](int64_t i) { return w[0] * next.x[2 * i] + w[1] * next.x[2 * i + 1]; };
  auto yp_at = [&](int64_t i) { return wp[0] * prev.x[2 * i] + wp[1] * prev.x[2 * i + 1]; };
  double mu = 0;
  for (int64_t i = 0; i < n; ++i) mu += y_at(i);
  mu /= static_cast<double>(n);
  const bool pred = rule != Toy2dRule::kPredOff;
  const bool hebb = rule != Toy2dRule::kHebbOff;
  // dL/dy_i = cp (y_i - yp_i) + ch (y_i - mu); the coefficients need the whole batch first.
  double cp = 0, ch = 0;
  if (pred) {  // MSELoss(y_next, y_prev.detach()): mean square, gradient into y_next only
    for (int64_t i = 0; i < n; ++i) {
      const double d = y_at(i) - yp_at(i);
      L.pred += d * d;
    }
    L.pred /= static_cast<double>(n);
    cp = 2.0 / static_cast<double>(n);
  }
  if (hebb) {  // variance with the batch mean held constant, unbiased
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += (y_at(i) - mu) * (y_at(i) - mu);
    const double var0 = ss / static_cast<double>(n - 1);
    // d var0 / d y_i = 2 (y_i - mu) / (n - 1); the term's derivative in var0 scales it.
    double dterm = 0;
    if (rule == Toy2dRule::kNaiveVar) {
      L.hebb = -var0;
      dterm = -1.0;
    } else if (rule == Toy2dRule::kVicVar) {
      const double sd = std::sqrt(var0 + kVarEps);
      L.hebb = std::max(0.0, 1.0 - sd);
      dterm = 1.0 - sd < 0 ? 0.0 : -0.5 / sd;  // the notebook zeroes the negative entries in place
    } else {
      L.hebb = -std::log(var0 + kVarEps);
      dterm = -1.0 / (var0 + kVarEps);
    }
    ch = dterm * 2.0 / static_cast<double>(n - 1);
  }
  for (int64_t i = 0; i < n; ++i) {
    const double y = y_at(i);
    const double dy = cp * (y - yp_at(i)) + ch * (y - mu);
    L.grad[0] += dy * next.x[2 * i];
    L.grad[1] += dy * next.x[2 * i + 1];
  }
  L.total = L.pred + L.hebb;
  return L;
}

void toy2d_step(double w[2], const Toy2dBatch& prev, const Toy2dBatch& next, Toy2dRule rule, double lr, double wd) {
  if (rule == Toy2dRule::kOja) {
    const int64_t n = next.n();
    double dw[2] = {0, 0};
    for (int64_t i = 0; i < n; ++i) {
      const double x0 = next.x[2 * i], x1 = next.x[2 * i + 1];
      const double y = w[0] * x0 + w[1] * x1;
      dw[0] += y * (x0 - y * w[0]);
      dw[1] += y * (x1 - y * w[1]);
    }
    for (int k = 0; k < 2; ++k) w[k] += lr * dw[k] / static_cast<double>(n) - lr * wd * w[k];
    return;
  }
  const Toy2dLoss L = toy2d_loss(w, prev, next, rule);
  for (int k = 0; k < 2; ++k) w[k] -= lr * (L.grad[k] + wd * w[k]);
}

double toy2d_angle_deg(const double w[2]) {
  return std::atan2(std::abs(w[1]), std::abs(w[0])) * 180.0 / kPi;
}

double toy2d_abs_cos(const double w[2]) {
  const double norm = std::hypot(w[0], w[1]);
  return norm > 0 ? std::abs(w[0]) / norm : std::numeric_limits<double>::quiet_NaN();
}

double toy2d_selectivity(const double w[2], const Toy2dBatch& data) {
  double s[2] = {0, 0};
  int64_t c[2] = {0, 0};
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t i = 0; i < data.n(); ++i) {
    const double y = w[0] * data.x[2 * i] + w[1] * data.x[2 * i + 1];
    s[data.labels[i]] += y;
    c[data.labels[i]] += 1;
    lo = std::min(lo, y);
    hi = std::max(hi, y);
  }
  LPL_CHECK(c[0] > 0 && c[1] > 0, "toy2d: selectivity needs points of both clusters");
  return std::abs(s[0] / c[0] - s[1] / c[1]) / (hi - lo);
}

int64_t toy2d_default_steps(double sigma) { return std::max<int64_t>(10000, static_cast<int64_t>(100 * sigma)); }
double toy2d_default_lr(double sigma) { return std::min(1e-2 / sigma, 1e-2); }

Toy2dResult toy2d_train(const Toy2dRun& run) {
  LPL_CHECK(run.batch >= 2, "toy2d: --batch must be at least 2");
  LPL_CHECK(run.steps >= 1, "toy2d: --steps must be at least 1");
  LPL_CHECK(run.sigma > 0 && std::isfinite(run.sigma), "toy2d: sigma must be a positive number");
  LPL_CHECK(run.noise_p >= 0 && run.noise_p <= 1, "toy2d: --noise_p must lie in [0, 1]");
  Toy2dRng rng(run.seed, run.stream);
  Toy2dResult r;
  const double bound = 1.0 / std::sqrt(2.0);
  for (double& v : r.w) v = (2.0 * rng.uniform() - 1.0) * bound;
  auto record = [&](int64_t step) {
    r.traj_step.push_back(step);
    r.traj_w.push_back(r.w[0]);
    r.traj_w.push_back(r.w[1]);
  };
  if (run.record_every > 0) record(0);
  Toy2dBatch x = toy2d_sample(run.batch, run.sigma, rng);
  for (int64_t t = 1; t <= run.steps; ++t) {
    Toy2dBatch next = toy2d_next(x, run.sigma, run.noise_p, rng);
    toy2d_step(r.w, x, next, run.rule, run.lr, run.weight_decay);
    x = std::move(next);
    if (run.record_every > 0 && (t % run.record_every == 0 || t == run.steps)) record(t);
  }
  const Toy2dBatch val = toy2d_sample(10000, run.sigma, rng);
  r.selectivity = toy2d_selectivity(r.w, val);
  return r;
}

}  // namespace lpl::exp
