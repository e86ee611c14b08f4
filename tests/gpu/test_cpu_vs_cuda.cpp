// Every operator of engine/ops.h run on the CPU and on CUDA with the same inputs, compared.
// Our own kernels share their arithmetic between backends (near-identical results expected);
// GEMM/convolution compare oneDNN (or the plain-loop fallbacks of the CUDA-only build) with
// cuBLAS/cuDNN.
// Without a GPU every case reports "skipped".
#include <cmath>
#include <limits>
#include <string>
#include <tuple>

#include "engine/ops.h"
#include "engine/rng.h"
#include "test_util.h"

using namespace lpl;

namespace {

// a (CPU) and b (CUDA) agree within atol + rtol |a| elementwise.
void compare(const Tensor& a, const Tensor& b, double rtol, double atol, const std::string& what) {
  REQUIRE_MESSAGE(a.device().is_cpu(), what);
  REQUIRE_MESSAGE(b.device().is_cuda(), what);
  REQUIRE_MESSAGE(a.shape() == b.shape(), what << ": " << a.shape().str() << " vs " << b.shape().str());
  auto av = a.to_vector();
  test::check_close(b.to_vector(), std::vector<double>(av.begin(), av.end()), rtol, atol, what);
}

std::vector<int32_t> ints(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  memcpy_bytes(v.data(), cpu(), t.data<int32_t>(), t.device(), v.size() * sizeof(int32_t));
  return v;
}

Tensor int_tensor(const std::vector<int32_t>& v, Device d) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, d, DType::I32);
  memcpy_bytes(t.data<int32_t>(), d, v.data(), cpu(), v.size() * sizeof(int32_t));
  return t;
}

// A random tensor on the CPU and its copy on the GPU.
std::pair<Tensor, Tensor> both(const Shape& s, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  Tensor c = test::random_tensor(s, seed, cpu(), lo, hi);
  return {c, c.to(cuda(0))};
}

}  // namespace

LPL_GPU_TEST_CASE("cpu vs cuda: relu forward/backward") {
  const Shape s{8, 13, 31, 33};  // large enough for the CPU's parallel, multi-span path
  auto [x, xg] = both(s, 1);
  auto [dy, dyg] = both(s, 2);
  Tensor y = relu_forward(x), yg = relu_forward(xg);
  compare(y, yg, 0, 1e-30, "relu_forward");
  compare(relu_backward(dy, y), relu_backward(dyg, yg), 0, 1e-30, "relu_backward");
}

LPL_GPU_TEST_CASE("cpu vs cuda: maxpool2d forward/backward (VGG 2x2, overlapping 3x3 s2 p1, rectangular)") {
  for (auto [s, p] : {std::tuple{Shape{16, 64, 32, 32}, Pool2dParams{2, 2, 2, 2, 0, 0}},
                      std::tuple{Shape{3, 13, 15, 17}, Pool2dParams{3, 3, 2, 2, 1, 1}},
                      std::tuple{Shape{1, 5, 9, 7}, Pool2dParams{3, 2, 1, 2, 1, 0}}}) {
    CAPTURE(s.str());
    auto [x, xg] = both(s, 3);
    MaxPoolResult r = maxpool2d_forward(x, p), rg = maxpool2d_forward(xg, p);
    compare(r.y, rg.y, 0, 1e-30, "maxpool2d_forward y");
    CHECK(ints(r.argmax) == ints(rg.argmax));
    auto [dy, dyg] = both(r.y.shape(), 4);
    Tensor dxg = maxpool2d_backward(dyg, rg.argmax, s, p);
    compare(maxpool2d_backward(dy, r.argmax, s, p), dxg, 1e-7, 1e-7, "maxpool2d_backward");
    // A gather, not atomics: the same bits on every run.
    CHECK(maxpool2d_backward(dyg, rg.argmax, s, p).to_vector() == dxg.to_vector());
  }
}

