// conv2d forward / backward-filter / backward-data / bias against naive float64 references and
// central finite differences of L = sum(R * conv(x, w, b)), over awkward shapes, on every device.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "engine/ops.h"
#include "engine/parallel.h"
#include "test_util.h"

#if LPL_HAVE_DNNL
#include <omp.h>
#endif

using namespace lpl;

namespace {

struct ConvCase {
  int64_t n, ci, h, w, co, kh, kw;
  int sh, sw, ph, pw;
  int64_t oh() const { return (h + 2 * ph - kh) / sh + 1; }
  int64_t ow() const { return (w + 2 * pw - kw) / sw + 1; }
  Shape x_shape() const { return {n, ci, h, w}; }
  Shape w_shape() const { return {co, ci, kh, kw}; }
  Shape y_shape() const { return {n, co, oh(), ow()}; }
  Conv2dParams params() const { return {sh, sw, ph, pw}; }
  std::string str() const {
    return "x " + x_shape().str() + " w " + w_shape().str() + " stride " + std::to_string(sh) + "x" +
           std::to_string(sw) + " pad " + std::to_string(ph) + "x" + std::to_string(pw);
  }
};

// Awkward shapes: batch 1, odd and non-square sizes, kernels 1/3/5 (and 3x5), stride 2, padding
// 0/1/2, channels 3/5/13; the last ones are VGG-like and take oneDNN's blocked-layout kernels.
const std::vector<ConvCase> kSmallCases = {
    {1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1},    // batch 1, non-square input
    {2, 5, 9, 6, 13, 5, 5, 2, 2, 2, 2},   // kernel 5, stride 2, padding 2
    {3, 13, 6, 7, 3, 1, 1, 1, 1, 0, 0},   // kernel 1
    {2, 3, 8, 8, 5, 3, 3, 2, 2, 0, 0},    // stride 2 without padding (last row/column unused)
    {2, 5, 7, 9, 13, 3, 5, 1, 2, 1, 2},   // non-square kernel, mixed strides
    {1, 13, 5, 5, 5, 5, 5, 1, 1, 0, 0},   // kernel as large as the input: 1x1 output
    {2, 3, 4, 4, 5, 3, 3, 1, 1, 2, 2},    // padding larger than needed: output bigger than input
};
const std::vector<ConvCase> kLargeCases = {
    {2, 3, 32, 32, 64, 3, 3, 1, 1, 1, 1},     // VGG-11 first layer
    {2, 64, 8, 8, 128, 3, 3, 1, 1, 1, 1},     // VGG-like, channels multiples of 16
    {3, 24, 9, 11, 40, 3, 3, 2, 2, 1, 1},     // multiples of 8, odd spatial, stride 2
    // VGG-11's deep maps, whose float32 weight gradient on the CPU is an im2col sgemm (4x4 and smaller),
    // the last in two chunks of images.
    {3, 16, 4, 4, 24, 3, 3, 1, 1, 1, 1},
    {4, 32, 2, 2, 48, 3, 3, 1, 1, 1, 1},
    {1024, 512, 2, 2, 4, 3, 3, 1, 1, 1, 1},
};
// The shapes of the new encoders (issue 12): AlexNet-like 11x11 stride 4 and 5x5 / 3x3 padded
// layers, a 6x6 kernel over a 6x6 map (1x1 output), ResNet-like 1x1 stride-2 shortcut and 7x7
// stride-2 stem.
const std::vector<ConvCase> kEncoderCases = {
    {2, 3, 32, 32, 8, 11, 11, 4, 4, 2, 2},  // kernel 11, stride 4, padding 2, 3 -> 8 channels
    {2, 8, 7, 7, 12, 5, 5, 1, 1, 2, 2},     // kernel 5, padding 2
    {2, 6, 5, 5, 7, 3, 3, 1, 1, 2, 2},      // kernel 3, padding 2 (output larger than input)
    {2, 16, 6, 6, 10, 6, 6, 1, 1, 0, 0},    // kernel 6 on a 6x6 input: 1x1 output
    {2, 16, 9, 9, 8, 1, 1, 2, 2, 0, 0},     // 1x1, stride 2
    {2, 3, 17, 17, 8, 7, 7, 2, 2, 3, 3},    // 7x7, stride 2, padding 3
};

// ---- naive float64 references -------------------------------------------------------------------
std::vector<double> ref_forward(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& w,
                                const std::vector<double>* b) {
  const int64_t oh = c.oh(), ow = c.ow();
  std::vector<double> y(static_cast<size_t>(c.n * c.co * oh * ow));
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.co; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = b ? (*b)[o] : 0.0;
          for (int64_t ch = 0; ch < c.ci; ++ch)
            for (int64_t u = 0; u < c.kh; ++u)
              for (int64_t v = 0; v < c.kw; ++v) {
                int64_t hh = i * c.sh - c.ph + u, ww = j * c.sw - c.pw + v;
                if (hh < 0 || hh >= c.h || ww < 0 || ww >= c.w) continue;
                s += x[((n * c.ci + ch) * c.h + hh) * c.w + ww] * w[((o * c.ci + ch) * c.kh + u) * c.kw + v];
              }
          y[((n * c.co + o) * oh + i) * ow + j] = s;
        }
  return y;
}

