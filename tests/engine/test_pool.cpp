// Max-pool, global and adaptive average pool: float64 references (PyTorch's semantics), central
// finite differences for every backward, awkward shapes, error messages; on every device.
#include <cmath>
#include <limits>
#include <tuple>

#include "engine/ops.h"
#include "engine/parallel.h"
#include "op_check.h"

using namespace lpl;

namespace {

struct PoolRef {
  std::vector<double> y;
  std::vector<int32_t> argmax;
};

// Naive max-pool as PyTorch (floor mode): first maximum in row-major window order wins, NaN wins,
// padded positions never win.
PoolRef maxpool_ref(const std::vector<float>& x, const Shape& s, const Pool2dParams& p) {
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  const int64_t OH = (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1, OW = (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  PoolRef r;
  for (int64_t pl = 0; pl < N * C; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        int32_t bi = -1;
        for (int64_t i = 0; i < p.kernel_h; ++i)
          for (int64_t j = 0; j < p.kernel_w; ++j) {
            int64_t h = oh * p.stride_h - p.pad_h + i, w = ow * p.stride_w - p.pad_w + j;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            double v = x[pl * H * W + h * W + w];
            if (bi < 0 || v > best || std::isnan(v)) {
              best = v;
              bi = static_cast<int32_t>(h * W + w);
            }
          }
        r.y.push_back(best);
        r.argmax.push_back(bi);
      }
  return r;
}

std::vector<double> adaptive_ref(const std::vector<float>& x, const Shape& s, int OH, int OW) {
  const int64_t H = s[2], W = s[3];
  std::vector<double> y;
  for (int64_t pl = 0; pl < s[0] * s[1]; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        // PyTorch: start = floor(o * in / out), end = ceil((o + 1) * in / out)
        int64_t hs = static_cast<int64_t>(std::floor(double(oh) * H / OH));
        int64_t he = static_cast<int64_t>(std::ceil(double(oh + 1) * H / OH));
        int64_t ws = static_cast<int64_t>(std::floor(double(ow) * W / OW));
        int64_t we = static_cast<int64_t>(std::ceil(double(ow + 1) * W / OW));
        double acc = 0;
        for (int64_t h = hs; h < he; ++h)
          for (int64_t w = ws; w < we; ++w) acc += x[pl * H * W + h * W + w];
        y.push_back(acc / double((he - hs) * (we - ws)));
      }
  return y;
}

Pool2dParams pp(int k, int s, int pad) { return {k, k, s, s, pad, pad}; }

// (input shape, params): batch 1, odd/non-square planes, channels 3/5/13, window 3 stride 2,
// overlapping windows (stride < window), padding 1, rectangular windows.
const std::vector<std::tuple<Shape, Pool2dParams>> kPoolCases = {
    {Shape{2, 3, 8, 8}, pp(2, 2, 0)},
    {Shape{1, 5, 7, 9}, pp(3, 2, 0)},
    {Shape{3, 13, 5, 6}, pp(3, 2, 1)},
    {Shape{1, 3, 6, 5}, pp(3, 1, 1)},
    {Shape{2, 5, 9, 7}, pp(2, 1, 0)},
    {Shape{1, 1, 1, 1}, pp(1, 1, 0)},
    {Shape{2, 3, 7, 10}, Pool2dParams{3, 2, 2, 3, 1, 0}},
};

}  // namespace

static void maxpool_forward_matches_reference(Device d) {
  for (auto& [s, p] : kPoolCases) {
    CAPTURE(s.str());
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 11, -1.f, 0.f);  // all negative: padding must not win
    MaxPoolResult r = maxpool2d_forward(Tensor::from_vector(x, s, d), p);
    PoolRef ref = maxpool_ref(x, s, p);
    REQUIRE(r.y.numel() == static_cast<int64_t>(ref.y.size()));
    CHECK(r.y.dim(0) == s[0]);
    CHECK(r.y.dim(1) == s[1]);
    CHECK(r.argmax.shape() == r.y.shape());
    CHECK(r.argmax.dtype() == DType::I32);
    test::check_close(r.y.to_vector(), ref.y, 0, 1e-12, "maxpool y " + s.str());
    std::vector<int32_t> am(ref.argmax.size());
    memcpy_bytes(am.data(), cpu(), r.argmax.data<int32_t>(), d, am.size() * sizeof(int32_t));
    CHECK(am == ref.argmax);
  }
}
LPL_TEST_ON_DEVICES("maxpool2d_forward against a float64 reference (windows, strides, padding)",
                    maxpool_forward_matches_reference)

static void maxpool_ties_nan_and_padding(Device d) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // One 2x4 plane, 2x2 windows stride 2: a tie picks the first in row-major order; NaN wins; an
  // all -inf window picks its first position (as PyTorch).
  std::vector<float> x2 = {1, 1, 0, nan, 1, 1, 2, 5};
  MaxPoolResult r = maxpool2d_forward(Tensor::from_vector(x2, {1, 1, 2, 4}, d), pp(2, 2, 0));
  auto y = r.y.to_vector();
  std::vector<int32_t> am(2);
  memcpy_bytes(am.data(), cpu(), r.argmax.data<int32_t>(), d, 8);
  CHECK(y[0] == 1.f);
  CHECK(am[0] == 0);
  CHECK(std::isnan(y[1]));
  CHECK(am[1] == 3);
  std::vector<float> x3 = {-inf, -inf, -inf, -inf};
  r = maxpool2d_forward(Tensor::from_vector(x3, {1, 1, 2, 2}, d), pp(2, 2, 0));
  memcpy_bytes(am.data(), cpu(), r.argmax.data<int32_t>(), d, 4);
  CHECK(r.y.to_vector()[0] == -inf);
  CHECK(am[0] == 0);
  // Padding 1 around an all-negative 2x2 plane, window 3 stride 1 (PyTorch pads with -inf).
  r = maxpool2d_forward(Tensor::from_vector({-4, -3, -2, -1}, {1, 1, 2, 2}, d), pp(3, 1, 1));
  CHECK(r.y.to_vector() == std::vector<float>{-1, -1, -1, -1});
}
LPL_TEST_ON_DEVICES("maxpool2d ties pick the first maximum, NaN wins, padding never wins", maxpool_ties_nan_and_padding)