LPL_GPU_TEST_CASE("cpu vs cuda: global and adaptive average pool forward/backward") {
  const Shape s{16, 64, 7, 9};
  auto [x, xg] = both(s, 5);
  Tensor y = global_avgpool_forward(x), yg = global_avgpool_forward(xg);
  compare(y, yg, 1e-7, 1e-7, "global_avgpool_forward");
  auto [dy, dyg] = both(y.shape(), 6);
  compare(global_avgpool_backward(dy, s), global_avgpool_backward(dyg, s), 1e-7, 1e-7, "global_avgpool_backward");
  for (auto [oh, ow] : {std::pair{6, 6}, std::pair{4, 5}, std::pair{1, 1}, std::pair{11, 13}}) {
    CAPTURE(oh);
    CAPTURE(ow);
    Tensor a = adaptive_avgpool_forward(x, oh, ow), ag = adaptive_avgpool_forward(xg, oh, ow);
    compare(a, ag, 1e-7, 1e-7, "adaptive_avgpool_forward");
    auto [da, dag] = both(a.shape(), 7);
    compare(adaptive_avgpool_backward(da, s), adaptive_avgpool_backward(dag, s), 1e-7, 1e-7,
            "adaptive_avgpool_backward");
  }
}

LPL_GPU_TEST_CASE("cpu vs cuda: softmax cross-entropy") {
  for (auto [B, K] : {std::pair<int64_t, int64_t>{256, 10}, {7, 1000}, {1, 1}}) {
    auto [z, zg] = both({B, K}, 8, -5.f, 5.f);
    std::vector<int32_t> lab(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) lab[b] = static_cast<int32_t>((b * 5 + 1) % K);
    CrossEntropyResult r = softmax_cross_entropy(z, int_tensor(lab, cpu())),
                       rg = softmax_cross_entropy(zg, int_tensor(lab, cuda(0)));
    CHECK(rg.loss == doctest::Approx(r.loss).epsilon(1e-6));
    compare(r.dlogits, rg.dlogits, 1e-5, 1e-9, "softmax_cross_entropy dlogits");
  }
  // The label check runs on the host for GPU labels too.
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(Tensor::zeros({2, 3}, cuda(0)), int_tensor({0, 3}, cuda(0))),
                       "softmax_cross_entropy: label 3 at row 1 is out of range [0, 3)", Error);
}

LPL_GPU_TEST_CASE("cpu vs cuda: gemm (all transposes, odd sizes), linear, gram") {
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {37, 19, 53}, {128, 96, 300}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      CAPTURE(M);
      CAPTURE(t);
      auto [A, Ag] = both({M * K}, 9);
      auto [Bm, Bg] = both({K * N}, 10);
      auto [C, Cg] = both({M * N}, 11);
      const int64_t lda = ta ? M : K, ldb = tb ? K : N;
      gemm(cpu(), ta, tb, M, N, K, 0.75f, A.f(), lda, Bm.f(), ldb, 0.5f, C.f(), N);
      gemm(cuda(0), ta, tb, M, N, K, 0.75f, Ag.f(), lda, Bg.f(), ldb, 0.5f, Cg.f(), N);
      compare(C, Cg, 1e-5, 1e-5 * std::sqrt(double(K)), "gemm");
    }
  }
  auto [x, xg] = both({33, 70}, 12);
  auto [w, wg] = both({21, 70}, 13);
  auto [b, bg] = both({21}, 14);
  Tensor y = linear_forward(x, w, b), yg = linear_forward(xg, wg, bg);
  compare(y, yg, 1e-5, 1e-5, "linear_forward");
  auto [dy, dyg] = both(y.shape(), 15);
  LinearGrads g = linear_backward(x, w, dy, true, true), gg = linear_backward(xg, wg, dyg, true, true);
  compare(g.dx, gg.dx, 1e-5, 1e-5, "linear_backward dx");
  compare(g.dw, gg.dw, 1e-5, 1e-5, "linear_backward dw");
  compare(g.db, gg.db, 1e-6, 1e-6, "linear_backward db");
  auto [z, zg] = both({256, 77}, 16);
  compare(gram(z, 0.5f), gram(zg, 0.5f), 1e-5, 1e-4, "gram");
}