// dW[o, c, u, v] = sum over n, i, j of dy[n, o, i, j] x[n, c, i*s - p + u, j*s - p + v]
std::vector<double> ref_backward_filter(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& dy) {
  const int64_t oh = c.oh(), ow = c.ow();
  std::vector<double> dw(static_cast<size_t>(c.co * c.ci * c.kh * c.kw), 0.0);
  for (int64_t o = 0; o < c.co; ++o)
    for (int64_t ch = 0; ch < c.ci; ++ch)
      for (int64_t u = 0; u < c.kh; ++u)
        for (int64_t v = 0; v < c.kw; ++v) {
          double s = 0;
          for (int64_t n = 0; n < c.n; ++n)
            for (int64_t i = 0; i < oh; ++i)
              for (int64_t j = 0; j < ow; ++j) {
                int64_t hh = i * c.sh - c.ph + u, ww = j * c.sw - c.pw + v;
                if (hh < 0 || hh >= c.h || ww < 0 || ww >= c.w) continue;
                s += dy[((n * c.co + o) * oh + i) * ow + j] * x[((n * c.ci + ch) * c.h + hh) * c.w + ww];
              }
          dw[((o * c.ci + ch) * c.kh + u) * c.kw + v] = s;
        }
  return dw;
}

// dX scattered from every output position that reads it.
std::vector<double> ref_backward_data(const ConvCase& c, const std::vector<double>& dy, const std::vector<double>& w) {
  const int64_t oh = c.oh(), ow = c.ow();
  std::vector<double> dx(static_cast<size_t>(c.n * c.ci * c.h * c.w), 0.0);
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.co; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const double g = dy[((n * c.co + o) * oh + i) * ow + j];
          for (int64_t ch = 0; ch < c.ci; ++ch)
            for (int64_t u = 0; u < c.kh; ++u)
              for (int64_t v = 0; v < c.kw; ++v) {
                int64_t hh = i * c.sh - c.ph + u, ww = j * c.sw - c.pw + v;
                if (hh < 0 || hh >= c.h || ww < 0 || ww >= c.w) continue;
                dx[((n * c.ci + ch) * c.h + hh) * c.w + ww] += g * w[((o * c.ci + ch) * c.kh + u) * c.kw + v];
              }
        }
  return dx;
}

std::vector<double> ref_bias_grad(const Shape& s, const std::vector<double>& dy) {
  std::vector<double> db(static_cast<size_t>(s[1]), 0.0);
  const int64_t hw = s[2] * s[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t o = 0; o < s[1]; ++o)
      for (int64_t k = 0; k < hw; ++k) db[o] += dy[(n * s[1] + o) * hw + k];
  return db;
}

