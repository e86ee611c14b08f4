// The reverse-mode tape (engine/tape.h): every op's gradient against float64 central finite differences
// of L = sum(R * out) with respect to Param leaves and leaf() inputs; a small network end to end against
// the same gradient written out with the ops by hand; detach, accumulation, fan-out, recording off,
// storage reuse across clear(), and the errors. On every device.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/param.h"
#include "engine/tape.h"
#include "test_util.h"

using namespace lpl;
using lpl::ag::CustomBackward;
using lpl::ag::Tape;
using lpl::ag::Var;

namespace {

// One differentiable input of a checked op: a Param leaf (gradient in Param::grad) or a leaf()
// (gradient from Tape::grad).
struct In {
  Tensor t;
  bool is_param;
  std::string name;
};

using Build = std::function<Var(Tape&, const std::vector<Var>&)>;

Param make_param(const std::string& name, const Tensor& value, const Tensor& grad) {
  Param p;
  p.name = name;
  p.value = value;
  p.grad = grad;
  return p;
}

double dot(const std::vector<float>& a, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * r[i];
  return s;
}

// Values spaced at least `gap` apart in a random order (no ties or near-ties for max-pooling).
Tensor spaced_tensor(const Shape& s, uint32_t seed, float gap, Device d) {
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = (static_cast<float>(i) - static_cast<float>(v.size()) / 2) * gap;
  std::mt19937 g(seed);
  std::shuffle(v.begin(), v.end(), g);
  return Tensor::from_vector(v, s, d);
}

// Uniform in [-1, -lo] u [lo, 1]: away from ReLU's kink at 0.
Tensor away_from_zero(const Shape& s, uint32_t seed, float lo, Device d) {
  std::vector<float> v = test::random_vec(static_cast<size_t>(s.numel()), seed);
  for (auto& x : v) x = (x < 0 ? -1.f : 1.f) * (lo + (1 - lo) * std::abs(x));
  return Tensor::from_vector(v, s, d);
}

// Checks the tape's gradient of L = sum(R * build(inputs)) against central differences with step h.
// Returns the largest error relative to (atol + rtol |fd|) over all inputs (<= 1 passes).
double grad_check(const std::string& what, const std::vector<In>& ins, const Build& build, Device d, double h = 1e-2,
                  double rtol = 5e-3, double atol = 5e-4) {
  std::vector<Param> params(ins.size());
  Tape t;
  std::vector<Var> vars;
  for (size_t k = 0; k < ins.size(); ++k) {
    if (ins[k].is_param) {
      params[k].name = ins[k].name;
      params[k].value = ins[k].t;
      params[k].grad = Tensor::zeros(ins[k].t.shape(), d);
      vars.push_back(t.param(params[k]));
    } else {
      vars.push_back(t.leaf(ins[k].t));
    }
  }
  const Var out = build(t, vars);
  REQUIRE(out.requires_grad());
  const Tensor r = test::random_tensor(out.shape(), 777, d);
  const std::vector<float> r_host = r.to_vector();
  t.backward(out, r);
  double worst = 0;
  for (size_t k = 0; k < ins.size(); ++k) {
    const std::vector<float> analytic = ins[k].is_param ? params[k].grad.to_vector() : t.grad(vars[k]).to_vector();
    const std::vector<float> x0 = ins[k].t.to_vector();
    auto f = [&](const std::vector<double>& xv) {
      std::vector<Var> in;
      for (size_t j = 0; j < ins.size(); ++j) {
        if (j == k) {
          std::vector<float> xf(xv.begin(), xv.end());
          in.push_back(Tape::input(Tensor::from_vector(xf, ins[j].t.shape(), d)));
        } else {
          in.push_back(Tape::input(ins[j].t));
        }
      }
      Tape nt(false);
      return dot(build(nt, in).value.to_vector(), r_host);
    };
    const std::vector<double> fd = test::finite_diff(std::vector<double>(x0.begin(), x0.end()), f, h);
    const test::CloseResult c = test::compare_close(analytic, fd, rtol, atol);
    CHECK_MESSAGE(c.ok, what << " d/d" << ins[k].name << ": " << c.msg);
    double e = 0;
    for (size_t i = 0; i < fd.size(); ++i)
      e = test::nan_max(e, std::abs(static_cast<double>(analytic[i]) - fd[i]) / (atol + rtol * std::abs(fd[i])));
    MESSAGE(what << " d/d" << ins[k].name << ": " << fd.size() << " entries, max |tape - fd| / (" << atol << " + "
                 << rtol << " |fd|) = " << e << ", max |fd| " << test::max_abs(fd));
    CHECK(test::max_abs(fd) > 0);  // the check compared something
    worst = test::nan_max(worst, e);
  }
  return worst;
}

// ---- per-op finite-difference checks ---------------------------------------------------------------

void conv_fd(Device d) {
  struct Case {
    Shape x, w;
    Conv2dParams p;
    bool bias, w_param;
  };
  const std::vector<Case> cases = {
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {1, 1, 1, 1}, true, true},    // pad 1, bias
      {{2, 3, 7, 7}, {4, 3, 3, 3}, {2, 2, 1, 1}, false, true},   // stride 2, pad 1, no bias
      {{1, 2, 7, 6}, {3, 2, 3, 3}, {2, 2, 0, 0}, true, true},    // stride 2, no padding, bias
      {{2, 2, 5, 5}, {3, 2, 3, 3}, {1, 1, 1, 1}, true, false},   // weight and bias as leaf() (non-param path)
  };
  for (const Case& c : cases) {
    std::vector<In> ins = {{test::random_tensor(c.x, 1, d), false, "x"},
                           {test::random_tensor(c.w, 2, d, -0.5f, 0.5f), c.w_param, "w"}};
    if (c.bias) ins.push_back({test::random_tensor(Shape{c.w[0]}, 3, d), c.w_param, "b"});
    const Conv2dParams p = c.p;
    const bool bias = c.bias;
    grad_check("conv2d x " + c.x.str() + " w " + c.w.str() + " stride " + std::to_string(p.stride_h) + " pad " +
                   std::to_string(p.pad_h) + (bias ? " bias" : " no bias") + (c.w_param ? "" : " (leaf w)"),
               ins,
               [p, bias](Tape& t, const std::vector<Var>& v) { return t.conv2d(v[0], v[1], bias ? &v[2] : nullptr, p); },
               d);
  }
}
LPL_TEST_ON_DEVICES("tape: conv2d gradients match finite differences", conv_fd)

