// Adam with L2 decay (no decay on biases), SGD with momentum, and the warm-up + cosine schedule,
// against hand-computed values (the optimiser values agree with torch.optim in float64).
#include <cmath>
#include <numbers>

#include "engine/lpl_ops.h"
#include "models/optim.h"
#include "test_util.h"

using namespace lpl;

namespace {
struct TwoParams {
  Param w, b;
  explicit TwoParams(Device d) {
    w.value = Tensor::full({3}, 1.f, d);
    w.grad = Tensor::zeros({3}, d);
    w.decay = true;
    b.value = Tensor::full({3}, 1.f, d);
    b.grad = Tensor::zeros({3}, d);
    b.decay = false;
  }
  void set_grad(Device d, float g) {
    w.grad = Tensor::full({3}, g, d);
    b.grad = Tensor::full({3}, g, d);
  }
};
}  // namespace

static void adam_values(Device d) {
  TwoParams p(d);
  Optimizer opt({"adam", 0.1, 0.0}, {&p.w, &p.b});
  // Step 1, g = 0.5: g' = 0.5 + 0.1 * 1 = 0.6; m = 0.06, v = 3.6e-4; m^ = 0.6, v^ = 0.36:
  // w = 1 - 0.01 * 0.6 / (0.6 + 1e-8). The bias has no decay: g' = 0.5, w = 1 - 0.01 * 0.5 / 0.5.
  const float grads[3] = {0.5f, -0.2f, 0.3f};
  const double want_w[3] = {0.9900000001666667, 0.984628324547652, 0.9776534201003168};
  const double want_b[3] = {0.9900000002, 0.9865439418116511, 0.9810995383681155};
  for (int s = 0; s < 3; ++s) {
    p.set_grad(d, grads[s]);
    opt.step(0.01);
    for (float v : p.w.value.to_vector()) CHECK(v == doctest::Approx(want_w[s]).epsilon(1e-6));
    for (float v : p.b.value.to_vector()) CHECK(v == doctest::Approx(want_b[s]).epsilon(1e-6));
  }
  CHECK(opt.steps() == 3);
}
LPL_TEST_ON_DEVICES("adam: L2 decay added to the gradient, none on biases, bias-corrected moments", adam_values)

static void sgd_values(Device d) {
  TwoParams p(d);
  Optimizer opt({"sgd", 0.1, 0.9}, {&p.w, &p.b});
  // Step 1: buf = g + 0.1 w = 0.6, w = 1 - 0.1 * 0.6 = 0.94. Step 2: g' = -0.2 + 0.094 = -0.106,
  // buf = 0.9 * 0.6 - 0.106 = 0.434, w = 0.94 - 0.0434 = 0.8966. Bias: 0.95, 0.925, 0.8725.
  const float grads[3] = {0.5f, -0.2f, 0.3f};
  const double want_w[3] = {0.94, 0.8966, 0.818574};
  const double want_b[3] = {0.95, 0.925, 0.8725};
  for (int s = 0; s < 3; ++s) {
    p.set_grad(d, grads[s]);
    opt.step(0.1);
    for (float v : p.w.value.to_vector()) CHECK(v == doctest::Approx(want_w[s]).epsilon(1e-6));
    for (float v : p.b.value.to_vector()) CHECK(v == doctest::Approx(want_b[s]).epsilon(1e-6));
  }
  // Without momentum: plain w -= lr (g + wd w).
  TwoParams q(d);
  Optimizer plain({"sgd", 0.0, 0.0}, {&q.w, &q.b});
  q.set_grad(d, 2.f);
  plain.step(0.25);
  for (float v : q.w.value.to_vector()) CHECK(v == doctest::Approx(0.5));
}
LPL_TEST_ON_DEVICES("sgd with momentum as torch.optim.SGD (first buffer = gradient)", sgd_values)