static void maxpool_backward_matches_finite_differences(Device d) {
  for (auto& [s, p] : kPoolCases) {
    CAPTURE(s.str());
    auto x = test::distinct_values(static_cast<size_t>(s.numel()), 21);  // no ties within 2h
    Tensor xt = Tensor::from_vector(x, s, d);
    MaxPoolResult r = maxpool2d_forward(xt, p);
    auto g = test::random_vec(static_cast<size_t>(r.y.numel()), 22);
    Tensor dx = maxpool2d_backward(Tensor::from_vector(g, r.y.shape(), d), r.argmax, s, p);
    CHECK(dx.shape() == s);
    auto fd = test::op_finite_diff(d, x, s, [&](const Tensor& t) { return maxpool2d_forward(t, p).y; }, g);
    test::check_close(dx.to_vector(), fd, 1e-3, 1e-4, "maxpool backward vs finite differences " + s.str());
  }
}
LPL_TEST_ON_DEVICES("maxpool2d_backward against central finite differences (overlapping windows)",
                    maxpool_backward_matches_finite_differences)

static void maxpool_backward_sums_overlapping_windows(Device d) {
  // A single peak in a 5x5 plane, window 3 stride 1: the peak is the arg-max of all 9 windows that
  // contain it, so its gradient is the sum of their dy; every other element gets 0.
  std::vector<float> x(25, 0.f);
  x[12] = 10.f;
  Shape s{1, 1, 5, 5};
  MaxPoolResult r = maxpool2d_forward(Tensor::from_vector(x, s, d), pp(3, 1, 0));
  REQUIRE(r.y.shape() == Shape{1, 1, 3, 3});
  std::vector<float> g = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto dx = maxpool2d_backward(Tensor::from_vector(g, {1, 1, 3, 3}, d), r.argmax, s, pp(3, 1, 0)).to_vector();
  for (int i = 0; i < 25; ++i) CHECK(dx[i] == (i == 12 ? 45.f : 0.f));
  // VGG-like 2x2 stride 2 over a multi-row batch (CPU spans, parallel path): dy lands on the arg-max.
  Shape big{4, 13, 16, 18};
  auto xb = test::distinct_values(static_cast<size_t>(big.numel()), 5, 1e-3f);
  MaxPoolResult rb = maxpool2d_forward(Tensor::from_vector(xb, big, d), pp(2, 2, 0));
  auto gb = test::random_vec(static_cast<size_t>(rb.y.numel()), 6);
  auto dxb = maxpool2d_backward(Tensor::from_vector(gb, rb.y.shape(), d), rb.argmax, big, pp(2, 2, 0)).to_vector();
  PoolRef ref = maxpool_ref(xb, big, pp(2, 2, 0));
  std::vector<double> want(xb.size(), 0.0);
  for (size_t o = 0; o < ref.argmax.size(); ++o) want[(o / (8 * 9)) * 16 * 18 + static_cast<size_t>(ref.argmax[o])] += gb[o];
  test::check_close(dxb, want, 0, 1e-12, "maxpool backward scatter reference " + big.str());
}
LPL_TEST_ON_DEVICES("maxpool2d_backward sums dy over overlapping windows", maxpool_backward_sums_overlapping_windows)