LPL_GPU_TEST_CASE("cpu vs cuda: column_mean_var, column_sum, add_row_bias, axpy, sum_all, all_finite") {
  auto [z, zg] = both({256, 131}, 17);
  ColumnStats s = column_mean_var(z), sg = column_mean_var(zg);
  compare(s.mean, sg.mean, 1e-6, 1e-7, "column_mean_var mean");
  compare(s.var, sg.var, 1e-6, 1e-7, "column_mean_var var");
  Tensor cs = Tensor::zeros({131}), csg = Tensor::zeros({131}, cuda(0));
  column_sum_op(z, cs, false);
  column_sum_op(zg, csg, false);
  column_sum_op(z, cs, true);
  column_sum_op(zg, csg, true);
  compare(cs, csg, 1e-6, 1e-6, "column_sum");
  auto [bias, biasg] = both({131}, 18);
  Tensor y = z.clone(), yg = zg.clone();
  add_row_bias_op(y, bias);
  add_row_bias_op(yg, biasg);
  compare(y, yg, 0, 1e-30, "add_row_bias");
  axpy(-0.3f, z, y);
  axpy(-0.3f, zg, yg);
  compare(y, yg, 1e-7, 1e-7, "axpy");
  // Float64 sums in each backend's order (kernels/segments.h): equal to float64 rounding, and the
  // same bits on a second run.
  auto [big, bigg] = both({3, 100003}, 19);
  const double sum_g = sum_all(bigg), sum_c = sum_all(big);
  CHECK(std::abs(sum_g - sum_c) <= 1e-9 * (1.0 + std::abs(sum_c)));
  CHECK(sum_all(bigg) == sum_g);
  CHECK(all_finite(bigg));
  std::vector<float> bad(5000, 1.f);
  bad[4321] = std::numeric_limits<float>::infinity();
  CHECK_FALSE(all_finite(Tensor::from_vector(bad, {5000}, cuda(0))));
}

