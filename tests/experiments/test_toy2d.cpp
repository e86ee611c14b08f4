// The toy 2-D LPL neuron of Fig. 2 (experiments/toy2d.h): each rule's update against torch autograd
// on the notebook's formulas (golden file from tools/make_toy2d_golden.py), gradients against finite
// differences, the data generator's statistics, and the figure's behaviour (LPL learns the slow x
// feature, Hebbian-only rules the high-variance y direction).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/file_util.h"
#include "experiments/toy2d.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

Toy2dBatch batch_from_json(const nlohmann::json& rows, const nlohmann::json& labels) {
  Toy2dBatch b;
  for (const auto& r : rows) {
    b.x.push_back(r[0].get<double>());
    b.x.push_back(r[1].get<double>());
  }
  for (const auto& l : labels) b.labels.push_back(l.get<int>());
  return b;
}

double rel_err(double a, double b) { return std::abs(a - b) / std::max(1e-12, std::abs(b)); }

}  // namespace

TEST_CASE("toy2d: every rule's updates match torch autograd on the notebook's formulas") {
  const auto g = nlohmann::json::parse(read_file(test::data_path("experiments/toy2d_golden.json")));
  const double lr = g["lr"], wd = g["weight_decay"];
  std::vector<Toy2dBatch> xs;
  for (const auto& x : g["xs"]) xs.push_back(batch_from_json(x, g["labels"]));
  for (const auto& [name, ref] : g["rules"].items()) {
    CAPTURE(name);
    const Toy2dRule rule = toy2d_rule_from_name(name);
    double w[2] = {g["w0"][0], g["w0"][1]};
    if (ref.contains("loss")) {
      const Toy2dLoss L = toy2d_loss(w, xs[0], xs[1], rule);
      CHECK_MESSAGE(rel_err(L.total, ref["loss"]) <= 1e-12, L.total << " vs " << ref["loss"]);
      for (int k = 0; k < 2; ++k)
        CHECK_MESSAGE(rel_err(L.grad[k], ref["grad"][k]) <= 1e-10, "grad " << k << ": " << L.grad[k] << " vs " << ref["grad"][k]);
    }
    for (size_t t = 0; t + 1 < xs.size(); ++t) {
      toy2d_step(w, xs[t], xs[t + 1], rule, lr, wd);
      for (int k = 0; k < 2; ++k)
        CHECK_MESSAGE(rel_err(w[k], ref["w"][t][k]) <= 1e-10, "step " << t + 1 << " w[" << k << "] " << w[k] << " vs " << ref["w"][t][k]);
    }
  }
  const double wsel[2] = {g["selectivity"]["w"][0], g["selectivity"]["w"][1]};
  const double sel = toy2d_selectivity(wsel, xs[0]);
  CHECK_MESSAGE(rel_err(sel, g["selectivity"]["value"]) <= 1e-12, sel);
}

TEST_CASE("toy2d: loss gradients agree with central finite differences (y_prev held constant)") {
  Toy2dRng rng(3, 0);
  const Toy2dBatch a = toy2d_sample(12, 0.7, rng);
  const Toy2dBatch b = toy2d_next(a, 0.7, 0.2, rng);
  for (Toy2dRule rule : {Toy2dRule::kLpl, Toy2dRule::kPredOff, Toy2dRule::kHebbOff, Toy2dRule::kNaiveVar, Toy2dRule::kVicVar}) {
    CAPTURE(toy2d_rule_name(rule));
    // Small weights keep the VICReg hinge active (std < 1), away from its kink.
    const std::vector<double> w0 = {0.23, -0.41};
    const double w[2] = {w0[0], w0[1]};
    const Toy2dLoss L = toy2d_loss(w, a, b, rule);
    const auto fd = test::finite_diff(w0, [&](const std::vector<double>& v) {
      const double wv[2] = {v[0], v[1]};
      return toy2d_loss(wv, a, b, rule, w).total;  // y_prev held at w: the stop-gradient
    }, 1e-5);
    for (int k = 0; k < 2; ++k) CHECK_MESSAGE(std::abs(L.grad[k] - fd[k]) <= 1e-7 * (1 + std::abs(fd[k])), k << ": " << L.grad[k] << " vs " << fd[k]);
  }
}