namespace {
// float64 reference of one parameter tensor's optimiser state (torch.optim.Adam with L2 decay /
// torch.optim.SGD), element by element.
struct RefParam {
  std::vector<double> w, m, v;
  bool decay;
  void adam(const std::vector<float>& g, double lr, double wd, int64_t t) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (size_t i = 0; i < w.size(); ++i) {
      const double gi = g[i] + (decay ? wd * w[i] : 0.0);
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
      w[i] -= lr * mh / (std::sqrt(vh) + eps);
    }
  }
  void sgd(const std::vector<float>& g, double lr, double wd, double mu, bool first) {
    for (size_t i = 0; i < w.size(); ++i) {
      double gi = g[i] + (decay ? wd * w[i] : 0.0);
      if (mu != 0) gi = m[i] = first ? gi : mu * m[i] + gi;
      w[i] -= lr * gi;
    }
  }
};

// Several steps of the optimiser on a weight (decayed, 7 elements) and a bias (5) holding distinct
// random values, with new random gradients each step, against the float64 reference: a kernel that
// reads another element's gradient, moment or weight fails (all-equal tensors would hide it).
void random_steps_match_reference(Device d, const OptimizerOptions& o) {
  Param w{"w", test::random_tensor({7}, 11, d), Tensor::zeros({7}, d), true};
  Param b{"b", test::random_tensor({5}, 12, d), Tensor::zeros({5}, d), false};
  Optimizer opt(o, {&w, &b});
  std::vector<RefParam> ref;
  for (Param* p : {&w, &b}) {
    const auto x = p->value.to_vector();
    ref.push_back({{x.begin(), x.end()}, std::vector<double>(x.size()), std::vector<double>(x.size()), p->decay});
  }
  const double lrs[4] = {0.05, 0.02, 0.1, 0.03};
  for (int s = 0; s < 4; ++s) {
    CAPTURE(s);
    int k = 0;
    for (Param* p : {&w, &b}) {
      const auto g = test::random_vec(static_cast<size_t>(p->value.numel()), 100 + 10 * s + k, -2.f, 2.f);
      p->grad = Tensor::from_vector(g, p->value.shape(), d);
      if (o.kind == "adam") ref[k].adam(g, lrs[s], o.weight_decay, s + 1);
      else ref[k].sgd(g, lrs[s], o.weight_decay, o.momentum, s == 0);
      ++k;
    }
    opt.step(lrs[s]);
    test::check_close(w.value.to_vector(), ref[0].w, 1e-5, 1e-6, o.kind + " weight");
    test::check_close(b.value.to_vector(), ref[1].w, 1e-5, 1e-6, o.kind + " bias");
  }
}

void random_adam(Device d) { random_steps_match_reference(d, {"adam", 0.3, 0.0}); }
void random_sgd(Device d) { random_steps_match_reference(d, {"sgd", 0.3, 0.9}); }
void random_sgd_plain(Device d) { random_steps_match_reference(d, {"sgd", 0.3, 0.0}); }

// One Adam update at step 3 from distinct random moments (the optimiser's own start at zero).
void adam_update_random_moments(Device d) {
  const auto w0 = test::random_vec(9, 21), g = test::random_vec(9, 22), m0 = test::random_vec(9, 23, -0.5f, 0.5f),
             v0 = test::random_vec(9, 24, 0.01f, 0.5f);
  Tensor w = Tensor::from_vector(w0, {9}, d), m = Tensor::from_vector(m0, {9}, d), v = Tensor::from_vector(v0, {9}, d);
  AdamHyper h;
  h.lr = 0.01f;
  h.weight_decay = 0.2f;
  h.step = 3;
  adam_update(w, Tensor::from_vector(g, {9}, d), m, v, h);
  RefParam r{{w0.begin(), w0.end()}, {m0.begin(), m0.end()}, {v0.begin(), v0.end()}, true};
  r.adam(g, 0.01, static_cast<double>(0.2f), 3);
  test::check_close(w.to_vector(), r.w, 1e-5, 1e-7, "adam_update weight");
  test::check_close(m.to_vector(), r.m, 1e-5, 1e-7, "adam_update m");
  test::check_close(v.to_vector(), r.v, 1e-5, 1e-7, "adam_update v");
}
}  // namespace
LPL_TEST_ON_DEVICES("adam: distinct random weights and gradients over 4 steps match a float64 reference", random_adam)
LPL_TEST_ON_DEVICES("sgd momentum: distinct random weights and gradients over 4 steps match a float64 reference",
                    random_sgd)
