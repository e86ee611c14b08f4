// linear forward/backward (GEMM + bias) against float64 references and central finite differences
// of L = sum(R * (x W^T + b)), over odd shapes, on every device.
#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;

namespace {

using Vec = std::vector<double>;

// y[i, o] = b[o] + sum_k x[i, k] w[o, k]
Vec ref_linear(int64_t n, int64_t in, int64_t out, const Vec& x, const Vec& w, const Vec* b) {
  Vec y(static_cast<size_t>(n * out));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int64_t k = 0; k < in; ++k) s += x[i * in + k] * w[o * in + k];
      y[i * out + o] = s;
    }
  return y;
}

Vec f64(const std::vector<float>& v) { return {v.begin(), v.end()}; }
double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void linear_passes(Device d) {
  uint32_t seed = 10;
  for (auto [n, in, out] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 13, 5}, {3, 33, 17}, {1, 9, 24}}) {
    CAPTURE(n);
    CAPTURE(in);
    CAPTURE(out);
    auto xv = test::random_vec(n * in, seed += 4), wv = test::random_vec(out * in, seed + 1),
         bv = test::random_vec(out, seed + 2), rv = test::random_vec(n * out, seed + 3);
    const Vec x64 = f64(xv), w64 = f64(wv), b64 = f64(bv), r64 = f64(rv);
    Tensor x = Tensor::from_vector(xv, {n, in}, d), w = Tensor::from_vector(wv, {out, in}, d),
           b = Tensor::from_vector(bv, {out}, d), dy = Tensor::from_vector(rv, {n, out}, d);

    Tensor y = linear_forward(x, w, b);
    REQUIRE(y.shape() == Shape{n, out});
    test::check_close(y.to_vector(), ref_linear(n, in, out, x64, w64, &b64), 1e-5, 1e-5, "linear forward");
    test::check_close(linear_forward(x, w, Tensor()).to_vector(), ref_linear(n, in, out, x64, w64, nullptr), 1e-5,
                      1e-5, "linear forward without bias");

    auto loss = [&](const Vec& xx, const Vec& ww, const Vec& bb) { return dot(r64, ref_linear(n, in, out, xx, ww, &bb)); };
    auto fd_x = test::finite_diff(x64, [&](const Vec& v) { return loss(v, w64, b64); });
    auto fd_w = test::finite_diff(w64, [&](const Vec& v) { return loss(x64, v, b64); });
    auto fd_b = test::finite_diff(b64, [&](const Vec& v) { return loss(x64, w64, v); });
    LinearGrads g = linear_backward(x, w, dy, true, true);
    REQUIRE(g.dx.shape() == Shape{n, in});
    REQUIRE(g.dw.shape() == Shape{out, in});
    REQUIRE(g.db.shape() == Shape{out});
    test::check_close(g.dx.to_vector(), fd_x, 1e-5, 1e-5, "dL/dx against finite differences");
    test::check_close(g.dw.to_vector(), fd_w, 1e-5, 1e-5, "dL/dw against finite differences");
    test::check_close(g.db.to_vector(), fd_b, 1e-5, 1e-5, "dL/db against finite differences");

    LinearGrads g2 = linear_backward(x, w, dy, false, false);
    CHECK_FALSE(g2.dx.defined());
    CHECK_FALSE(g2.db.defined());
    test::check_close(g2.dw.to_vector(), fd_w, 1e-5, 1e-5, "dL/dw without dx and bias");
  }
}

void linear_errors(Device d) {
  Tensor x = Tensor::zeros({4, 5}, d), w = Tensor::zeros({3, 6}, d);
  CHECK_THROWS_WITH_AS(linear_forward(x, w, Tensor()), "linear_forward: input [4, 5] does not match weight [3, 6]",
                       Error);
  Tensor w5 = Tensor::zeros({3, 5}, d);
  CHECK_THROWS_WITH_AS(linear_forward(x, w5, Tensor::zeros({4}, d)), "linear_forward: bias has shape [4], expected [3]",
                       Error);
  CHECK_THROWS_WITH_AS(linear_forward(x.reshape({4, 5, 1}), w5, Tensor()),
                       "linear_forward: x must be 2-d, got shape [4, 5, 1]", Error);
  CHECK_THROWS_WITH_AS(linear_backward(x, w5, Tensor::zeros({4, 2}, d), true, true),
                       "linear_backward: dy has shape [4, 2], expected [4, 3]", Error);
}

}  // namespace

LPL_TEST_ON_DEVICES("linear forward and backward against float64 references and finite differences", linear_passes)
LPL_TEST_ON_DEVICES("linear rejects bad shapes with one clear message", linear_errors)

LPL_GPU_TEST_CASE("linear: CUDA matches the CPU on the same inputs") {
  const int64_t n = 37, in = 129, out = 65;
  auto xv = test::random_vec(n * in, 1), wv = test::random_vec(out * in, 2), bv = test::random_vec(out, 3),
       rv = test::random_vec(n * out, 4);
  auto run = [&](Device d) {
    Tensor x = Tensor::from_vector(xv, {n, in}, d), w = Tensor::from_vector(wv, {out, in}, d),
           b = Tensor::from_vector(bv, {out}, d), dy = Tensor::from_vector(rv, {n, out}, d);
    LinearGrads g = linear_backward(x, w, dy, true, true);
    return std::vector<std::vector<float>>{linear_forward(x, w, b).to_vector(), g.dx.to_vector(), g.dw.to_vector(),
                                           g.db.to_vector()};
  };
  auto a = run(cpu()), g = run(cuda(0));
  const char* names[] = {"forward", "dx", "dw", "db"};
  for (int k = 0; k < 4; ++k) test::check_close(g[k], a[k], 1e-5, 1e-4, std::string("cuda vs cpu: linear ") + names[k]);
}