TEST_CASE("toy2d: the sequence data has the notebook's statistics") {
  Toy2dRng rng(11, 2);
  const double sigma = 2.5;
  const int64_t n = 40000;
  const Toy2dBatch a = toy2d_sample(n, sigma, rng);
  const Toy2dBatch b = toy2d_next(a, sigma, 0.0, rng);
  const Toy2dBatch c = toy2d_next(b, sigma, 0.25, rng);
  CHECK(b.labels == a.labels);  // no jumps without noise
  int64_t flips = 0;
  for (int64_t i = 0; i < n; ++i) flips += c.labels[i] != b.labels[i];
  CHECK(std::abs(static_cast<double>(flips) / n - 0.25) <= 0.01);
  for (const Toy2dBatch* s : {&a, &b, &c}) {
    double mx[2] = {0, 0}, vx[2] = {0, 0}, my = 0, vy = 0;
    int64_t cnt[2] = {0, 0};
    bool binary = true;
    for (int64_t i = 0; i < n; ++i) binary = binary && (s->labels[i] == 0 || s->labels[i] == 1);
    REQUIRE(binary);
    for (int64_t i = 0; i < n; ++i) {
      const int l = s->labels[i];
      mx[l] += s->x[2 * i];
      ++cnt[l];
      my += s->x[2 * i + 1];
    }
    for (int l = 0; l < 2; ++l) mx[l] /= static_cast<double>(cnt[l]);
    my /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const int l = s->labels[i];
      vx[l] += (s->x[2 * i] - mx[l]) * (s->x[2 * i] - mx[l]);
      vy += (s->x[2 * i + 1] - my) * (s->x[2 * i + 1] - my);
    }
    CHECK(std::abs(mx[0] - 1.0) <= 0.005);
    CHECK(std::abs(mx[1] + 1.0) <= 0.005);
    for (int l = 0; l < 2; ++l) CHECK(std::abs(std::sqrt(vx[l] / cnt[l]) - 0.1) <= 0.003);
    CHECK(std::abs(my) <= 0.05);
    CHECK(std::abs(std::sqrt(vy / n) - sigma) <= 0.05);
  }
  // half the first batch in each cluster, the first half in cluster 0
  CHECK(a.labels[0] == 0);
  CHECK(a.labels[n - 1] == 1);
}

TEST_CASE("toy2d: angle and alignment by hand") {
  const double e[][2] = {{1, 0}, {0, -2}, {1, 1}, {-1, 1}, {-3, 0}};
  const double want[] = {0, 90, 45, 45, 0};
  for (int i = 0; i < 5; ++i) CHECK(std::abs(toy2d_angle_deg(e[i]) - want[i]) <= 1e-12);
  CHECK(std::abs(toy2d_abs_cos(e[2]) - std::sqrt(0.5)) <= 1e-15);
  const double zero[2] = {0, 0};
  CHECK(std::isnan(toy2d_abs_cos(zero)));
}

TEST_CASE("toy2d: LPL learns the slow x feature; Hebbian-only rules follow the variance") {
  auto train = [](Toy2dRule rule, double sigma, uint64_t stream) {
    Toy2dRun r;
    r.rule = rule;
    r.sigma = sigma;
    r.steps = 3000;
    r.lr = toy2d_default_lr(sigma);
    r.seed = 5;
    r.stream = stream;
    return toy2d_train(r);
  };
  for (uint64_t s = 0; s < 2; ++s) {
    // sigma 3: y has ~9x the variance of x
    const Toy2dResult lpl = train(Toy2dRule::kLpl, 3.0, s);
    const Toy2dResult heb = train(Toy2dRule::kPredOff, 3.0, s);
    const Toy2dResult oja = train(Toy2dRule::kOja, 3.0, s);
    CHECK_MESSAGE(toy2d_angle_deg(lpl.w) <= 3.0, toy2d_angle_deg(lpl.w));
    CHECK_MESSAGE(toy2d_angle_deg(heb.w) >= 60.0, toy2d_angle_deg(heb.w));
    CHECK_MESSAGE(toy2d_angle_deg(oja.w) >= 80.0, toy2d_angle_deg(oja.w));
    CHECK(lpl.selectivity >= 0.5);
    CHECK(oja.selectivity <= 0.1);
    // sigma 0.1: x has the larger variance, so the Hebbian rule learns x too
    const Toy2dResult heb_small = train(Toy2dRule::kPredOff, 0.1, s);
    CHECK_MESSAGE(toy2d_angle_deg(heb_small.w) <= 5.0, toy2d_angle_deg(heb_small.w));
    // without the Hebbian term the weights collapse
    const Toy2dResult off = train(Toy2dRule::kHebbOff, 3.0, s);
    CHECK_MESSAGE(std::hypot(off.w[0], off.w[1]) <= 0.05 * std::hypot(lpl.w[0], lpl.w[1]), off.w[0] << " " << off.w[1]);
  }
}

TEST_CASE("toy2d: runs are reproducible per (seed, stream) and trajectories are recorded") {
  Toy2dRun r;
  r.steps = 120;
  r.record_every = 50;
  r.stream = 4;
  const Toy2dResult a = toy2d_train(r), b = toy2d_train(r);
  CHECK(a.w[0] == b.w[0]);
  CHECK(a.w[1] == b.w[1]);
  CHECK(a.traj_step == std::vector<int64_t>{0, 50, 100, 120});
  REQUIRE(a.traj_w.size() == 8);
  CHECK(a.traj_w[6] == a.w[0]);
  CHECK(a.traj_w[7] == a.w[1]);
  r.stream = 5;
  const Toy2dResult c = toy2d_train(r);
  CHECK(c.w[0] != a.w[0]);
}

TEST_CASE("toy2d: bad rules and runs are refused with a clear message") {
  CHECK_THROWS_WITH(toy2d_rule_from_name("hebb"), doctest::Contains("unknown rule 'hebb'"));
  Toy2dRun r;
  r.batch = 1;
  CHECK_THROWS_WITH(toy2d_train(r), doctest::Contains("--batch must be at least 2"));
  r.batch = 10;
  r.noise_p = 1.5;
  CHECK_THROWS_WITH(toy2d_train(r), doctest::Contains("--noise_p"));
}