std::vector<double> f64(const std::vector<float>& v) { return {v.begin(), v.end()}; }
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// float32 results against float64 references: relative to each element and to the largest one (the
// sums cancel, so small elements carry the rounding error of large terms). cuDNN may pick Winograd
// or FFT algorithms, whose rounding is larger than a direct sum's.
void check_ref(Device d, const std::vector<float>& got, const std::vector<double>& want, const std::string& what) {
  const double scale = d.is_cuda() ? 5e-4 : 1e-4;
  test::check_close(got, want, scale, scale * std::max(1.0, test::max_abs(want)), what);
}

struct Inputs {
  std::vector<float> x, w, b, r;
};
Inputs make_inputs(const ConvCase& c, uint32_t seed) {
  return {test::random_vec(c.x_shape().numel(), seed), test::random_vec(c.w_shape().numel(), seed + 1),
          test::random_vec(c.co, seed + 2), test::random_vec(c.y_shape().numel(), seed + 3)};
}

// ---- tests ----------------------------------------------------------------------------------------
void conv_against_reference(Device d, const std::vector<ConvCase>& cases) {
  uint32_t seed = 100;
  for (const ConvCase& c : cases) {
    CAPTURE(c.str());
    Inputs in = make_inputs(c, seed += 10);
    const auto x64 = f64(in.x), w64 = f64(in.w), b64 = f64(in.b), r64 = f64(in.r);
    Tensor x = Tensor::from_vector(in.x, c.x_shape(), d), w = Tensor::from_vector(in.w, c.w_shape(), d),
           b = Tensor::from_vector(in.b, {c.co}, d), dy = Tensor::from_vector(in.r, c.y_shape(), d);

    Tensor y = conv2d_forward(x, w, b, c.params());
    REQUIRE(y.shape() == c.y_shape());
    check_ref(d, y.to_vector(), ref_forward(c, x64, w64, &b64), "forward with bias");
    check_ref(d, conv2d_forward(x, w, Tensor(), c.params()).to_vector(), ref_forward(c, x64, w64, nullptr),
              "forward without bias");

    Tensor dw = Tensor::empty(c.w_shape(), d), db = Tensor::empty({c.co}, d);
    conv2d_backward_filter(x, dy, dw, &db, c.params());
    const auto dw_ref = ref_backward_filter(c, x64, r64), db_ref = ref_bias_grad(c.y_shape(), r64);
    check_ref(d, dw.to_vector(), dw_ref, "backward filter");
    check_ref(d, db.to_vector(), db_ref, "backward filter bias");

    Tensor dx = conv2d_backward_data(dy, w, c.x_shape(), c.params());
    REQUIRE(dx.shape() == c.x_shape());
    check_ref(d, dx.to_vector(), ref_backward_data(c, r64, w64), "backward data");
  }
}
void conv_small(Device d) { conv_against_reference(d, kSmallCases); }
void conv_large(Device d) { conv_against_reference(d, kLargeCases); }

// The encoder shapes with and without bias: forward, backward-filter (with and without db),
// backward-data, each against the float64 references.
void conv_encoder_shapes(Device d) {
  conv_against_reference(d, kEncoderCases);
  uint32_t seed = 700;
  for (const ConvCase& c : kEncoderCases) {
    CAPTURE(c.str());
    Inputs in = make_inputs(c, seed += 10);
    const auto x64 = f64(in.x), w64 = f64(in.w), r64 = f64(in.r);
    Tensor x = Tensor::from_vector(in.x, c.x_shape(), d), w = Tensor::from_vector(in.w, c.w_shape(), d),
           dy = Tensor::from_vector(in.r, c.y_shape(), d);
    Tensor y = conv2d_forward(x, w, Tensor(), c.params());
    REQUIRE(y.shape() == c.y_shape());
    check_ref(d, y.to_vector(), ref_forward(c, x64, w64, nullptr), "forward without bias");
    Tensor dw = Tensor::full(c.w_shape(), 7.f, d);  // overwritten, not added to
    conv2d_backward_filter(x, dy, dw, nullptr, c.params());
    check_ref(d, dw.to_vector(), ref_backward_filter(c, x64, r64), "backward filter without bias");
    check_ref(d, conv2d_backward_data(dy, w, c.x_shape(), c.params()).to_vector(), ref_backward_data(c, r64, w64),
              "backward data");
  }
}