void relu_fd(Device d) {
  // relu(x) * w-free: relu of a leaf, and relu after a conv (param gradient through the mask).
  grad_check("relu", {{away_from_zero({2, 3, 4, 5}, 4, 0.1f, d), false, "x"}},
             [](Tape& t, const std::vector<Var>& v) { return t.relu(v[0]); }, d);
}
LPL_TEST_ON_DEVICES("tape: relu gradient matches finite differences", relu_fd)

void maxpool_fd(Device d) {
  // Values 0.05 apart, step 0.01: no perturbation changes which element of a window is the largest.
  const Pool2dParams p22{2, 2, 2, 2, 0, 0}, p33{3, 3, 2, 2, 1, 1};
  grad_check("maxpool2d 2x2", {{spaced_tensor({2, 3, 6, 8}, 5, 0.05f, d), false, "x"}},
             [p22](Tape& t, const std::vector<Var>& v) { return t.maxpool2d(v[0], p22); }, d);
  grad_check("maxpool2d 3x3/s2/p1", {{spaced_tensor({2, 2, 7, 8}, 6, 0.05f, d), false, "x"}},
             [p33](Tape& t, const std::vector<Var>& v) { return t.maxpool2d(v[0], p33); }, d);
}
LPL_TEST_ON_DEVICES("tape: maxpool2d gradients match finite differences", maxpool_fd)

void avgpool_fd(Device d) {
  grad_check("global_avgpool", {{test::random_tensor({2, 3, 4, 5}, 7, d), false, "x"}},
             [](Tape& t, const std::vector<Var>& v) { return t.global_avgpool(v[0]); }, d);
  grad_check("adaptive_avgpool 9x7 -> 6x6", {{test::random_tensor({2, 2, 9, 7}, 8, d), false, "x"}},
             [](Tape& t, const std::vector<Var>& v) { return t.adaptive_avgpool(v[0], 6, 6); }, d);
}
LPL_TEST_ON_DEVICES("tape: global and adaptive average pooling gradients match finite differences", avgpool_fd)

void linear_fd(Device d) {
  grad_check("linear with bias",
             {{test::random_tensor({3, 7}, 9, d), false, "x"},
              {test::random_tensor({5, 7}, 10, d), true, "w"},
              {test::random_tensor({5}, 11, d), true, "b"}},
             [](Tape& t, const std::vector<Var>& v) { return t.linear(v[0], v[1], &v[2]); }, d);
  grad_check("linear without bias",
             {{test::random_tensor({4, 6}, 12, d), false, "x"}, {test::random_tensor({3, 6}, 13, d), true, "w"}},
             [](Tape& t, const std::vector<Var>& v) { return t.linear(v[0], v[1], nullptr); }, d);
  grad_check("linear, weight as leaf()",
             {{test::random_tensor({4, 6}, 14, d), false, "x"}, {test::random_tensor({3, 6}, 15, d), false, "w"}},
             [](Tape& t, const std::vector<Var>& v) { return t.linear(v[0], v[1], nullptr); }, d);
}
LPL_TEST_ON_DEVICES("tape: linear gradients match finite differences", linear_fd)

void add_fd(Device d) {
  grad_check("add",
             {{test::random_tensor({2, 3, 4, 4}, 16, d), false, "a"}, {test::random_tensor({2, 3, 4, 4}, 17, d), true, "b"}},
             [](Tape& t, const std::vector<Var>& v) { return t.add(v[0], v[1]); }, d);
  // Both operands from the same value (fan-out inside one node): the gradient doubles.
  grad_check("add(x, x)", {{test::random_tensor({3, 5}, 18, d), false, "x"}},
             [](Tape& t, const std::vector<Var>& v) { return t.add(v[0], v[0]); }, d);
  // A residual block: x + relu(conv(x)).
  const Conv2dParams cp{1, 1, 1, 1};
  grad_check("x + relu(conv(x))",
             {{test::random_tensor({2, 3, 5, 5}, 19, d), false, "x"}, {test::random_tensor({3, 3, 3, 3}, 20, d, -0.4f, 0.4f), true, "w"}},
             [cp](Tape& t, const std::vector<Var>& v) { return t.add(v[0], t.relu(t.conv2d(v[0], v[1], nullptr, cp))); }, d,
             1e-3);
}
LPL_TEST_ON_DEVICES("tape: add gradients match finite differences", add_fd)

