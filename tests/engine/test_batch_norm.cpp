// Batch norm (torch.nn.BatchNorm2d semantics) against float64 references: training forward with the
// running-statistics update, evaluation forward, the backward through the batch statistics, central
// finite differences of L = sum(y * r), accumulation into dgamma/dbeta, determinism, error messages;
// on every device.
#include <cmath>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/parallel.h"
#include "test_util.h"

using namespace lpl;

namespace {

using V = std::vector<double>;

V f64(const std::vector<float>& v) { return {v.begin(), v.end()}; }

struct BnRef {
  V y, mean, var_biased, var_unbiased;
};

// Naive float64 training-mode forward of x [N, C, H, W].
BnRef bn_train_ref(const Shape& s, const V& x, const V& gamma, const V& beta, double eps) {
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  const double M = double(N * HW);
  BnRef r{V(x.size()), V(C, 0.0), V(C, 0.0), V(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) sum += x[(n * C + c) * HW + k];
    const double m = sum / M;
    double q = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) q += (x[(n * C + c) * HW + k] - m) * (x[(n * C + c) * HW + k] - m);
    r.mean[c] = m;
    r.var_biased[c] = q / M;
    r.var_unbiased[c] = q / (M - 1);
    const double inv = 1.0 / std::sqrt(q / M + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const size_t i = static_cast<size_t>((n * C + c) * HW + k);
        r.y[i] = (x[i] - m) * inv * gamma[c] + beta[c];
      }
  }
  return r;
}

V bn_eval_ref(const Shape& s, const V& x, const V& gamma, const V& beta, const V& rm, const V& rv, double eps) {
  const int64_t C = s[1], HW = s[2] * s[3];
  V y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / HW) % C;
    y[i] = (x[i] - rm[c]) / std::sqrt(rv[c] + eps) * gamma[c] + beta[c];
  }
  return y;
}

struct BnGrads {
  V dx, dgamma, dbeta;
};

// The training-mode backward in closed form (float64).
BnGrads bn_backward_ref(const Shape& s, const V& x, const V& gamma, const V& dy, double eps) {
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  const double M = double(N * HW);
  const BnRef f = bn_train_ref(s, x, gamma, V(C, 0.0), eps);
  BnGrads g{V(x.size()), V(C, 0.0), V(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(f.var_biased[c] + eps);
    double sdy = 0, sdyx = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const size_t i = static_cast<size_t>((n * C + c) * HW + k);
        sdy += dy[i];
        sdyx += dy[i] * (x[i] - f.mean[c]) * inv;
      }
    g.dbeta[c] = sdy;
    g.dgamma[c] = sdyx;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < HW; ++k) {
        const size_t i = static_cast<size_t>((n * C + c) * HW + k);
        const double xhat = (x[i] - f.mean[c]) * inv;
        g.dx[i] = gamma[c] * inv * (dy[i] - sdy / M - xhat * sdyx / M);
      }
  }
  return g;
}