// The backward passes against central finite differences of L = sum(R * conv(x, w, b)) evaluated
// in float64 (L is linear in each argument, so the differences are exact up to rounding).
void conv_finite_differences(Device d) {
  uint32_t seed = 500;
  for (const ConvCase& c : kSmallCases) {
    CAPTURE(c.str());
    Inputs in = make_inputs(c, seed += 10);
    const auto x64 = f64(in.x), w64 = f64(in.w), b64 = f64(in.b), r64 = f64(in.r);
    auto fd_w = test::finite_diff(w64, [&](const std::vector<double>& wv) { return dot(r64, ref_forward(c, x64, wv, &b64)); });
    auto fd_b = test::finite_diff(b64, [&](const std::vector<double>& bv) { return dot(r64, ref_forward(c, x64, w64, &bv)); });
    auto fd_x = test::finite_diff(x64, [&](const std::vector<double>& xv) { return dot(r64, ref_forward(c, xv, w64, &b64)); });

    Tensor x = Tensor::from_vector(in.x, c.x_shape(), d), w = Tensor::from_vector(in.w, c.w_shape(), d),
           dy = Tensor::from_vector(in.r, c.y_shape(), d);
    Tensor dw = Tensor::empty(c.w_shape(), d), db = Tensor::empty({c.co}, d);
    conv2d_backward_filter(x, dy, dw, &db, c.params());
    check_ref(d, dw.to_vector(), fd_w, "dL/dw against finite differences");
    check_ref(d, db.to_vector(), fd_b, "dL/db against finite differences");
    check_ref(d, conv2d_backward_data(dy, w, c.x_shape(), c.params()).to_vector(), fd_x,
              "dL/dx against finite differences");
  }
}

// accumulate = true adds into dW and db; without a db only dW is written.
void conv_accumulate(Device d) {
  const ConvCase c = kSmallCases[1];
  Inputs in = make_inputs(c, 900);
  const auto dw_ref = ref_backward_filter(c, f64(in.x), f64(in.r)), db_ref = ref_bias_grad(c.y_shape(), f64(in.r));
  auto dw0 = test::random_vec(c.w_shape().numel(), 901), db0 = test::random_vec(c.co, 902);
  Tensor x = Tensor::from_vector(in.x, c.x_shape(), d), dy = Tensor::from_vector(in.r, c.y_shape(), d);
  Tensor dw = Tensor::from_vector(dw0, c.w_shape(), d), db = Tensor::from_vector(db0, {c.co}, d);
  conv2d_backward_filter(x, dy, dw, &db, c.params(), true);
  std::vector<double> dw_want(dw_ref.size()), db_want(db_ref.size());
  for (size_t i = 0; i < dw_ref.size(); ++i) dw_want[i] = dw0[i] + dw_ref[i];
  for (size_t i = 0; i < db_ref.size(); ++i) db_want[i] = db0[i] + db_ref[i];
  check_ref(d, dw.to_vector(), dw_want, "accumulated dW");
  check_ref(d, db.to_vector(), db_want, "accumulated db");
  // Twice more, the second time without bias: dW gains the gradient again, db stays.
  conv2d_backward_filter(x, dy, dw, nullptr, c.params(), true);
  for (size_t i = 0; i < dw_ref.size(); ++i) dw_want[i] += dw_ref[i];
  check_ref(d, dw.to_vector(), dw_want, "dW accumulated twice");
  check_ref(d, db.to_vector(), db_want, "db untouched without a bias");
  // And overwriting again.
  conv2d_backward_filter(x, dy, dw, nullptr, c.params(), false);
  check_ref(d, dw.to_vector(), dw_ref, "dW overwritten");
}