// y = a * b elementwise, computed on the host by the caller; the backward is dy * b, dy * a.
struct HostProduct final : CustomBackward {
  Tensor a, b;
  bool a_needed = true;
  static Tensor mul(const Tensor& x, const Tensor& y) {
    std::vector<float> u = x.to_vector();
    const std::vector<float> v = y.to_vector();
    for (size_t i = 0; i < u.size(); ++i) u[i] *= v[i];
    return Tensor::from_vector(u, x.shape(), x.device());
  }
  void backward(const Tensor& dy, std::vector<Tensor>& dinputs) override {
    REQUIRE(dinputs.size() == 2);
    CHECK(!dinputs[0].defined());
    CHECK(!dinputs[1].defined());
    if (a_needed) dinputs[0] = mul(dy, b);
    dinputs[1] = mul(dy, a);
  }
};

Var host_product(Tape& t, const Var& a, const Var& b, HostProduct& node) {
  node.a = a.value;
  node.b = b.value;
  return t.custom({a, b}, HostProduct::mul(a.value, b.value), &node);
}

void custom_fd(Device d) {
  HostProduct node;
  grad_check("custom a * b",
             {{test::random_tensor({3, 4}, 21, d), false, "a"}, {test::random_tensor({3, 4}, 22, d), true, "b"}},
             [&node](Tape& t, const std::vector<Var>& v) { return host_product(t, v[0], v[1], node); }, d);
  // A custom node between tape ops: linear -> custom (a * a) -> linear.
  HostProduct sq;
  grad_check("linear -> custom (h * h) -> linear",
             {{test::random_tensor({3, 4}, 23, d), false, "x"},
              {test::random_tensor({5, 4}, 24, d), true, "w1"},
              {test::random_tensor({2, 5}, 25, d), true, "w2"}},
             [&sq](Tape& t, const std::vector<Var>& v) {
               const Var h = t.linear(v[0], v[1], nullptr);
               return t.linear(host_product(t, h, h, sq), v[2], nullptr);
             },
             d, 1e-3);
}
LPL_TEST_ON_DEVICES("tape: custom node gradients match finite differences", custom_fd)

void custom_partial(Device d) {
  // An input that needs no gradient: its slot may stay undefined; the other input still gets its own.
  HostProduct node;
  node.a_needed = false;
  Param b = make_param("b", test::random_tensor({2, 3}, 26, d), Tensor::zeros({2, 3}, d));
  const Tensor a = test::random_tensor({2, 3}, 27, d);
  Tape t;
  const Var y = host_product(t, Tape::input(a), t.param(b), node);
  const Tensor dy = test::random_tensor({2, 3}, 28, d);
  t.backward(y, dy);
  test::check_close(b.grad.to_vector(), HostProduct::mul(dy, a).to_vector(), 0, 0, "custom db");
}
LPL_TEST_ON_DEVICES("tape: custom node with an input that needs no gradient", custom_partial)

// ---- dropout and batch norm -------------------------------------------------------------------------

void dropout_node(Device d) {
  const float p = 0.3f;
  const uint64_t seed = 11, stream = 5;
  const Tensor x = test::random_tensor({2, 3, 4, 5}, 60, d);
  Tape t;
  const Var xv = t.leaf(x);
  const Var y = t.dropout(xv, p, seed, stream);
  REQUIRE(y.requires_grad());
  test::check_close(y.value.to_vector(), dropout_forward(x, p, seed, stream).to_vector(), 0, 0, "dropout output");
  // The mask drops some elements and keeps others (else the check below says little).
  const std::vector<float> yv = y.value.to_vector();
  const auto zeros = std::count(yv.begin(), yv.end(), 0.f);
  CHECK(zeros > 0);
  CHECK(zeros < static_cast<long>(yv.size()));
  const Tensor dy = test::random_tensor(y.shape(), 61, d);
  t.backward(y, dy);
  // Exactly the mask-scaled dy.
  test::check_close(t.grad(xv).to_vector(), dropout_backward(dy, p, seed, stream).to_vector(), 0, 0, "dropout dx");
  // Finite differences: the mask is a function of (seed, stream) only, so L is linear in x.
  grad_check("dropout p 0.3", {{x, false, "x"}},
             [p, seed, stream](Tape& tt, const std::vector<Var>& v) { return tt.dropout(v[0], p, seed, stream); }, d);
  // Through a parameter: linear -> dropout.
  grad_check("linear -> dropout",
             {{test::random_tensor({4, 6}, 62, d), false, "x"}, {test::random_tensor({5, 6}, 63, d), true, "w"}},
             [p, seed, stream](Tape& tt, const std::vector<Var>& v) {
               return tt.dropout(tt.linear(v[0], v[1], nullptr), p, seed, stream);
             },
             d);
}
LPL_TEST_ON_DEVICES("tape: dropout gradient is the mask-scaled dy and matches finite differences", dropout_node)

