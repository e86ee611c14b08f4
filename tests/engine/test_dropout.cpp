// Dropout (inverted, as torch.nn.Dropout in training mode): the mask is element i kept when
// CounterRng{seed, stream}.uniform(i / 4, i % 4) >= p, kept elements scaled by 1 / (1 - p); the
// backward recomputes the same mask. On every device.
#include <cmath>
#include <limits>
#include <vector>

#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"
#include "test_util.h"

using namespace lpl;

namespace {

// Strictly positive inputs: a zero output means dropped.
std::vector<float> positive(size_t n, uint32_t seed) { return test::random_vec(n, seed, 0.5f, 1.5f); }

bool kept_by_spec(uint64_t seed, uint64_t stream, size_t i, float p) {
  return CounterRng{seed, stream}.uniform(i / 4, static_cast<int>(i % 4)) >= p;
}

void dropout_p0_identity(Device d) {
  for (Shape s : {Shape{1}, Shape{3, 5, 7}, Shape{4, 13, 33, 31}}) {
    CAPTURE(s.str());
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 1);
    Tensor xt = Tensor::from_vector(x, s, d);
    Tensor y = dropout_forward(xt, 0.f, 7, 3);
    CHECK(y.shape() == s);
    CHECK(y.to_vector() == x);
    CHECK(dropout_backward(xt, 0.f, 7, 3).to_vector() == x);
  }
}
LPL_TEST_ON_DEVICES("dropout with p = 0 is the identity (forward and backward)", dropout_p0_identity)

void dropout_mask_and_scale(Device d) {
  // 1e5 + 3 elements: not a multiple of 4, several CPU spans.
  const size_t n = 100003;
  const Shape s{static_cast<int64_t>(n)};
  const auto x = positive(n, 2);
  const auto g = test::random_vec(n, 3);
  for (float p : {0.1f, 0.5f, 0.9f, 0.999f}) {
    CAPTURE(p);
    const uint64_t seed = 1234, stream = 17;
    const std::vector<float> y = dropout_forward(Tensor::from_vector(x, s, d), p, seed, stream).to_vector();
    const std::vector<float> dx = dropout_backward(Tensor::from_vector(g, s, d), p, seed, stream).to_vector();
    REQUIRE(y.size() == n);
    REQUIRE(dx.size() == n);
    size_t kept = 0, wrong_mask = 0, wrong_value = 0, wrong_backward = 0;
    const float q = 1.f - p;
    for (size_t i = 0; i < n; ++i) {
      const bool k = y[i] != 0.f;
      kept += k;
      wrong_mask += k != kept_by_spec(seed, stream, i, p);
      wrong_value += k ? y[i] != x[i] / q : y[i] != 0.f;  // exactly x / (1 - p)
      wrong_backward += k ? dx[i] != g[i] / q : dx[i] != 0.f;
    }
    const double frac = double(kept) / double(n);
    const double sigma = std::sqrt(double(p) * (1 - double(p)) / double(n));
    CHECK_MESSAGE(std::abs(frac - (1 - double(p))) <= 5 * sigma + 1e-9, "kept fraction " << frac);
    CHECK(wrong_mask == 0);
    CHECK(wrong_value == 0);
    CHECK(wrong_backward == 0);
  }
}
LPL_TEST_ON_DEVICES("dropout keeps about 1-p, scales kept elements by exactly 1/(1-p), backward uses the same mask",
                    dropout_mask_and_scale)

void dropout_streams(Device d) {
  const size_t n = 4099;
  const Shape s{1, 1, 1, static_cast<int64_t>(n)};
  Tensor x = Tensor::from_vector(positive(n, 4), s, d);
  auto mask = [&](uint64_t seed, uint64_t stream) {
    auto y = dropout_forward(x, 0.5f, seed, stream).to_vector();
    std::vector<bool> m(n);
    for (size_t i = 0; i < n; ++i) m[i] = y[i] != 0.f;
    return m;
  };
  auto differ = [](const std::vector<bool>& a, const std::vector<bool>& b) {
    size_t c = 0;
    for (size_t i = 0; i < a.size(); ++i) c += a[i] != b[i];
    return c;
  };
  const auto m = mask(5, 1);
  CHECK(mask(5, 1) == m);                // same (seed, stream): same mask
  CHECK(differ(mask(5, 2), m) > n / 4);  // another stream: about half the decisions differ
  CHECK(differ(mask(6, 1), m) > n / 4);  // another seed too
  CHECK(differ(mask(5, uint64_t{1} << 40), m) > n / 4);  // the stream's high word counts
  // Thread count never changes the mask.
  const int before = num_threads();
  set_num_threads(1);
  auto one = mask(9, 9);
  set_num_threads(3);
  auto three = mask(9, 9);
  set_num_threads(before);
  CHECK(one == three);
}
LPL_TEST_ON_DEVICES("dropout: same (seed, stream) gives the same mask, another stream or seed another",
                    dropout_streams)

void dropout_errors(Device d) {
  Tensor x = Tensor::zeros({2, 3}, d);
  CHECK_THROWS_WITH_AS(dropout_forward(x, 1.f, 0, 0), "dropout_forward: p must be in [0, 1), got 1", Error);
  CHECK_THROWS_WITH_AS(dropout_forward(x, -0.5f, 0, 0), "dropout_forward: p must be in [0, 1), got -0.5", Error);
  CHECK_THROWS_WITH_AS(dropout_forward(x, std::numeric_limits<float>::quiet_NaN(), 0, 0),
                       "dropout_forward: p must be in [0, 1), got nan", Error);
  CHECK_THROWS_WITH_AS(dropout_backward(x, 1.f, 0, 0), "dropout_backward: p must be in [0, 1), got 1", Error);
  CHECK_THROWS_WITH_AS(dropout_backward(x, -1e-3f, 0, 0), "dropout_backward: p must be in [0, 1), got -0.001", Error);
  CHECK_THROWS_WITH_AS(dropout_forward(Tensor(), 0.5f, 0, 0), "dropout_forward: x is undefined", Error);
  CHECK_THROWS_WITH_AS(dropout_forward(Tensor::zeros({2}, d, DType::I32), 0.5f, 0, 0),
                       "dropout_forward: x is int32, expected float32", Error);
}
LPL_TEST_ON_DEVICES("dropout refuses p outside [0, 1) and non-float32 tensors", dropout_errors)

}  // namespace