static void global_avgpool_reference_and_fd(Device d) {
  for (Shape s : {Shape{1, 3, 5, 7}, Shape{2, 13, 1, 1}, Shape{3, 5, 32, 33}}) {
    CAPTURE(s.str());
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 31);
    Tensor y = global_avgpool_forward(Tensor::from_vector(x, s, d));
    CHECK(y.shape() == Shape{s[0], s[1]});
    std::vector<double> ref(static_cast<size_t>(s[0] * s[1]), 0.0);
    const int64_t hw = s[2] * s[3];
    for (size_t i = 0; i < x.size(); ++i) ref[i / hw] += x[i] / double(hw);
    test::check_close(y.to_vector(), ref, 1e-6, 1e-7, "global_avgpool_forward " + s.str());
    auto g = test::random_vec(ref.size(), 32);
    Tensor dx = global_avgpool_backward(Tensor::from_vector(g, y.shape(), d), s);
    CHECK(dx.shape() == s);
    std::vector<double> dref(x.size());
    for (size_t i = 0; i < x.size(); ++i) dref[i] = g[i / hw] / double(hw);
    test::check_close(dx.to_vector(), dref, 1e-6, 1e-9, "global_avgpool_backward " + s.str());
    if (s.numel() < 2000) {
      auto fd = test::op_finite_diff(d, x, s, [](const Tensor& t) { return global_avgpool_forward(t); }, g);
      test::check_close(dx.to_vector(), fd, 1e-3, 1e-4, "global_avgpool_backward vs finite differences");
    }
  }
}
LPL_TEST_ON_DEVICES("global_avgpool forward/backward against float64 references and finite differences",
                    global_avgpool_reference_and_fd)

static void adaptive_avgpool_reference_and_fd(Device d) {
  // Divisible, non-divisible (overlapping windows), output larger than input, 1x1 (= global).
  const std::vector<std::tuple<Shape, int, int>> cases = {
      {Shape{2, 3, 8, 8}, 4, 4}, {Shape{1, 5, 7, 9}, 3, 4}, {Shape{2, 13, 5, 6}, 6, 6},
      {Shape{1, 3, 10, 7}, 1, 1}, {Shape{3, 5, 13, 11}, 6, 5}, {Shape{1, 1, 1, 1}, 2, 3}};
  for (auto& [s, oh, ow] : cases) {
    CAPTURE(s.str());
    CAPTURE(oh);
    CAPTURE(ow);
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 41);
    Tensor y = adaptive_avgpool_forward(Tensor::from_vector(x, s, d), oh, ow);
    CHECK(y.shape() == Shape{s[0], s[1], oh, ow});
    test::check_close(y.to_vector(), adaptive_ref(x, s, oh, ow), 1e-6, 1e-7, "adaptive_avgpool_forward " + s.str());
    auto g = test::random_vec(static_cast<size_t>(y.numel()), 42);
    Tensor dx = adaptive_avgpool_backward(Tensor::from_vector(g, y.shape(), d), s);
    CHECK(dx.shape() == s);
    auto fd = test::op_finite_diff(d, x, s, [&](const Tensor& t) { return adaptive_avgpool_forward(t, oh, ow); }, g);
    test::check_close(dx.to_vector(), fd, 1e-3, 1e-4, "adaptive_avgpool_backward vs finite differences " + s.str());
  }
}
LPL_TEST_ON_DEVICES("adaptive_avgpool forward/backward against PyTorch's windows and finite differences",
                    adaptive_avgpool_reference_and_fd)