// CPU side: oneDNN, or the plain loops of kernels/conv2d_naive.cpp in the CUDA-only build.
LPL_GPU_TEST_CASE("cpu vs cuda: conv2d forward, backward-filter, backward-data, bias (CPU vs cuDNN)") {
  for (auto [xs, ws, p] : {std::tuple{Shape{4, 3, 17, 15}, Shape{5, 3, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{2, 13, 16, 16}, Shape{8, 13, 5, 5}, Conv2dParams{2, 2, 2, 2}},
                           std::tuple{Shape{4, 64, 32, 32}, Shape{128, 64, 3, 3}, Conv2dParams{1, 1, 1, 1}}}) {
    CAPTURE(xs.str());
    CAPTURE(ws.str());
    auto [x, xg] = both(xs, 20);
    auto [w, wg] = both(ws, 21, -0.2f, 0.2f);
    auto [b, bg] = both({ws[0]}, 22);
    Tensor y = conv2d_forward(x, w, b, p), yg = conv2d_forward(xg, wg, bg, p);
    const double fan_in = double(ws[1] * ws[2] * ws[3]);
    compare(y, yg, 1e-4, 1e-5 * std::sqrt(fan_in), "conv2d_forward");
    auto [dy, dyg] = both(y.shape(), 23);
    Tensor dw = Tensor::zeros(ws), dwg = Tensor::zeros(ws, cuda(0));
    Tensor db = Tensor::zeros({ws[0]}), dbg = Tensor::zeros({ws[0]}, cuda(0));
    conv2d_backward_filter(x, dy, dw, &db, p, false);
    conv2d_backward_filter(xg, dyg, dwg, &dbg, p, false);
    const double red = double(y.dim(0) * y.dim(2) * y.dim(3));
    compare(dw, dwg, 1e-4, 1e-5 * std::sqrt(red), "conv2d_backward_filter dw");
    compare(db, dbg, 1e-4, 1e-5 * std::sqrt(red), "conv2d_backward_filter db");
    conv2d_backward_filter(x, dy, dw, nullptr, p, true);  // accumulate: dw doubles
    conv2d_backward_filter(xg, dyg, dwg, nullptr, p, true);
    compare(dw, dwg, 1e-4, 2e-5 * std::sqrt(red), "conv2d_backward_filter dw (accumulate)");
    compare(conv2d_backward_data(dy, w, xs, p), conv2d_backward_data(dyg, wg, xs, p), 1e-4,
            1e-5 * std::sqrt(double(ws[0] * ws[2] * ws[3])), "conv2d_backward_data");
    Tensor bb = Tensor::zeros({ws[0]}), bbg = Tensor::zeros({ws[0]}, cuda(0));
    bias_backward(dy, bb, false);
    bias_backward(dyg, bbg, false);
    compare(bb, bbg, 1e-5, 1e-5 * std::sqrt(red), "bias_backward");
  }
}

LPL_GPU_TEST_CASE("cpu vs cuda: batch norm train/eval forward, running stats, backward") {
  for (Shape s : {Shape{16, 64, 13, 13}, Shape{3, 5, 7, 9}, Shape{64, 70, 1, 1}}) {
    CAPTURE(s.str());
    const int64_t C = s[1];
    auto [x, xg] = both(s, 30, -2.f, 3.f);
    auto [gamma, gammag] = both({C}, 31, 0.5f, 1.5f);
    auto [beta, betag] = both({C}, 32);
    auto [rm, rmg] = both({C}, 33);
    auto [rv, rvg] = both({C}, 34, 0.5f, 2.f);
    BatchNormSaved sv, svg;
    Tensor y = batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &sv);
    Tensor yg = batch_norm_train_forward(xg, gammag, betag, rmg, rvg, BatchNormParams{}, &svg);
    // Float64 sums in each backend's order: the statistics agree to float32 rounding.
    compare(sv.mean, svg.mean, 1e-7, 1e-7, "batch norm saved mean");
    compare(sv.invstd, svg.invstd, 1e-7, 0, "batch norm saved invstd");
    compare(rm, rmg, 1e-7, 1e-7, "batch norm running_mean");
    compare(rv, rvg, 1e-7, 1e-7, "batch norm running_var");
    compare(y, yg, 1e-6, 1e-6, "batch_norm_train_forward");
    compare(batch_norm_eval_forward(x, gamma, beta, rm, rv, BatchNormParams{}),
            batch_norm_eval_forward(xg, gammag, betag, rmg, rvg, BatchNormParams{}), 1e-6, 1e-6,
            "batch_norm_eval_forward");
    auto [dy, dyg] = both(s, 35);
    auto [dgamma, dgammag] = both({C}, 36);
    auto [dbeta, dbetag] = both({C}, 37);
    Tensor dx = batch_norm_backward(dy, x, gamma, sv, dgamma, dbeta);
    Tensor dxg = batch_norm_backward(dyg, xg, gammag, svg, dgammag, dbetag);
    compare(dx, dxg, 1e-5, 1e-5, "batch_norm_backward dx");
    compare(dgamma, dgammag, 1e-6, 1e-6, "batch_norm_backward dgamma (+=)");
    compare(dbeta, dbetag, 1e-6, 1e-6, "batch_norm_backward dbeta (+=)");
    // No atomics: the same bits on every run.
    Tensor dg2 = Tensor::zeros({C}, cuda(0)), db2 = Tensor::zeros({C}, cuda(0));
    Tensor dg3 = Tensor::zeros({C}, cuda(0)), db3 = Tensor::zeros({C}, cuda(0));
    CHECK(batch_norm_backward(dyg, xg, gammag, svg, dg2, db2).to_vector() ==
          batch_norm_backward(dyg, xg, gammag, svg, dg3, db3).to_vector());
    CHECK(dg2.to_vector() == dg3.to_vector());
  }
}

LPL_GPU_TEST_CASE("cpu vs cuda: add") {
  const Shape s{8, 13, 31, 33};
  auto [a, ag] = both(s, 40);
  auto [b, bg] = both(s, 41);
  compare(add(a, b), add(ag, bg), 0, 1e-30, "add");
}

LPL_GPU_TEST_CASE("cpu vs cuda: dropout forward/backward (the same mask bit for bit)") {
  const Shape s{8, 13, 31, 33};
  auto [x, xg] = both(s, 42, 0.5f, 1.5f);
  for (float p : {0.f, 0.1f, 0.5f, 0.9f}) {
    CAPTURE(p);
    Tensor y = dropout_forward(x, p, 77, 5), yg = dropout_forward(xg, p, 77, 5);
    CHECK(y.to_vector() == yg.to_vector());
    CHECK(dropout_backward(x, p, 77, 5).to_vector() == dropout_backward(xg, p, 77, 5).to_vector());
    // And the GPU's mask is the documented one.
    auto v = yg.to_vector();
    size_t wrong = 0;
    for (size_t i = 0; i < v.size(); ++i)
      wrong += (v[i] != 0.f) != (CounterRng{77, 5}.uniform(i / 4, static_cast<int>(i % 4)) >= p);
    CHECK(wrong == 0);
  }
}