double dot(const V& a, const V& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Batch 1, 1x1 planes (after a pooled feature map), odd sizes, a CPU-parallel size (N C >= 4096
// partials and a long flat loop), AlexNet-like 13x13 planes.
const std::vector<Shape> kShapes = {Shape{2, 3, 5, 7}, Shape{1, 4, 3, 3}, Shape{7, 5, 1, 1}, Shape{4, 13, 13, 13},
                                    Shape{64, 70, 3, 3}};

struct Inputs {
  std::vector<float> x, gamma, beta, rm, rv;
};
Inputs make_inputs(const Shape& s, uint32_t seed) {
  const size_t C = static_cast<size_t>(s[1]);
  return {test::random_vec(static_cast<size_t>(s.numel()), seed, -2.f, 3.f), test::random_vec(C, seed + 1, 0.5f, 1.5f),
          test::random_vec(C, seed + 2), test::random_vec(C, seed + 3), test::random_vec(C, seed + 4, 0.5f, 2.f)};
}

void bn_train_forward_reference(Device d) {
  uint32_t seed = 10;
  for (const Shape& s : kShapes) {
    CAPTURE(s.str());
    Inputs in = make_inputs(s, seed += 10);
    const int64_t C = s[1];
    const BatchNormParams p;
    Tensor x = Tensor::from_vector(in.x, s, d), gamma = Tensor::from_vector(in.gamma, {C}, d),
           beta = Tensor::from_vector(in.beta, {C}, d), rm = Tensor::from_vector(in.rm, {C}, d),
           rv = Tensor::from_vector(in.rv, {C}, d);
    BatchNormSaved saved;
    Tensor y = batch_norm_train_forward(x, gamma, beta, rm, rv, p, &saved);
    REQUIRE(y.shape() == s);
    const BnRef r = bn_train_ref(s, f64(in.x), f64(in.gamma), f64(in.beta), 1e-5);
    test::check_close(y.to_vector(), r.y, 1e-5, 1e-5, "train forward y " + s.str());
    test::check_close(saved.mean.to_vector(), r.mean, 1e-6, 1e-6, "saved mean");
    V invstd(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) invstd[c] = 1.0 / std::sqrt(r.var_biased[c] + 1e-5);
    test::check_close(saved.invstd.to_vector(), invstd, 1e-6, 0, "saved invstd");

    // Running statistics after two calls (the second with other data): r = 0.9 r + 0.1 s, each time,
    // with the unbiased variance.
    auto x2v = test::random_vec(static_cast<size_t>(s.numel()), seed + 7, -1.f, 4.f);
    batch_norm_train_forward(Tensor::from_vector(x2v, s, d), gamma, beta, rm, rv, p, nullptr);
    const BnRef r2 = bn_train_ref(s, f64(x2v), f64(in.gamma), f64(in.beta), 1e-5);
    V rm_want(static_cast<size_t>(C)), rv_want(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      rm_want[c] = 0.9 * (0.9 * in.rm[c] + 0.1 * r.mean[c]) + 0.1 * r2.mean[c];
      rv_want[c] = 0.9 * (0.9 * in.rv[c] + 0.1 * r.var_unbiased[c]) + 0.1 * r2.var_unbiased[c];
    }
    test::check_close(rm.to_vector(), rm_want, 1e-6, 1e-6, "running_mean after 2 calls");
    test::check_close(rv.to_vector(), rv_want, 1e-6, 1e-6, "running_var after 2 calls");
  }
}
LPL_TEST_ON_DEVICES("batch_norm_train_forward against a float64 reference, running stats after 2 calls",
                    bn_train_forward_reference)

void bn_params_and_offset(Device d) {
  // Other eps / momentum, and data far from 0 with a small spread (a one-pass float32 variance
  // would cancel catastrophically): statistics are two-pass in float64.
  const Shape s{3, 4, 6, 5};
  auto x = test::random_vec(static_cast<size_t>(s.numel()), 90, 999.9f, 1000.1f);
  auto gamma = test::random_vec(4, 91), beta = test::random_vec(4, 92);
  Tensor rm = Tensor::zeros({4}, d), rv = Tensor::full({4}, 1.f, d);
  const BatchNormParams p{1e-3f, 0.3f};
  BatchNormSaved saved;
  Tensor y = batch_norm_train_forward(Tensor::from_vector(x, s, d), Tensor::from_vector(gamma, {4}, d),
                                      Tensor::from_vector(beta, {4}, d), rm, rv, p, &saved);
  const BnRef r = bn_train_ref(s, f64(x), f64(gamma), f64(beta), double(1e-3f));
  // x itself carries float32 rounding of 1000 (6e-5): xhat is known to about 6e-5 / 0.06.
  test::check_close(y.to_vector(), r.y, 1e-3, 2e-3, "train forward y, offset data");
  V rm_want(4), rv_want(4);
  for (int c = 0; c < 4; ++c) {
    rm_want[c] = 0.3 * r.mean[c];
    rv_want[c] = 0.7 + 0.3 * r.var_unbiased[c];
  }
  test::check_close(rm.to_vector(), rm_want, 1e-6, 0, "running_mean, momentum 0.3");
  test::check_close(rv.to_vector(), rv_want, 1e-5, 0, "running_var, momentum 0.3");
}
LPL_TEST_ON_DEVICES("batch_norm_train_forward with other eps/momentum and data far from zero", bn_params_and_offset)

void bn_eval_forward_reference(Device d) {
  uint32_t seed = 200;
  for (const Shape& s : kShapes) {
    CAPTURE(s.str());
    Inputs in = make_inputs(s, seed += 10);
    const int64_t C = s[1];
    Tensor rm = Tensor::from_vector(in.rm, {C}, d), rv = Tensor::from_vector(in.rv, {C}, d);
    Tensor y = batch_norm_eval_forward(Tensor::from_vector(in.x, s, d), Tensor::from_vector(in.gamma, {C}, d),
                                       Tensor::from_vector(in.beta, {C}, d), rm, rv, BatchNormParams{});
    REQUIRE(y.shape() == s);
    test::check_close(y.to_vector(),
                      bn_eval_ref(s, f64(in.x), f64(in.gamma), f64(in.beta), f64(in.rm), f64(in.rv), 1e-5), 1e-5,
                      1e-5, "eval forward " + s.str());
    CHECK(rm.to_vector() == in.rm);  // nothing updated
    CHECK(rv.to_vector() == in.rv);
  }
}
LPL_TEST_ON_DEVICES("batch_norm_eval_forward against a float64 reference (running stats untouched)",
                    bn_eval_forward_reference)

void bn_backward_reference_and_fd(Device d) {
  uint32_t seed = 300;
  for (const Shape& s : kShapes) {
    CAPTURE(s.str());
    Inputs in = make_inputs(s, seed += 10);
    const int64_t C = s[1];
    auto r = test::random_vec(static_cast<size_t>(s.numel()), seed + 5);
    Tensor x = Tensor::from_vector(in.x, s, d), gamma = Tensor::from_vector(in.gamma, {C}, d),
           beta = Tensor::from_vector(in.beta, {C}, d), rm = Tensor::zeros({C}, d), rv = Tensor::zeros({C}, d);
    BatchNormSaved saved;
    batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &saved);
    Tensor dgamma = Tensor::zeros({C}, d), dbeta = Tensor::zeros({C}, d);
    Tensor dx = batch_norm_backward(Tensor::from_vector(r, s, d), x, gamma, saved, dgamma, dbeta);
    REQUIRE(dx.shape() == s);
    const V x64 = f64(in.x), g64 = f64(in.gamma), b64 = f64(in.beta), r64 = f64(r);
    const BnGrads ref = bn_backward_ref(s, x64, g64, r64, 1e-5);
    const double dx_scale = std::max(1.0, test::max_abs(ref.dx));
    test::check_close(dx.to_vector(), ref.dx, 1e-4, 1e-5 * dx_scale, "dx vs closed form " + s.str());
    test::check_close(dgamma.to_vector(), ref.dgamma, 1e-5, 1e-5, "dgamma vs closed form");
    test::check_close(dbeta.to_vector(), ref.dbeta, 1e-5, 1e-5, "dbeta vs closed form");

    if (s.numel() > 3000) continue;  // finite differences cost O(numel^2)
    auto loss = [&](const V& xv, const V& gv, const V& bv) { return dot(r64, bn_train_ref(s, xv, gv, bv, 1e-5).y); };
    const V fd_x = test::finite_diff(x64, [&](const V& v) { return loss(v, g64, b64); }, 1e-4);
    const V fd_g = test::finite_diff(g64, [&](const V& v) { return loss(x64, v, b64); }, 1e-4);
    const V fd_b = test::finite_diff(b64, [&](const V& v) { return loss(x64, g64, v); }, 1e-4);
    test::check_close(dx.to_vector(), fd_x, 1e-3, 1e-4 * dx_scale, "dx vs finite differences " + s.str());
    test::check_close(dgamma.to_vector(), fd_g, 1e-4, 1e-4, "dgamma vs finite differences");
    test::check_close(dbeta.to_vector(), fd_b, 1e-4, 1e-4, "dbeta vs finite differences");
  }
}
LPL_TEST_ON_DEVICES("batch_norm_backward against the closed form and central finite differences",
                    bn_backward_reference_and_fd)

void bn_backward_accumulates(Device d) {
  const Shape s{3, 6, 4, 5};
  Inputs in = make_inputs(s, 400);
  auto r = test::random_vec(static_cast<size_t>(s.numel()), 401);
  auto g0 = test::random_vec(6, 402), b0 = test::random_vec(6, 403);
  Tensor x = Tensor::from_vector(in.x, s, d), gamma = Tensor::from_vector(in.gamma, {6}, d),
         beta = Tensor::from_vector(in.beta, {6}, d), rm = Tensor::zeros({6}, d), rv = Tensor::zeros({6}, d),
         dy = Tensor::from_vector(r, s, d);
  BatchNormSaved saved;
  batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &saved);
  Tensor dgamma = Tensor::from_vector(g0, {6}, d), dbeta = Tensor::from_vector(b0, {6}, d);
  const BnGrads ref = bn_backward_ref(s, f64(in.x), f64(in.gamma), f64(r), 1e-5);
  batch_norm_backward(dy, x, gamma, saved, dgamma, dbeta);
  V gw(6), bw(6);
  for (int c = 0; c < 6; ++c) gw[c] = g0[c] + ref.dgamma[c], bw[c] = b0[c] + ref.dbeta[c];
  test::check_close(dgamma.to_vector(), gw, 1e-5, 1e-5, "dgamma += once");
  test::check_close(dbeta.to_vector(), bw, 1e-5, 1e-5, "dbeta += once");
  batch_norm_backward(dy, x, gamma, saved, dgamma, dbeta);
  for (int c = 0; c < 6; ++c) gw[c] += ref.dgamma[c], bw[c] += ref.dbeta[c];
  test::check_close(dgamma.to_vector(), gw, 1e-5, 1e-5, "dgamma += twice");
  test::check_close(dbeta.to_vector(), bw, 1e-5, 1e-5, "dbeta += twice");
}
LPL_TEST_ON_DEVICES("batch_norm_backward adds into dgamma and dbeta", bn_backward_accumulates)