// The encoders' pools (issue 12): AlexNet's overlapping 3x3 stride-2 max-pool without and with
// padding, forward and backward against float64 references (the backward as a scatter of dy to the
// reference arg-max), and the adaptive pool to 6x6 from 1x1, 3x3, 7x7 and 13x13 maps.
static void encoder_maxpools(Device d) {
  const std::vector<std::tuple<Shape, Pool2dParams>> cases = {
      {Shape{2, 4, 13, 13}, pp(3, 2, 0)}, {Shape{2, 4, 27, 27}, pp(3, 2, 0)}, {Shape{2, 4, 16, 16}, pp(3, 2, 1)},
      {Shape{3, 5, 15, 15}, pp(3, 2, 1)}, {Shape{1, 3, 8, 11}, pp(3, 2, 0)},
  };
  for (auto& [s, p] : cases) {
    CAPTURE(s.str());
    CAPTURE(p.pad_h);
    auto x = test::distinct_values(static_cast<size_t>(s.numel()), 71, 1e-3f);
    MaxPoolResult r = maxpool2d_forward(Tensor::from_vector(x, s, d), p);
    PoolRef ref = maxpool_ref(x, s, p);
    REQUIRE(r.y.numel() == static_cast<int64_t>(ref.y.size()));
    test::check_close(r.y.to_vector(), ref.y, 0, 0, "maxpool 3x3 s2 forward " + s.str());
    std::vector<int32_t> am(ref.argmax.size());
    memcpy_bytes(am.data(), cpu(), r.argmax.data<int32_t>(), d, am.size() * sizeof(int32_t));
    CHECK(am == ref.argmax);
    auto g = test::random_vec(ref.y.size(), 72);
    auto dx = maxpool2d_backward(Tensor::from_vector(g, r.y.shape(), d), r.argmax, s, p).to_vector();
    const size_t plane_in = static_cast<size_t>(s[2] * s[3]), plane_out = static_cast<size_t>(r.y.dim(2) * r.y.dim(3));
    std::vector<double> want(x.size(), 0.0);
    for (size_t o = 0; o < ref.argmax.size(); ++o) want[(o / plane_out) * plane_in + static_cast<size_t>(ref.argmax[o])] += g[o];
    test::check_close(dx, want, 1e-6, 1e-7, "maxpool 3x3 s2 backward " + s.str());
  }
}
LPL_TEST_ON_DEVICES("maxpool2d 3x3 stride 2, padding 0 and 1: forward and backward against float64 references",
                    encoder_maxpools)

static void encoder_adaptive_to_6x6(Device d) {
  for (Shape s : {Shape{2, 3, 1, 1}, Shape{2, 3, 3, 3}, Shape{2, 5, 7, 7}, Shape{2, 4, 13, 13}}) {
    CAPTURE(s.str());
    auto x = test::random_vec(static_cast<size_t>(s.numel()), 81);
    Tensor y = adaptive_avgpool_forward(Tensor::from_vector(x, s, d), 6, 6);
    REQUIRE(y.shape() == Shape{s[0], s[1], 6, 6});
    test::check_close(y.to_vector(), adaptive_ref(x, s, 6, 6), 1e-6, 1e-7, "adaptive_avgpool 6x6 forward " + s.str());
    // Backward reference: each output's dy / window size, scattered over its window (float64).
    auto g = test::random_vec(static_cast<size_t>(y.numel()), 82);
    Tensor dx = adaptive_avgpool_backward(Tensor::from_vector(g, y.shape(), d), s);
    REQUIRE(dx.shape() == s);
    const int64_t H = s[2], W = s[3];
    std::vector<double> want(x.size(), 0.0);
    for (int64_t pl = 0; pl < s[0] * s[1]; ++pl)
      for (int64_t oh = 0; oh < 6; ++oh)
        for (int64_t ow = 0; ow < 6; ++ow) {
          const int64_t hs = oh * H / 6, he = ((oh + 1) * H + 5) / 6, ws = ow * W / 6, we = ((ow + 1) * W + 5) / 6;
          const double v = g[static_cast<size_t>((pl * 6 + oh) * 6 + ow)] / double((he - hs) * (we - ws));
          for (int64_t h = hs; h < he; ++h)
            for (int64_t w = ws; w < we; ++w) want[static_cast<size_t>(pl * H * W + h * W + w)] += v;
        }
    test::check_close(dx.to_vector(), want, 1e-6, 1e-7, "adaptive_avgpool 6x6 backward " + s.str());
    auto fd = test::op_finite_diff(d, x, s, [](const Tensor& t) { return adaptive_avgpool_forward(t, 6, 6); }, g);
    test::check_close(dx.to_vector(), fd, 1e-3, 1e-4, "adaptive_avgpool 6x6 backward vs finite differences " + s.str());
  }
}
LPL_TEST_ON_DEVICES("adaptive_avgpool to 6x6 from 1x1, 3x3, 7x7 and 13x13: forward and backward against float64 references",
                    encoder_adaptive_to_6x6)