void bias_grad(Device d) {
  // The last shape has enough planes (n * c >= 4096) to run as a parallel loop on the CPU.
  for (Shape s : {Shape{1, 3, 1, 1}, Shape{9, 13, 5, 7}, Shape{17, 5, 3, 2}, Shape{64, 70, 3, 3}}) {
    CAPTURE(s.str());
    auto g = test::random_vec(s.numel(), 77);
    Tensor dy = Tensor::from_vector(g, s, d);
    Tensor db = Tensor::empty({s[1]}, d);
    bias_backward(dy, db);
    const auto want = ref_bias_grad(s, f64(g));
    test::check_close(db.to_vector(), want, 1e-6, 1e-6, "bias_backward");
    bias_backward(dy, db, true);
    std::vector<double> twice(want.size());
    for (size_t i = 0; i < want.size(); ++i) twice[i] = 2 * want[i];
    test::check_close(db.to_vector(), twice, 1e-6, 1e-6, "bias_backward accumulate");
  }
}

void conv_errors(Device d) {
  Tensor x = Tensor::zeros({2, 3, 5, 5}, d), w = Tensor::zeros({4, 5, 3, 3}, d);
  CHECK_THROWS_WITH_AS(conv2d_forward(x, w, Tensor(), {}),
                       "conv2d_forward: input has 3 channels but weight [4, 5, 3, 3] expects 5", Error);
  Tensor big = Tensor::zeros({4, 3, 7, 3}, d);
  CHECK_THROWS_WITH_AS(conv2d_forward(x, big, Tensor(), {}),
                       "conv2d_forward: kernel [4, 3, 7, 3] larger than padded input [2, 3, 5, 5]", Error);
  // Padding can make room for a kernel larger than the input.
  CHECK(conv2d_forward(x, big, Tensor(), {1, 1, 1, 0}).shape() == Shape{2, 4, 1, 3});
  Tensor w3 = Tensor::zeros({4, 3, 3, 3}, d);
  CHECK_THROWS_WITH_AS(conv2d_forward(x, w3, Tensor::zeros({5}, d), {}),
                       "conv2d_forward: bias has shape [5], expected [4]", Error);
  CHECK_THROWS_WITH_AS(conv2d_forward(x, w3, Tensor(), {0, 1, 0, 0}), "conv2d_forward: invalid stride/padding", Error);
  CHECK_THROWS_WITH_AS(conv2d_forward(x.reshape({2, 3, 25}), w3, Tensor(), {}),
                       "conv2d_forward: x must be 4-d NCHW, got shape [2, 3, 25]", Error);
  Tensor dw = Tensor::zeros({4, 3, 3, 3}, d), db = Tensor::zeros({3}, d);
  CHECK_THROWS_WITH_AS(conv2d_backward_filter(x, Tensor::zeros({2, 4, 5, 5}, d), dw, nullptr, {}),
                       "conv2d_backward_filter: dy has shape [2, 4, 5, 5], expected [2, 4, 3, 3]", Error);
  CHECK_THROWS_WITH_AS(conv2d_backward_filter(x, Tensor::zeros({2, 4, 3, 3}, d), dw, &db, {}),
                       "conv2d_backward_filter: db has shape [3], expected [4]", Error);
  CHECK_THROWS_WITH_AS(conv2d_backward_data(Tensor::zeros({2, 4, 3, 3}, d), w3, Shape{2, 3, 6, 6}, {}),
                       "conv2d_backward_data: dy has shape [2, 4, 3, 3], expected [2, 4, 4, 4]", Error);
  CHECK_THROWS_WITH_AS(bias_backward(Tensor::zeros({2, 4, 3, 3}, d), db),
                       "bias_backward: db has shape [3], expected [4]", Error);
}

}  // namespace

LPL_TEST_ON_DEVICES("conv2d passes against float64 references (awkward shapes)", conv_small)
LPL_TEST_ON_DEVICES("conv2d passes against float64 references (VGG-like shapes)", conv_large)
LPL_TEST_ON_DEVICES("conv2d backward passes against central finite differences", conv_finite_differences)
LPL_TEST_ON_DEVICES("conv2d passes against float64 references (encoder shapes: 11x11 s4, 7x7 s2, 6x6 -> 1x1, 1x1 s2)",
                    conv_encoder_shapes)