// Float64 reference of PyTorch's BatchNorm2d training step on x [N, C, H, W]: the output, and the running
// statistics updated in place (momentum, unbiased variance).
std::vector<double> bn_reference(const std::vector<float>& x, const Shape& s, const std::vector<float>& gamma,
                                 const std::vector<float>& beta, std::vector<double>& rm, std::vector<double>& rv,
                                 double eps, double momentum) {
  const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  std::vector<double> y(x.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < hw; ++k) sum += x[static_cast<size_t>((i * c + ch) * hw + k)];
    const double m = static_cast<double>(n * hw);
    const double mean = sum / m;
    double ss = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < hw; ++k) {
        const double dv = x[static_cast<size_t>((i * c + ch) * hw + k)] - mean;
        ss += dv * dv;
      }
    const double var = ss / m;
    const double invstd = 1 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < hw; ++k) {
        const size_t j = static_cast<size_t>((i * c + ch) * hw + k);
        y[j] = (x[j] - mean) * invstd * gamma[static_cast<size_t>(ch)] + beta[static_cast<size_t>(ch)];
      }
    rm[static_cast<size_t>(ch)] = (1 - momentum) * rm[static_cast<size_t>(ch)] + momentum * mean;
    rv[static_cast<size_t>(ch)] = (1 - momentum) * rv[static_cast<size_t>(ch)] + momentum * ss / (m - 1);
  }
  return y;
}

void bn_train(Device d, int groups) {
  const Shape xs{4, 3, 3, 3};
  const std::string g = " groups " + std::to_string(groups);
  const BatchNormParams bp{};  // eps 1e-5, momentum 0.1
  const Tensor x = test::random_tensor(xs, 70, d, -1.f, 2.f);
  const Tensor gamma = test::random_tensor({3}, 71, d, 0.5f, 1.5f);
  const Tensor beta = test::random_tensor({3}, 72, d);
  const std::vector<float> rm0 = test::random_vec(3, 73, -0.2f, 0.2f), rv0 = test::random_vec(3, 74, 0.5f, 1.5f);

  // One call on the tape: output and running statistics against the float64 reference, group by group.
  Tensor rm = Tensor::from_vector(rm0, {3}, d), rv = Tensor::from_vector(rv0, {3}, d);
  Param pg = make_param("bn.weight", gamma, Tensor::zeros({3}, d));
  Param pb = make_param("bn.bias", beta, Tensor::zeros({3}, d));
  Tape t;
  const Var y = t.batch_norm(t.leaf(x), t.param(pg), t.param(pb), rm, rv, bp, true, groups);
  REQUIRE(y.requires_grad());
  CHECK(y.shape() == xs);
  std::vector<double> ref_rm(rm0.begin(), rm0.end()), ref_rv(rv0.begin(), rv0.end()), ref_y;
  const int64_t per = xs[0] / groups;
  const Shape gs{per, xs[1], xs[2], xs[3]};
  for (int k = 0; k < groups; ++k) {
    const std::vector<double> yk = bn_reference(x.slice0(k * per, per).to_vector(), gs, gamma.to_vector(),
                                                beta.to_vector(), ref_rm, ref_rv, bp.eps, bp.momentum);
    ref_y.insert(ref_y.end(), yk.begin(), yk.end());
  }
  test::check_close(y.value.to_vector(), ref_y, 1e-5, 1e-5, "batch_norm output vs float64" + g);
  test::check_close(rm.to_vector(), ref_rm, 1e-6, 1e-7, "running_mean vs float64 (PyTorch's rule)" + g);
  test::check_close(rv.to_vector(), ref_rv, 1e-6, 1e-7, "running_var vs float64 (PyTorch's rule)" + g);

  if (groups > 1) {
    // The op run separately on each slice, one after the other: the same bits, output and statistics.
    Tensor rm2 = Tensor::from_vector(rm0, {3}, d), rv2 = Tensor::from_vector(rv0, {3}, d);
    std::vector<float> sep;
    for (int k = 0; k < groups; ++k) {
      const std::vector<float> yk =
          batch_norm_train_forward(x.slice0(k * per, per), gamma, beta, rm2, rv2, bp, nullptr).to_vector();
      sep.insert(sep.end(), yk.begin(), yk.end());
    }
    test::check_close(y.value.to_vector(), sep, 0, 0, "batch_norm groups vs the op per slice" + g);
    test::check_close(rm.to_vector(), rm2.to_vector(), 0, 0, "running_mean vs successive op calls" + g);
    test::check_close(rv.to_vector(), rv2.to_vector(), 0, 0, "running_var vs successive op calls" + g);
  }

  // dgamma / dbeta are added (+=) to what Param::grad held.
  const Tensor dy = test::random_tensor(xs, 75, d);
  pg.grad = Tensor::from_vector(std::vector<float>(3, 1.f), {3}, d);
  pb.grad = Tensor::from_vector(std::vector<float>(3, -2.f), {3}, d);
  t.backward(y, dy);
  std::vector<float> dg = pg.grad.to_vector(), db = pb.grad.to_vector();
  ag::zero_grad({&pg, &pb});
  t.backward(y, dy);
  std::vector<double> dg_want, db_want;
  for (float v : pg.grad.to_vector()) dg_want.push_back(1.0 + v);
  for (float v : pb.grad.to_vector()) db_want.push_back(-2.0 + v);
  test::check_close(dg, dg_want, 1e-6, 1e-6, "dgamma added into Param::grad" + g);
  test::check_close(db, db_want, 1e-6, 1e-6, "dbeta added into Param::grad" + g);

  // Finite differences w.r.t. the input (a leaf), gamma and beta (Params); then gamma and beta as leaves.
  Tensor frm = Tensor::from_vector(rm0, {3}, d), frv = Tensor::from_vector(rv0, {3}, d);
  auto build = [&frm, &frv, bp, groups](Tape& tt, const std::vector<Var>& v) {
    return tt.batch_norm(v[0], v[1], v[2], frm, frv, bp, true, groups);
  };
  grad_check("batch_norm train" + g, {{x, false, "x"}, {gamma, true, "gamma"}, {beta, true, "beta"}}, build, d);
  grad_check("batch_norm train (gamma, beta as leaf())" + g, {{x, false, "x"}, {gamma, false, "gamma"}, {beta, false, "beta"}},
             build, d);
}
void bn_train_1(Device d) { bn_train(d, 1); }
void bn_train_2(Device d) { bn_train(d, 2); }
LPL_TEST_ON_DEVICES("tape: batch_norm training, one group: output, running stats, finite differences", bn_train_1)
LPL_TEST_ON_DEVICES("tape: batch_norm training, two groups: per-slice output and stats, finite differences", bn_train_2)