LPL_TEST_ON_DEVICES("sgd without momentum: distinct random values over 4 steps match a float64 reference",
                    random_sgd_plain)
LPL_TEST_ON_DEVICES("adam_update from distinct random moments matches a float64 reference", adam_update_random_moments)

TEST_CASE("optimizer refuses unknown kinds and bad momentum") {
  CHECK_THROWS_WITH_AS(Optimizer({"lamb", 0, 0}, {}), doctest::Contains("unknown kind 'lamb'"), Error);
  CHECK_THROWS_WITH_AS(Optimizer({"sgd", 0, 1.5}, {}), doctest::Contains("momentum must be in [0, 1)"), Error);
}

TEST_CASE("warm-up + cosine schedule with the spec's defaults and edge cases") {
  ScheduleOptions s;  // base 1e-3, start 0, final 1e-6, W 10, max 800
  CHECK(scheduled_lr(s, 0, 0, 1) == 0.0);  // faithful: epoch 0 trains at lr 0
  CHECK(scheduled_lr(s, 1, 0, 1) == doctest::Approx(1e-3 / 9));
  CHECK(scheduled_lr(s, 9, 0, 1) == doctest::Approx(1e-3));
  CHECK(scheduled_lr(s, 10, 0, 1) == doctest::Approx(1e-3));
  CHECK(scheduled_lr(s, 405, 0, 1) == doctest::Approx(1e-6 + (1e-3 - 1e-6) * 0.5));  // half-way: cos = 0
  CHECK(scheduled_lr(s, 800, 0, 1) == doctest::Approx(1e-6));
  // Steps inside an epoch do not matter per epoch...
  CHECK(scheduled_lr(s, 1, 57, 100) == doctest::Approx(1e-3 / 9));
  // ...but do per step: epoch 1.5 of the warm-up.
  ScheduleOptions ps = s;
  ps.per_step = true;
  CHECK(scheduled_lr(ps, 1, 50, 100) == doctest::Approx(1.5e-3 / 9));
  CHECK(scheduled_lr(ps, 0, 0, 100) == 0.0);
  CHECK(scheduled_lr(ps, 10, 50, 100) ==
        doctest::Approx(1e-6 + (1e-3 - 1e-6) * (1 + std::cos(std::numbers::pi * 0.5 / 790)) / 2));
  // W = 0: no warm-up, epoch 0 at the base rate.
  ScheduleOptions w0 = s;
  w0.warmup_epochs = 0;
  CHECK(scheduled_lr(w0, 0, 0, 1) == doctest::Approx(1e-3));
  // W = 1: epoch 0 at start, then cosine from the base rate.
  ScheduleOptions w1 = s;
  w1.warmup_epochs = 1;
  w1.start_lr = 2e-4;
  CHECK(scheduled_lr(w1, 0, 0, 1) == doctest::Approx(2e-4));
  CHECK(scheduled_lr(w1, 1, 0, 1) == doctest::Approx(1e-3));
  // max_epochs <= W: the cosine denominator is 1.
  ScheduleOptions short_run = s;
  short_run.max_epochs = 10;
  CHECK(scheduled_lr(short_run, 10, 0, 1) == doctest::Approx(1e-3));
  CHECK(scheduled_lr(short_run, 11, 0, 1) == doctest::Approx(1e-6));
}