LPL_TEST_ON_DEVICES("conv2d backward-filter accumulates into dW and db", conv_accumulate)
LPL_TEST_ON_DEVICES("bias_backward against a float64 sum", bias_grad)
LPL_TEST_ON_DEVICES("conv2d rejects bad shapes with one clear message", conv_errors)

#if LPL_HAVE_DNNL  // the CPU convolution is oneDNN's (absent from the CUDA-only build)
TEST_CASE("conv2d on the CPU gives the same result for any thread count") {
  // oneDNN picks blocking per thread count (cached per count): both must agree with each other.
  const ConvCase c = kLargeCases[1];
  Inputs in = make_inputs(c, 1234);
  Tensor x = Tensor::from_vector(in.x, c.x_shape()), w = Tensor::from_vector(in.w, c.w_shape());
  const int before = num_threads();
  set_num_threads(1);
  auto y1 = conv2d_forward(x, w, Tensor(), c.params()).to_vector();
  set_num_threads(2);
  auto y2 = conv2d_forward(x, w, Tensor(), c.params()).to_vector();
  set_num_threads(before);
  test::check_close(y2, std::vector<double>(y1.begin(), y1.end()), 1e-5, 1e-4, "1 vs 2 threads");
}

// Winograd F(4x4, 3x3) (kernels/conv2d_dnnl.cpp): where the CPU uses it (allowed, float32, 3x3,
// stride 1, padding 1, 16+ input channels; forward at 4x4+ maps, weight gradient at 8x8+) both its
// results and the direct sum's (LPL_NO_WINOGRAD=1, and not allowed: the default) are within the
// float64 references' bound, and they differ (Winograd ran); an odd shape (17 -> 19 channels, 5x7)
// works whichever oneDNN picks.
TEST_CASE("conv2d on the CPU: Winograd where it pays, against float64 and against the direct sum") {
  const std::vector<ConvCase> cases = {
      {2, 64, 8, 8, 128, 3, 3, 1, 1, 1, 1},  // forward and weight gradient in Winograd
      {3, 16, 4, 4, 32, 3, 3, 1, 1, 1, 1},   // forward in Winograd, weight gradient the sgemm
      {2, 17, 5, 7, 19, 3, 3, 1, 1, 1, 1},   // odd channels and map
  };
  struct Allow {  // restores the default (off) whatever happens
    Allow() { set_allow_winograd(true); }
    ~Allow() { set_allow_winograd(false); }
  } allow;
  conv_against_reference(cpu(), cases);
  REQUIRE(setenv("LPL_NO_WINOGRAD", "1", 1) == 0);
  conv_against_reference(cpu(), cases);
  REQUIRE(unsetenv("LPL_NO_WINOGRAD") == 0);
  uint32_t seed = 900;
  for (size_t k = 0; k < cases.size(); ++k) {
    const ConvCase& c = cases[k];
    CAPTURE(c.str());
    Inputs in = make_inputs(c, seed += 10);
    const Tensor x = Tensor::from_vector(in.x, c.x_shape()), w = Tensor::from_vector(in.w, c.w_shape()),
                 dy = Tensor::from_vector(in.r, c.y_shape());
    enum Mode { winograd, env_off, not_allowed };
    auto run = [&](Mode m) {
      if (m == env_off) REQUIRE(setenv("LPL_NO_WINOGRAD", "1", 1) == 0);
      if (m == not_allowed) set_allow_winograd(false);
      Tensor dw = Tensor::empty(c.w_shape());
      const Tensor y = conv2d_forward(x, w, Tensor(), c.params());
      conv2d_backward_filter(x, dy, dw, nullptr, c.params());
      REQUIRE(unsetenv("LPL_NO_WINOGRAD") == 0);
      set_allow_winograd(true);
      return std::pair{y.to_vector(), dw.to_vector()};
    };
    const auto [yw, dww] = run(winograd);
    const auto [yd, dwd] = run(env_off);
    const auto [yn, dwn] = run(not_allowed);
    CHECK(yn == yd);  // not allowed: the direct sum, bit for bit
    CHECK(dwn == dwd);
    // max difference / max value (NaN when either holds one)
    auto max_rel = [](const std::vector<float>& a, const std::vector<float>& b) {
      return test::max_abs_diff(a, b) / std::max(test::max_abs(b), 1e-30);
    };
    const double ey = max_rel(yw, yd), ew = max_rel(dww, dwd);
    MESSAGE("Winograd vs direct, max difference / max value: forward " << ey << ", weight gradient " << ew);
    CHECK(ey <= 1e-4);
    CHECK(ew <= 1e-4);
    if (k == 0) {  // Winograd ran in both passes
      CHECK(ey > 0);
      CHECK(ew > 0);
    }
    if (k == 1) CHECK(ey > 0);
  }
}