void bn_eval(Device d) {
  const BatchNormParams bp{};
  const Tensor x = test::random_tensor({2, 3, 4, 4}, 80, d);
  const Tensor gamma = test::random_tensor({3}, 81, d, 0.5f, 1.5f), beta = test::random_tensor({3}, 82, d);
  const std::vector<float> rm0 = test::random_vec(3, 83, -0.2f, 0.2f), rv0 = test::random_vec(3, 84, 0.5f, 1.5f);
  Tensor rm = Tensor::from_vector(rm0, {3}, d), rv = Tensor::from_vector(rv0, {3}, d);
  Param pg = make_param("bn.weight", gamma, Tensor::zeros({3}, d));
  Param pb = make_param("bn.bias", beta, Tensor::zeros({3}, d));
  const std::vector<float> want = batch_norm_eval_forward(x, gamma, beta, rm, rv, bp).to_vector();
  {
    Tape t(false);
    const Var y = t.batch_norm(t.leaf(x), t.param(pg), t.param(pb), rm, rv, bp, false);
    CHECK(!y.requires_grad());
    CHECK(t.size() == 0);
    test::check_close(y.value.to_vector(), want, 0, 0, "batch_norm eval, not recording");
  }
  {
    // Recording, but nothing needs a gradient: allowed.
    Tape t;
    const Var y = t.batch_norm(Tape::input(x), Tape::input(gamma), Tape::input(beta), rm, rv, bp, false);
    CHECK(!y.requires_grad());
    test::check_close(y.value.to_vector(), want, 0, 0, "batch_norm eval, recording, no gradient needed");
  }
  test::check_close(rm.to_vector(), rm0, 0, 0, "running_mean untouched in evaluation");
  test::check_close(rv.to_vector(), rv0, 0, 0, "running_var untouched in evaluation");
  {
    // Recording with an input that needs a gradient: refused.
    Tape t;
    CHECK_THROWS_WITH_AS(t.batch_norm(t.leaf(x), Tape::input(gamma), Tape::input(beta), rm, rv, bp, false),
                         doctest::Contains("evaluation mode has no backward"), Error);
    CHECK_THROWS_WITH_AS(t.batch_norm(Tape::input(x), t.param(pg), t.param(pb), rm, rv, bp, false),
                         doctest::Contains("evaluation mode has no backward"), Error);
  }
}
LPL_TEST_ON_DEVICES("tape: batch_norm evaluation: the eval op when not recording, refused with a gradient", bn_eval)

void bn_errors(Device d) {
  Tensor rm = Tensor::zeros({3}, d), rv = Tensor::from_vector(std::vector<float>(3, 1.f), {3}, d);
  const Tensor gamma = Tensor::from_vector(std::vector<float>(3, 1.f), {3}, d), beta = Tensor::zeros({3}, d);
  Tape t;
  // 5 samples do not split into 2 groups.
  CHECK_THROWS_WITH_AS(t.batch_norm(t.leaf(test::random_tensor({5, 3, 2, 2}, 85, d)), Tape::input(gamma),
                                    Tape::input(beta), rm, rv, BatchNormParams{}, true, 2),
                       doctest::Contains("does not split into 2 equal groups"), Error);
  CHECK_THROWS_AS(t.batch_norm(t.leaf(test::random_tensor({4, 3, 2, 2}, 86, d)), Tape::input(gamma), Tape::input(beta),
                               rm, rv, BatchNormParams{}, true, 0),
                  Error);
}
LPL_TEST_ON_DEVICES("tape: batch_norm errors", bn_errors)