static void pool_errors(Device d) {
  Tensor x = Tensor::zeros({1, 2, 3, 3}, d);
  CHECK_THROWS_WITH_AS(maxpool2d_forward(x, pp(5, 1, 0)), "maxpool2d_forward: window 5x5 larger than input [1, 2, 3, 3]", Error);
  CHECK_THROWS_WITH_AS(maxpool2d_forward(x, pp(2, 2, 2)),
                       "maxpool2d_forward: invalid window 2x2 / stride 2x2 / padding 2x2 (window and stride must be "
                       "positive, padding at most half the window)",
                       Error);
  CHECK_THROWS_WITH_AS(maxpool2d_forward(x, pp(2, 0, 0)), doctest::Contains("maxpool2d_forward: invalid window 2x2 / stride 0x0"), Error);
  CHECK_THROWS_WITH_AS(maxpool2d_forward(Tensor::zeros({2, 3, 3}, d), pp(2, 2, 0)),
                       "maxpool2d_forward: x must be 4-d NCHW, got shape [2, 3, 3]", Error);
  MaxPoolResult r = maxpool2d_forward(Tensor::zeros({1, 2, 4, 4}, d), pp(2, 2, 0));
  CHECK_THROWS_WITH_AS(maxpool2d_backward(r.y, r.argmax, Shape{1, 2, 6, 6}, pp(2, 2, 0)),
                       "maxpool2d_backward: dy has shape [1, 2, 2, 2], expected [1, 2, 3, 3]", Error);
  CHECK_THROWS_WITH_AS(maxpool2d_backward(r.y, r.y, Shape{1, 2, 4, 4}, pp(2, 2, 0)),
                       "maxpool2d_backward: argmax must be int32 with dy's shape [1, 2, 2, 2], got float32 [1, 2, 2, 2]", Error);
  CHECK_THROWS_WITH_AS(maxpool2d_backward(r.y, r.argmax, Shape{2, 2, 4, 4}, pp(2, 2, 0)),
                       "maxpool2d_backward: x_shape [2, 2, 4, 4] does not match dy [1, 2, 2, 2]", Error);
  CHECK_THROWS_WITH_AS(global_avgpool_backward(Tensor::zeros({1, 3}, d), Shape{1, 2, 4, 4}),
                       "global_avgpool_backward: x_shape [1, 2, 4, 4] does not match dy [1, 3]", Error);
  CHECK_THROWS_WITH_AS(global_avgpool_forward(Tensor::zeros({1, 2, 0, 4}, d)),
                       "global_avgpool_forward: x [1, 2, 0, 4] has empty planes", Error);
  CHECK_THROWS_WITH_AS(adaptive_avgpool_forward(x, 0, 2), "adaptive_avgpool_forward: output size 0x2 must be positive", Error);
  CHECK_THROWS_WITH_AS(adaptive_avgpool_backward(Tensor::zeros({1, 2, 2, 2}, d), Shape{1, 2, 4}),
                       "adaptive_avgpool_backward: x_shape [1, 2, 4] does not match dy [1, 2, 2, 2]", Error);
}
LPL_TEST_ON_DEVICES("pooling errors name the op, the argument and the shape", pool_errors)

TEST_CASE("pooling, ReLU and cross-entropy on the CPU give the same bits for any thread count") {
  // Every output element is computed by one call in a fixed order: no thread-count dependence.
  const Shape s{4, 13, 33, 31};
  Tensor x = test::random_tensor(s, 61);
  const Pool2dParams p = pp(3, 2, 1);
  auto run = [&] {
    MaxPoolResult r = maxpool2d_forward(x, p);
    Tensor g = global_avgpool_forward(relu_forward(x));
    Tensor a = adaptive_avgpool_backward(adaptive_avgpool_forward(x, 6, 5), s);
    Tensor dx = maxpool2d_backward(r.y, r.argmax, s, p);
    std::vector<float> all = r.y.to_vector();
    for (const Tensor* t : {&g, &a, &dx}) {
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
  set_num_threads(before);
  CHECK(one == three);
}