TEST_CASE("conv2d on the CPU uses the engine's thread count on any calling thread") {
  // OpenMP's thread count is per calling thread: an op run from a worker thread must still apply
  // lpl::set_num_threads, not OpenMP's default.
  const ConvCase c = kSmallCases[0];
  Inputs in = make_inputs(c, 4321);
  Tensor x = Tensor::from_vector(in.x, c.x_shape()), w = Tensor::from_vector(in.w, c.w_shape());
  const int before = num_threads(), want = omp_get_num_procs() + 1;
  set_num_threads(want);
  int seen = -1;
  std::thread t([&] {
    conv2d_forward(x, w, Tensor(), c.params());
    seen = omp_get_max_threads();
  });
  t.join();
  set_num_threads(before);
  CHECK(seen == want);
}

#endif

// Without oneDNN (CUDA-only build) the CPU side is kernels/conv2d_naive.cpp.
LPL_GPU_TEST_CASE("conv2d: CUDA matches the CPU on the same inputs") {
  uint32_t seed = 2000;
  std::vector<ConvCase> cases = kSmallCases;
  cases.insert(cases.end(), kLargeCases.begin(), kLargeCases.end());
  cases.insert(cases.end(), kEncoderCases.begin(), kEncoderCases.end());
  for (const ConvCase& c : cases) {
    CAPTURE(c.str());
    Inputs in = make_inputs(c, seed += 10);
    auto run = [&](Device d) {
      Tensor x = Tensor::from_vector(in.x, c.x_shape(), d), w = Tensor::from_vector(in.w, c.w_shape(), d),
             b = Tensor::from_vector(in.b, {c.co}, d), dy = Tensor::from_vector(in.r, c.y_shape(), d);
      Tensor dw = Tensor::empty(c.w_shape(), d), db = Tensor::empty({c.co}, d);
      conv2d_backward_filter(x, dy, dw, &db, c.params());
      return std::vector<std::vector<float>>{conv2d_forward(x, w, b, c.params()).to_vector(), dw.to_vector(),
                                             db.to_vector(),
                                             conv2d_backward_data(dy, w, c.x_shape(), c.params()).to_vector()};
    };
    auto on_cpu = run(cpu()), on_gpu = run(cuda(0));
    const char* names[] = {"forward", "backward filter", "bias grad", "backward data"};
    for (int k = 0; k < 4; ++k) {
      auto want = f64(on_cpu[k]);
      check_ref(cuda(0), on_gpu[k], want, std::string("cuda vs cpu: ") + names[k]);
    }
  }
}

LPL_GPU_TEST_CASE("conv2d with TF32 allowed stays close, and fp32 is restored when it is off again") {
  const ConvCase c = kLargeCases[1];
  Inputs in = make_inputs(c, 3000);
  const auto want = ref_forward(c, f64(in.x), f64(in.w), nullptr);
  Tensor x = Tensor::from_vector(in.x, c.x_shape(), cuda(0)), w = Tensor::from_vector(in.w, c.w_shape(), cuda(0));
  set_allow_tf32(true);
  auto y_tf32 = conv2d_forward(x, w, Tensor(), c.params()).to_vector();
  set_allow_tf32(false);
  // TF32 keeps 10 mantissa bits: about 1e-3 relative per product.
  test::check_close(y_tf32, want, 1e-2, 1e-2 * test::max_abs(want), "tf32 forward");
  check_ref(cuda(0), conv2d_forward(x, w, Tensor(), c.params()).to_vector(), want, "fp32 forward after tf32");
}