// x -> conv -> batch_norm (2 groups) -> relu -> add(x), every parameter a Param.
void residual_bn(Device d) {
  const Conv2dParams cp{1, 1, 1, 1};
  const BatchNormParams bp{};
  const Shape xs{4, 3, 4, 4};
  const Tensor x = test::random_tensor(xs, 99, d);  // batch_norm output >= 0.021 from ReLU's kink (seeds 90-109: 7e-5 to 0.021)
  const Tensor w = test::random_tensor({3, 3, 3, 3}, 91, d, -0.4f, 0.4f), b = test::random_tensor({3}, 92, d, -0.1f, 0.1f);
  const Tensor gamma = test::random_tensor({3}, 93, d, 0.5f, 1.5f), beta = test::random_tensor({3}, 94, d, -0.5f, 0.5f);
  Tensor rm = Tensor::zeros({3}, d), rv = Tensor::from_vector(std::vector<float>(3, 1.f), {3}, d);
  auto block = [&rm, &rv, cp, bp](Tape& t, const std::vector<Var>& v) {
    const Var h = t.batch_norm(t.conv2d(v[0], v[1], &v[2], cp), v[3], v[4], rm, rv, bp, true, 2);
    return t.add(t.relu(h), v[0]);
  };
  // How close the batch norm's output comes to ReLU's kink: a finite difference across it is wrong. A
  // step of h moves a batch-norm output by at most a few h here (|w| <= 0.4, |xhat| <= 3, invstd ~ 1-3).
  const double h = 2e-3;
  {
    Tape t(false);
    const Var bv = Tape::input(b);
    const Var bn = t.batch_norm(t.conv2d(Tape::input(x), Tape::input(w), &bv, cp), Tape::input(gamma),
                                Tape::input(beta), rm, rv, bp, true, 2);
    double m = INFINITY;
    for (float v : bn.value.to_vector()) m = std::min(m, std::abs(static_cast<double>(v)));
    MESSAGE("residual block: min |batch_norm output| = " << m);
    REQUIRE_MESSAGE(m > 10 * h, "the batch norm's output comes within " << m << " of ReLU's kink: pick another seed");
  }
  // The conv bias's true gradient is 0 (batch norm removes any per-channel shift): its check compares
  // the tape's value (rounding) with the finite difference's rounding noise, within atol.
  grad_check("residual x -> conv -> batch_norm(2 groups) -> relu -> + x",
             {{x, false, "x"}, {w, true, "w"}, {b, true, "b"}, {gamma, true, "gamma"}, {beta, true, "beta"}}, block, d,
             h);
}
LPL_TEST_ON_DEVICES("tape: residual block with batch norm (2 groups) matches finite differences", residual_bn)

// ---- a small network against the same gradient written out with the ops ------------------------------

struct Net {
  Param w1, b1, w2, b2, wl, bl;
  std::vector<Param*> params() { return {&w1, &b1, &w2, &b2, &wl, &bl}; }
  explicit Net(Device d) {
    auto mk = [d](const char* name, const Shape& s, uint32_t seed, float scale) {
      return make_param(name, test::random_tensor(s, seed, d, -scale, scale), Tensor::zeros(s, d));
    };
    w1 = mk("w1", {6, 3, 3, 3}, 31, 0.4f);
    b1 = mk("b1", {6}, 32, 0.1f);
    w2 = mk("w2", {5, 6, 3, 3}, 33, 0.3f);
    b2 = mk("b2", {5}, 34, 0.1f);
    wl = mk("wl", {4, 5}, 35, 0.5f);
    bl = mk("bl", {4}, 36, 0.1f);
  }
};
const Conv2dParams kCp{1, 1, 1, 1};
const Pool2dParams kPp{2, 2, 2, 2, 0, 0};

Var net_forward(Tape& t, Net& n, const Var& x) {
  const Var w1 = t.param(n.w1), b1 = t.param(n.b1), w2 = t.param(n.w2), b2 = t.param(n.b2);
  const Var wl = t.param(n.wl), bl = t.param(n.bl);
  Var h = t.relu(t.conv2d(x, w1, &b1, kCp));
  h = t.maxpool2d(h, kPp);
  h = t.relu(t.conv2d(h, w2, &b2, kCp));
  return t.linear(t.global_avgpool(h), wl, &bl);
}

struct HandGrads {
  Tensor y, dx, dw1, db1, dw2, db2, dwl, dbl;
};
HandGrads net_by_hand(Net& n, const Tensor& x, const Tensor& dy) {
  HandGrads g;
  const Tensor c1 = conv2d_forward(x, n.w1.value, n.b1.value, kCp);
  const Tensor r1 = relu_forward(c1);
  const MaxPoolResult mp = maxpool2d_forward(r1, kPp);
  const Tensor c2 = conv2d_forward(mp.y, n.w2.value, n.b2.value, kCp);
  const Tensor r2 = relu_forward(c2);
  const Tensor gp = global_avgpool_forward(r2);
  g.y = linear_forward(gp, n.wl.value, n.bl.value);
  LinearGrads lg = linear_backward(gp, n.wl.value, dy, true, true);
  g.dwl = lg.dw;
  g.dbl = lg.db;
  const Tensor dr2 = global_avgpool_backward(lg.dx, r2.shape());
  const Tensor dc2 = relu_backward(dr2, r2);
  g.dw2 = Tensor::zeros(n.w2.value.shape(), x.device());
  g.db2 = Tensor::zeros(n.b2.value.shape(), x.device());
  conv2d_backward_filter(mp.y, dc2, g.dw2, &g.db2, kCp, true);
  const Tensor dp = conv2d_backward_data(dc2, n.w2.value, mp.y.shape(), kCp);
  const Tensor dr1 = maxpool2d_backward(dp, mp.argmax, r1.shape(), kPp);
  const Tensor dc1 = relu_backward(dr1, r1);
  g.dw1 = Tensor::zeros(n.w1.value.shape(), x.device());
  g.db1 = Tensor::zeros(n.b1.value.shape(), x.device());
  conv2d_backward_filter(x, dc1, g.dw1, &g.db1, kCp, true);
  g.dx = conv2d_backward_data(dc1, n.w1.value, x.shape(), kCp);
  return g;
}