void bn_deterministic(Device d) {
  const Shape s{32, 70, 5, 5};
  Inputs in = make_inputs(s, 500);
  auto run = [&] {
    Tensor x = Tensor::from_vector(in.x, s, d), gamma = Tensor::from_vector(in.gamma, {70}, d),
           beta = Tensor::from_vector(in.beta, {70}, d), rm = Tensor::zeros({70}, d), rv = Tensor::zeros({70}, d);
    BatchNormSaved saved;
    Tensor y = batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &saved);
    Tensor dg = Tensor::zeros({70}, d), db = Tensor::zeros({70}, d);
    Tensor dx = batch_norm_backward(y, x, gamma, saved, dg, db);
    std::vector<float> all;
    for (const Tensor* t : {&y, &rm, &rv, &saved.mean, &saved.invstd, &dx, &dg, &db}) {
      auto v = t->to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const int before = num_threads();
  set_num_threads(1);
  auto one = run();
  set_num_threads(3);
  auto three = run();
  auto again = run();
  set_num_threads(before);
  CHECK(one == three);
  CHECK(three == again);
}
LPL_TEST_ON_DEVICES("batch norm gives the same bits run to run and for any thread count", bn_deterministic)

void bn_errors(Device d) {
  Tensor x = Tensor::zeros({2, 3, 4, 4}, d), c3 = Tensor::zeros({3}, d), c4 = Tensor::zeros({4}, d);
  Tensor rm = Tensor::zeros({3}, d), rv = Tensor::full({3}, 1.f, d), rm4 = Tensor::zeros({4}, d);
  const BatchNormParams p;
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(Tensor::zeros({2, 3, 4}, d), c3, c3, rm, rv, p, nullptr),
                       "batch_norm_train_forward: x must be 4-d NCHW, got shape [2, 3, 4]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c4, c3, rm, rv, p, nullptr),
                       "batch_norm_train_forward: gamma has shape [4], expected [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c3, c4, rm, rv, p, nullptr),
                       "batch_norm_train_forward: beta has shape [4], expected [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c3, c3, rm4, rv, p, nullptr),
                       "batch_norm_train_forward: running_mean has shape [4], expected [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c3, c3, rm, rm4, p, nullptr),
                       "batch_norm_train_forward: running_var has shape [4], expected [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(Tensor::zeros({1, 3, 1, 1}, d), c3, c3, rm, rv, p, nullptr),
                       "batch_norm_train_forward: x [1, 3, 1, 1] has 1 value per channel; training needs at least 2",
                       Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c3, c3, rm, rv, BatchNormParams{-1.f, 0.1f}, nullptr),
                       doctest::Contains("batch_norm_train_forward: eps -1 must be positive"), Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, c3, c3, rm, rv, BatchNormParams{1e-5f, 1.5f}, nullptr),
                       doctest::Contains("batch_norm_train_forward: momentum 1.5 must be in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm_train_forward(x, Tensor(), c3, rm, rv, p, nullptr),
                       "batch_norm_train_forward: gamma is undefined", Error);
  CHECK_THROWS_WITH_AS(batch_norm_eval_forward(x, c3, c3, rm4, rv, p),
                       "batch_norm_eval_forward: running_mean has shape [4], expected [3]", Error);
  BatchNormSaved saved;
  batch_norm_train_forward(x, c3, c3, rm, rv, p, &saved);
  Tensor dg = Tensor::zeros({3}, d), db = Tensor::zeros({3}, d), dg4 = Tensor::zeros({4}, d);
  CHECK_THROWS_WITH_AS(batch_norm_backward(Tensor::zeros({2, 3, 4, 5}, d), x, c3, saved, dg, db),
                       "batch_norm_backward: x has shape [2, 3, 4, 4], expected [2, 3, 4, 5]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_backward(x, x, c3, saved, dg4, db),
                       "batch_norm_backward: dgamma has shape [4], expected [3]", Error);
  CHECK_THROWS_WITH_AS(batch_norm_backward(x, x, c3, BatchNormSaved{}, dg, db),
                       "batch_norm_backward: saved.mean is undefined", Error);
}
LPL_TEST_ON_DEVICES("batch norm rejects bad shapes and parameters with one clear message", bn_errors)

}  // namespace
