// ReLU forward/backward against float64 references and central finite differences, on every device.
#include <cmath>
#include <limits>

#include "engine/ops.h"
#include "op_check.h"

using namespace lpl;

static void relu_forward_matches_reference(Device d) {
  // Sizes around the CPU span length (1024) and its parallel threshold, plus odd 4-d shapes.
  for (Shape s : {Shape{1}, Shape{1, 3, 5, 7}, Shape{2, 13, 9, 4}, Shape{3, 1025}, Shape{5, 4099}}) {
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 7);
    Tensor y = relu_forward(Tensor::from_vector(x, s, d));
    CHECK(y.shape() == s);
    CHECK(y.device() == d);
    std::vector<double> ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) ref[i] = x[i] > 0 ? x[i] : 0.0;
    test::check_close(y.to_vector(), ref, 0, 1e-12, "relu_forward " + s.str());
  }
  // NaN propagates (as torch.relu), infinities clamp as expected, -0 and 0 give 0.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  auto y = relu_forward(Tensor::from_vector({nan, inf, -inf, -0.f, 0.f, 2.5f}, {6}, d)).to_vector();
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == inf);
  CHECK(y[2] == 0.f);
  CHECK(y[3] == 0.f);
  CHECK(y[4] == 0.f);
  CHECK(y[5] == 2.5f);
}
LPL_TEST_ON_DEVICES("relu_forward against a float64 reference (odd sizes, NaN, inf)", relu_forward_matches_reference)

static void relu_backward_matches_finite_differences(Device d) {
  for (Shape s : {Shape{1, 1, 1, 1}, Shape{1, 3, 5, 7}, Shape{2, 5, 3, 4}}) {
    const size_t n = static_cast<size_t>(s.numel());
    auto x = test::random_vec(n, 3);
    for (auto& v : x)  // keep away from the kink at 0 (|x| >= 0.05 > h)
      if (std::abs(v) < 0.05f) v = v < 0 ? -0.05f - v : 0.05f + v;
    auto g = test::random_vec(n, 4);
    Tensor xt = Tensor::from_vector(x, s, d);
    Tensor dx = relu_backward(Tensor::from_vector(g, s, d), relu_forward(xt));
    CHECK(dx.shape() == s);
    auto fd = test::op_finite_diff(d, x, s, [](const Tensor& t) { return relu_forward(t); }, g);
    test::check_close(dx.to_vector(), fd, 1e-3, 1e-4, "relu_backward vs finite differences " + s.str());
    // And exactly: dy where x > 0.
    std::vector<double> ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = x[i] > 0 ? g[i] : 0.0;
    test::check_close(dx.to_vector(), ref, 0, 1e-12, "relu_backward exact " + s.str());
  }
  // Long inputs exercise the CPU's multi-span, parallel path.
  const Shape big{3, 7, 31, 33};
  auto x = test::random_vec(static_cast<size_t>(big.numel()), 5);
  auto g = test::random_vec(x.size(), 6);
  auto dx = relu_backward(Tensor::from_vector(g, big, d), relu_forward(Tensor::from_vector(x, big, d))).to_vector();
  std::vector<double> ref(x.size());
  for (size_t i = 0; i < x.size(); ++i) ref[i] = x[i] > 0 ? g[i] : 0.0;
  test::check_close(dx, ref, 0, 1e-12, "relu_backward " + big.str());
}
LPL_TEST_ON_DEVICES("relu_backward against central finite differences", relu_backward_matches_finite_differences)

static void relu_errors(Device d) {
  Tensor a = Tensor::zeros({2, 3}, d), b = Tensor::zeros({3, 2}, d);
  CHECK_THROWS_WITH_AS(relu_backward(a, b), "relu_backward: y has shape [3, 2], expected [2, 3]", Error);
  CHECK_THROWS_WITH_AS(relu_forward(Tensor::zeros({4}, d, DType::I32)),
                       "relu_forward: x is int32, expected float32", Error);
  CHECK_THROWS_WITH_AS(relu_forward(Tensor()), "relu_forward: x is undefined", Error);
  if (d.is_cuda())
    CHECK_THROWS_WITH_AS(relu_backward(a, Tensor::zeros({2, 3})), doctest::Contains("different devices"), Error);
}
LPL_TEST_ON_DEVICES("relu errors name the op, the argument and the shape", relu_errors)