void network(Device d) {
  Net n(d);
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 37, d);
  const Tensor dy = test::random_tensor({2, 4}, 38, d);
  const HandGrads h = net_by_hand(n, x, dy);
  Tape t;
  ag::zero_grad(n.params());
  const Var xv = t.leaf(x);
  const Var y = net_forward(t, n, xv);
  CHECK(t.size() == 14);  // 6 params, 1 leaf, 2 conv, 2 relu, maxpool, global_avgpool, linear
  test::check_close(y.value.to_vector(), h.y.to_vector(), 0, 0, "network output");
  t.backward(y, dy);
  const double r = 1e-6, a = 1e-7;
  test::check_close(n.w1.grad.to_vector(), h.dw1.to_vector(), r, a, "dw1");
  test::check_close(n.b1.grad.to_vector(), h.db1.to_vector(), r, a, "db1");
  test::check_close(n.w2.grad.to_vector(), h.dw2.to_vector(), r, a, "dw2");
  test::check_close(n.b2.grad.to_vector(), h.db2.to_vector(), r, a, "db2");
  test::check_close(n.wl.grad.to_vector(), h.dwl.to_vector(), r, a, "dwl");
  test::check_close(n.bl.grad.to_vector(), h.dbl.to_vector(), r, a, "dbl");
  test::check_close(t.grad(xv).to_vector(), h.dx.to_vector(), r, a, "dx");
  CHECK(test::max_abs(n.w1.grad.to_vector()) > 0);
}
LPL_TEST_ON_DEVICES("tape: a small network end to end equals the gradient written out with the ops", network)

// ---- graph semantics --------------------------------------------------------------------------------

void detach(Device d) {
  Net n(d);
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 40, d);
  Tape t;
  ag::zero_grad(n.params());
  const Var w1 = t.param(n.w1), w2 = t.param(n.w2);
  const Var xv = t.leaf(x);
  const Var h = t.relu(t.conv2d(xv, w1, nullptr, kCp));
  const Var hd = Tape::detach(h);
  CHECK(!hd.requires_grad());
  CHECK(hd.value.f() == h.value.f());  // same storage
  const Var y = t.conv2d(hd, w2, nullptr, kCp);
  t.backward(y, test::random_tensor(y.shape(), 41, d));
  CHECK(test::max_abs(n.w1.grad.to_vector()) == 0);
  CHECK(test::max_abs(t.grad(xv).to_vector()) == 0);
  CHECK(test::max_abs(n.w2.grad.to_vector()) > 0);
}
LPL_TEST_ON_DEVICES("tape: detach stops the gradient", detach)

void accumulation(Device d) {
  Net n(d);
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 42, d);
  const Tensor dy = test::random_tensor({2, 4}, 43, d);
  Tape t;
  ag::zero_grad(n.params());
  const Var xv = t.leaf(x);
  const Var y = net_forward(t, n, xv);
  t.backward(y, dy);
  std::vector<std::vector<float>> once;
  for (Param* p : n.params()) once.push_back(p->grad.to_vector());
  const std::vector<float> dx_once = t.grad(xv).to_vector();
  // Second backward over the same recorded graph, without zero_grad: every gradient doubles.
  t.backward(y, dy);
  for (size_t k = 0; k < once.size(); ++k) {
    std::vector<float> twice = once[k];
    for (auto& v : twice) v *= 2;
    test::check_close(n.params()[k]->grad.to_vector(), twice, 0, 0, "twice " + n.params()[k]->name);
  }
  std::vector<float> dx_twice = dx_once;
  for (auto& v : dx_twice) v *= 2;
  test::check_close(t.grad(xv).to_vector(), dx_twice, 0, 0, "twice dx (leaf)");
  ag::zero_grad(n.params());
  for (Param* p : n.params()) CHECK(test::max_abs(p->grad.to_vector()) == 0);
}
LPL_TEST_ON_DEVICES("tape: backward accumulates; zero_grad resets", accumulation)

void fan_out(Device d) {
  // One Var feeding two ops: the gradient is the sum of both paths.
  Param w = make_param("w", test::random_tensor({4, 3, 3, 3}, 44, d, -0.4f, 0.4f), Tensor::zeros({4, 3, 3, 3}, d));
  const Tensor x = test::random_tensor({2, 3, 6, 6}, 45, d);
  const Tensor dy = test::random_tensor({2, 4, 6, 6}, 46, d);
  std::vector<float> single;
  {
    Tape t;
    const Var y = t.relu(t.conv2d(Tape::input(x), t.param(w), nullptr, kCp));
    t.backward(y, dy);
    single = w.grad.to_vector();
  }
  ag::zero_grad({&w});
  Tape t;
  const Var wv = t.param(w);
  const Var h = t.relu(t.conv2d(Tape::input(x), wv, nullptr, kCp));
  const Var h2 = t.relu(t.conv2d(Tape::input(x), wv, nullptr, kCp));  // the same param Var used twice
  t.backward(t.add(h, h2), dy);
  std::vector<float> doubled = single;
  for (auto& v : doubled) v *= 2;
  test::check_close(w.grad.to_vector(), doubled, 1e-6, 1e-7, "fan-out of a param Var");
  // An intermediate used twice: relu output h feeds both operands of a linear-free add chain.
  ag::zero_grad({&w});
  Tape t2;
  const Var g = t2.relu(t2.conv2d(Tape::input(x), t2.param(w), nullptr, kCp));
  t2.backward(t2.add(t2.add(g, g), g), dy);  // 3 g
  std::vector<float> tripled = single;
  for (auto& v : tripled) v *= 3;
  // (dy + dy + dy) through the op vs 3 x (dy through the op): equal up to float rounding.
  test::check_close(w.grad.to_vector(), tripled, 1e-5, 1e-6 * test::max_abs(tripled), "fan-out of an intermediate");
}
LPL_TEST_ON_DEVICES("tape: a value used twice gets the sum of the gradients", fan_out)

void not_recording(Device d) {
  Net n(d);
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 47, d);
  Tape rec;
  const Var yr = net_forward(rec, n, rec.leaf(x));
  CHECK(rec.size() == 14);
  Tape off(false);
  CHECK(!off.recording());
  const Var y0 = net_forward(off, n, off.leaf(x));
  CHECK(off.size() == 0);
  CHECK(!y0.requires_grad());
  test::check_close(y0.value.to_vector(), yr.value.to_vector(), 0, 0, "Tape(false) output");
  Tape t;
  t.set_recording(false);
  const Var y1 = net_forward(t, n, t.leaf(x));
  CHECK(t.size() == 0);
  test::check_close(y1.value.to_vector(), yr.value.to_vector(), 0, 0, "set_recording(false) output");
  // Recording, but nothing needs a gradient: no node either.
  Tape c;
  const Var yc = c.relu(c.maxpool2d(Tape::input(x), kPp));
  CHECK(c.size() == 0);
  CHECK(!yc.requires_grad());
  // backward from a value with no gradient does nothing.
  c.backward(yc, Tensor::zeros(yc.shape(), d));
}
LPL_TEST_ON_DEVICES("tape: not recording records nothing and computes the same", not_recording)

void reuse(Device d) {
  Net n(d);
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 48, d);
  const Tensor dy = test::random_tensor({2, 4}, 49, d);
  HostProduct sq;
  Tape t;
  auto step = [&] {
    ag::zero_grad(n.params());
    const Var y = net_forward(t, n, t.leaf(x));
    const Var z = host_product(t, y, y, sq);
    t.backward(z, dy);
  };
  step();
  const size_t size1 = t.size(), cap1 = t.capacity();
  const std::vector<float> g1 = n.w1.grad.to_vector();
  t.clear();
  CHECK(t.size() == 0);
  CHECK(t.capacity() == cap1);
  step();
  CHECK(t.size() == size1);
  CHECK(t.capacity() == cap1);
  test::check_close(n.w1.grad.to_vector(), g1, 0, 0, "second step's dw1");
}
LPL_TEST_ON_DEVICES("tape: clear() keeps the node storage for the next step", reuse)

void errors(Device d) {
  Param w = make_param("layer.weight", test::random_tensor({3, 4}, 50, d), Tensor::zeros({3, 4}, d));
  Tape t;
  const Var y = t.linear(Tape::input(test::random_tensor({2, 4}, 51, d)), t.param(w), nullptr);
  // dy of the wrong shape
  CHECK_THROWS_AS(t.backward(y, Tensor::zeros({3, 2}, d)), Error);
  t.clear();
  // a Var of the previous step
  CHECK_THROWS_AS(t.backward(y, Tensor::zeros({2, 3}, d)), Error);
  CHECK_THROWS_AS(t.relu(y), Error);
  CHECK_THROWS_AS(t.grad(y), Error);
  // a Param whose gradient does not match its value
  Param bad = make_param("bad.weight", test::random_tensor({3, 4}, 52, d), Tensor::zeros({4, 3}, d));
  Tape t2;
  const Var y2 = t2.linear(Tape::input(test::random_tensor({2, 4}, 53, d)), t2.param(bad), nullptr);
  CHECK_THROWS_AS(t2.backward(y2, Tensor::zeros({2, 3}, d)), Error);
  // the op's own refusals come through the tape
  Tape t3;
  CHECK_THROWS_AS(t3.dropout(t3.leaf(Tensor::zeros({2, 3}, d)), 1.0f, 1, 2), Error);
}
LPL_TEST_ON_DEVICES("tape: errors", errors)

}  // namespace
